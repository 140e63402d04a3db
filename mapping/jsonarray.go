package mapping

import (
	"bytes"
	"encoding/json"
	"reflect"
)

// JSON arrays inside stored resources, edited the way fhir.Object edits
// objects: the elements not touched keep their bytes and the layout.

// appendToArray returns the JSON array arr with elems appended, each
// separated as arr's first element is from the '[' (so a pretty-printed
// array stays so). arr is a JSON array (checked by the caller).
func appendToArray(arr []byte, elems [][]byte) []byte {
	inner := arr[1 : len(arr)-1]
	lead := inner[:len(inner)-len(bytes.TrimLeft(inner, " \t\r\n"))]
	trimmed := bytes.TrimRight(inner, " \t\r\n")
	trail := inner[len(trimmed):]
	var b bytes.Buffer
	b.WriteByte('[')
	b.Write(trimmed)
	for i, e := range elems {
		if len(trimmed) > 0 || i > 0 {
			b.WriteByte(',')
		}
		b.Write(lead)
		b.Write(e)
	}
	b.Write(trail)
	b.WriteByte(']')
	return b.Bytes()
}

// editArray returns the JSON array arr with each element e replaced by
// f(e) where f reports a change; the other bytes are kept. changed is false,
// and arr itself returned, when f changed nothing or arr is no valid array.
func editArray(arr []byte, f func(json.RawMessage) (json.RawMessage, bool)) (out []byte, changed bool) {
	dec := json.NewDecoder(bytes.NewReader(arr))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return arr, false
	}
	last := 0
	for dec.More() {
		var e json.RawMessage
		if dec.Decode(&e) != nil {
			return arr, false
		}
		end := int(dec.InputOffset())
		if ne, ok := f(e); ok {
			out = append(append(out, arr[last:end-len(e)]...), ne...)
			last, changed = end, true
		}
	}
	if !changed {
		return arr, false
	}
	return append(out, arr[last:]...), true
}

// arrayElements returns the elements of the JSON array arr, each with its
// bytes; ok is false when arr is not an array.
func arrayElements(arr []byte) (elems []json.RawMessage, ok bool) {
	if len(arr) == 0 || arr[0] != '[' || json.Unmarshal(arr, &elems) != nil {
		return nil, false
	}
	return elems, true
}

// joinArray writes elems as a compact JSON array.
func joinArray(elems [][]byte) []byte {
	return append(append([]byte{'['}, bytes.Join(elems, []byte(","))...), ']')
}

// jsonEqual reports whether a and b are the same JSON value (numbers
// compared as written: 1.50 is not 1.5); an empty a or b is an absent
// value, equal only to another absent one or to null.
func jsonEqual(a, b json.RawMessage) bool {
	return reflect.DeepEqual(decodeAny(a), decodeAny(b))
}

// decodeAny decodes v with numbers as json.Number; nil when v is empty or
// not JSON.
func decodeAny(v json.RawMessage) any {
	if len(v) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var x any
	if dec.Decode(&x) != nil {
		return nil
	}
	return x
}
