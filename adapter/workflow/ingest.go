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
//	Create/Update ──> prepare (ServiceRequest: read the prescription)
//	   │
//	   v
//	  store (ResourceTx: stamp, store, index) the body as the client sent it
//	   │
//	   v
//	project ──> replace the rows and facts of the resource (ProjectionTx):
//	   │        a prescription's form, channel and need domains, a fax or
//	   │        phone referral Task's work list; a program change (move.go)
//	   │        is refused while a referral is open, else warned and followed
//	   │
//	   v
//	follow on ── new active prescription: its follow-up Task (and a
//	             self-directed one's patient Task), the reminder job
//	          ── revoked prescription (or entered in error): cancel its
//	             open referrals, and its follow-up, patient and staff
//	             Tasks for reaching the patient (reminder.go)
//	          ── referral change: its message (referral.go)
//
//	Delete ──> store the delete marker ──> drop the rows of the resource
//	             (an answered follow-up response: withdraw its outcome)

// prepared is what prepare read from a resource before it is stored.
type prepared struct {
	rx *socialrx.Prescription // a social ServiceRequest's prescription
	// rxWas is the stored prescription rx replaces (nil: none), whose
	// program change move.go checks and follows.
	rxWas *socialrx.Prescription
	fu    *mapping.FollowUpResponse // a follow-up QuestionnaireResponse (outcome.go)
	// withdrawn is the answered version a follow-up response entered in
	// error replaces: its outcome is withdrawn (outcome_withdraw.go).
	withdrawn *mapping.FollowUpResponse
	// billed is a ChargeItem's visit billed under an OHIP fee code; nil
	// for a ChargeItem without one.
	billed *socialrx.BilledVisit
}

// prepare runs before a resource is stored. For a social ServiceRequest
// (mapping.IsSocialServiceRequest) it reads the prescription, which must
// pass Prescription.Validate, and returns it (ID set to id). The body is
// stored as the client sent it: what socialrx derives (form, channel, need
// domains) is kept beside it as facts (project). A QuestionnaireResponse
// to the follow-up Questionnaire is checked against it (prepareResponse).
// Other types give nothing.
func (tx *Tx) prepare(ctx context.Context, typ, id string, body []byte) (prepared, error) {
	if typ == "QuestionnaireResponse" {
		fu, err := tx.prepareResponse(ctx, body)
		if err != nil || fu == nil || fu.Status != "entered-in-error" {
			return prepared{fu: fu}, err
		}
		// Entered in error: the version it replaces, if answered, had an
		// outcome to withdraw.
		was, err := tx.answeredResponse(ctx, id)
		return prepared{fu: fu, withdrawn: was}, err
	}
	if typ == "ChargeItem" {
		// An OHIP fee code not in socialrx's list is refused before
		// anything is stored.
		v, _, err := mapping.BilledVisitFromChargeItem(id, body)
		if err != nil {
			return prepared{}, unprocessable(err)
		}
		return prepared{billed: v}, nil
	}
	if typ != "ServiceRequest" {
		return prepared{}, nil
	}
	// An ordinary clinical order (a lab test, an imaging referral) is
	// stored as it is: only social prescriptions are read into the domain.
	resolve := Resolver(ctx, tx)
	if !mapping.IsSocialServiceRequest(body, resolve) {
		return prepared{}, nil
	}
	p, err := mapping.PrescriptionFromServiceRequest(body, resolve)
	if err != nil {
		return prepared{}, unprocessable(err)
	}
	p.ID = id
	was, ok, err := tx.prescription(ctx, id)
	if err != nil {
		return prepared{}, err
	}
	if !ok {
		was = nil
	}
	if err := tx.checkMove(ctx, was, p); err != nil {
		return prepared{}, err
	}
	return prepared{rx: p, rxWas: was}, nil
}

// project writes the domain rows of res, a version just stored, replacing
// those of its previous version, and what follows from them; p is the
// prescription prepare read, for a ServiceRequest, or the follow-up
// response, whose outcome it records (outcome.go).
func (tx *Tx) project(ctx context.Context, res *socialrx.Resource, pr prepared) error {
	p := pr.rx
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
		if err := tx.st.PutFindings(ctx, res.Type, res.ID, fs); err != nil || pr.fu == nil {
			return err
		}
		if pr.withdrawn != nil {
			return tx.withdrawOutcome(ctx, res.ID, res, pr.withdrawn)
		}
		return tx.recordOutcome(ctx, res, pr.fu)
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
			return tx.dropProjections(ctx, res.Type, res.ID)
		}
		if err := tx.putPrescription(ctx, p); err != nil {
			return err
		}
		if err := tx.st.PutFacts(ctx, res.Type, res.ID, p.Facts()); err != nil {
			return err
		}
		if err := tx.checkProgram(ctx, p); err != nil {
			return err
		}
		if reason, revoked := socialrx.RevokedPrescription(p.Status); revoked {
			if err := tx.cancelReferrals(ctx, p, reason); err != nil {
				return err
			}
			if err := tx.clearRejected(ctx, p.ID, ""); err != nil {
				return err
			}
			return tx.cancelFollowUp(ctx, p.ID, p.Status)
		}
		if err := tx.moved(ctx, pr.rxWas, p, res.VersionID); err != nil {
			return err
		}
		return tx.followOn(ctx, p, res.VersionID == 1)
	case "Task":
		return tx.projectTask(ctx, res)
	case "Appointment", "Communication":
		return tx.projectLinked(ctx, res)
	case "ChargeItem":
		if pr.billed != nil {
			pr.billed.ChargeItemID = res.ID
		}
		return tx.st.PutBilledVisit(ctx, res.ID, pr.billed)
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
	if err := tx.dropOld(ctx, res); err != nil {
		return err
	}
	f, isFollowUp, err := mapping.FollowUpFromTask(res.Body)
	if err != nil {
		return unprocessable(err)
	}
	if !isFollowUp {
		return tx.staffWorkList(ctx, res)
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
//
// newRx tells that the ServiceRequest was created by this transaction
// (version 1): its follow-up Task, whose id derives from the
// ServiceRequest's, was then never stored (unless a client chose that id
// for a Task of its own), so it is created without asking first (a
// statement, on PostgreSQL a round trip, per new prescription); the create
// finding the id taken is the same "exists" answer. When the
// ServiceRequest's id was minted in this transaction (CreateNew: a POST),
// no client can have chosen the derived id either, and the create is a
// CreateNew (on PostgreSQL it waits for the next statement).
func (tx *Tx) followOn(ctx context.Context, p *socialrx.Prescription, newRx bool) error {
	now := tx.w.now()
	if _, ok := socialrx.FollowUpFor(*p, "", tx.w.opts.FollowUpIntervals, now); !ok {
		return nil
	}
	fuID := FollowUpTaskID(p.ID)
	if !newRx {
		if exists, err := tx.st.Exists(ctx, "Task", fuID); err != nil || exists {
			return err
		}
	}
	channel := socialrx.ContactPhone
	if pat, err := tx.cachedRead(ctx, "Patient", p.PatientID); err == nil {
		channel = mapping.PreferredContact(pat.Body)
	}
	f, _ := socialrx.FollowUpFor(*p, channel, tx.w.opts.FollowUpIntervals, now)
	create := tx.Create
	if tx.isMinted("ServiceRequest", p.ID) {
		create = tx.CreateNew // derived from an id minted in this transaction: free
	}
	if _, err := create(ctx, "Task", fuID, mapping.FollowUpTask(f, fuID, now)); err != nil {
		if newRx && socialrx.ErrorCode(err) == socialrx.ECONFLICT {
			return nil // the id was taken after all: it exists
		}
		return err
	}
	if socialrx.NeedsPatientTask(*p) {
		if err := tx.patientTask(ctx, p); err != nil {
			return err
		}
	}
	if err := tx.st.ScheduleFollowUpReminder(ctx, p.ID, f.Due); err != nil {
		return err
	}
	// A fax or phone hand-off needs a referral Task on the staff work list.
	// The EMR may send its own later in this transaction, so the job that
	// creates one when none exists runs after commit.
	if socialrx.NeedsHandoffTask(*p) {
		return tx.st.ScheduleHandoffTask(ctx, p.ID, 0)
	}
	return nil
}

// patientTask creates the patient Task of self-directed prescription p
// (PatientTaskID) unless it was ever stored.
func (tx *Tx) patientTask(ctx context.Context, p *socialrx.Prescription) error {
	ptID := PatientTaskID(p.ID)
	if tx.isMinted("ServiceRequest", p.ID) {
		// Derived from an id minted in this transaction: free.
		_, err := tx.CreateNew(ctx, "Task", ptID, mapping.PatientTask(*p, ptID, tx.w.now()))
		return err
	}
	if exists, err := tx.st.Exists(ctx, "Task", ptID); err != nil || exists {
		return err
	}
	_, err := tx.Create(ctx, "Task", ptID, mapping.PatientTask(*p, ptID, tx.w.now()))
	return err
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
		if _, err := tx.updateTask(ctx, cur, mapping.TaskStatusUpdate(socialrx.ReferralCancelled, reason)); err != nil {
			return err
		}
	}
	return nil
}

// dropOld removes the rows an earlier version of res gave, before the rows
// of res are put; a first version has none (a resource created again after
// a delete has a higher version), which saves the statements.
func (tx *Tx) dropOld(ctx context.Context, res *socialrx.Resource) error {
	if res.VersionID == 1 {
		return nil
	}
	return tx.dropProjections(ctx, res.Type, res.ID)
}
