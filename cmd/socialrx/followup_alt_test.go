package main

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/workflow"
)

// "Try something else" is recorded when the prescription's code has text
// only and the directory has no other program for the need (roles-walk
// finding 1: socialrx's own draft alternative, without a performer, broke
// "a code or a performer is required", and the answer was lost: 422 to
// staff, 500 on the patient form). On both stores, answered by staff over
// FHIR and by the patient on the form: the answer stored, the follow-up
// Task completed, a draft alternative without a performer and with a note
// saying so, and the summary saying a program is still to be chosen.
func TestFollowUpAlternativeWithoutProgram(t *testing.T) {
	for _, be := range encounterBackends {
		t.Run(be.name, func(t *testing.T) { testFollowUpAlternativeWithoutProgram(t, be.database(t)) })
	}
}

func testFollowUpAlternativeWithoutProgram(t *testing.T, database string) {
	keyFile := filepath.Join(t.TempDir(), "link.key")
	m := startMainWith(t, database, func(cfg *Config) { cfg.LinkKeyFile = keyFile })
	put := func(path, body string) {
		t.Helper()
		if resp, b := do(t, "PUT", m.URL()+"/fhir/"+path, []byte(body)); resp.StatusCode/100 != 2 {
			t.Fatalf("PUT %s: %d %s", path, resp.StatusCode, truncate(b))
		}
	}
	get := func(path string) map[string]any {
		t.Helper()
		resp, body := do(t, "GET", m.URL()+"/fhir/"+path, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, truncate(body))
		}
		return decodeJSON(t, body)
	}
	// The only housing program is the one prescribed.
	put("HealthcareService/housing-centre", `{"resourceType":"HealthcareService","id":"housing-centre","active":true,"name":"Housing centre",
"category":[{"coding":[{"system":"`+fuSys+`need-domain","code":"housing"}]}]}`)
	const textCode = `"code":{"text":"housing support"},`
	prescribe := func(srID, patientID, code string) {
		t.Helper()
		put("Patient/"+patientID, `{"resourceType":"Patient","id":"`+patientID+`"}`)
		put("ServiceRequest/"+srID, `{"resourceType":"ServiceRequest","id":"`+srID+`","status":"active","intent":"order",
"category":[{"coding":[{"system":"`+fuSys+`need-domain","code":"housing"}]}],`+code+`
"subject":{"reference":"Patient/`+patientID+`"},"authoredOn":"2026-11-20T12:00:00Z","performer":[{"reference":"HealthcareService/housing-centre"}]}`)
		if task := get("Task/" + workflow.FollowUpTaskID(srID)); task["status"] != "requested" {
			t.Fatalf("follow-up Task of %s before: %v", srID, task["status"])
		}
	}
	// checkRecorded checks what the answer qrID to srID became.
	checkRecorded := func(how, srID, code, qrID string, ids workflow.OutcomeIDs) {
		t.Helper()
		if task := get("Task/" + workflow.FollowUpTaskID(srID)); task["status"] != "completed" {
			t.Errorf("%s: follow-up Task %v, want completed", how, task["status"])
		}
		alt := get("ServiceRequest/" + ids.Alternative())
		s := mustJSON(alt)
		if alt["status"] != "draft" || alt["intent"] != "proposal" || alt["performer"] != nil ||
			strings.Contains(s, `"code":{"text":"housing support"}`) != (code != "") || !strings.Contains(s, "no other active program") ||
			!strings.Contains(s, `"supportingInfo":[{"reference":"QuestionnaireResponse/`+qrID+`"}]`) {
			t.Errorf("%s: alternative: want a draft proposal without a performer, the same code and a note: %s", how, s)
		}
		summary := mustJSON(get("Communication/" + ids.Summary()))
		if !strings.Contains(summary, "Next step: try something else.") || !strings.Contains(summary, "A draft alternative prescription awaits the clinician's choice of program.") {
			t.Errorf("%s: summary: %s", how, summary)
		}
	}

	// Staff record the answer over FHIR: a prescription with a text-only
	// code, and one with no code at all (the draft then has neither a code
	// nor a performer: a draft need not say yet what it prescribes).
	for _, c := range []struct{ how, srID, code, fu string }{
		{"staff, text-only code", "sr-staff", textCode, "FU-1"},
		{"staff, no code", "sr-nocode", "", "FU-2"},
	} {
		prescribe(c.srID, "pt-"+c.srID, c.code)
		qr := strings.Replace(fuQR(c.srID, "pt-"+c.srID, fuLink("pursued", fuAnswer("follow-up-pursued", "yes")),
			fuLink("satisfaction", `{"valueInteger":2}`), fuLink("wellbeing", fuAnswer("follow-up-wellbeing", "same")),
			fuLink("next-step", fuAnswer("follow-up-next-step", "try-alternative"))), `"value":"FU-1"`, `"value":"`+c.fu+`"`, 1)
		resp, body := do(t, "POST", m.URL()+"/fhir/QuestionnaireResponse", []byte(qr))
		if resp.StatusCode != http.StatusCreated {
			t.Errorf("%s: answer: %d %s; want 201", c.how, resp.StatusCode, truncate(body))
			continue
		}
		qrID := decodeJSON(t, body)["id"].(string)
		checkRecorded(c.how, c.srID, c.code, qrID, workflow.OutcomeIDsFor(qrID, "https://riverdale-fht.example/oscar/sid/follow-up", c.fu))
	}

	// The patient answers on the form.
	prescribe("sr-form", "pt-form", textCode)
	key, err := loadLinkKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	fuID := workflow.FollowUpTaskID("sr-form")
	link := m.URL() + "/p/f/" + socialrx.SignLink(key, socialrx.FormLink{TaskID: fuID, Expires: time.Now().Add(socialrx.DefaultLinkTTL)})
	resp, page := do(t, "GET", link, nil)
	tok := formTokenRe.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || tok == nil {
		t.Fatalf("GET form: %d, want 200 with a form token", resp.StatusCode)
	}
	form := url.Values{"_form": {string(tok[1])}, "q.pursued": {"yes"}, "q.satisfaction": {"2"}, "q.wellbeing": {"same"}, "q.next-step": {"try-alternative"}}
	postForm(t, link, form)
	formQR := workflow.PatientAnswerID(fuID)
	if got := get("QuestionnaireResponse/" + formQR); got["identifier"] != nil {
		t.Fatalf("the form's response has an identifier %v: the outcome ids below assume none", got["identifier"])
	}
	checkRecorded("form", "sr-form", textCode, formQR, workflow.OutcomeIDsFor(formQR, "", ""))
}
