package mapping

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
)

func TestBilledVisitFromChargeItem(t *testing.T) {
	const ohip = `"system":"` + socialrx.OHIPFeeCodeSystem + `"`
	tests := []struct {
		name, body string
		want       *socialrx.BilledVisit
		wantPath   string // the issue's path when refused
	}{
		{"occurrenceDateTime", `{"resourceType":"ChargeItem","status":"billed","code":{"coding":[{` + ohip + `,"code":"K005"}]},
"subject":{"reference":"Patient/p1"},"context":{"reference":"Encounter/e1"},"occurrenceDateTime":"2026-03-04T10:00:00Z"}`,
			&socialrx.BilledVisit{ChargeItemID: "ci", PatientID: "p1", EncounterID: "e1", Code: "K005", Status: "billed", OccurredAt: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)}, ""},
		{"period start, then enteredDate", `{"resourceType":"ChargeItem","status":"billable","code":{"coding":[{"system":"http://example.org/local","code":"x"},{` + ohip + `,"code":"K037"}]},
"subject":{"reference":"Group/g1"},"occurrencePeriod":{"start":"2026-05"},"enteredDate":"2026-06-01"}`,
			&socialrx.BilledVisit{ChargeItemID: "ci", Code: "K037", Status: "billable", OccurredAt: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}, ""},
		{"enteredDate", `{"resourceType":"ChargeItem","status":"planned","code":{"coding":[{` + ohip + `,"code":"K013"}]},"subject":{"reference":"Patient/p1"},"enteredDate":"2026-06-01"}`,
			&socialrx.BilledVisit{ChargeItemID: "ci", PatientID: "p1", Code: "K013", Status: "planned", OccurredAt: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}, ""},
		{"no OHIP coding", `{"resourceType":"ChargeItem","status":"billed","code":{"coding":[{"system":"http://example.org/local","code":"K999"}]},"subject":{"reference":"Patient/p1"}}`, nil, ""},
		{"unknown OHIP code", `{"resourceType":"ChargeItem","status":"billed","code":{"coding":[{"system":"http://example.org/local","code":"x"},{` + ohip + `,"code":"K999"}]},"subject":{"reference":"Patient/p1"}}`,
			nil, "ChargeItem.code.coding[1].code"},
		{"two OHIP codes", `{"resourceType":"ChargeItem","status":"billed","code":{"coding":[{` + ohip + `,"code":"K005"},{` + ohip + `,"code":"K013"}]},"subject":{"reference":"Patient/p1"}}`,
			nil, "ChargeItem.code.coding[1]"},
		{"bad date", `{"resourceType":"ChargeItem","status":"billed","code":{"coding":[{` + ohip + `,"code":"K005"}]},"subject":{"reference":"Patient/p1"},"occurrenceDateTime":"03/04/2026"}`,
			nil, "ChargeItem.occurrenceDateTime"},
		{"no date", `{"resourceType":"ChargeItem","status":"billed","code":{"coding":[{` + ohip + `,"code":"K005"}]},"subject":{"reference":"Patient/p1"}}`,
			nil, "ChargeItem.occurrence[x]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := BilledVisitFromChargeItem("ci", []byte(tt.body))
			if tt.wantPath != "" {
				se, isErr := err.(*socialrx.Error)
				if !isErr || len(se.Issues) != 1 || se.Issues[0].Path != tt.wantPath {
					t.Fatalf("err = %v, want one issue at %s", err, tt.wantPath)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ok != (tt.want != nil) {
				t.Fatalf("ok = %v", ok)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
