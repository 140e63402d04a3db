package search

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/socialrx/socialrx/fhir"
)

// How ParseQuery reads each kind of parameter (FHIR R4 search, 3.1.1):
//
//   - name[:modifier]=v1,v2 is one Clause whose Values are alternatives (OR);
//     a repeated parameter is another Clause (AND). "\," "\|" "\$" and "\\"
//     escape those characters in values.
//   - Modifiers: string: exact, contains, missing; token: not, text, missing;
//     reference: missing, a type (subject:Patient=123); uri: below, above,
//     missing; date, number, quantity: missing. Anything else is an error.
//   - Prefixes for date, number, quantity: eq (the default, set explicitly),
//     ne, gt, lt, ge, le, sa, eb, ap.
//   - token: code, system|code, |code (no system), system| (any code).
//   - date: YYYY to fractions of a second, optional zone (UTC if none);
//     Value.Low/High is the range the value covers at its precision.
//   - quantity: number, number|system|code, number||code.
//   - reference: Type/id, id (typed when the parameter has one target, or by
//     the :Type modifier), or an absolute URL / canonical (in Exact).
//   - chaining, one level: subject:Patient.identifier=x, or subject.identifier=x
//     when exactly one supported type is a target of subject.
//   - size: at most MaxParams parameters and MaxValues values (CheckLimits),
//     _sort at most MaxSortKeys keys; no NUL character in names or values.
//   - result parameters: _count (0..1000, larger is capped), _sort, _total,
//     _summary, _elements, _include, _revinclude (with :iterate), _cursor;
//     _format and _pretty are accepted and ignored.
//   - _contained, _containedType, _has, _list, _text, _content, _query,
//     _filter, _type are not supported: ignored with a warning, or an error
//     when strict. So are unknown parameters.
//
// Clauses are ordered by parameter name, then by the parameter as written
// (with its modifier), then by position, so that SQL and self links are
// stable.

// unsupportedParams are FHIR search parameters socialrx recognizes and does
// not implement.
var unsupportedParams = map[string]bool{
	"_contained": true, "_containedType": true, "_has": true, "_list": true,
	"_text": true, "_content": true, "_query": true, "_filter": true, "_type": true,
}

// knownModifiers are the R4 search modifiers; one that is not allowed for a
// parameter's type is "not supported", any other is "unknown".
var knownModifiers = map[string]bool{
	"missing": true, "exact": true, "contains": true, "not": true, "text": true,
	"in": true, "not-in": true, "below": true, "above": true, "identifier": true,
	"of-type": true, "type": true,
}

// searchPrefixes are the R4 comparison prefixes.
var searchPrefixes = map[string]bool{
	"eq": true, "ne": true, "gt": true, "lt": true, "ge": true, "le": true,
	"sa": true, "eb": true, "ap": true,
}

// maxCount is the largest page size; a larger _count is capped.
const maxCount = 1000

type queryParser struct {
	typ    string
	tp     *typeParams
	strict bool
	q      *Query
	issues []fhir.Issue
	// keyOf remembers the key each clause came from, for ordering.
	keyOf []string
}

func parseQuery(typ string, params url.Values, strict bool) (*Query, []fhir.Issue) {
	p := &queryParser{typ: typ, strict: strict, q: &Query{Type: typ, Used: map[string][]string{}}}
	p.tp = typeSearchParams(typ)
	if p.tp == nil {
		p.errorf("not-supported", typ, "resource type %s is not supported", typ)
		return p.q, p.issues
	}
	if issues := CheckLimits(params, MaxLimits()); len(issues) > 0 {
		p.issues = append(p.issues, issues...)
		return p.q, p.issues
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		p.param(key, params[key])
	}
	p.sortClauses()
	if _, ok := p.q.Used["_count"]; ok && p.q.Count == 0 && p.q.Summary == "" {
		// _count=0 asks for no entries, only the total (R4 3.1.1.5.4).
		p.q.Summary = "count"
	}
	return p.q, p.issues
}

// errorf adds an error issue about parameter key.
func (p *queryParser) errorf(code, key, format string, args ...any) {
	p.issues = append(p.issues, fhir.Issue{Severity: "error", Code: code, Path: key, Message: fmt.Sprintf(format, args...)})
}

// ignore reports a parameter that is not used: a warning in Query.Ignored,
// or an error when strict.
func (p *queryParser) ignore(key, format string, args ...any) {
	if p.strict {
		p.errorf("not-supported", key, format, args...)
		return
	}
	p.q.Ignored = append(p.q.Ignored, fhir.Issue{Severity: "warning", Code: "not-supported", Path: key, Message: fmt.Sprintf(format, args...)})
}

func (p *queryParser) use(key string, vals ...string) {
	p.q.Used[key] = append(p.q.Used[key], vals...)
}

func (p *queryParser) param(key string, vals []string) {
	if key == "" {
		p.ignore("(empty name)", "search parameter without a name")
		return
	}
	name, mod, _ := strings.Cut(key, ":")
	switch name {
	case "_format", "_pretty":
		return
	case "_count", "_sort", "_total", "_summary", "_elements", "_cursor":
		if mod != "" {
			p.errorf("invalid", key, "parameter %s takes no modifier", name)
			return
		}
		p.resultParam(name, vals)
		return
	case "_include", "_revinclude":
		p.includeParam(key, name, mod, vals)
		return
	}
	if unsupportedParams[name] {
		p.ignore(key, "search parameter %s is not supported", quoteName(name))
		return
	}
	if strings.Contains(key, ".") {
		p.chainParam(key, vals)
		return
	}
	sp, ok := p.tp.lookup(name)
	if !ok {
		p.ignore(key, "unknown search parameter %s for %s", quoteName(name), p.typ)
		return
	}
	mod, refType, ok := p.modifier(key, sp.SearchParam, mod)
	if !ok {
		return
	}
	for _, raw := range vals {
		if raw == "" {
			p.ignore(key, "search parameter %s has an empty value", quoteName(name))
			continue
		}
		values, ok := p.values(key, sp.SearchParam, mod, refType, raw)
		if !ok {
			continue
		}
		p.q.Clauses = append(p.q.Clauses, Clause{Param: copyParam(sp.SearchParam), Modifier: mod, Values: values})
		p.keyOf = append(p.keyOf, key)
		p.use(key, raw)
	}
}

// modifier checks modifier mod of parameter sp. A reference type modifier
// (subject:Patient) is returned as refType with mod "".
func (p *queryParser) modifier(key string, sp SearchParam, mod string) (string, string, bool) {
	if mod == "" {
		return "", "", true
	}
	allowed := false
	switch sp.Type {
	case ParamString:
		allowed = mod == "exact" || mod == "contains" || mod == "missing"
	case ParamToken:
		allowed = mod == "not" || mod == "text" || mod == "missing"
	case ParamURI:
		allowed = mod == "below" || mod == "above" || mod == "missing"
	case ParamDate, ParamNumber, ParamQuantity:
		allowed = mod == "missing"
	case ParamReference:
		if mod == "missing" {
			return mod, "", true
		}
		if looksLikeTypeName(mod) {
			if len(sp.Targets) > 0 && !pathContains(sp.Targets, mod) {
				p.errorf("invalid", key, "%s is not a target type of search parameter %s", mod, sp.Name)
				return "", "", false
			}
			return "", mod, true
		}
	}
	if allowed {
		return mod, "", true
	}
	if knownModifiers[mod] {
		p.errorf("not-supported", key, "modifier :%s is not supported for %s parameter %s", mod, sp.Type, sp.Name)
	} else {
		p.errorf("invalid", key, "unknown modifier :%s", quoteName(mod))
	}
	return "", "", false
}

// chainParam parses a chained parameter: ref[:Type].param[:modifier].
func (p *queryParser) chainParam(key string, vals []string) {
	left, right, _ := strings.Cut(key, ".")
	refName, typ, _ := strings.Cut(left, ":")
	sp, ok := p.tp.lookup(refName)
	if !ok {
		p.ignore(key, "unknown search parameter %s for %s", quoteName(refName), p.typ)
		return
	}
	if sp.Type != ParamReference {
		p.errorf("invalid", key, "search parameter %s is not a reference and cannot be chained", refName)
		return
	}
	if strings.Contains(right, ".") {
		p.errorf("not-supported", key, "chaining is supported one level deep only")
		return
	}
	if typ == "" {
		var candidates []string
		for _, t := range sp.Targets {
			if typeSearchParams(t) != nil {
				candidates = append(candidates, t)
			}
		}
		if len(candidates) != 1 {
			p.errorf("invalid", key, "search parameter %s refers to several types; name one, as in %s:Type.param", refName, refName)
			return
		}
		typ = candidates[0]
	} else if !looksLikeTypeName(typ) || (len(sp.Targets) > 0 && !pathContains(sp.Targets, typ)) {
		p.errorf("invalid", key, "%s is not a target type of search parameter %s", quoteName(typ), refName)
		return
	}
	ctp := typeSearchParams(typ)
	if ctp == nil {
		p.errorf("not-supported", key, "resource type %s is not supported", typ)
		return
	}
	innerName, innerMod, _ := strings.Cut(right, ":")
	inner, ok := ctp.lookup(innerName)
	if !ok {
		p.ignore(key, "unknown search parameter %s for %s", quoteName(innerName), typ)
		return
	}
	innerMod, refType, ok := p.modifier(key, inner.SearchParam, innerMod)
	if !ok {
		return
	}
	canon := refName + ":" + typ + "." + right
	for _, raw := range vals {
		if raw == "" {
			p.ignore(key, "search parameter %s has an empty value", quoteName(refName))
			continue
		}
		values, ok := p.values(key, inner.SearchParam, innerMod, refType, raw)
		if !ok {
			continue
		}
		p.q.Clauses = append(p.q.Clauses, Clause{
			Param: copyParam(sp.SearchParam),
			Chain: &Chain{Type: typ, Clause: Clause{Param: copyParam(inner.SearchParam), Modifier: innerMod, Values: values}},
		})
		p.keyOf = append(p.keyOf, canon)
		p.use(canon, raw)
	}
}

// values parses the comma-separated alternatives of one parameter value.
func (p *queryParser) values(key string, sp SearchParam, mod, refType, raw string) ([]Value, bool) {
	parts := splitUnescaped(raw, ',')
	out := make([]Value, 0, len(parts))
	for _, part := range parts {
		v, msg := parseValue(sp, mod, refType, part)
		if msg != "" {
			p.errorf("value", key, "%s", msg)
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// sortClauses orders clauses by parameter name, then by the parameter as
// written, then by position (the keys were visited sorted, so a stable sort
// on the first two keeps the rest).
func (p *queryParser) sortClauses() {
	idx := make([]int, len(p.q.Clauses))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ca, cb := &p.q.Clauses[idx[a]], &p.q.Clauses[idx[b]]
		if ca.Param.Name != cb.Param.Name {
			return ca.Param.Name < cb.Param.Name
		}
		return p.keyOf[idx[a]] < p.keyOf[idx[b]]
	})
	sorted := make([]Clause, len(idx))
	for i, j := range idx {
		sorted[i] = p.q.Clauses[j]
	}
	p.q.Clauses = sorted
}
