package mapping

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/socialrx/socialrx"
)

var at2020Task = time.Date(2020, 9, 11, 21, 56, 54, 671000000, time.UTC)

func TestReferralFromTaskSDOHCC(t *testing.T) {
	ref := func(id, sr string, st socialrx.ReferralStatus, req, owner string, at time.Time) *socialrx.Referral {
		return &socialrx.Referral{ID: id, PrescriptionID: sr, PatientID: "pat-53234", Requester: req, Performer: owner, Status: st, LastChanged: at}
	}
	const (
		pantry = "SDOHCC-ServiceRequestActiveFoodPantryApplicationAssistExample"
		summer = "SDOHCC-ServiceRequestSubreferralSummerFoodProgramExample"
		drJan  = "PractitionerRole/SDOHCC-PractitionerRoleDrJanWaterExample"
		cp     = "Organization/SDOHCC-OrganizationCoordinationPlatformExample"
		clinic = "Organization/SDOHCC-OrganizationClinicExample"
	)
	tests := []struct {
		file string
		want *socialrx.Referral
	}{
		{"Task-SDOHCC-TaskReferralManagementOrderFulfillmentAcceptedExample.json",
			ref("SDOHCC-TaskReferralManagementOrderFulfillmentAcceptedExample", pantry, socialrx.ReferralAccepted, drJan, cp, at2020Task)},
		{"Task-SDOHCC-TaskReferralManagementOrderFulfillmentCompletedExample.json",
			ref("SDOHCC-TaskReferralManagementOrderFulfillmentCompletedExample", pantry, socialrx.ReferralCompleted, drJan, cp, at2020Task)},
		{"Task-SDOHCC-TaskReferralManagementOrderSubtaskAcceptedExample.json",
			ref("SDOHCC-TaskReferralManagementOrderSubtaskAcceptedExample", summer, socialrx.ReferralAccepted, cp, clinic, time.Date(2020, 9, 12, 20, 56, 53, 671000000, time.UTC))},
		{"Task-SDOHCC-TaskReferralManagementOrderSubtaskCompletedExample.json",
			ref("SDOHCC-TaskReferralManagementOrderSubtaskCompletedExample", summer, socialrx.ReferralCompleted, cp, clinic, time.Date(2019, 9, 12, 21, 56, 54, 671000000, time.UTC))},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, ok, err := ReferralFromTask(readExample(t, tt.file))
			if err != nil || !ok {
				t.Fatalf("ok %v err %v, want a referral", ok, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("referral (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTasksThatAreNotReferrals: patient Tasks, R4 examples without the
// fulfill code or a ServiceRequest focus, and socialrx's own Tasks.
func TestTasksThatAreNotReferrals(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(examplesDir, "Task-SDOHCC-TaskPatient*.json"))
	r4, _ := filepath.Glob("../testdata/fhir-examples/r4/Task-*.json")
	if len(files) == 0 || len(r4) == 0 {
		t.Fatal("no Task examples")
	}
	var bodies [][]byte
	for _, f := range append(files, r4...) {
		b, _ := os.ReadFile(f)
		bodies = append(bodies, b)
	}
	p := socialrx.Prescription{ID: "sr1", PatientID: "p1", Form: socialrx.FormSelfDirected, Target: "HealthcareService/bare"}
	bodies = append(bodies,
		FollowUpTask(socialrx.FollowUp{PrescriptionID: "sr1", PatientID: "p1", Due: at2020Task, Channel: socialrx.ContactText}, "f1", at2020Task),
		PatientTask(p, "t1", at2020Task),
		[]byte(`{"resourceType":"Task","status":"requested","code":{"coding":[{"system":"http://hl7.org/fhir/CodeSystem/task-code","code":"fulfill"}]},"focus":{"reference":"MedicationRequest/m1"}}`),
		[]byte(`{"resourceType":"Task","status":"requested","code":{"coding":[{"system":"http://hl7.org/fhir/CodeSystem/task-code","code":"fulfill"}]}}`),
		[]byte(`{"resourceType":"Task","status":"requested","code":{"coding":[{"code":"fulfill"}]},"focus":{"reference":"ServiceRequest/s1"}}`),
	)
	for i, b := range bodies {
		r, ok, err := ReferralFromTask(b)
		if err != nil || ok || r != nil {
			t.Errorf("body %d: %v %v %v, want not a referral", i, r, ok, err)
		}
	}
}

func taskJSONWith(extra string) []byte {
	return []byte(`{"resourceType":"Task","id":"t1","intent":"order","code":{"coding":[{"system":"http://hl7.org/fhir/CodeSystem/task-code","code":"fulfill"}]},"focus":{"reference":"ServiceRequest/sr1"}` + extra + `}`)
}

func TestReferralFromTaskFields(t *testing.T) {
	body := taskJSONWith(`,"status":"on-hold","for":{"reference":"http://emr.example/fhir/Patient/p1"},"requester":{"reference":"Organization/clinic"},"owner":{"reference":"HealthcareService/ocean/_history/2"}` +
		`,"businessStatus":{"coding":[{"system":"http://example.org/bs","code":"waitlisted","display":"Wait-listed"}]},"statusReason":{"text":"program full until May"}` +
		`,"authoredOn":"2026-01-01","lastModified":"2026-02-03T04:05:06+02:00"`)
	got, ok, err := ReferralFromTask(body)
	if err != nil || !ok {
		t.Fatalf("ok %v err %v", ok, err)
	}
	want := &socialrx.Referral{ID: "t1", PrescriptionID: "sr1", PatientID: "p1", Requester: "Organization/clinic", Performer: "HealthcareService/ocean",
		Status: socialrx.ReferralOnHold, BusinessStatus: "Wait-listed", StatusReason: "program full until May", LastChanged: time.Date(2026, 2, 3, 2, 5, 6, 0, time.UTC)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("referral (-want +got):\n%s", diff)
	}
	for cc, want := range map[string]string{
		`{"text":"t","coding":[{"code":"c","display":"d"}]}`: "t",
		`{"coding":[{"code":"c"},{"display":"d"}]}`:          "c",
		`{"coding":[{"system":"s"},{"display":"d"}]}`:        "d",
	} {
		got, _, err := ReferralFromTask(taskJSONWith(`,"status":"accepted","for":{"reference":"Patient/p1"},"requester":{"reference":"Organization/c"},"owner":{"reference":"Organization/o"},"businessStatus":` + cc))
		if err != nil || got.BusinessStatus != want {
			t.Errorf("businessStatus %s: got %+v err %v, want %q", cc, got, err, want)
		}
	}
}

func TestReferralFromTaskErrors(t *testing.T) {
	tests := []struct {
		name  string
		body  []byte
		code  string
		paths []string
	}{
		{"nothing but code and focus", taskJSONWith(``), socialrx.EUNPROCESSABLE, []string{"Task.for", "Task.requester", "Task.owner", "Task.status"}},
		{"bad references, rejected without reason", taskJSONWith(`,"status":"rejected","for":{"reference":"Group/g"},"requester":{"reference":"#r"},"owner":{"reference":"Patient/p1"},"lastModified":"soon"`),
			socialrx.EUNPROCESSABLE, []string{"Task.for.reference", "Task.requester.reference", "Task.lastModified", "Task.owner", "Task.statusReason"}},
		{"ready is no referral status", taskJSONWith(`,"status":"ready","for":{"reference":"Patient/p1"},"requester":{"reference":"Organization/c"},"owner":{"reference":"Organization/o"}`),
			socialrx.EUNPROCESSABLE, []string{"Task.status"}},
		{"not JSON", []byte(`{`), socialrx.EINVALID, []string{"Task"}},
		{"another resource", []byte(`{"resourceType":"ServiceRequest"}`), socialrx.EINVALID, []string{"Task.resourceType"}},
		{"wrong JSON type", []byte(`{"resourceType":"Task","focus":"ServiceRequest/1"}`), socialrx.EINVALID, []string{"Task.focus"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _, err := ReferralFromTask(tt.body)
			if err == nil {
				t.Fatalf("got %+v, want an error", r)
			}
			if socialrx.ErrorCode(err) != tt.code {
				t.Errorf("code %s, want %s", socialrx.ErrorCode(err), tt.code)
			}
			var paths []string
			for _, is := range socialrx.ErrorIssues(err) {
				paths = append(paths, is.Path)
				if strings.Contains(is.Message, "program full") {
					t.Errorf("message repeats a value: %s", is.Message)
				}
			}
			if diff := cmp.Diff(tt.paths, paths); diff != "" {
				t.Errorf("issue paths (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFollowUpFromTask: an EMR's update of socialrx's follow-up Task reads
// back; other Tasks are not follow-ups.
func TestFollowUpFromTask(t *testing.T) {
	due := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	f := socialrx.FollowUp{PrescriptionID: "sr1", PatientID: "p1", Due: due, Channel: socialrx.ContactPhone, Owner: "PractitionerRole/nav"}
	body := FollowUpTask(f, "fu-sr1", due.Add(-14*24*time.Hour))
	completed := []byte(strings.Replace(string(body), `"status":"requested"`, `"status":"completed"`, 1))
	got, ok, err := FollowUpFromTask(completed)
	if err != nil || !ok {
		t.Fatalf("ok %v err %v", ok, err)
	}
	f.Status = "completed"
	if diff := cmp.Diff(&f, got); diff != "" {
		t.Errorf("follow-up (-want +got):\n%s", diff)
	}

	for _, b := range [][]byte{readExample(t, "Task-SDOHCC-TaskReferralManagementOrderFulfillmentAcceptedExample.json"),
		PatientTask(socialrx.Prescription{ID: "sr1", PatientID: "p1"}, "pt", due)} {
		if fu, ok, err := FollowUpFromTask(b); fu != nil || ok || err != nil {
			t.Errorf("got %v %v %v, want not a follow-up", fu, ok, err)
		}
	}

	fuTask := func(extra string) []byte {
		return []byte(`{"resourceType":"Task","status":"requested","intent":"order","code":{"coding":[{"system":"http://socialrx.dev/fhir/CodeSystem/task-code","code":"follow-up"}]}` + extra + `}`)
	}
	tests := []struct {
		name  string
		body  []byte
		paths []string
	}{
		{"empty", fuTask(``), []string{"Task.for", "Task.focus", "Task.restriction.period.end", "Task.input"}},
		{"wrong things", fuTask(`,"status":"bogus","focus":{"reference":"Condition/c"},"for":{"reference":"Patient/p"},"owner":{"reference":"HealthcareService/h"},"restriction":{"period":{"end":"later"}},` +
			`"input":[{"type":{"coding":[{"system":"http://socialrx.dev/fhir/CodeSystem/task-input","code":"contact-channel"}]},"valueCodeableConcept":{"coding":[{"system":"http://socialrx.dev/fhir/CodeSystem/follow-up-channel","code":"pigeon"}]}}]`),
			[]string{"Task.focus.reference", "Task.restriction.period.end", "Task.input[0].valueCodeableConcept", "Task.owner", "Task.status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ok, err := FollowUpFromTask(tt.body)
			if !ok || socialrx.ErrorCode(err) != socialrx.EUNPROCESSABLE {
				t.Fatalf("ok %v err %v", ok, err)
			}
			var paths []string
			for _, is := range socialrx.ErrorIssues(err) {
				paths = append(paths, is.Path)
			}
			if diff := cmp.Diff(tt.paths, paths); diff != "" {
				t.Errorf("issue paths (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzReferralFromTask(f *testing.F) {
	seedExamples(f, "Task")
	f.Add(taskJSONWith(`,"status":"on-hold","for":{"reference":"Patient/p1"},"requester":{"reference":"Organization/c"},"owner":{"reference":"Organization/o"},"statusReason":{"text":"full"}`))
	f.Add(FollowUpTask(socialrx.FollowUp{PrescriptionID: "sr1", PatientID: "p1", Due: at2020Task, Channel: socialrx.ContactEmail}, "f1", at2020Task))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, ok, err := ReferralFromTask(body)
		checkErr(t, err)
		if err == nil && ok {
			if err := r.Validate(); err != nil {
				t.Fatalf("referral invalid: %v", err)
			}
		}
		if !ok && r != nil {
			t.Fatal("not a referral, yet a Referral")
		}
		fu, ok, err := FollowUpFromTask(body)
		checkErr(t, err)
		if err == nil && ok {
			if err := fu.Validate(); err != nil {
				t.Fatalf("follow-up invalid: %v", err)
			}
		}
	})
}
