package httpapi_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx/adapter/httpapi"
	"github.com/socialrx/socialrx/fhir"
)

func TestValidateOperation(t *testing.T) {
	rule := func(typ string, body []byte) []fhir.Issue {
		if typ != "Task" {
			return nil
		}
		return []fhir.Issue{{Severity: "warning", Code: "business-rule", Path: "Task.focus", Message: "a social prescription Task needs a focus"}}
	}
	ts := newServer(t, httpapi.Config{Rules: []fhir.Rule{rule}})
	passed := fhir.Issue{Severity: "information", Code: "informational", Message: "validation passed"}
	const badPatient = `{"resourceType":"Patient","birthDate":"1990-13-01","active":"yes"}`
	badIssues := []fhir.Issue{
		{Severity: "error", Code: "structure", Path: "Patient.active", Message: "expected a JSON boolean (type boolean)"},
		{Severity: "error", Code: "value", Path: "Patient.birthDate", Message: "invalid date"},
	}

	tests := []struct {
		name   string
		path   string
		body   string
		status int
		want   []fhir.Issue
	}{
		{"valid resource", "/fhir/Patient/$validate", `{"resourceType":"Patient","birthDate":"1990-01-02"}`, 200, []fhir.Issue{passed}},
		{"valid resource, system level", "/fhir/$validate", `{"resourceType":"Patient"}`, 200, []fhir.Issue{passed}},
		{"invalid resource is still 200", "/fhir/Patient/$validate", badPatient, 200, badIssues},
		{"invalid resource in Parameters", "/fhir/$validate",
			`{"resourceType":"Parameters","parameter":[{"name":"resource","resource":` + badPatient + `}]}`, 200, badIssues},
		{"Parameters with mode and profile", "/fhir/Patient/$validate",
			`{"resourceType":"Parameters","parameter":[{"name":"mode","valueCode":"create"},{"name":"profile","valueUri":"http://example.org/p"},{"name":"resource","resource":{"resourceType":"Patient"}}]}`, 200,
			[]fhir.Issue{
				{Severity: "information", Code: "informational", Message: "validated for mode create (the checks are the same for every mode)"},
				{Severity: "information", Code: "not-supported", Message: "profiles are not supported: validated against the base R4 specification only"},
				passed,
			}},
		{"mode and profile in the query", "/fhir/Patient/$validate?mode=update&profile=http://example.org/p", `{"resourceType":"Patient"}`, 200,
			[]fhir.Issue{
				{Severity: "information", Code: "informational", Message: "validated for mode update (the checks are the same for every mode)"},
				{Severity: "information", Code: "not-supported", Message: "profiles are not supported: validated against the base R4 specification only"},
				passed,
			}},
		{"rules run, warnings kept", "/fhir/Task/$validate", `{"resourceType":"Task","status":"draft","intent":"order"}`, 200, []fhir.Issue{
			{Severity: "warning", Code: "business-rule", Path: "Task.focus", Message: "a social prescription Task needs a focus"},
			passed,
		}},
		{"wrong type for the URL", "/fhir/Observation/$validate", `{"resourceType":"Patient"}`, 200, []fhir.Issue{
			{Severity: "error", Code: "invalid", Path: "Patient", Message: "resourceType Patient does not match Observation"},
		}},
		{"Bundle, invalid entry", "/fhir/$validate", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient"}},{"resource":{"resourceType":"Patient","gender":"f"}}]}`, 200, []fhir.Issue{
			{Severity: "error", Code: "code-invalid", Path: "Bundle.entry[1].resource.gender", Message: "code not in the required value set http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1 (male, female, other, unknown)"},
		}},
		{"missing required element", "/fhir/$validate", `{"resourceType":"Communication"}`, 200, []fhir.Issue{
			{Severity: "error", Code: "required", Path: "Communication.status", Message: "required element is missing (min 1 in R4)"},
		}},
		{"every issue of the resource", "/fhir/Task/$validate", `{"resourceType":"Task","status":"bogus","input":[{"type":{"text":"x"}}]}`, 200, []fhir.Issue{
			{Severity: "error", Code: "required", Path: "Task.input[0].value[x]", Message: "required element is missing: one of its types must be present (min 1 in R4)"},
			{Severity: "error", Code: "required", Path: "Task.intent", Message: "required element is missing (min 1 in R4)"},
			{Severity: "error", Code: "code-invalid", Path: "Task.status", Message: "code not in the required value set http://hl7.org/fhir/ValueSet/task-status|4.0.1 (draft, requested, received, accepted, rejected, ready, cancelled, in-progress, on-hold, failed, …)"},
		}},
		{"malformed JSON is 400", "/fhir/Patient/$validate", `{"resourceType":"Patient",`, 400, nil},
		{"malformed JSON, system level", "/fhir/$validate", `{`, 400, nil},
		{"empty body", "/fhir/$validate", ``, 400, nil},
		{"Parameters without resource", "/fhir/$validate", `{"resourceType":"Parameters","parameter":[{"name":"mode","valueCode":"create"}]}`, 400, []fhir.Issue{
			{Severity: "error", Code: "invalid", Path: "Parameters.parameter", Message: "Parameters needs a parameter named resource"},
		}},
		{"unknown mode", "/fhir/$validate?mode=upsert", `{"resourceType":"Patient"}`, 400, []fhir.Issue{
			{Severity: "error", Code: "invalid", Path: "Parameters.parameter", Message: "mode must be create, update or delete"},
		}},
		{"type not held", "/fhir/Medication/$validate", `{"resourceType":"Medication"}`, 404, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, "POST", tt.path, tt.body).want(t, tt.status)
			got := fhir.OutcomeIssues(r.body)
			if got == nil {
				t.Fatalf("want an OperationOutcome, got %s", r.body)
			}
			if tt.want == nil {
				if !fhir.HasErrors(got) {
					t.Errorf("want error issues, got %+v", got)
				}
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("issues (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateInCapabilityStatement(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	m := ts.do(t, "GET", "/fhir/metadata", "").want(t, http.StatusOK).json(t)
	rest := m["rest"].([]any)[0].(map[string]any)
	want := []any{
		map[string]any{"name": "validate", "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate"},
		map[string]any{"name": "process-messages", "definition": "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message"},
	}
	if diff := cmp.Diff(want, rest["operation"]); diff != "" {
		t.Errorf("rest.operation (-want +got):\n%s", diff)
	}
	for _, r := range rest["resource"].([]any) {
		res := r.(map[string]any)
		wantOps := want[:1]
		if res["type"] == "ServiceRequest" {
			// $prescription: the derived facts of a social prescription.
			wantOps = append(slices.Clone(wantOps), map[string]any{"name": "prescription", "definition": "http://socialrx.dev/fhir/OperationDefinition/ServiceRequest-prescription"})
		}
		if res["type"] == "Patient" {
			// $everything: the patient's record in one Bundle.
			wantOps = append(slices.Clone(wantOps), map[string]any{"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"})
		}
		if res["type"] == "Measure" {
			// $evaluate-measure: the program report as a MeasureReport.
			wantOps = append(slices.Clone(wantOps), map[string]any{"name": "evaluate-measure", "definition": "http://hl7.org/fhir/OperationDefinition/Measure-evaluate-measure"})
		}
		if diff := cmp.Diff(wantOps, res["operation"]); diff != "" {
			t.Errorf("%s operation (-want +got):\n%s", res["type"], diff)
		}
	}
	if !slices.ContainsFunc(rest["resource"].([]any), func(r any) bool { return r.(map[string]any)["type"] == "Task" }) {
		t.Error("Task is not listed")
	}
}
