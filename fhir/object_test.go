package fhir

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseObjectRoundTrip(t *testing.T) {
	for _, in := range []string{
		`{}`,
		` { } `,
		`{"a":1}`,
		`{"resourceType":"Patient","birthDate":"1970","_birthDate":{"extension":[{"url":"x"}]},"weight":1.50}`,
		"{\n  \"a\" : [ 1, 2 ],\n  \"b\":{\"c\" :null}\n}\n",
		`{"a":1 , "b" :2	,"c":	"x"}`,
		`{"k\u0065y":"escaped key kept as written"}`,
	} {
		o, err := ParseObject([]byte(in))
		if err != nil {
			t.Errorf("ParseObject(%q): %v", in, err)
			continue
		}
		if got := string(o.Bytes()); got != in {
			t.Errorf("ParseObject(%q).Bytes() = %q, want the input", in, got)
		}
	}
}

func TestParseObjectRejects(t *testing.T) {
	for _, in := range []string{``, `[]`, `"a"`, `null`, `{"a":1,"a":2}`, `{"a":1} x`, `{"a":1}{}`, `{`, `{"a"}`, `{"a":}`, `{1:2}`} {
		if _, err := ParseObject([]byte(in)); err == nil {
			t.Errorf("ParseObject(%q): no error", in)
		}
	}
}

func TestObjectGet(t *testing.T) {
	o, err := ParseObject([]byte(`{"a": 1.50 ,"b":{"c":[1, 2]},"k\u0065y":true}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		key  string
		want string
		ok   bool
	}{
		{"a", `1.50`, true},
		{"b", `{"c":[1, 2]}`, true},
		{"key", `true`, true},
		{"c", ``, false},
	} {
		got, ok := o.Get(c.key)
		if string(got) != c.want || ok != c.ok {
			t.Errorf("Get(%q) = %s, %v; want %s, %v", c.key, got, ok, c.want, c.ok)
		}
	}
	if diff := cmp.Diff([]string{"a", "b", "key"}, o.Keys()); diff != "" {
		t.Errorf("Keys (-want +got):\n%s", diff)
	}
	if o.Len() != 3 || o.Index("b") != 1 || o.Index("x") != -1 {
		t.Errorf("Len %d, Index(b) %d, Index(x) %d", o.Len(), o.Index("b"), o.Index("x"))
	}
}

func TestObjectEdit(t *testing.T) {
	const pretty = "{\n  \"resourceType\": \"Task\",\n  \"status\": \"requested\",\n  \"intent\": \"order\"\n}"
	tests := []struct {
		name string
		in   string
		edit func(o *Object)
		want string
	}{
		{"set replaces in place", `{"a":1, "b" : 2,"c":3}`, func(o *Object) { o.Set("b", json.RawMessage(`[true]`)) }, `{"a":1, "b" : [true],"c":3}`},
		{"set appends", `{"a":1,"b":2}`, func(o *Object) { o.Set("c", json.RawMessage(`"x"`)) }, `{"a":1,"b":2,"c":"x"}`},
		{"set on empty keeps inner space", ` { } `, func(o *Object) { o.Set("a", json.RawMessage(`1`)) }, ` { "a":1} `},
		{"set on the zero Object", ``, func(o *Object) { o.Set("a", json.RawMessage(`1`)) }, `{"a":1}`},
		{"set after, pretty", pretty, func(o *Object) { o.SetAfter("code", json.RawMessage(`{"text":"x"}`), "priority", "status") },
			"{\n  \"resourceType\": \"Task\",\n  \"status\": \"requested\",\n  \"code\": {\"text\":\"x\"},\n  \"intent\": \"order\"\n}"},
		{"set after the last, pretty", pretty, func(o *Object) { o.SetAfter("code", json.RawMessage(`1`), "intent") },
			"{\n  \"resourceType\": \"Task\",\n  \"status\": \"requested\",\n  \"intent\": \"order\",\n  \"code\": 1\n}"},
		{"set after none present: last", `{"a":1}`, func(o *Object) { o.SetAfter("b", json.RawMessage(`2`), "x", "y") }, `{"a":1,"b":2}`},
		{"set after an existing key: in place", `{"a":1,"b":2}`, func(o *Object) { o.SetAfter("a", json.RawMessage(`3`), "b") }, `{"a":3,"b":2}`},
		{"del middle", `{"a":1, "b":2, "c":3}`, func(o *Object) { o.Del("b") }, `{"a":1, "c":3}`},
		{"del first", `{ "a":1, "b":2 }`, func(o *Object) { o.Del("a") }, `{ "b":2 }`},
		{"del last, pretty", pretty, func(o *Object) { o.Del("intent") }, "{\n  \"resourceType\": \"Task\",\n  \"status\": \"requested\"\n}"},
		{"del only", `{ "a":1 }`, func(o *Object) { o.Del("a") }, `{  }`},
		{"del absent", `{"a":1}`, func(o *Object) { o.Del("b") }, `{"a":1}`},
		{"move front", `{"b":2,"meta":{},"a":1,"id":"x"}`, func(o *Object) { o.MoveFront("id", "meta", "absent") }, `{"id":"x","meta":{},"b":2,"a":1}`},
		{"move front keeps the layout slots", pretty, func(o *Object) { o.MoveFront("intent") },
			"{\n  \"intent\": \"order\",\n  \"resourceType\": \"Task\",\n  \"status\": \"requested\"\n}"},
		{"compact layout keeps values", "\n{ \"a\" : [ 1 ],\n \"b\":2 }\n", func(o *Object) { o.CompactLayout() }, `{"a":[ 1 ],"b":2}`},
		{"key escaped on write", `{}`, func(o *Object) { o.Set(`q"<`, json.RawMessage(`1`)) }, `{"q\"\u003c":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &Object{}
			if tt.in != "" {
				var err error
				if o, err = ParseObject([]byte(tt.in)); err != nil {
					t.Fatal(err)
				}
			}
			tt.edit(o)
			got := o.Bytes()
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("after edit (-want +got):\n%s", diff)
			}
			if !json.Valid(got) {
				t.Errorf("not valid JSON: %s", got)
			}
		})
	}
}

// TestObjectEditKeepsSource: editing never writes into the parsed bytes.
func TestObjectEditKeepsSource(t *testing.T) {
	in := []byte(`{"a":1,"b":2,"c":3}`)
	keep := string(in)
	o, err := ParseObject(in)
	if err != nil {
		t.Fatal(err)
	}
	o.SetAfter("x", json.RawMessage(`"long value"`), "a")
	o.Del("c")
	o.MoveFront("b")
	o.Set("a", json.RawMessage(`[1,2,3]`))
	if string(in) != keep {
		t.Errorf("source changed: %s", in)
	}
	if got, want := string(o.Bytes()), `{"b":2,"a":[1,2,3],"x":"long value"}`; got != want {
		t.Errorf("Bytes = %s, want %s", got, want)
	}
}

func FuzzParseObject(f *testing.F) {
	for _, s := range []string{`{}`, ` {"a" : 1 ,"b":[2]} `, "{\n \"x\": {\"y\": null}\n}", `{"a":1,"a":2}`, `[1]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseObject([]byte(s))
		if err != nil {
			return
		}
		if got := string(o.Bytes()); got != s {
			t.Fatalf("Bytes() = %q, want the input %q", got, s)
		}
		keys := o.Keys()
		o.Set("new", json.RawMessage(`1`))
		if len(keys) > 0 {
			o.Del(keys[0])
			o.SetAfter("after", json.RawMessage(`{}`), keys[len(keys)-1])
			o.MoveFront(keys[len(keys)-1])
		}
		if out := o.Bytes(); !json.Valid(out) {
			t.Fatalf("edited %q into invalid JSON %q", s, out)
		}
		o.CompactLayout()
		if out := o.Bytes(); !json.Valid(out) {
			t.Fatalf("compacted %q into invalid JSON %q", s, out)
		}
	})
}

// FuzzParseObjectFast: whenever the fast parse takes an input, it gives the
// Object the json.Decoder parse gives, member by member and byte by byte.
func FuzzParseObjectFast(f *testing.F) {
	for _, s := range []string{`{}`, ` {"a" : 1 ,"b":[2]} `, "{\n \"x\": {\"y\": null}\n}\n", `{"a":1,"a":2}`, `[1]`,
		`{"s":"a\"b\\","n":-1.5e3,"t":true,"f":false,"z":null,"o":{"k":[1,{"q":"}"}]}}`, "\t{ }\r\n", `{"é":1}`, `{"a\u0062":1}`,
		`{"resourceType":"Patient","id":"p1","meta":{"versionId":"1"},"name":[{"family":"Doe","given":["J"]}]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fast, ok := parseObjectFast([]byte(s))
		slow, err := parseObjectDecoder([]byte(s))
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("fast parse took %q, the decoder refused it: %v", s, err)
		}
		if got, want := dumpObject(fast), dumpObject(slow); got != want {
			t.Fatalf("%q:\nfast %s\nslow %s", s, got, want)
		}
	})
}

// dumpObject writes every part of o, to compare two parses.
func dumpObject(o *Object) string {
	var b strings.Builder
	fmt.Fprintf(&b, "lead=%q inner=%q trail=%q", o.lead, o.inner, o.trail)
	for _, m := range o.members {
		fmt.Fprintf(&b, " [key=%q raw=%q value=%q pre=%q colon=%q post=%q]", m.key, m.raw, m.value, m.pre, m.colon, m.post)
	}
	return b.String()
}

// TestParseObjectFastTakesResources: the fast parse takes the official
// examples (so writes use it), and gives what the decoder gives.
func TestParseObjectFastTakesResources(t *testing.T) {
	files, err := filepath.Glob("../testdata/fhir-examples/r4/*.json")
	more, _ := filepath.Glob("../testdata/fhir-examples/sdoh-cc/json/*.json")
	files = append(files, more...)
	if err != nil || len(files) < 300 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fast, ok := parseObjectFast(data)
		if !ok {
			t.Errorf("%s: not taken by the fast parse", f)
			continue
		}
		slow, err := parseObjectDecoder(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if got, want := dumpObject(fast), dumpObject(slow); got != want {
			t.Errorf("%s: fast and decoder parses differ", f)
		}
	}
}

// BenchmarkParseObject: the fast parse against the decoder's, on an
// official example (Patient-example.json).
//
//	go test ./fhir -run '^$' -bench ParseObject
func BenchmarkParseObject(b *testing.B) {
	data, err := os.ReadFile("../testdata/fhir-examples/r4/Patient-example.json")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, ok := parseObjectFast(data); !ok {
				b.Fatal("not taken")
			}
		}
	})
	b.Run("decoder", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := parseObjectDecoder(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
