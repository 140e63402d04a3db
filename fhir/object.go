package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// member is one key of a JSON object with its value as raw bytes.
type member struct {
	Key   string
	Value json.RawMessage
}

// object is a JSON object that keeps its keys in the order they were written,
// so that editing one member leaves the rest of a document byte-for-byte alone.
type object []member

// parseObject splits a JSON object into its members, in order. Duplicate
// keys are an error (RFC 8259 leaves them undefined; FHIR forbids them).
func parseObject(data []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	var obj object
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
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		obj = append(obj, member{Key: key, Value: raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the object")
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("data after the object")
	}
	return obj, nil
}

func (o object) get(key string) (json.RawMessage, bool) {
	for _, m := range o {
		if m.Key == key {
			return m.Value, true
		}
	}
	return nil, false
}

// set replaces the value of key, or appends the key when absent.
func (o object) set(key string, value json.RawMessage) object {
	for i := range o {
		if o[i].Key == key {
			o[i].Value = value
			return o
		}
	}
	return append(o, member{Key: key, Value: value})
}

func (o object) del(key string) object {
	for i := range o {
		if o[i].Key == key {
			return append(o[:i:i], o[i+1:]...)
		}
	}
	return o
}

// moveFront puts the named keys first, in the given order, when present.
func (o object) moveFront(keys ...string) object {
	out := make(object, 0, len(o))
	for _, k := range keys {
		if v, ok := o.get(k); ok {
			out = append(out, member{Key: k, Value: v})
		}
	}
	for _, m := range o {
		front := false
		for _, k := range keys {
			if m.Key == k {
				front = true
			}
		}
		if !front {
			out = append(out, m)
		}
	}
	return out
}

// bytes writes the object compactly, keeping each value's own bytes.
func (o object) bytes() []byte {
	n := 2
	for _, m := range o {
		n += len(m.Key) + len(m.Value) + 4
	}
	var b bytes.Buffer
	b.Grow(n)
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.Key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(m.Value)
	}
	b.WriteByte('}')
	return b.Bytes()
}
