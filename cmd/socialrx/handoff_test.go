package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/pgtest"
)

// The warm hand-off loop end to end, on both stores: an encounter in, the
// eReferral message delivered to an Ocean-style platform, status updates
// and an appointment back in on $process-messages, and each written back to
// the practice's EMR. Real servers throughout (httptest for the platform
// and the EMR, the real socialrx Main).

const (
	hoInbound = "inbound-bearer-ocean-east-0123456789"
	hoClient  = "socialrx-riverdale"
	hoSecret  = "s3cret-riverdale"
)

// handoffEnv is a running socialrx with a fake platform and a fake EMR.
type handoffEnv struct {
	m        *Main
	platform *FakePlatform
	emr      *FakeEMR
}

func startHandoff(t *testing.T, database string, tweak func(*FakePlatform)) *handoffEnv {
	t.Helper()
	return startHandoffWith(t, database, tweak, nil)
}

// startHandoffWith is startHandoff with a change to the server's Config.
func startHandoffWith(t *testing.T, database string, tweak func(*FakePlatform), tweakCfg func(*Config)) *handoffEnv {
	t.Helper()
	p := NewFakePlatform(hoClient, hoSecret)
	if tweak != nil {
		tweak(p)
	}
	ps := httptest.NewServer(p)
	t.Cleanup(ps.Close)
	e := NewFakeEMR()
	es := httptest.NewServer(e)
	t.Cleanup(es.Close)
	creds := filepath.Join(t.TempDir(), "credentials.json")
	if err := writeCredentials(creds, ps.URL, hoClient, hoSecret, hoInbound); err != nil {
		t.Fatal(err)
	}
	m := startMainWith(t, database, func(cfg *Config) {
		cfg.Credentials = creds
		cfg.RetryBase = 50 * time.Millisecond
		cfg.JobTimeout = 2 * time.Second
		cfg.HTTPTimeout = 0 // the clients' default, bounded by the 2s job timeout
		if tweakCfg != nil {
			tweakCfg(cfg)
		}
	})
	env := &handoffEnv{m: m, platform: p, emr: e}
	// The operator's set-up: the platform's and the EMR's Endpoints.
	env.put(t, "Endpoint/ocean-east", `{"resourceType":"Endpoint","id":"ocean-east","status":"active",
"connectionType":{"system":"http://terminology.hl7.org/CodeSystem/endpoint-connection-type","code":"hl7-fhir-msg"},
"payloadType":[{"text":"Ontario eReferral"}],"address":"`+ps.URL+`/fhir"}`)
	env.put(t, "Endpoint/emr-riverdale", `{"resourceType":"Endpoint","id":"emr-riverdale","status":"active",
"connectionType":{"system":"http://terminology.hl7.org/CodeSystem/endpoint-connection-type","code":"hl7-fhir-rest"},
"payloadType":[{"text":"FHIR"}],"address":"`+es.URL+`/fhir"}`)
	return env
}

func (env *handoffEnv) put(t *testing.T, path, body string) {
	t.Helper()
	resp, b := do(t, "PUT", env.m.URL()+"/fhir/"+path, []byte(body))
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT %s: %d %s", path, resp.StatusCode, b)
	}
}

// eventually polls cond until it holds or 30 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (env *handoffEnv) send(t *testing.T, body, token string) (int, map[string]any) {
	t.Helper()
	h := []string{}
	if token != "" {
		h = append(h, "Authorization", "Bearer "+token)
	}
	resp, b := do(t, "POST", env.m.URL()+"/fhir/$process-messages", []byte(body), h...)
	return resp.StatusCode, decodeJSON(t, b)
}

// encounter posts the demo's encounter Bundle (a warm hand-off by
// eReferral) and returns the ids of its Patient, ServiceRequest and
// referral Task.
func (env *handoffEnv) encounter(t *testing.T) (patientID, srID, taskID string) {
	t.Helper()
	resp, body := do(t, "POST", env.m.URL()+"/fhir", []byte(demoEncounter("1")))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("encounter: %d %s", resp.StatusCode, body)
	}
	ids := entryIDs(body)
	return ids[3], ids[4], ids[5]
}

func (env *handoffEnv) referral(t *testing.T, patientID string) socialrx.Referral {
	t.Helper()
	pp, err := env.m.Store.Projection(t.Context(), patientID)
	if err != nil || len(pp.Referrals) != 1 {
		t.Fatalf("projection: %v, %+v", err, pp)
	}
	return pp.Referrals[0]
}

func TestWarmHandoffLoop(t *testing.T) {
	for _, b := range []struct {
		name string
		db   func(t *testing.T) string
	}{{"SQLite", sqliteDatabase}, {"PostgreSQL", func(t *testing.T) string { return pgtest.NewDatabase(t) }}} {
		t.Run(b.name, func(t *testing.T) { testWarmHandoffLoop(t, b.db(t)) })
	}
}

func testWarmHandoffLoop(t *testing.T, database string) {
	env := startHandoff(t, database, nil)
	patientID, srID, taskID := env.encounter(t)

	// Out: the add-service-request reaches the platform, focused on the SR,
	// carrying the Task and the Patient; the referral shows delivered.
	eventually(t, "the add-service-request", func() bool { return len(env.platform.Messages()) == 1 })
	msg := env.platform.Messages()[0]
	if msg.Event != string(socialrx.EventAddServiceRequest) || msg.Focus != "ServiceRequest/"+srID {
		t.Errorf("message: event %q focus %q; want add-service-request on ServiceRequest/%s", msg.Event, msg.Focus, srID)
	}
	for _, want := range []string{`"Task/` + taskID + `"`, `"resourceType":"Patient"`, `"id":"` + taskID + `"`} {
		if !strings.Contains(string(msg.Body), want) && !strings.Contains(string(msg.Body), strings.Trim(want, `"`)) {
			t.Errorf("message lacks %s", want)
		}
	}
	eventually(t, "the referral to show delivered", func() bool { return env.referral(t, patientID).DeliveryState == socialrx.DeliveryDelivered })

	// In: bad messages are refused, nothing stored.
	before, _ := env.m.Store.Read(t.Context(), "Task", taskID)
	accepted := PlatformMessage("11111111-0000-4000-8000-000000000001", "notify-update-process-request", "Task/"+taskID, PlatformTask(taskID, srID, "accepted", ""))
	bad := []struct {
		name, body, token string
		status            int
	}{
		{"no token", accepted, "", 401},
		{"wrong token", accepted, "not-the-token-at-all", 401},
		{"not a Bundle", `{"resourceType":"Patient"}`, hoInbound, 400},
		{"not a message Bundle", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient"}}]}`, hoInbound, 400},
		{"MessageHeader not first", `{"resourceType":"Bundle","type":"message","entry":[{"fullUrl":"urn:uuid:1","resource":` + PlatformTask(taskID, srID, "accepted", "") + `},{"fullUrl":"urn:uuid:2","resource":{"resourceType":"MessageHeader","id":"x","eventCoding":{"system":"https://ehealthontario.ca/fhir/CodeSystem/message-event-code","code":"notify-update-process-request"},"source":{"endpoint":"x"}}}]}`, hoInbound, 400},
		{"unknown event", strings.Replace(accepted, "notify-update-process-request", "order-pizza", 1), hoInbound, 422},
		{"unknown referral", PlatformMessage("11111111-0000-4000-8000-000000000009", "notify-update-process-request", "Task/nope", PlatformTask("nope", "nope", "accepted", "")), hoInbound, 422},
		{"malformed JSON", `{"resourceType":"Bundle",`, hoInbound, 400},
	}
	for _, c := range bad {
		status, oo := env.send(t, c.body, c.token)
		if status != c.status || oo["resourceType"] != "OperationOutcome" {
			t.Errorf("%s: %d %v; want %d with an OperationOutcome", c.name, status, oo["resourceType"], c.status)
		}
	}
	if after, _ := env.m.Store.Read(t.Context(), "Task", taskID); after.VersionID != before.VersionID {
		t.Errorf("bad messages changed the Task: version %d → %d", before.VersionID, after.VersionID)
	}

	// An echo of socialrx's own message (the platform sent back the
	// add-service-request, same MessageHeader.id) changes nothing.
	echo := PlatformMessage(msg.ID, "notify-add-process-request", "Task/"+taskID, PlatformTask(taskID, srID, "rejected", "echo"))
	if status, oo := env.send(t, echo, hoInbound); status != 200 || !strings.Contains(mustJSON(oo), "already processed") {
		t.Errorf("echo: %d %s; want 200 with an information issue", status, mustJSON(oo))
	}
	if after, _ := env.m.Store.Read(t.Context(), "Task", taskID); after.VersionID != before.VersionID {
		t.Errorf("the echo changed the Task: version %d → %d", before.VersionID, after.VersionID)
	}

	// In: received (notify-add-process-request), accepted, then an
	// appointment, a message, completed; a duplicate and an illegal change.
	received := PlatformMessage("11111111-0000-4000-8000-000000000006", "notify-add-process-request", "Task/"+taskID, PlatformTask(taskID, srID, "received", ""))
	if status, reply := env.send(t, received, hoInbound); status != 200 {
		t.Fatalf("received: %d %v", status, reply)
	}
	if ref := env.referral(t, patientID); ref.Status != socialrx.ReferralReceived {
		t.Errorf("after notify-add-process-request: %q, want received", ref.Status)
	}
	status, reply := env.send(t, accepted, hoInbound)
	if status != 200 || reply["type"] != "message" {
		t.Fatalf("accepted: %d %v", status, reply)
	}
	if ref := env.referral(t, patientID); ref.Status != socialrx.ReferralAccepted {
		t.Errorf("after accepted: %q", ref.Status)
	}
	v1, _ := env.m.Store.Read(t.Context(), "Task", taskID)
	if status, _ := env.send(t, accepted, hoInbound); status != 200 {
		t.Errorf("duplicate: %d, want 200", status)
	}
	if v2, _ := env.m.Store.Read(t.Context(), "Task", taskID); v2.VersionID != v1.VersionID {
		t.Errorf("duplicate changed the Task: %d → %d", v1.VersionID, v2.VersionID)
	}
	appt := `{"resourceType":"Appointment","status":"booked","identifier":[{"system":"https://ocean.example/appointment","value":"A-77"}],
"start":"2026-12-01T15:00:00Z","end":"2026-12-01T15:30:00Z","participant":[{"actor":{"reference":"Patient/` + patientID + `"},"status":"accepted"}]}`
	if status, oo := env.send(t, PlatformMessage("11111111-0000-4000-8000-000000000002", "notify-add-appointment", "ServiceRequest/"+srID, appt), hoInbound); status != 200 {
		t.Fatalf("appointment: %d %v", status, oo)
	}
	comm := `{"resourceType":"Communication","status":"completed","identifier":[{"system":"https://ocean.example/communication","value":"C-5"}],
"sent":"2026-11-25T10:00:00Z","payload":[{"contentString":"Intake booked for December 1."}]}`
	if status, oo := env.send(t, PlatformMessage("11111111-0000-4000-8000-000000000005", "send-communication-from-provider", "Task/"+taskID, comm), hoInbound); status != 200 {
		t.Fatalf("communication: %d %v", status, oo)
	}
	if status, _ := env.send(t, PlatformMessage("11111111-0000-4000-8000-000000000003", "notify-update-process-request", "Task/"+taskID, PlatformTask(taskID, srID, "completed", "")), hoInbound); status != 200 {
		t.Fatalf("completed: %d", status)
	}
	status, reply = env.send(t, PlatformMessage("11111111-0000-4000-8000-000000000004", "notify-update-process-request", "Task/"+taskID, PlatformTask(taskID, srID, "in-progress", "")), hoInbound)
	if status != 200 || !strings.Contains(mustJSON(reply), "flagged") {
		t.Errorf("illegal completed → in-progress: %d %s; want 200 with a warning", status, mustJSON(reply))
	}
	if ref := env.referral(t, patientID); ref.Flag == "" || ref.Status != socialrx.ReferralInProgress {
		t.Errorf("after the illegal change: status %q flag %q; want kept and flagged", ref.Status, ref.Flag)
	}

	// Out: the practice adds a note to the referral over REST; it goes to
	// the platform as send-communication-from-requester, carrying the note.
	note := `{"resourceType":"Communication","status":"completed","partOf":[{"reference":"Task/` + taskID + `"}],
"payload":[{"contentString":"Please call her in the morning."}]}`
	if resp, b := do(t, "POST", env.m.URL()+"/fhir/Communication", []byte(note)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("practice note: %d %s", resp.StatusCode, b)
	}
	eventually(t, "the note at the platform", func() bool { return len(env.platform.Messages()) == 2 })
	if m := env.platform.Messages()[1]; m.Event != string(socialrx.EventCommunicationFromRequester) ||
		!strings.HasPrefix(m.Focus, "Communication/") || !strings.Contains(string(m.Body), "Please call her in the morning.") {
		t.Errorf("note message: event %s focus %s", m.Event, m.Focus)
	}

	// Write-back: the Task updates (accepted, completed, in-progress) by the
	// EMR's identifier, and the appointment created once.
	eventually(t, "the write-backs", func() bool { return len(env.emr.Writes()) >= 6 })
	var got []string
	for _, w := range env.emr.Writes() {
		var r struct{ Status string }
		_ = json.Unmarshal(w.Body, &r)
		got = append(got, w.Method+" "+w.Type+" "+w.Identifier+" "+r.Status)
		if strings.Contains(string(w.Body), `"id":`) {
			t.Errorf("write-back carries socialrx's id: %s", w.Body)
		}
	}
	want := []string{
		"PUT Task https://riverdale.example/referral-task|RT-1 received",
		"PUT Task https://riverdale.example/referral-task|RT-1 accepted",
		"POST Appointment https://ocean.example/appointment|A-77 booked",
		"POST Communication https://ocean.example/communication|C-5 completed",
		"PUT Task https://riverdale.example/referral-task|RT-1 completed",
		"PUT Task https://riverdale.example/referral-task|RT-1 in-progress",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("EMR writes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Each platform message was delivered once, under one id.
	for id, n := range env.platform.Deliveries() {
		if n != 1 {
			t.Errorf("message %s delivered %d times", id, n)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestDeliveryUnderFaults: a platform failing 30% of calls with 503 still
// gets every referral, each under one MessageHeader.id, none lost.
func TestDeliveryUnderFaults(t *testing.T) {
	for _, b := range []struct {
		name string
		db   func(t *testing.T) string
	}{{"SQLite", sqliteDatabase}, {"PostgreSQL", func(t *testing.T) string { return pgtest.NewDatabase(t) }}} {
		t.Run(b.name, func(t *testing.T) {
			env := startHandoff(t, b.db(t), func(p *FakePlatform) { p.FailRate = 0.3 })
			const n = 15
			for i := range n {
				resp, body := do(t, "POST", env.m.URL()+"/fhir", []byte(demoEncounter(fmt.Sprint(100+i))))
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("encounter %d: %d %s", i, resp.StatusCode, body)
				}
			}
			eventually(t, "every referral delivered", func() bool { return len(env.platform.Messages()) == n })
			focus := map[string]bool{}
			for _, m := range env.platform.Messages() {
				if m.Event != string(socialrx.EventAddServiceRequest) || focus[m.Focus] {
					t.Errorf("message %s: event %s focus %s (seen before: %v)", m.ID, m.Event, m.Focus, focus[m.Focus])
				}
				focus[m.Focus] = true
			}
			eventually(t, "the outbox to drain", func() bool {
				ms, err := env.m.Store.OutboundMessages(t.Context(), socialrx.DeliveryPending, 0)
				return err == nil && len(ms) == 0
			})
			ms, _ := env.m.Store.OutboundMessages(t.Context(), socialrx.DeliveryDelivered, 0)
			if len(ms) != n {
				t.Errorf("delivered messages: %d, want %d", len(ms), n)
			}
		})
	}
}

// TestDeliveryDeadLetter: a platform refusing the message (400) fails it
// for good at once: the referral shows failed with the platform's words,
// its Task is found by Task?delivery-state=failed, socialrx jobs lists it.
func TestDeliveryDeadLetter(t *testing.T) {
	env := startHandoff(t, sqliteDatabase(t), func(p *FakePlatform) { p.Reject = "ServiceRequest.performer: program not on this platform" })
	resp, body := do(t, "POST", env.m.URL()+"/fhir", []byte(demoEncounter("7")))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("encounter: %d %s", resp.StatusCode, body)
	}
	var failed []socialrx.OutboundMessage
	eventually(t, "the message to fail", func() bool {
		failed, _ = env.m.Store.OutboundMessages(t.Context(), socialrx.DeliveryFailed, 0)
		return len(failed) == 1
	})
	_, metricsText := do(t, "GET", env.m.URL()+"/metrics", nil)
	if !strings.Contains(string(metricsText), `socialrx_outbound_attempts_total{destination="platform",outcome="failed"} 1`) {
		t.Errorf("/metrics lacks the dead letter: %s", grepLines(metricsText, "socialrx_outbound"))
	}
	if m := failed[0]; m.Attempts != 1 || !strings.Contains(m.Error, "program not on this platform") || !strings.Contains(m.Error, "400") {
		t.Errorf("failed message: attempts %d error %q", m.Attempts, m.Error)
	}
	resp, body = do(t, "GET", env.m.URL()+"/fhir/Task?delivery-state=failed", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"total":1`) || !strings.Contains(string(body), "program not on this platform") {
		t.Errorf("Task?delivery-state=failed: %d %s", resp.StatusCode, truncate(body))
	}
	if n := len(env.platform.Messages()); n != 0 {
		t.Errorf("platform accepted %d messages, want 0", n)
	}
}

// TestFaxHandoffWorkList: an EMR sends a warm hand-off to a fax-only
// program with no referral Task; socialrx creates one on the staff work
// list (send-fax), and no message goes anywhere.
func TestFaxHandoffWorkList(t *testing.T) {
	env := startHandoff(t, sqliteDatabase(t), nil)
	env.faxEncounter(t, "55")
	list := env.m.URL() + "/fhir/Task?work-list=send-fax&status=requested"
	var b []byte
	eventually(t, "the send-fax work-list Task", func() bool {
		_, b = do(t, "GET", list, nil)
		return strings.Contains(string(b), `"total":1`)
	})
	for _, want := range []string{`"id":"hf-`, `"code":"fulfill"`, `"status":"requested"`, `"identifier":[{"system":"http://socialrx.dev/fhir/sid/handoff-task"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("work-list Task lacks %s: %s", want, truncate(b))
		}
	}
	if n := len(env.platform.Messages()); n != 0 {
		t.Errorf("a fax hand-off reached the eReferral platform: %d messages", n)
	}
}

// TestReceivingSide: socialrx hosts a navigator program; a platform sends
// it a referral (add-service-request). socialrx stores it, answers received
// (a notify-add-process-request back to the platform), sends the staff's
// later change back, and cancels it on revoke-service-request, sending
// nothing back for the platform's own change.
func TestReceivingSide(t *testing.T) {
	for _, b := range []struct {
		name string
		db   func(t *testing.T) string
	}{{"SQLite", sqliteDatabase}, {"PostgreSQL", func(t *testing.T) string { return pgtest.NewDatabase(t) }}} {
		t.Run(b.name, func(t *testing.T) { testReceivingSide(t, b.db(t)) })
	}
}

func testReceivingSide(t *testing.T, database string) {
	env := startHandoff(t, database, nil)
	env.put(t, "HealthcareService/navigator-east", `{"resourceType":"HealthcareService","id":"navigator-east","active":true,"name":"East social prescribing navigators",
"endpoint":[{"reference":"Endpoint/ocean-east"}]}`)
	add := `{"resourceType":"Bundle","type":"message","timestamp":"2026-11-24T09:00:00Z","entry":[
{"fullUrl":"https://ocean.example/fhir/MessageHeader/22222222-0000-4000-8000-000000000001","resource":{"resourceType":"MessageHeader","id":"22222222-0000-4000-8000-000000000001",
 "eventCoding":{"system":"https://ehealthontario.ca/fhir/CodeSystem/message-event-code","code":"add-service-request"},
 "source":{"endpoint":"https://ocean.example/fhir"},"focus":[{"reference":"ServiceRequest/sr-77"}]}},
{"fullUrl":"https://ocean.example/fhir/ServiceRequest/sr-77","resource":{"resourceType":"ServiceRequest","id":"sr-77","status":"active","intent":"order",
 "identifier":[{"system":"https://ocean.example/referral","value":"R-77"}],
 "category":[{"coding":[{"system":"http://snomed.info/sct","code":"410606002","display":"Social service procedure"}]}],
 "code":{"coding":[{"system":"http://snomed.info/sct","code":"710925007","display":"Provision of social service"}]},
 "subject":{"reference":"Patient/pat-9"},"authoredOn":"2026-11-24T08:55:00Z",
 "requester":{"reference":"PractitionerRole/role-3"},"performer":[{"reference":"HealthcareService/navigator-east"}]}},
{"fullUrl":"https://ocean.example/fhir/Patient/pat-9","resource":{"resourceType":"Patient","id":"pat-9","identifier":[{"system":"https://health.gov.on.ca/ohip","value":"5550001112"}],"name":[{"family":"Nguyen"}]}},
{"fullUrl":"https://ocean.example/fhir/PractitionerRole/role-3","resource":{"resourceType":"PractitionerRole","id":"role-3","active":true}}]}`
	status, reply := env.send(t, add, hoInbound)
	if status != 200 || !strings.Contains(mustJSON(reply), "referral received as Task/") {
		t.Fatalf("add-service-request: %d %s", status, mustJSON(reply))
	}
	// The referral is here, received, Incoming, from ocean-east.
	resp, body := do(t, "GET", env.m.URL()+"/fhir/ServiceRequest?identifier=https://ocean.example/referral|R-77", nil)
	var sb struct {
		Total int
		Entry []struct{ Resource struct{ ID string } }
	}
	if json.Unmarshal(body, &sb) != nil || resp.StatusCode != 200 || sb.Total != 1 {
		t.Fatalf("the received ServiceRequest: %d %s", resp.StatusCode, truncate(body))
	}
	srID := sb.Entry[0].Resource.ID
	resp, body = do(t, "GET", env.m.URL()+"/fhir/Task?focus=ServiceRequest/"+srID+"&code=http://hl7.org/fhir/CodeSystem/task-code|fulfill", nil)
	var tb struct {
		Total int
		Entry []struct{ Resource json.RawMessage }
	}
	if json.Unmarshal(body, &tb) != nil || tb.Total != 1 {
		t.Fatalf("the referral Task: %d %s", resp.StatusCode, truncate(body))
	}
	var task struct {
		ID, Status string
		Owner      struct{ Reference string }
		For        struct{ Reference string }
	}
	_ = json.Unmarshal(tb.Entry[0].Resource, &task)
	if task.Status != "received" || task.Owner.Reference != "HealthcareService/navigator-east" {
		t.Errorf("referral Task: status %q owner %q; want received, owned by the local program", task.Status, task.Owner.Reference)
	}
	patientID := strings.TrimPrefix(task.For.Reference, "Patient/")
	if r := env.referral(t, patientID); !r.Incoming || r.EndpointID != "ocean-east" {
		t.Errorf("referral: incoming %v endpoint %q", r.Incoming, r.EndpointID)
	}
	// received goes back to the platform.
	eventually(t, "notify-add-process-request at the platform", func() bool { return len(env.platform.Messages()) == 1 })
	if m := env.platform.Messages()[0]; m.Event != string(socialrx.EventNotifyAddProcessRequest) {
		t.Errorf("message back: %s, want notify-add-process-request", m.Event)
	}
	// A resend of the referral changes nothing.
	if status, _ := env.send(t, add, hoInbound); status != 200 {
		t.Errorf("resend: %d", status)
	}
	// Staff accept it over REST: the change goes back too.
	_, cur := do(t, "GET", env.m.URL()+"/fhir/Task/"+task.ID, nil)
	accepted := strings.Replace(string(cur), `"status":"received"`, `"status":"accepted"`, 1)
	if resp, b := do(t, "PUT", env.m.URL()+"/fhir/Task/"+task.ID, []byte(accepted)); resp.StatusCode != 200 {
		t.Fatalf("staff accept: %d %s", resp.StatusCode, b)
	}
	eventually(t, "notify-update-process-request at the platform", func() bool { return len(env.platform.Messages()) == 2 })
	if m := env.platform.Messages()[1]; m.Event != string(socialrx.EventNotifyUpdateProcessRequest) {
		t.Errorf("second message back: %s", m.Event)
	}
	// The program's staff book an intake and write a note: both go back.
	for _, r := range []struct{ typ, body string }{
		{"Appointment", `{"resourceType":"Appointment","status":"booked","basedOn":[{"reference":"ServiceRequest/` + srID + `"}],"start":"2026-12-02T15:00:00Z","end":"2026-12-02T15:30:00Z","participant":[{"actor":{"reference":"Patient/` + patientID + `"},"status":"accepted"}]}`},
		{"Communication", `{"resourceType":"Communication","status":"completed","partOf":[{"reference":"Task/` + task.ID + `"}],"payload":[{"contentString":"Intake booked."}]}`},
	} {
		if resp, b := do(t, "POST", env.m.URL()+"/fhir/"+r.typ, []byte(r.body)); resp.StatusCode != http.StatusCreated {
			t.Fatalf("staff %s: %d %s", r.typ, resp.StatusCode, b)
		}
	}
	eventually(t, "the booking and the note at the platform", func() bool { return len(env.platform.Messages()) == 4 })
	if got := []string{env.platform.Messages()[2].Event, env.platform.Messages()[3].Event}; got[0] != string(socialrx.EventNotifyAddAppointment) || got[1] != string(socialrx.EventCommunicationFromProvider) {
		t.Errorf("messages back: %v, want notify-add-appointment, send-communication-from-provider", got)
	}

	// The requester withdraws it.
	revoke := PlatformMessage("22222222-0000-4000-8000-000000000002", "revoke-service-request", "ServiceRequest/sr-77")
	if status, reply := env.send(t, revoke, hoInbound); status != 200 {
		t.Fatalf("revoke: %d %s", status, mustJSON(reply))
	}
	if r := env.referral(t, patientID); r.Status != socialrx.ReferralCancelled {
		t.Errorf("after revoke: %q, want cancelled", r.Status)
	}
	_, srBody := do(t, "GET", env.m.URL()+"/fhir/ServiceRequest/"+srID, nil)
	if !strings.Contains(string(srBody), `"status":"revoked"`) {
		t.Errorf("ServiceRequest after revoke: %s", truncate(srBody))
	}
	// Nothing of the platform's own change goes back to it: messages are
	// recorded in the writing transaction, so the outbox tells at once.
	if ms, err := env.m.Store.OutboundMessages(t.Context(), "", 0); err != nil || len(ms) != 4 {
		t.Errorf("outbox after the revoke: %d messages (%v), want 4", len(ms), err)
	}
}

// TestConcurrentConditionalCreates: encounters posted at once that
// conditionally create the same Organization, PractitionerRole and
// HealthcareService create each exactly once (PostgreSQL runs them in
// parallel; before the conditional writes locked their condition, two of
// them could both see no match and both create, and every later encounter
// was refused with 412).
func TestConcurrentConditionalCreates(t *testing.T) {
	for _, b := range []struct {
		name string
		db   func(t *testing.T) string
	}{{"SQLite", sqliteDatabase}, {"PostgreSQL", func(t *testing.T) string { return pgtest.NewDatabase(t) }}} {
		t.Run(b.name, func(t *testing.T) {
			env := startHandoffWith(t, b.db(t), nil, func(c *Config) { c.Workers = 0 })
			const n = 8
			var wg sync.WaitGroup
			codes := make([]int, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req, _ := http.NewRequest("POST", env.m.URL()+"/fhir", strings.NewReader(demoEncounter(fmt.Sprint(700+i))))
					req.Header.Set("Content-Type", "application/fhir+json")
					if resp, err := http.DefaultClient.Do(req); err == nil {
						codes[i] = resp.StatusCode
						resp.Body.Close()
					}
				}()
			}
			wg.Wait()
			for i, c := range codes {
				if c != http.StatusOK {
					t.Errorf("encounter %d: %d, want 200", i, c)
				}
			}
			for _, q := range []string{"Organization?identifier=https://riverdale.example/org|riverdale",
				"PractitionerRole?identifier=https://riverdale.example/role|gp-1",
				"HealthcareService?identifier=https://riverdale.example/program|east-housing"} {
				_, b := do(t, "GET", env.m.URL()+"/fhir/"+q, nil)
				if !strings.Contains(string(b), `"total":1`) {
					t.Errorf("%s: %s, want exactly one", q, truncate(b))
				}
			}
		})
	}
}

// grepLines returns the lines of b containing s.
func grepLines(b []byte, s string) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestProcessMessagesHostileContent: well-formed messages whose resources
// are wrong in every way a platform could get them wrong are refused with a
// 4xx OperationOutcome (never a 5xx), and nothing of them is stored.
func TestProcessMessagesHostileContent(t *testing.T) {
	env := startHandoff(t, sqliteDatabase(t), nil)
	_, srID, taskID := env.encounter(t)
	task := func(extra string) string {
		return `{"resourceType":"Task","id":"` + taskID + `","intent":"order","code":{"coding":[{"system":"http://hl7.org/fhir/CodeSystem/task-code","code":"fulfill"}]},"focus":{"reference":"ServiceRequest/` + srID + `"}` + extra + `}`
	}
	n := 0
	msg := func(event, focus string, resources ...string) string {
		n++
		return PlatformMessage(fmt.Sprintf("33333333-0000-4000-8000-%012d", n), event, focus, resources...)
	}
	appt := func(extra string) string {
		return `{"resourceType":"Appointment","status":"booked","participant":[{"status":"accepted"}]` + extra + `}`
	}
	cases := []struct{ name, body string }{
		{"unknown status", msg("notify-update-process-request", "Task/"+taskID, task(`,"status":"bogus"`))},
		{"no status", msg("notify-update-process-request", "Task/"+taskID, task(``))},
		{"status a number", msg("notify-update-process-request", "Task/"+taskID, task(`,"status":5`))},
		{"businessStatus a string", msg("notify-update-process-request", "Task/"+taskID, task(`,"status":"accepted","businessStatus":"booked"`))},
		{"statusReason an array", msg("notify-update-process-request", "Task/"+taskID, task(`,"status":"rejected","statusReason":[{"text":"full"}]`))},
		{"output an object", msg("notify-update-process-request", "Task/"+taskID, task(`,"status":"accepted","output":{"type":{}}`))},
		{"lastModified not a date", msg("notify-update-process-request", "Task/"+taskID, task(`,"status":"accepted","lastModified":"yesterday"`))},
		{"rejected without a reason", msg("notify-update-process-request", "Task/"+taskID, task(`,"status":"rejected"`))},
		{"no Task in a process-request", msg("notify-update-process-request", "Task/"+taskID)},
		{"Task id with a slash", msg("notify-update-process-request", "Task/x", strings.Replace(task(`,"status":"accepted"`), `"id":"`+taskID+`"`, `"id":"a/b"`, 1))},
		{"appointment with a wrong type", msg("notify-add-appointment", "ServiceRequest/"+srID, appt(`,"start":5`))},
		{"appointment, unknown element type", msg("notify-add-appointment", "ServiceRequest/"+srID, appt(`,"participant":"x"`))},
		{"appointment about nothing", msg("notify-add-appointment", "ServiceRequest/nope", appt(``))},
		// R4 rules (issue 12) hold for what platforms send as for REST writes.
		{"Task without its required intent", msg("notify-update-process-request", "Task/"+taskID,
			strings.Replace(task(`,"status":"accepted"`), `"intent":"order",`, ``, 1))},
		{"appointment without its required participant", msg("notify-add-appointment", "ServiceRequest/"+srID,
			`{"resourceType":"Appointment","status":"booked"}`)},
		{"communication with a wrong type", msg("send-communication-from-provider", "Task/"+taskID, `{"resourceType":"Communication","status":"completed","payload":{"contentString":"x"}}`)},
		{"add-service-request without its ServiceRequest", msg("add-service-request", "ServiceRequest/missing")},
		{"add-service-request, invalid ServiceRequest", msg("add-service-request", "ServiceRequest/s1",
			`{"resourceType":"ServiceRequest","id":"s1","status":"active","intent":"order","category":[{"coding":[{"system":"http://snomed.info/sct","code":"410606002"}]}]}`)},
		{"add-service-request, resource of a wrong type", msg("add-service-request", "ServiceRequest/s2",
			`{"resourceType":"ServiceRequest","id":"s2","status":"active","intent":"order","subject":"Patient/p"}`)},
		{"revoke of an unknown referral", msg("revoke-service-request", "ServiceRequest/nope")},
		{"entry without resourceType", `{"resourceType":"Bundle","type":"message","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"MessageHeader","id":"h1","eventCoding":{"system":"https://ehealthontario.ca/fhir/CodeSystem/message-event-code","code":"notify-update-process-request"},"source":{"endpoint":"x"}}},{"fullUrl":"urn:uuid:2","resource":{"status":"accepted"}}]}`},
	}
	before, _ := env.m.Store.Read(t.Context(), "Task", taskID)
	for _, c := range cases {
		status, oo := env.send(t, c.body, hoInbound)
		if status < 400 || status >= 500 || oo["resourceType"] != "OperationOutcome" {
			t.Errorf("%s: %d %s; want a 4xx OperationOutcome", c.name, status, truncate([]byte(mustJSON(oo))))
		}
	}
	if after, _ := env.m.Store.Read(t.Context(), "Task", taskID); after.VersionID != before.VersionID {
		t.Errorf("hostile messages changed the referral Task: version %d → %d", before.VersionID, after.VersionID)
	}
	for _, typ := range []string{"Appointment", "Communication"} {
		if _, b := do(t, "GET", env.m.URL()+"/fhir/"+typ, nil); !strings.Contains(string(b), `"total":0`) {
			t.Errorf("%s stored from a refused message: %s", typ, truncate(b))
		}
	}
	if _, b := do(t, "GET", env.m.URL()+"/fhir/ServiceRequest?_summary=count", nil); !strings.Contains(string(b), `"total":1`) {
		t.Errorf("ServiceRequests after refused add-service-requests: %s, want only the encounter's", truncate(b))
	}
	if ms, _ := env.m.Store.OutboundMessages(t.Context(), "", 0); len(ms) != 1 {
		t.Errorf("outbox: %d messages, want only the encounter's add-service-request", len(ms))
	}
}

// lockedBuffer is a bytes.Buffer safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestNoPHIInDeliveryLogs: a delivery refused with the patient's details in
// the platform's answer, a status update, a practice note and a bad
// message, all logged at debug level: no name, health number, note text or
// receiver's words reach the log.
func TestNoPHIInDeliveryLogs(t *testing.T) {
	var logs lockedBuffer
	p := NewFakePlatform(hoClient, hoSecret)
	p.Reject = "Patient Quillfeather Ysolde OHIP 900001 already referred"
	ps := httptest.NewServer(p)
	t.Cleanup(ps.Close)
	creds := filepath.Join(t.TempDir(), "credentials.json")
	if err := writeCredentials(creds, ps.URL, hoClient, hoSecret, hoInbound); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Listen, cfg.Database, cfg.Credentials, cfg.RetryBase = "127.0.0.1:0", sqliteDatabase(t), creds, 50*time.Millisecond
	m := NewMain(cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err := m.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	env := &handoffEnv{m: m, platform: p}
	env.put(t, "Endpoint/ocean-east", `{"resourceType":"Endpoint","id":"ocean-east","status":"active",
"connectionType":{"system":"http://terminology.hl7.org/CodeSystem/endpoint-connection-type","code":"hl7-fhir-msg"},"payloadType":[{"text":"Ontario eReferral"}],"address":"`+ps.URL+`/fhir"}`)
	enc := strings.Replace(demoEncounter("1"), `"family":"Test","given":["Pat"]`, `"family":"Quillfeather","given":["Ysolde"]`, 1)
	resp, body := do(t, "POST", m.URL()+"/fhir", []byte(enc))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("encounter: %d %s", resp.StatusCode, body)
	}
	ids := entryIDs(body)
	eventually(t, "the dead letter", func() bool {
		ms, _ := m.Store.OutboundMessages(t.Context(), socialrx.DeliveryFailed, 0)
		return len(ms) == 1
	})
	env.send(t, PlatformMessage("44444444-0000-4000-8000-000000000001", "notify-update-process-request", "Task/"+ids[5],
		PlatformTask(ids[5], ids[4], "rejected", "Ysolde declined on the phone")), hoInbound)
	env.send(t, `{"resourceType":"Bundle","type":"message","entry":[{"resource":{"resourceType":"Patient","name":[{"family":"Quillfeather"}]}}]}`, hoInbound)
	do(t, "POST", m.URL()+"/fhir/Communication", []byte(`{"resourceType":"Communication","status":"completed","partOf":[{"reference":"Task/`+ids[5]+`"}],"payload":[{"contentString":"Ysolde lives alone"}]}`))
	out := logs.String()
	if !strings.Contains(out, "message failed for good") || !strings.Contains(out, "message processed") {
		t.Fatalf("the log lacks the delivery lines (the test would prove nothing):\n%s", out)
	}
	for _, phi := range []string{"Ysolde", "Quillfeather", "900001", "already referred", "declined", "lives alone"} {
		if strings.Contains(out, phi) {
			t.Errorf("the log carries %q:\n%s", phi, out)
		}
	}
}

// TestDeleteSentReferral: a referral Task its program has, and its
// ServiceRequest, are not deleted (409, nothing changed: the program would
// never be told, keep the patient's data and have its updates refused);
// the practice may not make the program's moves on it (422);
// cancelling the Task tells the program (revoke-service-request), and the
// ended referral may then be deleted.
func TestDeleteSentReferral(t *testing.T) {
	env := startHandoff(t, sqliteDatabase(t), nil)
	patientID, srID, taskID := env.encounter(t)
	eventually(t, "the referral to show delivered", func() bool { return env.referral(t, patientID).DeliveryState == socialrx.DeliveryDelivered })
	for _, path := range []string{"Task/" + taskID, "ServiceRequest/" + srID} {
		resp, b := do(t, "DELETE", env.m.URL()+"/fhir/"+path, nil)
		if resp.StatusCode != http.StatusConflict || !strings.Contains(string(b), "OperationOutcome") {
			t.Errorf("DELETE %s of a delivered referral: %d %s; want 409 with an OperationOutcome", path, resp.StatusCode, b)
		}
		if resp, _ := do(t, "GET", env.m.URL()+"/fhir/"+path, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s after the refused delete: %d, want 200", path, resp.StatusCode)
		}
	}
	cur, err := env.m.Store.Read(t.Context(), "Task", taskID)
	if err != nil {
		t.Fatal(err)
	}
	var task map[string]any
	if err := json.Unmarshal(cur.Body, &task); err != nil {
		t.Fatal(err)
	}
	// The program's moves come from its platform: the practice cannot
	// accept the referral in its name (that would be sent to the platform).
	task["status"] = "accepted"
	if resp, b := do(t, "PUT", env.m.URL()+"/fhir/Task/"+taskID, []byte(mustJSON(task))); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("the practice accepting a delivered referral: %d %s; want 422", resp.StatusCode, b)
	}
	if after, _ := env.m.Store.Read(t.Context(), "Task", taskID); after.VersionID != cur.VersionID {
		t.Errorf("the refused status changed the Task: version %d -> %d", cur.VersionID, after.VersionID)
	}
	task["status"] = "cancelled"
	task["statusReason"] = map[string]any{"text": "The patient found another program."}
	env.put(t, "Task/"+taskID, mustJSON(task))
	eventually(t, "the revoke-service-request", func() bool {
		for _, m := range env.platform.Messages() {
			if m.Event == string(socialrx.EventRevokeServiceRequest) {
				return true
			}
		}
		return false
	})
	if resp, b := do(t, "DELETE", env.m.URL()+"/fhir/Task/"+taskID, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("DELETE of the cancelled referral: %d %s; want 200", resp.StatusCode, b)
	}
}
