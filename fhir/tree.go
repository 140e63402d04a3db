package fhir

import "iter"

// Tree is a JSON document parsed by the package's own parser (the one
// Decode checks with: strict RFC 8259, UTF-8, no duplicate keys, at most
// 200 levels deep, under MaxDocumentBytes; validate_json.go), read through
// Nodes. Each value is a 16-byte record pointing into the text, which the
// Tree keeps: for a document of many small elements that is about 2 times
// the text, where
// encoding/json's map[string]any takes about 10 times (docs/performance.md,
// "Memory per request"). Search indexing reads resources this way.
//
// A Tree is read-only and safe for concurrent reads. The text must not
// change while the Tree is in use.
type Tree struct{ t *jtree }

// ParseTree parses src, which must hold exactly one JSON value.
func ParseTree(src []byte) (*Tree, error) {
	t, err := parseTree(src)
	if err != nil {
		return nil, err
	}
	return &Tree{t}, nil
}

// Root returns the document's value.
func (t *Tree) Root() Node { return Node{t.t, 0} }

// JSONKind is the kind of a JSON value.
type JSONKind uint8

// The kinds of Node. JSONAbsent is the kind of the zero Node: a member or
// an item that is not there.
const (
	JSONAbsent JSONKind = iota
	JSONNull
	JSONBool
	JSONNumber
	JSONString
	JSONObject
	JSONArray
)

// Node is one value of a Tree. The zero Node is absent: its Kind is
// JSONAbsent, and everything read from it is absent or empty too.
type Node struct {
	t *jtree
	i int32
}

// Kind returns the node's kind.
func (n Node) Kind() JSONKind {
	if n.t == nil {
		return JSONAbsent
	}
	return JSONKind(n.t.nodes[n.i].kind()) + 1 // jNull is 0
}

// Exists reports whether the node is there (it may be null).
func (n Node) Exists() bool { return n.t != nil }

// Get returns the value of member key of an object; an absent Node when n
// is not an object or has no such member.
func (n Node) Get(key string) Node {
	if n.t == nil {
		return Node{}
	}
	if v := n.t.member(n.i, key); v >= 0 {
		return Node{n.t, v}
	}
	return Node{}
}

// Items returns the items of an array in order; nothing for anything else.
func (n Node) Items() iter.Seq[Node] {
	return func(yield func(Node) bool) {
		if n.Kind() != JSONArray {
			return
		}
		for it := n.t.first(n.i); it >= 0; it = n.t.nodes[it].next {
			if !yield(Node{n.t, it}) {
				return
			}
		}
	}
}

// Members returns the members of an object in document order (keys
// unescaped); nothing for anything else.
func (n Node) Members() iter.Seq2[string, Node] {
	return func(yield func(string, Node) bool) {
		if n.Kind() != JSONObject {
			return
		}
		t := n.t
		for k := t.first(n.i); k >= 0; k = t.nodes[t.nodes[k].next].next {
			if !yield(t.strValue(k), Node{t, t.nodes[k].next}) {
				return
			}
		}
	}
}

// Str returns the content of a string (unescaped) and true; "" and false
// for anything else.
func (n Node) Str() (string, bool) {
	if n.Kind() != JSONString {
		return "", false
	}
	return n.t.strValue(n.i), true
}

// IsStr reports whether n is a string whose content is s, without making
// a copy of it.
func (n Node) IsStr(s string) bool {
	return n.Kind() == JSONString && string(n.t.strBytes(n.i)) == s
}

// Bool returns the value of a boolean and true; false, false for anything
// else.
func (n Node) Bool() (v, ok bool) {
	if n.Kind() != JSONBool {
		return false, false
	}
	return n.t.src[n.t.nodes[n.i].start] == 't', true
}

// Number returns a number as written ("1.50", "-3e2") and true; "" and
// false for anything else.
func (n Node) Number() (string, bool) {
	if n.Kind() != JSONNumber {
		return "", false
	}
	return string(n.t.raw(n.i)), true
}
