package fhir

import (
	"strconv"
	"strings"
)

// Issue severities and codes used by the checks.
const (
	sevError   = "error"
	sevWarning = "warning"

	codeStructure    = "structure"
	codeValue        = "value"
	codeNotSupported = "not-supported"
	codeRequired     = "required"
	codeInvalid      = "invalid"
	codeCodeInvalid  = "code-invalid"
)

// pathSeg is one step of an element path, linked to its parent so that
// paths cost nothing until an issue needs one.
type pathSeg struct {
	parent *pathSeg
	name   []byte // element name; empty for an array index step
	index  int    // array index, or -1
}

func (p *pathSeg) String() string {
	var segs []*pathSeg
	for q := p; q != nil; q = q.parent {
		segs = append(segs, q)
	}
	var b strings.Builder
	for i := len(segs) - 1; i >= 0; i-- {
		s := segs[i]
		if len(s.name) > 0 {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.Write(s.name)
		}
		if s.index >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
		}
	}
	return b.String()
}

// segStack hands out the pathSegs of a walk in stack order, from chunks
// that never move: the walk allocates a chunk now and then, not one segment
// per element (a segment taken by address escapes to the heap: 33 MB for a
// body of 260,525 identifiers, docs/performance.md session 16). A segment
// is only read while its element is being checked (Issue paths are made
// at once).
type segStack struct {
	chunks [][]pathSeg
	top    int
}

const segChunk = 64

// push returns a place holding seg, valid until the matching pop.
func (s *segStack) push(seg pathSeg) *pathSeg {
	c, i := s.top/segChunk, s.top%segChunk
	if c == len(s.chunks) {
		s.chunks = append(s.chunks, make([]pathSeg, segChunk))
	}
	s.top++
	p := &s.chunks[c][i]
	*p = seg
	return p
}

func (s *segStack) pop() { s.top-- }

// checker walks a parsed document with the element table.
type checker struct {
	segs   segStack
	t      *jtree
	ix     *typeIndex
	issues []Issue
	// shallow: do not look inside nested resources (ParseBundle leaves
	// entry resources to DecodeAt).
	shallow bool
	nested  int // depth of contained resources
}

func (c *checker) add(sev, code string, p *pathSeg, msg string) {
	path := ""
	if p != nil {
		path = p.String()
	}
	c.issues = append(c.issues, Issue{Severity: sev, Code: code, Path: path, Message: msg})
}

func decode(body []byte, wantType, prefix string) (*Decoded, []Issue) {
	rootName := prefix
	if rootName == "" {
		rootName = wantType
	}
	t, err := parseTree(body)
	if err != nil {
		return nil, []Issue{{Severity: sevError, Code: codeStructure, Path: rootName, Message: err.Error()}}
	}
	c := &checker{t: t, ix: types()}
	typ := c.resource(0, nil, prefix, wantType, true)
	if typ == "" || HasErrors(c.issues) {
		return nil, c.issues
	}
	return &Decoded{Type: typ, ID: t.stringMember(0, "id"), Body: body}, c.issues
}

// resource checks the resource at node ni. parent and name give its path
// (name replaces the resource type as the first step when parent is nil
// and name is not empty). top marks the document's own resource, which must
// be of a supported type; nested ones need only be known. It returns the
// resource type, or "" when the type could not be established.
func (c *checker) resource(ni int32, parent *pathSeg, name, wantType string, top bool) string {
	t := c.t
	self := parent
	if parent == nil {
		root := name
		if root == "" {
			root = wantType
		}
		self = &pathSeg{name: []byte(root), index: -1}
	}
	if t.nodes[ni].kind() != jObject {
		c.add(sevError, codeStructure, self, "a resource must be a JSON object")
		return ""
	}
	rt := t.member(ni, "resourceType")
	if rt < 0 {
		c.add(sevError, codeRequired, self, "resourceType is missing")
		return ""
	}
	if t.nodes[rt].kind() != jString {
		c.add(sevError, codeStructure, self, "resourceType must be a JSON string")
		return ""
	}
	typ := t.strValue(rt)
	if !Known(typ) {
		c.add(sevError, codeNotSupported, self, "unknown resource type")
		return ""
	}
	if parent == nil && name == "" {
		self = &pathSeg{name: []byte(typ), index: -1}
	}
	if top && !Supported(typ) {
		c.add(sevError, codeNotSupported, self, "resource type "+typ+" is not supported by this server")
		return ""
	}
	if wantType != "" && typ != wantType {
		want := "the request's type"
		if Known(wantType) {
			want = wantType
		}
		c.add(sevError, codeInvalid, self, "resourceType "+typ+" does not match "+want)
		return ""
	}
	c.object(ni, c.ix.types[typ], self)
	return typ
}

// object checks the members of object node ni against type ti.
func (c *checker) object(ni int32, ti *typeInfo, p *pathSeg) {
	t := c.t
	if t.nodes[ni].count() == 0 {
		c.add(sevError, codeStructure, p, "empty object")
		return
	}
	for k := t.first(ni); k >= 0; {
		v := t.nodes[k].next
		next := t.nodes[v].next
		c.member(ni, k, v, ti, p)
		k = next
	}
	c.required(ni, ti, p)
}

// required reports each element that ti requires (min 1 in the R4
// StructureDefinitions) and object ni lacks. A choice element (value[x])
// is present when one of its variants is; a primitive is present when its
// value or its primitive extension ("_status") is, as FHIR JSON allows an
// extension to stand in for the value.
func (c *checker) required(ni int32, ti *typeInfo, p *pathSeg) {
	for _, name := range ti.required {
		if c.present(ni, ti, name) {
			continue
		}
		msg := "required element is missing (min 1 in R4)"
		if strings.HasSuffix(name, "[x]") {
			msg = "required element is missing: one of its types must be present (min 1 in R4)"
		}
		c.add(sevError, codeRequired, &pathSeg{parent: p, name: []byte(name), index: -1}, msg)
	}
}

// present reports whether object ni holds element name of ti (see required).
func (c *checker) present(ni int32, ti *typeInfo, name string) bool {
	t := c.t
	base, choice := strings.CutSuffix(name, "[x]")
	if !choice {
		return t.member(ni, name) >= 0 || t.member(ni, "_"+name) >= 0
	}
	for k := t.first(ni); k >= 0; k = t.nodes[t.nodes[k].next].next {
		key := t.strBytes(k)
		if len(key) > 1 && key[0] == '_' {
			key = key[1:]
		}
		if len(key) > len(base) && string(key[:len(base)]) == base && key[len(base)] >= 'A' && key[len(base)] <= 'Z' {
			if _, ok := ti.elems[string(key)]; ok {
				return true
			}
		}
	}
	return false
}

// code reports a code (value node v) outside the required value set of its
// element. Malformed codes were reported by primitive.
func (c *checker) code(v int32, e elemInfo, p *pathSeg) {
	t := c.t
	if e.valueSet == nil || t.nodes[v].kind() != jString || t.nodes[v].ctrl() {
		return
	}
	s := t.strBytes(v)
	if !validCode(s) || e.valueSet.has(s) {
		return
	}
	c.add(sevError, codeCodeInvalid, p, "code not in the required value set "+e.valueSet.url+" ("+codeList(e.valueSet.codes)+")")
}

// codeList lists the codes of a value set (never a value of the resource),
// at most ten.
func codeList(codes []string) string {
	if len(codes) > 10 {
		return strings.Join(codes[:10], ", ") + ", …"
	}
	return strings.Join(codes, ", ")
}

// member checks one member (key node k, value node v) of object obj.
func (c *checker) member(obj, k, v int32, ti *typeInfo, p *pathSeg) {
	t := c.t
	key := t.strBytes(k)
	seg := c.segs.push(pathSeg{parent: p, name: key, index: -1})
	defer c.segs.pop()
	if len(key) > 1 && key[0] == '_' {
		if e, ok := ti.elems[string(key[1:])]; ok && e.typ.prim != primNone {
			seg.name = key[1:]
			c.primitiveExt(obj, v, key[1:], e, seg)
			return
		}
	}
	e, ok := ti.elems[string(key)]
	if !ok {
		if ti.resource && string(key) == "resourceType" {
			return
		}
		if t.nodes[k].ctrl() {
			c.add(sevError, codeValue, p, "member name holds a control character")
			return
		}
		c.add(sevWarning, codeStructure, seg, "unknown element (kept)")
		c.scanCtrl(v, seg)
		return
	}
	if ti.resource && string(key) == "contained" {
		if c.nested > 0 {
			c.add(sevError, codeInvalid, seg, "a contained resource must not contain resources (dom-2)")
			return
		}
		c.nested++
		defer func() { c.nested-- }()
	}
	vn := &t.nodes[v]
	if !e.array {
		if vn.kind() == jArray {
			c.add(sevError, codeStructure, seg, "expected a single value, not an array")
			return
		}
		c.value(v, e.typ, seg)
		c.code(v, e, seg)
		return
	}
	if vn.kind() != jArray {
		c.add(sevError, codeStructure, seg, "expected an array")
		return
	}
	if vn.count() == 0 {
		c.add(sevError, codeStructure, seg, "empty array")
		return
	}
	i := 0
	for it := t.first(v); it >= 0; it = t.nodes[it].next {
		is := c.segs.push(pathSeg{parent: seg, index: i})
		if t.nodes[it].kind() == jNull {
			if e.typ.prim == primNone || !c.extAt(obj, key, i) {
				c.add(sevError, codeStructure, is, "null is only allowed where the primitive extension array has a value")
			}
		} else {
			c.value(it, e.typ, is)
			c.code(it, e, is)
		}
		c.segs.pop()
		i++
	}
}

// extAt reports whether the primitive extension array "_"+key of obj has a
// non-null item at index i.
func (c *checker) extAt(obj int32, key []byte, i int) bool {
	u := c.t.member(obj, "_"+string(key))
	if u < 0 {
		return false
	}
	it := c.t.item(u, i)
	return it >= 0 && c.t.nodes[it].kind() == jObject
}

// primitiveExt checks "_x" (value node v), the id and extensions of the
// primitive element x (key) of obj.
func (c *checker) primitiveExt(obj, v int32, key []byte, e elemInfo, p *pathSeg) {
	t := c.t
	elem := c.ix.types["Element"]
	if !e.array {
		if t.nodes[v].kind() != jObject {
			c.add(sevError, codeStructure, p, "a primitive extension must be a JSON object")
			return
		}
		c.object(v, elem, p)
		return
	}
	if t.nodes[v].kind() != jArray {
		c.add(sevError, codeStructure, p, "a primitive extension of a repeating element must be an array")
		return
	}
	if base := t.member(obj, string(key)); base >= 0 && t.nodes[base].kind() == jArray && t.nodes[base].count() != t.nodes[v].count() {
		c.add(sevError, codeStructure, p, "the primitive extension array and the value array differ in length")
	}
	i := 0
	for it := t.first(v); it >= 0; it = t.nodes[it].next {
		is := c.segs.push(pathSeg{parent: p, index: i})
		switch t.nodes[it].kind() {
		case jNull:
		case jObject:
			c.object(it, elem, is)
		default:
			c.add(sevError, codeStructure, is, "a primitive extension must be a JSON object or null")
		}
		c.segs.pop()
		i++
	}
}

// value checks one (non-array) value of type ti.
func (c *checker) value(v int32, ti *typeInfo, p *pathSeg) {
	t := c.t
	switch {
	case ti.prim != primNone:
		c.primitive(v, ti, p)
	case ti.anyRes:
		if c.shallow {
			if t.nodes[v].kind() != jObject {
				c.add(sevError, codeStructure, p, "a resource must be a JSON object")
			}
			return
		}
		c.resource(v, p, "", "", false)
	default:
		if t.nodes[v].kind() != jObject {
			c.add(sevError, codeStructure, p, "expected a JSON object (type "+ti.name+")")
			return
		}
		c.object(v, ti, p)
		if ti.name == "Reference" {
			c.reference(v, p)
		}
	}
}

// reference checks the syntax of Reference.reference.
func (c *checker) reference(obj int32, p *pathSeg) {
	r := c.t.member(obj, "reference")
	if r < 0 || c.t.nodes[r].kind() != jString || c.t.nodes[r].ctrl() {
		return
	}
	if _, err := ParseReference(c.t.strValue(r)); err != nil {
		c.add(sevError, codeValue, &pathSeg{parent: p, name: []byte("reference"), index: -1}, err.Error())
	}
}

// primitive checks the JSON kind and the format of a primitive value.
func (c *checker) primitive(v int32, ti *typeInfo, p *pathSeg) {
	t := c.t
	n := &t.nodes[v]
	k := ti.prim
	switch k {
	case primBoolean:
		if n.kind() != jBool {
			c.add(sevError, codeStructure, p, "expected a JSON boolean (type boolean)")
		}
		return
	case primDecimal:
		if n.kind() != jNumber {
			c.add(sevError, codeStructure, p, "expected a JSON number (type decimal)")
		}
		return
	case primInteger, primPositiveInt, primUnsignedInt:
		if n.kind() != jNumber {
			c.add(sevError, codeStructure, p, "expected a JSON number (type "+ti.name+")")
		} else if !checkInteger(t.raw(v), k) {
			c.add(sevError, codeValue, p, "invalid "+ti.name)
		}
		return
	}
	if n.kind() != jString {
		c.add(sevError, codeStructure, p, "expected a JSON string (type "+ti.name+")")
		return
	}
	if n.ctrl() {
		c.add(sevError, codeValue, p, "string holds a control character")
		return
	}
	s := t.strBytes(v)
	if len(s) == 0 {
		c.add(sevError, codeValue, p, "empty string (type "+ti.name+")")
		return
	}
	ok := true
	switch k {
	case primDate:
		ok = validDate(s)
	case primDateTime:
		ok = validDateTime(s)
	case primInstant:
		ok = validInstant(s)
	case primTime:
		ok = validTime(s)
	case primID:
		ok = validIDBytes(s)
	case primCode:
		ok = validCode(s)
	case primURI, primURL, primCanonical:
		ok = validURI(s)
	case primOID:
		ok = validOID(s)
	case primUUID:
		ok = validUUID(s)
	case primBase64Binary:
		ok = validBase64(s)
	}
	if !ok {
		c.add(sevError, codeValue, p, "invalid "+ti.name)
	}
}

// scanCtrl reports strings with control characters anywhere in the
// subtree of v (an unknown element, whose content is kept as sent).
func (c *checker) scanCtrl(v int32, p *pathSeg) {
	t := c.t
	end := t.nodes[v].end
	for j := v; int(j) < len(t.nodes) && t.nodes[j].start < end; j++ {
		if t.nodes[j].ctrl() {
			c.add(sevError, codeValue, p, "string holds a control character")
			return
		}
	}
}
