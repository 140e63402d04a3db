package mapping

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/socialrx/socialrx"
)

// FollowUpResponse is a QuestionnaireResponse to the follow-up
// Questionnaire, read and checked by ReadFollowUpResponse.
type FollowUpResponse struct {
	Status         string // QuestionnaireResponse.status
	PatientID      string // subject
	PrescriptionID string // the ServiceRequest in basedOn
	Author         string // author (or source when there is no author), "Type/id"; "" if none
	Authored       time.Time
	// IdentifierSystem and IdentifierValue are the response's first
	// identifier with both (QuestionnaireResponse.identifier is 0..1 in R4),
	// "" when it has none.
	IdentifierSystem, IdentifierValue string
	Answers                           socialrx.FollowUpAnswers
}

// Answered reports whether the response counts as answered: status
// completed or amended. Only an answered response becomes an Outcome;
// an in-progress one is checked without its required items, a stopped
// one is stored and nothing more, and an entered-in-error one withdraws
// the outcome of the answered version it replaces (adapter/workflow,
// outcome_withdraw.go).
func (r *FollowUpResponse) Answered() bool {
	return r.Status == "completed" || r.Status == "amended"
}

// IsFollowUpResponse reports whether body is a QuestionnaireResponse
// whose questionnaire is socialrx's follow-up (socialrx.FollowUpQuestionnaire,
// with or without |version).
func IsFollowUpResponse(body []byte) bool {
	var head struct {
		ResourceType  string `json:"resourceType"`
		Questionnaire string `json:"questionnaire"`
	}
	if json.Unmarshal(body, &head) != nil || head.ResourceType != "QuestionnaireResponse" {
		return false
	}
	url, _, _ := strings.Cut(head.Questionnaire, "|")
	return url == socialrx.FollowUpQuestionnaire
}

type qrIn struct {
	ResourceType  string       `json:"resourceType"`
	Identifier    *identifier  `json:"identifier"`
	BasedOn       []reference  `json:"basedOn"`
	Questionnaire string       `json:"questionnaire"`
	Status        string       `json:"status"`
	Subject       *reference   `json:"subject"`
	Authored      string       `json:"authored"`
	Author        *reference   `json:"author"`
	Source        *reference   `json:"source"`
	Item          []qrItemFull `json:"item"`
}

type qrItemFull struct {
	LinkID string                       `json:"linkId"`
	Answer []map[string]json.RawMessage `json:"answer"`
	Item   []qrItemFull                 `json:"item"`
}

// fuAnswer is one answer as the checks read it: its value[x] name and
// JSON, and the path of the value.
type fuAnswer struct {
	kind string // "Coding", "Integer", "String", ... ("" when none)
	raw  json.RawMessage
	path string
}

func (a fuAnswer) coding() (coding, bool) {
	var c coding
	return c, a.kind == "Coding" && json.Unmarshal(a.raw, &c) == nil
}

func (a fuAnswer) integer() (int, bool) {
	var n json.Number
	if a.kind != "Integer" || json.Unmarshal(a.raw, &n) != nil {
		return 0, false
	}
	i, err := strconv.Atoi(n.String())
	return i, err == nil
}

// ReadFollowUpResponse reads a QuestionnaireResponse to the follow-up
// Questionnaire and checks it against the Questionnaire's definition
// (FollowUpQuestionnaire). It returns an EUNPROCESSABLE *socialrx.Error
// listing every rule broken, each issue at the element path
// (QuestionnaireResponse.item[3].answer[0]) with the linkId in its text:
//
//   - questionnaire names the shipped version (or no version);
//   - subject references a Patient; basedOn holds exactly one
//     ServiceRequest (the prescription followed up);
//   - every item's linkId is one of the Questionnaire at that level, given
//     once; a group has items and no answer, a question no nested items;
//   - an answer has the item's type (valueCoding for choice, valueInteger
//     for integer, valueString for string), a coding is one of the item's
//     answerOptions (system and code), an integer lies within
//     minValue..maxValue; only a repeating item has several answers;
//   - an item whose enableWhen is false is not answered;
//   - answered (completed, amended): every enabled required item is
//     answered, top level and inside a group that is given;
//   - a score socialrx computes (readOnly), when given, equals socialrx's.
//
// Nothing of the answers' values (PHI) is in the issues.
func ReadFollowUpResponse(body []byte) (*FollowUpResponse, error) {
	var qr qrIn
	if err := decodeResource(body, "QuestionnaireResponse", &qr, &qr.ResourceType); err != nil {
		return nil, err
	}
	var l issueList
	out := &FollowUpResponse{Status: qr.Status}
	url, version, hasVersion := strings.Cut(qr.Questionnaire, "|")
	if url != socialrx.FollowUpQuestionnaire {
		l.add("value", "QuestionnaireResponse.questionnaire", "not the follow-up Questionnaire "+socialrx.FollowUpQuestionnaire)
	} else if hasVersion && version != socialrx.FollowUpQuestionnaireVersion {
		l.add("value", "QuestionnaireResponse.questionnaire", "unknown version of the follow-up Questionnaire (socialrx ships "+socialrx.FollowUpQuestionnaireVersion+")")
	}
	if typ, id, ok := refTypeID(refOf(qr.Subject)); ok && typ == "Patient" {
		out.PatientID = id
	} else {
		l.add("required", "QuestionnaireResponse.subject", "the follow-up's subject must reference the Patient")
	}
	for i, b := range qr.BasedOn {
		if typ, id, ok := refTypeID(b.Reference); ok && typ == "ServiceRequest" {
			if out.PrescriptionID != "" {
				l.add("value", idx("QuestionnaireResponse.basedOn", i), "a follow-up answers one prescription: only one ServiceRequest in basedOn")
				continue
			}
			out.PrescriptionID = id
		}
	}
	if out.PrescriptionID == "" {
		l.add("required", "QuestionnaireResponse.basedOn", "basedOn must reference the prescription's ServiceRequest")
	}
	if qr.Author != nil && qr.Author.Reference != "" {
		out.Author = qr.Author.Reference
	} else if qr.Source != nil {
		out.Author = qr.Source.Reference
	}
	if qr.Authored != "" {
		t, err := parseDateTime(qr.Authored, "QuestionnaireResponse.authored")
		if err != nil {
			l.merge(err)
		}
		out.Authored = t
	}
	if qr.Identifier != nil && qr.Identifier.System != "" && qr.Identifier.Value != "" {
		out.IdentifierSystem, out.IdentifierValue = qr.Identifier.System, qr.Identifier.Value
	}
	c := qrCheck{answers: map[string][]fuAnswer{}, answered: out.Answered()}
	c.collect(qr.Item, "QuestionnaireResponse")
	c.items(followUpItems(), qr.Item, "QuestionnaireResponse", c.answered)
	l = append(l, c.issues...)
	if len(l) == 0 {
		out.Answers = c.read()
		c.checkScores(out.Answers)
		l = append(l, c.issues...)
	}
	if err := l.err("invalid follow-up QuestionnaireResponse"); err != nil {
		return nil, err
	}
	return out, nil
}

func refOf(r *reference) string {
	if r == nil {
		return ""
	}
	return r.Reference
}

// qrCheck checks a response's items against the definition.
type qrCheck struct {
	answers  map[string][]fuAnswer // by linkId, every level
	answered bool
	issues   issueList
}

// collect gathers every item's answers by linkId (enableWhen reads them).
func (c *qrCheck) collect(items []qrItemFull, path string) {
	for i, it := range items {
		p := idx(path+".item", i)
		for j, a := range it.Answer {
			ap := idx(p+".answer", j)
			kind, raw := fuAnswerValue(a)
			c.answers[it.LinkID] = append(c.answers[it.LinkID], fuAnswer{kind: kind, raw: raw, path: ap})
		}
		c.collect(it.Item, p)
	}
}

// answerValue returns the value[x] of an answer: the type name and JSON.
func fuAnswerValue(a map[string]json.RawMessage) (string, json.RawMessage) {
	for k, v := range a {
		if t, ok := strings.CutPrefix(k, "value"); ok && t != "" {
			return t, v
		}
	}
	return "", nil
}

// enabled reports whether def's enableWhen holds.
func (c *qrCheck) enabled(def qItem) bool {
	if def.EnableWhen == nil {
		return true
	}
	for _, a := range c.answers[def.EnableWhen.Question] {
		if cd, ok := a.coding(); ok && cd.System == def.EnableWhen.System && cd.Code == def.EnableWhen.Code {
			return true
		}
	}
	return false
}

func (c *qrCheck) add(code, path, linkID, msg string) {
	c.issues.add(code, path, "linkId "+linkID+": "+msg)
}

// items checks the items of one level against defs; required says the
// level's required items must be answered (an answered response, at the
// top level or in a group that is given).
func (c *qrCheck) items(defs []qItem, items []qrItemFull, path string, required bool) {
	byLink := map[string]qItem{}
	for _, d := range defs {
		byLink[d.LinkID] = d
	}
	seen := map[string]bool{}
	for i, it := range items {
		p := idx(path+".item", i)
		def, ok := byLink[it.LinkID]
		if !ok {
			c.issues.add("value", p+".linkId", "linkId "+strconv.Quote(it.LinkID)+" is not an item of the follow-up Questionnaire here")
			continue
		}
		if seen[it.LinkID] {
			c.add("structure", p, it.LinkID, "given more than once")
			continue
		}
		seen[it.LinkID] = true
		if !c.enabled(def) {
			c.add("business-rule", p, it.LinkID, "answered, but only enabled when "+def.EnableWhen.Question+" = "+def.EnableWhen.Code)
			continue
		}
		if def.Type == "group" {
			if len(it.Answer) > 0 {
				c.add("structure", p+".answer", it.LinkID, "a group has items, not answers")
			}
			c.items(def.Items, it.Item, p, c.answered)
			continue
		}
		if len(it.Item) > 0 {
			c.add("structure", p+".item", it.LinkID, "a question has no nested items")
		}
		if len(it.Answer) > 1 && !def.Repeats {
			c.add("structure", idx(p+".answer", 1), it.LinkID, "takes one answer")
		}
		for j, a := range it.Answer {
			c.answer(def, a, idx(p+".answer", j))
		}
		if required && def.Required && len(it.Answer) == 0 {
			c.add("required", p+".answer", it.LinkID, "an answer is required")
		}
	}
	if !required {
		return
	}
	for _, d := range defs {
		if d.Required && !seen[d.LinkID] && c.enabled(d) {
			c.issues.add("required", path+".item", "linkId "+d.LinkID+": required item missing")
		}
	}
}

// answer checks one answer of def.
func (c *qrCheck) answer(def qItem, a map[string]json.RawMessage, path string) {
	kind, raw := fuAnswerValue(a)
	if _, nested := a["item"]; nested {
		c.add("structure", path+".item", def.LinkID, "answers of this item have no nested items")
	}
	ans := fuAnswer{kind: kind, raw: raw}
	switch def.Type {
	case "choice":
		cd, ok := ans.coding()
		if !ok {
			c.add("value", path, def.LinkID, "the answer must be a valueCoding")
			return
		}
		for _, o := range def.Options {
			if o.System == cd.System && o.Code == cd.Code {
				return
			}
		}
		c.add("code-invalid", path+".valueCoding", def.LinkID, "the coding is not one of the item's answerOptions")
	case "integer":
		n, ok := ans.integer()
		if !ok {
			c.add("value", path, def.LinkID, "the answer must be a valueInteger")
			return
		}
		if (def.Min != nil && n < *def.Min) || (def.Max != nil && n > *def.Max) {
			c.add("value", path+".valueInteger", def.LinkID, "out of the item's minValue..maxValue")
		}
	case "string":
		if kind != "String" {
			c.add("value", path, def.LinkID, "the answer must be a valueString")
		}
	}
}

// first returns the first answer of linkID.
func (c *qrCheck) first(linkID string) (fuAnswer, bool) {
	as := c.answers[linkID]
	if len(as) == 0 {
		return fuAnswer{}, false
	}
	return as[0], true
}

// code returns the code of linkID's first (coding) answer, "" if none.
func (c *qrCheck) code(linkID string) string {
	if a, ok := c.first(linkID); ok {
		if cd, ok := a.coding(); ok {
			return cd.Code
		}
	}
	return ""
}

// score returns the score of linkID's answer: a choice's ordinalValue, an
// integer's value; ok false when unanswered.
func (c *qrCheck) score(def qItem) (int, bool) {
	a, ok := c.first(def.LinkID)
	if !ok {
		return 0, false
	}
	if def.Type == "integer" {
		return a.integer()
	}
	cd, ok := a.coding()
	if !ok {
		return 0, false
	}
	for _, o := range def.Options {
		if o.System == cd.System && o.Code == cd.Code && o.Scored {
			return o.Ordinal, true
		}
	}
	return 0, false
}

// read returns the answers of a checked response.
func (c *qrCheck) read() socialrx.FollowUpAnswers {
	a := socialrx.FollowUpAnswers{
		Pursued:   socialrx.Pursued(c.code(LinkPursued)),
		Wellbeing: socialrx.Wellbeing(c.code(LinkWellbeing)),
		NextStep:  socialrx.NextStep(c.code(LinkNextStep)),
	}
	for _, ans := range c.answers[LinkBarriers] {
		if cd, ok := ans.coding(); ok {
			a.Barriers = append(a.Barriers, socialrx.Barrier(cd.Code))
		}
	}
	if s, ok := c.first(LinkSatisfaction); ok {
		a.Satisfaction, _ = s.integer()
	}
	for _, g := range followUpItems() {
		if g.Type != "group" {
			continue
		}
		var scores []int
		complete := true
		for _, it := range g.Items {
			if it.ReadOnly {
				continue
			}
			v, ok := c.score(it)
			if !ok {
				complete = false
			}
			scores = append(scores, v)
		}
		if !complete {
			continue
		}
		switch g.LinkID {
		case LinkUCLA3:
			a.UCLA3 = scores
		case LinkPROMIS:
			a.PROMIS = promisOrder(g.Items, scores)
		}
	}
	return a
}

// promisOrder puts the PROMIS scores (in the Questionnaire's order) in
// Global01..Global10 order.
func promisOrder(defs []qItem, scores []int) []int {
	out := make([]int, socialrx.PROMISGlobal)
	i := 0
	for _, d := range defs {
		if d.ReadOnly {
			continue
		}
		n, _ := strconv.Atoi(strings.TrimPrefix(d.LinkID, linkPROMISPrefix))
		out[n-1] = scores[i]
		i++
	}
	return out
}

// checkScores checks the scores a response gave against socialrx's.
func (c *qrCheck) checkScores(a socialrx.FollowUpAnswers) {
	o := socialrx.DecideOutcome(a)
	for _, s := range []struct {
		link string
		want int
		ok   bool
	}{{linkUCLA3Total, o.UCLA3Total, o.UCLA3OK}, {linkPROMISPhys, o.PROMISPhysical, o.PROMISOK}, {linkPROMISMental, o.PROMISMental, o.PROMISOK}} {
		given, ok := c.first(s.link)
		if !ok {
			continue
		}
		if n, _ := given.integer(); !s.ok || n != s.want {
			c.add("business-rule", given.path, s.link, "the score given differs from the one socialrx computes from the answers")
		}
	}
}
