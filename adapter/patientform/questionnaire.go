package patientform

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A server-side renderer of the Questionnaire item types the follow-up
// uses (FHIR R4 Questionnaire, SDC basics): group, choice (answerOption
// valueCoding; repeats → checkboxes, else radios), integer (SDC minValue /
// maxValue extensions), string, text, boolean, display; required;
// enableWhen (=, != and exists on a choice or boolean answer, enableBehavior
// any/all). A question with enableWhen is always shown, with a hint saying
// when to answer it; the server ignores its answer when the condition does
// not hold (no JavaScript needed).

const (
	extMinValue = "http://hl7.org/fhir/StructureDefinition/minValue"
	extMaxValue = "http://hl7.org/fhir/StructureDefinition/maxValue"
	// Longest answers kept.
	maxString = 500
	maxText   = 4000
)

// questionnaire is the part of a Questionnaire the form reads.
type questionnaire struct {
	URL     string `json:"url"`
	Version string `json:"version"`
	Title   string `json:"title"`
	Items   []item `json:"item"`
}

// Canonical is url|version (url alone when there is no version).
func (q *questionnaire) Canonical() string {
	if q.Version == "" {
		return q.URL
	}
	return q.URL + "|" + q.Version
}

type coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

type item struct {
	LinkID   string `json:"linkId"`
	Text     string `json:"text"`
	Type     string `json:"type"`
	Required bool   `json:"required"`
	Repeats  bool   `json:"repeats"`
	ReadOnly bool   `json:"readOnly"` // calculated (a scale's total): not shown, not answered
	Options  []struct {
		ValueCoding *coding `json:"valueCoding"`
	} `json:"answerOption"`
	Extension []struct {
		URL          string `json:"url"`
		ValueInteger *int   `json:"valueInteger"`
	} `json:"extension"`
	EnableWhen []struct {
		Question      string  `json:"question"`
		Operator      string  `json:"operator"`
		AnswerCoding  *coding `json:"answerCoding"`
		AnswerBoolean *bool   `json:"answerBoolean"`
	} `json:"enableWhen"`
	EnableBehavior string `json:"enableBehavior"`
	Items          []item `json:"item"`
}

func parseQuestionnaire(body []byte) (*questionnaire, error) {
	var q questionnaire
	if err := json.Unmarshal(body, &q); err != nil {
		return nil, fmt.Errorf("questionnaire: %w", err)
	}
	if q.URL == "" || len(q.Items) == 0 {
		return nil, fmt.Errorf("questionnaire: no url or no items")
	}
	return &q, nil
}

func (it *item) bound(url string) (int, bool) {
	for _, e := range it.Extension {
		if e.URL == url && e.ValueInteger != nil {
			return *e.ValueInteger, true
		}
	}
	return 0, false
}

func (it *item) option(code string) (*coding, bool) {
	for _, o := range it.Options {
		if o.ValueCoding != nil && o.ValueCoding.Code == code {
			return o.ValueCoding, true
		}
	}
	return nil, false
}

// answers are the submitted values by linkId (the form's fields are named
// "q." + linkId).
type answers map[string][]string

func (a answers) first(linkID string) string {
	if v := a[linkID]; len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}

// index returns every item by linkId, groups included.
func index(items []item, into map[string]*item) {
	for i := range items {
		into[items[i].LinkID] = &items[i]
		index(items[i].Items, into)
	}
}

// enabled reports whether it should be answered given a.
func enabled(it *item, a answers, byID map[string]*item) bool {
	if len(it.EnableWhen) == 0 {
		return true
	}
	all := it.EnableBehavior == "all"
	for _, ew := range it.EnableWhen {
		got := a[ew.Question]
		var ok bool
		switch ew.Operator {
		case "exists":
			has := false
			for _, v := range got {
				has = has || strings.TrimSpace(v) != ""
			}
			ok = ew.AnswerBoolean != nil && has == *ew.AnswerBoolean
		case "=", "!=":
			want := ""
			if ew.AnswerCoding != nil {
				want = ew.AnswerCoding.Code
			} else if ew.AnswerBoolean != nil {
				want = strconv.FormatBool(*ew.AnswerBoolean)
			}
			match := false
			for _, v := range got {
				match = match || v == want
			}
			ok = match == (ew.Operator == "=")
			if q := byID[ew.Question]; q != nil && !enabled(q, a, byID) {
				ok = false
			}
		}
		if ok && !all {
			return true
		}
		if !ok && all {
			return false
		}
	}
	return all
}

// hint explains an enableWhen in words ("Answer if you chose “No” or
// “Partly” above.").
func hint(it *item, byID map[string]*item) string {
	var names []string
	for _, ew := range it.EnableWhen {
		if ew.Operator != "=" || ew.AnswerCoding == nil {
			continue
		}
		name := ew.AnswerCoding.Display
		if q := byID[ew.Question]; q != nil {
			if c, ok := q.option(ew.AnswerCoding.Code); ok && c.Display != "" {
				name = c.Display
			}
		}
		if name == "" {
			name = ew.AnswerCoding.Code
		}
		names = append(names, "“"+name+"”")
	}
	if len(names) == 0 {
		if len(it.EnableWhen) > 0 {
			return "Answer only if it applies to you."
		}
		return ""
	}
	return "Answer only if you chose " + strings.Join(names, " or ") + " above."
}

// check validates a against q: the errors by linkId (plain words for the
// patient), nothing for a valid submission.
func check(q *questionnaire, a answers) map[string]string {
	byID := map[string]*item{}
	index(q.Items, byID)
	errs := map[string]string{}
	// A group that is not required (an optional scale) makes its
	// required items required only once any of them is answered.
	var walk func(items []item, optionalEmpty bool)
	walk = func(items []item, optionalEmpty bool) {
		for i := range items {
			it := &items[i]
			if it.Type == "group" {
				walk(it.Items, optionalEmpty || (!it.Required && !anyAnswer(it.Items, a)))
				continue
			}
			if it.Type == "display" || it.ReadOnly || !enabled(it, a, byID) {
				continue
			}
			vals := a[it.LinkID]
			v := a.first(it.LinkID)
			if v == "" {
				if it.Required && !optionalEmpty {
					errs[it.LinkID] = "Please answer this question."
				}
				continue
			}
			switch it.Type {
			case "choice", "open-choice":
				if !it.Repeats && len(vals) > 1 {
					errs[it.LinkID] = "Please choose one answer."
				}
				for _, c := range vals {
					if _, ok := it.option(c); !ok {
						errs[it.LinkID] = "Please choose one of the answers shown."
					}
				}
			case "integer":
				n, err := strconv.Atoi(v)
				lo, hasLo := it.bound(extMinValue)
				hi, hasHi := it.bound(extMaxValue)
				switch {
				case err != nil:
					errs[it.LinkID] = "Please enter a whole number" + rangeWords(lo, hasLo, hi, hasHi) + "."
				case hasLo && n < lo, hasHi && n > hi:
					errs[it.LinkID] = "Please enter a number" + rangeWords(lo, hasLo, hi, hasHi) + "."
				}
			case "boolean":
				if v != "true" && v != "false" {
					errs[it.LinkID] = "Please choose yes or no."
				}
			case "string", "text":
				limit := maxString
				if it.Type == "text" {
					limit = maxText
				}
				if utf8.RuneCountInString(v) > limit {
					errs[it.LinkID] = fmt.Sprintf("Please keep this under %d characters.", limit)
				}
			}
		}
	}
	walk(q.Items, false)
	return errs
}

// anyAnswer reports whether any item below items has an answer.
func anyAnswer(items []item, a answers) bool {
	for i := range items {
		if a.first(items[i].LinkID) != "" || anyAnswer(items[i].Items, a) {
			return true
		}
	}
	return false
}

func rangeWords(lo int, hasLo bool, hi int, hasHi bool) string {
	switch {
	case hasLo && hasHi:
		return fmt.Sprintf(" from %d to %d", lo, hi)
	case hasLo:
		return fmt.Sprintf(" of at least %d", lo)
	case hasHi:
		return fmt.Sprintf(" of at most %d", hi)
	}
	return ""
}

// qrItem is a QuestionnaireResponse.item.
type qrItem struct {
	LinkID string     `json:"linkId"`
	Text   string     `json:"text,omitempty"`
	Answer []qrAnswer `json:"answer,omitempty"`
	Item   []qrItem   `json:"item,omitempty"`
}

type qrAnswer struct {
	ValueCoding  *coding `json:"valueCoding,omitempty"`
	ValueInteger *int    `json:"valueInteger,omitempty"`
	ValueBoolean *bool   `json:"valueBoolean,omitempty"`
	ValueString  *string `json:"valueString,omitempty"`
}

// responseItems turns valid answers a into QuestionnaireResponse items,
// nested as q's items are; unanswered items, items whose enableWhen does
// not hold and groups left empty are left out.
func responseItems(q *questionnaire, a answers) []qrItem {
	byID := map[string]*item{}
	index(q.Items, byID)
	var walk func(items []item) []qrItem
	walk = func(items []item) []qrItem {
		var out []qrItem
		for i := range items {
			it := &items[i]
			if it.Type == "group" {
				if sub := walk(it.Items); len(sub) > 0 {
					out = append(out, qrItem{LinkID: it.LinkID, Text: it.Text, Item: sub})
				}
				continue
			}
			if it.Type == "display" || it.ReadOnly || !enabled(it, a, byID) || a.first(it.LinkID) == "" {
				continue
			}
			r := qrItem{LinkID: it.LinkID, Text: it.Text}
			switch it.Type {
			case "choice", "open-choice":
				for _, v := range a[it.LinkID] {
					if c, ok := it.option(v); ok {
						cc := *c
						r.Answer = append(r.Answer, qrAnswer{ValueCoding: &cc})
					}
				}
			case "integer":
				n, _ := strconv.Atoi(a.first(it.LinkID))
				r.Answer = []qrAnswer{{ValueInteger: &n}}
			case "boolean":
				b := a.first(it.LinkID) == "true"
				r.Answer = []qrAnswer{{ValueBoolean: &b}}
			default:
				s := a.first(it.LinkID)
				r.Answer = []qrAnswer{{ValueString: &s}}
			}
			if len(r.Answer) > 0 {
				out = append(out, r)
			}
		}
		return out
	}
	return walk(q.Items)
}
