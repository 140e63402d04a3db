package mapping

import (
	"strconv"

	"github.com/socialrx/socialrx"
)

// The follow-up Questionnaire socialrx ships (socialrx.FollowUpQuestionnaire,
// version socialrx.FollowUpQuestionnaireVersion) is defined once, here, as
// Go data: FollowUpQuestionnaire writes it as FHIR R4 JSON (seeded at
// start-up, served at /fhir/Questionnaire), and ReadFollowUpResponse checks
// a QuestionnaireResponse against the same definition. Its top-level
// linkIds are a contract with the patient's web form: pursued, barriers,
// barriers-other, satisfaction, wellbeing, ucla-3, promis-global-10,
// next-step.

// The socialrx code systems of the follow-up.
const (
	pursuedSystem      = socialrx.CodeSystemBase + "follow-up-pursued"
	barrierSystem      = socialrx.CodeSystemBase + "follow-up-barrier"
	wellbeingSystem    = socialrx.CodeSystemBase + "follow-up-wellbeing"
	nextStepSystem     = socialrx.CodeSystemBase + "follow-up-next-step"
	followUpItemSystem = socialrx.CodeSystemBase + "follow-up-item"
	lonelinessSystem   = socialrx.CodeSystemBase + "loneliness-frequency"
	promisSystem       = socialrx.CodeSystemBase + "promis-global-response"
	taskOutputSystem   = socialrx.CodeSystemBase + "task-output"

	outputFollowUpResponse = "follow-up-response"
	taskFollowUpHelp       = "follow-up-help"
)

// FollowUpQuestionnaireID is the id of the shipped Questionnaire
// (/fhir/Questionnaire/social-prescription-follow-up).
const FollowUpQuestionnaireID = "social-prescription-follow-up"

// The top-level linkIds (the contract with the patient's form).
const (
	LinkPursued       = "pursued"
	LinkBarriers      = "barriers"
	LinkBarriersOther = "barriers-other"
	LinkSatisfaction  = "satisfaction"
	LinkWellbeing     = "wellbeing"
	LinkUCLA3         = "ucla-3"
	LinkPROMIS        = "promis-global-10"
	LinkNextStep      = "next-step"
)

// The linkIds of the scale items, within their groups.
const (
	linkUCLA3Total    = "ucla-3-total"
	linkPROMISPrefix  = "promis-item-" // + 01..10 (Global01..Global10)
	linkPROMISPhys    = "promis-physical-score"
	linkPROMISMental  = "promis-mental-score"
	loincUCLA3Panel   = "106418-7"
	loincUCLA3Isolate = "66867-3"
	loincPROMISPanel  = "85524-7"
	loincPROMISPhys   = "71972-4" // PROMIS-10 Global Physical Health (GPH) raw score
	loincPROMISMental = "71970-8" // PROMIS-10 Global Mental Health (GMH) raw score
)

// Displays of the follow-up codes, in the Questionnaire's order.
var (
	pursuedDisplays = [][2]string{{"yes", "Yes"}, {"no", "No"}, {"partly", "Partly"}}
	barrierDisplays = [][2]string{
		{"cost", "Cost"}, {"transport", "Transportation"}, {"wait-list", "Wait list"},
		{"eligibility", "Not eligible"}, {"language", "Language"}, {"schedule", "Schedule"},
		{"program-closed", "Program closed"}, {"not-welcome", "Did not feel welcome"}, {"other", "Other"},
	}
	wellbeingDisplays = [][2]string{{"better", "Better"}, {"same", "About the same"}, {"worse", "Worse"}}
	nextStepDisplays  = [][2]string{
		{"keep-going", "Keep going"}, {"try-alternative", "Try something else"},
		{"more-help", "I need more help"}, {"done", "Done: I don't need this any more"},
	}
	followUpItemDisplays = [][2]string{
		{"pursued", "Pursued the prescribed support"}, {"barriers", "Barrier to the prescribed support"},
		{"satisfaction", "Satisfaction with the prescribed support (1-5)"}, {"wellbeing-change", "Change in well-being since the prescription"},
		{"next-step", "Next step after the follow-up"},
		{"ucla-3-companionship", "How often do you feel that you lack companionship [Three-Item Loneliness Scale]"},
		{"ucla-3-left-out", "How often do you feel left out [Three-Item Loneliness Scale]"},
		{"ucla-3-total", "Three-Item Loneliness Scale total score"},
	}
	lonelinessDisplays = [][2]string{{"hardly-ever", "Hardly ever"}, {"some-of-the-time", "Some of the time"}, {"often", "Often"}}
	promisDisplays     = [][2]string{
		{"excellent", "Excellent"}, {"very-good", "Very good"}, {"good", "Good"}, {"fair", "Fair"}, {"poor", "Poor"},
		{"completely", "Completely"}, {"mostly", "Mostly"}, {"moderately", "Moderately"}, {"a-little", "A little"}, {"not-at-all", "Not at all"},
		{"never", "Never"}, {"rarely", "Rarely"}, {"sometimes", "Sometimes"}, {"often", "Often"}, {"always", "Always"},
		{"none", "None"}, {"mild", "Mild"}, {"moderate", "Moderate"}, {"severe", "Severe"}, {"very-severe", "Very severe"},
	}
)

func followUpConcepts(ds [][2]string) []concept {
	out := make([]concept, len(ds))
	for i, d := range ds {
		out[i] = concept{d[0], d[1]}
	}
	return out
}

// qItem is one item of the follow-up Questionnaire.
type qItem struct {
	LinkID, Text, Type string // Type: group, choice, integer, string
	Code               []codingJSON
	Required, Repeats  bool
	ReadOnly           bool // computed by socialrx (a scale's score)
	Options            []qOption
	Min, Max           *int     // integer bounds (minValue/maxValue extensions)
	EnableWhen         *qEnable // shown only when another item has this answer
	Items              []qItem
}

// qOption is an answerOption: a coding, scored by Ordinal when Scored.
type qOption struct {
	System, Code, Display string
	Ordinal               int
	Scored                bool
}

// qEnable is an enableWhen: Question answered with the coding System|Code.
type qEnable struct {
	Question, System, Code string
}

func intp(i int) *int { return &i }

// options builds answerOptions of system from displays, unscored.
func options(system string, ds [][2]string) []qOption {
	out := make([]qOption, len(ds))
	for i, d := range ds {
		out[i] = qOption{System: system, Code: d[0], Display: d[1]}
	}
	return out
}

// scored builds answerOptions of system with the given codes and scores.
func scored(system string, codes []string, scores []int) []qOption {
	out := make([]qOption, len(codes))
	for i, c := range codes {
		out[i] = qOption{System: system, Code: c, Display: displayIn(system, c), Ordinal: scores[i], Scored: true}
	}
	return out
}

// displayIn returns the display of code in one of the follow-up tables.
func displayIn(system, code string) string {
	var ds [][2]string
	switch system {
	case lonelinessSystem:
		ds = lonelinessDisplays
	case promisSystem:
		ds = promisDisplays
	case followUpItemSystem:
		ds = followUpItemDisplays
	}
	for _, d := range ds {
		if d[0] == code {
			return d[1]
		}
	}
	return ""
}

func loinc(code, display string) codingJSON {
	return codingJSON{System: systemLOINC, Code: code, Display: display}
}

func itemCode(code string) codingJSON {
	return codingJSON{System: followUpItemSystem, Code: code, Display: displayIn(followUpItemSystem, code)}
}

// followUpItems is the definition of the follow-up Questionnaire.
func followUpItems() []qItem {
	rating := []string{"excellent", "very-good", "good", "fair", "poor"}
	five := []int{5, 4, 3, 2, 1}
	rate := func(n int, code, display, text string) qItem {
		return qItem{LinkID: promisLink(n), Type: "choice", Required: true, Text: text,
			Code: []codingJSON{loinc(code, display)}, Options: scored(promisSystem, rating, five)}
	}
	lonely := scored(lonelinessSystem, []string{"hardly-ever", "some-of-the-time", "often"}, []int{1, 2, 3})
	return []qItem{
		{LinkID: LinkPursued, Type: "choice", Required: true, Code: []codingJSON{itemCode("pursued")},
			Text: "Did you take up the support you were prescribed?", Options: options(pursuedSystem, pursuedDisplays)},
		{LinkID: LinkBarriers, Type: "choice", Repeats: true, Code: []codingJSON{itemCode("barriers")},
			Text: "What got in the way, if anything? (choose all that apply)", Options: options(barrierSystem, barrierDisplays)},
		{LinkID: LinkBarriersOther, Type: "string", Text: "What else got in the way?",
			EnableWhen: &qEnable{Question: LinkBarriers, System: barrierSystem, Code: string(socialrx.BarrierOther)}},
		{LinkID: LinkSatisfaction, Type: "integer", Code: []codingJSON{itemCode("satisfaction")}, Min: intp(1), Max: intp(5),
			Text: "How satisfied are you with the support, from 1 (not at all) to 5 (very)?"},
		{LinkID: LinkWellbeing, Type: "choice", Code: []codingJSON{itemCode("wellbeing-change")},
			Text: "Since the prescription, is your well-being better, about the same, or worse?", Options: options(wellbeingSystem, wellbeingDisplays)},
		{LinkID: LinkUCLA3, Type: "group", Code: []codingJSON{loinc(loincUCLA3Panel, "Three-Item Loneliness scale [Three-Item Loneliness Scale]")},
			Text: "Loneliness (optional). The next questions are about how you feel about different aspects of your life. For each one, say how often you feel that way.",
			Items: []qItem{
				{LinkID: "ucla-3-companionship", Type: "choice", Required: true, Code: []codingJSON{itemCode("ucla-3-companionship")},
					Text: "How often do you feel that you lack companionship?", Options: lonely},
				{LinkID: "ucla-3-left-out", Type: "choice", Required: true, Code: []codingJSON{itemCode("ucla-3-left-out")},
					Text: "How often do you feel left out?", Options: lonely},
				{LinkID: "ucla-3-isolated", Type: "choice", Required: true, Code: []codingJSON{loinc(loincUCLA3Isolate, "How often do you feel isolated from others")},
					Text: "How often do you feel isolated from others?", Options: lonely},
				{LinkID: linkUCLA3Total, Type: "integer", ReadOnly: true, Code: []codingJSON{itemCode("ucla-3-total")}, Min: intp(3), Max: intp(9),
					Text: "Total score (3-9; socialrx computes it)"},
			}},
		{LinkID: LinkPROMIS, Type: "group", Code: []codingJSON{loinc(loincPROMISPanel, "PROMIS short form - global - version 1.2")},
			Text: "Your health (optional): PROMIS Global Health, 10 questions.",
			Items: []qItem{
				rate(1, "61577-3", "PROMIS-10 Global 01 - General Health", "In general, would you say your health is:"),
				rate(2, "61578-1", "PROMIS-10 Global 02 - Quality of Life", "In general, would you say your quality of life is:"),
				rate(3, "61579-9", "PROMIS-10 Global 03 - Physical Health Rating", "In general, how would you rate your physical health?"),
				rate(4, "61580-7", "PROMIS-10 Global 04 - Mental Health Rating", "In general, how would you rate your mental health, including your mood and your ability to think?"),
				rate(5, "61581-5", "PROMIS-10 Global 05 - Social Satisfaction", "In general, how would you rate your satisfaction with your social activities and relationships?"),
				rate(9, "61585-6", "PROMIS-10 Global 09 - Social Roles (Performance)", "In general, please rate how well you carry out your usual social activities and roles (at home, at work, in your community, and as a parent, child, spouse, employee, friend, etc.)."),
				{LinkID: promisLink(6), Type: "choice", Required: true, Code: []codingJSON{loinc("61582-3", "PROMIS-10 Global 06 - Physical Activities")},
					Text:    "To what extent are you able to carry out your everyday physical activities such as walking, climbing stairs, carrying groceries, or moving a chair?",
					Options: scored(promisSystem, []string{"completely", "mostly", "moderately", "a-little", "not-at-all"}, five)},
				{LinkID: promisLink(10), Type: "choice", Required: true, Code: []codingJSON{loinc("61586-4", "PROMIS-10 Global 10 - Emotional Problems")},
					Text:    "In the past 7 days, how often have you been bothered by emotional problems such as feeling anxious, depressed or irritable?",
					Options: scored(promisSystem, []string{"never", "rarely", "sometimes", "often", "always"}, five)},
				{LinkID: promisLink(8), Type: "choice", Required: true, Code: []codingJSON{loinc("61584-9", "PROMIS-10 Global 08 - Fatigue")},
					Text:    "In the past 7 days, how would you rate your fatigue on average?",
					Options: scored(promisSystem, []string{"none", "mild", "moderate", "severe", "very-severe"}, five)},
				{LinkID: promisLink(7), Type: "integer", Required: true, Code: []codingJSON{loinc("61583-1", "PROMIS-10 Global 07 - Pain")}, Min: intp(0), Max: intp(10),
					Text: "In the past 7 days, how would you rate your pain on average, from 0 (no pain) to 10 (worst pain imaginable)?"},
				{LinkID: linkPROMISPhys, Type: "integer", ReadOnly: true, Code: []codingJSON{loinc(loincPROMISPhys, "PROMIS-10 Global Physical Health (GPH) score")}, Min: intp(4), Max: intp(20),
					Text: "Global Physical Health raw score (4-20; socialrx computes it)"},
				{LinkID: linkPROMISMental, Type: "integer", ReadOnly: true, Code: []codingJSON{loinc(loincPROMISMental, "PROMIS-10 Global Mental Health (GMH) score")}, Min: intp(4), Max: intp(20),
					Text: "Global Mental Health raw score (4-20; socialrx computes it)"},
			}},
		{LinkID: LinkNextStep, Type: "choice", Required: true, Code: []codingJSON{itemCode("next-step")},
			Text: "What would you like to do next?", Options: options(nextStepSystem, nextStepDisplays)},
	}
}

// promisLink is the linkId of PROMIS Global item n (1..10).
func promisLink(n int) string {
	s := strconv.Itoa(n)
	if n < 10 {
		s = "0" + s
	}
	return linkPROMISPrefix + s
}

// FHIR extensions the Questionnaire uses (R4 core, also used by SDC).
const (
	extMinValue     = "http://hl7.org/fhir/StructureDefinition/minValue"
	extMaxValue     = "http://hl7.org/fhir/StructureDefinition/maxValue"
	extOrdinalValue = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
)

type questionnaireJSON struct {
	ResourceType string      `json:"resourceType"`
	ID           string      `json:"id"`
	URL          string      `json:"url"`
	Version      string      `json:"version"`
	Name         string      `json:"name"`
	Title        string      `json:"title"`
	Status       string      `json:"status"`
	Experimental bool        `json:"experimental"`
	SubjectType  []string    `json:"subjectType"`
	Date         string      `json:"date"`
	Publisher    string      `json:"publisher"`
	Description  string      `json:"description"`
	Purpose      string      `json:"purpose"`
	Copyright    string      `json:"copyright"`
	Item         []qItemJSON `json:"item"`
}

type extJSON struct {
	URL          string   `json:"url"`
	ValueInteger *int     `json:"valueInteger,omitempty"`
	ValueDecimal *float64 `json:"valueDecimal,omitempty"`
}

type qItemJSON struct {
	Extension    []extJSON     `json:"extension,omitempty"`
	LinkID       string        `json:"linkId"`
	Code         []codingJSON  `json:"code,omitempty"`
	Text         string        `json:"text"`
	Type         string        `json:"type"`
	EnableWhen   []qEnableJSON `json:"enableWhen,omitempty"`
	Required     *bool         `json:"required,omitempty"`
	Repeats      *bool         `json:"repeats,omitempty"`
	ReadOnly     *bool         `json:"readOnly,omitempty"`
	AnswerOption []qOptionJSON `json:"answerOption,omitempty"`
	Item         []qItemJSON   `json:"item,omitempty"`
}

type qEnableJSON struct {
	Question     string     `json:"question"`
	Operator     string     `json:"operator"`
	AnswerCoding codingJSON `json:"answerCoding"`
}

type qOptionJSON struct {
	Extension   []extJSON  `json:"extension,omitempty"`
	ValueCoding codingJSON `json:"valueCoding"`
}

var trueValue = true

func itemJSON(it qItem) qItemJSON {
	j := qItemJSON{LinkID: it.LinkID, Code: it.Code, Text: it.Text, Type: it.Type}
	if it.Min != nil {
		j.Extension = append(j.Extension, extJSON{URL: extMinValue, ValueInteger: it.Min})
	}
	if it.Max != nil {
		j.Extension = append(j.Extension, extJSON{URL: extMaxValue, ValueInteger: it.Max})
	}
	if it.EnableWhen != nil {
		j.EnableWhen = []qEnableJSON{{Question: it.EnableWhen.Question, Operator: "=",
			AnswerCoding: codingJSON{System: it.EnableWhen.System, Code: it.EnableWhen.Code}}}
	}
	if it.Required {
		j.Required = &trueValue
	}
	if it.Repeats {
		j.Repeats = &trueValue
	}
	if it.ReadOnly {
		j.ReadOnly = &trueValue
	}
	for _, o := range it.Options {
		oj := qOptionJSON{ValueCoding: codingJSON{System: o.System, Code: o.Code, Display: o.Display}}
		if o.Scored {
			v := float64(o.Ordinal)
			oj.Extension = []extJSON{{URL: extOrdinalValue, ValueDecimal: &v}}
		}
		j.AnswerOption = append(j.AnswerOption, oj)
	}
	for _, c := range it.Items {
		j.Item = append(j.Item, itemJSON(c))
	}
	return j
}

// FollowUpQuestionnaire returns the shipped follow-up Questionnaire as FHIR
// R4 JSON: id FollowUpQuestionnaireID, url socialrx.FollowUpQuestionnaire,
// version socialrx.FollowUpQuestionnaireVersion, status active, subject
// type Patient. Items (linkIds):
//
//   - pursued (choice, required; follow-up-pursued yes/no/partly);
//   - barriers (choice, repeats; follow-up-barrier) and barriers-other
//     (string, enabled when barriers = other);
//   - satisfaction (integer 1..5, minValue/maxValue extensions);
//   - wellbeing (choice; follow-up-wellbeing better/same/worse);
//   - ucla-3 (group, optional; LOINC 106418-7): three items scored 1..3
//     (ordinalValue) and ucla-3-total (readOnly);
//   - promis-global-10 (group, optional; LOINC 85524-7): Global01..Global10
//     (LOINC 61577-3..61586-4; choices scored by ordinalValue, pain an
//     integer 0..10) and the two raw scores (readOnly; LOINC 71972-4,
//     71970-8);
//   - next-step (choice, required; follow-up-next-step).
//
// Items inside an optional group are required when the group is answered.
// The bytes are new on every call.
func FollowUpQuestionnaire() []byte {
	q := questionnaireJSON{
		ResourceType: "Questionnaire", ID: FollowUpQuestionnaireID, URL: socialrx.FollowUpQuestionnaire,
		Version: socialrx.FollowUpQuestionnaireVersion, Name: "SocialPrescriptionFollowUp",
		Title: "Social prescription follow-up", Status: "active", SubjectType: []string{"Patient"},
		Date: "2026-12-04", Publisher: "socialrx",
		Description: "The follow-up of a social prescription: whether the person pursued the support, what got in the way, satisfaction, change in well-being, the optional Three-Item Loneliness Scale and PROMIS Global-10, and the next step. A completed response (basedOn the prescription's ServiceRequest) becomes Observations, completes the follow-up Task, updates the Goal and, for 'try something else', drafts an alternative prescription.",
		Purpose:     "Best practice in social prescribing requires follow-up (Ontario guide for health professionals on social prescribing).",
		Copyright:   "PROMIS Global-10 items: PROMIS Health Organization (PHO); LOINC codes: Regenstrief Institute (loinc.org/license). Three-Item Loneliness Scale: Hughes et al., Research on Aging 2004.",
	}
	for _, it := range followUpItems() {
		q.Item = append(q.Item, itemJSON(it))
	}
	return marshal(q)
}
