package mapping

import (
	"encoding/json"

	"github.com/socialrx/socialrx"
)

// ValueSetBase is the canonical base of socialrx's value sets: each code
// system CodeSystemBase+name has a value set ValueSetBase+name holding all
// of its codes.
const ValueSetBase = "http://socialrx.dev/fhir/ValueSet/"

// terminology is one socialrx code system (and its value set).
type terminology struct {
	Name        string // id and last segment of the url, e.g. "need-domain"
	Title       string
	Description string
	Concepts    []concept
}

type concept struct {
	Code, Display string
}

// terminologies returns socialrx's own code systems. The domain codes come
// from the root package (AllNeedDomains, AllForms, AllChannels,
// AllContactChannels and their Display methods); the follow-up codes,
// which the root package does not define as types, are tabled here.
func terminologies() []terminology {
	var domains, forms, channels, contacts []concept
	for _, d := range socialrx.AllNeedDomains() {
		domains = append(domains, concept{string(d), d.Display()})
	}
	for _, f := range socialrx.AllForms() {
		forms = append(forms, concept{string(f), f.Display()})
	}
	for _, c := range socialrx.AllChannels() {
		channels = append(channels, concept{string(c), c.Display()})
	}
	for _, c := range socialrx.AllContactChannels() {
		contacts = append(contacts, concept{string(c), c.Display()})
	}
	return []terminology{
		{Name: "need-domain", Title: "Social prescribing need domains",
			Description: "The ten areas of need of the Ontario guide for health professionals on social prescribing, and unspecified for a social need socialrx cannot place.",
			Concepts:    domains},
		{Name: "prescription-form", Title: "Forms of social prescription",
			Description: "How a support is prescribed (the Ontario guide's three forms); carried on ServiceRequest.category.",
			Concepts:    forms},
		{Name: "prescription-channel", Title: "Social prescription channels",
			Description: "How a prescription reaches the program; carried on ServiceRequest.category.",
			Concepts:    channels},
		{Name: "follow-up-channel", Title: "Follow-up contact channels",
			Description: "The person's preferred way to be followed up.",
			Concepts:    contacts},
		{Name: "follow-up-barrier", Title: "Follow-up barriers",
			Description: "What got in the way of the prescribed support, as recorded at follow-up (the follow-up Questionnaire's barriers item).",
			Concepts:    followUpConcepts(barrierDisplays)},
		{Name: "follow-up-pursued", Title: "Follow-up: support pursued",
			Description: "Whether the person pursued the prescribed support, as recorded at follow-up.",
			Concepts:    followUpConcepts(pursuedDisplays)},
		{Name: "follow-up-wellbeing", Title: "Follow-up: change in well-being",
			Description: "The person's change in well-being since the prescription, as recorded at follow-up.",
			Concepts:    followUpConcepts(wellbeingDisplays)},
		{Name: "follow-up-next-step", Title: "Follow-up next step",
			Description: "What happens after a follow-up: keep going, try an alternative (socialrx drafts a new prescription for the same need), more help (a staff Task), done.",
			Concepts:    followUpConcepts(nextStepDisplays)},
		{Name: "follow-up-item", Title: "Follow-up items and results",
			Description: "Questionnaire item codes and Observation codes of the follow-up where LOINC has none that socialrx could verify: the answers socialrx keeps as Observations, the two Three-Item Loneliness Scale items without a verified LOINC code, and the scale's total score.",
			Concepts:    followUpConcepts(followUpItemDisplays)},
		{Name: "loneliness-frequency", Title: "Three-Item Loneliness Scale answers",
			Description: "The answers of the Three-Item Loneliness Scale (hardly ever, some of the time, often; scored 1 to 3).",
			Concepts:    followUpConcepts(lonelinessDisplays)},
		{Name: "promis-global-response", Title: "PROMIS Global-10 answers",
			Description: "The answers of the PROMIS Global-10 items other than pain; each item's score is the ordinalValue of its answerOption in the follow-up Questionnaire.",
			Concepts:    followUpConcepts(promisDisplays)},
		{Name: "task-output", Title: "socialrx Task output types",
			Description: "Task.output.type of the Tasks socialrx completes.",
			Concepts:    []concept{{outputFollowUpResponse, "The follow-up's QuestionnaireResponse"}}},
		{Name: "task-code", Title: "socialrx Task codes",
			Description: "Task.code of the Tasks socialrx creates.",
			Concepts: []concept{{"follow-up", "Follow up a social prescription"}, {"patient-pursue", "Pursue a self-directed social prescription"},
				{"send-fax", "Send the referral by fax"}, {"call-to-confirm", "Call the program to confirm the referral"},
				{"consent-needed", "Record the patient's consent to share the referral"},
				{"rejected-unhandled", "Find the patient another program: the referral was rejected and not re-referred"},
				{taskFollowUpHelp, "Contact the patient: they asked for more help at follow-up"},
				{"call-patient", "Call the patient about their follow-up"}, {"print-letter", "Print and post the follow-up letter"},
				{"follow-up-reminder", "Follow-up reminder sent to the patient"},
				{TaskVerifyProgram, "Check that a directory program is still offered: not verified for too long"}}},
		{Name: "reminder-reason", Title: "Why staff reach the patient",
			Description: "Task.reasonCode of the call-patient and print-letter Tasks socialrx creates for a follow-up.",
			Concepts: []concept{{"follow-up-due", "The follow-up is due and the patient is reached this way"},
				{"reminder-failed", "The email or text reminder could not be delivered"},
				{"overdue", "No answer after the reminder"}}},
		{Name: "task-input", Title: "socialrx Task input types",
			Description: "Task.input.type of the Tasks socialrx creates.",
			Concepts:    []concept{{"contact-channel", "Preferred follow-up contact channel"}}},
		{Name: "practitioner-role", Title: "Social prescribing practitioner roles",
			Description: "PractitionerRole.code of social prescribing navigators and link workers: a prescription to such a PractitionerRole is a navigator referral when the EMR sends no form.",
			Concepts:    []concept{{"navigator", "Social prescribing navigator"}, {"link-worker", "Social prescribing link worker"}}},
		{Name: "referral-hold", Title: "Consent holds of referrals",
			Description: "Why socialrx holds a referral (Task.statusReason of an on-hold referral Task) when consent is required (serve --require-consent).",
			Concepts:    []concept{{socialrx.HoldConsentNeeded, socialrx.HoldDisplay(socialrx.HoldConsentNeeded)}, {socialrx.HoldConsentRevoked, socialrx.HoldDisplay(socialrx.HoldConsentRevoked)}}},
		{Name: "consent-purpose", Title: "Purposes of sharing a social prescribing referral",
			Description: "Consent.provision.purpose codes socialrx reads: social-prescribing permits (or denies) sharing any of the patient's social prescribing referrals with the provision's actors; need-domain codes (" + socialrx.CodeSystemBase + "need-domain) permit referrals for those needs.",
			Concepts:    []concept{{socialrx.ConsentPurposeSocialPrescribing, "Sharing a social prescribing referral with the program"}}},
		{Name: "ohip-fee-code", Title: "OHIP fee codes for social prescribing visits",
			Description: "The fee codes of the Ontario Schedule of Benefits (Physician Services) that the Ontario guide on social prescribing bills social prescribing visits under; ChargeItem.code of a billed visit. Descriptions abridged from the Schedule; socialrx submits no claims.",
			Concepts:    ohipConcepts()},
		{Name: "measure-group", Title: "socialrx Measure groups",
			Description: "MeasureReport.group.code of socialrx's shipped Measures (" + MeasureBase + "...).",
			Concepts: []concept{{"pursued", "Pursued the prescribed support"}, {"wellbeing-improved", "Well-being improved"},
				{"referral-accepted", "Referral taken on by the program"}, {"billed-visits", "Billed visits"}}},
		{Name: "measure-stratifier", Title: "socialrx Measure stratifiers",
			Description: "Stratifier codes of socialrx's shipped Measures, and the stratum of prescriptions without a program (none).",
			Concepts:    []concept{{"program", "Program"}, {"need-domain", "Need domain"}, {"ohip-fee-code", "OHIP fee code"}, {"none", "No program"}}},
	}
}

// ohipConcepts are socialrx.OHIPFeeCodes as concepts.
func ohipConcepts() []concept {
	var out []concept
	for _, c := range socialrx.OHIPFeeCodes() {
		out = append(out, concept{c.Code, c.Display})
	}
	return out
}

// The JSON shapes of the resources; field order is the FHIR element order.
type codeSystemJSON struct {
	ResourceType  string        `json:"resourceType"`
	ID            string        `json:"id"`
	URL           string        `json:"url"`
	Name          string        `json:"name"`
	Title         string        `json:"title"`
	Status        string        `json:"status"`
	Experimental  bool          `json:"experimental"`
	Publisher     string        `json:"publisher"`
	Description   string        `json:"description"`
	CaseSensitive bool          `json:"caseSensitive"`
	ValueSet      string        `json:"valueSet"`
	Content       string        `json:"content"`
	Count         int           `json:"count"`
	Concept       []conceptJSON `json:"concept"`
}

type conceptJSON struct {
	Code    string `json:"code"`
	Display string `json:"display"`
}

type valueSetJSON struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	URL          string `json:"url"`
	Name         string `json:"name"`
	Title        string `json:"title"`
	Status       string `json:"status"`
	Experimental bool   `json:"experimental"`
	Publisher    string `json:"publisher"`
	Description  string `json:"description"`
	Compose      struct {
		Include []struct {
			System string `json:"system"`
		} `json:"include"`
	} `json:"compose"`
}

// pascal turns "need-domain" into "NeedDomain" (a computable FHIR name).
func pascal(s string) string {
	b := make([]byte, 0, len(s))
	up := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' {
			up = true
			continue
		}
		if up && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up = false
		b = append(b, c)
	}
	return string(b)
}

// CodeSystems returns socialrx's own code systems as FHIR R4 CodeSystem
// JSON, one per element: need-domain, prescription-form,
// prescription-channel, follow-up-channel, follow-up-barrier,
// follow-up-pursued, follow-up-wellbeing, follow-up-next-step,
// follow-up-item, loneliness-frequency, promis-global-response,
// task-output, task-code, task-input and practitioner-role.
// Each has id <name>, url socialrx.CodeSystemBase+<name>, status active,
// content complete, and valueSet ValueSetBase+<name>. The bytes are new on
// every call.
func CodeSystems() [][]byte {
	var out [][]byte
	for _, t := range terminologies() {
		cs := codeSystemJSON{
			ResourceType: "CodeSystem", ID: t.Name, URL: socialrx.CodeSystemBase + t.Name,
			Name: pascal(t.Name), Title: t.Title, Status: "active", Publisher: "socialrx",
			Description: t.Description, CaseSensitive: true, ValueSet: ValueSetBase + t.Name,
			Content: "complete", Count: len(t.Concepts),
		}
		for _, c := range t.Concepts {
			cs.Concept = append(cs.Concept, conceptJSON(c))
		}
		out = append(out, mustJSON(cs))
	}
	return out
}

// ValueSets returns, for each of CodeSystems, a FHIR R4 ValueSet with url
// ValueSetBase+<name> that includes every code of the code system, in the
// same order. The bytes are new on every call.
func ValueSets() [][]byte {
	var out [][]byte
	for _, t := range terminologies() {
		vs := valueSetJSON{
			ResourceType: "ValueSet", ID: t.Name, URL: ValueSetBase + t.Name,
			Name: pascal(t.Name), Title: t.Title, Status: "active", Publisher: "socialrx",
			Description: "All codes of " + socialrx.CodeSystemBase + t.Name + ". " + t.Description,
		}
		vs.Compose.Include = append(vs.Compose.Include, struct {
			System string `json:"system"`
		}{socialrx.CodeSystemBase + t.Name})
		out = append(out, mustJSON(vs))
	}
	return out
}

// mustJSON marshals v, whose types cannot fail to marshal.
func mustJSON(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic("mapping: marshal terminology: " + err.Error())
	}
	return b
}
