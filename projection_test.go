package socialrx

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPrescriptionRecordReadable(t *testing.T) {
	full := PrescriptionRecord{
		Prescription: Prescription{ID: "sr-1", Form: FormWarmHandoff, Needs: []NeedDomain{DomainFood}},
		FollowUps:    []FollowUp{{PrescriptionID: "sr-1", Status: "completed"}},
		Referrals:    []Referral{{ID: "ref-1", PrescriptionID: "sr-1"}},
		Results:      []FollowUpResult{{ResponseID: "qr-1", PrescriptionID: "sr-1", Satisfaction: 4}},
	}
	only := func(types ...string) func(string) bool {
		return func(t string) bool { return slices.Contains(types, t) }
	}
	srOnly := PrescriptionRecord{Prescription: full.Prescription}
	withTask := PrescriptionRecord{Prescription: full.Prescription, FollowUps: full.FollowUps, Referrals: full.Referrals}
	withResponse := PrescriptionRecord{Prescription: full.Prescription, Results: full.Results}
	for _, c := range []struct {
		name string
		may  func(string) bool
		want PrescriptionRecord
	}{
		{"ServiceRequest only", only("ServiceRequest"), srOnly},
		{"Observation does not give the answers", only("ServiceRequest", "Observation"), srOnly},
		{"Task", only("ServiceRequest", "Task"), withTask},
		{"QuestionnaireResponse", only("ServiceRequest", "QuestionnaireResponse"), withResponse},
		{"both", only(FactSources()...), full},
	} {
		if diff := cmp.Diff(c.want, full.Readable(c.may)); diff != "" {
			t.Errorf("%s: Readable (-want +got):\n%s", c.name, diff)
		}
	}
}
