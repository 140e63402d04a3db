package socialrx

import (
	"context"
	"time"
)

// What works (the program report): per program and per need domain, over
// the prescriptions authored in a period, how many were prescribed, what
// the programs did with the referrals, what the people said at follow-up,
// and how long it took the program to answer; plus the visits billed under
// OHIP fee codes in the period. The store computes it as SQL aggregates
// over projection rows (Reports); the CLI prints it, the FHIR API answers
// it as a MeasureReport.
//
// Definitions (docs/mapping.md, "The program report"):
//
//   - a prescription is in the period when its authoredOn is in [From, To);
//     one entered-in-error counts nowhere, nor does a draft (socialrx's
//     own try-alternative suggestion, or any other ServiceRequest not yet
//     ready for action): it counts once its status is active (or later);
//     one without authoredOn is in no period (Undated counts them);
//   - its program is ServiceRequest.performer (Prescription.Target), ""
//     when it has none (self-directed without a pointer): the prescription
//     and its follow-up answers count there;
//   - its need domains are Prescription.Needs: a prescription for two
//     domains counts once in each;
//   - referral counts are of the prescription's referral Tasks by current
//     status: accepted = accepted, on-hold, in-progress or completed (the
//     program took it on), rejected, completed; entered-in-error Tasks
//     count nowhere. By program, a referral counts for the program it was
//     sent to (Referral.Performer, the Task's owner), which is not the
//     prescription's program when the EMR moved it ("" when the Task has
//     no owner);
//   - follow-up answers: the latest answered follow-up of the prescription
//     (the QuestionnaireResponse with the latest authored); pursued = yes
//     or partly; improved = well-being better, over those that answered
//     well-being; mean satisfaction over those that answered it. A revoked
//     prescription counts as prescribed (and its referrals count) but its
//     follow-up answers do not: it is in no follow-up denominator;
//   - first contact: the earliest moment one of the prescription's
//     referrals reached a status the program sets (accepted, rejected,
//     on-hold, in-progress, completed; Referral.LastChanged of that change);
//     days to first contact = that minus authoredOn, in days; the median is
//     over the prescriptions that have one. By program, the first contact
//     is that of the program's own referrals;
//   - billed visits: ChargeItems with an OHIP fee code, status billable or
//     billed, whose occurrence (else enteredDate) is in the period.

// ReportStats are the figures of one group of prescriptions (a program, a
// need domain, or all of them).
type ReportStats struct {
	// Key is the group: a program reference ("HealthcareService/hs-1"), a
	// need domain code, or "" for the total (and for prescriptions without
	// a program, in Programs).
	Key string
	// Name is the program's name (HealthcareService.name) or the need
	// domain's display; "" when unknown.
	Name string

	Prescriptions int
	Referrals     int
	Accepted      int
	Rejected      int
	Completed     int

	FollowedUp      int // prescriptions with an answered follow-up
	Pursued         int // of those, pursued yes or partly
	SatisfactionN   int // of those, satisfaction answered
	SatisfactionSum int
	WellbeingN      int // of those, well-being answered
	Improved        int // of those, well-being better

	// Referred is how many prescriptions have a referral (not entered in
	// error); by program, a referral sent to that program: the population
	// Contacted is a part of.
	Referred  int
	Contacted int // prescriptions with a first contact
	// MedianDaysToContact is the median of days to first contact over
	// Contacted; 0 when Contacted is 0.
	MedianDaysToContact float64
}

// PursuedRate is Pursued/FollowedUp; ok is false when nobody was followed up.
func (s ReportStats) PursuedRate() (rate float64, ok bool) { return ratio(s.Pursued, s.FollowedUp) }

// ImprovedRate is Improved/WellbeingN; ok is false when nobody answered.
func (s ReportStats) ImprovedRate() (rate float64, ok bool) { return ratio(s.Improved, s.WellbeingN) }

// MeanSatisfaction is SatisfactionSum/SatisfactionN (1..5); ok is false
// when nobody answered.
func (s ReportStats) MeanSatisfaction() (mean float64, ok bool) {
	return ratio(s.SatisfactionSum, s.SatisfactionN)
}

func ratio(n, d int) (float64, bool) {
	if d == 0 {
		return 0, false
	}
	return float64(n) / float64(d), true
}

// BilledCount is the number of billed visits with one OHIP fee code.
type BilledCount struct {
	Code   string
	Visits int
}

// ProgramReport is the program report over [From, To).
type ProgramReport struct {
	From, To time.Time
	Total    ReportStats
	Programs []ReportStats // by Key; the group without a program ("") first
	Needs    []ReportStats // by Key; prescriptions without a need domain are in none
	Billed   []BilledCount // by Code; codes with no visit are left out
	// Undated is how many prescriptions (of any time; not draft, not
	// entered-in-error) have no authoredOn: they are in no period, so the
	// report leaves them out and says how many.
	Undated int
}

// Reports computes reports from the projection rows.
type Reports interface {
	// ProgramReport computes the program report over the prescriptions
	// authored in [from, to) (see ProgramReport for the definitions), as
	// of the last commit. Names are left empty: the caller resolves them.
	// EINVALID when to is not after from.
	ProgramReport(ctx context.Context, from, to time.Time) (*ProgramReport, error)
}

// FollowUpResult is the projection row of an answered follow-up: what the
// report needs of an Outcome (see Reports).
type FollowUpResult struct {
	ResponseID     string // the QuestionnaireResponse
	PrescriptionID string
	PatientID      string
	Pursued        Pursued
	Satisfaction   int // 1..5; 0 unanswered
	Wellbeing      Wellbeing
	NextStep       NextStep
	AnsweredAt     time.Time // QuestionnaireResponse.authored, else when it was stored
}

// BilledVisit is the projection row of a ChargeItem billed under an OHIP
// fee code (mapping.BilledVisitFromChargeItem).
type BilledVisit struct {
	ChargeItemID string
	PatientID    string
	EncounterID  string
	Code         string // an OHIP fee code (OHIPFeeCodes)
	Status       string // ChargeItem.status
	OccurredAt   time.Time
}

// Billed reports whether the visit counts as billed: status billable or
// billed.
func (v BilledVisit) Billed() bool { return v.Status == "billable" || v.Status == "billed" }

// FirstContact reports whether a referral in status st has been answered
// by the program (see ProgramReport, first contact). A referral socialrx
// holds for the patient's consent is on-hold by socialrx, not by the
// program: see AnsweredByProgram.
func FirstContact(st ReferralStatus) bool {
	switch st {
	case ReferralAccepted, ReferralRejected, ReferralOnHold, ReferralInProgress, ReferralCompleted:
		return true
	}
	return false
}

// AnsweredByProgram reports whether r's status is the program's answer
// (FirstContact), which it is not while socialrx holds the referral for
// the patient's consent (DeliveryHeld: the on-hold is socialrx's own; the
// program may never have received it).
func (r *Referral) AnsweredByProgram() bool {
	return FirstContact(r.Status) && r.DeliveryState != DeliveryHeld
}
