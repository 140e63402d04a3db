package workflow

import (
	"context"
	"encoding/json"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/mapping"
)

// Withdrawing an answered follow-up (docs/architecture.md, "Follow-up
// outcome"): when its QuestionnaireResponse is deleted, or a new version
// has status entered-in-error, the Outcome it became is withdrawn in the
// same transaction, as socialrx's own writes (ActorSystem):
//
//	QuestionnaireResponse answered ──DELETE / PUT status entered-in-error──┐
//	  (the version before: answered, its outcome not a duplicate's)        v
//	    follow-up result row       dropped (the program report)
//	    Observations ob-…          entered-in-error (kept: FHIR's way)
//	    follow-up Task fu-…        the response's output removed; in-progress
//	                               with a statusReason, unless another
//	                               answered response it lists still stands
//	    Goal                       RevertGoal: the standing response's
//	                               achievement, else none (see mapping)
//	    ServiceRequest alt-…       revoked while still draft
//	    Task fh-…                  cancelled while requested or ready
//	    Communication fs-…         entered-in-error
//	  outbox: the response's new version (after a DELETE, its last version
//	          sent again as entered-in-error: WriteBackWithdraw) and the
//	          summary, conditional updates by identifier (WriteBackUpdate),
//	          ordered after the original write-back
//
// A retry or a repeat finds the version before not answered (or gone) or
// the summary entered-in-error already, and does nothing. A response with
// the same identifier answered later records the outcome again under the
// same ids (duplicateResponse does not count a withdrawn summary).

// answeredResponse returns the follow-up response QuestionnaireResponse/id
// as it stands (before a write replaces or deletes it: its outcome may need
// withdrawing), when it is answered; nil otherwise. A stored version that
// no longer reads as a follow-up response (it passed when stored) gives
// nil: nothing is withdrawn.
func (tx *Tx) answeredResponse(ctx context.Context, id string) (*mapping.FollowUpResponse, error) {
	cur, err := tx.readIfPresent(ctx, "QuestionnaireResponse", id)
	if err != nil || cur == nil || !mapping.IsFollowUpResponse(cur.Body) {
		return nil, err
	}
	r, err := mapping.ReadFollowUpResponse(cur.Body)
	if err != nil || !r.Answered() {
		return nil, nil
	}
	return r, nil
}

// withdrawOutcome withdraws the outcome of the answered follow-up r,
// QuestionnaireResponse/qrID, which was deleted (res the deleted version)
// or replaced by res, a version with status entered-in-error (see the
// diagram above).
func (tx *Tx) withdrawOutcome(ctx context.Context, qrID string, res *socialrx.Resource, r *mapping.FollowUpResponse) error {
	if !res.Deleted { // a delete dropped the row with the others (dropProjections)
		if err := tx.st.PutFollowUpResult(ctx, qrID, nil); err != nil {
			return err
		}
	}
	ids := OutcomeIDs{outcomeKey(qrID, r)}
	cur, err := tx.readIfPresent(ctx, "Communication", ids.Summary())
	if err != nil || cur == nil || mapping.StatusOf(cur.Body) == "entered-in-error" || summaryAbout(cur.Body) != "QuestionnaireResponse/"+qrID {
		// No outcome, withdrawn already, or a duplicate's (the outcome is
		// another response's).
		return err
	}
	was := tx.origin
	tx.SetOrigin(socialrx.Origin{Actor: socialrx.ActorSystem})
	defer tx.SetOrigin(was)
	now := tx.w.now()

	for _, kind := range outcomeKinds {
		if err := tx.setStatus(ctx, "Observation", ids.Observation(kind), "entered-in-error"); err != nil {
			return err
		}
	}
	fuID := FollowUpTaskID(r.PrescriptionID)
	standing, err := tx.reopenFollowUp(ctx, fuID, qrID, now)
	if err != nil {
		return err
	}
	if err := tx.revertGoals(ctx, r, standing, now); err != nil {
		return err
	}
	if standing == nil {
		// The follow-up is unanswered again: the Tasks for reaching the
		// patient that the answer closed are open again (those staff ended
		// themselves stay so).
		if err := tx.reopenReachTasks(ctx, r.PrescriptionID, now); err != nil {
			return err
		}
	}
	if alt, err := tx.readIfPresent(ctx, "ServiceRequest", ids.Alternative()); err != nil {
		return err
	} else if alt != nil && mapping.StatusOf(alt.Body) == "draft" {
		if err := tx.setStatus(ctx, "ServiceRequest", alt.ID, "revoked"); err != nil {
			return err
		}
	}
	if err := tx.editIfPresent(ctx, "Task", ids.HelpTask(), func(b []byte) ([]byte, bool, error) { return mapping.CancelHelpTask(b, now) }); err != nil {
		return err
	}
	body, _, err := mapping.WithStatus(cur.Body, "entered-in-error")
	if err != nil {
		return unprocessable(err)
	}
	summary, _, err := tx.Update(ctx, "Communication", cur.ID, body, 0)
	if err != nil {
		return err
	}
	p, ok, err := tx.prescription(ctx, r.PrescriptionID)
	if err != nil || !ok {
		return err
	}
	if res.Deleted {
		// The EMR's copy is the version before the delete: sent again,
		// entered-in-error (the job sets the status).
		last := &socialrx.Resource{Type: res.Type, ID: res.ID, VersionID: res.VersionID - 1}
		if err := tx.writeBackOutcome(ctx, p, fuID, socialrx.WriteBackWithdraw, last, nil); err != nil {
			return err
		}
		return tx.writeBackOutcome(ctx, p, fuID, socialrx.WriteBackUpdate, nil, summary)
	}
	return tx.writeBackOutcome(ctx, p, fuID, socialrx.WriteBackUpdate, res, summary)
}

// reviveHelpTask requests again the more-help Task id that a withdrawal
// cancelled (mapping.ReviveHelpTask), the answer asking for help being
// given again.
func (tx *Tx) reviveHelpTask(ctx context.Context, id string, now time.Time) error {
	return tx.editIfPresent(ctx, "Task", id, func(b []byte) ([]byte, bool, error) { return mapping.ReviveHelpTask(b, now) })
}

// setStatus sets the status of typ/id, when it is there and has another.
func (tx *Tx) setStatus(ctx context.Context, typ, id, status string) error {
	return tx.editIfPresent(ctx, typ, id, func(b []byte) ([]byte, bool, error) { return mapping.WithStatus(b, status) })
}

// reopenFollowUp removes the withdrawn response qrID from the follow-up
// Task fuID's outputs and opens the Task again, unless another answered
// response it lists still stands: that one (the last listed) is returned,
// and the Task stays as its outcome made it.
func (tx *Tx) reopenFollowUp(ctx context.Context, fuID, qrID string, now time.Time) (*mapping.FollowUpResponse, error) {
	cur, err := tx.readIfPresent(ctx, "Task", fuID)
	if err != nil || cur == nil {
		return nil, err
	}
	var standing *mapping.FollowUpResponse
	refs := mapping.FollowUpResponsesOf(cur.Body)
	for i := len(refs) - 1; i >= 0 && standing == nil; i-- {
		if refs[i] == qrID {
			continue
		}
		if standing, err = tx.answeredResponse(ctx, refs[i]); err != nil {
			return nil, err
		}
	}
	body, changed, err := mapping.WithdrawFollowUpResponse(cur.Body, qrID, standing == nil, now)
	if err != nil {
		return nil, unprocessable(err)
	}
	if changed {
		if _, _, err := tx.Update(ctx, "Task", fuID, body, 0); err != nil {
			return nil, err
		}
	}
	return standing, nil
}

// revertGoals takes back what the withdrawn response r's outcome set on
// the prescription's Goals (those updateGoals wrote: the ServiceRequest's
// pertainsToGoal Goals held here, else socialrx's own), leaving them as
// the standing response's outcome says, if any (mapping.RevertGoal).
func (tx *Tx) revertGoals(ctx context.Context, r, standing *mapping.FollowUpResponse, now time.Time) error {
	p, ok, err := tx.prescription(ctx, r.PrescriptionID)
	if err != nil || !ok {
		return err
	}
	sr, err := tx.cachedRead(ctx, "ServiceRequest", p.ID)
	if err != nil {
		return err
	}
	withdrawn := socialrx.DecideOutcome(r.Answers)
	var stands *socialrx.Outcome
	if standing != nil {
		o := socialrx.DecideOutcome(standing.Answers)
		stands = &o
	}
	var goals []*socialrx.Resource
	for _, ref := range mapping.GoalsOf(sr.Body) {
		g, err := tx.readIfPresent(ctx, "Goal", ref[len("Goal/"):])
		if err != nil {
			return err
		}
		if g != nil {
			goals = append(goals, g)
		}
	}
	if len(goals) == 0 {
		g, err := tx.readIfPresent(ctx, "Goal", GoalID(p.ID))
		if err != nil || g == nil {
			return err
		}
		goals = append(goals, g)
	}
	for _, g := range goals {
		body, changed, err := mapping.RevertGoal(g.Body, withdrawn, stands, now)
		if err != nil {
			return unprocessable(err)
		}
		if changed {
			if _, _, err := tx.Update(ctx, "Goal", g.ID, body, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// summaryAbout returns the first about reference of a summary
// Communication: the response it summarises.
func summaryAbout(body []byte) string {
	var c struct {
		About []struct {
			Reference string `json:"reference"`
		} `json:"about"`
	}
	if json.Unmarshal(body, &c) != nil || len(c.About) == 0 {
		return ""
	}
	return c.About[0].Reference
}
