package socialrx_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/socialrx/socialrx"
)

// code is one code of a code system with its expected display.
type code struct{ Code, Display string }

// TestDisplays checks, for every code type, the list All* returns (in
// order), each code's Display and Valid, and that unknown and empty codes
// are not valid and have no display.
func TestDisplays(t *testing.T) {
	tests := []struct {
		name  string
		want  []code
		got   func() []code
		valid func(string) (bool, string) // Valid and Display of any string
	}{
		{
			name: "NeedDomain",
			want: []code{
				{"mental-health-substance-use", "Mental health and substance use"},
				{"social-support", "Social support (isolation, loneliness)"},
				{"finances", "Finances (income, tax, benefits)"},
				{"housing", "Housing"},
				{"physical-activity", "Physical activity"},
				{"creative-expression", "Creative expression (arts, culture, nature)"},
				{"daily-living", "Activities of daily living (ADL/IADL)"},
				{"childcare", "Childcare"},
				{"medication-coverage", "Medication coverage"},
				{"food", "Food"},
				{"unspecified", "Unspecified social need"},
			},
			got: func() (cs []code) {
				for _, d := range socialrx.AllNeedDomains() {
					cs = append(cs, code{string(d), d.Display()})
				}
				return cs
			},
			valid: func(s string) (bool, string) { d := socialrx.NeedDomain(s); return d.Valid(), d.Display() },
		},
		{
			name: "Form",
			want: []code{
				{"self-directed", "Self-directed (point to a support)"},
				{"warm-handoff", "Warm hand-off"},
				{"navigator", "Navigator referral"},
			},
			got: func() (cs []code) {
				for _, f := range socialrx.AllForms() {
					cs = append(cs, code{string(f), f.Display()})
				}
				return cs
			},
			valid: func(s string) (bool, string) { f := socialrx.Form(s); return f.Valid(), f.Display() },
		},
		{
			name: "Channel",
			want: []code{
				{"ocean-ereferral", "Ocean eReferral"},
				{"efax", "eFax"},
				{"phone", "Phone call"},
				{"in-person", "In person"},
				{"self", "Self (the person contacts the program)"},
			},
			got: func() (cs []code) {
				for _, c := range socialrx.AllChannels() {
					cs = append(cs, code{string(c), c.Display()})
				}
				return cs
			},
			valid: func(s string) (bool, string) { c := socialrx.Channel(s); return c.Valid(), c.Display() },
		},
		{
			name: "ContactChannel",
			want: []code{
				{"email", "Email"},
				{"text", "Text message"},
				{"phone", "Phone"},
				{"mail", "Mail"},
			},
			got: func() (cs []code) {
				for _, c := range socialrx.AllContactChannels() {
					cs = append(cs, code{string(c), c.Display()})
				}
				return cs
			},
			valid: func(s string) (bool, string) { c := socialrx.ContactChannel(s); return c.Valid(), c.Display() },
		},
		{
			name: "Instrument",
			want: []code{
				{"hunger-vital-sign", "Hunger Vital Sign"},
				{"ahc-hrsn", "AHC HRSN screening tool"},
				{"prapare", "PRAPARE"},
				{"other", "Other SDOH observation"},
			},
			got: func() (cs []code) {
				for _, i := range socialrx.AllInstruments() {
					cs = append(cs, code{string(i), i.Display()})
				}
				return cs
			},
			valid: func(s string) (bool, string) { i := socialrx.Instrument(s); return i.Valid(), i.Display() },
		},
		{
			name: "ReferralStatus",
			want: []code{
				{"draft", "Draft"}, {"requested", "Requested"}, {"received", "Received"},
				{"accepted", "Accepted"}, {"rejected", "Rejected"}, {"cancelled", "Cancelled"},
				{"on-hold", "On Hold"}, {"in-progress", "In Progress"}, {"completed", "Completed"},
				{"failed", "Failed"}, {"entered-in-error", "Entered in Error"},
			},
			got: func() (cs []code) {
				for _, s := range socialrx.AllReferralStatuses() {
					cs = append(cs, code{string(s), s.Display()})
				}
				return cs
			},
			valid: func(s string) (bool, string) { r := socialrx.ReferralStatus(s); return r.Valid(), r.Display() },
		},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.got()); diff != "" {
			t.Errorf("%s: codes and displays (-want +got):\n%s", tt.name, diff)
		}
		for _, c := range tt.want {
			if ok, _ := tt.valid(c.Code); !ok {
				t.Errorf("%s(%q).Valid() = false, want true", tt.name, c.Code)
			}
		}
		for _, s := range []string{"", "unknown-code", "Food"} {
			if ok, display := tt.valid(s); ok || display != "" {
				t.Errorf("%s(%q): Valid() = %v, Display() = %q; want false, \"\"", tt.name, s, ok, display)
			}
		}
	}
}

func TestAllNeedDomainsIsACopy(t *testing.T) {
	a := socialrx.AllNeedDomains()
	a[0] = "changed"
	if got := socialrx.AllNeedDomains()[0]; got != socialrx.DomainMentalHealth {
		t.Errorf("AllNeedDomains()[0] after a caller changed its copy = %q, want %q", got, socialrx.DomainMentalHealth)
	}
}

func TestFindingValidate(t *testing.T) {
	valid := func() socialrx.Finding {
		return socialrx.Finding{
			PatientID: "p1", Domain: socialrx.DomainFood, Instrument: socialrx.InstrumentHungerVitalSign,
			ItemCode: "88122-7", AnswerCode: "LA28397-0", Positive: true, Source: "Observation/o1",
		}
	}
	tests := []struct {
		name   string
		edit   func(f *socialrx.Finding)
		issues []pathCode
	}{
		{"valid", func(f *socialrx.Finding) {}, nil},
		{"numeric answer, no date", func(f *socialrx.Finding) { f.AnswerCode, f.EffectiveAt = "", time.Time{} }, nil},
		{"unspecified domain", func(f *socialrx.Finding) { f.Domain = socialrx.DomainUnspecified }, nil},
		{"no patient", func(f *socialrx.Finding) { f.PatientID = "" }, []pathCode{{"Observation.subject", "required"}}},
		{"no domain", func(f *socialrx.Finding) { f.Domain = "" }, []pathCode{{"Observation.category", "value"}}},
		{"unknown domain", func(f *socialrx.Finding) { f.Domain = "Jane" }, []pathCode{{"Observation.category", "value"}}},
		{"unknown instrument", func(f *socialrx.Finding) { f.Instrument = "Jane" }, []pathCode{{"Observation.code", "value"}}},
		{"no item code", func(f *socialrx.Finding) { f.ItemCode = "" }, []pathCode{{"Observation.code", "required"}}},
		{"questionnaire response paths", func(f *socialrx.Finding) {
			*f = socialrx.Finding{Source: "QuestionnaireResponse/q1#2"}
		}, []pathCode{
			{"QuestionnaireResponse.subject", "required"},
			{"QuestionnaireResponse.item", "value"},
			{"QuestionnaireResponse.questionnaire", "value"},
			{"QuestionnaireResponse.item.code", "required"},
		}},
	}
	for _, tt := range tests {
		f := valid()
		tt.edit(&f)
		err := f.Validate()
		if diff := cmp.Diff(tt.issues, issuesOf(t, err)); diff != "" {
			t.Errorf("%s: Validate issues (-want +got):\n%s", tt.name, diff)
		}
		noPHI(t, tt.name, err, "Jane")
	}
}

func TestNeedValidate(t *testing.T) {
	valid := func() socialrx.Need {
		return socialrx.Need{
			PatientID: "p1", Domain: socialrx.DomainHousing,
			Code:   socialrx.Coding{System: "http://hl7.org/fhir/sid/icd-10-cm", Code: "Z59.0"},
			Source: "Condition/c1", Status: "active",
		}
	}
	tests := []struct {
		name   string
		edit   func(n *socialrx.Need)
		issues []pathCode
	}{
		{"valid", func(n *socialrx.Need) {}, nil},
		{"no status", func(n *socialrx.Need) { n.Status = "" }, nil},
		{"no patient", func(n *socialrx.Need) { n.PatientID = "" }, []pathCode{{"Condition.subject", "required"}}},
		{"unknown domain", func(n *socialrx.Need) { n.Domain = "Jane" }, []pathCode{{"Condition.category", "value"}}},
		{"no code", func(n *socialrx.Need) { n.Code = socialrx.Coding{Display: "Jane"} }, []pathCode{{"Condition.code", "required"}}},
		{"no system", func(n *socialrx.Need) { n.Code.System = "" }, []pathCode{{"Condition.code.coding.system", "required"}}},
		{"unknown clinical status", func(n *socialrx.Need) { n.Status = "Jane" }, []pathCode{{"Condition.clinicalStatus", "value"}}},
		{"everything wrong at once", func(n *socialrx.Need) { *n = socialrx.Need{Status: "x"} }, []pathCode{
			{"Condition.subject", "required"}, {"Condition.category", "value"},
			{"Condition.code", "required"}, {"Condition.clinicalStatus", "value"},
		}},
	}
	for _, tt := range tests {
		n := valid()
		tt.edit(&n)
		err := n.Validate()
		if diff := cmp.Diff(tt.issues, issuesOf(t, err)); diff != "" {
			t.Errorf("%s: Validate issues (-want +got):\n%s", tt.name, diff)
		}
		noPHI(t, tt.name, err, "Jane")
	}
}

func TestPrescriptionValidate(t *testing.T) {
	due := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	valid := func() socialrx.Prescription {
		return socialrx.Prescription{
			ID: "sr1", PatientID: "p1", Form: socialrx.FormWarmHandoff,
			Needs:    []socialrx.NeedDomain{socialrx.DomainFood},
			NeedRefs: []string{"Condition/c1"},
			Code:     socialrx.Coding{System: "http://snomed.info/sct", Code: "467771000124109"},
			Target:   "HealthcareService/hs1", Channel: socialrx.ChannelOceanEReferral,
			Status: "active", RequesterID: "PractitionerRole/pr1",
			FollowUp: &socialrx.FollowUp{PrescriptionID: "sr1", PatientID: "p1", Due: due, Channel: socialrx.ContactText},
		}
	}
	tests := []struct {
		name   string
		edit   func(p *socialrx.Prescription)
		issues []pathCode
	}{
		{"valid warm hand-off", func(p *socialrx.Prescription) {}, nil},
		{"self-directed with code only", func(p *socialrx.Prescription) {
			p.Form, p.Target, p.Channel = socialrx.FormSelfDirected, "", ""
		}, nil},
		{"self-directed pointing to a program, no code", func(p *socialrx.Prescription) {
			p.Form, p.Code, p.Channel = socialrx.FormSelfDirected, socialrx.Coding{}, socialrx.ChannelSelf
		}, nil},
		{"navigator by PractitionerRole", func(p *socialrx.Prescription) {
			p.Form, p.Target = socialrx.FormNavigator, "PractitionerRole/nav1"
		}, nil},
		{"navigator by Organization, absolute", func(p *socialrx.Prescription) {
			p.Form, p.Target, p.Channel = socialrx.FormNavigator, "https://x.example/fhir/Organization/o1/_history/3", ""
		}, nil},
		{"no follow-up yet", func(p *socialrx.Prescription) { p.FollowUp = nil }, nil},
		{"no id yet", func(p *socialrx.Prescription) { p.ID = "" }, nil},

		{"no patient", func(p *socialrx.Prescription) { p.PatientID = "" }, []pathCode{{"ServiceRequest.subject", "required"}}},
		{"no form", func(p *socialrx.Prescription) { p.Form = "" }, []pathCode{{"ServiceRequest.category", "value"}}},
		{"unknown form", func(p *socialrx.Prescription) { p.Form = "Jane" }, []pathCode{{"ServiceRequest.category", "value"}}},
		{"neither code nor target", func(p *socialrx.Prescription) {
			p.Form, p.Code, p.Target, p.Channel = socialrx.FormSelfDirected, socialrx.Coding{}, "", ""
		}, []pathCode{{"ServiceRequest.code", "required"}}},
		{"code with text only", func(p *socialrx.Prescription) { // mapping's reading of code.text alone
			p.Form, p.Code, p.Target, p.Channel = socialrx.FormSelfDirected, socialrx.Coding{Display: "housing support"}, "", ""
		}, nil},
		{"draft with neither code nor target", func(p *socialrx.Prescription) { // a proposal still to be completed
			p.Form, p.Code, p.Target, p.Channel, p.Status = socialrx.FormSelfDirected, socialrx.Coding{}, "", "", "draft"
		}, nil},
		{"target of a wrong type", func(p *socialrx.Prescription) { p.Target = "Patient/Jane" }, []pathCode{{"ServiceRequest.performer", "value"}}},
		{"target not a reference", func(p *socialrx.Prescription) { p.Target = "Jane" }, []pathCode{{"ServiceRequest.performer", "value"}}},
		{"warm hand-off without target", func(p *socialrx.Prescription) { p.Target = "" }, []pathCode{{"ServiceRequest.performer", "business-rule"}}},
		{"warm hand-off by self", func(p *socialrx.Prescription) { p.Channel = socialrx.ChannelSelf }, []pathCode{{"ServiceRequest.category", "business-rule"}}},
		{"warm hand-off without channel", func(p *socialrx.Prescription) { p.Channel = "" }, []pathCode{{"ServiceRequest.category", "business-rule"}}},
		{"navigator without target", func(p *socialrx.Prescription) {
			p.Form, p.Target = socialrx.FormNavigator, ""
		}, []pathCode{{"ServiceRequest.performer", "business-rule"}}},
		{"navigator to a Practitioner", func(p *socialrx.Prescription) {
			p.Form, p.Target = socialrx.FormNavigator, "Practitioner/x"
		}, []pathCode{{"ServiceRequest.performer", "value"}}},
		{"unknown channel", func(p *socialrx.Prescription) { p.Channel = "Jane" }, []pathCode{{"ServiceRequest.category", "value"}}},
		{"unknown need", func(p *socialrx.Prescription) {
			p.Needs = []socialrx.NeedDomain{socialrx.DomainFood, "Jane", ""}
		}, []pathCode{{"ServiceRequest.reasonCode", "value"}, {"ServiceRequest.reasonCode", "value"}}},
		{"need ref not a Condition", func(p *socialrx.Prescription) {
			p.NeedRefs = []string{"Observation/o1"}
		}, []pathCode{{"ServiceRequest.reasonReference", "value"}}},
		{"unknown status", func(p *socialrx.Prescription) { p.Status = "Jane" }, []pathCode{{"ServiceRequest.status", "value"}}},
		{"follow-up without due date and channel", func(p *socialrx.Prescription) {
			p.FollowUp.Due, p.FollowUp.Channel = time.Time{}, ""
		}, []pathCode{{"Task.restriction.period.end", "required"}, {"Task.input", "value"}}},
		{"follow-up of another prescription and patient", func(p *socialrx.Prescription) {
			p.FollowUp.PrescriptionID, p.FollowUp.PatientID = "sr2", "p2"
		}, []pathCode{{"Task.focus", "business-rule"}, {"Task.for", "business-rule"}}},
		{"everything wrong at once", func(p *socialrx.Prescription) {
			*p = socialrx.Prescription{Form: socialrx.FormWarmHandoff, Channel: "Jane", Needs: []socialrx.NeedDomain{"x"}, FollowUp: &socialrx.FollowUp{}}
		}, []pathCode{
			{"ServiceRequest.subject", "required"},
			{"ServiceRequest.code", "required"},
			{"ServiceRequest.performer", "business-rule"},
			{"ServiceRequest.category", "value"},
			{"ServiceRequest.reasonCode", "value"},
			{"Task.focus", "required"},
			{"Task.for", "required"},
			{"Task.restriction.period.end", "required"},
			{"Task.input", "value"},
		}},
	}
	for _, tt := range tests {
		p := valid()
		tt.edit(&p)
		err := p.Validate()
		if diff := cmp.Diff(tt.issues, issuesOf(t, err)); diff != "" {
			t.Errorf("%s: Validate issues (-want +got):\n%s", tt.name, diff)
		}
		noPHI(t, tt.name, err, "Jane")
	}
}
