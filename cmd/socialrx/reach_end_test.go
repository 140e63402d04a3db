package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/workflow"
)

// The follow-up ends when the prescription or the answer ends it, end to
// end on both stores: a revoked (or entered-in-error) prescription
// cancels its follow-up Task, patient Task and staff call/letter Tasks;
// a due reminder job, the escalation and a reminder already in the
// outbox send nothing; the form link answers "No answer needed". An
// answered follow-up closes the call, letter and patient Tasks, so the
// README's work lists no longer show the patient.

// reachWorkflow is a Workflow over m's store with m's link key and form
// URL: what the reminder and escalation jobs run, called by the test at
// the moment it chooses (the job itself would run at the due time).
func reachWorkflow(t *testing.T, m *Main) *workflow.Workflow {
	t.Helper()
	key, err := loadLinkKey(m.Config.LinkKey())
	if err != nil {
		t.Fatal(err)
	}
	return workflow.New(m.Store, workflow.Options{Reach: workflow.ReachOptions{LinkKey: key, FormURL: m.URL() + "/p/f/",
		Auto: map[socialrx.ContactChannel]bool{socialrx.ContactText: true, socialrx.ContactEmail: true}, Clinic: "Riverdale Health"}})
}

// encounterAuthored is encounterWithTelecom with the ServiceRequest
// authored at authored (so its follow-up falls due 14 days later).
func encounterAuthored(t *testing.T, telecom []map[string]any, authored time.Time) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(encounterWithTelecom(t, telecom), &b); err != nil {
		t.Fatal(err)
	}
	for _, e := range asSlice(b["entry"]) {
		if r := asMap(asMap(e)["resource"]); r["resourceType"] == "ServiceRequest" {
			r["authoredOn"] = authored.UTC().Format(time.RFC3339)
		}
	}
	out, _ := json.Marshal(b)
	return out
}

// getTask reads Task/id over FHIR.
func getTask(t *testing.T, m *Main, id string) map[string]any {
	t.Helper()
	resp, body := do(t, "GET", m.URL()+"/fhir/Task/"+id, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET Task/%s: %d %s", id, resp.StatusCode, truncate(body))
	}
	return decodeJSON(t, body)
}

// setPrescriptionStatus PUTs ServiceRequest/srID back with status.
func setPrescriptionStatus(t *testing.T, m *Main, srID, status string) {
	t.Helper()
	resp, body := do(t, "GET", m.URL()+"/fhir/ServiceRequest/"+srID, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET ServiceRequest: %d", resp.StatusCode)
	}
	sr := decodeJSON(t, body)
	sr["status"] = status
	delete(sr, "meta")
	b, _ := json.Marshal(sr)
	if resp, body := do(t, "PUT", m.URL()+"/fhir/ServiceRequest/"+srID, b); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT ServiceRequest status %s: %d %s", status, resp.StatusCode, truncate(body))
	}
}

// wantTaskStatus checks Task/id's status and that its statusReason text
// contains reason.
// reopenByHand PUTs Task/id back to requested, without its statusReason,
// as staff might over the REST API.
func reopenByHand(t *testing.T, m *Main, id string) {
	t.Helper()
	task := getTask(t, m, id)
	task["status"] = "requested"
	delete(task, "statusReason")
	delete(task, "meta")
	b, _ := json.Marshal(task)
	if resp, body := do(t, "PUT", m.URL()+"/fhir/Task/"+id, b); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT Task/%s requested: %d %s", id, resp.StatusCode, truncate(body))
	}
}

func wantTaskStatus(t *testing.T, m *Main, id, status, reason string) {
	t.Helper()
	task := getTask(t, m, id)
	if task["status"] != status || !strings.Contains(fmt.Sprint(dig(task, "statusReason", "text")), reason) {
		t.Errorf("Task/%s: status %v, statusReason %v; want %s with %q", id, task["status"], task["statusReason"], status, reason)
	}
}

func TestRevokedPrescriptionEndsFollowUp(t *testing.T) {
	for _, be := range encounterBackends {
		t.Run(be.name, func(t *testing.T) {
			for _, status := range []string{"revoked", "entered-in-error"} {
				t.Run(status, func(t *testing.T) { testRevokedEndsFollowUp(t, be.database(t), status) })
			}
		})
	}
}

func testRevokedEndsFollowUp(t *testing.T, database, status string) {
	env := startReach(t, database, nil)
	m := env.m
	// A self-directed prescription written now, the patient reachable
	// by text: nothing is due for 14 days.
	post := postEncounter(t, m, encounterAuthored(t, []map[string]any{{"system": "phone", "use": "mobile", "value": "+14165550187", "rank": 1}}, time.Now()))
	if post.status != http.StatusOK {
		t.Fatalf("POST encounter: %d %s", post.status, truncate(post.body))
	}
	srID := post.idOf(t, "ServiceRequest")
	fuID, ptID := workflow.FollowUpTaskID(srID), workflow.PatientTaskID(srID)
	for _, id := range []string{fuID, ptID} {
		if s := getTask(t, m, id)["status"]; s != "requested" {
			t.Fatalf("Task/%s before: %v, want requested", id, s)
		}
	}
	w := reachWorkflow(t, m)
	link, _, ok := w.FormLink(fuID, time.Now())
	if !ok {
		t.Fatal("no form link")
	}

	setPrescriptionStatus(t, m, srID, status)
	reason := map[string]string{"revoked": "revoked", "entered-in-error": "entered in error"}[status]
	for _, id := range []string{fuID, ptID} {
		wantTaskStatus(t, m, id, "cancelled", reason)
	}
	// The work lists no longer show it.
	for _, q := range []url.Values{
		{"code": {socialrx.CodeSystemBase + "task-code|follow-up"}, "status": {"requested"}, "focus": {"ServiceRequest/" + srID}},
		{"code": {socialrx.CodeSystemBase + "task-code|patient-pursue"}, "status": {"requested"}, "focus": {"ServiceRequest/" + srID}},
	} {
		if n := len(searchMatches(t, m, "Task", q)); n != 0 {
			t.Errorf("Task?%s: %d, want none", q.Encode(), n)
		}
	}

	// The follow-up's due reminder job and its escalation do nothing.
	checkNothingReaches := func(when string) {
		t.Helper()
		out, err := w.RemindFollowUp(t.Context(), srID)
		if err != nil || out != (workflow.ReminderOutcome{}) {
			t.Errorf("%s: reminder %+v (%v), want nothing", when, out, err)
		}
		if esc, err := w.EscalateFollowUp(t.Context(), srID); err != nil || esc {
			t.Errorf("%s: escalated %v (%v), want not", when, esc, err)
		}
		ms, err := m.Store.OutboundMessages(t.Context(), "", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, msg := range ms {
			if msg.Destination == socialrx.DestinationPatient {
				t.Errorf("%s: a message to the patient in the outbox: %+v", when, msg)
			}
		}
		if n := len(searchMatches(t, m, "Task", url.Values{"work-list": {"call-patient,print-letter"}, "focus": {"Task/" + fuID}})); n != 0 {
			t.Errorf("%s: %d staff Tasks to reach the patient, want none", when, n)
		}
		// The link: the friendly page, never the form.
		resp, body := do(t, "GET", link, nil)
		if resp.StatusCode != http.StatusGone || !bytes.Contains(body, []byte("No answer needed")) || bytes.Contains(body, []byte("<form")) {
			t.Errorf("%s: link %d\n%s", when, resp.StatusCode, body)
		}
		r, err := http.PostForm(link, url.Values{"q.pursued": {"yes"}, "q.next-step": {"more-help"}})
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusGone {
			t.Errorf("%s: POST to the link %d, want 410", when, r.StatusCode)
		}
		if n := len(searchMatches(t, m, "QuestionnaireResponse", url.Values{"based-on": {"ServiceRequest/" + srID}})); n != 0 {
			t.Errorf("%s: %d answers stored, want none", when, n)
		}
	}
	checkNothingReaches("after the " + status)

	// A follow-up Task opened again by hand on the withdrawn
	// prescription still reaches nobody: the prescription is checked too.
	reopenByHand(t, m, fuID)
	checkNothingReaches("follow-up Task reopened")
	if n := env.sms.Attempts() + len(env.smtp.Mails()); n != 0 {
		t.Errorf("%d texts or emails attempted, want none", n)
	}
}

// A reminder already in the outbox when the prescription is revoked is
// not sent: the text gateway answered 503 once, and the retry after the
// revoke sends nothing, and makes no call Task for the failed reminder;
// also when staff reopened the follow-up Task by hand meanwhile.
func TestRevokeStopsQueuedReminder(t *testing.T) {
	for _, be := range encounterBackends {
		t.Run(be.name, func(t *testing.T) {
			for _, reopen := range []bool{false, true} {
				t.Run(fmt.Sprintf("reopened=%v", reopen), func(t *testing.T) { testRevokeStopsQueuedReminder(t, be.database(t), reopen) })
			}
		})
	}
}

func testRevokeStopsQueuedReminder(t *testing.T, database string, reopen bool) {
	env := startReach(t, database, func(c *Config) { c.RetryBase = 3 * time.Second })
	env.sms.FailNext(503)
	m := env.m
	// Encounter 01's follow-up is already due: the reminder is queued at once.
	post := postEncounter(t, m, encounterWithTelecom(t, []map[string]any{{"system": "phone", "use": "mobile", "value": "+14165550187", "rank": 1}}))
	if post.status != http.StatusOK {
		t.Fatalf("POST encounter: %d %s", post.status, truncate(post.body))
	}
	srID := post.idOf(t, "ServiceRequest")
	eventually(t, "the first attempt at the gateway", func() bool { return env.sms.Attempts() == 1 })
	setPrescriptionStatus(t, m, srID, "revoked")
	fuID := workflow.FollowUpTaskID(srID)
	wantTaskStatus(t, m, fuID, "cancelled", "revoked")
	if reopen {
		reopenByHand(t, m, fuID)
	}
	// Cancelled, not failed: nothing went wrong, it is no longer needed.
	eventually(t, "the reminder ended in the outbox", func() bool {
		cancelled, err := m.Store.OutboundMessages(t.Context(), socialrx.DeliveryCancelled, 10)
		return err == nil && len(cancelled) == 1
	})
	if failed, err := m.Store.OutboundMessages(t.Context(), socialrx.DeliveryFailed, 10); err != nil || len(failed) != 0 {
		t.Errorf("%d failed messages (%v), want none", len(failed), err)
	}
	if n, ok := env.sms.Attempts(), len(env.sms.Requests()); n != 1 || ok != 0 {
		t.Errorf("gateway: %d attempts, %d texts accepted; want 1 (the 503) and none", n, ok)
	}
	// The failed reminder makes no call Task: the follow-up is over.
	if n := len(searchMatches(t, m, "Task", url.Values{"work-list": {"call-patient"}, "focus": {"Task/" + fuID}})); n != 0 {
		t.Errorf("%d call Tasks, want none", n)
	}
}

// Staff call and letter Tasks made before the revoke are cancelled.
func TestRevokeCancelsStaffTasks(t *testing.T) {
	for _, be := range encounterBackends {
		t.Run(be.name, func(t *testing.T) {
			for _, tc := range []struct {
				name, list string
				telecom    []map[string]any
			}{
				{"call", "call-patient", []map[string]any{{"system": "phone", "use": "home", "value": "416-555-0100"}}},
				{"letter", "print-letter", []map[string]any{}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					env := startReach(t, be.database(t), nil)
					post := postEncounter(t, env.m, encounterWithTelecom(t, tc.telecom))
					if post.status != http.StatusOK {
						t.Fatalf("POST encounter: %d %s", post.status, truncate(post.body))
					}
					srID := post.idOf(t, "ServiceRequest")
					fuID := workflow.FollowUpTaskID(srID)
					q := url.Values{"work-list": {tc.list}, "focus": {"Task/" + fuID}, "status": {"requested"}}
					eventually(t, "the "+tc.list+" Task", func() bool { return len(searchMatches(t, env.m, "Task", q)) == 1 })
					staffID := searchMatches(t, env.m, "Task", q)[0]["id"].(string)
					setPrescriptionStatus(t, env.m, srID, "revoked")
					if n := len(searchMatches(t, env.m, "Task", q)); n != 0 {
						t.Errorf("Task?%s after the revoke: %d, want none", q.Encode(), n)
					}
					wantTaskStatus(t, env.m, staffID, "cancelled", "revoked")
					wantTaskStatus(t, env.m, workflow.PatientTaskID(srID), "cancelled", "revoked")
				})
			}
		})
	}
}

// An answered follow-up closes the Tasks for reaching the patient: the
// call Tasks (follow-up-due and overdue) and the letter are cancelled,
// the patient Task completed (pursued yes or partly) or cancelled (no).
// The answer withdrawn (DELETE), they are requested again.
func TestAnswerClosesReachTasks(t *testing.T) {
	for _, be := range encounterBackends {
		t.Run(be.name, func(t *testing.T) {
			t.Run("call and overdue call, answered by staff", func(t *testing.T) {
				env := startReach(t, be.database(t), func(c *Config) { c.FollowUpEscalateAfter = time.Second })
				m := env.m
				post := postEncounter(t, m, encounterWithTelecom(t, []map[string]any{{"system": "phone", "use": "home", "value": "416-555-0100"}}))
				if post.status != http.StatusOK {
					t.Fatalf("POST encounter: %d %s", post.status, truncate(post.body))
				}
				srID, patientID := post.idOf(t, "ServiceRequest"), post.idOf(t, "Patient")
				fuID := workflow.FollowUpTaskID(srID)
				q := url.Values{"work-list": {"call-patient"}, "focus": {"Task/" + fuID}, "status": {"requested"}}
				eventually(t, "the call and the overdue call", func() bool { return len(searchMatches(t, m, "Task", q)) == 2 })
				qr := fuQR(srID, patientID, fuLink("pursued", fuAnswer("follow-up-pursued", "no")),
					fuLink("next-step", fuAnswer("follow-up-next-step", "keep-going")))
				resp, body := do(t, "POST", m.URL()+"/fhir/QuestionnaireResponse", []byte(qr))
				if resp.StatusCode != http.StatusCreated {
					t.Fatalf("POST QuestionnaireResponse: %d %s", resp.StatusCode, truncate(body))
				}
				qrID, _ := decodeJSON(t, body)["id"].(string)
				if n := len(searchMatches(t, m, "Task", q)); n != 0 {
					t.Errorf("call-patient requested after the answer: %d, want none", n)
				}
				for _, task := range searchMatches(t, m, "Task", url.Values{"work-list": {"call-patient"}, "focus": {"Task/" + fuID}}) {
					wantTaskStatus(t, m, task["id"].(string), "cancelled", "answered")
				}
				wantTaskStatus(t, m, fuID, "completed", "")
				wantTaskStatus(t, m, workflow.PatientTaskID(srID), "cancelled", "did not take up")

				// The answer withdrawn: staff must reach the patient again.
				if resp, body := do(t, "DELETE", m.URL()+"/fhir/QuestionnaireResponse/"+qrID, nil); resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
					t.Fatalf("DELETE QuestionnaireResponse: %d %s", resp.StatusCode, truncate(body))
				}
				if n := len(searchMatches(t, m, "Task", q)); n != 2 {
					t.Errorf("call-patient requested after the answer was withdrawn: %d, want the 2 again", n)
				}
				wantTaskStatus(t, m, workflow.PatientTaskID(srID), "requested", "")
			})
			t.Run("letter, answered by the link", func(t *testing.T) {
				env := startReach(t, be.database(t), nil)
				m := env.m
				post := postEncounter(t, m, encounterWithTelecom(t, []map[string]any{}))
				if post.status != http.StatusOK {
					t.Fatalf("POST encounter: %d %s", post.status, truncate(post.body))
				}
				srID := post.idOf(t, "ServiceRequest")
				fuID := workflow.FollowUpTaskID(srID)
				q := url.Values{"work-list": {"print-letter"}, "focus": {"Task/" + fuID}, "status": {"requested"}}
				eventually(t, "the letter", func() bool { return len(searchMatches(t, m, "Task", q)) == 1 })
				letterID := searchMatches(t, m, "Task", q)[0]["id"].(string)
				link, _, _ := reachWorkflow(t, m).FormLink(fuID, time.Now())
				answerOverHTTP(t, link) // pursued partly
				if n := len(searchMatches(t, m, "Task", q)); n != 0 {
					t.Errorf("print-letter requested after the answer: %d, want none", n)
				}
				wantTaskStatus(t, m, letterID, "cancelled", "answered")
				wantTaskStatus(t, m, workflow.PatientTaskID(srID), "completed", "took up")
			})
		})
	}
}
