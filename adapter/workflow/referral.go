package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/mapping"
)

// Referral changes and where they go (the decisions are the root
// package's route.go; this file gathers their facts and records the
// answers in the outbox):
//
//	referral Task written ──requester (EMR, REST)──> platform message, if the
//	   │                                             prescription's target has
//	   │                                             an active hl7-fhir-msg Endpoint
//	   ├──performer (platform message)────────────> write-back to the EMR, if
//	   │                                             the requester's Organization
//	   │                                             has an hl7-fhir-rest Endpoint
//	   │                                             or a default EMR is set
//	   └──program staff (a referral socialrx received) ──> status back to
//	                                                 the requesting platform
//	Appointment / Communication linked to a referral ──> LinkedMessage
//
// Each message gets a row in the outbox and a unique delivery job in the
// same transaction (OutboxTx.Enqueue). Its id is a UUID derived from what
// it carries (destination, resource version, event: MessageID), so the
// same change never makes two messages, and a retry resends the same id.

// projectReferral writes the referral r read from res, a referral Task
// version just stored: it keeps socialrx's own fields of the row before,
// checks the status change against the state machine, queues the message
// the change causes, and stores the row.
func (tx *Tx) projectReferral(ctx context.Context, res *socialrx.Resource, r *socialrx.Referral) error {
	prev, ok, err := tx.st.Referral(ctx, res.ID)
	if err != nil {
		return err
	}
	if !ok {
		prev = nil
	}
	actor := socialrx.ContinueReferral(prev, r, tx.origin)
	if tx.origin.Consent || (prev != nil && prev.DeliveryState == socialrx.DeliveryHeld) {
		socialrx.ContinueConsentHold(r, mapping.ConsentHoldOf(res.Body))
	}
	if err := socialrx.CheckReferralChange(prev, r, actor, tx.origin, tx.w.now()); err != nil {
		return unprocessable(err)
	}
	route, event := socialrx.NextMessage(prev, *r, actor, tx.origin)
	var held *hold
	switch route {
	case socialrx.RoutePlatform:
		if held, err = tx.referralOut(ctx, res, prev, r, event); err != nil {
			return err
		}
		if held == nil && prev != nil && prev.DeliveryState == socialrx.DeliveryHeld && !r.Incoming {
			// Released from a consent hold: the chart, told of the hold,
			// is told it is on its way again.
			if err := tx.writeBack(ctx, res, r, socialrx.WriteBackTask); err != nil {
				return err
			}
		} else if err := tx.handoffMoved(ctx, res, prev, r, held); err != nil {
			return err
		}
	case socialrx.RouteRequester:
		r.DeliveryState, r.DeliveryError = socialrx.DeliveryPending, ""
		if err := tx.enqueue(ctx, socialrx.DestinationPlatform, r.EndpointID, event, res, r.ID); err != nil {
			return err
		}
	case socialrx.RouteEMR:
		if err := tx.writeBack(ctx, res, r, event); err != nil {
			return err
		}
	}
	unhandled, err := tx.rejectedUnhandled(ctx, res.ID, prev, r)
	if err != nil {
		return err
	}
	if err := tx.dropOld(ctx, res); err != nil {
		return err
	}
	if err := tx.st.PutReferral(ctx, r); err != nil {
		return err
	}
	if err := tx.workList(ctx, res, r, unhandled); err != nil {
		return err
	}
	if err := tx.reReferred(ctx, prev, r); err != nil {
		return err
	}
	if held == nil && prev != nil && prev.DeliveryState == socialrx.DeliveryHeld && tx.origin.FromPlatform() {
		// A platform's report took the referral out of its hold: held
		// again while it is open and still not permitted.
		if held, err = tx.stillHeld(ctx, r); err != nil {
			return err
		}
	}
	if held != nil {
		// The change the consent check stopped is stored as written; the
		// hold is socialrx's next version of the Task.
		return tx.holdReferral(ctx, res.ID, held.code, held.why)
	}
	return nil
}

// workList puts the referral Task of a fax or phone warm hand-off on the
// staff work list: a work-list fact (Task?work-list=send-fax), whether the
// EMR sent the Task or socialrx created it; the Task itself is stored as
// sent. A referral held for consent is on the consent-needed work list
// instead. A rejected referral not re-referred (unhandled) is on the
// rejected-unhandled work list too (rejected.go).
func (tx *Tx) workList(ctx context.Context, res *socialrx.Resource, r *socialrx.Referral, unhandled bool) error {
	facts, err := tx.workListFacts(ctx, r, unhandled)
	if err != nil || len(facts) == 0 {
		return err
	}
	return tx.st.PutFacts(ctx, res.Type, res.ID, facts)
}

// workListFacts are the work-list facts of referral r (see workList).
func (tx *Tx) workListFacts(ctx context.Context, r *socialrx.Referral, unhandled bool) ([]socialrx.Fact, error) {
	fact := func(code string) socialrx.Fact {
		return socialrx.Fact{Param: FactWorkList, System: socialrx.CodeSystemBase + "task-code", Code: code}
	}
	var facts []socialrx.Fact
	if unhandled {
		facts = append(facts, fact(WorkListRejectedUnhandled))
	}
	if r.DeliveryState == socialrx.DeliveryHeld {
		return append(facts, fact(WorkListConsentNeeded)), nil
	}
	p, ok, err := tx.prescription(ctx, r.PrescriptionID)
	if err != nil || !ok || !socialrx.NeedsHandoffTask(*p) {
		return facts, err
	}
	if code, ok := mapping.HandoffCode(p.Channel); ok {
		facts = append(facts, fact(code))
	}
	return facts, nil
}

// FactWorkList is the derived search parameter of the staff work list
// (Task?work-list=send-fax, call-to-confirm, consent-needed,
// rejected-unhandled; call-patient, print-letter: reminder.go).
const FactWorkList = "work-list"

// WorkListConsentNeeded is the work list of referrals held for the
// patient's consent (Task?work-list=consent-needed; socialrx task-code).
const WorkListConsentNeeded = "consent-needed"

// referralOut sends the requester's change of r to the performer's
// platform when the prescription is a warm hand-off or navigator referral
// whose target has an active hl7-fhir-msg Endpoint. A target read by
// polling (hl7-fhir-rest) gets no message, but the referral names its
// Endpoint so the poller watches it; fax, phone and in person get nothing.
// With consent required, a change no Consent permits is not sent: the
// hold it needs is returned (nil: none; consent.go), and the referral's
// messages not yet sent are cancelled.
func (tx *Tx) referralOut(ctx context.Context, res *socialrx.Resource, prev, r *socialrx.Referral, event socialrx.MessageEvent) (*hold, error) {
	p, ok, err := tx.prescription(ctx, r.PrescriptionID)
	if err != nil || !ok {
		return nil, err
	}
	if p.Form != socialrx.FormWarmHandoff && p.Form != socialrx.FormNavigator {
		return nil, nil
	}
	resolve := Resolver(ctx, tx)
	ep, ok := mapping.EndpointFor(resolve, socialrx.ConnectionFHIRMessaging, p.Target, r.Performer)
	if !ok {
		if rest, ok := mapping.EndpointFor(resolve, socialrx.ConnectionFHIRREST, p.Target, r.Performer); ok && r.EndpointID == "" {
			r.EndpointID = rest.ID
		}
		return nil, nil
	}
	r.EndpointID = ep.ID
	if tx.w.opts.RequireConsent {
		permitted, why, err := tx.consentPermits(ctx, p, r)
		if err != nil {
			return nil, err
		}
		if !permitted {
			return tx.withhold(ctx, prev, r, why)
		}
	}
	r.DeliveryState, r.DeliveryError = socialrx.DeliveryPending, ""
	return nil, tx.enqueue(ctx, socialrx.DestinationPlatform, ep.ID, event, res, r.ID)
}

// handoffMoved writes back to the EMR a move of a fax or phone referral
// (one no platform carries: staff record the program's answers, e.g.
// accepted, completed), as a platform's report is written back: the
// chart would otherwise never learn them. Its creation is not (the EMR
// sent it, or socialrx made its hand-off Task from the EMR's prescription).
func (tx *Tx) handoffMoved(ctx context.Context, res *socialrx.Resource, prev, r *socialrx.Referral, held *hold) error {
	if held != nil || prev == nil || r.Incoming || r.DeliveryState != "" {
		return nil
	}
	p, ok, err := tx.prescription(ctx, r.PrescriptionID)
	if err != nil || !ok || !socialrx.NeedsHandoffTask(*p) {
		return err
	}
	return tx.writeBack(ctx, res, r, socialrx.WriteBackTask)
}

// writeBack queues the write-back of res (a version written on the
// performer's side) to the EMR of referral r (socialrx.WriteBackEMR).
func (tx *Tx) writeBack(ctx context.Context, res *socialrx.Resource, r *socialrx.Referral, op socialrx.MessageEvent) error {
	refs := []string{r.Requester}
	if p, ok, err := tx.prescription(ctx, r.PrescriptionID); err != nil {
		return err
	} else if ok && p.RequesterID != r.Requester {
		refs = append(refs, p.RequesterID)
	}
	requesterEMR := ""
	if ep, ok := mapping.EndpointFor(Resolver(ctx, tx), socialrx.ConnectionFHIRREST, refs...); ok {
		requesterEMR = ep.ID
	}
	epID, ok := socialrx.WriteBackEMR(requesterEMR, tx.w.opts.DefaultEMR)
	if !ok {
		return nil
	}
	return tx.enqueue(ctx, socialrx.DestinationEMR, epID, op, res, r.ID)
}

// projectLinked sends an Appointment or Communication linked to a
// referral where socialrx.LinkedMessage says.
func (tx *Tx) projectLinked(ctx context.Context, res *socialrx.Resource) error {
	if tx.origin.Actor == socialrx.ActorSystem {
		return nil
	}
	r, ok, err := tx.linkedReferral(ctx, res.Body)
	if err != nil || !ok {
		return err
	}
	route, event := socialrx.LinkedMessage(res.Type, *r, tx.origin)
	switch route {
	case socialrx.RouteEMR:
		return tx.writeBack(ctx, res, r, event)
	case socialrx.RoutePlatform:
		if ok, err := tx.linkedPermitted(ctx, r); err != nil || !ok {
			return err // not shared: no Consent permits it
		}
		return tx.enqueue(ctx, socialrx.DestinationPlatform, r.EndpointID, event, res, r.ID)
	case socialrx.RouteRequester:
		return tx.enqueue(ctx, socialrx.DestinationPlatform, r.EndpointID, event, res, r.ID)
	}
	return nil
}

// linkedReferral finds the referral an Appointment or Communication is
// about: a Task in partOf or about (that referral), or a ServiceRequest in
// basedOn (the referral of that prescription).
func (tx *Tx) linkedReferral(ctx context.Context, body []byte) (*socialrx.Referral, bool, error) {
	type ref struct {
		Reference string `json:"reference"`
	}
	var doc struct {
		BasedOn []ref `json:"basedOn"`
		PartOf  []ref `json:"partOf"`
		About   []ref `json:"about"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return nil, false, nil
	}
	for _, l := range [][]ref{doc.PartOf, doc.About} {
		for _, rf := range l {
			if id, ok := strings.CutPrefix(rf.Reference, "Task/"); ok {
				if r, ok, err := tx.st.Referral(ctx, id); err != nil || ok {
					return r, ok, err
				}
			}
		}
	}
	for _, rf := range doc.BasedOn {
		if id, ok := strings.CutPrefix(rf.Reference, "ServiceRequest/"); ok {
			rs, err := tx.st.ReferralsOf(ctx, id)
			if err != nil || len(rs) > 0 {
				if len(rs) == 0 {
					return nil, false, err
				}
				return &rs[0], true, err
			}
		}
	}
	return nil, false, nil
}

// enqueue records the message that carries res to endpointID for event,
// about referral referralID, with its delivery job.
func (tx *Tx) enqueue(ctx context.Context, destination, endpointID string, event socialrx.MessageEvent, res *socialrx.Resource, referralID string) error {
	err := tx.st.Enqueue(ctx, socialrx.OutboundMessage{
		ID:          MessageID(destination, res.Type, res.ID, res.VersionID, event),
		Destination: destination, EndpointID: endpointID, Event: event,
		ResourceType: res.Type, ResourceID: res.ID, Version: res.VersionID, ReferralID: referralID,
	})
	return err
}

// FinishMessage records the end of a delivery attempt of outbox message id
// (OutboxTx.FinishOutbound) and, for a platform message that ended
// (delivered or failed), its referral's delivery state, in one
// transaction: failed is also written on the referral Task (extension
// delivery-state, so Task?delivery-state=failed finds it), as socialrx's
// own change that sends nothing; delivered once none of its messages is
// pending. A message that is no longer pending is left as it is (ok
// false). reason is cut to socialrx.MaxReason bytes.
func (w *Workflow) FinishMessage(ctx context.Context, id, state string, attempts int, reason string) (bool, error) {
	if state == socialrx.DeliveryDelivered {
		reason = ""
	}
	reason = socialrx.TruncateReason(reason)
	var finished bool
	err := w.Transact(ctx, func(tx *Tx) error {
		m, ok, err := tx.st.FinishOutbound(ctx, id, state, attempts, reason)
		finished = ok
		if err != nil || !ok {
			return err
		}
		if err := tx.auditTransmit(ctx, m, state, reason); err != nil {
			return err
		}
		if m.Destination == socialrx.DestinationPatient && state != socialrx.DeliveryPending {
			return tx.reminderFinished(ctx, m, state)
		}
		if m.Destination != socialrx.DestinationPlatform || m.ReferralID == "" || state == socialrx.DeliveryPending {
			return nil
		}
		if state == socialrx.DeliveryDelivered {
			return tx.st.MarkReferralDelivery(ctx, m.ReferralID, state, "")
		}
		return tx.referralFailed(ctx, m.ReferralID, reason)
	})
	if err != nil {
		return false, fmt.Errorf("finish message %s: %w", id, err)
	}
	return finished, nil
}

// referralFailed marks referral Task/id failed to deliver: on the Task
// (mapping.MarkDelivery, written as socialrx's own change) and on its row.
func (tx *Tx) referralFailed(ctx context.Context, id, reason string) error {
	if _, ok, err := tx.st.Referral(ctx, id); err != nil || !ok {
		return err
	}
	if reason == "" {
		reason = "delivery failed"
	}
	cur, err := tx.st.Read(ctx, "Task", id)
	if err != nil {
		return err
	}
	body, err := mapping.MarkDelivery(cur.Body, socialrx.DeliveryFailed, reason)
	if err != nil {
		return err
	}
	tx.SetOrigin(socialrx.Origin{Actor: socialrx.ActorSystem})
	if _, _, err := tx.Update(ctx, "Task", id, body, 0); err != nil {
		return err
	}
	return tx.st.MarkReferralDelivery(ctx, id, socialrx.DeliveryFailed, reason)
}
