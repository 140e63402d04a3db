package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Object is a JSON object edited in place: its members keep the order they
// were written in, each value keeps its bytes, and the layout (the
// whitespace around the braces, between members and around each colon) is
// kept too, so that changing one member leaves every other byte of a
// document alone. Stored resources are returned as sent; this is how
// socialrx changes one of their members without re-encoding the rest.
//
// Values are raw JSON and are not checked when set: the caller writes
// valid JSON (json.Marshal, or bytes taken from another document). The zero
// Object is an empty object, "{}". Methods that change the object need a
// pointer; an Object is not safe for concurrent use.
type Object struct {
	members []member
	lead    []byte // before '{'
	inner   []byte // between '{' and '}' when there are no members
	trail   []byte // after '}'
}

// member is one key of an Object with its value and its layout slot.
type member struct {
	key   string // decoded
	raw   []byte // the key as written, quotes included
	value json.RawMessage
	pre   []byte // whitespace after '{' or ',' and before the key
	colon []byte // from the end of the key to the value: ':' and whitespace
	post  []byte // whitespace after the value, before ',' or '}'
}

// ParseObject splits the JSON object data into its members, in order,
// keeping each value's bytes and the layout. Duplicate keys are an error
// (RFC 8259 leaves them undefined; FHIR forbids them), and so is anything
// but whitespace after the closing brace. data is not copied: the values
// alias it.
func ParseObject(data []byte) (*Object, error) {
	if o, ok := parseObjectFast(data); ok {
		return o, nil
	}
	return parseObjectDecoder(data)
}

// parseObjectFast is ParseObject for the common case, a valid JSON object
// with distinct ASCII keys written without escapes: json.Valid checks the
// whole document in one pass, then one scan splits the members, about 5
// times faster than the json.Decoder walk (StampMeta of every write and
// of an import's resources was 45 µs a resource; docs/performance.md).
// ok is false for anything else, which parseObjectDecoder then parses or
// refuses: the two give the same Object for every input the fast one
// takes (FuzzParseObjectFast).
func parseObjectFast(data []byte) (*Object, bool) {
	if !json.Valid(data) {
		return nil, false
	}
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, false
	}
	open := i + 1
	o := &Object{lead: data[:i]}
	prevEnd := open
	n := 0 // members
	var seen map[string]bool
	for {
		j := skipSpace(data, prevEnd)
		if n > 0 {
			// data[j] is ',' or '}' (the document is valid)
			if data[j] == '}' {
				o.members[n-1].post = data[prevEnd:j]
				o.trail = data[j+1:]
				return o, true
			}
			comma := j
			j = skipSpace(data, comma+1)
			o.members[n-1].post = data[prevEnd:comma]
			prevEnd = comma + 1
		} else if data[j] == '}' {
			o.inner = data[prevEnd:j]
			o.trail = data[j+1:]
			return o, true
		}
		// data[j] is the key's opening quote.
		keyEnd := j + 1
		for data[keyEnd] != '"' {
			if data[keyEnd] == '\\' || data[keyEnd] >= 0x80 {
				return nil, false // escapes and non-ASCII keys: the decoder decodes them
			}
			keyEnd++
		}
		keyEnd++ // after the closing quote
		key := string(data[j+1 : keyEnd-1])
		// A duplicate key: the decoder reports it. A map once the object
		// is large, so that many keys cost no quadratic time.
		if seen != nil {
			if seen[key] {
				return nil, false
			}
			seen[key] = true
		} else {
			for _, m := range o.members {
				if m.key == key {
					return nil, false
				}
			}
			if n == 16 {
				seen = make(map[string]bool, 64)
				for _, m := range o.members {
					seen[m.key] = true
				}
				seen[key] = true
			}
		}
		valStart := skipSpace(data, skipSpace(data, keyEnd)+1) // past ':'
		end := skipValue(data, valStart)
		o.members = append(o.members, member{key: key, raw: data[j:keyEnd], value: data[valStart:end:end],
			pre: data[prevEnd:j], colon: data[keyEnd:valStart]})
		n++
		prevEnd = end
	}
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index just after the JSON value that starts at i
// in valid JSON data.
func skipValue(data []byte, i int) int {
	depth := 0
	for {
		switch c := data[i]; c {
		case '"':
			i++
			for data[i] != '"' {
				if data[i] == '\\' {
					i++
				}
				i++
			}
			i++
		case '{', '[':
			depth++
			i++
		case '}', ']':
			depth--
			i++
		default:
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ':' {
				i++
				continue
			}
			// a number or a literal: up to the next delimiter
			for i < len(data) && !isDelim(data[i]) {
				i++
			}
		}
		if depth == 0 {
			return i
		}
	}
}

// isDelim reports whether c ends a number or a literal in valid JSON.
func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', ':', ']', '}':
		return true
	}
	return false
}

// parseObjectDecoder is ParseObject by json.Decoder: every input, with the
// decoder's errors.
func parseObjectDecoder(data []byte) (*Object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	open := int(dec.InputOffset()) // just after '{'
	o := &Object{lead: data[:open-1]}
	prevEnd := open
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("object key is not a string")
		}
		if seen[key] {
			return nil, fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		keyEnd := int(dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		end := int(dec.InputOffset())
		valStart := end - len(raw)
		gap := data[prevEnd:keyEnd]
		keyStart := bytes.IndexByte(gap, '"')
		if keyStart < 0 || valStart < keyEnd {
			return nil, errors.New("not a JSON object")
		}
		m := member{key: key, raw: gap[keyStart:], value: data[valStart:end:end], colon: data[keyEnd:valStart]}
		// The gap before the key: the previous value's trailing whitespace,
		// the comma, this key's leading whitespace.
		if comma := bytes.IndexByte(gap[:keyStart], ','); comma >= 0 {
			o.members[len(o.members)-1].post = gap[:comma]
			m.pre = gap[comma+1 : keyStart]
		} else {
			m.pre = gap[:keyStart]
		}
		o.members = append(o.members, m)
		prevEnd = end
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, err
	}
	closing := int(dec.InputOffset()) - 1
	if n := len(o.members); n > 0 {
		o.members[n-1].post = data[prevEnd:closing]
	} else {
		o.inner = data[prevEnd:closing]
	}
	o.trail = data[closing+1:]
	if len(bytes.TrimSpace(o.trail)) > 0 {
		return nil, errors.New("data after the object")
	}
	return o, nil
}

// Len returns the number of members.
func (o *Object) Len() int { return len(o.members) }

// Keys returns the member names in order.
func (o *Object) Keys() []string {
	keys := make([]string, len(o.members))
	for i, m := range o.members {
		keys[i] = m.key
	}
	return keys
}

// Index returns the position of key among the members, or -1.
func (o *Object) Index(key string) int {
	for i, m := range o.members {
		if m.key == key {
			return i
		}
	}
	return -1
}

// Get returns the value of key as written.
func (o *Object) Get(key string) (json.RawMessage, bool) {
	if i := o.Index(key); i >= 0 {
		return o.members[i].value, true
	}
	return nil, false
}

// Set replaces the value of key where it stands, or adds key as the last
// member when absent.
func (o *Object) Set(key string, value json.RawMessage) {
	o.SetAfter(key, value)
}

// SetAfter replaces the value of key where it stands; when key is absent it
// is added after the first of the after members present, else last. A new
// member is laid out like the one it follows (its indentation and colon
// spacing), so a pretty-printed document stays so.
func (o *Object) SetAfter(key string, value json.RawMessage, after ...string) {
	if i := o.Index(key); i >= 0 {
		o.members[i].value = value
		return
	}
	raw, _ := json.Marshal(key)
	if len(o.members) == 0 {
		o.members = []member{{key: key, raw: raw, value: value, pre: o.inner, colon: []byte(":")}}
		o.inner = nil
		return
	}
	at := len(o.members) - 1
	for _, a := range after {
		if i := o.Index(a); i >= 0 {
			at = i
			break
		}
	}
	anchor := &o.members[at]
	pre := anchor.pre
	if at > 0 {
		pre = concat(o.members[at-1].post, anchor.pre)
	}
	m := member{key: key, raw: raw, value: value, pre: pre, colon: anchor.colon, post: anchor.post}
	anchor.post = nil
	o.members = append(o.members[:at+1], append([]member{m}, o.members[at+1:]...)...)
}

// Del removes key and reports whether it was there. The separators around
// it stay valid: the whitespace that followed it goes to the member before
// it, and a first member's leading whitespace to the one after it.
func (o *Object) Del(key string) bool {
	i := o.Index(key)
	if i < 0 {
		return false
	}
	m := o.members[i]
	switch {
	case len(o.members) == 1:
		o.inner = concat(m.pre, m.post)
	case i > 0:
		o.members[i-1].post = m.post
	default:
		o.members[1].pre = m.pre
	}
	o.members = append(o.members[:i:i], o.members[i+1:]...)
	return true
}

// MoveFront puts the named members first, in the given order, when present;
// the others keep their order. The layout stays where it was: the members
// move through it.
func (o *Object) MoveFront(keys ...string) {
	order := make([]member, 0, len(o.members))
	for _, k := range keys {
		if i := o.Index(k); i >= 0 {
			order = append(order, o.members[i])
		}
	}
	for _, m := range o.members {
		front := false
		for _, k := range keys {
			front = front || m.key == k
		}
		if !front {
			order = append(order, m)
		}
	}
	for i := range o.members {
		order[i].pre, order[i].colon, order[i].post = o.members[i].pre, o.members[i].colon, o.members[i].post
	}
	o.members = order
}

// CompactLayout drops the whitespace around and between the members (the
// values keep theirs), so that Bytes writes {"a":1,"b":2}.
func (o *Object) CompactLayout() {
	o.lead, o.inner, o.trail = nil, nil, nil
	for i := range o.members {
		m := &o.members[i]
		m.pre, m.post, m.colon = nil, nil, []byte(":")
	}
}

// Bytes writes the object: an Object nothing was changed in gives back the
// very bytes it was parsed from.
func (o *Object) Bytes() []byte {
	n := len(o.lead) + len(o.inner) + len(o.trail) + 2
	for _, m := range o.members {
		n += len(m.pre) + len(m.raw) + len(m.colon) + len(m.value) + len(m.post) + 1
	}
	b := make([]byte, 0, n)
	b = append(append(b, o.lead...), '{')
	b = append(b, o.inner...)
	for i, m := range o.members {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, m.pre...)
		b = append(b, m.raw...)
		b = append(b, m.colon...)
		b = append(b, m.value...)
		b = append(b, m.post...)
	}
	b = append(b, '}')
	return append(b, o.trail...)
}

func concat(a, b []byte) []byte {
	return append(append(make([]byte, 0, len(a)+len(b)), a...), b...)
}
