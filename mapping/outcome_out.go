package mapping

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

// What an answered follow-up becomes in FHIR (socialrx.DecideOutcome
// decides, adapter/workflow writes): Observations of the answers and
// scores, the follow-up Task completed, the Goal's achievementStatus, a
// draft alternative ServiceRequest, a staff Task for more help, and a
// Communication summarising it for the chart.

// Identifier systems of what the outcome creates; the value is the
// outcome's key (the response's identifier, or QuestionnaireResponse/<id>).
const (
	GoalIdentifierSystem        = "http://socialrx.dev/fhir/sid/prescription-goal"
	AlternativeIdentifierSystem = "http://socialrx.dev/fhir/sid/alternative-prescription"
	SummaryIdentifierSystem     = "http://socialrx.dev/fhir/sid/follow-up-summary"
	HelpTaskIdentifierSystem    = "http://socialrx.dev/fhir/sid/follow-up-help"

	systemGoalAchievement = "http://terminology.hl7.org/CodeSystem/goal-achievement"
	systemUCUM            = "http://unitsofmeasure.org"
	systemCommCategory    = "http://terminology.hl7.org/CodeSystem/communication-category"
)

// OutcomeObservation is one Observation of an outcome: Kind names it
// (pursued, satisfaction, wellbeing, ucla-3-total, promis-physical,
// promis-mental) for the caller's id.
type OutcomeObservation struct {
	Kind string
	Body []byte
}

type observationJSON struct {
	ResourceType         string            `json:"resourceType"`
	ID                   string            `json:"id,omitempty"`
	BasedOn              []refJSON         `json:"basedOn"`
	Status               string            `json:"status"`
	Category             []*conceptJSONOut `json:"category"`
	Code                 *conceptJSONOut   `json:"code"`
	Subject              refJSON           `json:"subject"`
	EffectiveDateTime    string            `json:"effectiveDateTime"`
	Performer            []refJSON         `json:"performer,omitempty"`
	ValueCodeableConcept *conceptJSONOut   `json:"valueCodeableConcept,omitempty"`
	ValueQuantity        *quantityJSON     `json:"valueQuantity,omitempty"`
	ValueInteger         *int              `json:"valueInteger,omitempty"`
	DerivedFrom          []refJSON         `json:"derivedFrom"`
	Component            []componentJSON   `json:"component,omitempty"`
}

type quantityJSON struct {
	Value  int    `json:"value"`
	Unit   string `json:"unit"`
	System string `json:"system"`
	Code   string `json:"code"`
}

type componentJSON struct {
	Code                 *conceptJSONOut `json:"code"`
	ValueCodeableConcept *conceptJSONOut `json:"valueCodeableConcept"`
}

var (
	catSocialHistory = codingJSON{System: systemObsCategory, Code: "social-history", Display: "Social History"}
	catSurvey        = codingJSON{System: systemObsCategory, Code: "survey", Display: "Survey"}
)

func score(n int) *quantityJSON {
	return &quantityJSON{Value: n, Unit: "{score}", System: systemUCUM, Code: "{score}"}
}

func displayFrom(ds [][2]string, code string) string {
	for _, d := range ds {
		if d[0] == code {
			return d[1]
		}
	}
	return ""
}

// OutcomeObservations writes the Observations of outcome o of response r
// (QuestionnaireResponse/qrID), with ids from id(kind), at now when r has
// no authored time. Each: status final; category social-history and
// survey (observation-category); subject the Patient; effectiveDateTime
// r.Authored; performer the author when a Patient, Practitioner,
// PractitionerRole or RelatedPerson; basedOn the prescription's
// ServiceRequest; derivedFrom the QuestionnaireResponse. Codes:
//
//   - pursued: follow-up-item pursued, valueCodeableConcept
//     follow-up-pursued, a component (follow-up-item barriers) per barrier;
//   - satisfaction: follow-up-item satisfaction, valueInteger 1..5;
//   - wellbeing: follow-up-item wellbeing-change, valueCodeableConcept
//     follow-up-wellbeing;
//   - ucla-3-total: follow-up-item ucla-3-total (no verified LOINC code),
//     valueQuantity {score};
//   - promis-physical, promis-mental: LOINC 71972-4, 71970-8 (the raw
//     scores), valueQuantity {score}.
//
// Answers not given and scales not complete give no Observation.
func OutcomeObservations(o socialrx.Outcome, r *FollowUpResponse, qrID string, id func(kind string) string, now time.Time) []OutcomeObservation {
	at := r.Authored
	if at.IsZero() {
		at = now
	}
	base := func(kind string, code codingJSON) observationJSON {
		ob := observationJSON{ResourceType: "Observation", ID: id(kind),
			BasedOn: []refJSON{{"ServiceRequest/" + r.PrescriptionID}}, Status: "final",
			Category: []*conceptJSONOut{ccOf(catSocialHistory), ccOf(catSurvey)}, Code: ccOf(code),
			Subject: refJSON{"Patient/" + r.PatientID}, EffectiveDateTime: dateTime(at),
			DerivedFrom: []refJSON{{"QuestionnaireResponse/" + qrID}}}
		if typ, _, ok := refTypeID(r.Author); ok && slices.Contains([]string{"Patient", "Practitioner", "PractitionerRole", "RelatedPerson"}, typ) {
			ob.Performer = []refJSON{{r.Author}}
		}
		return ob
	}
	var out []OutcomeObservation
	add := func(kind string, ob observationJSON) {
		out = append(out, OutcomeObservation{Kind: kind, Body: marshal(ob)})
	}
	a := o.Answers
	if a.Pursued != "" {
		ob := base("pursued", itemCode("pursued"))
		ob.ValueCodeableConcept = ccOf(codingJSON{System: pursuedSystem, Code: string(a.Pursued), Display: displayFrom(pursuedDisplays, string(a.Pursued))})
		for _, b := range a.Barriers {
			ob.Component = append(ob.Component, componentJSON{Code: ccOf(itemCode("barriers")),
				ValueCodeableConcept: ccOf(codingJSON{System: barrierSystem, Code: string(b), Display: displayFrom(barrierDisplays, string(b))})})
		}
		add("pursued", ob)
	}
	if a.Satisfaction != 0 {
		ob := base("satisfaction", itemCode("satisfaction"))
		n := a.Satisfaction
		ob.ValueInteger = &n
		add("satisfaction", ob)
	}
	if a.Wellbeing != "" {
		ob := base("wellbeing", itemCode("wellbeing-change"))
		ob.ValueCodeableConcept = ccOf(codingJSON{System: wellbeingSystem, Code: string(a.Wellbeing), Display: displayFrom(wellbeingDisplays, string(a.Wellbeing))})
		add("wellbeing", ob)
	}
	if o.UCLA3OK {
		ob := base("ucla-3-total", itemCode("ucla-3-total"))
		ob.ValueQuantity = score(o.UCLA3Total)
		add("ucla-3-total", ob)
	}
	if o.PROMISOK {
		ob := base("promis-physical", loinc(loincPROMISPhys, "PROMIS-10 Global Physical Health (GPH) score"))
		ob.ValueQuantity = score(o.PROMISPhysical)
		add("promis-physical", ob)
		ob = base("promis-mental", loinc(loincPROMISMental, "PROMIS-10 Global Mental Health (GMH) score"))
		ob.ValueQuantity = score(o.PROMISMental)
		add("promis-mental", ob)
	}
	return out
}

// taskElements is the R4 Task element order (message_task.go) and
// goalElements the R4 Goal's, for members socialrx adds.
var goalElements = []string{"resourceType", "id", "meta", "implicitRules", "language", "text", "contained", "extension",
	"modifierExtension", "identifier", "lifecycleStatus", "achievementStatus", "category", "priority", "description",
	"subject", "startDate", "startCodeableConcept", "target", "statusDate", "statusReason", "expressedBy", "addresses",
	"note", "outcomeCode", "outcomeReference"}

// setMember sets key in doc, placed after the nearest element before it in
// order when absent.
func setMember(doc *fhir.Object, order []string, key string, value []byte) {
	for j := slices.Index(order, key) - 1; j >= 0 && doc.Index(key) < 0; j-- {
		if at := max(doc.Index(order[j]), doc.Index("_"+order[j])); at >= 0 {
			doc.SetAfter(key, value, doc.Keys()[at])
			return
		}
	}
	doc.Set(key, value)
}

// CompleteFollowUpTask returns the follow-up Task task completed by the
// response QuestionnaireResponse/qrID: status completed, lastModified now,
// and an output (type socialrx task-output follow-up-response,
// valueReference the response) unless it has that output already.
// changed is false (and task returned) when it was completed with that
// output already. Every other member keeps its bytes and order.
func CompleteFollowUpTask(task []byte, qrID string, now time.Time) (out []byte, changed bool, err error) {
	doc, err := fhir.ParseObject(task)
	if err != nil {
		return nil, false, issueErr(socialrx.EINVALID, "structure", "Task", "invalid JSON")
	}
	ref := "QuestionnaireResponse/" + qrID
	var head struct {
		Status string `json:"status"`
		Output []struct {
			ValueReference *reference `json:"valueReference"`
		} `json:"output"`
	}
	_ = json.Unmarshal(task, &head)
	has := false
	for _, o := range head.Output {
		if o.ValueReference != nil && o.ValueReference.Reference == ref {
			has = true
		}
	}
	if head.Status == "completed" && has {
		return task, false, nil
	}
	setTaskMember(doc, "status", marshal("completed"))
	setTaskMember(doc, "lastModified", marshal(dateTime(now)))
	if !has {
		add := marshal(struct {
			Type           *conceptJSONOut `json:"type"`
			ValueReference refJSON         `json:"valueReference"`
		}{ccOf(codingJSON{System: taskOutputSystem, Code: outputFollowUpResponse, Display: "The follow-up's QuestionnaireResponse"}), refJSON{ref}})
		raw, _ := doc.Get("output")
		if elems, ok := arrayElements(raw); ok && len(elems) > 0 {
			setTaskMember(doc, "output", appendToArray(raw, [][]byte{add}))
		} else {
			setTaskMember(doc, "output", joinArray([][]byte{add}))
		}
	}
	return doc.Bytes(), true, nil
}

// GoalsOf returns the Goals a prescription's ServiceRequest names in its
// pertainsToGoal extensions (http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal,
// as SDOH CC's ServiceRequest profile uses it): "Goal/<id>" references.
func GoalsOf(serviceRequest []byte) []string {
	var sr struct {
		Extension []struct {
			URL            string     `json:"url"`
			ValueReference *reference `json:"valueReference"`
		} `json:"extension"`
	}
	if json.Unmarshal(serviceRequest, &sr) != nil {
		return nil
	}
	var out []string
	for _, e := range sr.Extension {
		if e.URL == extPertainsToGoal && e.ValueReference != nil {
			if typ, id, ok := refTypeID(e.ValueReference.Reference); ok && typ == "Goal" {
				out = append(out, "Goal/"+id)
			}
		}
	}
	return out
}

const extPertainsToGoal = "http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal"

// UpdateGoal returns goal (an R4 Goal) with what outcome o says:
// achievementStatus (goal-achievement) when o.GoalAchievement is set,
// lifecycleStatus completed when o.GoalCompleted, statusDate today (now's
// date). changed is false (goal returned) when neither would change.
// Every other member keeps its bytes and order.
func UpdateGoal(goal []byte, o socialrx.Outcome, now time.Time) (out []byte, changed bool, err error) {
	doc, err := fhir.ParseObject(goal)
	if err != nil {
		return nil, false, issueErr(socialrx.EINVALID, "structure", "Goal", "invalid JSON")
	}
	var head struct {
		LifecycleStatus   string          `json:"lifecycleStatus"`
		AchievementStatus codeableConcept `json:"achievementStatus"`
	}
	_ = json.Unmarshal(goal, &head)
	if o.GoalAchievement != "" && !head.AchievementStatus.has(systemGoalAchievement, string(o.GoalAchievement)) {
		setMember(doc, goalElements, "achievementStatus", marshal(achievement(o.GoalAchievement)))
		changed = true
	}
	if o.GoalCompleted && head.LifecycleStatus != "completed" {
		setMember(doc, goalElements, "lifecycleStatus", marshal("completed"))
		changed = true
	}
	if !changed {
		return goal, false, nil
	}
	setMember(doc, goalElements, "statusDate", marshal(now.UTC().Format(time.DateOnly)))
	return doc.Bytes(), true, nil
}

func achievement(g socialrx.GoalAchievement) *conceptJSONOut {
	return ccOf(codingJSON{System: systemGoalAchievement, Code: string(g), Display: g.Display()})
}

type goalJSON struct {
	ResourceType      string            `json:"resourceType"`
	ID                string            `json:"id,omitempty"`
	Identifier        []identifierJSON  `json:"identifier"`
	LifecycleStatus   string            `json:"lifecycleStatus"`
	AchievementStatus *conceptJSONOut   `json:"achievementStatus,omitempty"`
	Category          []*conceptJSONOut `json:"category,omitempty"`
	Description       *conceptJSONOut   `json:"description"`
	Subject           refJSON           `json:"subject"`
	StatusDate        string            `json:"statusDate"`
	Addresses         []refJSON         `json:"addresses,omitempty"`
}

// PrescriptionGoal writes the Goal socialrx keeps for prescription p when
// its ServiceRequest names none (GoalsOf), with id and outcome o applied
// (SDOH CC Goal shape, without claiming the profile): identifier
// GoalIdentifierSystem|p.ID; lifecycleStatus active (completed when
// o.GoalCompleted); achievementStatus o.GoalAchievement (in-progress when
// unset); category the need domains (socialrx need-domain); description
// text naming the prescribed support; subject the Patient; addresses the
// need Conditions (ServiceRequest.reasonReference).
func PrescriptionGoal(p socialrx.Prescription, id string, o socialrx.Outcome, now time.Time) []byte {
	g := goalJSON{ResourceType: "Goal", ID: id, Identifier: []identifierJSON{{System: GoalIdentifierSystem, Value: p.ID}},
		LifecycleStatus: "active", Subject: refJSON{"Patient/" + p.PatientID}, StatusDate: now.UTC().Format(time.DateOnly)}
	if o.GoalCompleted {
		g.LifecycleStatus = "completed"
	}
	if o.GoalAchievement != "" {
		g.AchievementStatus = achievement(o.GoalAchievement)
	} else {
		g.AchievementStatus = ccOf(codingJSON{System: systemGoalAchievement, Code: "in-progress", Display: "In Progress"})
	}
	for _, d := range p.Needs {
		g.Category = append(g.Category, ccOf(codingJSON{System: socialrx.CodeSystemBase + "need-domain", Code: string(d), Display: d.Display()}))
	}
	what := p.Code.Display
	if what == "" {
		what = "the prescribed support"
	}
	g.Description = &conceptJSONOut{Text: "Benefit from the social prescription: " + what}
	for _, ref := range p.NeedRefs {
		g.Addresses = append(g.Addresses, refJSON{ref})
	}
	return marshal(g)
}

// AlternativeServiceRequest writes the draft prescription that replaces
// the ServiceRequest old (id oldID) when the person asked to try something
// else: a proposal for the clinician to confirm (activate) or discard.
// From old it keeps category (but socialrx's prescription-form and
// prescription-channel codings, which are derived again from the new
// performer), code, subject, requester, reasonCode and reasonReference (the
// same need); it adds identifier AlternativeIdentifierSystem|key, replaces
// ServiceRequest/oldID, status draft, intent proposal, authoredOn now,
// performer program (omitted when "": no program suggested),
// supportingInfo the follow-up's QuestionnaireResponse and a note saying
// where it came from.
func AlternativeServiceRequest(old []byte, id, oldID, key, program, qrID string, now time.Time) ([]byte, error) {
	var sr struct {
		ResourceType    string            `json:"resourceType"`
		Category        []json.RawMessage `json:"category"`
		Code            json.RawMessage   `json:"code"`
		Subject         json.RawMessage   `json:"subject"`
		Requester       json.RawMessage   `json:"requester"`
		ReasonCode      json.RawMessage   `json:"reasonCode"`
		ReasonReference json.RawMessage   `json:"reasonReference"`
	}
	if err := decodeResource(old, "ServiceRequest", &sr, &sr.ResourceType); err != nil {
		return nil, err
	}
	var cats []json.RawMessage
	for _, c := range sr.Category {
		var cc struct {
			Coding []json.RawMessage `json:"coding"`
			Text   string            `json:"text"`
		}
		if json.Unmarshal(c, &cc) != nil {
			continue
		}
		kept := cc.Coding[:0]
		for _, cd := range cc.Coding {
			var x coding
			if json.Unmarshal(cd, &x) == nil && (x.System == formSystem || x.System == channelSystem) {
				continue
			}
			kept = append(kept, cd)
		}
		if len(kept) == len(cc.Coding) {
			cats = append(cats, c)
		} else if len(kept) > 0 || cc.Text != "" {
			cats = append(cats, marshal(struct {
				Coding []json.RawMessage `json:"coding,omitempty"`
				Text   string            `json:"text,omitempty"`
			}{kept, cc.Text}))
		}
	}
	out := struct {
		ResourceType    string            `json:"resourceType"`
		ID              string            `json:"id,omitempty"`
		Identifier      []identifierJSON  `json:"identifier"`
		Replaces        []refJSON         `json:"replaces"`
		Status          string            `json:"status"`
		Intent          string            `json:"intent"`
		Category        []json.RawMessage `json:"category,omitempty"`
		Code            json.RawMessage   `json:"code,omitempty"`
		Subject         json.RawMessage   `json:"subject"`
		AuthoredOn      string            `json:"authoredOn"`
		Requester       json.RawMessage   `json:"requester,omitempty"`
		Performer       []refJSON         `json:"performer,omitempty"`
		ReasonCode      json.RawMessage   `json:"reasonCode,omitempty"`
		ReasonReference json.RawMessage   `json:"reasonReference,omitempty"`
		SupportingInfo  []refJSON         `json:"supportingInfo"`
		Note            []struct {
			Text string `json:"text"`
		} `json:"note"`
	}{ResourceType: "ServiceRequest", ID: id, Identifier: []identifierJSON{{System: AlternativeIdentifierSystem, Value: key}},
		Replaces: []refJSON{{"ServiceRequest/" + oldID}}, Status: "draft", Intent: "proposal", Category: cats,
		Code: sr.Code, Subject: sr.Subject, AuthoredOn: dateTime(now), Requester: sr.Requester,
		ReasonCode: sr.ReasonCode, ReasonReference: sr.ReasonReference,
		SupportingInfo: []refJSON{{"QuestionnaireResponse/" + qrID}}}
	if program != "" {
		out.Performer = []refJSON{{program}}
	}
	note := "Proposed by socialrx at follow-up: the person asked to try something else. "
	if program != "" {
		note += "The program is the directory's suggestion for the same need; confirm or change it, then activate this prescription."
	} else {
		note += "The directory had no other active program for this need: choose one, then activate this prescription."
	}
	out.Note = append(out.Note, struct {
		Text string `json:"text"`
	}{note})
	return marshal(out), nil
}

// FollowUpHelpTask writes the staff Task that asks the prescriber's team
// to contact the person, who asked for more help at follow-up: identifier
// HelpTaskIdentifierSystem|key; status requested; intent order; priority
// urgent; code socialrx task-code follow-up-help; focus the prescription;
// for the Patient; authoredOn now; owner the requester when a
// Practitioner, PractitionerRole or Organization; reasonReference the
// QuestionnaireResponse. Task?code=<task-code>|follow-up-help lists them.
func FollowUpHelpTask(p socialrx.Prescription, id, key, qrID string, now time.Time) []byte {
	t := struct {
		taskJSON
		ReasonReference *refJSON `json:"reasonReference,omitempty"`
	}{taskJSON: taskJSON{ResourceType: "Task", ID: id, Identifier: []identifierJSON{{System: HelpTaskIdentifierSystem, Value: key}},
		Status: "requested", Intent: "order", Priority: "urgent", Code: ccOf(taskCoding(taskFollowUpHelp)),
		Description: "The person asked for more help at the follow-up of their social prescription: contact them.",
		Focus:       &refJSON{"ServiceRequest/" + p.ID}, For: &refJSON{"Patient/" + p.PatientID}, AuthoredOn: dateTime(now)},
		ReasonReference: &refJSON{"QuestionnaireResponse/" + qrID}}
	if typ, _, ok := refTypeID(p.RequesterID); ok && (typ == "Practitioner" || typ == "PractitionerRole" || typ == "Organization") {
		t.Owner = &refJSON{p.RequesterID}
	}
	return marshal(t)
}

// SummaryFacts is what the chart summary says beyond the answers.
type SummaryFacts struct {
	Goal        string // "Goal/<id>" updated or created, "" if none
	Alternative string // "ServiceRequest/<id>" drafted, "" if none
	Program     bool   // the alternative names a suggested program
	HelpTask    string // "Task/<id>" created, "" if none
}

// FollowUpSummary writes the Communication that tells the practice's chart
// what the follow-up found (written back to the EMR with the response):
// identifier SummaryIdentifierSystem|key; basedOn the prescription; status
// completed; category notification (communication-category); subject the
// Patient; topic "Social prescription follow-up"; about the
// QuestionnaireResponse (and the Goal, the alternative, the help Task);
// sent now; recipient the requester; one payload contentString in plain
// English made from codes and scores only (no free text of the response).
func FollowUpSummary(o socialrx.Outcome, r *FollowUpResponse, p socialrx.Prescription, id, key, qrID string, f SummaryFacts, now time.Time) []byte {
	about := []refJSON{{"QuestionnaireResponse/" + qrID}}
	for _, ref := range []string{f.Goal, f.Alternative, f.HelpTask} {
		if ref != "" {
			about = append(about, refJSON{ref})
		}
	}
	c := struct {
		ResourceType string            `json:"resourceType"`
		ID           string            `json:"id,omitempty"`
		Identifier   []identifierJSON  `json:"identifier"`
		BasedOn      []refJSON         `json:"basedOn"`
		Status       string            `json:"status"`
		Category     []*conceptJSONOut `json:"category"`
		Subject      refJSON           `json:"subject"`
		Topic        *conceptJSONOut   `json:"topic"`
		About        []refJSON         `json:"about"`
		Sent         string            `json:"sent"`
		Recipient    []refJSON         `json:"recipient,omitempty"`
		Payload      []struct {
			ContentString string `json:"contentString"`
		} `json:"payload"`
	}{ResourceType: "Communication", ID: id, Identifier: []identifierJSON{{System: SummaryIdentifierSystem, Value: key}},
		BasedOn: []refJSON{{"ServiceRequest/" + r.PrescriptionID}}, Status: "completed",
		Category: []*conceptJSONOut{ccOf(codingJSON{System: systemCommCategory, Code: "notification", Display: "Notification"})},
		Subject:  refJSON{"Patient/" + r.PatientID}, Topic: &conceptJSONOut{Text: "Social prescription follow-up"},
		About: about, Sent: dateTime(now)}
	if p.RequesterID != "" {
		c.Recipient = []refJSON{{p.RequesterID}}
	}
	c.Payload = append(c.Payload, struct {
		ContentString string `json:"contentString"`
	}{SummaryText(o, f)})
	return marshal(c)
}

// nextStepSummaries word the next step for the chart, in the clinician's
// voice about the person: the answer options' displays (nextStepDisplays)
// are the person's own words ("I need more help") and do not read well
// quoted. One row per follow-up-next-step code; an answer without a next
// step gives no sentence.
var nextStepSummaries = [][2]string{
	{string(socialrx.NextKeepGoing), "keep going with the prescribed support"},
	{string(socialrx.NextTryAlternative), "try something else"},
	{string(socialrx.NextMoreHelp), "the person asked for more help"},
	{string(socialrx.NextDone), "done, the support is no longer needed"},
}

// SummaryText is the plain-English summary of outcome o: codes' displays
// and scores, never the response's free text.
func SummaryText(o socialrx.Outcome, f SummaryFacts) string {
	a := o.Answers
	var b strings.Builder
	b.WriteString("Social prescription follow-up. Pursued: " + displayFrom(pursuedDisplays, string(a.Pursued)) + ".")
	if len(a.Barriers) > 0 {
		var names []string
		for _, x := range a.Barriers {
			names = append(names, strings.ToLower(displayFrom(barrierDisplays, string(x))))
		}
		b.WriteString(" Barriers: " + strings.Join(names, ", ") + ".")
	}
	if a.Satisfaction != 0 {
		b.WriteString(" Satisfaction: " + strconv.Itoa(a.Satisfaction) + "/5.")
	}
	if a.Wellbeing != "" {
		b.WriteString(" Well-being since the prescription: " + strings.ToLower(displayFrom(wellbeingDisplays, string(a.Wellbeing))) + ".")
	}
	if o.UCLA3OK {
		b.WriteString(" Three-Item Loneliness Scale: " + strconv.Itoa(o.UCLA3Total) + " (3-9, higher is lonelier).")
	}
	if o.PROMISOK {
		b.WriteString(" PROMIS Global-10 raw scores: physical " + strconv.Itoa(o.PROMISPhysical) + ", mental " + strconv.Itoa(o.PROMISMental) + " (4-20, higher is healthier).")
	}
	if next := displayFrom(nextStepSummaries, string(a.NextStep)); next != "" {
		b.WriteString(" Next step: " + next + ".")
	}
	if o.GoalAchievement != "" && f.Goal != "" {
		b.WriteString(" Goal: " + strings.ToLower(o.GoalAchievement.Display()) + ".")
	}
	if f.Alternative != "" {
		if f.Program {
			b.WriteString(" A draft alternative prescription with a suggested program awaits the clinician's confirmation.")
		} else {
			b.WriteString(" A draft alternative prescription awaits the clinician's choice of program.")
		}
	}
	if f.HelpTask != "" {
		b.WriteString(" Staff were asked to contact the person.")
	}
	return b.String()
}
