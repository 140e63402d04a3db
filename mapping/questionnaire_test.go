package mapping

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

var updateQuestionnaire = flag.Bool("update-questionnaire", false, "rewrite testdata/follow-up-questionnaire.json")

// TestFollowUpQuestionnaire checks the shipped Questionnaire: valid R4 (the
// server's own validator), the top-level linkIds promised to the patient
// form, and the SDC basics it relies on (see docs/mapping.md, "Follow-up").
// The JSON is kept in testdata (golden, -update-questionnaire) so that the
// node validator (../shared/tools/fhir-validate) can be run on it.
func TestFollowUpQuestionnaire(t *testing.T) {
	b := FollowUpQuestionnaire()
	if issues := fhir.Validate(b, "Questionnaire"); len(issues) > 0 {
		t.Fatalf("R4 issues: %+v", issues)
	}
	golden := filepath.Join("testdata", "follow-up-questionnaire.json")
	if *updateQuestionnaire {
		if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(strings.TrimSpace(string(want)), string(b)); diff != "" {
		t.Errorf("Questionnaire changed (-golden +got); bump its version if the change is not compatible, then -update-questionnaire:\n%s", diff)
	}
	var q struct {
		URL, Version, Status string
		Item                 []qItemJSON
	}
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	if q.URL != socialrx.FollowUpQuestionnaire || q.Version != "1.0.0" || q.Status != "active" {
		t.Errorf("url %s version %s status %s", q.URL, q.Version, q.Status)
	}
	var top []string
	for _, it := range q.Item {
		top = append(top, it.LinkID)
	}
	if diff := cmp.Diff([]string{"pursued", "barriers", "barriers-other", "satisfaction", "wellbeing", "ucla-3", "promis-global-10", "next-step"}, top); diff != "" {
		t.Errorf("top-level linkIds (the patient form's contract) (-want +got):\n%s", diff)
	}
	// Codes each answerOption may use: socialrx's code systems as served.
	codes := map[string]bool{}
	for _, cs := range terminologies() {
		for _, c := range cs.Concepts {
			codes[socialrx.CodeSystemBase+cs.Name+"|"+c.Code] = true
		}
	}
	seen := map[string]qItemJSON{}
	var walk func(items []qItemJSON, inGroup bool)
	walk = func(items []qItemJSON, inGroup bool) {
		for _, it := range items {
			if _, dup := seen[it.LinkID]; dup || it.LinkID == "" || it.Text == "" {
				t.Errorf("linkId %q: duplicate, empty or without text", it.LinkID)
			}
			for _, ew := range it.EnableWhen {
				prev, ok := seen[ew.Question]
				if !ok || prev.Type != "choice" || !slices.ContainsFunc(prev.AnswerOption, func(o qOptionJSON) bool {
					return o.ValueCoding.System == ew.AnswerCoding.System && o.ValueCoding.Code == ew.AnswerCoding.Code
				}) {
					t.Errorf("%s: enableWhen must name an earlier choice item and one of its options", it.LinkID)
				}
			}
			seen[it.LinkID] = it
			switch it.Type {
			case "group":
				if len(it.Item) == 0 || len(it.AnswerOption) > 0 || it.Required != nil {
					t.Errorf("%s: a group has items, no options, and is optional", it.LinkID)
				}
				if len(it.Code) == 0 || it.Code[0].System != systemLOINC {
					t.Errorf("%s: a scale group carries its LOINC panel code", it.LinkID)
				}
			case "choice":
				if len(it.AnswerOption) == 0 {
					t.Errorf("%s: choice without answerOption", it.LinkID)
				}
				for _, o := range it.AnswerOption {
					if !codes[o.ValueCoding.System+"|"+o.ValueCoding.Code] || o.ValueCoding.Display == "" {
						t.Errorf("%s: option %s|%s is not a served socialrx code with a display", it.LinkID, o.ValueCoding.System, o.ValueCoding.Code)
					}
					if inGroup && (len(o.Extension) != 1 || o.Extension[0].URL != extOrdinalValue || o.Extension[0].ValueDecimal == nil) {
						t.Errorf("%s: a scale item's options carry their score (ordinalValue)", it.LinkID)
					}
				}
			case "integer":
				if len(it.Extension) != 2 || it.Extension[0].URL != extMinValue || it.Extension[1].URL != extMaxValue ||
					it.Extension[0].ValueInteger == nil || it.Extension[1].ValueInteger == nil {
					t.Errorf("%s: integer items carry integer minValue and maxValue", it.LinkID)
				}
			case "string":
			default:
				t.Errorf("%s: unexpected type %s", it.LinkID, it.Type)
			}
			if it.ReadOnly != nil && (it.Type != "integer" || it.Required != nil) {
				t.Errorf("%s: only computed scores are readOnly, and never required", it.LinkID)
			}
			walk(it.Item, true)
		}
	}
	walk(q.Item, false)
	for _, l := range []string{"pursued", "next-step"} {
		if seen[l].Required == nil {
			t.Errorf("%s must be required", l)
		}
	}
	if seen["barriers"].Repeats == nil {
		t.Errorf("barriers must repeat")
	}
}

// fuItem builds QR items; fuCoding an answer.
func fuCoding(system, code string) string {
	return `{"valueCoding":{"system":"` + socialrx.CodeSystemBase + system + `","code":"` + code + `"}}`
}

func fuItem(link string, answers ...string) string {
	return `{"linkId":"` + link + `","answer":[` + strings.Join(answers, ",") + `]}`
}

func fuGroup(link string, items ...string) string {
	return `{"linkId":"` + link + `","item":[` + strings.Join(items, ",") + `]}`
}

func fuResponse(status string, items ...string) string {
	return `{"resourceType":"QuestionnaireResponse","id":"qr1","identifier":{"system":"https://emr.example/qr","value":"Q-1"},` +
		`"questionnaire":"` + socialrx.FollowUpQuestionnaire + `|1.0.0","status":"` + status + `",` +
		`"basedOn":[{"reference":"ServiceRequest/sr1"}],"subject":{"reference":"Patient/p1"},"authored":"2026-12-01T10:00:00Z",` +
		`"author":{"reference":"Patient/p1"},"item":[` + strings.Join(items, ",") + `]}`
}

// A full, valid follow-up: every item, both scales.
func fullItems() []string {
	lonely := func(c string) string { return fuCoding("loneliness-frequency", c) }
	pr := func(c string) string { return fuCoding("promis-global-response", c) }
	return []string{
		fuItem("pursued", fuCoding("follow-up-pursued", "partly")),
		fuItem("barriers", fuCoding("follow-up-barrier", "cost"), fuCoding("follow-up-barrier", "other")),
		fuItem("barriers-other", `{"valueString":"my shift changed"}`),
		fuItem("satisfaction", `{"valueInteger":4}`),
		fuItem("wellbeing", fuCoding("follow-up-wellbeing", "better")),
		fuGroup("ucla-3", fuItem("ucla-3-companionship", lonely("often")), fuItem("ucla-3-left-out", lonely("some-of-the-time")),
			fuItem("ucla-3-isolated", lonely("hardly-ever")), fuItem("ucla-3-total", `{"valueInteger":6}`)),
		fuGroup("promis-global-10",
			fuItem("promis-item-01", pr("good")), fuItem("promis-item-02", pr("very-good")), fuItem("promis-item-03", pr("fair")),
			fuItem("promis-item-04", pr("good")), fuItem("promis-item-05", pr("poor")), fuItem("promis-item-09", pr("excellent")),
			fuItem("promis-item-06", pr("mostly")), fuItem("promis-item-10", pr("often")), fuItem("promis-item-08", pr("mild")),
			fuItem("promis-item-07", `{"valueInteger":5}`)),
		fuItem("next-step", fuCoding("follow-up-next-step", "try-alternative")),
	}
}

func TestReadFollowUpResponse(t *testing.T) {
	body := fuResponse("completed", fullItems()...)
	if issues := fhir.Validate([]byte(body), "QuestionnaireResponse"); len(issues) > 0 {
		t.Fatalf("the test's response is not valid R4: %+v", issues)
	}
	if !IsFollowUpResponse([]byte(body)) {
		t.Fatal("IsFollowUpResponse false")
	}
	r, err := ReadFollowUpResponse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := &FollowUpResponse{Status: "completed", PatientID: "p1", PrescriptionID: "sr1", Author: "Patient/p1",
		Authored: mustTime(t, "2026-12-01T10:00:00Z"), IdentifierSystem: "https://emr.example/qr", IdentifierValue: "Q-1",
		Answers: socialrx.FollowUpAnswers{Pursued: socialrx.PursuedPartly, Barriers: []socialrx.Barrier{socialrx.BarrierCost, socialrx.BarrierOther},
			Satisfaction: 4, Wellbeing: socialrx.WellbeingBetter, NextStep: socialrx.NextTryAlternative,
			UCLA3: []int{3, 2, 1},
			// Global01..10: good 3, very good 4, fair 2, good 3, poor 1, mostly 4, pain 5, mild 4, excellent 5, often 2.
			PROMIS: []int{3, 4, 2, 3, 1, 4, 5, 4, 5, 2}}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	if !r.Answered() {
		t.Error("a completed response is answered")
	}
	// The minimum: the two required items.
	min := fuResponse("completed", fuItem("pursued", fuCoding("follow-up-pursued", "yes")), fuItem("next-step", fuCoding("follow-up-next-step", "keep-going")))
	if _, err := ReadFollowUpResponse([]byte(min)); err != nil {
		t.Errorf("minimal response: %v", err)
	}
	// In progress: required items may wait.
	if _, err := ReadFollowUpResponse([]byte(fuResponse("in-progress", fuItem("satisfaction", `{"valueInteger":2}`)))); err != nil {
		t.Errorf("in-progress response: %v", err)
	}
	// Not a follow-up response.
	if IsFollowUpResponse([]byte(`{"resourceType":"QuestionnaireResponse","questionnaire":"http://example.org/Questionnaire/phq9","status":"completed"}`)) {
		t.Error("another questionnaire taken for the follow-up")
	}
}

func mustTime(t *testing.T, s string) (tm time.Time) {
	t.Helper()
	tm, err := parseDateTime(s, "x")
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// TestReadFollowUpResponseInvalid: each broken response is refused with an
// issue at the element and the linkId named, and no answer value in it.
func TestReadFollowUpResponseInvalid(t *testing.T) {
	full := fullItems()
	with := func(i int, item string) []string {
		out := slices.Clone(full)
		out[i] = item
		return out
	}
	without := func(i int) []string { return slices.Delete(slices.Clone(full), i, i+1) }
	tests := []struct {
		name, body, path, text string
	}{
		{"pursued missing", fuResponse("completed", without(0)...), "QuestionnaireResponse.item", "linkId pursued: required item missing"},
		{"next-step missing", fuResponse("completed", without(7)...), "QuestionnaireResponse.item", "linkId next-step: required"},
		{"pursued without answer", fuResponse("completed", with(0, `{"linkId":"pursued"}`)...), "QuestionnaireResponse.item[0].answer", "linkId pursued: an answer is required"},
		{"code not an option", fuResponse("completed", with(0, fuItem("pursued", fuCoding("follow-up-pursued", "maybe")))...), "QuestionnaireResponse.item[0].answer[0].valueCoding", "linkId pursued: the coding is not one"},
		{"option of another system", fuResponse("completed", with(0, fuItem("pursued", fuCoding("follow-up-wellbeing", "better")))...), "QuestionnaireResponse.item[0].answer[0].valueCoding", "linkId pursued"},
		{"wrong answer type", fuResponse("completed", with(3, fuItem("satisfaction", `{"valueString":"4"}`))...), "QuestionnaireResponse.item[3].answer[0]", "linkId satisfaction: the answer must be a valueInteger"},
		{"satisfaction out of range", fuResponse("completed", with(3, fuItem("satisfaction", `{"valueInteger":6}`))...), "QuestionnaireResponse.item[3].answer[0].valueInteger", "linkId satisfaction: out of"},
		{"two answers to one question", fuResponse("completed", with(4, fuItem("wellbeing", fuCoding("follow-up-wellbeing", "better"), fuCoding("follow-up-wellbeing", "worse")))...), "QuestionnaireResponse.item[4].answer[1]", "linkId wellbeing: takes one answer"},
		{"barriers-other without barrier other", fuResponse("completed", with(1, fuItem("barriers", fuCoding("follow-up-barrier", "cost")))...), "QuestionnaireResponse.item[2]", "linkId barriers-other: answered, but only enabled when barriers = other"},
		{"unknown linkId", fuResponse("completed", append(slices.Clone(full), fuItem("mood", `{"valueString":"x"}`))...), "QuestionnaireResponse.item[8].linkId", `linkId "mood" is not an item`},
		{"item twice", fuResponse("completed", append(slices.Clone(full), fuItem("pursued", fuCoding("follow-up-pursued", "yes")))...), "QuestionnaireResponse.item[8]", "linkId pursued: given more than once"},
		{"scale item missing in a given group", fuResponse("completed", with(5, fuGroup("ucla-3", fuItem("ucla-3-companionship", fuCoding("loneliness-frequency", "often"))))...), "QuestionnaireResponse.item[5].item", "linkId ucla-3-left-out: required item missing"},
		{"wrong score given", fuResponse("completed", with(5, fuGroup("ucla-3", fuItem("ucla-3-companionship", fuCoding("loneliness-frequency", "often")), fuItem("ucla-3-left-out", fuCoding("loneliness-frequency", "often")), fuItem("ucla-3-isolated", fuCoding("loneliness-frequency", "often")), fuItem("ucla-3-total", `{"valueInteger":8}`)))...), "QuestionnaireResponse.item[5].item[3].answer[0]", "linkId ucla-3-total: the score given differs"},
		{"pain out of range", fuResponse("completed", with(6, strings.Replace(full[6], `{"valueInteger":5}`, `{"valueInteger":11}`, 1))...), "QuestionnaireResponse.item[6].item[9].answer[0].valueInteger", "linkId promis-item-07: out of"},
		{"answer on a group", fuResponse("completed", with(5, `{"linkId":"ucla-3","answer":[{"valueInteger":1}],"item":[]}`)...), "QuestionnaireResponse.item[5].answer", "linkId ucla-3: a group has items"},
		{"other version", strings.Replace(fuResponse("completed", full...), "|1.0.0", "|2.0.0", 1), "QuestionnaireResponse.questionnaire", "unknown version"},
		{"no prescription", strings.Replace(fuResponse("completed", full...), `"basedOn":[{"reference":"ServiceRequest/sr1"}],`, "", 1), "QuestionnaireResponse.basedOn", "basedOn must reference"},
		{"subject not a Patient", strings.Replace(fuResponse("completed", full...), `"subject":{"reference":"Patient/p1"}`, `"subject":{"reference":"Group/g1"}`, 1), "QuestionnaireResponse.subject", "subject must reference the Patient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadFollowUpResponse([]byte(tt.body))
			var se *socialrx.Error
			if !errors.As(err, &se) || se.Code != socialrx.EUNPROCESSABLE {
				t.Fatalf("got %v, want an EUNPROCESSABLE error", err)
			}
			found := false
			for _, is := range se.Issues {
				if is.Path == tt.path && strings.Contains(is.Message, tt.text) {
					found = true
				}
				if strings.Contains(is.Message, "shift") || strings.Contains(is.Message, "Patient/p1") {
					t.Errorf("issue carries a value of the response: %q", is.Message)
				}
			}
			if !found {
				t.Errorf("want an issue at %s saying %q; got %+v", tt.path, tt.text, se.Issues)
			}
		})
	}
}
