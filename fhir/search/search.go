package search

import (
	"time"

	"github.com/socialrx/socialrx/fhir"
)

// ParamType is the type of a search parameter (R4 SearchParameter.type).
type ParamType string

const (
	ParamToken     ParamType = "token"
	ParamString    ParamType = "string"
	ParamDate      ParamType = "date"
	ParamReference ParamType = "reference"
	ParamNumber    ParamType = "number"
	ParamQuantity  ParamType = "quantity"
	ParamURI       ParamType = "uri"
	ParamComposite ParamType = "composite"
	ParamSpecial   ParamType = "special"
)

// SearchParam is one search parameter a resource type supports.
type SearchParam struct {
	Name       string // "subject", "_id", "birthdate"
	Type       ParamType
	Resource   string   // the resource type it applies to
	Expression string   // R4 FHIRPath expression, for the CapabilityStatement and docs
	Targets    []string // reference targets, for ParamReference
	// URL is the canonical SearchParameter this parameter is defined by,
	// when it is known (socialrx's own parameters).
	URL string
	// Description, when set, is the SearchParameter's description (for a
	// parameter the expression alone does not explain).
	Description string
	// Derived marks a parameter whose values are not read from the
	// resource's body but derived by socialrx's workflow (a prescription's
	// form, say) and written as index rows beside the body's
	// (socialrx.ProjectionTx.PutFacts): Index gives none for it, and
	// Expression describes it in words. Only token parameters are derived.
	Derived bool
	// Union, for a string parameter, names the other parameters of the
	// type whose values are also this one's (R4 address holds
	// address-city's values): Index writes for this parameter only the
	// values none of them holds, so a search or _sort on it must read the
	// rows of all of IndexParams. See union.go.
	Union []string
}

// IndexEntry is one value a resource holds for one search parameter. Stores
// write one row per entry, in the transaction that writes the resource.
// Which fields are set depends on Type:
//   - token: System, Code (either may be empty) and Text (normalized display/text, for :text)
//   - string: Value (normalized: lower case, accents removed) and Exact (as written)
//   - uri: Exact
//   - date: Low and High, the instant range the value covers (a date 2020-01 covers the whole month), UTC
//   - number: Number
//   - quantity: Number, System, Code (the unit code)
//   - reference: RefType and RefID for a literal relative or same-server reference, Exact for the reference string as written (absolute URLs, canonicals)
//   - special near (Location.position): Lat and Lon
type IndexEntry struct {
	Param   string
	Type    ParamType
	System  string
	Code    string
	Text    string
	Value   string
	Exact   string
	Low     time.Time
	High    time.Time
	Number  float64
	RefType string
	RefID   string
	// Lat and Lon are a position in decimal degrees (WGS84), for the
	// special parameter near (Location.position).
	Lat, Lon float64
}

// Query is a parsed FHIR search on one resource type. All clauses must match
// (AND); the values of one clause are alternatives (OR).
type Query struct {
	Type    string
	Clauses []Clause

	Sort       []SortKey
	Count      int      // page size from _count; 0 means the server default (_count=0 sets Summary "count" instead)
	Total      string   // _total: "", "none", "estimate", "accurate"
	Summary    string   // _summary: "", "true", "text", "data", "count", "false"
	Elements   []string // _elements
	Include    []Include
	RevInclude []Include
	// Cursor is the opaque paging position (parameter _cursor) the store
	// itself produced for a next page.
	Cursor string

	// Ignored lists parameters that are unknown or unsupported (lenient mode).
	Ignored []fhir.Issue
	// Used holds the parameters that were understood, in canonical form,
	// for the self link: the key as written (name[:modifier]), except that a
	// chain whose type was inferred names it (patient.name → patient:Patient.name);
	// _count holds the capped value. _cursor is included when given;
	// _format and _pretty are not.
	Used map[string][]string
}

// Clause is one search parameter with its alternatives.
type Clause struct {
	Param    SearchParam
	Modifier string // "", "missing", "exact", "contains", "not", "text", "identifier", "above", "below", "in", "not-in", "of-type"
	// Chain, when set, is a chained search: the reference Param must point
	// to a resource of Chain.Type matching Chain.Clause (one level).
	Chain  *Chain
	Values []Value
}

// Chain is the second half of a chained parameter (subject:Patient.identifier=x).
type Chain struct {
	Type   string
	Clause Clause
}

// Value is one alternative of a clause, parsed according to the parameter type.
type Value struct {
	Raw string // as received

	// Missing is set for the :missing modifier (true = the element is absent).
	Missing bool

	// Prefix for number, date and quantity: eq, ne, gt, lt, ge, le, sa, eb, ap.
	// Always set for those types: "eq" when the value had none.
	Prefix string

	// token: System and Code; HasSystem is true when a '|' was given
	// ("|code" means no system, "sys|" means any code in sys).
	// quantity: System and Code are the unit ("5||mg" gives only Code);
	// HasSystem is true when a system was given.
	System    string
	Code      string
	HasSystem bool

	// string and uri: the normalized search text (String) and, for
	// :exact and uri, as given (Exact). For string both are always set;
	// token :text sets String only.
	String string
	Exact  string

	// date: the range the search value covers ("2020" covers the year), UTC.
	Low  time.Time
	High time.Time

	// number and quantity.
	Number float64

	// reference: a relative reference Type/ID (Type may be empty for a bare
	// id), or an absolute URL in Exact.
	RefType string
	RefID   string

	// near (special): the point (decimal degrees) and the distance in
	// kilometres (NearDefaultKm when the value gave none).
	Lat, Lon, DistanceKm float64
}

// SortKey is one _sort key.
type SortKey struct {
	Param      SearchParam
	Descending bool
}

// Include is one _include or _revinclude: Source:Param[:Target], or the
// wildcard "*" (Param.Name "*"; Source is the searched type for _include=*,
// and "*" for _revinclude=*).
type Include struct {
	Source  string
	Param   SearchParam
	Target  string // optional target type
	Iterate bool   // :iterate (accepted; applied one level)
}
