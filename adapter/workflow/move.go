package workflow

import (
	"context"
	"fmt"

	"github.com/socialrx/socialrx"
)

// A program change (roles-walk findings 2 and 5): an update of a social
// ServiceRequest whose performer (Prescription.Target) is not the one
// stored.
//
//	performer changed ──open outgoing referral of another program──> 422,
//	   │                 (not rejected, cancelled, completed, failed,     nothing stored
//	   │                  entered-in-error; an eReferral, a fax or phone
//	   │                  hand-off Task hf-… alike)
//	   v
//	stored ──> a derived form or channel that changed: a warning issue
//	       ──> active self-directed now: its patient Task, if none
//	       ──> active fax or phone hand-off now: the hand-off Task job
//	           (CreateHandoffTask gives it a new hf- id when the first is used)
//
// The program holding an open referral keeps working on it until it is
// told: cancelling the referral Task sends it revoke-service-request (an
// eReferral), and revoking the prescription cancels its referrals
// (cancelReferrals). A change that revokes the prescription is therefore
// not refused.

// checkMove refuses (EUNPROCESSABLE) to store p, the new version of a
// prescription, when its program differs from was's (the stored version)
// while an open outgoing referral of the prescription is with another
// program than p's. was nil (a new prescription) passes.
func (tx *Tx) checkMove(ctx context.Context, was, p *socialrx.Prescription) error {
	if was == nil || was.Target == p.Target {
		return nil
	}
	if _, revoked := socialrx.RevokedPrescription(p.Status); revoked {
		return nil
	}
	rs, err := tx.st.ReferralsOf(ctx, p.ID)
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.Incoming || r.Status.Terminal() || r.Performer == p.Target {
			continue
		}
		program := r.Performer
		if program == "" {
			program = was.Target
		}
		if program == "" {
			program = "(no program named)"
		}
		msg := fmt.Sprintf("ServiceRequest/%s has an open referral, Task/%s (status %s) with %s: its program is not changed while that referral is open, or %s would keep working on it and nobody would tell it. "+
			"Cancel the referral Task first (status cancelled, with a statusReason: an eReferral's platform is sent revoke-service-request), then change the performer and send a new referral Task; "+
			"or revoke this prescription (status revoked) and prescribe anew",
			p.ID, r.ID, r.Status, program, program)
		return &socialrx.Error{Code: socialrx.EUNPROCESSABLE, Message: msg,
			Issues: []socialrx.Issue{{Severity: socialrx.SeverityError, Code: "business-rule", Path: "ServiceRequest.performer", Message: msg}}}
	}
	return nil
}

// moved does what a stored program change needs (see above): was is the
// prescription before, p the one just stored as ServiceRequest version
// version.
func (tx *Tx) moved(ctx context.Context, was, p *socialrx.Prescription, version int64) error {
	if was == nil || was.Target == p.Target {
		return nil
	}
	if p.FormDerived && (was.Form != p.Form || was.Channel != p.Channel) {
		tx.warnings = append(tx.warnings, socialrx.Issue{Severity: socialrx.SeverityWarning, Code: "business-rule", Path: "ServiceRequest.performer",
			Message: fmt.Sprintf("the prescription's form and channel, derived from its performer, changed with the program (%s to %s): form %s to %s, channel %s to %s; send ServiceRequest.category to set the form", orNone(was.Target), orNone(p.Target), was.Form, p.Form, orNone(string(was.Channel)), orNone(string(p.Channel)))})
	}
	if p.Status != "active" {
		return nil
	}
	if exists, err := tx.st.Exists(ctx, "Task", FollowUpTaskID(p.ID)); err != nil || !exists {
		return err // not followed on yet: followOn makes them all
	}
	if socialrx.NeedsPatientTask(*p) {
		if err := tx.patientTask(ctx, p); err != nil {
			return err
		}
	}
	if socialrx.NeedsHandoffTask(*p) {
		return tx.st.ScheduleHandoffTask(ctx, p.ID, version)
	}
	return nil
}

// nextHandoffTaskID is the id CreateHandoffTask gives the hand-off Task
// of prescription p: HandoffTaskID for the first; after a program change,
// when that id is taken, one derived from the prescription, its program
// and how many of its referrals were for other programs, so that a retry
// finds the same id and a move back to an earlier program gets a new one.
// open is true when p has an outgoing referral Task not ended: then none
// is made.
func (tx *Tx) nextHandoffTaskID(ctx context.Context, p *socialrx.Prescription) (id string, open bool, err error) {
	rs, err := tx.st.ReferralsOf(ctx, p.ID)
	if err != nil {
		return "", false, err
	}
	others := 0
	for _, r := range rs {
		if !r.Incoming && !r.Status.Terminal() {
			return "", true, nil
		}
		if r.Performer != p.Target {
			others++
		}
	}
	id = HandoffTaskID(p.ID)
	if len(rs) == 0 {
		return id, false, nil
	}
	return DerivedID(handoffTaskPrefix, fmt.Sprintf("%s|%s|%d", p.ID, p.Target, others)), false, nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
