package mapping

import (
	"encoding/json"
	"testing"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

func TestCodeSystems(t *testing.T) {
	css, vss := CodeSystems(), ValueSets()
	terms := terminologies()
	if len(css) != len(terms) || len(vss) != len(terms) {
		t.Fatalf("got %d code systems and %d value sets, want %d each", len(css), len(vss), len(terms))
	}
	wantNames := []string{"need-domain", "prescription-form", "prescription-channel", "follow-up-channel", "follow-up-barrier",
		"follow-up-pursued", "follow-up-wellbeing", "follow-up-next-step", "follow-up-item", "loneliness-frequency", "promis-global-response", "task-output", "task-code"}
	for i, name := range wantNames {
		if terms[i].Name != name {
			t.Errorf("terminology %d = %s, want %s", i, terms[i].Name, name)
		}
	}
	for i, b := range css {
		d, issues := fhir.Decode(b, "CodeSystem")
		if fhir.HasErrors(issues) || len(issues) > 0 {
			t.Fatalf("%s: issues %+v", terms[i].Name, issues)
		}
		var cs struct {
			ID, URL, Name, Status, Content, ValueSet string
			Count                                    int
			Concept                                  []struct{ Code, Display string }
		}
		if err := json.Unmarshal(d.Body, &cs); err != nil {
			t.Fatal(err)
		}
		if cs.ID != terms[i].Name || cs.URL != socialrx.CodeSystemBase+terms[i].Name || cs.Status != "active" || cs.Content != "complete" ||
			cs.ValueSet != ValueSetBase+terms[i].Name || cs.Count != len(cs.Concept) || len(cs.Concept) == 0 {
			t.Errorf("%s: got %+v", terms[i].Name, cs)
		}
		seen := map[string]bool{}
		for _, c := range cs.Concept {
			if c.Code == "" || c.Display == "" || seen[c.Code] {
				t.Errorf("%s: bad concept %+v", terms[i].Name, c)
			}
			seen[c.Code] = true
		}
		if terms[i].Name == "need-domain" {
			for _, dom := range socialrx.AllNeedDomains() {
				if !seen[string(dom)] {
					t.Errorf("need-domain misses %s", dom)
				}
			}
		}
	}
	for i, b := range vss {
		_, issues := fhir.Decode(b, "ValueSet")
		if len(issues) > 0 {
			t.Fatalf("%s: issues %+v", terms[i].Name, issues)
		}
		var vs struct {
			URL, Status string
			Compose     struct{ Include []struct{ System string } }
		}
		if err := json.Unmarshal(b, &vs); err != nil {
			t.Fatal(err)
		}
		if vs.URL != "http://socialrx.dev/fhir/ValueSet/"+terms[i].Name || vs.Status != "active" ||
			len(vs.Compose.Include) != 1 || vs.Compose.Include[0].System != socialrx.CodeSystemBase+terms[i].Name {
			t.Errorf("%s: got %+v", terms[i].Name, vs)
		}
	}
}

func TestPascal(t *testing.T) {
	for in, want := range map[string]string{"need-domain": "NeedDomain", "task-code": "TaskCode", "x": "X"} {
		if got := pascal(in); got != want {
			t.Errorf("pascal(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOHIPFeeCodeSystem(t *testing.T) {
	var found []string
	for _, b := range CodeSystems() {
		var cs struct {
			URL     string
			Concept []struct{ Code string }
		}
		if err := json.Unmarshal(b, &cs); err != nil {
			t.Fatal(err)
		}
		if cs.URL != socialrx.OHIPFeeCodeSystem {
			continue
		}
		for _, c := range cs.Concept {
			found = append(found, c.Code)
		}
	}
	want := []string{"K005", "K013", "K030", "K033", "K037"} // the Ontario guide's codes
	if len(found) != len(want) {
		t.Fatalf("ohip-fee-code codes = %v, want %v", found, want)
	}
	for i := range want {
		if found[i] != want[i] || !socialrx.IsOHIPFeeCode(want[i]) {
			t.Errorf("code %d = %s, want %s (accepted: %v)", i, found[i], want[i], socialrx.IsOHIPFeeCode(want[i]))
		}
	}
	if socialrx.IsOHIPFeeCode("K999") || socialrx.IsOHIPFeeCode("k005") {
		t.Error("IsOHIPFeeCode accepts a code not in the list")
	}
}
