package socialrx

import (
	"fmt"
	"time"
)

// The workflow's decisions about referrals, as pure functions: who is
// making a change, whether the state machine allows it, and where the
// change must be sent. adapter/workflow gathers the facts (the stored
// referral, the transaction's Origin, the Endpoints it can find) and acts
// on these answers inside the store transaction; the decisions themselves
// need no database and are table-tested in route_test.go.
//
//	a referral Task version is written
//	   │
//	   ├─ ContinueReferral: keep socialrx's own fields, decide the actor
//	   ├─ CheckReferralChange: the state machine (a platform's report is
//	   │  kept and flagged when illegal, a local write is refused)
//	   └─ NextMessage: where it goes
//	        RoutePlatform   the requester's change → the performer's platform
//	        RouteRequester  the program's change (socialrx received the
//	                        referral) → back to the requesting platform
//	        RouteEMR        a platform's report → the practice's EMR
//	        RouteNone       nothing (socialrx's own bookkeeping, an echo,
//	                        no change, never sent)

// Route is where a change about a referral is sent.
type Route string

// The routes.
const (
	RouteNone      Route = ""          // nothing is sent
	RoutePlatform  Route = "platform"  // an eReferral message to the performer's platform
	RouteRequester Route = "requester" // a message back to the platform a received referral came from
	RouteEMR       Route = "emr"       // a FHIR REST write-back to the practice's EMR
)

// FromPlatform reports whether the writes are a platform's report (a
// message on $process-messages or a polled Task): o names its Endpoint.
func (o Origin) FromPlatform() bool { return o.EndpointID != "" }

// ContinueReferral completes next, the referral read from a new version of
// its Task, with what socialrx keeps itself (delivery state and error, the
// platform Endpoint, a flag, whether it was received) from prev, the row
// of the version before (nil for a new referral), and returns who makes
// the change:
//
//   - the Origin's actor (ActorRequester when unset);
//   - a new referral written from a platform as the requester is one
//     socialrx received (Incoming, from that Endpoint);
//   - on a received referral, local writes are the program staff's
//     (ActorPerformer), not the requester's;
//   - a platform's report names that platform as the referral's Endpoint
//     when none is recorded.
func ContinueReferral(prev, next *Referral, o Origin) Actor {
	actor := o.Actor
	if actor == "" {
		actor = ActorRequester
	}
	if prev != nil {
		next.DeliveryState, next.DeliveryError = prev.DeliveryState, prev.DeliveryError
		next.EndpointID, next.Flag, next.Incoming = prev.EndpointID, prev.Flag, prev.Incoming
	} else if o.FromPlatform() && actor == ActorRequester {
		next.Incoming, next.EndpointID = true, o.EndpointID
	}
	if next.Incoming && !o.FromPlatform() && actor == ActorRequester {
		actor = ActorPerformer
	}
	if o.FromPlatform() && !next.Incoming && actor != ActorSystem && next.EndpointID == "" {
		next.EndpointID = o.EndpointID
	}
	return actor
}

// CheckReferralChange checks next's status against prev's (nil: a new
// referral, nothing to check) by the state machine, for actor. A
// platform's report (o.FromPlatform) is the record of what happened there:
// an illegal move is kept and next.Flag says what was illegal (a legal one
// clears it), and the result is nil. A local write with an illegal move is
// refused (the EUNPROCESSABLE error of Referral.Move). socialrx's own
// consent hold or release (o.Consent) is checked by the consent rules, the
// requester may take a referral out of a consent hold to any status but
// draft, and a platform's report on a held referral is kept unflagged (the
// platform never saw the hold) (consent.go). On an outgoing
// referral written locally as the requester, the store cannot tell which
// side sent the change over REST, so a move legal for the requester or the
// performer passes, unless socialrx delivers the referral to a platform
// (Referral.DeliveredToPlatform): then only the requester's moves do. now
// is the time of the change when next has none.
func CheckReferralChange(prev, next *Referral, actor Actor, o Origin, now time.Time) error {
	if prev == nil || prev.Status == next.Status {
		return nil
	}
	if o.Consent {
		return checkConsentMove(prev, next) // socialrx's own hold or release (consent.go)
	}
	if leavesConsentHold(prev, next, actor, o) {
		return nil
	}
	if prev.DeliveryState == DeliveryHeld && o.FromPlatform() {
		next.Flag = "" // the hold is socialrx's own: the platform moved from the status it knew
		return nil
	}
	at := next.LastChanged
	if at.IsZero() {
		at = now
	}
	try := func(a Actor) error {
		q := *prev
		return q.Move(next.Status, a, next.StatusReason, at)
	}
	err := try(actor)
	if err != nil && actor != ActorPerformer && !next.Incoming && !(actor == ActorRequester && prev.DeliveredToPlatform()) {
		err = try(ActorPerformer)
	}
	if o.FromPlatform() {
		next.Flag = ""
		if err != nil {
			next.Flag = fmt.Sprintf("illegal status change %s -> %s by the %s", prev.Status, next.Status, actor)
		}
		return nil
	}
	return err
}

// changed reports whether next differs from prev in what a receiver is
// told: status, business status or reason.
func changed(prev *Referral, next Referral) bool {
	return prev == nil || prev.Status != next.Status || prev.BusinessStatus != next.BusinessStatus || prev.StatusReason != next.StatusReason
}

// neverSent reports whether no message about the referral was ever queued
// (a referral held because consent was needed was never sent).
func neverSent(prev *Referral) bool {
	return prev == nil || prev.DeliveryState == "" || (prev.DeliveryState == DeliveryHeld && prev.DeliveryError == HoldConsentNeeded)
}

// NextMessage decides where a referral change goes, and as which event:
// prev is the referral before the write (nil for a new one), next after
// it (completed by ContinueReferral), actor who made it, o the
// transaction's Origin.
//
//   - socialrx's own bookkeeping (ActorSystem) sends nothing, except a
//     change of an outgoing referral's status, business status or reason
//     (a consent hold or release, a cancel by a revoked prescription),
//     written back to the EMR (WriteBackTask) as a platform's report is;
//   - the requesting platform's own change to a referral socialrx received
//     (a revoke) sends nothing back to it;
//   - a platform's report that changed status, business status or reason
//     is written back to the EMR (WriteBackTask);
//   - a received referral whose status, business status or reason the
//     program changed goes back to the requesting platform:
//     notify-add-process-request the first time, then
//     notify-update-process-request;
//   - the requester's change of an outgoing referral's status goes to the
//     performer's platform: add-service-request the first time it leaves
//     draft, then notify-update-service-request, or revoke-service-request
//     for cancelled and entered-in-error; a draft, a change that leaves
//     the status as it was, and a referral ended before it was ever sent
//     send nothing.
//
// RoutePlatform is only a candidate: the workflow sends it when the
// prescription is a warm hand-off or navigator referral whose target has
// an hl7-fhir-msg Endpoint.
func NextMessage(prev *Referral, next Referral, actor Actor, o Origin) (Route, MessageEvent) {
	switch {
	case actor == ActorSystem && !next.Incoming && prev != nil && changed(prev, next):
		// socialrx's own move of an outgoing referral (a consent hold or
		// its release, the cancel that revoking a prescription makes):
		// the chart must show it, as it shows the platform's.
		return RouteEMR, WriteBackTask
	case actor == ActorSystem:
		return RouteNone, ""
	case o.FromPlatform() && next.Incoming:
		return RouteNone, ""
	case o.FromPlatform():
		if changed(prev, next) {
			return RouteEMR, WriteBackTask
		}
		return RouteNone, ""
	case next.Incoming:
		if next.EndpointID == "" || !changed(prev, next) {
			return RouteNone, ""
		}
		if neverSent(prev) {
			return RouteRequester, EventNotifyAddProcessRequest
		}
		return RouteRequester, EventNotifyUpdateProcessRequest
	}
	if next.Status == ReferralDraft || (prev != nil && prev.Status == next.Status) {
		return RouteNone, ""
	}
	if neverSent(prev) {
		if next.Status.Terminal() {
			return RouteNone, "" // ended before it was ever sent: nothing to tell
		}
		return RoutePlatform, EventAddServiceRequest
	}
	if next.Status == ReferralCancelled || next.Status == ReferralEnteredInError {
		return RoutePlatform, EventRevokeServiceRequest
	}
	return RoutePlatform, EventNotifyUpdateServiceRequest
}

// LinkedMessage decides where an Appointment or Communication
// (resourceType) about referral r goes, written with Origin o:
//
//   - socialrx's own writes send nothing;
//   - one a platform sent as the performer is written back to the EMR
//     (WriteBackCreate); the requesting platform's own is not echoed;
//   - one written here about a referral that went to (or came from) a
//     platform goes to that platform: the practice's note as
//     send-communication-from-requester; when socialrx hosts the program
//     (r.Incoming), its staff's note as send-communication-from-provider
//     and its booking as notify-add-appointment. The practice's own
//     appointments are not the program's business, and a referral never
//     sent to a platform (fax, phone) or held for consent sends nothing.
func LinkedMessage(resourceType string, r Referral, o Origin) (Route, MessageEvent) {
	switch {
	case o.Actor == ActorSystem:
		return RouteNone, ""
	case o.FromPlatform():
		if o.Actor != ActorPerformer {
			return RouteNone, ""
		}
		return RouteEMR, WriteBackCreate
	case r.EndpointID == "" || r.DeliveryState == "" || r.DeliveryState == DeliveryHeld:
		return RouteNone, ""
	case resourceType == "Communication" && r.Incoming:
		return RouteRequester, EventCommunicationFromProvider
	case resourceType == "Communication":
		return RoutePlatform, EventCommunicationFromRequester
	case resourceType == "Appointment" && r.Incoming:
		return RouteRequester, EventNotifyAddAppointment
	}
	return RouteNone, ""
}

// WriteBackEMR decides which EMR a referral's changes are written back to:
// requesterEMR, the id of an active hl7-fhir-rest Endpoint of the
// requester (its PractitionerRole's Organization, or the Organization)
// when the workflow found one, else the default EMR (serve
// --emr-endpoint, EMRDefaultEndpointID) when one is configured; ok is
// false when there is none: nothing is written back.
func WriteBackEMR(requesterEMR string, defaultEMR bool) (endpointID string, ok bool) {
	switch {
	case requesterEMR != "":
		return requesterEMR, true
	case defaultEMR:
		return EMRDefaultEndpointID, true
	}
	return "", false
}

// RevokedPrescription reports whether a prescription in status (the
// ServiceRequest's) is withdrawn, so that its open outgoing referrals are
// cancelled on the requester's behalf, and the statusReason they get.
func RevokedPrescription(status string) (reason string, ok bool) {
	switch status {
	case "revoked":
		return "the prescription was revoked", true
	case "entered-in-error":
		return "the prescription was entered in error", true
	}
	return "", false
}
