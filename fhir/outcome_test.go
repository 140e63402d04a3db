package fhir

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestOperationOutcome(t *testing.T) {
	tests := []struct {
		name   string
		issues []Issue
		want   string
	}{
		{name: "empty", want: `{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational","diagnostics":"ok"}]}`},
		{
			name: "issues",
			issues: []Issue{
				{Severity: "error", Code: "value", Path: "Patient.birthDate", Message: "invalid date"},
				{Severity: "warning", Code: "structure", Message: "<unknown> & more"},
				{},
			},
			want: `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"value","diagnostics":"invalid date","expression":["Patient.birthDate"]},{"severity":"warning","code":"structure","diagnostics":"<unknown> & more"},{"severity":"error","code":"processing"}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := OperationOutcome(tt.issues)
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("OperationOutcome (-want +got)\n%s", diff)
			}
			// It is a valid OperationOutcome by our own checks.
			if issues := checkAny(t, got); len(issues) > 0 {
				t.Errorf("OperationOutcome output fails the checks of Decode: %+v", issues)
			}
		})
	}
}

func TestOutcomeIssues(t *testing.T) {
	in := []Issue{
		{Severity: "error", Code: "value", Path: "Patient.birthDate", Message: "invalid date"},
		{Severity: "warning", Code: "structure", Message: "x"},
	}
	if diff := cmp.Diff(in, OutcomeIssues(OperationOutcome(in))); diff != "" {
		t.Errorf("round trip (-want +got)\n%s", diff)
	}
	other := `{"resourceType":"OperationOutcome","issue":[{"severity":"fatal","code":"exception","details":{"text":"boom"},"location":["/f:Patient"]}]}`
	want := []Issue{{Severity: "fatal", Code: "exception", Path: "/f:Patient", Message: "boom"}}
	if diff := cmp.Diff(want, OutcomeIssues([]byte(other))); diff != "" {
		t.Errorf("details and location (-want +got)\n%s", diff)
	}
	for _, bad := range []string{`{"resourceType":"Patient"}`, `nope`} {
		if got := OutcomeIssues([]byte(bad)); got != nil {
			t.Errorf("OutcomeIssues(%s) = %v, want nil", bad, got)
		}
	}
}

// checkAny runs the checks of Decode on a resource of any known type.
func checkAny(t *testing.T, body []byte) []Issue {
	t.Helper()
	tree, err := parseTree(body)
	if err != nil {
		t.Fatal(err)
	}
	c := &checker{t: tree, ix: types()}
	c.resource(0, nil, "", "", false)
	return c.issues
}
