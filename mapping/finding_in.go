package mapping

import (
	"strings"
	"time"

	"github.com/socialrx/socialrx"
)

// observation is the part of an R4 Observation that FindingsFromObservation
// reads.
type observation struct {
	ResourceType      string          `json:"resourceType"`
	ID                string          `json:"id"`
	Status            string          `json:"status"`
	Code              codeableConcept `json:"code"`
	Subject           *reference      `json:"subject"`
	EffectiveDateTime string          `json:"effectiveDateTime"`
	EffectivePeriod   *period         `json:"effectivePeriod"`
	EffectiveInstant  string          `json:"effectiveInstant"`
	Issued            string          `json:"issued"`
	// value[x] as far as screening answers go (also in component).
	ValueCodeableConcept *codeableConcept       `json:"valueCodeableConcept"`
	ValueQuantity        *quantity              `json:"valueQuantity"`
	ValueInteger         *float64               `json:"valueInteger"`
	ValueBoolean         *bool                  `json:"valueBoolean"`
	Component            []observationComponent `json:"component"`
}

// observationComponent is Observation.component. (Not embedding a shared
// value struct: encoding/json would put its Go name in error paths.)
type observationComponent struct {
	Code                 codeableConcept  `json:"code"`
	ValueCodeableConcept *codeableConcept `json:"valueCodeableConcept"`
	ValueQuantity        *quantity        `json:"valueQuantity"`
	ValueInteger         *float64         `json:"valueInteger"`
	ValueBoolean         *bool            `json:"valueBoolean"`
}

func (o *observation) answer() answerValue {
	return obsAnswer(o.ValueCodeableConcept, o.ValueQuantity, o.ValueInteger, o.ValueBoolean)
}

func (c *observationComponent) answer() answerValue {
	return obsAnswer(c.ValueCodeableConcept, c.ValueQuantity, c.ValueInteger, c.ValueBoolean)
}

// obsAnswer returns the answer held by Observation.value[x].
func obsAnswer(cc *codeableConcept, q *quantity, i *float64, b *bool) answerValue {
	a := answerValue{boolean: b}
	if cc != nil {
		a.codings = cc.Coding
	}
	switch {
	case q != nil && q.Value != nil:
		a.number = q.Value
	case i != nil:
		a.number = i
	}
	return a
}

// answerValue is one answer, from an Observation value or a
// QuestionnaireResponse answer: codings, a number, or a boolean.
type answerValue struct {
	codings []coding
	number  *float64
	boolean *bool
}

// loincAnswer returns the first LOINC code among the codings (a coding
// without a system counts when its code starts with "LA"), or "".
func (a answerValue) loincAnswer() string {
	for _, c := range a.codings {
		if c.Code != "" && (c.System == systemLOINC || (c.System == "" && strings.HasPrefix(c.Code, "LA"))) {
			return c.Code
		}
	}
	return ""
}

// The statuses of Observation and QuestionnaireResponse whose answers are
// not findings.
func voidStatus(status string) bool {
	return status == "entered-in-error" || status == "cancelled"
}

// FindingsFromObservation reads the screening answers of one Observation
// (US Core / SDOH CC Observation Screening Response and Assessment
// profiles):
//
//   - an item Observation: code is a LOINC question of a known instrument,
//     valueCodeableConcept the LOINC answer (or valueQuantity /
//     valueInteger for numeric items) gives one Finding;
//   - a panel Observation (code a panel such as 88121-9, 96777-8, 93025-5)
//     gives a Finding per known item in component; the panel names the
//     instrument. hasMember is not followed: members are separate
//     Observations and give their own findings;
//   - an assessment Observation whose code is a known SDOH finding (the
//     SNOMED CT, ICD-10 and SDOH CC codes of the Condition tables) gives one
//     Finding of InstrumentOther, positive unless valueBoolean is false or
//     the answer is "No".
//
// Unknown item codes give no Finding and no error. An Observation whose
// status is entered-in-error or cancelled gives none. Positive follows the
// instrument's rule (codes_screening.go); rules over several items (PHQ-2
// and HITS sums, AHC physical activity) are computed over the items of this
// Observation only.
//
// Each Finding has PatientID from Observation.subject (Patient/<id>),
// Source "Observation/<id>", and EffectiveAt from effectiveDateTime,
// effectivePeriod.start, effectiveInstant or issued, in that order.
// Errors are *socialrx.Error: EINVALID for malformed JSON or a resource that
// is not an Observation or holds a bad date; EUNPROCESSABLE, with the path
// "Observation.subject", when there are findings but no Patient subject.
func FindingsFromObservation(body []byte) ([]socialrx.Finding, error) {
	var o observation
	if err := decodeResource(body, "Observation", &o, &o.ResourceType); err != nil {
		return nil, err
	}
	if voidStatus(o.Status) {
		return nil, nil
	}
	c := collector{source: "Observation/" + o.ID}
	ctx := socialrx.Instrument("")
	for _, cd := range o.Code.Coding {
		if isLOINC(cd) && panelInstrument(cd.Code) != "" {
			ctx = panelInstrument(cd.Code)
			break
		}
	}
	if !c.addItem(o.Code.Coding, ctx, o.answer(), c.source) && ctx == "" {
		c.addAssessment(o.Code.Coding, o.answer(), c.source)
	}
	for i := range o.Component {
		comp := &o.Component[i]
		c.addItem(comp.Code.Coding, ctx, comp.answer(), c.source)
	}
	if len(c.found) == 0 {
		return nil, nil
	}
	pid, err := patientID(o.Subject, "Observation.subject")
	if err != nil {
		return nil, err
	}
	at, err := firstTime(
		[2]string{o.EffectiveDateTime, "Observation.effectiveDateTime"},
		[2]string{periodStart(o.EffectivePeriod), "Observation.effectivePeriod.start"},
		[2]string{o.EffectiveInstant, "Observation.effectiveInstant"},
		[2]string{o.Issued, "Observation.issued"},
	)
	if err != nil {
		return nil, err
	}
	return c.findings(pid, at), nil
}

func periodStart(p *period) string {
	if p == nil {
		return ""
	}
	return p.Start
}

func isLOINC(c coding) bool {
	return c.System == systemLOINC || (c.System == "" && isLOINCCode(c.Code))
}

// questionnaireResponse is the part of an R4 QuestionnaireResponse that
// FindingsFromQuestionnaireResponse reads.
type questionnaireResponse struct {
	ResourceType  string     `json:"resourceType"`
	ID            string     `json:"id"`
	Questionnaire string     `json:"questionnaire"`
	Status        string     `json:"status"`
	Subject       *reference `json:"subject"`
	Authored      string     `json:"authored"`
	Item          []qrItem   `json:"item"`
}

type qrItem struct {
	LinkID     string `json:"linkId"`
	Definition string `json:"definition"`
	// Code is not an element of R4 QuestionnaireResponse.item (it is of
	// Questionnaire.item), but some senders copy it; it is read when there.
	Code   []coding   `json:"code"`
	Answer []qrAnswer `json:"answer"`
	Item   []qrItem   `json:"item"`
}

type qrAnswer struct {
	ValueCoding   *coding   `json:"valueCoding"`
	ValueInteger  *float64  `json:"valueInteger"`
	ValueDecimal  *float64  `json:"valueDecimal"`
	ValueQuantity *quantity `json:"valueQuantity"`
	ValueBoolean  *bool     `json:"valueBoolean"`
	Item          []qrItem  `json:"item"`
}

func (a *qrAnswer) answer() answerValue {
	v := answerValue{boolean: a.ValueBoolean}
	if a.ValueCoding != nil {
		v.codings = []coding{*a.ValueCoding}
	}
	switch {
	case a.ValueInteger != nil:
		v.number = a.ValueInteger
	case a.ValueDecimal != nil:
		v.number = a.ValueDecimal
	case a.ValueQuantity != nil && a.ValueQuantity.Value != nil:
		v.number = a.ValueQuantity.Value
	}
	return v
}

// FindingsFromQuestionnaireResponse reads the screening answers of a
// QuestionnaireResponse (SDC QuestionnaireResponse, as the SDOH CC IG's
// Hunger Vital Sign and PRAPARE examples). An item is a LOINC question
// when its code (read although R4 QuestionnaireResponse.item has none), the
// last "/"-separated segment of its linkId (the SDOH CC examples use
// "/93042-0/71802-3"), the whole linkId, or the fragment of its definition
// is a code of the screening tables. Each answer of such an item
// (valueCoding; valueInteger, valueDecimal or valueQuantity for numeric
// items) gives a Finding with Source "QuestionnaireResponse/<id>#<linkId>".
// Nested items (item.item, item.answer.item) are read. The instrument comes
// from the questionnaire canonical, then from an enclosing group whose code
// is a panel (93025-5 and its sections), then from the answer.
//
// Unknown items are skipped. Status entered-in-error gives no findings.
// EffectiveAt is authored. Errors as FindingsFromObservation, with paths
// on QuestionnaireResponse ("QuestionnaireResponse.subject").
func FindingsFromQuestionnaireResponse(body []byte) ([]socialrx.Finding, error) {
	var qr questionnaireResponse
	if err := decodeResource(body, "QuestionnaireResponse", &qr, &qr.ResourceType); err != nil {
		return nil, err
	}
	if qr.Status == "entered-in-error" {
		return nil, nil
	}
	c := collector{source: "QuestionnaireResponse/" + qr.ID}
	c.walk(qr.Item, questionnaireInstrument(qr.Questionnaire))
	if len(c.found) == 0 {
		return nil, nil
	}
	pid, err := patientID(qr.Subject, "QuestionnaireResponse.subject")
	if err != nil {
		return nil, err
	}
	at, err := parseDateTime(qr.Authored, "QuestionnaireResponse.authored")
	if err != nil {
		return nil, err
	}
	return c.findings(pid, at), nil
}

// walk collects the findings of items and their descendants.
func (c *collector) walk(items []qrItem, ctx socialrx.Instrument) {
	for i := range items {
		it := &items[i]
		code := qrItemCode(it)
		inner := ctx
		if p := panelInstrument(code); p != "" && ctx == "" {
			inner = p
		}
		if code != "" && len(itemsByCode[code]) > 0 {
			src := c.source + "#" + it.LinkID
			cd := []coding{{System: systemLOINC, Code: code}}
			for j := range it.Answer {
				c.addItem(cd, inner, it.Answer[j].answer(), src)
			}
		}
		c.walk(it.Item, inner)
		for j := range it.Answer {
			c.walk(it.Answer[j].Item, inner)
		}
	}
}

// qrItemCode returns the LOINC code of a QuestionnaireResponse item that
// the screening tables know (item or panel), or "".
func qrItemCode(it *qrItem) string {
	known := func(s string) bool { return len(itemsByCode[s]) > 0 || panelInstrument(s) != "" }
	for _, c := range it.Code {
		if isLOINC(c) && known(c.Code) {
			return c.Code
		}
	}
	candidates := []string{it.LinkID}
	if i := strings.LastIndexByte(it.LinkID, '/'); i >= 0 {
		candidates = append([]string{it.LinkID[i+1:]}, candidates...)
	}
	if i := strings.LastIndexAny(it.Definition, "#/"); i >= 0 {
		candidates = append(candidates, it.Definition[i+1:])
	}
	for _, s := range candidates {
		if isLOINCCode(s) && known(s) {
			return s
		}
	}
	return ""
}

// collector gathers the findings of one resource and then applies the
// rules that span several items.
type collector struct {
	source string // "Observation/<id>" or "QuestionnaireResponse/<id>"
	found  []pending
}

type pending struct {
	f      socialrx.Finding
	item   *screeningItem
	value  float64 // score or numeric value, for the group rules
	valued bool
}

// addItem adds the finding of an answer to a screening question coded by
// one of codes, and reports whether a code was a known question (whether
// or not the answer made a finding).
func (c *collector) addItem(codes []coding, ctx socialrx.Instrument, a answerValue, source string) bool {
	answer := a.loincAnswer()
	var item *screeningItem
	for _, cd := range codes {
		if isLOINC(cd) {
			if item = lookupItem(cd.Code, ctx, answer); item != nil {
				break
			}
		}
	}
	if item == nil {
		return false
	}
	if len(a.codings) == 0 && a.number == nil {
		return true // no answer (dataAbsentReason, text, boolean): nothing to find
	}
	p := pending{item: item, f: socialrx.Finding{
		Domain:     item.Domain,
		Instrument: item.Instrument,
		ItemCode:   item.Code,
		AnswerCode: answer,
		Source:     source,
	}}
	ans := item.answer(answer)
	if ans != nil && ans.Domain != "" {
		p.f.Domain = ans.Domain
	}
	switch item.Rule {
	case ruleAnswer:
		p.f.Positive = ans != nil && ans.Positive
	case ruleSumAtLeast, ruleProductBelow, ruleValueAtLeast:
		if ans != nil {
			p.value, p.valued = float64(ans.Score), true
		} else if a.number != nil {
			p.value, p.valued = *a.number, true
		}
		if item.Rule == ruleValueAtLeast {
			p.f.Positive = p.valued && p.value >= item.Threshold
		}
	}
	c.found = append(c.found, p)
	return true
}

// noAnswers are the codes of a "No" answer to an assessment Observation.
var noAnswers = []coding{
	{System: systemLOINC, Code: "LA32-8"},
	{System: systemSNOMED, Code: "373067005"},
}

// addAssessment adds the finding of an assessment Observation whose code
// is a known SDOH code of the Condition tables.
func (c *collector) addAssessment(codes []coding, a answerValue, source string) {
	for _, cd := range codes {
		row, ok := lookupCondition(cd.System, cd.Code)
		if !ok {
			continue
		}
		positive := a.boolean == nil || *a.boolean
		for _, ac := range a.codings {
			for _, no := range noAnswers {
				if ac.System == no.System && ac.Code == no.Code {
					positive = false
				}
			}
		}
		c.found = append(c.found, pending{f: socialrx.Finding{
			Domain:     row.Domain,
			Instrument: socialrx.InstrumentOther,
			ItemCode:   cd.Code,
			AnswerCode: a.loincAnswer(),
			Positive:   positive,
			Source:     source,
		}})
		return
	}
}

// findings applies the group rules and returns the findings with the
// patient and time set.
func (c *collector) findings(patientID string, at time.Time) []socialrx.Finding {
	type key struct {
		instrument socialrx.Instrument
		group      string
	}
	type agg struct {
		sum, product float64
		codes        map[string]bool
		zero         bool
		item         *screeningItem
	}
	groups := map[key]*agg{}
	for _, p := range c.found {
		if p.item == nil || p.item.Group == "" || !p.valued {
			continue
		}
		k := key{p.item.Instrument, p.item.Group}
		g := groups[k]
		if g == nil {
			g = &agg{product: 1, codes: map[string]bool{}, item: p.item}
			groups[k] = g
		}
		g.sum += p.value
		if !g.codes[p.item.Code] {
			g.codes[p.item.Code] = true
			g.product *= p.value
		}
		if p.value == 0 {
			g.zero = true
		}
	}
	out := make([]socialrx.Finding, len(c.found))
	for i, p := range c.found {
		f := p.f
		f.PatientID, f.EffectiveAt = patientID, at
		if p.item != nil && p.item.Group != "" {
			if g := groups[key{p.item.Instrument, p.item.Group}]; g != nil {
				switch p.item.Rule {
				case ruleSumAtLeast:
					f.Positive = g.sum >= p.item.Threshold
				case ruleProductBelow:
					complete := g.zero || len(g.codes) == p.item.groupSize()
					f.Positive = complete && (g.zero || g.product < p.item.Threshold)
				}
			}
		}
		out[i] = f
	}
	return out
}
