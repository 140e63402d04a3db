package mapping

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
)

func TestWithStatus(t *testing.T) {
	ob := []byte(`{"resourceType":"Observation","id":"ob1","status":"final","code":{"text":"x"},"note":[{"text":"kept"}]}`)
	b, changed, err := WithStatus(ob, "entered-in-error")
	if err != nil || !changed {
		t.Fatalf("WithStatus: %v %v", changed, err)
	}
	want := `{"resourceType":"Observation","id":"ob1","status":"entered-in-error","code":{"text":"x"},"note":[{"text":"kept"}]}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("withdrawn Observation (-want +got):\n%s", diff)
	}
	if again, changed, _ := WithStatus(b, "entered-in-error"); changed || string(again) != string(b) {
		t.Errorf("the same status again changed it: %s", again)
	}
	if got := StatusOf(b); got != "entered-in-error" {
		t.Errorf("StatusOf = %q, want entered-in-error", got)
	}
	if _, _, err := WithStatus([]byte(`not json`), "x"); err == nil {
		t.Error("WithStatus of invalid JSON: no error")
	}
}

func TestWithdrawFollowUpResponse(t *testing.T) {
	task := FollowUpTask(socialrx.FollowUp{PrescriptionID: "sr1", PatientID: "p1", Due: now2026, Channel: socialrx.ContactEmail}, "fu1", now2026)
	one, _, _ := CompleteFollowUpTask(task, "qr1", now2026)
	two, _, _ := CompleteFollowUpTask(one, "qr2", now2026)
	if got := FollowUpResponsesOf(two); !cmp.Equal(got, []string{"qr1", "qr2"}) {
		t.Errorf("FollowUpResponsesOf = %v, want [qr1 qr2]", got)
	}
	later := now2026.Add(time.Hour)

	// The only answer withdrawn: open again, no output, a reason.
	b, changed, err := WithdrawFollowUpResponse(one, "qr1", true, later)
	if err != nil || !changed {
		t.Fatalf("withdraw: %v %v", changed, err)
	}
	valid(t, b, "Task")
	f, ok, err := FollowUpFromTask(b)
	if err != nil || !ok || f.Status != "in-progress" || !socialrx.FollowUpOpen(f.Status) {
		t.Errorf("read back: %+v %v %v", f, ok, err)
	}
	s := string(b)
	if strings.Contains(s, `"output"`) || !strings.Contains(s, `"statusReason":{"text":"`+WithdrawnFollowUpReason+`"}`) ||
		!strings.Contains(s, `"lastModified":"`+dateTime(later)+`"`) {
		t.Errorf("reopened Task: %s", s)
	}
	if strings.Index(s, `"statusReason"`) < strings.Index(s, `"status"`) || strings.Index(s, `"statusReason"`) > strings.Index(s, `"intent"`) {
		t.Errorf("statusReason not between status and intent: %s", s)
	}
	if again, changed, _ := WithdrawFollowUpResponse(b, "qr1", true, later.Add(time.Hour)); changed || string(again) != s {
		t.Errorf("withdrawing again changed it: %s", again)
	}

	// Another answer stands: its output stays, the Task stays completed.
	b, changed, err = WithdrawFollowUpResponse(two, "qr2", false, later)
	if err != nil || !changed {
		t.Fatalf("withdraw one of two: %v %v", changed, err)
	}
	if got := FollowUpResponsesOf(b); !cmp.Equal(got, []string{"qr1"}) {
		t.Errorf("outputs after withdrawing qr2 = %v, want [qr1]", got)
	}
	if st := StatusOf(b); st != "completed" || strings.Contains(string(b), "statusReason") {
		t.Errorf("Task with a standing answer: status %s: %s", st, b)
	}

	// A Task that is not completed (cancelled with its prescription) is not
	// opened again.
	cancelled, _, _ := WithStatus(one, "cancelled")
	b, _, _ = WithdrawFollowUpResponse(cancelled, "qr1", true, later)
	if st := StatusOf(b); st != "cancelled" {
		t.Errorf("cancelled Task withdrawn: status %s", st)
	}
}

func TestCancelAndReviveHelpTask(t *testing.T) {
	p := socialrx.Prescription{ID: "sr1", PatientID: "p1", RequesterID: "Practitioner/dr1"}
	task := FollowUpHelpTask(p, "fh1", "k", "qr1", now2026)
	b, changed, err := CancelHelpTask(task, now2026)
	if err != nil || !changed {
		t.Fatalf("cancel: %v %v", changed, err)
	}
	valid(t, b, "Task")
	if StatusOf(b) != "cancelled" || !strings.Contains(string(b), WithdrawnHelpReason) {
		t.Errorf("cancelled help Task: %s", b)
	}
	revived, changed, err := ReviveHelpTask(b, now2026.Add(time.Hour))
	if err != nil || !changed || StatusOf(revived) != "requested" || strings.Contains(string(revived), "statusReason") {
		t.Errorf("revived help Task: %v %v %s", changed, err, revived)
	}
	staffCancelled, _, _ := WithStatus(task, "cancelled")
	if out, changed, _ := ReviveHelpTask(staffCancelled, now2026); changed || string(out) != string(staffCancelled) {
		t.Errorf("a Task staff cancelled was requested again: %s", out)
	}
	for _, status := range []string{"in-progress", "completed", "cancelled"} {
		started, _, _ := WithStatus(task, status)
		if out, changed, _ := CancelHelpTask(started, now2026); changed || string(out) != string(started) {
			t.Errorf("help Task %s: cancelled anyway: %s", status, out)
		}
	}
}

func TestRevertGoal(t *testing.T) {
	improving := socialrx.DecideOutcome(socialrx.FollowUpAnswers{Wellbeing: socialrx.WellbeingBetter, NextStep: socialrx.NextKeepGoing})
	done := socialrx.DecideOutcome(socialrx.FollowUpAnswers{Wellbeing: socialrx.WellbeingBetter, NextStep: socialrx.NextDone})
	worse := socialrx.DecideOutcome(socialrx.FollowUpAnswers{Wellbeing: socialrx.WellbeingWorse, NextStep: socialrx.NextMoreHelp})
	none := socialrx.DecideOutcome(socialrx.FollowUpAnswers{NextStep: socialrx.NextKeepGoing})
	emrGoal := []byte(`{"resourceType":"Goal","id":"g9","lifecycleStatus":"active","description":{"text":"Feel less alone"},"subject":{"reference":"Patient/p1"},"note":[{"text":"kept"}]}`)
	achieved, _, _ := UpdateGoal(emrGoal, done, now2026)
	later := now2026.Add(48 * time.Hour)
	cases := []struct {
		name      string
		goal      []byte
		withdrawn socialrx.Outcome
		standing  *socialrx.Outcome
		want      string // "" when unchanged
	}{
		{"no answer stands: removed, active again", achieved, done, nil,
			`{"resourceType":"Goal","id":"g9","lifecycleStatus":"active","description":{"text":"Feel less alone"},"subject":{"reference":"Patient/p1"},"statusDate":"2026-03-04","note":[{"text":"kept"}]}`},
		{"another answer stands: its achievement", achieved, done, &worse,
			`{"resourceType":"Goal","id":"g9","lifecycleStatus":"active","achievementStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/goal-achievement","code":"worsening","display":"Worsening"}]},"description":{"text":"Feel less alone"},"subject":{"reference":"Patient/p1"},"statusDate":"2026-03-04","note":[{"text":"kept"}]}`},
		{"changed since (not what the withdrawn outcome set): left", achieved, improving, nil, ""},
		{"the withdrawn outcome set nothing: left", achieved, none, nil, ""},
		{"the standing answer says the same: left", achieved, done, &done, ""},
	}
	for _, c := range cases {
		b, changed, err := RevertGoal(c.goal, c.withdrawn, c.standing, later)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.want == "" {
			if changed || string(b) != string(c.goal) {
				t.Errorf("%s: changed: %s", c.name, b)
			}
			continue
		}
		if !changed {
			t.Errorf("%s: not changed", c.name)
		}
		valid(t, b, "Goal")
		if diff := cmp.Diff(c.want, string(b)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
}

// TestReopenTask: a Task socialrx ended for one of the given reasons is
// requested again, without the reason; one ended for another reason, or
// not ended, is left byte for byte.
func TestReopenTask(t *testing.T) {
	open := `{"resourceType":"Task","status":"requested","intent":"order","description":"call the patient"}`
	for _, c := range []struct {
		status, reason string
		reopened       bool
	}{
		{"cancelled", AnsweredTaskReason, true},
		{"completed", PursuedTaskReason, true},
		{"cancelled", NotPursuedTaskReason, true},
		{"cancelled", "Staff closed it.", false},
		{"in-progress", AnsweredTaskReason, false},
	} {
		ended, _, err := EndTask([]byte(open), c.status, c.reason, now2026, func(string) bool { return true })
		if err != nil {
			t.Fatal(err)
		}
		out, changed, err := ReopenTask(ended, now2026.Add(time.Hour), AnsweredTaskReason, PursuedTaskReason, NotPursuedTaskReason)
		switch {
		case err != nil:
			t.Errorf("%s %q: %v", c.status, c.reason, err)
		case changed != c.reopened:
			t.Errorf("%s %q: reopened %v, want %v: %s", c.status, c.reason, changed, c.reopened, out)
		case c.reopened && (StatusOf(out) != "requested" || strings.Contains(string(out), "statusReason") || !strings.Contains(string(out), "call the patient")):
			t.Errorf("%s %q: reopened as %s", c.status, c.reason, out)
		case !c.reopened && string(out) != string(ended):
			t.Errorf("%s %q: changed though not reopened: %s", c.status, c.reason, out)
		}
	}
}
