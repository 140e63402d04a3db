package mapping

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

func readFull(t *testing.T) *FollowUpResponse {
	t.Helper()
	r, err := ReadFollowUpResponse([]byte(fuResponse("completed", fullItems()...)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func valid(t *testing.T, b []byte, typ string) map[string]any {
	t.Helper()
	if issues := fhir.Validate(b, typ); len(issues) > 0 {
		t.Fatalf("%s not valid R4: %+v\n%s", typ, issues, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestOutcomeObservations(t *testing.T) {
	r := readFull(t)
	o := socialrx.DecideOutcome(r.Answers)
	obs := OutcomeObservations(o, r, "qr1", func(k string) string { return "ob-" + k }, now2026)
	var kinds []string
	values := map[string]string{}
	for _, ob := range obs {
		kinds = append(kinds, ob.Kind)
		m := valid(t, ob.Body, "Observation")
		if m["id"] != "ob-"+ob.Kind || m["status"] != "final" {
			t.Errorf("%s: id %v status %v", ob.Kind, m["id"], m["status"])
		}
		s := string(ob.Body)
		for _, want := range []string{`"basedOn":[{"reference":"ServiceRequest/sr1"}]`, `"subject":{"reference":"Patient/p1"}`,
			`"derivedFrom":[{"reference":"QuestionnaireResponse/qr1"}]`, `"code":"social-history"`, `"code":"survey"`,
			`"effectiveDateTime":"2026-12-01T10:00:00Z"`, `"performer":[{"reference":"Patient/p1"}]`} {
			if !strings.Contains(s, want) {
				t.Errorf("%s lacks %s", ob.Kind, want)
			}
		}
		code := m["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)
		v, _ := json.Marshal([]any{code["system"], code["code"], m["valueCodeableConcept"], m["valueInteger"], m["valueQuantity"]})
		values[ob.Kind] = string(v)
	}
	if diff := cmp.Diff([]string{"pursued", "satisfaction", "wellbeing", "ucla-3-total", "promis-physical", "promis-mental"}, kinds); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
	fi := socialrx.CodeSystemBase + "follow-up-item"
	q := func(n int) string {
		return `{"code":"{score}","system":"http://unitsofmeasure.org","unit":"{score}","value":` + strconv.Itoa(n) + `}`
	}
	want := map[string]string{
		"pursued":         `["` + fi + `","pursued",{"coding":[{"code":"partly","display":"Partly","system":"http://socialrx.dev/fhir/CodeSystem/follow-up-pursued"}]},null,null]`,
		"satisfaction":    `["` + fi + `","satisfaction",null,4,null]`,
		"wellbeing":       `["` + fi + `","wellbeing-change",{"coding":[{"code":"better","display":"Better","system":"http://socialrx.dev/fhir/CodeSystem/follow-up-wellbeing"}]},null,null]`,
		"ucla-3-total":    `["` + fi + `","ucla-3-total",null,null,` + q(6) + `]`,
		"promis-physical": `["http://loinc.org","71972-4",null,null,` + q(2+4+3+4) + `]`,
		"promis-mental":   `["http://loinc.org","71970-8",null,null,` + q(4+3+1+2) + `]`,
	}
	if diff := cmp.Diff(want, values); diff != "" {
		t.Errorf("codes and values (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(obs[0].Body), `"component":[{"code":{"coding":[{"system":"`+fi+`","code":"barriers"`) ||
		strings.Count(string(obs[0].Body), `"valueCodeableConcept"`) != 3 {
		t.Errorf("pursued carries a component per barrier: %s", obs[0].Body)
	}
	// An answer not given gives no Observation; the Observations become
	// no findings (they are not screening answers).
	r.Answers = socialrx.FollowUpAnswers{Pursued: socialrx.PursuedYes, NextStep: socialrx.NextDone}
	obs = OutcomeObservations(socialrx.DecideOutcome(r.Answers), r, "qr1", func(k string) string { return k }, now2026)
	if len(obs) != 1 || obs[0].Kind != "pursued" {
		t.Errorf("minimal answers: %d observations", len(obs))
	}
	if fs, err := FindingsFromObservation(obs[0].Body); err != nil || len(fs) != 0 {
		t.Errorf("findings of an outcome Observation: %v, %v", fs, err)
	}
}

func TestCompleteFollowUpTask(t *testing.T) {
	task := FollowUpTask(socialrx.FollowUp{PrescriptionID: "sr1", PatientID: "p1", Due: now2026, Channel: socialrx.ContactEmail}, "fu1", now2026)
	later := now2026.Add(time.Hour)
	b, changed, err := CompleteFollowUpTask(task, "qr1", later)
	if err != nil || !changed {
		t.Fatalf("complete: %v %v", changed, err)
	}
	valid(t, b, "Task")
	f, ok, err := FollowUpFromTask(b)
	if err != nil || !ok || f.Status != "completed" {
		t.Errorf("read back: %+v %v %v", f, ok, err)
	}
	if !strings.Contains(string(b), `"output":[{"type":{"coding":[{"system":"http://socialrx.dev/fhir/CodeSystem/task-output","code":"follow-up-response"`) ||
		!strings.Contains(string(b), `"valueReference":{"reference":"QuestionnaireResponse/qr1"}`) ||
		!strings.Contains(string(b), `"lastModified":"`+dateTime(later)+`"`) {
		t.Errorf("completed Task: %s", b)
	}
	if strings.Index(string(b), `"lastModified"`) < strings.Index(string(b), `"authoredOn"`) {
		t.Errorf("lastModified placed before authoredOn: %s", b)
	}
	again, changed, err := CompleteFollowUpTask(b, "qr1", later.Add(time.Hour))
	if err != nil || changed || string(again) != string(b) {
		t.Errorf("completing again changed it: %v %v", changed, err)
	}
	second, changed, _ := CompleteFollowUpTask(b, "qr2", later)
	if !changed || strings.Count(string(second), "QuestionnaireResponse/") != 2 {
		t.Errorf("a second response is added as output: %s", second)
	}
}

func TestGoal(t *testing.T) {
	p := socialrx.Prescription{ID: "sr1", PatientID: "p1", Needs: []socialrx.NeedDomain{socialrx.DomainSocialSupport},
		NeedRefs: []string{"Condition/c1"}, Code: socialrx.Coding{Display: "Walking group"}}
	o := socialrx.DecideOutcome(socialrx.FollowUpAnswers{Pursued: socialrx.PursuedYes, Wellbeing: socialrx.WellbeingBetter, NextStep: socialrx.NextKeepGoing})
	g := PrescriptionGoal(p, "gl1", o, now2026)
	m := valid(t, g, "Goal")
	if m["lifecycleStatus"] != "active" || !strings.Contains(string(g), `"achievementStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/goal-achievement","code":"improving","display":"Improving"}]}`) ||
		!strings.Contains(string(g), `"addresses":[{"reference":"Condition/c1"}]`) || !strings.Contains(string(g), `"code":"social-support"`) {
		t.Errorf("goal: %s", g)
	}
	// Done and better: achieved and completed; the other members stay.
	done := socialrx.DecideOutcome(socialrx.FollowUpAnswers{Pursued: socialrx.PursuedYes, Wellbeing: socialrx.WellbeingBetter, NextStep: socialrx.NextDone})
	emrGoal := []byte(`{"resourceType":"Goal","id":"g9","lifecycleStatus":"active","description":{"text":"Feel less alone"},"subject":{"reference":"Patient/p1"},"note":[{"text":"kept"}]}`)
	b, changed, err := UpdateGoal(emrGoal, done, now2026)
	if err != nil || !changed {
		t.Fatalf("update: %v %v", changed, err)
	}
	valid(t, b, "Goal")
	want := `{"resourceType":"Goal","id":"g9","lifecycleStatus":"completed","achievementStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/goal-achievement","code":"achieved","display":"Achieved"}]},"description":{"text":"Feel less alone"},"subject":{"reference":"Patient/p1"},"statusDate":"2026-03-02","note":[{"text":"kept"}]}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("updated Goal (-want +got):\n%s", diff)
	}
	if _, changed, _ := UpdateGoal(b, done, now2026.Add(48*time.Hour)); changed {
		t.Error("the same outcome again changed the Goal")
	}
	noWellbeing := socialrx.DecideOutcome(socialrx.FollowUpAnswers{Pursued: socialrx.PursuedNo, NextStep: socialrx.NextKeepGoing})
	if _, changed, _ := UpdateGoal(emrGoal, noWellbeing, now2026); changed {
		t.Error("no well-being answer changed the Goal")
	}
	if got := GoalsOf([]byte(`{"resourceType":"ServiceRequest","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal","valueReference":{"reference":"Goal/g9"}},{"url":"x","valueString":"y"}]}`)); !cmp.Equal(got, []string{"Goal/g9"}) {
		t.Errorf("GoalsOf = %v", got)
	}
}

// TestAlternativeWithoutProgramIsAPrescription: socialrx's own draft with
// no program suggested is a valid prescription whatever the old one said
// it prescribed: a text-only code (finding: "a code or a performer is
// required" refused it), or only a performer (the draft has neither).
func TestAlternativeWithoutProgramIsAPrescription(t *testing.T) {
	for _, c := range []struct{ name, code string }{
		{"code with text only", `"code":{"text":"housing support"},`},
		{"no code, a performer", ``},
	} {
		t.Run(c.name, func(t *testing.T) {
			old := []byte(`{"resourceType":"ServiceRequest","id":"sr1","status":"active","intent":"order",
"category":[{"coding":[{"system":"` + needDomainSystem + `","code":"housing"}]}],` + c.code + `
"subject":{"reference":"Patient/p1"},"performer":[{"reference":"HealthcareService/housing-centre"}]}`)
			if _, err := PrescriptionFromServiceRequest(old, nil); err != nil {
				t.Fatalf("the prescription itself: %v", err)
			}
			b, err := AlternativeServiceRequest(old, "alt1", "sr1", "k", "", "qr1", now2026)
			if err != nil {
				t.Fatal(err)
			}
			valid(t, b, "ServiceRequest")
			p, err := PrescriptionFromServiceRequest(b, nil)
			if err != nil {
				t.Fatalf("the draft alternative read as a prescription: %v", err)
			}
			if p.Status != "draft" || p.Target != "" || len(p.Needs) != 1 || p.Needs[0] != socialrx.DomainHousing {
				t.Errorf("draft: %+v; want draft, no performer, the housing need", p)
			}
			// Activated as it is, it is refused: a draft is completed first.
			active := []byte(strings.Replace(string(b), `"status":"draft"`, `"status":"active"`, 1))
			_, err = PrescriptionFromServiceRequest(active, nil)
			if c.code == "" && socialrx.ErrorCode(err) != socialrx.EUNPROCESSABLE {
				t.Errorf("activated with neither code nor performer: %v, want 422", err)
			}
			if c.code != "" && err != nil {
				t.Errorf("activated with a text-only code: %v", err)
			}
		})
	}
}

func TestAlternativeServiceRequest(t *testing.T) {
	old := []byte(`{"resourceType":"ServiceRequest","id":"sr1","status":"active","intent":"order",
"category":[{"coding":[{"system":"http://snomed.info/sct","code":"410606002"}]},{"coding":[{"system":"` + formSystem + `","code":"warm-handoff"}]}],
"code":{"coding":[{"system":"http://snomed.info/sct","code":"710925007"}]},"subject":{"reference":"Patient/p1"},
"requester":{"reference":"PractitionerRole/r1"},"performer":[{"reference":"HealthcareService/old"}],"reasonReference":[{"reference":"Condition/c1"}]}`)
	b, err := AlternativeServiceRequest(old, "alt1", "sr1", "k", "HealthcareService/new", "qr1", now2026)
	if err != nil {
		t.Fatal(err)
	}
	m := valid(t, b, "ServiceRequest")
	if m["status"] != "draft" || m["intent"] != "proposal" || strings.Contains(string(b), "warm-handoff") || strings.Contains(string(b), "HealthcareService/old") {
		t.Errorf("alternative: %s", b)
	}
	for _, want := range []string{`"replaces":[{"reference":"ServiceRequest/sr1"}]`, `"performer":[{"reference":"HealthcareService/new"}]`,
		`"reasonReference":[{"reference":"Condition/c1"}]`, `"supportingInfo":[{"reference":"QuestionnaireResponse/qr1"}]`, `"code":"410606002"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("alternative lacks %s", want)
		}
	}
	p, err := PrescriptionFromServiceRequest(b, nil)
	if err != nil || p.Status != "draft" || p.Target != "HealthcareService/new" {
		t.Errorf("the alternative read as a prescription: %+v %v", p, err)
	}
	none, _ := AlternativeServiceRequest(old, "alt1", "sr1", "k", "", "qr1", now2026)
	if strings.Contains(string(none), "performer") || !strings.Contains(string(none), "no other active program") {
		t.Errorf("without a program: %s", none)
	}
}

// TestSummaryNextStep: the chart summary words each next step as a
// sentence about the person, not the answer's own first-person words
// (roles-walk finding 16: "Next step: i need more help").
func TestSummaryNextStep(t *testing.T) {
	for _, c := range []struct {
		next socialrx.NextStep
		want string
	}{
		{socialrx.NextKeepGoing, " Next step: keep going with the prescribed support."},
		{socialrx.NextTryAlternative, " Next step: try something else."},
		{socialrx.NextMoreHelp, " Next step: the person asked for more help."},
		{socialrx.NextDone, " Next step: done, the support is no longer needed."},
		{"", ""},
	} {
		o := socialrx.DecideOutcome(socialrx.FollowUpAnswers{Pursued: socialrx.PursuedYes, NextStep: c.next})
		text := SummaryText(o, SummaryFacts{})
		_, got, _ := strings.Cut(text, " Pursued: Yes.")
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("next step %q (-want +got):\n%s", c.next, diff)
		}
	}
	for _, row := range nextStepDisplays { // a row for every answer option
		if displayFrom(nextStepSummaries, row[0]) == "" {
			t.Errorf("next step %s has no summary wording", row[0])
		}
	}
}

func TestFollowUpSummaryAndHelpTask(t *testing.T) {
	r := readFull(t)
	o := socialrx.DecideOutcome(r.Answers)
	p := socialrx.Prescription{ID: "sr1", PatientID: "p1", RequesterID: "PractitionerRole/r1"}
	c := FollowUpSummary(o, r, p, "sum1", "k", "qr1", SummaryFacts{Goal: "Goal/g1", Alternative: "ServiceRequest/alt1", Program: true}, now2026)
	valid(t, c, "Communication")
	text := SummaryText(o, SummaryFacts{Goal: "Goal/g1", Alternative: "ServiceRequest/alt1", Program: true})
	want := "Social prescription follow-up. Pursued: Partly. Barriers: cost, other. Satisfaction: 4/5. Well-being since the prescription: better." +
		" Three-Item Loneliness Scale: 6 (3-9, higher is lonelier). PROMIS Global-10 raw scores: physical 13, mental 10 (4-20, higher is healthier)." +
		" Next step: try something else. Goal: improving. A draft alternative prescription with a suggested program awaits the clinician's confirmation."
	if diff := cmp.Diff(want, text); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if strings.Contains(string(c), "shift") {
		t.Error("the summary carries the response's free text")
	}
	for _, w := range []string{`"about":[{"reference":"QuestionnaireResponse/qr1"},{"reference":"Goal/g1"},{"reference":"ServiceRequest/alt1"}]`,
		`"recipient":[{"reference":"PractitionerRole/r1"}]`, `"basedOn":[{"reference":"ServiceRequest/sr1"}]`} {
		if !strings.Contains(string(c), w) {
			t.Errorf("summary lacks %s: %s", w, c)
		}
	}
	task := FollowUpHelpTask(p, "fh1", "k", "qr1", now2026)
	valid(t, task, "Task")
	if _, isReferral, _ := ReferralFromTask(task); isReferral {
		t.Error("the help Task read as a referral")
	}
	if _, isFU, _ := FollowUpFromTask(task); isFU {
		t.Error("the help Task read as a follow-up")
	}
	if !strings.Contains(string(task), `"owner":{"reference":"PractitionerRole/r1"}`) || !strings.Contains(string(task), `"code":"follow-up-help"`) {
		t.Errorf("help Task: %s", task)
	}
}
