package mapping

import (
	"strings"

	"github.com/socialrx/socialrx"
)

// Screening code tables: which LOINC question (item) belongs to which
// instrument, which need domain it speaks to, and which answers are positive
// by the instrument's own rule. Every row names its source. docs/mapping.md
// prints these tables (TestMappingDoc keeps it in step).
//
// Sources:
//   - HVS: LOINC panel 88121-9 "Hunger Vital Sign [HVS]"; Hager ER et al.,
//     "Development and validity of a 2-item screen to identify families at
//     risk for food insecurity", Pediatrics 2010;126(1):e26-32; Children's
//     HealthWatch, "The Hunger Vital Sign". The SDOH CC IG's
//     SDOHCC-QuestionnaireHungerVitalSign carries the same answer lists.
//   - AHC HRSN: LOINC panel 96777-8; CMS, "The Accountable Health Communities
//     Health-Related Social Needs Screening Tool" (Billioux A et al., NAM
//     Perspectives 2017) and its scoring instructions ("positive answers" per
//     question; safety: HITS sum > 10; mental health: PHQ-2 sum >= 3;
//     physical activity: < 150 minutes a week). Question and answer codes
//     checked against US Core's AHC HRSN examples (HL7/US-Core
//     input/examples-yaml/QuestionnaireResponse-AHC-HRSN-screening-example.yml
//     before commit dee53f007) and loinc.org; see docs/mapping.md,
//     "Verification".
//   - PRAPARE: LOINC panel 93025-5; NACHC et al., "PRAPARE Implementation and
//     Action Toolkit", chapter on data (risk tally). The answer lists are
//     those of the SDOH CC IG's SDOHCC-QuestionnairePRAPARE.

// ruleKind says how an item's answers make a finding positive.
type ruleKind int

const (
	ruleAnswer       ruleKind = iota // positive when the answer row says so
	ruleSumAtLeast                   // positive when the group's scores, summed over the resource, reach threshold
	ruleValueAtLeast                 // a numeric score: positive when the value reaches threshold
	ruleProductBelow                 // positive when the product of the group's values is below threshold
	ruleNotScored                    // recorded, never positive (the rule needs data mapping does not have)
)

// screeningAnswer is one answer (LOINC LA code) of a screening item.
type screeningAnswer struct {
	Code     string
	Display  string
	Positive bool                // for ruleAnswer
	Score    int                 // points for ruleSumAtLeast; the number for ruleProductBelow
	Domain   socialrx.NeedDomain // overrides the item's domain when not ""
}

// screeningItem is one question of a screening instrument.
type screeningItem struct {
	Instrument socialrx.Instrument
	Code       string // LOINC question code
	Display    string
	Domain     socialrx.NeedDomain
	Rule       ruleKind
	Group      string  // ruleSumAtLeast, ruleProductBelow: items that are scored together
	Threshold  float64 // ruleSumAtLeast, ruleValueAtLeast, ruleProductBelow
	Answers    []screeningAnswer
	Source     string
}

// The answer lists shared by several items.
var (
	hvsAnswers = []screeningAnswer{
		{Code: "LA28397-0", Display: "Often true", Positive: true},
		{Code: "LA6729-3", Display: "Sometimes true", Positive: true},
		{Code: "LA28398-8", Display: "Never true"},
		{Code: "LA15775-2", Display: "Don't know/refused"},
	}
	yesPositive = []screeningAnswer{
		{Code: "LA33-6", Display: "Yes", Positive: true},
		{Code: "LA32-8", Display: "No"},
	}
	prapareYesPositive = []screeningAnswer{
		{Code: "LA33-6", Display: "Yes", Positive: true},
		{Code: "LA32-8", Display: "No"},
		{Code: "LA30122-8", Display: "I choose not to answer this question"},
	}
	stressAnswers = []screeningAnswer{
		{Code: "LA6568-5", Display: "Not at all"},
		{Code: "LA13863-8", Display: "A little bit"},
		{Code: "LA13909-9", Display: "Somewhat"},
		{Code: "LA13902-4", Display: "Quite a bit", Positive: true},
		{Code: "LA13914-9", Display: "Very much", Positive: true},
		{Code: "LA30122-8", Display: "I choose not to answer this question"},
	}
	// HITS (Hurt, Insult, Threaten, Scream), 1 to 5 points each.
	hitsAnswers = []screeningAnswer{
		{Code: "LA6270-8", Display: "Never", Score: 1},
		{Code: "LA10066-1", Display: "Rarely", Score: 2},
		{Code: "LA10082-8", Display: "Sometimes", Score: 3},
		{Code: "LA16644-9", Display: "Fairly often", Score: 4},
		{Code: "LA6482-9", Display: "Frequently", Score: 5},
	}
	// PHQ-2, 0 to 3 points each.
	phqAnswers = []screeningAnswer{
		{Code: "LA6568-5", Display: "Not at all", Score: 0},
		{Code: "LA6569-3", Display: "Several days", Score: 1},
		{Code: "LA6570-1", Display: "More than half the days", Score: 2},
		{Code: "LA6571-9", Display: "Nearly every day", Score: 3},
	}
	// AHC physical activity, days a week (89555-7): LOINC codes the
	// answers; Score is the number of days, used for the product rule.
	activityDaysAnswers = []screeningAnswer{
		{Code: "LA6111-4", Display: "0", Score: 0},
		{Code: "LA6112-2", Display: "1", Score: 1},
		{Code: "LA6113-0", Display: "2", Score: 2},
		{Code: "LA6114-8", Display: "3", Score: 3},
		{Code: "LA6115-5", Display: "4", Score: 4},
		{Code: "LA10137-0", Display: "5", Score: 5},
		{Code: "LA10138-8", Display: "6", Score: 6},
		{Code: "LA10139-6", Display: "7", Score: 7},
	}
	// AHC physical activity, minutes a day (68516-4); Score is the minutes
	// ("150 or greater" counts as 150).
	activityMinutesAnswers = []screeningAnswer{
		{Code: "LA6111-4", Display: "0", Score: 0},
		{Code: "LA13942-0", Display: "10", Score: 10},
		{Code: "LA19282-5", Display: "20", Score: 20},
		{Code: "LA28855-7", Display: "30", Score: 30},
		{Code: "LA28858-1", Display: "40", Score: 40},
		{Code: "LA28854-0", Display: "50", Score: 50},
		{Code: "LA28853-2", Display: "60", Score: 60},
		{Code: "LA28891-2", Display: "90", Score: 90},
		{Code: "LA32059-0", Display: "120", Score: 120},
		{Code: "LA32060-8", Display: "150 or greater", Score: 150},
	}
	// AHC substance use frequency: any use is positive.
	substanceAnswers = []screeningAnswer{
		{Code: "LA6270-8", Display: "Never"},
		{Code: "LA26460-8", Display: "Once or twice", Positive: true},
		{Code: "LA18876-5", Display: "Monthly", Positive: true},
		{Code: "LA18891-4", Display: "Weekly", Positive: true},
		{Code: "LA18934-2", Display: "Daily or almost daily", Positive: true},
	}
)

const (
	srcHVS     = "LOINC 88121-9; Hager 2010 (Hunger Vital Sign)"
	srcAHC     = "LOINC 96777-8; CMS AHC HRSN Screening Tool (2017)"
	srcPRAPARE = "LOINC 93025-5; PRAPARE Implementation and Action Toolkit"
)

// screeningItems is the item table, in instrument order. An item code may
// appear under several instruments (71802-3, 88122-7, 88123-5, 93030-5,
// 93038-8) with different answer lists; see lookupItem for how one is
// chosen. Order matters: for a standalone answer that fits several rows the
// first row wins, so the Hunger Vital Sign comes before AHC HRSN.
var screeningItems = []screeningItem{
	// Hunger Vital Sign (LOINC 88121-9). Positive: "Often true" or
	// "Sometimes true" to either item, or 88124-3 "At risk".
	{Instrument: socialrx.InstrumentHungerVitalSign, Code: "88122-7", Display: "Within the past 12 months we worried whether our food would run out before we got money to buy more",
		Domain: socialrx.DomainFood, Answers: hvsAnswers, Source: srcHVS + ", item 1"},
	{Instrument: socialrx.InstrumentHungerVitalSign, Code: "88123-5", Display: "Within the past 12 months the food we bought just didn't last and we didn't have money to get more",
		Domain: socialrx.DomainFood, Answers: hvsAnswers, Source: srcHVS + ", item 2"},
	{Instrument: socialrx.InstrumentHungerVitalSign, Code: "88124-3", Display: "Food insecurity risk [HVS]",
		Domain: socialrx.DomainFood, Answers: []screeningAnswer{
			{Code: "LA19952-3", Display: "At risk", Positive: true},
			{Code: "LA19983-8", Display: "No risk"},
		}, Source: srcHVS + ", result"},

	// PRAPARE (LOINC 93025-5). Positive: the answers PRAPARE's risk tally
	// counts as a risk.
	{Instrument: socialrx.InstrumentPRAPARE, Code: "71802-3", Display: "Housing status",
		Domain: socialrx.DomainHousing, Answers: []screeningAnswer{
			{Code: "LA30189-7", Display: "I have housing"},
			{Code: "LA30190-5", Display: "I do not have housing", Positive: true},
			{Code: "LA30122-8", Display: "I choose not to answer this question"},
		}, Source: srcPRAPARE + ", Q10 housing"},
	{Instrument: socialrx.InstrumentPRAPARE, Code: "93033-9", Display: "Are you worried about losing your housing",
		Domain: socialrx.DomainHousing, Answers: prapareYesPositive, Source: srcPRAPARE + ", Q11 housing stability"},
	{Instrument: socialrx.InstrumentPRAPARE, Code: "93031-3", Display: "Unable to get any of the following when really needed in past 1 year",
		Domain: socialrx.DomainUnspecified, Answers: []screeningAnswer{
			{Code: "LA30125-1", Display: "Food", Positive: true, Domain: socialrx.DomainFood},
			{Code: "LA30126-9", Display: "Clothing", Positive: true, Domain: socialrx.DomainFinances},
			{Code: "LA30124-4", Display: "Utilities", Positive: true, Domain: socialrx.DomainFinances},
			{Code: "LA30127-7", Display: "Child care", Positive: true, Domain: socialrx.DomainChildcare},
			{Code: "LA30128-5", Display: "Medicine or any health care", Positive: true, Domain: socialrx.DomainMedicationCoverage},
			{Code: "LA30129-3", Display: "Phone", Positive: true, Domain: socialrx.DomainFinances},
			{Code: "LA46-8", Display: "Other", Positive: true, Domain: socialrx.DomainUnspecified},
			{Code: "LA30122-8", Display: "I choose not to answer this question"},
		}, Source: srcPRAPARE + ", Q17 material security"},
	{Instrument: socialrx.InstrumentPRAPARE, Code: "93030-5", Display: "Has lack of transportation kept you from medical appointments, meetings, work, or getting things needed",
		Domain: socialrx.DomainDailyLiving, Answers: []screeningAnswer{
			{Code: "LA30133-5", Display: "Yes, it has kept me from medical appointments or from getting my medications", Positive: true},
			{Code: "LA30134-3", Display: "Yes, it has kept me from non-medical meetings, appointments, work, or from getting things that I need", Positive: true},
			{Code: "LA32-8", Display: "No"},
			{Code: "LA30257-2", Display: "Patient unable to respond"},
		}, Source: srcPRAPARE + ", Q18 transportation"},
	{Instrument: socialrx.InstrumentPRAPARE, Code: "93029-7", Display: "How often do you see or talk to people that you care about and feel close to",
		Domain: socialrx.DomainSocialSupport, Answers: []screeningAnswer{
			{Code: "LA27722-0", Display: "Less than once a week", Positive: true},
			{Code: "LA30130-1", Display: "1 or 2 times a week", Positive: true},
			{Code: "LA30131-9", Display: "3 to 5 times a week"},
			{Code: "LA30132-7", Display: "5 or more times a week"},
			{Code: "LA30122-8", Display: "I choose not to answer this question"},
		}, Source: srcPRAPARE + ", Q19 social integration"},
	{Instrument: socialrx.InstrumentPRAPARE, Code: "93038-8", Display: "Stress level",
		Domain: socialrx.DomainMentalHealth, Answers: stressAnswers, Source: srcPRAPARE + ", Q20 stress"},
	{Instrument: socialrx.InstrumentPRAPARE, Code: "67875-5", Display: "Employment status - current",
		Domain: socialrx.DomainFinances, Answers: []screeningAnswer{
			{Code: "LA17956-6", Display: "Unemployed", Positive: true},
			{Code: "LA30138-4", Display: "Part-time or temporary work", Positive: true},
			{Code: "LA30136-8", Display: "Full-time work"},
			{Code: "LA30137-6", Display: "Otherwise unemployed but not seeking work"},
			{Code: "LA30122-8", Display: "I choose not to answer this question"},
		}, Source: srcPRAPARE + ", Q13 employment"},
	{Instrument: socialrx.InstrumentPRAPARE, Code: "76437-3", Display: "Primary insurance",
		Domain: socialrx.DomainMedicationCoverage, Answers: []screeningAnswer{
			{Code: "LA30194-7", Display: "None/uninsured", Positive: true},
			{Code: "LA17849-3", Display: "Medicaid"},
			{Code: "LA30195-4", Display: "CHIP Medicaid"},
			{Code: "LA15652-3", Display: "Medicare"},
			{Code: "LA30196-2", Display: "Other public insurance (not CHIP)"},
			{Code: "LA30197-0", Display: "Other public insurance (CHIP)"},
			{Code: "LA6350-8", Display: "Private insurance"},
		}, Source: srcPRAPARE + ", Q14 insurance"},
	{Instrument: socialrx.InstrumentPRAPARE, Code: "63586-2", Display: "Total income of all family members in the past year",
		Domain: socialrx.DomainFinances, Rule: ruleNotScored, Source: srcPRAPARE + ", Q15 income (needs household size and a poverty line: not scored)"},
	{Instrument: socialrx.InstrumentPRAPARE, Code: "82589-3", Display: "Highest level of education",
		Domain: socialrx.DomainUnspecified, Answers: []screeningAnswer{
			{Code: "LA30191-3", Display: "Less than high school degree", Positive: true},
			{Code: "LA30192-1", Display: "High school diploma or GED"},
			{Code: "LA30193-9", Display: "More than high school"},
			{Code: "LA30122-8", Display: "I choose not to answer this question"},
		}, Source: srcPRAPARE + ", Q12 education"},
	{Instrument: socialrx.InstrumentPRAPARE, Code: "93028-9", Display: "Spent more than 2 nights in a row in a jail, prison, detention center, or juvenile correctional facility in past 1 year",
		Domain: socialrx.DomainUnspecified, Answers: prapareYesPositive, Source: srcPRAPARE + ", optional incarceration"},
	{Instrument: socialrx.InstrumentPRAPARE, Code: "93027-1", Display: "Are you a refugee",
		Domain: socialrx.DomainUnspecified, Answers: prapareYesPositive, Source: srcPRAPARE + ", optional refugee status"},
	{Instrument: socialrx.InstrumentPRAPARE, Code: "93026-3", Display: "Do you feel physically and emotionally safe where you currently live",
		Domain: socialrx.DomainUnspecified, Answers: []screeningAnswer{
			{Code: "LA33-6", Display: "Yes"},
			{Code: "LA32-8", Display: "No", Positive: true},
			{Code: "LA14072-5", Display: "Unsure"},
			{Code: "LA30122-8", Display: "I choose not to answer this question"},
		}, Source: srcPRAPARE + ", optional safety"},
	{Instrument: socialrx.InstrumentPRAPARE, Code: "76501-6", Display: "Within the last year, have you been afraid of your partner or ex-partner",
		Domain: socialrx.DomainUnspecified, Answers: prapareYesPositive, Source: srcPRAPARE + ", optional domestic violence"},

	// AHC HRSN (LOINC 96777-8), core questions.
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "71802-3", Display: "What is your living situation today",
		Domain: socialrx.DomainHousing, Answers: []screeningAnswer{
			{Code: "LA31993-1", Display: "I have a steady place to live"},
			{Code: "LA31994-9", Display: "I have a place to live today, but I am worried about losing it in the future", Positive: true},
			{Code: "LA31995-6", Display: "I do not have a steady place to live", Positive: true},
		}, Source: srcAHC + ", Q1 living situation"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "96778-6", Display: "Think about the place you live. Do you have problems with any of the following",
		Domain: socialrx.DomainHousing, Answers: []screeningAnswer{
			{Code: "LA31996-4", Display: "Pests such as bugs, ants, or mice", Positive: true},
			{Code: "LA28580-1", Display: "Mold", Positive: true},
			{Code: "LA31997-2", Display: "Lead paint or pipes", Positive: true},
			{Code: "LA31998-0", Display: "Lack of heat", Positive: true},
			{Code: "LA31999-8", Display: "Oven or stove not working", Positive: true},
			{Code: "LA32000-4", Display: "Smoke detectors missing or not working", Positive: true},
			{Code: "LA32001-2", Display: "Water leaks", Positive: true},
			{Code: "LA9-3", Display: "None of the above"},
		}, Source: srcAHC + ", Q2 housing quality"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "88122-7", Display: "Within the past 12 months, you worried that your food would run out before you got money to buy more",
		Domain: socialrx.DomainFood, Answers: hvsAnswers, Source: srcAHC + ", Q3 food"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "88123-5", Display: "Within the past 12 months, the food you bought just didn't last and you didn't have money to get more",
		Domain: socialrx.DomainFood, Answers: hvsAnswers, Source: srcAHC + ", Q4 food"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "93030-5", Display: "In the past 12 months, has lack of reliable transportation kept you from medical appointments, meetings, work or from getting things needed for daily living",
		Domain: socialrx.DomainDailyLiving, Answers: yesPositive, Source: srcAHC + ", Q5 transportation"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "96779-4", Display: "In the past 12 months has the electric, gas, oil, or water company threatened to shut off services in your home",
		Domain: socialrx.DomainFinances, Answers: []screeningAnswer{
			{Code: "LA33-6", Display: "Yes", Positive: true},
			{Code: "LA32-8", Display: "No"},
			{Code: "LA32002-0", Display: "Already shut off", Positive: true},
		}, Source: srcAHC + ", Q6 utilities"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "95618-5", Display: "How often does anyone, including family and friends, physically hurt you [HITS]",
		Domain: socialrx.DomainUnspecified, Rule: ruleSumAtLeast, Group: "ahc-safety", Threshold: 11, Answers: hitsAnswers, Source: srcAHC + ", Q7 safety (HITS sum > 10)"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "95617-7", Display: "How often does anyone, including family and friends, insult or talk down to you [HITS]",
		Domain: socialrx.DomainUnspecified, Rule: ruleSumAtLeast, Group: "ahc-safety", Threshold: 11, Answers: hitsAnswers, Source: srcAHC + ", Q8 safety (HITS sum > 10)"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "95616-9", Display: "How often does anyone, including family and friends, threaten you with harm [HITS]",
		Domain: socialrx.DomainUnspecified, Rule: ruleSumAtLeast, Group: "ahc-safety", Threshold: 11, Answers: hitsAnswers, Source: srcAHC + ", Q9 safety (HITS sum > 10)"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "95615-1", Display: "How often does anyone, including family and friends, scream or curse at you [HITS]",
		Domain: socialrx.DomainUnspecified, Rule: ruleSumAtLeast, Group: "ahc-safety", Threshold: 11, Answers: hitsAnswers, Source: srcAHC + ", Q10 safety (HITS sum > 10)"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "95614-4", Display: "Total score [HITS]",
		Domain: socialrx.DomainUnspecified, Rule: ruleValueAtLeast, Threshold: 11, Source: srcAHC + ", safety total (> 10)"},

	// AHC HRSN supplemental questions.
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "76513-1", Display: "How hard is it for you to pay for the very basics like food, housing, medical care, and heating",
		Domain: socialrx.DomainFinances, Answers: []screeningAnswer{
			{Code: "LA15832-1", Display: "Very hard", Positive: true},
			{Code: "LA22683-9", Display: "Somewhat hard", Positive: true},
			{Code: "LA31980-8", Display: "Not hard at all"},
		}, Source: srcAHC + ", Q11 financial strain"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "96780-2", Display: "Do you want help finding or keeping work or a job",
		Domain: socialrx.DomainFinances, Answers: []screeningAnswer{
			{Code: "LA31981-6", Display: "Yes, help finding work", Positive: true},
			{Code: "LA31982-4", Display: "Yes, help keeping work", Positive: true},
			{Code: "LA31983-2", Display: "I do not need or want help"},
		}, Source: srcAHC + ", Q12 employment"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "96781-0", Display: "If for any reason you need help with day-to-day activities such as bathing, preparing meals, shopping, managing finances, etc., do you get the help you need",
		Domain: socialrx.DomainDailyLiving, Answers: []screeningAnswer{
			{Code: "LA31976-6", Display: "I don't need any help"},
			{Code: "LA31977-4", Display: "I get all the help I need"},
			{Code: "LA31978-2", Display: "I could use a little more help", Positive: true},
			{Code: "LA31979-0", Display: "I need a lot more help", Positive: true},
		}, Source: srcAHC + ", Q13 family and community support"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "93159-2", Display: "How often do you feel lonely or isolated from those around you",
		Domain: socialrx.DomainSocialSupport, Answers: []screeningAnswer{
			{Code: "LA6270-8", Display: "Never"},
			{Code: "LA10066-1", Display: "Rarely"},
			{Code: "LA10082-8", Display: "Sometimes"},
			{Code: "LA10044-8", Display: "Often", Positive: true},
			{Code: "LA9933-8", Display: "Always", Positive: true},
		}, Source: srcAHC + ", Q14 family and community support (loneliness)"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "96782-8", Display: "Do you want help with school or training",
		Domain: socialrx.DomainUnspecified, Answers: yesPositive, Source: srcAHC + ", Q15 education"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "89555-7", Display: "How often do you do moderate to strenuous exercise, like a brisk walk [days/week]",
		Domain: socialrx.DomainPhysicalActivity, Rule: ruleProductBelow, Group: "ahc-activity", Threshold: 150, Answers: activityDaysAnswers, Source: srcAHC + ", Q16 physical activity (days x minutes < 150)"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "68516-4", Display: "On those days that you engage in moderate to strenuous exercise, how many minutes, on average, do you exercise",
		Domain: socialrx.DomainPhysicalActivity, Rule: ruleProductBelow, Group: "ahc-activity", Threshold: 150, Answers: activityMinutesAnswers, Source: srcAHC + ", Q17 physical activity (days x minutes < 150)"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "68517-2", Display: "How many times in the past 12 months have you had 5 or more drinks in a day (males) or 4 or more drinks in a day (females)",
		Domain: socialrx.DomainMentalHealth, Answers: substanceAnswers, Source: srcAHC + ", Q18 substance use (alcohol)"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "96842-0", Display: "How often have you used any tobacco product in past 12 months",
		Domain: socialrx.DomainMentalHealth, Answers: substanceAnswers, Source: srcAHC + ", Q19 substance use (tobacco)"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "95530-2", Display: "How many times in the past year have you used prescription drugs for non-medical reasons",
		Domain: socialrx.DomainMentalHealth, Answers: substanceAnswers, Source: srcAHC + ", Q20 substance use (prescription drugs)"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "68524-8", Display: "How many times in the past year have you used illegal drugs",
		Domain: socialrx.DomainMentalHealth, Answers: substanceAnswers, Source: srcAHC + ", Q21 substance use (illegal drugs)"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "44250-9", Display: "Little interest or pleasure in doing things [PHQ-2]",
		Domain: socialrx.DomainMentalHealth, Rule: ruleSumAtLeast, Group: "ahc-phq2", Threshold: 3, Answers: phqAnswers, Source: srcAHC + ", Q22 mental health (PHQ-2 sum >= 3)"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "44255-8", Display: "Feeling down, depressed, or hopeless [PHQ-2]",
		Domain: socialrx.DomainMentalHealth, Rule: ruleSumAtLeast, Group: "ahc-phq2", Threshold: 3, Answers: phqAnswers, Source: srcAHC + ", Q23 mental health (PHQ-2 sum >= 3)"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "55758-7", Display: "Patient Health Questionnaire 2 item (PHQ-2) total score",
		Domain: socialrx.DomainMentalHealth, Rule: ruleValueAtLeast, Threshold: 3, Source: srcAHC + ", mental health total (PHQ-2 >= 3)"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "93038-8", Display: "Stress level",
		Domain: socialrx.DomainMentalHealth, Answers: stressAnswers, Source: srcAHC + ", Q24 stress"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "69858-9", Display: "Because of a physical, mental, or emotional condition, do you have serious difficulty concentrating, remembering, or making decisions",
		Domain: socialrx.DomainDailyLiving, Answers: yesPositive, Source: srcAHC + ", Q25 disabilities"},
	{Instrument: socialrx.InstrumentAHCHRSN, Code: "69861-3", Display: "Because of a physical, mental, or emotional condition, do you have difficulty doing errands alone such as visiting a doctor's office or shopping",
		Domain: socialrx.DomainDailyLiving, Answers: yesPositive, Source: srcAHC + ", Q26 disabilities"},
}

// screeningPanel is a LOINC panel (or a section of one) that names the
// instrument of the items under it.
type screeningPanel struct {
	Code       string
	Display    string
	Instrument socialrx.Instrument
	Source     string
}

var screeningPanels = []screeningPanel{
	{Code: "88121-9", Display: "Hunger Vital Sign [HVS]", Instrument: socialrx.InstrumentHungerVitalSign, Source: srcHVS},
	{Code: "96777-8", Display: "Accountable health communities (AHC) health-related social needs screening (HRSN) tool", Instrument: socialrx.InstrumentAHCHRSN, Source: srcAHC},
	{Code: "97023-6", Display: "Accountable health communities (AHC) health-related social needs (HRSN) supplemental questions", Instrument: socialrx.InstrumentAHCHRSN, Source: srcAHC + ", supplemental panel"},
	{Code: "93025-5", Display: "Protocol for Responding to and Assessing Patients' Assets, Risks, and Experiences [PRAPARE]", Instrument: socialrx.InstrumentPRAPARE, Source: srcPRAPARE},
	{Code: "93043-8", Display: "Personal characteristics [PRAPARE]", Instrument: socialrx.InstrumentPRAPARE, Source: srcPRAPARE + ", section (SDOHCC-QuestionnairePRAPARE)"},
	{Code: "93042-0", Display: "Family and home [PRAPARE]", Instrument: socialrx.InstrumentPRAPARE, Source: srcPRAPARE + ", section (SDOHCC-QuestionnairePRAPARE)"},
	{Code: "93041-2", Display: "Money and resources [PRAPARE]", Instrument: socialrx.InstrumentPRAPARE, Source: srcPRAPARE + ", section (SDOHCC-QuestionnairePRAPARE)"},
	{Code: "93040-4", Display: "Social and emotional health [PRAPARE]", Instrument: socialrx.InstrumentPRAPARE, Source: srcPRAPARE + ", section (SDOHCC-QuestionnairePRAPARE)"},
	{Code: "93039-6", Display: "Optional additional questions [PRAPARE]", Instrument: socialrx.InstrumentPRAPARE, Source: srcPRAPARE + ", section (SDOHCC-QuestionnairePRAPARE)"},
}

// screeningQuestionnaires maps Questionnaire canonicals (without
// |version) to instruments. A canonical not listed here whose last path
// segment is a panel code of screeningPanels (e.g. ".../Questionnaire/93025-5")
// names that panel's instrument.
var screeningQuestionnaires = []struct {
	URL        string
	Instrument socialrx.Instrument
	Source     string
}{
	{URL: "http://hl7.org/fhir/us/sdoh-clinicalcare/Questionnaire/SDOHCC-QuestionnaireHungerVitalSign", Instrument: socialrx.InstrumentHungerVitalSign, Source: "SDOH CC IG STU 2.3"},
	{URL: "http://hl7.org/fhir/us/sdoh-clinicalcare/Questionnaire/SDOHCC-QuestionnairePRAPARE", Instrument: socialrx.InstrumentPRAPARE, Source: "SDOH CC IG STU 2.3"},
}

// Indexes over the tables, built once; never changed.
var (
	itemsByCode  = indexItems(screeningItems)
	panelsByCode = indexPanels(screeningPanels)
)

func indexItems(items []screeningItem) map[string][]*screeningItem {
	m := make(map[string][]*screeningItem)
	for i := range items {
		m[items[i].Code] = append(m[items[i].Code], &items[i])
	}
	return m
}

func indexPanels(panels []screeningPanel) map[string]socialrx.Instrument {
	m := make(map[string]socialrx.Instrument, len(panels))
	for _, p := range panels {
		m[p.Code] = p.Instrument
	}
	return m
}

// lookupItem returns the row for a LOINC question code, or nil when socialrx
// does not know the code. Among the rows of the code it prefers the one of
// instrument ctx (the panel or Questionnaire the item came in), then the
// first whose answer list holds answer, then the first.
func lookupItem(code string, ctx socialrx.Instrument, answer string) *screeningItem {
	rows := itemsByCode[code]
	if len(rows) == 0 {
		return nil
	}
	if ctx != "" {
		for _, r := range rows {
			if r.Instrument == ctx {
				return r
			}
		}
	}
	if answer != "" {
		for _, r := range rows {
			if r.answer(answer) != nil {
				return r
			}
		}
	}
	return rows[0]
}

// answer returns the answer row of code, or nil.
func (it *screeningItem) answer(code string) *screeningAnswer {
	for i := range it.Answers {
		if it.Answers[i].Code == code {
			return &it.Answers[i]
		}
	}
	return nil
}

// groupSize is the number of items of it's instrument in its group.
func (it *screeningItem) groupSize() int {
	n := 0
	for _, r := range screeningItems {
		if r.Instrument == it.Instrument && r.Group == it.Group {
			n++
		}
	}
	return n
}

// panelInstrument returns the instrument of a LOINC panel or section code.
func panelInstrument(code string) socialrx.Instrument { return panelsByCode[code] }

// questionnaireInstrument returns the instrument of a Questionnaire
// canonical, or "".
func questionnaireInstrument(canonical string) socialrx.Instrument {
	url, _, _ := strings.Cut(canonical, "|")
	for _, q := range screeningQuestionnaires {
		if q.URL == url {
			return q.Instrument
		}
	}
	if i := strings.LastIndexByte(url, '/'); i >= 0 {
		return panelInstrument(url[i+1:])
	}
	return ""
}

// isLOINCCode reports whether s has the syntax of a LOINC code: digits, a
// hyphen and one check digit (e.g. "88122-7").
func isLOINCCode(s string) bool {
	num, check, ok := strings.Cut(s, "-")
	if !ok || len(num) == 0 || len(num) > 7 || len(check) != 1 {
		return false
	}
	for _, c := range num + check {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
