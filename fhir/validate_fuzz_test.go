package fhir

import (
	"os"
	"strings"
	"testing"
)

// FuzzDecode: Decode never panics; every error issue names a path or is
// about the whole document; Decoded is set exactly when there is no error;
// and References/RewriteReferences accept whatever Decode accepts.
func FuzzDecode(f *testing.F) {
	for _, file := range exampleFiles(f) {
		body, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	for _, s := range []string{
		``, `{`, `[]`, `null`, `{"resourceType":"Patient","id":"a","id":"b"}`,
		`{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,{"id":"x"}]}]}`,
		`{"resourceType":"Patient","gender":"\u0000"}`, `{"resourceType":"Patient","x":"\ud800"}`,
		`{"resourceType":"Observation","status":"final","code":{},"valueInteger":1e99}`,
		`{"resourceType":"Observation","contained":[{"resourceType":"Patient","contained":[{}]}]}`,
		`{"resourceType":"Patient","managingOrganization":{"reference":"Organization?"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, issues := Decode(body, "")
		if HasErrors(issues) == (d != nil) {
			t.Fatalf("Decoded %v with issues %+v", d, issues)
		}
		for _, i := range issues {
			if i.Severity != "error" {
				continue
			}
			whole := strings.HasPrefix(i.Message, "invalid JSON") || i.Message == "a resource must be a JSON object" ||
				strings.HasPrefix(i.Message, "resourceType") || i.Message == "unknown resource type"
			if i.Path == "" && !whole {
				t.Errorf("error issue without a path: %+v", i)
			}
		}
		if d != nil {
			if _, err := References(body); err != nil {
				t.Errorf("References: %v", err)
			}
			out, err := RewriteReferences(body, func(s string) (string, bool) { return s + "x", true })
			if err != nil {
				t.Fatalf("RewriteReferences: %v", err)
			}
			if _, err := parseTree(out); err != nil {
				t.Errorf("RewriteReferences made invalid JSON: %v", err)
			}
		}
	})
}

// FuzzParseReference: ParseReference never panics, and what it accepts
// writes back to the same string (absolute and urn keep the input in URL).
func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"Patient/1", "Patient/1/_history/2", "http://x/Patient/1", "urn:uuid:c757873d-ec9a-4326-a141-556f43239520",
		"urn:oid:1.2.3", "#a", "#", "Patient?identifier=a|b", "", "a:b", "Patient/1/_history/", "urn:oid:1.", "http://x/Patient/1/_history/2?x#y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReference(s)
		if err != nil {
			return
		}
		if r.String() != s {
			t.Errorf("ParseReference(%q).String() = %q", s, r.String())
		}
		if (r.Kind == RefRelative || r.Kind == RefConditional) && !Known(r.Type) {
			t.Errorf("ParseReference(%q): unknown type %q", s, r.Type)
		}
		if r.ID != "" && !ValidID(r.ID) {
			t.Errorf("ParseReference(%q): invalid id %q", s, r.ID)
		}
	})
}
