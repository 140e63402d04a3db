package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/workflow"
	"github.com/socialrx/socialrx/mapping"
)

// Withdrawing an answered follow-up over the REST API, on both stores: a
// response DELETEd, and one PUT with status entered-in-error, each after
// it became an outcome. What the outcome made is marked so (Observations
// and the summary entered-in-error, the draft alternative revoked, the
// help Task cancelled), the follow-up Task is open again, the Goal loses
// the achievement, the program report stops counting it, and the EMR is
// sent the withdrawn summary (and the response's new version) through the
// outbox. A repeat changes nothing more; answering again records a fresh
// outcome; withdrawing one of two standing answers leaves the other's.
func TestFollowUpWithdrawn(t *testing.T) {
	for _, b := range encounterBackends {
		t.Run(b.name, func(t *testing.T) { testFollowUpWithdrawn(t, b.database(t)) })
	}
}

const fuIdentSys = "https://riverdale-fht.example/oscar/sid/follow-up"

// fuAnswers are a follow-up's answers: well-being and next step as given.
func fuAnswers(wellbeing, next string) []string {
	return []string{
		fuLink("pursued", fuAnswer("follow-up-pursued", "partly")),
		fuLink("satisfaction", `{"valueInteger":3}`),
		fuLink("wellbeing", fuAnswer("follow-up-wellbeing", wellbeing)),
		fuLink("next-step", fuAnswer("follow-up-next-step", next)),
	}
}

func testFollowUpWithdrawn(t *testing.T, database string) {
	emr := NewFakeEMR()
	es := httptest.NewServer(emr)
	t.Cleanup(es.Close)
	m := startMainWith(t, database, func(cfg *Config) {
		cfg.EMREndpoint = es.URL + "/fhir"
		cfg.RetryBase = 50 * time.Millisecond
	})
	get := func(path string) map[string]any {
		t.Helper()
		resp, body := do(t, "GET", m.URL()+"/fhir/"+path, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, truncate(body))
		}
		return decodeJSON(t, body)
	}
	status := func(ref string) string {
		t.Helper()
		s, _ := get(ref)["status"].(string)
		return s
	}

	enc, err := os.ReadFile("../../testdata/encounters/01-food-insecurity-self-directed.json")
	if err != nil {
		t.Fatal(err)
	}
	resp, body := do(t, "POST", m.URL()+"/fhir", enc)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("encounter: %d %s", resp.StatusCode, truncate(body))
	}
	ids := entryIDs(body)
	patientID, srID := ids[2], ids[11]
	if resp, body := do(t, "PUT", m.URL()+"/fhir/HealthcareService/community-kitchen", []byte(`{"resourceType":"HealthcareService","id":"community-kitchen","active":true,
"category":[{"coding":[{"system":"`+fuSys+`need-domain","code":"food"}]}],"name":"Community kitchen"}`)); resp.StatusCode/100 != 2 {
		t.Fatalf("program: %d %s", resp.StatusCode, body)
	}
	t.Cleanup(func() { // on failure, what the outbox and the EMR hold
		if t.Failed() {
			ms, _ := m.Store.OutboundMessages(context.Background(), "", 0)
			for _, msg := range ms {
				t.Logf("%s %s/%s/%d %s %s", msg.Event, msg.ResourceType, msg.ResourceID, msg.Version, msg.State, msg.Error)
			}
			for _, w := range emr.Writes() {
				t.Logf("EMR %s %s %s %s", w.Method, w.Type, w.Identifier, mapping.StatusOf(w.Body))
			}
		}
	})
	fuTask := "Task/" + workflow.FollowUpTaskID(srID)
	goal := "Goal/" + workflow.GoalID(srID)

	// qr is a completed response with identifier value ident.
	qr := func(ident string, items []string) string {
		return strings.Replace(fuQR(srID, patientID, items...), `"value":"FU-1"`, `"value":"`+ident+`"`, 1)
	}
	post := func(body string) string {
		t.Helper()
		resp, b := do(t, "POST", m.URL()+"/fhir/QuestionnaireResponse", []byte(body))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("response: %d %s", resp.StatusCode, truncate(b))
		}
		return decodeJSON(t, b)["id"].(string)
	}
	enteredInError := func(id string) {
		t.Helper()
		cur := get("QuestionnaireResponse/" + id)
		delete(cur, "meta")
		cur["status"] = "entered-in-error"
		if resp, b := do(t, "PUT", m.URL()+"/fhir/QuestionnaireResponse/"+id, []byte(mustJSON(cur))); resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT entered-in-error: %d %s", resp.StatusCode, truncate(b))
		}
	}
	// answered is what the report counts: prescriptions followed up
	// (Store.ProgramReport, over all time) and the prescription's answered
	// follow-ups ($prescription's followUpsAnswered), both from
	// follow_up_results.
	answered := func() (followedUp, results int) {
		t.Helper()
		rep, err := m.Store.ProgramReport(t.Context(), time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range get("ServiceRequest/" + srID + "/$prescription")["parameter"].([]any) {
			p := p.(map[string]any)
			if p["name"] != "outcome" {
				continue
			}
			for _, part := range p["part"].([]any) {
				part := part.(map[string]any)
				if part["name"] == "followUpsAnswered" {
					n, _ := part["valueInteger"].(json.Number).Int64()
					results = int(n)
				}
			}
		}
		return rep.Total.FollowedUp, results
	}
	// updates lists the outbox's withdrawal write-backs ("Type/id/version").
	updates := func() map[string]bool {
		t.Helper()
		ms, err := m.Store.OutboundMessages(t.Context(), "", 0)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, msg := range ms {
			if msg.Destination == socialrx.DestinationEMR && msg.Event == socialrx.WriteBackUpdate {
				out[msg.ResourceType+"/"+msg.ResourceID+"/"+strconv.FormatInt(msg.Version, 10)] = true
			}
		}
		return out
	}
	// emrHas waits until the EMR's copy of typ with identifier value
	// ident, the last one it was sent, has status.
	emrHas := func(typ, ident, status string) {
		t.Helper()
		eventually(t, "the EMR's "+typ+" "+ident+" "+status, func() bool {
			last := ""
			for _, w := range emr.Writes() {
				if w.Type == typ && strings.HasSuffix(w.Identifier, "|"+ident) {
					last = mapping.StatusOf(w.Body)
				}
			}
			return last == status
		})
	}
	// versions are the versionIds of refs; a repeat must not change them.
	versions := func(refs ...string) map[string]string {
		out := map[string]string{}
		for _, ref := range refs {
			out[ref] = get(ref)["meta"].(map[string]any)["versionId"].(string)
		}
		return out
	}
	kinds := []string{"pursued", "satisfaction", "wellbeing"}
	obsOf := func(o workflow.OutcomeIDs) []string {
		var refs []string
		for _, k := range kinds {
			refs = append(refs, "Observation/"+o.Observation(k))
		}
		return refs
	}
	wantStatus := func(when string, want map[string]string) {
		t.Helper()
		for ref, st := range want {
			if got := status(ref); got != st {
				t.Errorf("%s: %s status %q, want %q", when, ref, got, st)
			}
		}
	}

	// (a) Answered (try something else, feeling worse), then DELETEd.
	a := post(qr("FU-1", fuAnswers("worse", "try-alternative")))
	oa := workflow.OutcomeIDsFor(a, fuIdentSys, "FU-1")
	alt := "ServiceRequest/" + oa.Alternative()
	wantStatus("answered", map[string]string{fuTask: "completed", alt: "draft", "Communication/" + oa.Summary(): "completed", obsOf(oa)[0]: "final"})
	if !strings.Contains(mustJSON(get(goal)), `"code":"worsening"`) {
		t.Errorf("Goal after the answer: %s", mustJSON(get(goal)))
	}
	if f, r := answered(); f != 1 || r != 1 {
		t.Errorf("answered: report %d, results %d; want 1 and 1", f, r)
	}
	emrHas("Communication", "FU-1", "completed")

	if resp, b := do(t, "DELETE", m.URL()+"/fhir/QuestionnaireResponse/"+a, nil); resp.StatusCode/100 != 2 {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, truncate(b))
	}
	withdrawnA := map[string]string{alt: "revoked", "Communication/" + oa.Summary(): "entered-in-error", fuTask: "in-progress"}
	for _, ref := range obsOf(oa) {
		withdrawnA[ref] = "entered-in-error"
	}
	wantStatus("after DELETE", withdrawnA)
	task := mustJSON(get(fuTask))
	if strings.Contains(task, "QuestionnaireResponse/"+a) || !strings.Contains(task, mapping.WithdrawnFollowUpReason) {
		t.Errorf("follow-up Task after DELETE keeps the output or lacks the reason: %s", task)
	}
	if g := get(goal); g["achievementStatus"] != nil {
		t.Errorf("Goal after DELETE: achievementStatus %v, want none", g["achievementStatus"])
	}
	if f, r := answered(); f != 0 || r != 0 {
		t.Errorf("after DELETE: report %d, results %d; want 0 and 0", f, r)
	}
	summaryA := get("Communication/" + oa.Summary())["meta"].(map[string]any)["versionId"].(string)
	if u := updates(); !u["Communication/"+oa.Summary()+"/"+summaryA] || len(u) != 1 {
		t.Errorf("outbox after DELETE: %v, want the withdrawn summary only (the response is gone)", u)
	}
	emrHas("Communication", "FU-1", "entered-in-error")
	// The EMR's copy of the deleted response: its last version, sent again
	// entered-in-error.
	emrHas("QuestionnaireResponse", "FU-1", "entered-in-error")

	// A repeat of the DELETE changes nothing more.
	refsA := append(obsOf(oa), alt, "Communication/"+oa.Summary(), fuTask, goal)
	before, outbox := versions(refsA...), updates()
	do(t, "DELETE", m.URL()+"/fhir/QuestionnaireResponse/"+a, nil)
	if after := versions(refsA...); mustJSON(after) != mustJSON(before) {
		t.Errorf("DELETE again: versions %v → %v", before, after)
	}
	if u := updates(); len(u) != len(outbox) {
		t.Errorf("DELETE again: outbox %v → %v", outbox, u)
	}

	// (b) Answered again, a new response (more help, about the same): a
	// fresh outcome. Then PUT with status entered-in-error.
	b := post(qr("FU-2", fuAnswers("same", "more-help")))
	ob := workflow.OutcomeIDsFor(b, fuIdentSys, "FU-2")
	help := "Task/" + ob.HelpTask()
	wantStatus("answered again", map[string]string{fuTask: "completed", help: "requested", "Communication/" + ob.Summary(): "completed", obsOf(ob)[0]: "final"})
	if !strings.Contains(mustJSON(get(fuTask)), "QuestionnaireResponse/"+b) || !strings.Contains(mustJSON(get(goal)), `"code":"no-change"`) {
		t.Errorf("fresh outcome: Task %s, Goal %s", mustJSON(get(fuTask)), mustJSON(get(goal)))
	}
	if f, r := answered(); f != 1 || r != 1 {
		t.Errorf("answered again: report %d, results %d; want 1 and 1", f, r)
	}
	emrHas("Communication", "FU-2", "completed")

	enteredInError(b)
	withdrawnB := map[string]string{help: "cancelled", "Communication/" + ob.Summary(): "entered-in-error", fuTask: "in-progress"}
	for _, ref := range obsOf(ob) {
		withdrawnB[ref] = "entered-in-error"
	}
	wantStatus("after entered-in-error", withdrawnB)
	wantStatus("after entered-in-error, (a) untouched", withdrawnA)
	if g := get(goal); g["achievementStatus"] != nil {
		t.Errorf("Goal after entered-in-error: achievementStatus %v, want none", g["achievementStatus"])
	}
	if f, r := answered(); f != 0 || r != 0 {
		t.Errorf("after entered-in-error: report %d, results %d; want 0 and 0", f, r)
	}
	vb := versions("QuestionnaireResponse/"+b, "Communication/"+ob.Summary())
	if u := updates(); !u["QuestionnaireResponse/"+b+"/"+vb["QuestionnaireResponse/"+b]] || !u["Communication/"+ob.Summary()+"/"+vb["Communication/"+ob.Summary()]] {
		t.Errorf("outbox after entered-in-error: %v, want the response's new version and the summary", u)
	}
	emrHas("Communication", "FU-2", "entered-in-error")
	// The response goes by its own identifier (R4's QuestionnaireResponse
	// has one, not a list): the EMR's copy of it is the one withdrawn.
	emrHas("QuestionnaireResponse", "FU-2", "entered-in-error")
	for _, w := range emr.Writes() {
		var doc struct {
			Identifier json.RawMessage `json:"identifier"`
		}
		if w.Type == "QuestionnaireResponse" && (json.Unmarshal(w.Body, &doc) != nil || !strings.HasPrefix(string(doc.Identifier), "{")) {
			t.Errorf("the EMR got a QuestionnaireResponse whose identifier is not one Identifier (R4 0..1): %s", doc.Identifier)
		}
	}

	// A repeat of the PUT changes nothing more.
	refsB := append(obsOf(ob), help, "Communication/"+ob.Summary(), fuTask, goal)
	before, outbox = versions(refsB...), updates()
	enteredInError(b)
	if after := versions(refsB...); mustJSON(after) != mustJSON(before) {
		t.Errorf("PUT entered-in-error again: versions %v → %v", before, after)
	}
	if u := updates(); len(u) != len(outbox) {
		t.Errorf("PUT entered-in-error again: outbox %v → %v", outbox, u)
	}

	// Two answers stand (better, then worse); the later is withdrawn: the
	// Task stays completed by the earlier, the Goal is as it says.
	c := post(qr("FU-3", fuAnswers("better", "keep-going")))
	d := post(qr("FU-4", fuAnswers("worse", "keep-going")))
	if !strings.Contains(mustJSON(get(goal)), `"code":"worsening"`) {
		t.Errorf("Goal after two answers: %s", mustJSON(get(goal)))
	}
	enteredInError(d)
	task = mustJSON(get(fuTask))
	if status(fuTask) != "completed" || !strings.Contains(task, "QuestionnaireResponse/"+c) || strings.Contains(task, "QuestionnaireResponse/"+d) {
		t.Errorf("follow-up Task with an answer standing: %s", task)
	}
	if !strings.Contains(mustJSON(get(goal)), `"code":"improving"`) {
		t.Errorf("Goal with the earlier answer standing: %s", mustJSON(get(goal)))
	}
	if _, r := answered(); r != 1 {
		t.Errorf("one answer standing: results %d, want 1", r)
	}

	// The deleted response posted again (the same identifier): its
	// outcome is recorded again under the same ids, nothing doubles, and
	// the EMR's withdrawn summary is replaced.
	obsBefore := get("Observation?based-on=ServiceRequest/" + srID + "&_summary=count")["total"]
	a2 := post(qr("FU-1", fuAnswers("worse", "try-alternative")))
	if o2 := workflow.OutcomeIDsFor(a2, fuIdentSys, "FU-1"); o2 != oa {
		t.Fatalf("the same identifier gave other ids")
	}
	wantStatus("posted again", map[string]string{"Communication/" + oa.Summary(): "completed", obsOf(oa)[0]: "final", alt: "revoked"})
	if n := get("Observation?based-on=ServiceRequest/" + srID + "&_summary=count")["total"]; n != obsBefore {
		t.Errorf("Observations after posting again: %v, want %v", n, obsBefore)
	}
	if _, r := answered(); r != 2 {
		t.Errorf("posted again: results %d, want 2", r)
	}
	emrHas("Communication", "FU-1", "completed")

	// The client's own Goal (pertainsToGoal): an answer that achieved and
	// completed it is withdrawn; the standing answer (the last the
	// follow-up Task lists: worse) gives the achievement, and the Goal is
	// active again.
	if resp, b := do(t, "PUT", m.URL()+"/fhir/Goal/client-goal", []byte(`{"resourceType":"Goal","id":"client-goal","lifecycleStatus":"active",
"achievementStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/goal-achievement","code":"in-progress"}]},
"description":{"text":"Enough food every week"},"subject":{"reference":"Patient/`+patientID+`"}}`)); resp.StatusCode/100 != 2 {
		t.Fatalf("Goal: %d %s", resp.StatusCode, truncate(b))
	}
	sr := get("ServiceRequest/" + srID)
	delete(sr, "meta")
	ext, _ := sr["extension"].([]any)
	sr["extension"] = append(ext, map[string]any{"url": "http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal", "valueReference": map[string]any{"reference": "Goal/client-goal"}})
	if resp, b := do(t, "PUT", m.URL()+"/fhir/ServiceRequest/"+srID, []byte(mustJSON(sr))); resp.StatusCode != http.StatusOK {
		t.Fatalf("ServiceRequest with pertainsToGoal: %d %s", resp.StatusCode, truncate(b))
	}
	e := post(qr("FU-5", fuAnswers("better", "done")))
	if g := mustJSON(get("Goal/client-goal")); !strings.Contains(g, `"code":"achieved"`) || !strings.Contains(g, `"lifecycleStatus":"completed"`) {
		t.Errorf("client Goal after the answer: %s", g)
	}
	if resp, b := do(t, "DELETE", m.URL()+"/fhir/QuestionnaireResponse/"+e, nil); resp.StatusCode/100 != 2 {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, truncate(b))
	}
	if g := mustJSON(get("Goal/client-goal")); !strings.Contains(g, `"code":"worsening"`) || !strings.Contains(g, `"lifecycleStatus":"active"`) {
		t.Errorf("client Goal after the answer was withdrawn: %s", g)
	}
	if status(fuTask) != "completed" {
		t.Errorf("follow-up Task with answers standing: %s", status(fuTask))
	}
}
