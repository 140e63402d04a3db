package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds a small JSON parser that keeps the byte offsets of every
// value, so that checks can name paths and edits can splice the original
// bytes. It is strict RFC 8259 (UTF-8, no trailing data) and also refuses
// duplicate keys and unpaired UTF-16 surrogate escapes (PostgreSQL JSONB
// refuses them too).

type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNumber
	jString
	jObject
	jArray
)

// jnode is one JSON value, in 16 bytes (a document of many small elements
// has about one node per 7 bytes of text: docs/performance.md, "Memory per
// request"). Object members are stored as a key node (a string) whose next
// is the value node, whose next is the following key. A non-empty object's
// or array's first member or item is the node right after it (the parser
// appends it next), so only their count is kept.
type jnode struct {
	start int32  // offset of the value's first byte
	end   int32  // offset just after the value
	next  int32  // next sibling, -1 at the end
	aux   uint32 // kind << auxKindShift; strings: auxEsc, auxCtrl; objects, arrays: the count
}

const (
	auxKindShift = 29
	auxLow       = 1<<auxKindShift - 1 // the bits below the kind
	auxEsc       = 1                   // a string holds escapes
	auxCtrl      = 2                   // a string holds an escaped control character other than \t \r \n
)

// MaxDocumentBytes is the largest JSON document the package parses (Decode,
// Validate, ParseTree): below 256 MiB, so that a document's nodes, and so
// any count, fit in the bits below a node's kind.
const MaxDocumentBytes = 1<<28 - 1

func (n *jnode) kind() jkind { return jkind(n.aux >> auxKindShift) }
func (n *jnode) esc() bool   { return n.kind() == jString && n.aux&auxEsc != 0 }
func (n *jnode) ctrl() bool  { return n.kind() == jString && n.aux&auxCtrl != 0 }

// count is the number of members of an object or items of an array.
func (n *jnode) count() int32 {
	if k := n.kind(); k != jObject && k != jArray {
		return 0
	}
	return int32(n.aux & auxLow)
}

func (n *jnode) setKind(k jkind) { n.aux = n.aux&auxLow | uint32(k)<<auxKindShift }

type jtree struct {
	src   []byte
	nodes []jnode
}

const maxDepth = 200

// syntaxError is a JSON syntax error at a byte offset.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("invalid JSON at byte %d: %s", e.off, e.msg) }

// parseTree parses src, which must hold exactly one JSON value.
func parseTree(src []byte) (*jtree, error) {
	if len(src) > MaxDocumentBytes {
		return nil, errors.New("document too large")
	}
	if !utf8.Valid(src) {
		return nil, errors.New("invalid JSON: not UTF-8")
	}
	p := &parser{t: &jtree{src: src, nodes: make([]jnode, 0, nodeBound(src))}}
	p.ws()
	if _, err := p.value(0); err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(src) {
		return nil, &syntaxError{p.i, "data after the value"}
	}
	return p.t, nil
}

// nodeBound returns at least the number of values parseTree makes of src
// (keys included), so that the node slice is allocated once: growing it by
// append's steps allocated about 3.5 times the final slice for a body of
// 260,000 identifiers (docs/performance.md, "Memory per request"). Every
// value but the first follows one of , : [ { (and each non-empty object or
// array has one fewer separators than values plus its bracket), so their
// count bounds it; when that count is high for the size (a dense document,
// or strings full of commas), the characters inside strings are left out.
func nodeBound(src []byte) int {
	n := 1 + bytes.Count(src, []byte{','}) + bytes.Count(src, []byte{':'}) +
		bytes.Count(src, []byte{'['}) + bytes.Count(src, []byte{'{'})
	if n <= len(src)/6+16 {
		return n
	}
	n = 1
	for i := 0; i < len(src); i++ {
		switch src[i] {
		case ',', ':', '[', '{':
			n++
		case '"':
			// skip the string: to the next quote not escaped
			for i++; i < len(src) && src[i] != '"'; i++ {
				if src[i] == '\\' {
					i++
				}
			}
		}
	}
	return n
}

type parser struct {
	t *jtree
	i int
}

func (p *parser) ws() {
	s := p.t.src
	for p.i < len(s) {
		switch s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) fail(msg string) error { return &syntaxError{p.i, msg} }

// value parses one value at p.i and returns its node index.
func (p *parser) value(depth int) (int32, error) {
	s := p.t.src
	if p.i >= len(s) {
		return -1, p.fail("unexpected end")
	}
	if depth > maxDepth {
		return -1, p.fail("nested too deeply")
	}
	idx := int32(len(p.t.nodes))
	p.t.nodes = append(p.t.nodes, jnode{start: int32(p.i), next: -1})
	switch c := s[p.i]; {
	case c == '{':
		return idx, p.object(idx, depth)
	case c == '[':
		return idx, p.array(idx, depth)
	case c == '"':
		p.t.nodes[idx].setKind(jString)
		return idx, p.str(idx)
	case c == '-' || (c >= '0' && c <= '9'):
		p.t.nodes[idx].setKind(jNumber)
		if err := p.number(); err != nil {
			return -1, err
		}
	case c == 't':
		p.t.nodes[idx].setKind(jBool)
		if err := p.lit("true"); err != nil {
			return -1, err
		}
	case c == 'f':
		p.t.nodes[idx].setKind(jBool)
		if err := p.lit("false"); err != nil {
			return -1, err
		}
	case c == 'n':
		p.t.nodes[idx].setKind(jNull)
		if err := p.lit("null"); err != nil {
			return -1, err
		}
	default:
		return -1, p.fail("unexpected character")
	}
	p.t.nodes[idx].end = int32(p.i)
	return idx, nil
}

func (p *parser) lit(w string) error {
	s := p.t.src
	if len(s)-p.i < len(w) || string(s[p.i:p.i+len(w)]) != w {
		return p.fail("invalid literal")
	}
	p.i += len(w)
	return nil
}

func (p *parser) number() error {
	s := p.t.src
	if s[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(s) && s[p.i] >= '0' && s[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.i < len(s) && s[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return p.fail("invalid number")
	}
	if p.i < len(s) && s[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return p.fail("invalid number")
		}
	}
	if p.i < len(s) && (s[p.i] == 'e' || s[p.i] == 'E') {
		p.i++
		if p.i < len(s) && (s[p.i] == '+' || s[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return p.fail("invalid number")
		}
	}
	return nil
}

func hexDigit(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return rune(c-'A') + 10
	}
	return -1
}

func (p *parser) hex4() (rune, error) {
	s := p.t.src
	if len(s)-p.i < 4 {
		return 0, p.fail("invalid \\u escape")
	}
	var r rune
	for k := 0; k < 4; k++ {
		v := hexDigit(s[p.i+k])
		if v < 0 {
			return 0, p.fail("invalid \\u escape")
		}
		r = r<<4 | v
	}
	p.i += 4
	return r, nil
}

// str parses a string; p.i is at the opening quote.
func (p *parser) str(idx int32) error {
	s := p.t.src
	p.i++
	for p.i < len(s) {
		c := s[p.i]
		switch {
		case c == '"':
			p.i++
			p.t.nodes[idx].end = int32(p.i)
			return nil
		case c < 0x20:
			return p.fail("control character in string")
		case c == '\\':
			p.t.nodes[idx].aux |= auxEsc
			p.i++
			if p.i >= len(s) {
				return p.fail("unexpected end")
			}
			switch s[p.i] {
			case '"', '\\', '/', 't', 'r', 'n':
				p.i++
			case 'b', 'f':
				p.i++
				p.t.nodes[idx].aux |= auxCtrl
			case 'u':
				p.i++
				r, err := p.hex4()
				if err != nil {
					return err
				}
				switch {
				case r < 0x20 && r != '\t' && r != '\r' && r != '\n':
					p.t.nodes[idx].aux |= auxCtrl
				case utf16.IsSurrogate(r):
					if r >= 0xDC00 || len(s)-p.i < 2 || s[p.i] != '\\' || s[p.i+1] != 'u' {
						return p.fail("unpaired surrogate escape")
					}
					p.i += 2
					r2, err := p.hex4()
					if err != nil {
						return err
					}
					if r2 < 0xDC00 || r2 > 0xDFFF {
						return p.fail("unpaired surrogate escape")
					}
				}
			default:
				return p.fail("invalid escape")
			}
		default:
			p.i++
		}
	}
	return p.fail("unterminated string")
}

func (p *parser) object(idx int32, depth int) error {
	s := p.t.src
	p.t.nodes[idx].setKind(jObject)
	p.i++
	p.ws()
	prev := int32(-1)
	var n int32
	if p.i < len(s) && s[p.i] == '}' {
		p.i++
		p.t.nodes[idx].end = int32(p.i)
		return nil
	}
	for {
		if p.i >= len(s) || s[p.i] != '"' {
			return p.fail("expected a member name")
		}
		k, err := p.value(depth + 1)
		if err != nil {
			return err
		}
		p.ws()
		if p.i >= len(s) || s[p.i] != ':' {
			return p.fail("expected ':'")
		}
		p.i++
		p.ws()
		v, err := p.value(depth + 1)
		if err != nil {
			return err
		}
		p.t.nodes[k].next = v
		if prev >= 0 {
			p.t.nodes[prev].next = k
		}
		prev = v
		n++
		p.ws()
		if p.i >= len(s) {
			return p.fail("unexpected end")
		}
		if s[p.i] == ',' {
			p.i++
			p.ws()
			continue
		}
		if s[p.i] == '}' {
			p.i++
			break
		}
		return p.fail("expected ',' or '}'")
	}
	p.t.nodes[idx].end = int32(p.i)
	p.t.nodes[idx].aux |= uint32(n)
	return p.dupKeys(idx)
}

// dupKeys refuses an object with a key written twice.
func (p *parser) dupKeys(idx int32) error {
	t := p.t
	obj := t.nodes[idx]
	if obj.count() < 2 {
		return nil
	}
	if obj.count() > 24 {
		seen := make(map[string]bool, obj.count())
		for k := t.first(idx); k >= 0; k = t.nodes[t.nodes[k].next].next {
			key := t.strValue(k)
			if seen[key] {
				return &syntaxError{int(t.nodes[k].start), "duplicate member name"}
			}
			seen[key] = true
		}
		return nil
	}
	for k := t.first(idx); k >= 0; k = t.nodes[t.nodes[k].next].next {
		kb := t.strBytes(k)
		for k2 := t.nodes[t.nodes[k].next].next; k2 >= 0; k2 = t.nodes[t.nodes[k2].next].next {
			if string(kb) == string(t.strBytes(k2)) {
				return &syntaxError{int(t.nodes[k2].start), "duplicate member name"}
			}
		}
	}
	return nil
}

func (p *parser) array(idx int32, depth int) error {
	s := p.t.src
	p.t.nodes[idx].setKind(jArray)
	p.i++
	p.ws()
	if p.i < len(s) && s[p.i] == ']' {
		p.i++
		p.t.nodes[idx].end = int32(p.i)
		return nil
	}
	prev := int32(-1)
	var n int32
	for {
		v, err := p.value(depth + 1)
		if err != nil {
			return err
		}
		if prev >= 0 {
			p.t.nodes[prev].next = v
		}
		prev = v
		n++
		p.ws()
		if p.i >= len(s) {
			return p.fail("unexpected end")
		}
		if s[p.i] == ',' {
			p.i++
			p.ws()
			continue
		}
		if s[p.i] == ']' {
			p.i++
			break
		}
		return p.fail("expected ',' or ']'")
	}
	p.t.nodes[idx].end = int32(p.i)
	p.t.nodes[idx].aux |= uint32(n)
	return nil
}

// first returns the first member (key node) of object node i or the first
// item of array node i, or -1 when there is none.
func (t *jtree) first(i int32) int32 {
	if t.nodes[i].count() == 0 {
		return -1
	}
	return i + 1
}

// raw returns the bytes of node i as written.
func (t *jtree) raw(i int32) []byte { return t.src[t.nodes[i].start:t.nodes[i].end] }

// strBytes returns the content of string node i, unescaped. It aliases the
// source when the string holds no escapes.
func (t *jtree) strBytes(i int32) []byte {
	n := &t.nodes[i]
	inner := t.src[n.start+1 : n.end-1]
	if !n.esc() {
		return inner
	}
	return unescape(inner)
}

// strValue returns the content of string node i as a Go string.
func (t *jtree) strValue(i int32) string { return string(t.strBytes(i)) }

// unescape decodes the escapes of a string the parser accepted.
func unescape(s []byte) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch s[i] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hexRune(s[i+1:])
			i += 4
			if utf16.IsSurrogate(r) && i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
				r = utf16.DecodeRune(r, hexRune(s[i+3:]))
				i += 6
			}
			out = utf8.AppendRune(out, r)
		default: // " \ /
			out = append(out, s[i])
		}
	}
	return out
}

func hexRune(s []byte) rune {
	var r rune
	for k := 0; k < 4 && k < len(s); k++ {
		r = r<<4 | hexDigit(s[k])
	}
	return r
}

// member returns the value node of key in object node obj, or -1.
func (t *jtree) member(obj int32, key string) int32 {
	if t.nodes[obj].kind() != jObject {
		return -1
	}
	for k := t.first(obj); k >= 0; k = t.nodes[t.nodes[k].next].next {
		if string(t.strBytes(k)) == key {
			return t.nodes[k].next
		}
	}
	return -1
}

// item returns the i-th item of array node arr, or -1.
func (t *jtree) item(arr int32, i int) int32 {
	if t.nodes[arr].kind() != jArray {
		return -1
	}
	for k := t.first(arr); k >= 0; k = t.nodes[k].next {
		if i == 0 {
			return k
		}
		i--
	}
	return -1
}

// stringMember returns the string value of key in object obj, or "".
func (t *jtree) stringMember(obj int32, key string) string {
	v := t.member(obj, key)
	if v < 0 || t.nodes[v].kind() != jString {
		return ""
	}
	return t.strValue(v)
}

// instance is node i in the form jsonschema validates, as
// jsonschema.UnmarshalJSON makes it (map[string]any, []any, string,
// json.Number, bool, nil), built from the tree instead of a second decode
// of the text by encoding/json (which took ~45% of a schema check:
// BenchmarkValidateSchema, docs/performance.md session 14).
func (t *jtree) instance(i int32) any {
	n := &t.nodes[i]
	switch n.kind() {
	case jObject:
		m := make(map[string]any, n.count())
		for k := t.first(i); k >= 0; k = t.nodes[t.nodes[k].next].next {
			m[t.strValue(k)] = t.instance(t.nodes[k].next)
		}
		return m
	case jArray:
		a := make([]any, 0, n.count())
		for it := t.first(i); it >= 0; it = t.nodes[it].next {
			a = append(a, t.instance(it))
		}
		return a
	case jString:
		return t.strValue(i)
	case jNumber:
		return json.Number(t.raw(i))
	case jBool:
		return t.src[n.start] == 't'
	default:
		return nil
	}
}
