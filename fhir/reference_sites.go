package fhir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// RefSite is one literal reference found in a resource.
type RefSite struct {
	// Path is the path of the Reference element (not of its reference
	// member): "Observation.subject", "Observation.performer[1]",
	// "Bundle.entry[0].resource.subject".
	Path string
	// Reference is the Reference.reference string, unescaped.
	Reference string

	node int32 // the string node in the parsed document
}

// referenceKeys are the members a Reference may have; an object of
// unknown type is taken as a Reference when it has a string "reference"
// and no other members than these.
var referenceKeys = map[string]bool{
	"id": true, "extension": true, "reference": true, "_reference": true, "type": true,
	"_type": true, "identifier": true, "display": true, "_display": true,
}

// References returns every Reference.reference string of the resource in
// body, in document order, including those in contained resources, in
// extensions (valueReference) and, for a Bundle, in entry resources. Where
// the element table knows the type (every R4 element) a Reference is
// recognised by type; inside unknown elements, by shape (an object whose
// members are those of a Reference and whose "reference" is a string). The
// error reports invalid JSON only.
func References(body []byte) ([]RefSite, error) {
	t, err := parseTree(body)
	if err != nil {
		return nil, fmt.Errorf("references: %w", err)
	}
	return walkReferences(t), nil
}

// RewriteReferences calls fn for every reference References would return
// and replaces the reference string by fn's result when fn returns true.
// Only the bytes of the replaced strings change: every other byte of the
// document (member order, spacing, numbers such as 1.50) stays as it was.
// When nothing is replaced it returns body itself. The error reports
// invalid JSON only.
func RewriteReferences(body []byte, fn func(ref string) (string, bool)) ([]byte, error) {
	t, err := parseTree(body)
	if err != nil {
		return nil, fmt.Errorf("rewrite references: %w", err)
	}
	var out []byte
	last := int32(0)
	for _, s := range walkReferences(t) {
		repl, ok := fn(s.Reference)
		if !ok || repl == s.Reference {
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(body)+64)
		}
		n := t.nodes[s.node]
		out = append(out, body[last:n.start]...)
		out = append(out, jsonString(repl)...)
		last = n.end
	}
	if out == nil {
		return body, nil
	}
	return append(out, body[last:]...), nil
}

// jsonString encodes s as a JSON string without HTML escaping.
func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// walkReferences returns the reference sites of a parsed resource, in
// document order.
func walkReferences(t *jtree) []RefSite {
	w := &refWalker{t: t, ix: types()}
	w.resource(0, nil)
	slices.SortFunc(w.sites, func(a, b RefSite) int { return int(t.nodes[a.node].start - t.nodes[b.node].start) })
	return w.sites
}

type refWalker struct {
	t     *jtree
	ix    *typeIndex
	sites []RefSite
}

func (w *refWalker) resource(ni int32, parent *pathSeg) {
	t := w.t
	if t.nodes[ni].kind() != jObject {
		w.shape(ni, parent)
		return
	}
	typ := t.stringMember(ni, "resourceType")
	ti := w.ix.types[typ]
	self := parent
	if parent == nil {
		name := typ
		if ti == nil || !ti.resource {
			name = ""
		}
		self = &pathSeg{name: []byte(name), index: -1}
	}
	if ti == nil || !ti.resource {
		w.shape(ni, self)
		return
	}
	w.object(ni, ti, self)
}

func (w *refWalker) object(ni int32, ti *typeInfo, p *pathSeg) {
	t := w.t
	for k := t.first(ni); k >= 0; k = t.nodes[t.nodes[k].next].next {
		v := t.nodes[k].next
		key := t.strBytes(k)
		seg := pathSeg{parent: p, name: key, index: -1}
		e, ok := ti.elems[string(key)]
		if !ok {
			if len(key) > 1 && key[0] == '_' {
				if e, ok := ti.elems[string(key[1:])]; ok && e.typ.prim != primNone {
					seg.name = key[1:]
					w.each(v, &seg, w.ix.types["Element"])
					continue
				}
			}
			w.shape(v, &seg)
			continue
		}
		if e.typ.prim != primNone {
			continue
		}
		w.each(v, &seg, e.typ)
	}
	if ti.name == "Reference" {
		if r := t.member(ni, "reference"); r >= 0 && t.nodes[r].kind() == jString {
			w.sites = append(w.sites, RefSite{Path: p.String(), Reference: t.strValue(r), node: r})
		}
	}
}

// each walks the value v of an element of type ti, an array or not.
func (w *refWalker) each(v int32, p *pathSeg, ti *typeInfo) {
	t := w.t
	one := func(x int32, p *pathSeg) {
		switch {
		case t.nodes[x].kind() != jObject:
			w.shape(x, p)
		case ti.anyRes:
			w.resource(x, p)
		default:
			w.object(x, ti, p)
		}
	}
	if t.nodes[v].kind() != jArray {
		one(v, p)
		return
	}
	i := 0
	for it := t.first(v); it >= 0; it = t.nodes[it].next {
		one(it, &pathSeg{parent: p, index: i})
		i++
	}
}

// shape walks content of unknown type, finding References by their shape.
func (w *refWalker) shape(v int32, p *pathSeg) {
	t := w.t
	switch t.nodes[v].kind() {
	case jArray:
		i := 0
		for it := t.first(v); it >= 0; it = t.nodes[it].next {
			w.shape(it, &pathSeg{parent: p, index: i})
			i++
		}
	case jObject:
		isRef := true
		for k := t.first(v); k >= 0; k = t.nodes[t.nodes[k].next].next {
			if !referenceKeys[string(t.strBytes(k))] {
				isRef = false
			}
		}
		if isRef {
			if r := t.member(v, "reference"); r >= 0 && t.nodes[r].kind() == jString {
				w.sites = append(w.sites, RefSite{Path: p.String(), Reference: t.strValue(r), node: r})
				return
			}
		}
		if rt := t.member(v, "resourceType"); rt >= 0 && t.nodes[rt].kind() == jString && Known(t.strValue(rt)) {
			w.resource(v, p)
			return
		}
		for k := t.first(v); k >= 0; k = t.nodes[t.nodes[k].next].next {
			w.shape(t.nodes[k].next, &pathSeg{parent: p, name: t.strBytes(k), index: -1})
		}
	}
}
