package fhir

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseReference(t *testing.T) {
	tests := []struct {
		in   string
		want Reference
		err  bool
	}{
		{in: "Patient/123", want: Reference{Kind: RefRelative, Type: "Patient", ID: "123"}},
		{in: "Patient/123/_history/2", want: Reference{Kind: RefRelative, Type: "Patient", ID: "123", Version: "2"}},
		{in: "http://x/fhir/Patient/1", want: Reference{Kind: RefAbsolute, Type: "Patient", ID: "1", URL: "http://x/fhir/Patient/1"}},
		{in: "https://x/fhir/Patient/1/_history/3", want: Reference{Kind: RefAbsolute, Type: "Patient", ID: "1", Version: "3", URL: "https://x/fhir/Patient/1/_history/3"}},
		{in: "http://x/other/thing", want: Reference{Kind: RefAbsolute, URL: "http://x/other/thing"}},
		{in: "urn:uuid:c757873d-ec9a-4326-a141-556f43239520", want: Reference{Kind: RefURN, URL: "urn:uuid:c757873d-ec9a-4326-a141-556f43239520"}},
		{in: "urn:oid:1.2.3.4", want: Reference{Kind: RefURN, URL: "urn:oid:1.2.3.4"}},
		{in: "#p1", want: Reference{Kind: RefContained, ID: "p1"}},
		{in: "#", want: Reference{Kind: RefContained}},
		{in: "Patient?identifier=a|b", want: Reference{Kind: RefConditional, Type: "Patient", Query: "identifier=a|b"}},
		{in: "", err: true},
		{in: "Patient", err: true},
		{in: "Patient/", err: true},
		{in: "Patient/a b", err: true},
		{in: "Foo/1", err: true},
		{in: "Patient/1/_history", err: true},
		{in: "Patient/1/2", err: true},
		{in: "#a b", err: true},
		{in: "urn:uuid:123", err: true},
		{in: "urn:oid:9.1", err: true},
		{in: "Foo?x=1", err: true},
		{in: "Patient?", err: true},
		{in: "Patient/1\u0000", err: true},
	}
	for _, tt := range tests {
		got, err := ParseReference(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("ParseReference(%q) error = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseReference(%q) (-want +got)\n%s", tt.in, diff)
		}
		if err == nil && tt.want.Kind != RefAbsolute && tt.want.Kind != RefURN && got.String() != tt.in {
			t.Errorf("ParseReference(%q).String() = %q, want the input", tt.in, got.String())
		}
		if err != nil && tt.in != "" && strings.Contains(err.Error(), tt.in) {
			t.Errorf("ParseReference(%q) error %q repeats the input", tt.in, err)
		}
	}
}

const refDoc = `{"resourceType":"Observation","status":"final",
  "code":{"text":"c"},
  "contained":[{"resourceType":"Patient","id":"p","managingOrganization":{"reference":"Organization/o1"}}],
  "subject":{"reference":"urn:uuid:c757873d-ec9a-4326-a141-556f43239520","display":"x"},
  "performer":[{"reference":"#p"},{"display":"no reference"},{"reference":"Practitioner/pr1"}],
  "valueQuantity":{"value":1.50,"unit":"kg"},
  "extension":[{"url":"http://x","valueReference":{"reference":"Patient/ext"}}],
  "_status":{"extension":[{"url":"http://y","valueReference":{"reference":"Patient/prim"}}]},
  "unknownThing":{"deep":[{"reference":"Patient/shape"}]}
}`

func TestReferences(t *testing.T) {
	got, err := References([]byte(refDoc))
	if err != nil {
		t.Fatal(err)
	}
	want := []RefSite{
		{Path: "Observation.contained[0].managingOrganization", Reference: "Organization/o1"},
		{Path: "Observation.subject", Reference: "urn:uuid:c757873d-ec9a-4326-a141-556f43239520"},
		{Path: "Observation.performer[0]", Reference: "#p"},
		{Path: "Observation.performer[2]", Reference: "Practitioner/pr1"},
		{Path: "Observation.extension[0].valueReference", Reference: "Patient/ext"},
		{Path: "Observation.status.extension[0].valueReference", Reference: "Patient/prim"},
		{Path: "Observation.unknownThing.deep[0]", Reference: "Patient/shape"},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(RefSite{}), cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".node" }, cmp.Ignore())); diff != "" {
		t.Errorf("References (-want +got)\n%s", diff)
	}
	if _, err := References([]byte(`{"a":`)); err == nil {
		t.Error("References of invalid JSON: no error")
	}
}

func TestRewriteReferences(t *testing.T) {
	got, err := RewriteReferences([]byte(refDoc), func(ref string) (string, bool) {
		switch ref {
		case "urn:uuid:c757873d-ec9a-4326-a141-556f43239520":
			return "Patient/new", true
		case "Practitioner/pr1":
			return `Practitioner/<&"x">`, true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(refDoc, `"urn:uuid:c757873d-ec9a-4326-a141-556f43239520"`, `"Patient/new"`, 1)
	want = strings.Replace(want, `"Practitioner/pr1"`, `"Practitioner/<&\"x\">"`, 1)
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("RewriteReferences (-want +got)\n%s", diff)
	}
}

// TestRewriteReferencesUnchanged: when fn changes nothing, every example
// comes back byte for byte; when it returns the same string, too.
func TestRewriteReferencesUnchanged(t *testing.T) {
	for _, f := range exampleFiles(t) {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, fn := range []func(string) (string, bool){
			func(string) (string, bool) { n++; return "", false },
			func(s string) (string, bool) { return s, true },
		} {
			got, err := RewriteReferences(body, fn)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if string(got) != string(body) {
				t.Errorf("%s: RewriteReferences changed the document", f)
			}
		}
		sites, _ := References(body)
		if n != len(sites) {
			t.Errorf("%s: fn called %d times, want %d (one per reference)", f, n, len(sites))
		}
	}
}

func TestSplitRef(t *testing.T) {
	long := strings.Repeat("a", 64)
	for _, c := range []struct {
		ref, typ, id string
		ok           bool
	}{
		{"Patient/p1", "Patient", "p1", true},
		{"HealthcareService/legal-aid.2", "HealthcareService", "legal-aid.2", true},
		{"Unknowntype/x", "Unknowntype", "x", true}, // the form only; Known tells the R4 types
		{"Patient/" + long, "Patient", long, true},
		{"Patient/" + long + "a", "", "", false}, // id over 64 characters
		{"Patient/", "", "", false},
		{"/p1", "", "", false},
		{"Patient", "", "", false},
		{"", "", "", false},
		{"Patient/p1/_history/2", "", "", false},
		{"http://example.org/fhir/Patient/p1", "", "", false},
		{"urn:uuid:6f1c5f4e-2b9a-4c1d-9a51-1f0c2f3e4d5a", "", "", false},
		{"#p1", "", "", false},
		{"Patient?identifier=a|b", "", "", false},
		{"patient/p1", "", "", false},
		{"Pat ient/p1", "", "", false},
		{"Patient/p 1", "", "", false},
		{"Patient/p_1", "", "", false},
		{"urn:x/y", "", "", false},
	} {
		typ, id, ok := SplitRef(c.ref)
		if typ != c.typ || id != c.id || ok != c.ok {
			t.Errorf("SplitRef(%q) = %q, %q, %v; want %q, %q, %v", c.ref, typ, id, ok, c.typ, c.id, c.ok)
		}
	}
}
