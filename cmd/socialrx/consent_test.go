package main

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/pgtest"
)

// Consent-gated sharing end to end (serve --require-consent), on both
// stores, with the in-process platform and EMR of the warm hand-off tests:
// a hand-off without Consent is held and nothing reaches the platform;
// recording the Consent (the README's curl) releases it and the platform
// gets exactly one message; deleting the Consent holds it again and
// nothing more goes to the platform, while the platform's own updates are
// still written back to the EMR.
func TestConsentGatedHandoff(t *testing.T) {
	for _, b := range []struct {
		name string
		db   func(t *testing.T) string
	}{{"SQLite", sqliteDatabase}, {"PostgreSQL", func(t *testing.T) string { return pgtest.NewDatabase(t) }}} {
		t.Run(b.name, func(t *testing.T) { testConsentGatedHandoff(t, b.db(t)) })
	}
}

// readmeConsent returns the Consent JSON of the README's "Consent" curl,
// with its example ids replaced by patientID and programRef.
func readmeConsent(t *testing.T, patientID, programRef string) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "curl -s -X PUT http://127.0.0.1:8080/fhir/Consent/")
	if !ok {
		t.Fatal("README has no curl recording a Consent")
	}
	_, rest, _ = strings.Cut(rest, "-d '")
	body, _, ok := strings.Cut(rest, "'")
	if !ok || !strings.Contains(body, `"resourceType":"Consent"`) {
		t.Fatalf("README's Consent curl has no body: %q", body)
	}
	body = strings.ReplaceAll(body, "Patient/pat-1", "Patient/"+patientID)
	return strings.ReplaceAll(body, "Organization/east-housing-org", programRef)
}

// taskOf reads Task/id's status and statusReason coding code.
func taskOf(t *testing.T, env *handoffEnv, id string) (status, hold string) {
	t.Helper()
	resp, body := do(t, "GET", env.m.URL()+"/fhir/Task/"+id, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET Task/%s: %d %s", id, resp.StatusCode, body)
	}
	var task struct {
		Status       string
		StatusReason struct {
			Coding []struct{ System, Code string }
			Text   string
		}
	}
	_ = json.Unmarshal(body, &task)
	for _, c := range task.StatusReason.Coding {
		if c.System == socialrx.CodeSystemBase+"referral-hold" {
			hold = c.Code
		}
	}
	return task.Status, hold
}

func testConsentGatedHandoff(t *testing.T, database string) {
	env := startHandoffWith(t, database, nil, func(cfg *Config) { cfg.RequireConsent = true })
	resp, body := do(t, "POST", env.m.URL()+"/fhir", []byte(demoEncounter("41")))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("encounter: %d %s", resp.StatusCode, body)
	}
	ids := entryIDs(body)
	hsID, patientID, srID, taskID := ids[2], ids[3], ids[4], ids[5]
	platformMessages := func() int {
		t.Helper()
		ms, err := env.m.Store.OutboundMessages(t.Context(), "", 0)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range ms {
			if m.Destination == socialrx.DestinationPlatform && m.State != socialrx.DeliveryCancelled {
				n++
			}
		}
		return n
	}

	// Held: on-hold with the reason, on the consent work list, nothing
	// queued for the platform (messages are recorded in the writing
	// transaction, so the outbox tells at once).
	if st, hold := taskOf(t, env, taskID); st != "on-hold" || hold != socialrx.HoldConsentNeeded {
		t.Fatalf("Task without Consent: %q %q, want on-hold consent-needed", st, hold)
	}
	list := env.m.URL() + "/fhir/Task?work-list=consent-needed"
	if _, b := do(t, "GET", list, nil); !strings.Contains(string(b), `"total":1`) || !strings.Contains(string(b), `"id":"`+taskID+`"`) {
		t.Errorf("consent-needed work list: %s", truncate(b))
	}
	if n := platformMessages(); n != 0 {
		t.Fatalf("%d messages for the platform without Consent, want 0", n)
	}
	// The chart is told of the hold: the clinician is the one who can get
	// the patient's consent.
	eventually(t, "the write-back of the hold", func() bool {
		for _, w := range env.emr.Writes() {
			if w.Type == "Task" && strings.Contains(string(w.Body), `"status":"on-hold"`) && strings.Contains(string(w.Body), socialrx.HoldConsentNeeded) {
				return true
			}
		}
		return false
	})

	// The README's Consent, naming the program (here its HealthcareService).
	consent := readmeConsent(t, patientID, "HealthcareService/"+hsID)
	if resp, b := do(t, "PUT", env.m.URL()+"/fhir/Consent/consent-pat-1", []byte(consent)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT Consent: %d %s", resp.StatusCode, b)
	}
	eventually(t, "the add-service-request", func() bool { return len(env.platform.Messages()) == 1 })
	if m := env.platform.Messages()[0]; m.Event != string(socialrx.EventAddServiceRequest) || m.Focus != "ServiceRequest/"+srID {
		t.Errorf("message: %s %s", m.Event, m.Focus)
	}
	if st, hold := taskOf(t, env, taskID); st != "requested" || hold != "" {
		t.Errorf("released Task: %q %q, want requested", st, hold)
	}
	// The chart, told of the hold, is told of the release.
	eventually(t, "the write-back of the release", func() bool {
		ws := env.emr.Writes()
		for i := len(ws) - 1; i >= 0; i-- {
			if ws[i].Type == "Task" {
				return strings.Contains(string(ws[i].Body), `"status":"requested"`)
			}
		}
		return false
	})
	if _, b := do(t, "GET", list, nil); !strings.Contains(string(b), `"total":0`) {
		t.Errorf("consent-needed work list after the Consent: %s", truncate(b))
	}
	eventually(t, "the referral to show delivered", func() bool { return env.referral(t, patientID).DeliveryState == socialrx.DeliveryDelivered })

	// The platform accepts it: written back to the EMR as usual.
	accepted := PlatformMessage("33333333-0000-4000-8000-000000000001", "notify-update-process-request", "Task/"+taskID, PlatformTask(taskID, srID, "accepted", ""))
	if status, reply := env.send(t, accepted, hoInbound); status != 200 {
		t.Fatalf("accepted: %d %v", status, reply)
	}

	// Revoked by deleting the Consent: held again (consent-revoked), and
	// nothing more goes to the platform: not the practice's note, not its
	// cancellation.
	if resp, b := do(t, "DELETE", env.m.URL()+"/fhir/Consent/consent-pat-1", nil); resp.StatusCode/100 != 2 {
		t.Fatalf("DELETE Consent: %d %s", resp.StatusCode, b)
	}
	if st, hold := taskOf(t, env, taskID); st != "on-hold" || hold != socialrx.HoldConsentRevoked {
		t.Errorf("after the revocation: %q %q, want on-hold consent-revoked", st, hold)
	}
	note := `{"resourceType":"Communication","status":"completed","partOf":[{"reference":"Task/` + taskID + `"}],"payload":[{"contentString":"Please call her."}]}`
	if resp, b := do(t, "POST", env.m.URL()+"/fhir/Communication", []byte(note)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("note: %d %s", resp.StatusCode, b)
	}
	_, cur := do(t, "GET", env.m.URL()+"/fhir/Task/"+taskID, nil)
	cancelled := strings.Replace(string(cur), `"status":"on-hold"`, `"status":"cancelled"`, 1)
	if resp, b := do(t, "PUT", env.m.URL()+"/fhir/Task/"+taskID, []byte(cancelled)); resp.StatusCode != http.StatusOK {
		t.Fatalf("cancel the held referral: %d %s", resp.StatusCode, b)
	}
	if n := platformMessages(); n != 1 {
		t.Errorf("%d messages for the platform after the revocation, want still 1", n)
	}
	// The EMR still hears of the platform's accept (its own record).
	eventually(t, "the write-back of accepted", func() bool {
		for _, w := range env.emr.Writes() {
			if strings.Contains(string(w.Body), `"status":"accepted"`) {
				return true
			}
		}
		return false
	})
	eventually(t, "the outbox to drain", func() bool {
		ms, err := env.m.Store.OutboundMessages(t.Context(), socialrx.DeliveryPending, 0)
		return err == nil && len(ms) == 0
	})
	if n := len(env.platform.Messages()); n != 1 {
		t.Errorf("the platform received %d messages, want exactly 1", n)
	}
	for id, n := range env.platform.Deliveries() {
		if n != 1 {
			t.Errorf("message %s delivered %d times", id, n)
		}
	}
}
