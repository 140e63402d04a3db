package workflow

import (
	"context"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/mapping"
)

// Ingest (docs/architecture.md, "Ingest"): every write through a Tx derives
// the domain rows of Observations, QuestionnaireResponses, Conditions,
// ServiceRequests and Tasks in the writing transaction:
//
//	Create/Update ──> prepare (ServiceRequest: read the prescription,
//	   │              derive its categories into the body to store;
//	   │              fax/phone referral Task: tag it for the work list)
//	   v
//	  store (ResourceTx: stamp, store, index)
//	   │
//	   v
//	project ──> replace the rows of the resource (ProjectionTx)
//	   │
//	   v
//	follow on ── new active prescription: its follow-up Task (and a
//	             self-directed one's patient Task), the reminder job
//	          ── revoked prescription: cancel its open referrals
//	          ── referral change: its message (referral.go)
//
//	Delete ──> store the delete marker ──> drop the rows of the resource

// prepare runs before a resource is stored. For a social ServiceRequest
// (mapping.IsSocialServiceRequest) it reads the prescription (which must
// pass Prescription.Validate) and returns the body with the derived
// categories written in, and the prescription (ID set to id). A referral
// Task is tagged for the staff work list when its hand-off is by fax or
// phone. Other types pass as they are, with a nil prescription.
func (tx *Tx) prepare(ctx context.Context, typ, id string, body []byte) ([]byte, *socialrx.Prescription, error) {
	switch typ {
	case "Task":
		out, err := tx.prepareTask(ctx, body)
		return out, nil, err
	case "ServiceRequest":
	default:
		return body, nil, nil
	}
	// An ordinary clinical order (a lab test, an imaging referral) is
	// stored as it is: only social prescriptions are read into the domain.
	resolve := Resolver(ctx, tx)
	if !mapping.IsSocialServiceRequest(body, resolve) {
		return body, nil, nil
	}
	p, err := mapping.PrescriptionFromServiceRequest(body, resolve)
	if err != nil {
		return nil, nil, unprocessable(err)
	}
	out, _, err := mapping.DeriveCategories(body, p)
	if err != nil {
		return nil, nil, unprocessable(err)
	}
	p.ID = id
	return out, p, nil
}

// prepareTask tags the referral Task of a non-electronic warm hand-off
// (eFax, phone) with its work-list code (mapping.TagHandoffTask), so that
// it shows on the staff work list. Other Tasks pass as they are; a Task
// mapping cannot read is left for project to refuse.
func (tx *Tx) prepareTask(ctx context.Context, body []byte) ([]byte, error) {
	r, isReferral, err := mapping.ReferralFromTask(body)
	if err != nil || !isReferral {
		return body, nil
	}
	p, ok, err := tx.st.Prescription(ctx, r.PrescriptionID)
	if err != nil || !ok || !socialrx.NeedsHandoffTask(*p) {
		return body, err
	}
	code, ok := mapping.HandoffCode(p.Channel)
	if !ok {
		return body, nil
	}
	out, _, err := mapping.TagHandoffTask(body, code)
	if err != nil {
		return nil, unprocessable(err)
	}
	return out, nil
}

// project writes the domain rows of res, a version just stored, replacing
// those of its previous version, and what follows from them; p is the
// prescription prepare read, for a ServiceRequest.
func (tx *Tx) project(ctx context.Context, res *socialrx.Resource, p *socialrx.Prescription) error {
	switch res.Type {
	case "Observation", "QuestionnaireResponse":
		var fs []socialrx.Finding
		var err error
		if res.Type == "Observation" {
			fs, err = mapping.FindingsFromObservation(res.Body)
		} else {
			fs, err = mapping.FindingsFromQuestionnaireResponse(res.Body)
		}
		if err != nil {
			return unprocessable(err)
		}
		return tx.st.PutFindings(ctx, res.Type, res.ID, fs)
	case "Condition":
		n, ok, err := mapping.NeedFromCondition(res.Body)
		if err != nil {
			return unprocessable(err)
		}
		if !ok {
			n = nil
		}
		return tx.st.PutNeed(ctx, res.ID, n)
	case "ServiceRequest":
		if p == nil {
			// Not (or no longer) a social prescription.
			return tx.st.DropProjections(ctx, res.Type, res.ID)
		}
		if err := tx.st.PutPrescription(ctx, p); err != nil {
			return err
		}
		if reason, revoked := socialrx.RevokedPrescription(p.Status); revoked {
			return tx.cancelReferrals(ctx, p, reason)
		}
		return tx.followOn(ctx, p)
	case "Task":
		return tx.projectTask(ctx, res)
	case "Appointment", "Communication":
		return tx.projectLinked(ctx, res)
	}
	return nil
}

// projectTask writes the referral or follow-up a Task is (referral.go
// for a referral).
func (tx *Tx) projectTask(ctx context.Context, res *socialrx.Resource) error {
	r, isReferral, err := mapping.ReferralFromTask(res.Body)
	if err != nil {
		return unprocessable(err)
	}
	if isReferral {
		r.ID = res.ID
		return tx.projectReferral(ctx, res, r)
	}
	if err := tx.st.DropProjections(ctx, res.Type, res.ID); err != nil {
		return err
	}
	f, isFollowUp, err := mapping.FollowUpFromTask(res.Body)
	if err != nil {
		return unprocessable(err)
	}
	if !isFollowUp {
		return nil
	}
	return tx.st.PutFollowUp(ctx, res.ID, f)
}

// followOn creates what a new active prescription needs, once
// (socialrx.FollowUpFor): its follow-up Task, for a self-directed
// prescription the patient's Task, the follow-up reminder job, and for a
// fax or phone hand-off the job that gives it a work-list Task. "Once":
// when the follow-up Task exists (even deleted), nothing is done, so a
// resend of the ServiceRequest creates nothing. A prescription that is not
// active gets nothing until it is.
func (tx *Tx) followOn(ctx context.Context, p *socialrx.Prescription) error {
	now := tx.w.now()
	if _, ok := socialrx.FollowUpFor(*p, "", tx.w.opts.FollowUpIntervals, now); !ok {
		return nil
	}
	fuID := FollowUpTaskID(p.ID)
	if exists, err := tx.st.Exists(ctx, "Task", fuID); err != nil || exists {
		return err
	}
	channel := socialrx.ContactPhone
	if pat, err := tx.st.Read(ctx, "Patient", p.PatientID); err == nil {
		channel = mapping.PreferredContact(pat.Body)
	}
	f, _ := socialrx.FollowUpFor(*p, channel, tx.w.opts.FollowUpIntervals, now)
	if _, err := tx.Create(ctx, "Task", fuID, mapping.FollowUpTask(f, fuID, now)); err != nil {
		return err
	}
	if socialrx.NeedsPatientTask(*p) {
		ptID := PatientTaskID(p.ID)
		exists, err := tx.st.Exists(ctx, "Task", ptID)
		if err != nil {
			return err
		}
		if !exists {
			if _, err := tx.Create(ctx, "Task", ptID, mapping.PatientTask(*p, ptID, now)); err != nil {
				return err
			}
		}
	}
	if err := tx.st.ScheduleFollowUpReminder(ctx, p.ID, f.Due); err != nil {
		return err
	}
	// A fax or phone hand-off needs a referral Task on the staff work list.
	// The EMR may send its own later in this transaction, so the job that
	// creates one when none exists runs after commit.
	if socialrx.NeedsHandoffTask(*p) {
		return tx.st.ScheduleHandoffTask(ctx, p.ID)
	}
	return nil
}

// cancelReferrals cancels the open outgoing referrals of a prescription the
// practice revoked (or entered in error) without cancelling them itself:
// socialrx acts for the requester, so the platform is sent a
// revoke-service-request. Referrals socialrx received, and those already
// ended, are left as they are, and so is a platform's own revoke (it
// knows).
func (tx *Tx) cancelReferrals(ctx context.Context, p *socialrx.Prescription, reason string) error {
	if tx.origin.FromPlatform() {
		return nil
	}
	rs, err := tx.st.ReferralsOf(ctx, p.ID)
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.Incoming || r.Status.Terminal() {
			continue
		}
		id := r.ID
		cur, err := tx.st.Read(ctx, "Task", id)
		if err != nil {
			return err
		}
		body, changed, err := mapping.ApplyTaskUpdate(cur.Body, mapping.TaskStatusUpdate(socialrx.ReferralCancelled, reason), tx.w.now())
		if err != nil || !changed {
			return err
		}
		if _, _, err := tx.Update(ctx, "Task", id, body, 0); err != nil {
			return err
		}
	}
	return nil
}
