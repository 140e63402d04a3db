package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/workflow"
)

// A prescription's program change (roles-walk findings 2, 5 and 11), end
// to end on both stores: refused while a referral is open, nothing stored
// and nothing sent; allowed once the referral is cancelled (which sends
// revoke-service-request) or ended; a fax hand-off gets a new hand-off
// Task; a rejected referral leaves Task?work-list=rejected-unhandled once
// it is re-referred.

func TestProgramChange(t *testing.T) {
	for _, b := range encounterBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Run("eReferral", func(t *testing.T) { testProgramChangeEReferral(t, b.database(t)) })
			t.Run("fax", func(t *testing.T) { testProgramChangeFax(t, b.database(t)) })
			t.Run("rejected", func(t *testing.T) { testProgramChangeRejected(t, b.database(t)) })
			t.Run("rejected then revoked", func(t *testing.T) { testRejectedRevoked(t, b.database(t)) })
		})
	}
}

// resourceMap reads typ/id from the store as a JSON object.
func (env *handoffEnv) resourceMap(t *testing.T, typ, id string) (map[string]any, int64) {
	t.Helper()
	res, err := env.m.Store.Read(t.Context(), typ, id)
	if err != nil {
		t.Fatalf("read %s/%s: %v", typ, id, err)
	}
	var m map[string]any
	if err := json.Unmarshal(res.Body, &m); err != nil {
		t.Fatal(err)
	}
	return m, res.VersionID
}

// movePerformer PUTs ServiceRequest/srID with performer program and
// returns the status and body.
func (env *handoffEnv) movePerformer(t *testing.T, srID, program string) (int, []byte) {
	t.Helper()
	sr, _ := env.resourceMap(t, "ServiceRequest", srID)
	sr["performer"] = []any{map[string]any{"reference": program}}
	resp, b := do(t, "PUT", env.m.URL()+"/fhir/ServiceRequest/"+srID, []byte(mustJSON(sr)), "Prefer", "return=OperationOutcome")
	return resp.StatusCode, b
}

// cancelTask cancels Task/id by a REST PUT, as staff or the EMR would.
func (env *handoffEnv) cancelTask(t *testing.T, id string) {
	t.Helper()
	task, _ := env.resourceMap(t, "Task", id)
	task["status"] = "cancelled"
	task["statusReason"] = map[string]any{"text": "The clinician chose another program."}
	env.put(t, "Task/"+id, mustJSON(task))
}

func (env *handoffEnv) events(event socialrx.MessageEvent) int {
	n := 0
	for _, m := range env.platform.Messages() {
		if m.Event == string(event) {
			n++
		}
	}
	return n
}

func testProgramChangeEReferral(t *testing.T, database string) {
	env := startHandoff(t, database, nil)
	patientID, srID, taskID := env.encounter(t)
	eventually(t, "the referral to show delivered", func() bool { return env.referral(t, patientID).DeliveryState == socialrx.DeliveryDelivered })
	env.put(t, "HealthcareService/pantry", `{"resourceType":"HealthcareService","id":"pantry","active":true,"name":"Corner Pantry"}`)

	// Refused while the eReferral is open: 422 naming the Task, its
	// program and what to do; nothing stored, nothing sent.
	_, srVersion := env.resourceMap(t, "ServiceRequest", srID)
	_, taskVersion := env.resourceMap(t, "Task", taskID)
	sent := len(env.platform.Messages())
	status, b := env.movePerformer(t, srID, "HealthcareService/pantry")
	if status != http.StatusUnprocessableEntity || !strings.Contains(string(b), "OperationOutcome") {
		t.Fatalf("performer change with an open eReferral: %d %s; want 422 with an OperationOutcome", status, b)
	}
	for _, want := range []string{"Task/" + taskID, "HealthcareService/", "Cancel the referral Task first", "revoke"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the refusal lacks %q: %s", want, b)
		}
	}
	if _, v := env.resourceMap(t, "ServiceRequest", srID); v != srVersion {
		t.Errorf("the refused change stored a ServiceRequest version: %d -> %d", srVersion, v)
	}
	if _, v := env.resourceMap(t, "Task", taskID); v != taskVersion {
		t.Errorf("the refused change touched the referral Task: version %d -> %d", taskVersion, v)
	}
	if r := env.referral(t, patientID); r.Status != socialrx.ReferralRequested {
		t.Errorf("referral after the refused change: %s, want requested", r.Status)
	}
	if n := len(env.platform.Messages()); n != sent {
		t.Errorf("the refused change sent %d platform messages", n-sent)
	}

	// Cancel the referral: the platform is told.
	env.cancelTask(t, taskID)
	eventually(t, "the revoke-service-request", func() bool { return env.events(socialrx.EventRevokeServiceRequest) == 1 })

	// Now the change is allowed; the derived form's change is warned, and
	// the now self-directed prescription gets its patient Task.
	status, b = env.movePerformer(t, srID, "HealthcareService/pantry")
	if status/100 != 2 {
		t.Fatalf("performer change after the referral was cancelled: %d %s; want 2xx", status, b)
	}
	if !strings.Contains(string(b), `"severity":"warning"`) || !strings.Contains(string(b), "warm-handoff to self-directed") {
		t.Errorf("the derived form's change is not warned: %s", b)
	}
	if _, err := env.m.Store.Read(t.Context(), "Task", workflow.PatientTaskID(srID)); err != nil {
		t.Errorf("the self-directed prescription's patient Task: %v", err)
	}
	if n := env.events(socialrx.EventAddServiceRequest); n != 1 {
		t.Errorf("add-service-request messages: %d, want 1 (the pantry has no platform)", n)
	}
}

// faxEncounter posts the demo encounter as a fax hand-off to the legal
// clinic, without the EMR's referral Task (socialrx makes the hand-off
// Task), and returns the ServiceRequest id.
func (env *handoffEnv) faxEncounter(t *testing.T, n string) string {
	t.Helper()
	enc := demoEncounter(n)
	enc = strings.Replace(enc, `"name":"East Housing Help","endpoint":[{"reference":"Endpoint/ocean-east"}]`, `"name":"Legal clinic","telecom":[{"system":"fax","value":"416-555-0199"}]`, 1)
	enc = strings.Replace(enc, `"value":"east-housing"}]`, `"value":"legal-clinic"}]`, 1)
	enc = strings.Replace(enc, `identifier=https://riverdale.example/program|east-housing`, `identifier=https://riverdale.example/program|legal-clinic`, 1)
	task := strings.Index(enc, `,
{"fullUrl":"urn:uuid:00000000-0000-4000-8000-0000000000b3"`)
	enc = enc[:task] + "]}"
	resp, body := do(t, "POST", env.m.URL()+"/fhir", []byte(enc))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("encounter: %d %s", resp.StatusCode, body)
	}
	return entryIDs(body)[4]
}

func testProgramChangeFax(t *testing.T, database string) {
	env := startHandoff(t, database, nil)
	srID := env.faxEncounter(t, "56")
	list := env.m.URL() + "/fhir/Task?work-list=send-fax&status=requested"
	var b []byte
	eventually(t, "the send-fax work-list Task", func() bool {
		_, b = do(t, "GET", list, nil)
		return strings.Contains(string(b), `"total":1`)
	})
	first := workflow.HandoffTaskID(srID)
	env.put(t, "HealthcareService/tax-clinic", `{"resourceType":"HealthcareService","id":"tax-clinic","active":true,"name":"Tax clinic","telecom":[{"system":"fax","value":"416-555-0142"}]}`)

	// Staff record the program's answer on the hand-off Task: the chart
	// learns it (no platform reports a fax referral's moves).
	first0 := workflow.HandoffTaskID(srID)
	accepted, _ := env.resourceMap(t, "Task", first0)
	accepted["status"] = "accepted"
	delete(accepted, "meta")
	env.put(t, "Task/"+first0, mustJSON(accepted))
	eventually(t, "the write-back of the fax referral's accept", func() bool {
		for _, w := range env.emr.Writes() {
			if w.Type == "Task" && strings.Contains(string(w.Body), `"status":"accepted"`) {
				return true
			}
		}
		return false
	})

	// The hand-off Task is an open referral: the change is refused.
	status, body := env.movePerformer(t, srID, "HealthcareService/tax-clinic")
	if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), "Task/"+first) {
		t.Fatalf("performer change with an open fax hand-off: %d %s; want 422 naming Task/%s", status, body, first)
	}

	// Ended, the change is allowed and the new program gets its own
	// hand-off Task on the work list.
	env.cancelTask(t, first)
	if status, body := env.movePerformer(t, srID, "HealthcareService/tax-clinic"); status/100 != 2 {
		t.Fatalf("performer change after the hand-off was cancelled: %d %s", status, body)
	}
	eventually(t, "the tax clinic's send-fax Task", func() bool {
		_, b = do(t, "GET", list, nil)
		return strings.Contains(string(b), `"total":1`) && strings.Contains(string(b), "HealthcareService/tax-clinic")
	})
	if strings.Contains(string(b), `"id":"`+first+`"`) {
		t.Errorf("the work list still holds the cancelled hand-off: %s", truncate(b))
	}
	tasks := searchMatches(t, env.m, "Task", map[string][]string{"focus": {"ServiceRequest/" + srID}, "code": {"http://hl7.org/fhir/CodeSystem/task-code|fulfill"}})
	if len(tasks) != 2 {
		t.Errorf("referral Tasks of the prescription: %d, want 2 (the cancelled one and the new one)", len(tasks))
	}
	if n := len(env.platform.Messages()); n != 0 {
		t.Errorf("a fax hand-off reached the eReferral platform: %d messages", n)
	}
}

// rejectedReferral posts the demo encounter, waits for its eReferral to
// be delivered and has the platform reject it; it checks the referral is
// on rejected-unhandled and returns the environment, the ServiceRequest
// and referral Task ids, and that work list's URL. n makes the platform
// message's id distinct.
func rejectedReferral(t *testing.T, database string, n int) (env *handoffEnv, srID, taskID, list string) {
	t.Helper()
	env = startHandoff(t, database, nil)
	var patientID string
	patientID, srID, taskID = env.encounter(t)
	eventually(t, "the referral to show delivered", func() bool { return env.referral(t, patientID).DeliveryState == socialrx.DeliveryDelivered })
	rejected := PlatformMessage(fmt.Sprintf("11111111-0000-4000-8000-0000000000%02d", n), "notify-update-process-request", "Task/"+taskID, PlatformTask(taskID, srID, "rejected", "no capacity"))
	if status, reply := env.send(t, rejected, hoInbound); status != 200 {
		t.Fatalf("rejected: %d %v", status, reply)
	}
	list = env.m.URL() + "/fhir/Task?work-list=rejected-unhandled"
	if _, b := do(t, "GET", list, nil); !strings.Contains(string(b), `"total":1`) || !strings.Contains(string(b), `"id":"`+taskID+`"`) {
		t.Fatalf("rejected-unhandled after the rejection: %s; want the rejected Task", truncate(b))
	}
	return env, srID, taskID, list
}

func testProgramChangeRejected(t *testing.T, database string) {
	env, srID, taskID, list := rejectedReferral(t, database, 21)
	var b []byte

	// The re-referral as the README tells it: change the program, then
	// send a new referral Task.
	env.put(t, "HealthcareService/pantry", `{"resourceType":"HealthcareService","id":"pantry","active":true,"name":"Corner Pantry"}`)
	if status, body := env.movePerformer(t, srID, "HealthcareService/pantry"); status/100 != 2 {
		t.Fatalf("performer change after a rejection: %d %s", status, body)
	}
	if _, b = do(t, "GET", list, nil); !strings.Contains(string(b), `"total":1`) {
		t.Errorf("rejected-unhandled after the program change alone: %s; want it still listed (no new referral yet)", truncate(b))
	}
	task, _ := env.resourceMap(t, "Task", taskID)
	for _, k := range []string{"id", "meta", "identifier", "statusReason", "businessStatus", "lastModified", "extension"} {
		delete(task, k)
	}
	task["status"] = "requested"
	task["owner"] = map[string]any{"reference": "HealthcareService/pantry"}
	resp, body := do(t, "POST", env.m.URL()+"/fhir/Task", []byte(mustJSON(task)))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("new referral Task: %d %s", resp.StatusCode, body)
	}
	if _, b = do(t, "GET", list, nil); !strings.Contains(string(b), `"total":0`) {
		t.Errorf("rejected-unhandled after the re-referral: %s; want empty", truncate(b))
	}
	if _, b = do(t, "GET", env.m.URL()+"/fhir/Task?status=rejected", nil); !strings.Contains(string(b), `"id":"`+taskID+`"`) {
		t.Errorf("the rejected Task is no longer rejected: %s", truncate(b))
	}
}

// TestReadmeReReferral runs the README's re-referral commands ("Rejected,
// needs another program") as written, with the server's address for
// 127.0.0.1:8080, against a referral the platform rejected.
func TestReadmeReReferral(t *testing.T) {
	for _, tool := range []string{"sh", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	at := strings.Index(s, "**Rejected, needs another program.**")
	if at < 0 {
		t.Fatal("README lacks the re-referral section")
	}
	s = s[at:]
	start := strings.Index(s, "```sh\n")
	end := strings.Index(s[start+6:], "```")
	if start < 0 || end < 0 {
		t.Fatal("README's re-referral section lacks its sh block")
	}
	script := s[start+6 : start+6+end]

	env, srID, taskID, _ := rejectedReferral(t, sqliteDatabase(t), 31)
	env.put(t, "HealthcareService/hsds-svc-pantry", `{"resourceType":"HealthcareService","id":"hsds-svc-pantry","active":true,"name":"Corner Pantry"}`)
	cmd := exec.CommandContext(t.Context(), "sh", "-e", "-c", strings.ReplaceAll(script, "http://127.0.0.1:8080", env.m.URL()))
	cmd.Env = append(os.Environ(), "TASK="+taskID, "NEW=HealthcareService/hsds-svc-pantry")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's commands: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], taskID+" ServiceRequest/"+srID) || lines[1] != srID || lines[2] == "null" || lines[2] == taskID {
		t.Errorf("the README's commands printed %q; want the listed rejected Task, the ServiceRequest id, a new Task id", lines)
	}
	_, b := do(t, "GET", env.m.URL()+"/fhir/Task?work-list=rejected-unhandled", nil)
	if !strings.Contains(string(b), `"total":0`) {
		t.Errorf("rejected-unhandled after the README's re-referral: %s; want empty", truncate(b))
	}
	sr, _ := env.resourceMap(t, "ServiceRequest", srID)
	if got := mustJSON(sr["performer"]); !strings.Contains(got, "HealthcareService/hsds-svc-pantry") {
		t.Errorf("performer after the README's re-referral: %s", got)
	}
}

// testRejectedRevoked: a rejected referral whose prescription is then
// revoked needs no other program: it leaves rejected-unhandled.
func testRejectedRevoked(t *testing.T, database string) {
	env, srID, _, list := rejectedReferral(t, database, 41)
	sr, _ := env.resourceMap(t, "ServiceRequest", srID)
	sr["status"] = "revoked"
	env.put(t, "ServiceRequest/"+srID, mustJSON(sr))
	if _, b := do(t, "GET", list, nil); !strings.Contains(string(b), `"total":0`) {
		t.Errorf("rejected-unhandled after the prescription was revoked: %s; want empty", truncate(b))
	}
}
