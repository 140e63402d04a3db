package fhir

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidateSchema(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []Issue
	}{
		{"valid", `{"resourceType":"Patient","birthDate":"1990-01-02","active":true}`, nil},
		{"wrong type for a field", `{"resourceType":"Patient","active":"yes"}`, []Issue{
			{Severity: "error", Code: "structure", Path: "Patient.active", Message: "expected a JSON boolean (type boolean)"},
		}},
		{"object where an array is", `{"resourceType":"Patient","name":{"family":"X"}}`, []Issue{
			{Severity: "error", Code: "structure", Path: "Patient.name", Message: "expected a JSON array"},
		}},
		{"unknown element", `{"resourceType":"Patient","nickname":"X"}`, []Issue{
			{Severity: "error", Code: "structure", Path: "Patient.nickname", Message: "unknown element"},
		}},
		{"bad date", `{"resourceType":"Patient","birthDate":"1990-13-01"}`, []Issue{
			{Severity: "error", Code: "value", Path: "Patient.birthDate", Message: "invalid date"},
		}},
		{"code outside a required value set", `{"resourceType":"Patient","gender":"f"}`, []Issue{
			{Severity: "error", Code: "code-invalid", Path: "Patient.gender", Message: "code not in the required value set (male, female, other, unknown)"},
		}},
		{"missing required element", `{"resourceType":"Observation","status":"final"}`, []Issue{
			{Severity: "error", Code: "required", Path: "Observation.code", Message: "required element is missing"},
		}},
		{"missing resourceType", `{"birthDate":"1990-01-02"}`, []Issue{
			{Severity: "error", Code: "required", Message: "resourceType is missing"},
		}},
		{"unknown resourceType", `{"resourceType":"Patientx"}`, []Issue{
			{Severity: "error", Code: "not-supported", Message: "unknown resource type"},
		}},
		{"Medplum type is not R4", `{"resourceType":"Project","name":"x"}`, []Issue{
			{Severity: "error", Code: "not-supported", Message: "unknown resource type"},
		}},
		{"Medplum element is not R4", `{"resourceType":"Patient","meta":{"project":"x"}}`, []Issue{
			{Severity: "error", Code: "structure", Path: "Patient.meta.project", Message: "unknown element"},
		}},
		{"invalid JSON", `{"resourceType":`, []Issue{
			{Severity: "error", Code: "structure", Message: "invalid JSON"},
		}},
		{"not an object", `[1]`, []Issue{
			{Severity: "error", Code: "structure", Message: "a resource must be a JSON object"},
		}},
		{"primitive extension", `{"resourceType":"Patient","_birthDate":{"extension":[{"url":"u","valueBoolean":"no"}]}}`, []Issue{
			{Severity: "error", Code: "structure", Path: "Patient.birthDate.extension[0].valueBoolean", Message: "expected a JSON boolean"},
		}},
		{"primitive extension of a canonical (missing from HL7's schema)", `{"resourceType":"QuestionnaireResponse","status":"completed","questionnaire":"http://x/Q","_questionnaire":{"extension":[{"url":"u","valueString":"Q"}]}}`, nil},
		{"contained", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","active":1}]}`, []Issue{
			{Severity: "error", Code: "structure", Path: "Patient.contained[0].active", Message: "expected a JSON boolean (type boolean)"},
		}},
		// HL7's schema gives complex types no "type": "object", so it takes
		// a string for a Reference; Decode refuses it (see TestValidate).
		{"string for a Reference passes the schema", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":"Patient/1"}`, nil},
		{"invalid element inside a Bundle entry", `{"resourceType":"Bundle","type":"collection","entry":[
			{"resource":{"resourceType":"Patient"}},
			{"resource":{"resourceType":"Patient"}},
			{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":1}}}]}`, []Issue{
			{Severity: "error", Code: "structure", Path: "Bundle.entry[2].resource.subject.reference", Message: "expected a JSON string (type string)"},
		}},
		{"entries in numeric order, no oneOf noise", `{"resourceType":"Bundle","type":"collection","entry":[
			{"resource":{"resourceType":"Patient","gender":"f"}},{},{},{},{},{},{},{},{},{},
			{"resource":{"resourceType":"Patient","birthDate":"x"}},
			{"resource":{"resourceType":"Nope"}},
			{"resource":{"id":"x"}}]}`, []Issue{
			{Severity: "error", Code: "code-invalid", Path: "Bundle.entry[0].resource.gender", Message: "code not in the required value set (male, female, other, unknown)"},
			{Severity: "error", Code: "value", Path: "Bundle.entry[10].resource.birthDate", Message: "invalid date"},
			{Severity: "error", Code: "not-supported", Path: "Bundle.entry[11].resource", Message: "unknown resource type"},
			{Severity: "error", Code: "required", Path: "Bundle.entry[12].resource", Message: "resourceType is missing"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ValidateSchema([]byte(tt.body))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ValidateSchema (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantType string
		want     []Issue
	}{
		{"valid", `{"resourceType":"Patient","birthDate":"1990-01-02"}`, "Patient", nil},
		{"bad date once, not twice", `{"resourceType":"Patient","birthDate":"1990-13-01"}`, "", []Issue{
			{Severity: "error", Code: "value", Path: "Patient.birthDate", Message: "invalid date"},
		}},
		{"unknown element: Decode's warning becomes the schema's error", `{"resourceType":"Patient","nickname":"X"}`, "", []Issue{
			{Severity: "error", Code: "structure", Path: "Patient.nickname", Message: "unknown element"},
		}},
		{"string for a Reference: Decode refuses it", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":"Patient/1"}`, "", []Issue{
			{Severity: "error", Code: "structure", Path: "Observation.subject", Message: "expected a JSON object (type Reference)"},
		}},
		{"missing required element: Decode's issue", `{"resourceType":"Observation","status":"final"}`, "Observation", []Issue{
			{Severity: "error", Code: "required", Path: "Observation.code", Message: "required element is missing (min 1 in R4)"},
		}},
		{"missing resourceType", `{"birthDate":"1990-01-02"}`, "Patient", []Issue{
			{Severity: "error", Code: "required", Path: "Patient", Message: "resourceType is missing"},
		}},
		{"type differs from the wanted one", `{"resourceType":"Patient"}`, "Observation", []Issue{
			{Severity: "error", Code: "invalid", Path: "Patient", Message: "resourceType Patient does not match Observation"},
		}},
		{"type not held by the server", `{"resourceType":"Medication"}`, "", []Issue{
			{Severity: "error", Code: "not-supported", Path: "Medication", Message: "resource type Medication is not supported by this server"},
		}},
		{"malformed JSON: Decode's issue only", `{"resourceType":"Patient",`, "Patient", func() []Issue {
			_, issues := Decode([]byte(`{"resourceType":"Patient",`), "Patient")
			return issues
		}()},
		{"collection Bundle of any R4 types", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Medication"}}]}`, "", nil},
		{"invalid element inside a Bundle entry", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient"}},{"resource":{"resourceType":"Patient","active":"yes","foo":1}}]}`, "", []Issue{
			{Severity: "error", Code: "structure", Path: "Bundle.entry[1].resource.active", Message: "expected a JSON boolean (type boolean)"},
			{Severity: "error", Code: "structure", Path: "Bundle.entry[1].resource.foo", Message: "unknown element"},
		}},
		{"transaction: entry type not held, missing request", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Medication"},"request":{"method":"POST","url":"Medication"}},{"resource":{"resourceType":"Patient"}}]}`, "", []Issue{
			{Severity: "error", Code: "not-supported", Path: "Bundle.entry[0].resource", Message: "resource type Medication is not supported by this server"},
			{Severity: "error", Code: "required", Path: "Bundle.entry[1].request", Message: "a transaction entry needs a request"},
		}},
		{"Bundle at a type endpoint", `{"resourceType":"Bundle","type":"collection"}`, "Patient", []Issue{
			{Severity: "error", Code: "not-supported", Path: "Bundle", Message: "resource type Bundle is not supported by this server"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Validate([]byte(tt.body), tt.wantType)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateRules(t *testing.T) {
	var calls []string
	rule := func(typ string, body []byte) []Issue {
		calls = append(calls, typ)
		return []Issue{{Severity: "warning", Code: "business-rule", Path: typ + ".subject", Message: "no subject"}}
	}
	other := func(typ string, body []byte) []Issue {
		return []Issue{{Severity: "error", Code: "business-rule", Path: typ + ".subject", Message: "subject must be a Patient"}}
	}
	got := Validate([]byte(`{"resourceType":"Task","status":"draft","intent":"order"}`), "Task", rule, other)
	want := []Issue{{Severity: "error", Code: "business-rule", Path: "Task.subject", Message: "subject must be a Patient"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Validate with rules (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Task"}, calls); diff != "" {
		t.Errorf("rule calls (-want +got):\n%s", diff)
	}

	calls = nil
	got = Validate([]byte(`{"resourceType":"Task","status":"nope","intent":"order"}`), "Task", rule)
	if len(calls) != 0 || !HasErrors(got) {
		t.Errorf("on an invalid resource: rule called %v times, issues %+v; want no call and the schema error", calls, got)
	}
}

// TestSchemaCorrections pins what CompileSchema changes in HL7's schema
// besides removing Medplum's additions: the "_x" members of canonical
// elements, and nothing else.
func TestSchemaCorrections(t *testing.T) {
	doc, resourceTypes, err := loadSchema(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(resourceTypeNames[:], slices.Sorted(maps.Keys(resourceTypes))); diff != "" {
		t.Errorf("schema resource types vs the element table (-table +schema):\n%s", diff)
	}
	vendored, _, err := loadVendored()
	if err != nil {
		t.Fatal(err)
	}
	var added []string
	kinds := map[string]int{}
	defs := doc["definitions"].(map[string]any)
	for name, def := range defs {
		props, _ := def.(map[string]any)["properties"].(map[string]any)
		orig, _ := vendored[name].(map[string]any)["properties"].(map[string]any)
		for p := range props {
			if _, ok := orig[p]; !ok {
				added = append(added, name+"."+p)
				e, _ := LookupElement(name, p[1:])
				kinds[e.Type]++
			}
		}
	}
	if diff := cmp.Diff(map[string]int{"canonical": 72}, kinds); diff != "" {
		t.Errorf("types of the elements given a \"_x\" member (-want +got):\n%s\n%v", diff, added)
	}
	if !slices.Contains(added, "QuestionnaireResponse._questionnaire") || !slices.Contains(added, "Meta._profile") {
		t.Errorf("added %v, want QuestionnaireResponse._questionnaire and Meta._profile among them", added)
	}
}

// loadVendored parses the vendored schema's definitions as they are.
func loadVendored() (map[string]any, []string, error) {
	var doc struct {
		Definitions map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(schemaFile, &doc); err != nil {
		return nil, nil, err
	}
	order, err := definitionOrder(schemaFile)
	return doc.Definitions, order, err
}

// TestValidateSchemaConcurrent runs ValidateSchema from many goroutines
// (go test -race checks the compiled schema is shared safely).
func TestValidateSchemaConcurrent(t *testing.T) {
	bodies := [][]byte{
		[]byte(`{"resourceType":"Patient","birthDate":"1990-13-01"}`),
		[]byte(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","active":1}}]}`),
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for range 20 {
				if len(ValidateSchema(bodies[g%2])) != 1 {
					t.Error("want one issue")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestFHIRPath(t *testing.T) {
	tests := []struct {
		tokens []string
		want   string
	}{
		{nil, "Patient"},
		{[]string{"entry", "2", "resource", "subject"}, "Patient.entry[2].resource.subject"},
		{[]string{"_birthDate", "extension", "0", "url"}, "Patient.birthDate.extension[0].url"},
		{[]string{"name", "0", "_given", "1"}, "Patient.name[0].given[1]"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, fhirPath("Patient", tt.tokens)); diff != "" {
			t.Errorf("fhirPath(%q) (-want +got):\n%s", tt.tokens, diff)
		}
	}
}

func TestComparePaths(t *testing.T) {
	got := []string{"B.entry[10].x", "B.entry[2].y", "B.entry[2].x", "B", "B.entry[02].a", "B.entry[1]"}
	slices.SortStableFunc(got, comparePaths)
	want := []string{"B", "B.entry[1]", "B.entry[02].a", "B.entry[2].x", "B.entry[2].y", "B.entry[10].x"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sorted paths (-want +got):\n%s", diff)
	}
}

// TestValidateExamples: Validate finds no error in the official examples of
// the types this server holds, nor in the example Bundles, except the
// known defect of the one invalid example.
func TestValidateExamples(t *testing.T) {
	for _, f := range exampleFiles(t) {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Base(f)
		typ, _, _ := strings.Cut(base, "-")
		if !Supported(typ) && typ != "Bundle" {
			continue
		}
		checkExampleIssues(t, f, Validate(body, ""))
	}
}

// TestValidateNoPHI: issues name paths and types, never the values sent.
func TestValidateNoPHI(t *testing.T) {
	const secret = "Zx9secret"
	body := `{"resourceType":"Patient","birthDate":"` + secret + `","gender":"` + secret + `","active":"` + secret + `",
		"name":[{"family":1,"given":["` + secret + `"]}],"contained":[{"resourceType":"` + secret + `"}],
		"telecom":[{"system":"` + secret + `","value":"` + secret + `\u0001"}]}`
	issues := Validate([]byte(body), "")
	if !HasErrors(issues) {
		t.Fatal("want errors")
	}
	for _, i := range issues {
		if strings.Contains(i.Message, secret) || strings.Contains(i.Path, secret) {
			t.Errorf("issue shows a value: %+v", i)
		}
	}
}

// FuzzValidate: Validate never panics and every issue has a severity and a
// code.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Patient","birthDate":"1990-13-01"}`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","active":1}}]}`,
		`{"resourceType":"Parameters","parameter":[{"name":"x","resource":{"resourceType":"Nope"}}]}`,
		`[]`, `null`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, i := range Validate(body, "") {
			if i.Severity == "" || i.Code == "" {
				t.Fatalf("issue without severity or code: %+v", i)
			}
		}
	})
}
