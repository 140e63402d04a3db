package mapping

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/socialrx/socialrx"
)

var now2026 = time.Date(2026, 3, 2, 15, 4, 5, 0, time.UTC)

func TestFollowUpTask(t *testing.T) {
	f := socialrx.FollowUp{PrescriptionID: "sr1", PatientID: "p1", Due: time.Date(2026, 3, 16, 10, 0, 0, 0, time.FixedZone("EST", -5*3600)),
		Channel: socialrx.ContactText, Owner: "PractitionerRole/nav"}
	got := string(FollowUpTask(f, "fu-sr1", now2026))
	want := `{"resourceType":"Task","id":"fu-sr1","identifier":[{"system":"http://socialrx.dev/fhir/sid/follow-up","value":"sr1"}],"status":"requested","intent":"order",` +
		`"code":{"coding":[{"system":"http://socialrx.dev/fhir/CodeSystem/task-code","code":"follow-up","display":"Follow up a social prescription"}]},` +
		`"focus":{"reference":"ServiceRequest/sr1"},"for":{"reference":"Patient/p1"},"authoredOn":"2026-03-02T15:04:05Z","owner":{"reference":"PractitionerRole/nav"},` +
		`"restriction":{"period":{"end":"2026-03-16T15:00:00Z"}},` +
		`"input":[{"type":{"coding":[{"system":"http://socialrx.dev/fhir/CodeSystem/task-input","code":"contact-channel","display":"Preferred follow-up contact channel"}]},` +
		`"valueCodeableConcept":{"coding":[{"system":"http://socialrx.dev/fhir/CodeSystem/follow-up-channel","code":"text","display":"Text message"}]}}]}`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("follow-up Task (-want +got):\n%s", diff)
	}
}

// TestFollowUpRoundTrip: FollowUp → Task → FollowUp → Task → FollowUp is
// the identity (Status "requested" once written), for every channel and
// owner kind, and every Task is valid FHIR.
func TestFollowUpRoundTrip(t *testing.T) {
	owners := []string{"", "Practitioner/pr1", "PractitionerRole/nav", "Organization/clinic"}
	statuses := []string{"requested", "in-progress", "completed", "cancelled"}
	for i, c := range socialrx.AllContactChannels() {
		f := socialrx.FollowUp{PrescriptionID: "sr-" + string(c), PatientID: "p1", Due: now2026.Add(time.Duration(i) * 24 * time.Hour), Channel: c,
			Owner: owners[i%len(owners)], Status: statuses[i%len(statuses)]}
		b1 := FollowUpTask(f, "fu", now2026)
		wantValidFHIR(t, b1, "Task")
		f1, ok, err := FollowUpFromTask(b1)
		if err != nil || !ok {
			t.Fatalf("%s: ok %v err %v", c, ok, err)
		}
		if diff := cmp.Diff(&f, f1); diff != "" {
			t.Errorf("%s: first read (-want +got):\n%s", c, diff)
		}
		f2, _, err := FollowUpFromTask(FollowUpTask(*f1, "fu", now2026))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(f1, f2); diff != "" {
			t.Errorf("%s: second read (-first +second):\n%s", c, diff)
		}
	}
}

func TestPatientTask(t *testing.T) {
	p := socialrx.Prescription{ID: "sr1", PatientID: "p1", Form: socialrx.FormSelfDirected, Target: "HealthcareService/bare", RequesterID: "PractitionerRole/dr", Code: foodPantry}
	got := string(PatientTask(p, "pt-sr1", now2026))
	want := `{"resourceType":"Task","id":"pt-sr1","identifier":[{"system":"http://socialrx.dev/fhir/sid/patient-task","value":"sr1"}],"status":"requested","intent":"order","priority":"routine",` +
		`"code":{"coding":[{"system":"http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes","code":"make-contact","display":"Make Contact"},` +
		`{"system":"http://socialrx.dev/fhir/CodeSystem/task-code","code":"patient-pursue","display":"Pursue a self-directed social prescription"}]},` +
		`"description":"Contact the support you were prescribed and take it up. We will ask you how it went.",` +
		`"focus":{"reference":"ServiceRequest/sr1"},"for":{"reference":"Patient/p1"},"authoredOn":"2026-03-02T15:04:05Z","requester":{"reference":"PractitionerRole/dr"},"owner":{"reference":"Patient/p1"},` +
		`"input":[{"type":{"coding":[{"system":"http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes","code":"contact-entity","display":"Contact Entity"}]},` +
		`"valueReference":{"reference":"HealthcareService/bare"}}]}`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("patient Task (-want +got):\n%s", diff)
	}
	wantValidFHIR(t, []byte(got), "Task")

	// No program to point to: no make-contact, no contact entity.
	bare := PatientTask(socialrx.Prescription{ID: "sr2", PatientID: "p1", Form: socialrx.FormSelfDirected, Code: foodPantry}, "", now2026)
	wantValidFHIR(t, bare, "Task")
	var tk struct {
		ID    string
		Code  codeableConcept
		Input []any
	}
	if err := json.Unmarshal(bare, &tk); err != nil {
		t.Fatal(err)
	}
	if tk.ID != "" || len(tk.Input) != 0 || len(tk.Code.Coding) != 1 || !tk.Code.has(taskCodeSystem, taskPatientTask) {
		t.Errorf("patient Task without target: %s", bare)
	}
}

// TestTerminologyCodesUsed: the socialrx codes the writers use are in the
// served code systems, with the same display.
func TestTerminologyCodesUsed(t *testing.T) {
	for _, c := range []struct{ name, code string }{{"task-code", taskFollowUp}, {"task-code", taskPatientTask}, {"task-input", inputContactChan}} {
		if displayOf(c.name, c.code) == "" {
			t.Errorf("%s has no code %s", c.name, c.code)
		}
	}
	for _, nr := range navigatorRoles {
		if got := displayOf("practitioner-role", nr.Code); got != nr.Display || socialrx.CodeSystemBase+"practitioner-role" != nr.System {
			t.Errorf("navigator role %s: display %q in the code system", nr.Code, got)
		}
	}
}

func TestEndTask(t *testing.T) {
	open := func(s string) bool { return socialrx.FollowUpOpen(s) }
	for _, tc := range []struct {
		name, task, status, reason string
		open                       func(string) bool
		want                       string // "" when unchanged
	}{
		{"requested, cancelled: status, reason and lastModified in element order",
			`{"resourceType":"Task","id":"cp-1","status":"requested","intent":"order","priority":"routine"}`, "cancelled", RevokedTaskReason, NotStarted,
			`{"resourceType":"Task","id":"cp-1","status":"cancelled","statusReason":{"text":"` + RevokedTaskReason + `"},"intent":"order","priority":"routine","lastModified":"2026-03-02T15:04:05Z"}`},
		{"ready, completed; an old reason replaced",
			`{"resourceType":"Task","status":"ready","statusReason":{"text":"x"},"intent":"order","lastModified":"2020-01-01T00:00:00Z"}`, "completed", PursuedTaskReason, NotStarted,
			`{"resourceType":"Task","status":"completed","statusReason":{"text":"` + PursuedTaskReason + `"},"intent":"order","lastModified":"2026-03-02T15:04:05Z"}`},
		{"in-progress, not started only: unchanged",
			`{"resourceType":"Task","status":"in-progress","intent":"order"}`, "cancelled", AnsweredTaskReason, NotStarted, ""},
		{"in-progress, any open: cancelled",
			`{"resourceType":"Task","status":"in-progress","intent":"order"}`, "cancelled", EnteredInErrorTaskReason, open,
			`{"resourceType":"Task","status":"cancelled","statusReason":{"text":"` + EnteredInErrorTaskReason + `"},"intent":"order","lastModified":"2026-03-02T15:04:05Z"}`},
		{"completed follow-up: unchanged",
			`{"resourceType":"Task","status":"completed","intent":"order"}`, "cancelled", RevokedTaskReason, open, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed, err := EndTask([]byte(tc.task), tc.status, tc.reason, now2026, tc.open)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want == "" {
				want = tc.task
			}
			if changed != (tc.want != "") {
				t.Errorf("changed %v, want %v", changed, tc.want != "")
			}
			if diff := cmp.Diff(want, string(got)); diff != "" {
				t.Errorf("EndTask (-want +got):\n%s", diff)
			}
		})
	}
	if _, _, err := EndTask([]byte(`{`), "cancelled", "", now2026, NotStarted); socialrx.ErrorCode(err) != socialrx.EINVALID {
		t.Errorf("broken JSON: %v, want EINVALID", err)
	}
}
