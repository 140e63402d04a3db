package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/mapping"
)

// Ingest (docs/architecture.md, "Ingest"): the write path derives the domain
// rows of Observations, QuestionnaireResponses, Conditions, ServiceRequests
// and Tasks in the writing transaction, the way it writes index rows:
//
//	Create/Update ──> prepare (ServiceRequest: read the prescription,
//	   │              derive its categories into the body to store)
//	   v
//	  put (stamp, store, index)
//	   │
//	   v
//	project ──> replace the rows of the resource in findings, needs,
//	   │        prescriptions, referrals or follow_ups
//	   v
//	follow on (new active prescription): create its follow-up Task (and a
//	           self-directed one's patient Task), enqueue the reminder job
//
//	Delete ──> put the delete marker ──> remove the rows of the resource
//
// Any mapping or domain error is EUNPROCESSABLE with the mapping's issues,
// and the caller's transaction fails with it.

// Ids of the Tasks socialrx creates for a prescription: a prefix and the
// first 40 hex digits of the SHA-256 of the ServiceRequest id, so that a
// resend finds them and any ServiceRequest id gives a valid FHIR id.
const (
	followUpTaskPrefix = "fu-"
	patientTaskPrefix  = "pt-"
)

// FollowUpTaskID returns the id of the follow-up Task socialrx creates for
// the prescription held by ServiceRequest/srID.
func FollowUpTaskID(srID string) string { return followUpTaskPrefix + hashID(srID) }

// PatientTaskID returns the id of the patient Task socialrx creates for a
// self-directed prescription held by ServiceRequest/srID.
func PatientTaskID(srID string) string { return patientTaskPrefix + hashID(srID) }

func hashID(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:40]
}

// unprocessable turns a mapping or domain error into EUNPROCESSABLE, keeping
// its message and issues (paths, never values); other errors pass.
func unprocessable(err error) error {
	var se *socialrx.Error
	if errors.As(err, &se) && (se.Code == socialrx.EINVALID || se.Code == socialrx.EUNPROCESSABLE) {
		return &socialrx.Error{Code: socialrx.EUNPROCESSABLE, Message: se.Message, Issues: se.Issues}
	}
	return err
}

// resolver resolves "Type/id" references through the transaction, for
// mapping.PrescriptionFromServiceRequest. Missing, deleted or unreadable
// resources are not resolved.
func (tx *Tx) resolver(ctx context.Context) mapping.Resolver {
	return func(ref string) ([]byte, bool) {
		typ, id, ok := strings.Cut(ref, "/")
		if !ok || typ == "" || id == "" || strings.Contains(id, "/") {
			return nil, false
		}
		r, err := tx.e.read(ctx, tx.q, typ, id)
		if err != nil {
			return nil, false
		}
		return r.Body, true
	}
}

// prepare runs before a resource is stamped and stored. For a
// social ServiceRequest (mapping.IsSocialServiceRequest) it reads the
// prescription (which must pass
// Prescription.Validate) and returns the body with the derived categories
// written in, and the prescription (ID set to id). Other types pass as they
// are, with a nil prescription.
func (tx *Tx) prepare(ctx context.Context, typ, id string, body []byte) ([]byte, *socialrx.Prescription, error) {
	if typ == "Task" {
		out, err := tx.prepareTask(ctx, body)
		return out, nil, err
	}
	if typ != "ServiceRequest" {
		return body, nil, nil
	}
	// An ordinary clinical order (a lab test, an imaging referral) is
	// stored as it is: only social prescriptions are read into the domain.
	if !mapping.IsSocialServiceRequest(body, tx.resolver(ctx)) {
		return body, nil, nil
	}
	p, err := mapping.PrescriptionFromServiceRequest(body, tx.resolver(ctx))
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
	p, ok, err := tx.prescriptionRow(ctx, r.PrescriptionID)
	if err != nil || !ok || p.form != string(socialrx.FormWarmHandoff) {
		return body, err
	}
	code, ok := mapping.HandoffCode(socialrx.Channel(p.channel))
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
// those of its previous version; p is the prescription prepare read, for a
// ServiceRequest.
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
		return tx.putFindings(ctx, res.Type, res.ID, fs)
	case "Condition":
		n, ok, err := mapping.NeedFromCondition(res.Body)
		if err != nil {
			return unprocessable(err)
		}
		if !ok {
			n = nil
		}
		return tx.putNeed(ctx, res.ID, n)
	case "ServiceRequest":
		if p == nil {
			// Not (or no longer) a social prescription.
			return tx.unproject(ctx, res.Type, res.ID)
		}
		if err := tx.putPrescription(ctx, p); err != nil {
			return err
		}
		if p.Status == "revoked" || p.Status == "entered-in-error" {
			return tx.cancelReferrals(ctx, p)
		}
		return tx.followOn(ctx, p)
	case "Task":
		return tx.projectTask(ctx, res)
	case "Appointment", "Communication":
		return tx.projectLinked(ctx, res)
	}
	return nil
}

// unproject removes the domain rows of a deleted resource.
func (tx *Tx) unproject(ctx context.Context, typ, id string) error {
	switch typ {
	case "Observation", "QuestionnaireResponse":
		return tx.putFindings(ctx, typ, id, nil)
	case "Condition":
		return tx.putNeed(ctx, id, nil)
	case "ServiceRequest":
		return tx.exec(ctx, `DELETE FROM prescriptions WHERE service_request_id = $1`, id)
	case "Task":
		if err := tx.exec(ctx, `DELETE FROM referrals WHERE task_id = $1`, id); err != nil {
			return err
		}
		return tx.exec(ctx, `DELETE FROM follow_ups WHERE task_id = $1`, id)
	}
	return nil
}

// projectTask writes the referral or follow-up a Task is. A referral whose
// status changed must make a move the state machine allows
// (socialrx.Referral.Move) from its previous row: on REST the store cannot
// tell which side sent the change, so a move legal for the requester or
// for the performer is accepted. Delivery state is socialrx's own and is
// kept from the previous row.
func (tx *Tx) projectTask(ctx context.Context, res *socialrx.Resource) error {
	r, isReferral, err := mapping.ReferralFromTask(res.Body)
	if err != nil {
		return unprocessable(err)
	}
	if isReferral {
		r.ID = res.ID
		prev, ok, err := tx.referral(ctx, res.ID)
		if err != nil {
			return err
		}
		if !ok {
			prev = nil
		}
		// Who moves the referral: the transaction's origin, except that on a
		// referral socialrx received (Incoming) the local staff writing over
		// REST are the performer.
		fromPlatform := tx.origin.EndpointID != ""
		actor := tx.origin.Actor
		if actor == "" {
			actor = socialrx.ActorRequester
		}
		if prev != nil {
			r.DeliveryState, r.DeliveryError = prev.DeliveryState, prev.DeliveryError
			r.EndpointID, r.Flag, r.Incoming = prev.EndpointID, prev.Flag, prev.Incoming
		} else if fromPlatform && actor == socialrx.ActorRequester {
			r.Incoming, r.EndpointID = true, tx.origin.EndpointID
		}
		if r.Incoming && !fromPlatform && actor == socialrx.ActorRequester {
			actor = socialrx.ActorPerformer
		}
		if prev != nil && prev.Status != r.Status {
			if err := tx.checkMove(prev, r, actor, fromPlatform); err != nil {
				return err
			}
		}
		if err := tx.exec(ctx, `DELETE FROM follow_ups WHERE task_id = $1`, res.ID); err != nil {
			return err
		}
		changed := prev == nil || prev.Status != r.Status || prev.BusinessStatus != r.BusinessStatus || prev.StatusReason != r.StatusReason
		switch {
		case actor == socialrx.ActorSystem:
			// socialrx's own bookkeeping: nothing to send.
		case fromPlatform && r.Incoming:
			// The requesting platform's own change (a revoke): nothing goes
			// back to it.
		case fromPlatform:
			if r.EndpointID == "" {
				r.EndpointID = tx.origin.EndpointID
			}
			if changed {
				if err := tx.writeBack(ctx, res, r, socialrx.WriteBackTask); err != nil {
					return err
				}
			}
		case r.Incoming:
			if err := tx.statusBack(ctx, res, r, prev); err != nil {
				return err
			}
		default:
			if err := tx.referralOut(ctx, res, r, prev); err != nil {
				return err
			}
		}
		return tx.putReferral(ctx, r)
	}
	if err := tx.exec(ctx, `DELETE FROM referrals WHERE task_id = $1`, res.ID); err != nil {
		return err
	}
	f, isFollowUp, err := mapping.FollowUpFromTask(res.Body)
	if err != nil {
		return unprocessable(err)
	}
	if !isFollowUp {
		f = nil
	}
	return tx.putFollowUp(ctx, res.ID, f)
}

// checkMove checks a referral's status change from prev to r, made by
// actor, against the state machine. lenient is for a platform's message:
// the platform's word is the record of what happened there, so an illegal
// move is kept and r.Flag says what was illegal (a legal one clears it).
// Otherwise an illegal move is refused (EUNPROCESSABLE). On REST for an
// outgoing referral (actor requester) the store cannot tell which side sent
// the change, so a move legal for the requester or the performer passes.
func (tx *Tx) checkMove(prev, r *socialrx.Referral, actor socialrx.Actor, lenient bool) error {
	at := r.LastChanged
	if at.IsZero() {
		at = tx.e.opts.Now()
	}
	try := func(a socialrx.Actor) error {
		q := *prev
		return q.Move(r.Status, a, r.StatusReason, at)
	}
	err := try(actor)
	if err != nil && actor != socialrx.ActorPerformer && !r.Incoming {
		err = try(socialrx.ActorPerformer)
	}
	if lenient {
		r.Flag = ""
		if err != nil {
			r.Flag = fmt.Sprintf("illegal status change %s -> %s by the %s", prev.Status, r.Status, actor)
		}
		return nil
	}
	if err != nil {
		return unprocessable(err)
	}
	return nil
}

// cancelReferrals cancels the open outgoing referrals of a prescription the
// practice revoked (or entered in error) without cancelling them itself:
// socialrx acts for the requester (socialrx.ActorSystem in the domain's
// words; the write is the requester's, so the platform is sent a
// revoke-service-request). Referrals socialrx received, and those already
// ended, are left as they are.
func (tx *Tx) cancelReferrals(ctx context.Context, p *socialrx.Prescription) error {
	if tx.origin.EndpointID != "" {
		return nil // a platform's own revoke: it knows
	}
	rows, err := tx.q.Query(ctx, `SELECT task_id FROM referrals WHERE prescription_id = $1 AND incoming = $2
AND status NOT IN ('rejected', 'cancelled', 'completed', 'failed', 'entered-in-error') ORDER BY task_id`, p.ID, false)
	if err != nil {
		return tx.e.translate(err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return tx.e.translate(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return tx.e.translate(err)
	}
	reason := "the prescription was revoked"
	if p.Status == "entered-in-error" {
		reason = "the prescription was entered in error"
	}
	for _, id := range ids {
		cur, err := tx.Read(ctx, "Task", id)
		if err != nil {
			return err
		}
		body, changed, err := mapping.ApplyTaskUpdate(cur.Body, []byte(`{"resourceType":"Task","status":"cancelled","statusReason":{"text":"`+reason+`"}}`), tx.e.opts.Now())
		if err != nil || !changed {
			return err
		}
		if _, _, err := tx.Update(ctx, "Task", id, body, 0); err != nil {
			return err
		}
	}
	return nil
}

// projectLinked sends an Appointment or Communication linked to a
// referral where it belongs: one a platform sent (performer, from its
// Endpoint) is written back to the EMR; one written here over REST goes to
// the referral's platform: a practice's note on a referral it sent as
// send-communication-from-requester, and, when socialrx hosts the program
// (an incoming referral), its staff's note as
// send-communication-from-provider and its booking as
// notify-add-appointment. A referral with no platform Endpoint (fax, phone)
// sends nothing.
func (tx *Tx) projectLinked(ctx context.Context, res *socialrx.Resource) error {
	if tx.origin.Actor == socialrx.ActorSystem {
		return nil
	}
	r, ok, err := tx.linkedReferral(ctx, res.Body)
	if err != nil || !ok {
		return err
	}
	if tx.origin.EndpointID != "" {
		if tx.origin.Actor != socialrx.ActorPerformer {
			return nil // the requesting platform's own resource: not echoed
		}
		return tx.writeBack(ctx, res, r, socialrx.WriteBackCreate)
	}
	if r.EndpointID == "" || r.DeliveryState == "" {
		return nil // never sent to a platform
	}
	var event socialrx.MessageEvent
	switch {
	case res.Type == "Communication" && r.Incoming:
		event = socialrx.EventCommunicationFromProvider
	case res.Type == "Communication":
		event = socialrx.EventCommunicationFromRequester
	case res.Type == "Appointment" && r.Incoming:
		event = socialrx.EventNotifyAddAppointment
	default:
		return nil // the practice's own appointments are not the program's business
	}
	return tx.enqueue(ctx, socialrx.OutboundMessage{
		Destination: socialrx.DestinationPlatform, EndpointID: r.EndpointID, Event: event,
		ResourceType: res.Type, ResourceID: res.ID, Version: res.VersionID, ReferralID: r.ID,
	})
}

// followOn creates what a new active prescription needs, once: its
// follow-up Task (due after the form's interval, see
// mapping.FollowUpDue), for a self-directed prescription the patient's
// Task, and the follow-up reminder job. "Once": when the follow-up Task
// exists (even deleted), nothing is done, so a resend of the ServiceRequest
// creates nothing. A prescription that is not active (draft, completed,
// revoked...) gets nothing until it is.
func (tx *Tx) followOn(ctx context.Context, p *socialrx.Prescription) error {
	if p.Status != "active" {
		return nil
	}
	fuID := FollowUpTaskID(p.ID)
	if _, exists, err := tx.lockCurrent(ctx, "Task", fuID); err != nil || exists {
		return err
	}
	now := tx.e.opts.Now().UTC()
	q := *p
	if q.AuthoredOn.IsZero() {
		q.AuthoredOn = now // FollowUpDue counts from authoredOn
	}
	due := mapping.FollowUpDue(q, tx.e.opts.FollowUpIntervals)
	f := socialrx.FollowUp{PrescriptionID: p.ID, PatientID: p.PatientID, Due: due, Status: "requested"}
	if refIs(p.RequesterID, "Practitioner", "PractitionerRole", "Organization") {
		f.Owner = p.RequesterID
	}
	f.Channel = socialrx.ContactPhone
	if pat, err := tx.e.read(ctx, tx.q, "Patient", p.PatientID); err == nil {
		f.Channel = preferredContact(pat.Body)
	}
	if _, err := tx.Create(ctx, "Task", fuID, mapping.FollowUpTask(f, fuID, now)); err != nil {
		return err
	}
	if p.Form == socialrx.FormSelfDirected {
		ptID := PatientTaskID(p.ID)
		_, exists, err := tx.lockCurrent(ctx, "Task", ptID)
		if err != nil {
			return err
		}
		if !exists {
			if _, err := tx.Create(ctx, "Task", ptID, mapping.PatientTask(*p, ptID, now)); err != nil {
				return err
			}
		}
	}
	if tx.e.opts.Jobs != nil {
		if err := tx.e.opts.Jobs.FollowUpReminder(ctx, tx.q, p.ID, due); err != nil {
			return tx.e.translate(err)
		}
		// A fax or phone hand-off needs a referral Task on the staff work
		// list. The EMR may send its own later in this transaction, so the
		// job that creates one when none exists runs after commit.
		if _, ok := mapping.HandoffCode(p.Channel); ok && p.Form == socialrx.FormWarmHandoff {
			if err := tx.e.opts.Jobs.HandoffTask(ctx, tx.q, p.ID); err != nil {
				return tx.e.translate(err)
			}
		}
	}
	return nil
}

// refIs reports whether ref is "Type/id" with Type one of types.
func refIs(ref string, types ...string) bool {
	typ, id, ok := strings.Cut(ref, "/")
	if !ok || id == "" {
		return false
	}
	for _, t := range types {
		if t == typ {
			return true
		}
	}
	return false
}

// preferredContact picks the follow-up channel from a Patient: the
// telecom with the best rank (rank 1 first, unranked last, then in order),
// email → email, sms → text, phone → phone; with no usable telecom, mail
// when the Patient has an address; else phone, the channel every practice
// can use.
func preferredContact(patient []byte) socialrx.ContactChannel {
	var pt struct {
		Telecom []struct {
			System string `json:"system"`
			Value  string `json:"value"`
			Use    string `json:"use"`
			Rank   int    `json:"rank"`
		} `json:"telecom"`
		Address []json.RawMessage `json:"address"`
	}
	if json.Unmarshal(patient, &pt) != nil {
		return socialrx.ContactPhone
	}
	best, bestRank := socialrx.ContactChannel(""), int(^uint(0)>>1)
	for _, t := range pt.Telecom {
		if t.Value == "" || t.Use == "old" {
			continue
		}
		var c socialrx.ContactChannel
		switch t.System {
		case "email":
			c = socialrx.ContactEmail
		case "sms":
			c = socialrx.ContactText
		case "phone":
			c = socialrx.ContactPhone
		default:
			continue
		}
		rank := t.Rank
		if rank <= 0 {
			rank = int(^uint(0)>>1) - 1
		}
		if rank < bestRank {
			best, bestRank = c, rank
		}
	}
	switch {
	case best != "":
		return best
	case len(pt.Address) > 0:
		return socialrx.ContactMail
	}
	return socialrx.ContactPhone
}

// exec runs a statement in the transaction, translating its error.
func (tx *Tx) exec(ctx context.Context, query string, args ...any) error {
	if _, err := tx.q.Exec(ctx, query, args...); err != nil {
		return tx.e.translate(err)
	}
	return nil
}
