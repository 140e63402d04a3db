package socialrx

// An answered follow-up (a QuestionnaireResponse to FollowUpQuestionnaire)
// becomes an Outcome: what the person said, the scale scores socialrx
// computes from the answers, and what happens next. The decisions are pure
// and table-tested here (outcome_test.go); adapter/workflow records them
// (Observations, the follow-up Task completed, the Goal, a draft
// alternative prescription, the write-back to the EMR) in the transaction
// that stores the response.
//
//	FollowUpAnswers ──DecideOutcome──> Outcome
//	   pursued, barriers,                GoalAchievement (improving, no-change,
//	   satisfaction, well-being,           worsening, achieved; "" = unchanged)
//	   UCLA-3 items, PROMIS-10 items,    GoalCompleted (next step done)
//	   next step                         Alternative (draft a new prescription)
//	                                     MoreHelp (a staff Task)
//	                                     UCLA3Total, PROMISPhysical, PROMISMental

// FollowUpQuestionnaireVersion is the version of FollowUpQuestionnaire
// socialrx ships; a response naming another version is refused.
const FollowUpQuestionnaireVersion = "1.0.0"

// Pursued says whether the person took up the prescribed support
// (socialrx code system follow-up-pursued).
type Pursued string

// The pursued answers.
const (
	PursuedYes    Pursued = "yes"
	PursuedNo     Pursued = "no"
	PursuedPartly Pursued = "partly"
)

// Wellbeing is the person's change in well-being since the prescription
// (socialrx code system follow-up-wellbeing).
type Wellbeing string

// The well-being answers.
const (
	WellbeingBetter Wellbeing = "better"
	WellbeingSame   Wellbeing = "same"
	WellbeingWorse  Wellbeing = "worse"
)

// NextStep is what the person (or staff with them) chose to do next
// (socialrx code system follow-up-next-step).
type NextStep string

// The next steps.
const (
	NextKeepGoing      NextStep = "keep-going"
	NextTryAlternative NextStep = "try-alternative"
	NextMoreHelp       NextStep = "more-help"
	NextDone           NextStep = "done"
)

// Barrier is what got in the way (socialrx code system follow-up-barrier).
type Barrier string

// The barriers, in the order the Questionnaire offers them.
const (
	BarrierCost          Barrier = "cost"
	BarrierTransport     Barrier = "transport"
	BarrierWaitList      Barrier = "wait-list"
	BarrierEligibility   Barrier = "eligibility"
	BarrierLanguage      Barrier = "language"
	BarrierSchedule      Barrier = "schedule"
	BarrierProgramClosed Barrier = "program-closed"
	BarrierNotWelcome    Barrier = "not-welcome"
	BarrierOther         Barrier = "other"
)

// AllBarriers returns the barriers in the Questionnaire's order; the slice
// is new on every call.
func AllBarriers() []Barrier {
	return []Barrier{BarrierCost, BarrierTransport, BarrierWaitList, BarrierEligibility, BarrierLanguage,
		BarrierSchedule, BarrierProgramClosed, BarrierNotWelcome, BarrierOther}
}

// GoalAchievement is a code of http://terminology.hl7.org/CodeSystem/goal-achievement
// (Goal.achievementStatus), as far as a follow-up can tell.
type GoalAchievement string

// The achievement statuses a follow-up sets.
const (
	GoalImproving GoalAchievement = "improving"
	GoalNoChange  GoalAchievement = "no-change"
	GoalWorsening GoalAchievement = "worsening"
	GoalAchieved  GoalAchievement = "achieved"
)

// Display returns the display of g in the goal-achievement code system.
func (g GoalAchievement) Display() string {
	switch g {
	case GoalImproving:
		return "Improving"
	case GoalNoChange:
		return "No Change"
	case GoalWorsening:
		return "Worsening"
	case GoalAchieved:
		return "Achieved"
	}
	return ""
}

// The number of items of the two optional scales.
const (
	UCLA3Items    = 3  // Three-Item Loneliness Scale (Hughes et al. 2004; LOINC panel 106418-7)
	PROMISGlobal  = 10 // PROMIS Global-10 (LOINC panel 85524-7), Global01..Global10
	promisPainIdx = 6  // Global07, pain 0-10, index in PROMIS
)

// FollowUpAnswers is what a follow-up QuestionnaireResponse said, read by
// mapping against the shipped Questionnaire (which checked each answer).
// Zero values mean "not answered". Free text (barriers-other) is not kept
// in the domain: it stays in the QuestionnaireResponse.
type FollowUpAnswers struct {
	Pursued      Pursued
	Barriers     []Barrier
	Satisfaction int // 1..5; 0 unanswered
	Wellbeing    Wellbeing
	NextStep     NextStep
	// UCLA3 holds the item scores (1 hardly ever, 2 some of the time,
	// 3 often) of lack companionship, left out and isolated, in that order;
	// nil when the scale was not given.
	UCLA3 []int
	// PROMIS holds Global01..Global10 as answered: items 1-6 and 8-10 as
	// their scored value 1..5 (Global08 fatigue and Global10 emotional
	// problems already reversed, 5 the best), Global07 pain as 0..10; nil
	// when the scale was not given.
	PROMIS []int
}

// Outcome is what an answered follow-up becomes.
type Outcome struct {
	Answers FollowUpAnswers
	// GoalAchievement is the prescription's Goal achievementStatus; "" leaves
	// it as it is (well-being not answered).
	GoalAchievement GoalAchievement
	// GoalCompleted says the Goal's lifecycleStatus becomes completed (the
	// next step is done); otherwise it is active.
	GoalCompleted bool
	// Alternative says a new draft prescription for the same need is
	// proposed for the clinician to confirm (next step try-alternative).
	Alternative bool
	// MoreHelp says staff are asked to contact the person (next step
	// more-help): a Task on the prescriber's work list.
	MoreHelp bool
	// Scores socialrx computed; ok false when the scale was not (fully)
	// answered.
	UCLA3Total     int
	UCLA3OK        bool
	PROMISPhysical int // Global Physical Health raw score, 4..20
	PROMISMental   int // Global Mental Health raw score, 4..20
	PROMISOK       bool
}

// DecideOutcome decides the Outcome of answers a:
//
//   - Goal achievement from well-being: better → improving, same →
//     no-change, worse → worsening; better with next step done → achieved;
//     well-being not answered → "" (the Goal keeps its status);
//   - next step done → the Goal is completed; try-alternative → a draft
//     alternative prescription; more-help → a staff Task; keep-going →
//     nothing more;
//   - scores: UCLA3Total and the PROMIS raw scores (UCLA3Score,
//     PROMISScores) when their scale is complete.
func DecideOutcome(a FollowUpAnswers) Outcome {
	o := Outcome{Answers: a}
	switch a.Wellbeing {
	case WellbeingBetter:
		o.GoalAchievement = GoalImproving
		if a.NextStep == NextDone {
			o.GoalAchievement = GoalAchieved
		}
	case WellbeingSame:
		o.GoalAchievement = GoalNoChange
	case WellbeingWorse:
		o.GoalAchievement = GoalWorsening
	}
	o.GoalCompleted = a.NextStep == NextDone
	o.Alternative = a.NextStep == NextTryAlternative
	o.MoreHelp = a.NextStep == NextMoreHelp
	o.UCLA3Total, o.UCLA3OK = UCLA3Score(a.UCLA3)
	o.PROMISPhysical, o.PROMISMental, o.PROMISOK = PROMISScores(a.PROMIS)
	return o
}

// UCLA3Score returns the Three-Item Loneliness Scale total, the sum of its
// three item scores (each 1..3, so 3..9; higher is lonelier); ok is false
// unless all three are answered within range.
func UCLA3Score(items []int) (total int, ok bool) {
	if len(items) != UCLA3Items {
		return 0, false
	}
	for _, v := range items {
		if v < 1 || v > 3 {
			return 0, false
		}
		total += v
	}
	return total, true
}

// PROMISPainScore rescores Global07 (pain, 0 no pain .. 10 worst) to the
// 1..5 scale the Global Physical Health score sums (PROMIS Global Health
// scoring manual): 0 → 5, 1-3 → 4, 4-6 → 3, 7-9 → 2, 10 → 1; ok is false
// outside 0..10.
func PROMISPainScore(pain int) (int, bool) {
	switch {
	case pain == 0:
		return 5, true
	case pain >= 1 && pain <= 3:
		return 4, true
	case pain >= 4 && pain <= 6:
		return 3, true
	case pain >= 7 && pain <= 9:
		return 2, true
	case pain == 10:
		return 1, true
	}
	return 0, false
}

// PROMISScores returns the PROMIS Global-10 raw scores from items
// (Global01..Global10, see FollowUpAnswers.PROMIS): Global Physical Health
// = Global03 + Global06 + rescored Global07 + Global08, Global Mental
// Health = Global02 + Global04 + Global05 + Global10, each 4..20 (higher
// is healthier). ok is false unless all ten are answered within range.
// T-scores are not computed: socialrx does not ship the conversion tables.
func PROMISScores(items []int) (physical, mental int, ok bool) {
	if len(items) != PROMISGlobal {
		return 0, 0, false
	}
	for i, v := range items {
		if i == promisPainIdx {
			if v < 0 || v > 10 {
				return 0, 0, false
			}
			continue
		}
		if v < 1 || v > 5 {
			return 0, 0, false
		}
	}
	pain, _ := PROMISPainScore(items[promisPainIdx])
	physical = items[2] + items[5] + pain + items[7]
	mental = items[1] + items[3] + items[4] + items[9]
	return physical, mental, true
}
