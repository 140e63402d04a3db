package search

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/socialrx/socialrx/fhir"
)

// index computes the entries of Index for a supported type. See Index for
// the contract.
func index(tp *typeParams, body []byte) (*Entries, error) {
	t, err := fhir.ParseTree(body)
	if err != nil {
		if t, err = reparse(body); err != nil {
			return nil, err
		}
	}
	root := t.Root()
	if root.Kind() != fhir.JSONObject {
		return nil, errors.New("resource is not a JSON object")
	}
	return indexTree(tp, root), nil
}

// reparse reads what fhir.ParseTree refuses and encoding/json takes
// (invalid UTF-8, a key written twice, data after the value), as Index did
// when it decoded with encoding/json: decoded (invalid UTF-8 becomes U+FFFD,
// the last of two keys counts, what follows the first value is ignored) and
// written again. Every body a client writes passed fhir.Decode, which
// refuses all of these; a stored body of an older version might not have.
func reparse(body []byte) (*fhir.Tree, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return fhir.ParseTree(b)
}

// indexTree computes the index entries of a parsed resource. Each selected
// node's entries are made as IndexEntry values (a few at a time) and
// packed at once, so that a long selection is never held unpacked.
func indexTree(tp *typeParams, root fhir.Node) *Entries {
	es := &Entries{params: tp.packed}
	var ev pathEvaluator
	var spans [][2]int32 // where each parameter's entries are, for pruneUnions
	if tp.unions {
		spans = make([][2]int32, len(tp.list))
	}
	var made []IndexEntry
	for i := range tp.list {
		sp := &tp.list[i]
		start := es.Len()
		for ci := range sp.expr.chains {
			c := &sp.expr.chains[ci]
			ev.each(c, root, func(node pathNode) {
				made = indexNode(sp, node, c.hint, made[:0])
				for k := range made {
					es.add(&made[k], i)
				}
			})
		}
		es.dedupeFrom(start)
		if spans != nil {
			spans[i] = [2]int32{int32(start), int32(es.Len())}
		}
	}
	if spans != nil {
		pruneUnions(tp, es, spans)
	}
	return es
}

// indexNode appends the entries of one selected node for parameter sp. hint
// is the name of the element the node came from ("telecom"); node.typ its
// type when a choice suffix told it. Values it does not understand are
// skipped.
func indexNode(sp *servedParam, node pathNode, hint string, out []IndexEntry) []IndexEntry {
	e := IndexEntry{Param: sp.Name, Type: sp.Type}
	switch sp.Type {
	case ParamToken:
		return indexToken(e, node, hint, out)
	case ParamString:
		if sp.shape != "" {
			return indexShaped(e, node.v, shapeMembers[sp.shape], out)
		}
		return indexString(e, node.v, out)
	case ParamDate:
		if sp.Name == availableAtParam {
			for _, r := range availableRanges(node.v) {
				e.Low, e.High = r[0], r[1]
				out = append(out, e)
			}
			return out
		}
		if low, high, ok := dateNodeRange(node.v); ok {
			e.Low, e.High = low, high
			out = append(out, e)
		}
	case ParamNumber:
		if n, ok := node.v.Number(); ok {
			if f, err := strconv.ParseFloat(n, 64); err == nil {
				e.Number = f
				out = append(out, e)
			}
		}
	case ParamQuantity:
		return indexQuantity(e, node.v, out)
	case ParamReference:
		switch node.v.Kind() {
		case fhir.JSONObject:
			if ref, ok := node.v.Get("reference").Str(); ok && ref != "" {
				out = append(out, referenceEntry(e, ref))
			}
		case fhir.JSONString:
			// canonical or uri: "http://x/Questionnaire/q|2"
			if v, _ := node.v.Str(); v != "" {
				out = append(out, referenceEntry(e, v))
			}
		}
	case ParamURI:
		if s, ok := node.v.Str(); ok && s != "" {
			e.Exact = s
			out = append(out, e)
		}
	case ParamSpecial:
		if sp.Name == "near" {
			if lat, lon, ok := position(node.v); ok {
				e.Lat, e.Lon = lat, lon
				out = append(out, e)
			}
		}
	}
	return out
}

// referenceEntry fills a reference entry: Exact as written, RefType/RefID
// when ref is Type/id, Type/id/_history/n, or an absolute URL ending in a
// supported Type/id. A canonical's |version is ignored for RefType/RefID.
func referenceEntry(e IndexEntry, ref string) IndexEntry {
	e.Exact = ref
	r := ref
	if i := indexByteString(r, '|'); i >= 0 {
		r = r[:i]
	}
	if t, id, ok := searchRefTypeID(r); ok {
		e.RefType, e.RefID = t, id
	}
	return e
}

func indexByteString(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// contactPointSystems are the codes of ContactPoint.system, which tell a
// ContactPoint from an Identifier (whose system is a URI).
var contactPointSystems = map[string]bool{
	"phone": true, "fax": true, "email": true, "pager": true, "url": true, "sms": true, "other": true,
}

// indexToken indexes CodeableConcept (one entry per coding, Text from the
// display, plus one for text), Coding, Identifier (system|value),
// ContactPoint (value), code/string/uri/id primitives and booleans.
func indexToken(e IndexEntry, node pathNode, hint string, out []IndexEntry) []IndexEntry {
	v := node.v
	switch v.Kind() {
	case fhir.JSONString:
		if s, _ := v.Str(); s != "" {
			e.Code = s
			out = append(out, e)
		}
	case fhir.JSONBool:
		b, _ := v.Bool()
		e.Code = strconv.FormatBool(b)
		out = append(out, e)
	case fhir.JSONNumber:
		e.Code, _ = v.Number()
		out = append(out, e)
	case fhir.JSONObject:
		// Presence, null included, tells the shape (as a key of a decoded
		// map did).
		hasCoding := v.Get("coding").Exists()
		hasCode := v.Get("code").Exists()
		value, hasValue := v.Get("value").Str()
		system, _ := v.Get("system").Str()
		switch {
		case node.typ == "CodeableConcept" || hasCoding || (!hasCode && !hasValue && system == "" && present(v.Get("text"))):
			start := len(out)
			for c := range v.Get("coding").Items() {
				if c.Kind() == fhir.JSONObject {
					out = appendCoding(e, c, out)
				}
			}
			if text, ok := v.Get("text").Str(); ok && text != "" {
				out = appendConceptText(e, normalizeSearchString(text), out, start)
			}
		case node.typ == "Coding" || hasCode:
			out = appendCoding(e, v, out)
		case hasValue:
			if node.typ == "ContactPoint" || hint == "telecom" || contactPointSystems[system] {
				e.Code = value
			} else {
				e.System, e.Code = system, value
			}
			if e.Code != "" || e.System != "" {
				out = append(out, e)
			}
		case system != "":
			out = appendCoding(e, v, out)
		}
	}
	return out
}

// present reports whether n is there and not null.
func present(n fhir.Node) bool {
	k := n.Kind()
	return k != fhir.JSONAbsent && k != fhir.JSONNull
}

// appendConceptText indexes a CodeableConcept's text (normalized) for
// :text, given the rows of its codings (out[start:]). A search of the
// parameter matches a resource when any of its rows matches, so the text
// need not be a row of its own: it goes in the Text of the first coding
// row without a display, or nowhere when a coding's display is the same
// text; only when every coding row has another display does it get a row
// of its own. A concept of one coding and a text is then one row, not two
// (each row is two B-tree entries written with every version).
func appendConceptText(e IndexEntry, text string, out []IndexEntry, start int) []IndexEntry {
	for i := start; i < len(out); i++ {
		if out[i].Text == text {
			return out
		}
	}
	for i := start; i < len(out); i++ {
		if out[i].Text == "" {
			out[i].Text = text
			return out
		}
	}
	e.Text = text
	return append(out, e)
}

func appendCoding(e IndexEntry, c fhir.Node, out []IndexEntry) []IndexEntry {
	e.System, _ = c.Get("system").Str()
	e.Code, _ = c.Get("code").Str()
	if d, ok := c.Get("display").Str(); ok {
		e.Text = normalizeSearchString(d)
	}
	if e.System == "" && e.Code == "" && e.Text == "" {
		return out
	}
	return append(out, e)
}

// humanNameParts and addressParts are the members a string search on a
// HumanName or an Address looks into.
var (
	humanNameParts = []string{"text", "family", "given", "prefix", "suffix"}
	addressParts   = []string{"text", "line", "city", "district", "state", "postalCode", "country"}
)

// indexString indexes strings, and the parts of HumanName and Address.
func indexString(e IndexEntry, v fhir.Node, out []IndexEntry) []IndexEntry {
	switch v.Kind() {
	case fhir.JSONString:
		s, _ := v.Str()
		if e.Value = normalizeSearchString(s); e.Value != "" {
			e.Exact = s
			out = append(out, e)
		}
	case fhir.JSONObject:
		parts := humanNameParts
		if !v.Get("family").Exists() && !v.Get("given").Exists() {
			for _, k := range addressParts[1:] {
				if v.Get(k).Exists() {
					parts = addressParts
					break
				}
			}
		}
		for _, k := range parts {
			switch x := v.Get(k); x.Kind() {
			case fhir.JSONString:
				out = indexString(e, x, out)
			case fhir.JSONArray:
				for s := range x.Items() {
					if s.Kind() == fhir.JSONString {
						out = indexString(e, s, out)
					}
				}
			}
		}
	}
	return out
}

// indexShaped indexes v, an element of a union parameter's shape (an
// Address, a HumanName), as the string parameters on its members do: each
// member (arrays flattened, as an expression's step does) indexed by
// indexString. It is what makes such a parameter hold every value of its
// parts (union.go), whatever the JSON holds.
func indexShaped(e IndexEntry, v fhir.Node, members []string, out []IndexEntry) []IndexEntry {
	if v.Kind() != fhir.JSONObject {
		return indexString(e, v, out)
	}
	for _, k := range members {
		switch x := v.Get(k); x.Kind() {
		case fhir.JSONAbsent, fhir.JSONNull:
		case fhir.JSONArray:
			for s := range x.Items() {
				if s.Kind() != fhir.JSONNull {
					out = indexString(e, s, out)
				}
			}
		default:
			out = indexString(e, x, out)
		}
	}
	return out
}

// indexQuantity indexes Quantity (and Age, Duration, Count, Distance):
// value, system, code (falling back to unit); Money: value with currency as
// code in urn:iso:std:iso:4217; Range: its low and high.
func indexQuantity(e IndexEntry, v fhir.Node, out []IndexEntry) []IndexEntry {
	if v.Kind() != fhir.JSONObject {
		return out
	}
	if n, ok := v.Get("value").Number(); ok {
		f, err := strconv.ParseFloat(n, 64)
		if err != nil {
			return out
		}
		e.Number = f
		if cur, ok := v.Get("currency").Str(); ok {
			e.System, e.Code = "urn:iso:std:iso:4217", cur
		} else {
			e.System, _ = v.Get("system").Str()
			if e.Code, _ = v.Get("code").Str(); e.Code == "" {
				e.Code, _ = v.Get("unit").Str()
			}
		}
		return append(out, e)
	}
	for _, k := range [...]string{"low", "high"} {
		if q := v.Get(k); q.Kind() == fhir.JSONObject {
			out = indexQuantity(e, q, out)
		}
	}
	return out
}

// position reads a Location.position (latitude and longitude in decimal
// degrees); ok is false when either is missing or out of range.
func position(v fhir.Node) (lat, lon float64, ok bool) {
	la, ok1 := v.Get("latitude").Number()
	lo, ok2 := v.Get("longitude").Number()
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	lat, err1 := strconv.ParseFloat(la, 64)
	lon, err2 := strconv.ParseFloat(lo, 64)
	if err1 != nil || err2 != nil || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return 0, 0, false
	}
	return lat, lon, true
}
