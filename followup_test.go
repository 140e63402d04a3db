package socialrx_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/socialrx/socialrx"
)

func TestFollowUpValidate(t *testing.T) {
	valid := func() socialrx.FollowUp {
		return socialrx.FollowUp{
			PrescriptionID: "sr1", PatientID: "p1", Due: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
			Channel: socialrx.ContactEmail, Owner: "PractitionerRole/pr1", Status: "requested",
		}
	}
	tests := []struct {
		name   string
		edit   func(f *socialrx.FollowUp)
		issues []pathCode
	}{
		{"valid", func(f *socialrx.FollowUp) {}, nil},
		{"no owner, no status", func(f *socialrx.FollowUp) { f.Owner, f.Status = "", "" }, nil},
		{"ready is a Task status", func(f *socialrx.FollowUp) { f.Status = "ready" }, nil},
		{"every contact channel", func(f *socialrx.FollowUp) { f.Channel = socialrx.ContactMail }, nil},
		{"no prescription", func(f *socialrx.FollowUp) { f.PrescriptionID = "" }, []pathCode{{"Task.focus", "required"}}},
		{"no patient", func(f *socialrx.FollowUp) { f.PatientID = "" }, []pathCode{{"Task.for", "required"}}},
		{"no due date", func(f *socialrx.FollowUp) { f.Due = time.Time{} }, []pathCode{{"Task.restriction.period.end", "required"}}},
		{"no channel", func(f *socialrx.FollowUp) { f.Channel = "" }, []pathCode{{"Task.input", "value"}}},
		{"unknown channel", func(f *socialrx.FollowUp) { f.Channel = "Jane" }, []pathCode{{"Task.input", "value"}}},
		{"owner of a wrong type", func(f *socialrx.FollowUp) { f.Owner = "Patient/Jane" }, []pathCode{{"Task.owner", "value"}}},
		{"unknown status", func(f *socialrx.FollowUp) { f.Status = "Jane" }, []pathCode{{"Task.status", "value"}}},
		{"everything wrong at once", func(f *socialrx.FollowUp) { *f = socialrx.FollowUp{Owner: "x", Status: "x"} }, []pathCode{
			{"Task.focus", "required"}, {"Task.for", "required"}, {"Task.restriction.period.end", "required"},
			{"Task.input", "value"}, {"Task.owner", "value"}, {"Task.status", "value"},
		}},
	}
	for _, tt := range tests {
		f := valid()
		tt.edit(&f)
		err := f.Validate()
		if diff := cmp.Diff(tt.issues, issuesOf(t, err)); diff != "" {
			t.Errorf("%s: Validate issues (-want +got):\n%s", tt.name, diff)
		}
		noPHI(t, tt.name, err, "Jane")
	}
}
