package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/pgtest"
	"github.com/socialrx/socialrx/adapter/workflow"
)

// The follow-up outcome end to end, on both stores: an encounter with a
// self-directed food prescription in, the shipped Questionnaire served, a
// completed QuestionnaireResponse posted as staff would from the EMR, and
// what it becomes: Observations, the follow-up Task completed, the Goal,
// a draft alternative with the directory's suggestion, and the response and
// its summary written back to the (in-process) EMR exactly once. Broken
// responses are refused with 422 and leave nothing; a duplicate changes
// nothing.
func TestFollowUpOutcome(t *testing.T) {
	for _, b := range []struct {
		name string
		db   func(t *testing.T) string
	}{{"SQLite", sqliteDatabase}, {"PostgreSQL", func(t *testing.T) string { return pgtest.NewDatabase(t) }}} {
		t.Run(b.name, func(t *testing.T) { testFollowUpOutcome(t, b.db(t)) })
	}
}

const fuSys = socialrx.CodeSystemBase

func fuAnswer(system, code string) string {
	return `{"valueCoding":{"system":"` + fuSys + system + `","code":"` + code + `"}}`
}

func fuQR(srID, patientID string, items ...string) string {
	return `{"resourceType":"QuestionnaireResponse","identifier":{"system":"https://riverdale-fht.example/oscar/sid/follow-up","value":"FU-1"},` +
		`"basedOn":[{"reference":"ServiceRequest/` + srID + `"}],"questionnaire":"` + socialrx.FollowUpQuestionnaire + `|1.0.0",` +
		`"status":"completed","subject":{"reference":"Patient/` + patientID + `"},"authored":"2026-12-10T15:00:00Z",` +
		`"source":{"reference":"Patient/` + patientID + `"},"item":[` + strings.Join(items, ",") + `]}`
}

func fuLink(link string, answers ...string) string {
	return `{"linkId":"` + link + `","answer":[` + strings.Join(answers, ",") + `]}`
}

func testFollowUpOutcome(t *testing.T, database string) {
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
	total := func(path string) string {
		t.Helper()
		return string(get(path)["total"].(json.Number))
	}

	// The Questionnaire is served.
	if n := total("Questionnaire?url=" + url.QueryEscape(socialrx.FollowUpQuestionnaire) + "&version=1.0.0"); n != "1" {
		t.Errorf("Questionnaire by url and version: total %s", n)
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
	patientID, srID, oldProgram := ids[2], ids[11], ids[10]
	// The directory: two food programs not to send anyone to (full; not
	// verified since 2020), written first, then a suitable one.
	for _, prog := range []string{
		`{"resourceType":"HealthcareService","id":"a-full-pantry","active":true,"name":"Full pantry",
"extension":[{"url":"http://socialrx.dev/fhir/StructureDefinition/capacity","extension":[{"url":"status","valueCode":"no-capacity"}]}],
"category":[{"coding":[{"system":"` + fuSys + `need-domain","code":"food"}]}]}`,
		`{"resourceType":"HealthcareService","id":"b-stale-pantry","active":true,"name":"Stale pantry",
"extension":[{"url":"http://socialrx.dev/fhir/StructureDefinition/last-verified","valueDate":"2020-01-01"}],
"category":[{"coding":[{"system":"` + fuSys + `need-domain","code":"food"}]}]}`,
	} {
		id := decodeJSON(t, []byte(prog))["id"].(string)
		if resp, body := do(t, "PUT", m.URL()+"/fhir/HealthcareService/"+id, []byte(prog)); resp.StatusCode/100 != 2 {
			t.Fatalf("program %s: %d %s", id, resp.StatusCode, body)
		}
	}
	// The directory: another active food program.
	resp, body = do(t, "PUT", m.URL()+"/fhir/HealthcareService/community-kitchen", []byte(`{"resourceType":"HealthcareService","id":"community-kitchen","active":true,
"category":[{"coding":[{"system":"`+fuSys+`need-domain","code":"food"}]}],"name":"Community kitchen"}`))
	if resp.StatusCode/100 != 2 {
		t.Fatalf("program: %d %s", resp.StatusCode, body)
	}
	fuTask := workflow.FollowUpTaskID(srID)
	if task := get("Task/" + fuTask); task["status"] != "requested" {
		t.Fatalf("follow-up Task before: %v", task["status"])
	}

	answers := []string{
		fuLink("pursued", fuAnswer("follow-up-pursued", "no")),
		fuLink("barriers", fuAnswer("follow-up-barrier", "transport"), fuAnswer("follow-up-barrier", "other")),
		fuLink("barriers-other", `{"valueString":"the bus does not run on Tuesdays"}`),
		fuLink("satisfaction", `{"valueInteger":2}`),
		fuLink("wellbeing", fuAnswer("follow-up-wellbeing", "worse")),
		`{"linkId":"ucla-3","item":[` + fuLink("ucla-3-companionship", fuAnswer("loneliness-frequency", "often")) + `,` +
			fuLink("ucla-3-left-out", fuAnswer("loneliness-frequency", "often")) + `,` +
			fuLink("ucla-3-isolated", fuAnswer("loneliness-frequency", "some-of-the-time")) + `]}`,
		fuLink("next-step", fuAnswer("follow-up-next-step", "try-alternative")),
	}
	qr := fuQR(srID, patientID, answers...)

	// Broken responses: 422 naming the linkId, nothing stored.
	bad := []struct{ name, body, want string }{
		{"required item missing", fuQR(srID, patientID, answers[1:]...), "linkId pursued: required item missing"},
		{"code not an option", fuQR(srID, patientID, append([]string{fuLink("pursued", fuAnswer("follow-up-pursued", "perhaps"))}, answers[1:]...)...), "linkId pursued: the coding is not one"},
		{"enableWhen false", fuQR(srID, patientID, answers[0], fuLink("barriers", fuAnswer("follow-up-barrier", "cost")), answers[2], answers[6]), "linkId barriers-other: answered, but only enabled"},
		{"not a prescription", fuQR("no-such-sr", patientID, answers...), "is not a social prescription"},
		{"another patient", strings.ReplaceAll(fuQR(srID, patientID, answers...), "Patient/"+patientID, "Patient/someone-else"), "not the patient of"},
	}
	for _, c := range bad {
		resp, body := do(t, "POST", m.URL()+"/fhir/QuestionnaireResponse", []byte(c.body))
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), c.want) || !strings.Contains(string(body), "OperationOutcome") {
			t.Errorf("%s: %d %s; want 422 saying %q", c.name, resp.StatusCode, truncate(body), c.want)
		}
	}
	// Inside a transaction Bundle too: the whole Bundle is refused.
	bundle := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Basic","code":{"text":"x"}},"request":{"method":"POST","url":"Basic"}},` +
		`{"resource":` + bad[0].body + `,"request":{"method":"POST","url":"QuestionnaireResponse"}}]}`
	if resp, body := do(t, "POST", m.URL()+"/fhir", []byte(bundle)); resp.StatusCode/100 == 2 {
		t.Errorf("Bundle with a broken response: %d %s", resp.StatusCode, truncate(body))
	}
	if n := total("QuestionnaireResponse?_summary=count"); n != "0" {
		t.Errorf("broken responses stored: %s", n)
	}
	if n := total("Observation?based-on=ServiceRequest/" + srID); n != "0" {
		t.Errorf("broken responses made Observations: %s", n)
	}

	// The response, as staff record it over FHIR.
	resp, body = do(t, "POST", m.URL()+"/fhir/QuestionnaireResponse", []byte(qr))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("response: %d %s", resp.StatusCode, truncate(body))
	}
	qrID := decodeJSON(t, body)["id"].(string)
	obs := get("Observation?based-on=ServiceRequest/" + srID + "&_count=50")
	if obs["total"] != json.Number("4") { // pursued, satisfaction, well-being, UCLA-3 total
		t.Errorf("outcome Observations: %v", obs["total"])
	}
	if !strings.Contains(mustJSON(obs), `"derivedFrom":[{"reference":"QuestionnaireResponse/`+qrID+`"}]`) || !strings.Contains(mustJSON(obs), `"value":8`) {
		t.Errorf("Observations lack derivedFrom or the UCLA-3 total 8: %s", truncate([]byte(mustJSON(obs))))
	}
	task := get("Task/" + fuTask)
	if task["status"] != "completed" || !strings.Contains(mustJSON(task), `"QuestionnaireResponse/`+qrID+`"`) {
		t.Errorf("follow-up Task after: %s", mustJSON(task))
	}
	goal := get("Goal/" + workflow.GoalID(srID))
	if !strings.Contains(mustJSON(goal), `"code":"worsening"`) || goal["lifecycleStatus"] != "active" {
		t.Errorf("Goal: %s", mustJSON(goal))
	}
	oids := workflow.OutcomeIDsFor(qrID, "https://riverdale-fht.example/oscar/sid/follow-up", "FU-1")
	alt := get("ServiceRequest/" + oids.Alternative())
	if alt["status"] != "draft" || alt["intent"] != "proposal" || !strings.Contains(mustJSON(alt), `"HealthcareService/community-kitchen"`) ||
		strings.Contains(mustJSON(alt), oldProgram) || !strings.Contains(mustJSON(alt), `"replaces":[{"reference":"ServiceRequest/`+srID+`"}]`) {
		t.Errorf("alternative: %s", mustJSON(alt))
	}
	if n := total("Task?code=" + url.QueryEscape(fuSys+"task-code|follow-up-help")); n != "0" {
		t.Errorf("help Tasks for try-alternative: %s", n)
	}
	// $prescription carries the outcome (what an analyst's export gets as
	// the prescription's facts).
	resp, body = do(t, "GET", m.URL()+"/fhir/ServiceRequest/"+srID+"/$prescription", nil)
	var compact bytes.Buffer
	_ = json.Compact(&compact, body)
	for _, want := range []string{`{"name":"response","valueReference":{"reference":"QuestionnaireResponse/` + qrID + `"}}`,
		`{"name":"pursued","valueCoding":{"system":"` + fuSys + `follow-up-pursued","code":"no","display":"No"}}`,
		`{"name":"satisfaction","valueInteger":2}`, `"code":"worse"`, `"code":"try-alternative"`, `{"name":"followUpsAnswered","valueInteger":1}`} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(compact.String(), want) {
			t.Errorf("$prescription outcome lacks %s: %d %s", want, resp.StatusCode, truncate(body))
		}
	}

	// Written back: the response and the summary, once each.
	emrWrites := func() map[string]int {
		n := map[string]int{}
		for _, w := range emr.Writes() {
			n[w.Type]++
		}
		return n
	}
	eventually(t, "the write-back of the response and its summary", func() bool {
		w := emrWrites()
		return w["QuestionnaireResponse"] == 1 && w["Communication"] == 1
	})
	for _, w := range emr.Writes() {
		if w.Type == "Communication" && !strings.Contains(string(w.Body), "Pursued: No. Barriers: transportation, other.") {
			t.Errorf("summary: %s", w.Body)
		}
		if w.Type == "Communication" && strings.Contains(string(w.Body), "Tuesdays") {
			t.Error("the summary carries the response's free text")
		}
	}

	// A duplicate delivery: the same response posted again (same
	// identifier), and the first one PUT again as it is: nothing doubles,
	// nothing gets a new version, the EMR gets nothing new.
	versions := func() map[string]string {
		out := map[string]string{}
		for _, e := range get("Observation?based-on=ServiceRequest/" + srID + "&_count=50")["entry"].([]any) {
			r := e.(map[string]any)["resource"].(map[string]any)
			out[r["id"].(string)] = r["meta"].(map[string]any)["versionId"].(string)
		}
		for _, ref := range []string{"Task/" + fuTask, "Goal/" + workflow.GoalID(srID), "ServiceRequest/" + oids.Alternative(), "Communication/" + oids.Summary()} {
			out[ref] = get(ref)["meta"].(map[string]any)["versionId"].(string)
		}
		return out
	}
	before := versions()
	if resp, body := do(t, "POST", m.URL()+"/fhir/QuestionnaireResponse", []byte(qr)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("duplicate: %d %s", resp.StatusCode, truncate(body))
	}
	stored := get("QuestionnaireResponse/" + qrID)
	delete(stored, "meta")
	if resp, body := do(t, "PUT", m.URL()+"/fhir/QuestionnaireResponse/"+qrID, []byte(mustJSON(stored))); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT again: %d %s", resp.StatusCode, truncate(body))
	}
	after := versions()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s: version %s → %s after the duplicate", k, v, after[k])
		}
	}
	if len(after) != len(before) {
		t.Errorf("duplicate: %d outcome resources, want %d", len(after), len(before))
	}
	if n := total("ServiceRequest?replaces=ServiceRequest/" + srID); n != "1" {
		t.Errorf("alternatives after the duplicate: %s", n)
	}
	eventually(t, "the outbox to drain", func() bool {
		ms, err := m.Store.OutboundMessages(t.Context(), socialrx.DeliveryPending, 0)
		return err == nil && len(ms) == 0
	})
	if w := emrWrites(); w["QuestionnaireResponse"] != 1 || w["Communication"] != 1 {
		t.Errorf("EMR writes after the duplicate: %v, want one response and one summary", w)
	}
}
