package search

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestUnionDecls fails when a declared union parameter does not hold for
// the R4 expressions (it would be indexed in full, and searched alone), and
// shows what each one reads.
func TestUnionDecls(t *testing.T) {
	if bad := searchParamRegistry().badUnions; len(bad) > 0 {
		t.Errorf("union declarations that do not hold: %v", bad)
	}
	want := map[string][]string{
		"Location.address":         {"address", "address-city", "address-country", "address-postalcode", "address-state"},
		"Organization.address":     {"address", "address-city", "address-country", "address-postalcode", "address-state"},
		"Patient.address":          {"address", "address-city", "address-country", "address-postalcode", "address-state"},
		"Practitioner.address":     {"address", "address-city", "address-country", "address-postalcode", "address-state"},
		"Patient.name":             {"name", "family", "given"},
		"Practitioner.name":        {"name", "family", "given"},
		"Patient.phonetic":         {"phonetic", "family", "given", "name"},
		"Practitioner.phonetic":    {"phonetic", "family", "given", "name"},
		"Organization.name":        {"name", "phonetic"},
		"Organization.phonetic":    {"phonetic"},
		"Location.name":            {"name"},
		"HealthcareService.name":   {"name"},
		"Patient.family":           {"family"},
		"Location.address-city":    {"address-city"},
		"AuditEvent.address":       {"address"},
		"PractitionerRole.service": {"service"},
	}
	for key, w := range want {
		typ, name, _ := strings.Cut(key, ".")
		p, ok := LookupParam(typ, name)
		if !ok {
			t.Errorf("%s: not served", key)
			continue
		}
		if diff := cmp.Diff(w, p.IndexParams()); diff != "" {
			t.Errorf("%s IndexParams (-want +got):\n%s", key, diff)
		}
	}
}

// TestCheckUnion: declarations the expressions do not support are refused.
func TestCheckUnion(t *testing.T) {
	for _, d := range []unionDecl{
		{types: []string{"Patient"}, name: "address", shape: "Address", parts: []string{"address-use"}},    // a token
		{types: []string{"Patient"}, name: "address", shape: "HumanName", parts: []string{"address-city"}}, // city is no HumanName member
		{types: []string{"Patient"}, name: "name", parts: []string{"family"}},                              // no shape: family is not a branch of name
		{types: []string{"Location"}, name: "name", parts: []string{"address-city"}},
		{types: []string{"Organization"}, name: "phonetic", parts: []string{"name"}}, // name | alias is more than phonetic
		{types: []string{"Patient"}, name: "gender", parts: []string{"name"}},
		{types: []string{"Patient"}, name: "name", shape: "HumanName", parts: []string{"nothing"}},
	} {
		if err := checkUnion(typeSearchParams(d.types[0]), d); err == nil {
			t.Errorf("checkUnion(%s.%s = %v) holds, want it refused", d.types[0], d.name, d.parts)
		}
	}
}

// TestIndexUnionNoDuplicates: a Patient's address and name rows no longer
// repeat the values of address-*, family and given, and phonetic has none.
func TestIndexUnionNoDuplicates(t *testing.T) {
	body := []byte(`{"resourceType":"Patient",
	"name":[{"text":"Dr Marie Ève Tremblay","prefix":["Dr"],"family":"Tremblay","given":["Marie","Ève"]},{"text":"Roy","family":"Roy"}],
	"address":[{"line":["12 Rue Principale"],"district":"Ville-Marie","city":"Montréal","state":"QC","postalCode":"H2X 1Y4","country":"CA"},
	           {"text":"QC","city":"Ottawa"}]}`)
	entries, err := Index("Patient", body)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, e := range entries {
		if e.Type == ParamString {
			got[e.Param] = append(got[e.Param], e.Exact)
		}
	}
	want := map[string][]string{
		"address":            {"12 Rue Principale", "Ville-Marie"}, // "QC" (text) is address-state's
		"address-city":       {"Montréal", "Ottawa"},
		"address-country":    {"CA"},
		"address-postalcode": {"H2X 1Y4"},
		"address-state":      {"QC"},
		"family":             {"Tremblay", "Roy"},
		"given":              {"Marie", "Ève"},
		"name":               {"Dr Marie Ève Tremblay", "Dr"}, // "Roy" (text) is family's
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("string entries (-want +got):\n%s", diff)
	}
}

// TestIndexUnionExact: on every R4 example (and some odd JSON), the rows
// of a union parameter together with its parts' hold exactly the values
// the parameter held on its own, and no other parameter changes.
func TestIndexUnionExact(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(exampleDir(t), "*.json"))
	n := 0
	for _, file := range files {
		typ, _, _ := strings.Cut(filepath.Base(file), "-")
		if tp := typeSearchParams(typ); tp == nil || !tp.unions {
			continue
		}
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		checkUnionExact(t, typ, body)
		n++
	}
	if n < 10 {
		t.Errorf("only %d examples of the union types", n)
	}
	for _, body := range []string{
		`{"address":[{"text":"a","city":["b","c"],"line":"d","given":["e"]},{"city":{"family":"f","given":["g"]}},"h",[{"city":"i"}]]}`,
		`{"name":[{"family":"a","city":"b","line":["c"]},{"text":"d","line":["e"]},{"given":[{"text":"f"},null,"g"]},"h"]}`,
		`{"address":{"city":"a"},"name":{"family":"b","given":"c"}}`,
		`{"name":[{"text":"A","family":"a"},{"family":"A"}],"address":[{"city":"X","state":"X","text":"x"}]}`,
	} {
		for _, typ := range []string{"Patient", "Practitioner", "Organization", "Location"} {
			checkUnionExact(t, typ, []byte(`{"resourceType":"`+typ+`",`+body[1:]))
		}
	}
}

// FuzzIndexUnion checks the TestIndexUnionExact property on any body.
func FuzzIndexUnion(f *testing.F) {
	f.Add("Patient", []byte(`{"name":[{"text":"A","family":"a"}],"address":[{"city":"X","text":"X"}]}`))
	f.Add("Organization", []byte(`{"name":"A","alias":["A","b"]}`))
	f.Fuzz(func(t *testing.T, typ string, body []byte) {
		if tp := typeSearchParams(typ); tp != nil && tp.unions {
			checkUnionExact(t, typ, body)
		}
	})
}

type strVal struct{ value, exact string }

// checkUnionExact compares Index with the entries of the same type's
// parameters indexed without pruning.
func checkUnionExact(t *testing.T, typ string, body []byte) {
	t.Helper()
	tp := typeSearchParams(typ)
	full := *tp
	full.unions = false // index() prunes nothing
	allPacked, err := index(&full, body)
	if err != nil {
		return
	}
	all := allPacked.All()
	prunedPacked, err := index(tp, body)
	if err != nil {
		t.Fatalf("%s: pruned index fails (%v) where the full one does not", typ, err)
	}
	pruned := prunedPacked.All()
	values := func(es []IndexEntry, params ...string) []strVal {
		var out []strVal
		for _, e := range es {
			if slices.Contains(params, e.Param) && !slices.Contains(out, strVal{e.Value, e.Exact}) {
				out = append(out, strVal{e.Value, e.Exact})
			}
		}
		sort.Slice(out, func(i, j int) bool {
			return out[i].value < out[j].value || out[i].value == out[j].value && out[i].exact < out[j].exact
		})
		return out
	}
	for _, p := range tp.list {
		switch {
		case len(p.Union) == 0:
			var a, b []IndexEntry
			for _, e := range all {
				if e.Param == p.Name {
					a = append(a, e)
				}
			}
			for _, e := range pruned {
				if e.Param == p.Name {
					b = append(b, e)
				}
			}
			if diff := cmp.Diff(a, b); diff != "" {
				t.Errorf("%s %s: entries changed (-full +pruned):\n%s\nbody %s", typ, p.Name, diff, body)
			}
		default:
			if diff := cmp.Diff(values(all, p.Name), values(pruned, p.IndexParams()...), cmp.AllowUnexported(strVal{})); diff != "" {
				t.Errorf("%s %s: the union differs from the full values (-full +union):\n%s\nbody %s", typ, p.Name, diff, body)
			}
			for _, v := range values(pruned, p.Name) {
				if slices.Contains(values(pruned, p.Union...), v) {
					t.Errorf("%s %s: %q is written for it and for a part", typ, p.Name, v.exact)
				}
			}
		}
	}
}
