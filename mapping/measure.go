package mapping

import (
	"encoding/json"
	"math"
	"slices"
	"time"

	"github.com/socialrx/socialrx"
)

// The program report as FHIR: socialrx ships two Measures (R4 Measure,
// http://hl7.org/fhir/R4/measure.html), seeded at start-up like the
// follow-up Questionnaire, and answers $evaluate-measure on them with a
// summary MeasureReport computed from socialrx.ProgramReport:
//
//	social-prescribing-effectiveness  proportion; groups pursued,
//	    wellbeing-improved and referral-accepted, each stratified by
//	    program and by need domain
//	    (and the shares of referrals rejected and completed)
//	social-prescribing-experience     continuous-variable; mean
//	    satisfaction (1-5) and median days to first contact, stratified
//	    the same way
//	ohip-billed-visits                cohort; visits billed under the OHIP
//	    fee codes, stratified by code
//
// R4 gives a Measure one scoring, so the continuous values (a mean, a
// median) are a Measure of their own; the aggregate (average, median) is
// named by the cqfm-aggregateMethod extension, as the Quality Measure IG
// does for R4.

// MeasureBase is the canonical base of socialrx's Measures.
const MeasureBase = "http://socialrx.dev/fhir/Measure/"

// MeasureVersion is the version of the shipped Measures.
//
// 1.1.0 added the referral-rejected and referral-completed groups and the
// experience Measure; 1.2.0 leaves socialrx's own consent hold out of
// referral-accepted and of the first contact (the program never answered it);
// 1.3.0 counts a referral, in the program strata, for the program it was
// sent to (Task.owner) rather than the prescription's performer now, and
// leaves entered-in-error prescriptions and referral Tasks out and a
// revoked prescription's follow-up answers; 1.4.0 leaves draft
// prescriptions out (socialrx's own try-alternative suggestion until the
// clinician activates it).
const MeasureVersion = "1.4.0"

// The ids of the shipped Measures.
const (
	MeasureEffectiveness = "social-prescribing-effectiveness"
	MeasureExperience    = "social-prescribing-experience"
	MeasureBilledVisits  = "ohip-billed-visits"
)

// aggregateMethodURL is the extension naming how a continuous-variable
// group's observations are aggregated (average, median, ...).
const aggregateMethodURL = "http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/cqfm-aggregateMethod"

const (
	measurePopulationSystem = "http://terminology.hl7.org/CodeSystem/measure-population"
	measureScoringSystem    = "http://terminology.hl7.org/CodeSystem/measure-scoring"
	measureGroupSystem      = socialrx.CodeSystemBase + "measure-group"
	measureStratifierSystem = socialrx.CodeSystemBase + "measure-stratifier"
)

// measureGroupDef is one group of the effectiveness Measure, and how its
// populations are counted from a group's ReportStats.
type measureGroupDef struct {
	Code, Display, Description string
	InitialPop, Denominator    string // criteria, in words
	Numerator                  string
	// The FHIRPath of the element each criterion turns on.
	InitialPath, DenominatorPath, NumeratorPath string
	counts                                      func(socialrx.ReportStats) (initial, denominator, numerator int)
}

var effectivenessGroups = []measureGroupDef{
	{Code: "pursued", Display: "Pursued the prescribed support",
		Description: "Of the social prescriptions authored in the period with an answered follow-up, those whose latest follow-up says the person pursued the support (yes or partly).",
		InitialPop:  "Social prescriptions (social ServiceRequests) authored in the measurement period, neither draft nor entered-in-error.",
		Denominator: "Those with an answered follow-up (a completed or amended QuestionnaireResponse to the follow-up Questionnaire), not revoked.",
		Numerator:   "Those whose latest answered follow-up has pursued = yes or partly.",
		InitialPath: "ServiceRequest.authoredOn", DenominatorPath: "QuestionnaireResponse.status", NumeratorPath: "QuestionnaireResponse.item.where(linkId = 'pursued').answer.value",
		counts: func(s socialrx.ReportStats) (int, int, int) { return s.Prescriptions, s.FollowedUp, s.Pursued }},
	{Code: "wellbeing-improved", Display: "Well-being improved",
		Description: "Of the social prescriptions authored in the period whose latest follow-up answered the well-being question, those where it was better.",
		InitialPop:  "Social prescriptions authored in the measurement period, neither draft nor entered-in-error.",
		Denominator: "Those whose latest answered follow-up answers wellbeing.",
		Numerator:   "Those where wellbeing = better.",
		InitialPath: "ServiceRequest.authoredOn", DenominatorPath: "QuestionnaireResponse.item.where(linkId = 'wellbeing').answer.value", NumeratorPath: "QuestionnaireResponse.item.where(linkId = 'wellbeing').answer.value",
		counts: func(s socialrx.ReportStats) (int, int, int) { return s.Prescriptions, s.WellbeingN, s.Improved }},
	referralGroup("referral-accepted", "Referral taken on by the program", "took on", "accepted, on-hold, in-progress or completed (not on-hold for the patient's consent by socialrx, unless the program had answered it before)",
		func(s socialrx.ReportStats) int { return s.Accepted }),
	referralGroup("referral-rejected", "Referral declined by the program", "declined", "rejected",
		func(s socialrx.ReportStats) int { return s.Rejected }),
	referralGroup("referral-completed", "Referral completed", "completed", "completed",
		func(s socialrx.ReportStats) int { return s.Completed }),
}

// referralGroup is a group over the referral Tasks of the period's
// prescriptions whose numerator is those the program did something to
// (did, in words), by their status now (statuses, in words).
func referralGroup(code, display, did, statuses string, numerator func(socialrx.ReportStats) int) measureGroupDef {
	return measureGroupDef{Code: code, Display: display,
		Description: "Of the referrals (referral Tasks) of the social prescriptions authored in the period, those the program " + did + ": status now " + statuses + ". By program, a referral counts for the program it was sent to (Task.owner).",
		InitialPop:  "Referral Tasks, not entered-in-error, of social prescriptions authored in the measurement period (neither draft nor entered-in-error).",
		Denominator: "All of them.",
		Numerator:   "Those whose status is " + statuses + ".",
		InitialPath: "Task.focus", DenominatorPath: "Task.focus", NumeratorPath: "Task.status",
		counts: func(s socialrx.ReportStats) (int, int, int) { return s.Referrals, s.Referrals, numerator(s) }}
}

// continuousGroupDef is one group of the experience Measure: a value per
// prescription (its observation), aggregated over the prescriptions that
// have one (the measure population).
type continuousGroupDef struct {
	Code, Display, Description string
	InitialPop                 string // criteria, in words
	MeasurePop, Observation    string
	MeasurePopPath, ObsPath    string
	// initial is the group's initial population.
	initial        func(socialrx.ReportStats) int
	Aggregate      string // cqfm-aggregateMethod: average, median
	Unit, UnitCode string // UCUM
	// score is the group's count in the measure population and its
	// aggregate; ok is false when the population is empty.
	score func(socialrx.ReportStats) (n int, value float64, ok bool)
}

var experienceGroups = []continuousGroupDef{
	{Code: "satisfaction", Display: "Mean satisfaction (1-5)",
		Description:    "Over the social prescriptions authored in the period whose latest answered follow-up rates satisfaction, the mean rating (1 not at all satisfied to 5 very satisfied).",
		InitialPop:     "Social prescriptions (social ServiceRequests) authored in the measurement period, neither draft nor entered-in-error.",
		initial:        func(s socialrx.ReportStats) int { return s.Prescriptions },
		MeasurePop:     "Social prescriptions whose latest answered follow-up answers satisfaction.",
		Observation:    "The satisfaction rating (1-5) of that follow-up.",
		MeasurePopPath: "QuestionnaireResponse.item.where(linkId = 'satisfaction').answer.value", ObsPath: "QuestionnaireResponse.item.where(linkId = 'satisfaction').answer.value",
		Aggregate: "average", Unit: "score", UnitCode: "{score}",
		score: func(s socialrx.ReportStats) (int, float64, bool) {
			m, ok := s.MeanSatisfaction()
			return s.SatisfactionN, m, ok
		}},
	{Code: "days-to-first-contact", Display: "Median days to first contact",
		Description:    "Over the social prescriptions authored in the period whose referral the program answered (accepted, declined, put on hold, started or completed), the median number of days from authoredOn to the program's first answer. By program, the first answer of that program's referrals (Task.owner).",
		InitialPop:     "Social prescriptions authored in the measurement period, neither draft nor entered-in-error, with a referral Task (not entered-in-error); by program, with a referral Task sent to (owned by) that program.",
		initial:        func(s socialrx.ReportStats) int { return s.Referred },
		MeasurePop:     "Social prescriptions with a referral Task the program answered.",
		Observation:    "Days from ServiceRequest.authoredOn to the first change of a referral Task to a status the program sets.",
		MeasurePopPath: "Task.status", ObsPath: "Task.lastModified",
		Aggregate: "median", Unit: "days", UnitCode: "d",
		score: func(s socialrx.ReportStats) (int, float64, bool) {
			return s.Contacted, s.MedianDaysToContact, s.Contacted > 0
		}},
}

type expression struct {
	Description string `json:"description,omitempty"`
	Language    string `json:"language"`
	Expression  string `json:"expression,omitempty"`
}

type measurePopulation struct {
	Extension   []extensionCode     `json:"extension,omitempty"`
	Code        codeableConceptJSON `json:"code"`
	Description string              `json:"description,omitempty"`
	Criteria    expression          `json:"criteria"`
}

type extensionCode struct {
	URL       string `json:"url"`
	ValueCode string `json:"valueCode"`
}

type measureStratifier struct {
	Code        codeableConceptJSON `json:"code"`
	Description string              `json:"description,omitempty"`
	Criteria    expression          `json:"criteria"`
}

type measureGroup struct {
	Code        codeableConceptJSON `json:"code"`
	Description string              `json:"description,omitempty"`
	Population  []measurePopulation `json:"population"`
	Stratifier  []measureStratifier `json:"stratifier,omitempty"`
}

type codeableConceptJSON struct {
	Coding []codingJSON `json:"coding,omitempty"`
	Text   string       `json:"text,omitempty"`
}

type measureJSON struct {
	ResourceType string              `json:"resourceType"`
	ID           string              `json:"id"`
	URL          string              `json:"url"`
	Version      string              `json:"version"`
	Name         string              `json:"name"`
	Title        string              `json:"title"`
	Status       string              `json:"status"`
	Experimental bool                `json:"experimental"`
	Publisher    string              `json:"publisher"`
	Description  string              `json:"description"`
	Scoring      codeableConceptJSON `json:"scoring"`
	Group        []measureGroup      `json:"group"`
}

func cc(system, code, display string) codeableConceptJSON {
	return codeableConceptJSON{Coding: []codingJSON{{System: system, Code: code, Display: display}}}
}

// criteria is a criteria Expression: the rule in words, and the FHIRPath
// of the element it turns on. socialrx computes the populations itself
// (adapter/internal/sqlstore/report.go, the definitions in
// docs/mapping.md); the expression is not run.
func criteria(words, path string) expression {
	return expression{Description: words, Language: "text/fhirpath", Expression: path}
}

func population(code, display, words, path string) measurePopulation {
	return measurePopulation{Code: cc(measurePopulationSystem, code, display), Criteria: criteria(words, path)}
}

var (
	stratifierProgram = measureStratifier{Code: cc(measureStratifierSystem, "program", "Program"),
		Description: "The program prescribed: ServiceRequest.performer (a HealthcareService, Organization or PractitionerRole); none for a prescription without one.",
		Criteria:    criteria("The ServiceRequest's performer.", "ServiceRequest.performer")}
	stratifierNeed = measureStratifier{Code: cc(measureStratifierSystem, "need-domain", "Need domain"),
		Description: "The prescription's need domains (" + socialrx.CodeSystemBase + "need-domain): a prescription for two counts in both.",
		Criteria:    criteria("The need domains socialrx derived for the ServiceRequest (its $prescription needDomain).", "ServiceRequest.category")}
	stratifierCode = measureStratifier{Code: cc(measureStratifierSystem, "ohip-fee-code", "OHIP fee code"),
		Description: "The OHIP fee code billed (" + socialrx.OHIPFeeCodeSystem + ").",
		Criteria:    criteria("The fee code billed.", "ChargeItem.code")}
)

// Measures returns the shipped Measure resources (JSON), by id.
func Measures() [][]byte {
	eff := measureJSON{ResourceType: "Measure", ID: MeasureEffectiveness, URL: MeasureBase + MeasureEffectiveness, Version: MeasureVersion,
		Name: "SocialPrescribingEffectiveness", Title: "Social prescribing: what works", Status: "active", Publisher: "socialrx",
		Description: "Per program and per need domain, over the social prescriptions authored in the period: the share pursued, the share whose well-being improved, and the share of referrals the program took on (the Ontario guide's follow-up questions). Evaluate with $evaluate-measure?periodStart=&periodEnd=.",
		Scoring:     cc(measureScoringSystem, "proportion", "Proportion")}
	for _, g := range effectivenessGroups {
		eff.Group = append(eff.Group, measureGroup{Code: cc(measureGroupSystem, g.Code, g.Display), Description: g.Description,
			Population: []measurePopulation{
				population("initial-population", "Initial Population", g.InitialPop, g.InitialPath),
				population("denominator", "Denominator", g.Denominator, g.DenominatorPath),
				population("numerator", "Numerator", g.Numerator, g.NumeratorPath)},
			Stratifier: []measureStratifier{stratifierProgram, stratifierNeed}})
	}
	exp := measureJSON{ResourceType: "Measure", ID: MeasureExperience, URL: MeasureBase + MeasureExperience, Version: MeasureVersion,
		Name: "SocialPrescribingExperience", Title: "Social prescribing: satisfaction and time to first contact", Status: "active", Publisher: "socialrx",
		Description: "Per program and per need domain, over the social prescriptions authored in the period: the mean satisfaction people gave at follow-up, and the median days until the program first answered the referral. Evaluate with $evaluate-measure?periodStart=&periodEnd=.",
		Scoring:     cc(measureScoringSystem, "continuous-variable", "Continuous Variable")}
	for _, g := range experienceGroups {
		obs := population("measure-observation", "Measure Observation", g.Observation, g.ObsPath)
		obs.Extension = []extensionCode{{URL: aggregateMethodURL, ValueCode: g.Aggregate}}
		exp.Group = append(exp.Group, measureGroup{Code: cc(measureGroupSystem, g.Code, g.Display), Description: g.Description,
			Population: []measurePopulation{
				population("initial-population", "Initial Population", g.InitialPop, "ServiceRequest.authoredOn"),
				population("measure-population", "Measure Population", g.MeasurePop, g.MeasurePopPath),
				obs},
			Stratifier: []measureStratifier{stratifierProgram, stratifierNeed}})
	}
	billed := measureJSON{ResourceType: "Measure", ID: MeasureBilledVisits, URL: MeasureBase + MeasureBilledVisits, Version: MeasureVersion,
		Name: "OHIPBilledVisits", Title: "Visits billed under OHIP fee codes", Status: "active", Publisher: "socialrx",
		Description: "Visits billed in the period under the OHIP fee codes the Ontario guide names for social prescribing (ChargeItems with a code of " + socialrx.OHIPFeeCodeSystem + ", status billable or billed, occurrence in the period), by code. socialrx submits no claims.",
		Scoring:     cc(measureScoringSystem, "cohort", "Cohort"),
		Group: []measureGroup{{Code: cc(measureGroupSystem, "billed-visits", "Billed visits"),
			Population: []measurePopulation{population("initial-population", "Initial Population",
				"ChargeItems with an OHIP fee code, status billable or billed, whose occurrence (else enteredDate) is in the measurement period.", "ChargeItem.occurrence")},
			Stratifier: []measureStratifier{stratifierCode}}}}
	return [][]byte{mustJSON(eff), mustJSON(exp), mustJSON(billed)}
}

// MeasureIDs are the ids of the shipped Measures.
var MeasureIDs = []string{MeasureEffectiveness, MeasureExperience, MeasureBilledVisits}

// IsMeasure reports whether id is one of the shipped Measures.
func IsMeasure(id string) bool { return slices.Contains(MeasureIDs, id) }

// The MeasureReport's JSON shapes (R4 MeasureReport).
type scoreJSON struct {
	Value  json.Number `json:"value"`
	Unit   string      `json:"unit,omitempty"`
	System string      `json:"system,omitempty"`
	Code   string      `json:"code,omitempty"`
}

type reportPopulation struct {
	Code  codeableConceptJSON `json:"code"`
	Count int                 `json:"count"`
}

type reportStratum struct {
	Value        codeableConceptJSON `json:"value"`
	Population   []reportPopulation  `json:"population"`
	MeasureScore *scoreJSON          `json:"measureScore,omitempty"`
}

type reportStratifier struct {
	Code    []codeableConceptJSON `json:"code"`
	Stratum []reportStratum       `json:"stratum,omitempty"`
}

type reportGroup struct {
	Code         codeableConceptJSON `json:"code"`
	Population   []reportPopulation  `json:"population"`
	MeasureScore *scoreJSON          `json:"measureScore,omitempty"`
	Stratifier   []reportStratifier  `json:"stratifier,omitempty"`
}

type periodJSON struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type measureReportJSON struct {
	ResourceType string        `json:"resourceType"`
	Status       string        `json:"status"`
	Type         string        `json:"type"`
	Measure      string        `json:"measure"`
	Date         string        `json:"date"`
	Reporter     *reference    `json:"reporter,omitempty"`
	Period       periodJSON    `json:"period"`
	Group        []reportGroup `json:"group"`
}

func pops(initial, denominator, numerator int, proportion bool) ([]reportPopulation, *scoreJSON) {
	p := []reportPopulation{{Code: cc(measurePopulationSystem, "initial-population", "Initial Population"), Count: initial}}
	if !proportion {
		return p, nil
	}
	p = append(p, reportPopulation{Code: cc(measurePopulationSystem, "denominator", "Denominator"), Count: denominator},
		reportPopulation{Code: cc(measurePopulationSystem, "numerator", "Numerator"), Count: numerator})
	if denominator == 0 {
		return p, nil
	}
	return p, &scoreJSON{Value: measureScore(numerator, denominator)}
}

// measureScore is n/d as a decimal with four places ("0.6667").
func measureScore(n, d int) json.Number { return decimal4(float64(n) / float64(d)) }

// decimal4 is v rounded to four decimal places, as a JSON number.
func decimal4(v float64) json.Number {
	b, _ := json.Marshal(math.Round(v*10000) / 10000)
	return json.Number(b)
}

// continuousPops are a continuous-variable group's populations (initial
// population: the prescriptions, or for days to first contact those
// referred; measure population: those with a value)
// and its score, the aggregate as a UCUM Quantity.
func continuousPops(g continuousGroupDef, s socialrx.ReportStats) ([]reportPopulation, *scoreJSON) {
	n, v, ok := g.score(s)
	p := []reportPopulation{{Code: cc(measurePopulationSystem, "initial-population", "Initial Population"), Count: g.initial(s)},
		{Code: cc(measurePopulationSystem, "measure-population", "Measure Population"), Count: n}}
	if !ok {
		return p, nil
	}
	return p, &scoreJSON{Value: decimal4(v), Unit: g.Unit, System: "http://unitsofmeasure.org", Code: g.UnitCode}
}

// programValue is a program stratum's value: the program's reference as
// code and its name as display and text; "none" for prescriptions
// without a program.
func programValue(s socialrx.ReportStats) codeableConceptJSON {
	if s.Key == "" {
		return codeableConceptJSON{Coding: []codingJSON{{System: measureStratifierSystem, Code: "none", Display: "No program"}}, Text: "No program"}
	}
	name := s.Name
	if name == "" {
		name = s.Key
	}
	return codeableConceptJSON{Coding: []codingJSON{{Code: s.Key, Display: name}}, Text: name}
}

// needValue is a need-domain stratum's value.
func needValue(s socialrx.ReportStats) codeableConceptJSON {
	return cc(socialrx.CodeSystemBase+"need-domain", s.Key, socialrx.NeedDomain(s.Key).Display())
}

// EvaluateMeasure answers $evaluate-measure on the shipped Measure id
// with a summary MeasureReport (status complete) over the report rep
// (rep.From and rep.To the period; period.end is shown as the last
// instant before rep.To), dated now. The caller checks that id is a
// shipped Measure (IsMeasure).
func EvaluateMeasure(id string, rep *socialrx.ProgramReport, now time.Time) []byte {
	mr := measureReportJSON{ResourceType: "MeasureReport", Status: "complete", Type: "summary",
		Measure: MeasureBase + id + "|" + MeasureVersion, Date: now.UTC().Format(time.RFC3339),
		Period: periodJSON{Start: rep.From.UTC().Format(time.RFC3339), End: rep.To.Add(-time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z07:00")}}
	switch id {
	case MeasureBilledVisits:
		total := 0
		st := reportStratifier{Code: []codeableConceptJSON{stratifierCode.Code}}
		for _, b := range rep.Billed {
			total += b.Visits
			display := ""
			for _, c := range socialrx.OHIPFeeCodes() {
				if c.Code == b.Code {
					display = c.Display
				}
			}
			p, _ := pops(b.Visits, 0, 0, false)
			st.Stratum = append(st.Stratum, reportStratum{Value: cc(socialrx.OHIPFeeCodeSystem, b.Code, display), Population: p})
		}
		p, _ := pops(total, 0, 0, false)
		mr.Group = []reportGroup{{Code: cc(measureGroupSystem, "billed-visits", "Billed visits"), Population: p, Stratifier: []reportStratifier{st}}}
	case MeasureExperience:
		for _, g := range experienceGroups {
			p, sc := continuousPops(g, rep.Total)
			rg := reportGroup{Code: cc(measureGroupSystem, g.Code, g.Display), Population: p, MeasureScore: sc}
			prog := reportStratifier{Code: []codeableConceptJSON{stratifierProgram.Code}}
			for _, s := range rep.Programs {
				p, sc := continuousPops(g, s)
				prog.Stratum = append(prog.Stratum, reportStratum{Value: programValue(s), Population: p, MeasureScore: sc})
			}
			need := reportStratifier{Code: []codeableConceptJSON{stratifierNeed.Code}}
			for _, s := range rep.Needs {
				p, sc := continuousPops(g, s)
				need.Stratum = append(need.Stratum, reportStratum{Value: needValue(s), Population: p, MeasureScore: sc})
			}
			rg.Stratifier = []reportStratifier{prog, need}
			mr.Group = append(mr.Group, rg)
		}
	default:
		for _, g := range effectivenessGroups {
			i, d, n := g.counts(rep.Total)
			p, sc := pops(i, d, n, true)
			rg := reportGroup{Code: cc(measureGroupSystem, g.Code, g.Display), Population: p, MeasureScore: sc}
			prog := reportStratifier{Code: []codeableConceptJSON{stratifierProgram.Code}}
			for _, s := range rep.Programs {
				i, d, n := g.counts(s)
				p, sc := pops(i, d, n, true)
				prog.Stratum = append(prog.Stratum, reportStratum{Value: programValue(s), Population: p, MeasureScore: sc})
			}
			need := reportStratifier{Code: []codeableConceptJSON{stratifierNeed.Code}}
			for _, s := range rep.Needs {
				i, d, n := g.counts(s)
				p, sc := pops(i, d, n, true)
				need.Stratum = append(need.Stratum, reportStratum{Value: needValue(s), Population: p, MeasureScore: sc})
			}
			rg.Stratifier = []reportStratifier{prog, need}
			mr.Group = append(mr.Group, rg)
		}
	}
	return mustJSON(mr)
}
