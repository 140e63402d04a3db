package socialrx

import (
	"strings"
	"time"
)

// Referral is the hand-off of a warm hand-off or navigator prescription to
// the program or navigator, held in FHIR as a Task of the SDOH CC profile
// TaskForReferralManagement (code fulfill, focus the ServiceRequest). Its
// Status is driven by the state machine of ReferralStatus: change it with
// Move, never by assignment, so that illegal changes are refused.
// Non-electronic channels (fax, phone) use the same Task and statuses as a
// work-list item for staff.
type Referral struct {
	ID             string         // the Task id
	PrescriptionID string         // the ServiceRequest id (Task.focus)
	PatientID      string         // Task.for
	Requester      string         // Task.requester: "PractitionerRole/<id>", "Practitioner/<id>" or "Organization/<id>"
	Performer      string         // Task.owner: "HealthcareService/<id>", "Organization/<id>", "PractitionerRole/<id>" or "Practitioner/<id>"
	Status         ReferralStatus // Task.status
	BusinessStatus string         // Task.businessStatus text, as the platform sent it (e.g. "booked", "waitlisted"); describes Status
	StatusReason   string         // Task.statusReason text; required for rejected, cancelled, on-hold and failed
	LastChanged    time.Time      // when Status last changed (Task.lastModified)

	// DeliveryState is how far socialrx got in delivering the hand-off to
	// the performer's platform: "" when socialrx does not deliver it (a
	// phone or in-person hand-off, or socialrx is the receiving side),
	// else DeliveryPending, DeliveryDelivered, DeliveryFailed, or
	// DeliveryHeld while no Consent permits sharing it (consent.go).
	DeliveryState string
	// DeliveryError says why delivery failed for good (dead-lettered), or,
	// when DeliveryState is DeliveryHeld, the code of the consent hold
	// (consent.go); set only in those states. It names codes and ids,
	// never PHI.
	DeliveryError string
	// EndpointID is the platform Endpoint the referral is delivered to
	// (or, when socialrx is the receiving side, came from); "" when none.
	EndpointID string
	// Incoming is true when socialrx is the receiving side: the referral
	// came from the platform EndpointID (add-service-request) for a
	// program or navigator working in socialrx, and its status changes go
	// back to that platform.
	Incoming bool
	// Flag is set when a platform sent a status change the state machine
	// forbids: the change is kept (the platform's word is the record) and
	// Flag says what was illegal, for staff to resolve. It names statuses
	// and the actor, never PHI.
	Flag string
}

// The delivery states of a Referral (Referral.DeliveryState).
const (
	DeliveryPending   = "pending"   // queued or being retried
	DeliveryDelivered = "delivered" // the platform acknowledged the message
	DeliveryFailed    = "failed"    // permanent failure, dead-lettered; see DeliveryError
)

// ReferralStatus is the status of a referral Task: the FHIR R4 Task statuses
// that the SDOH CC referral Task status value set allows
// (http://hl7.org/fhir/task-status; "ready" is not used for referrals).
type ReferralStatus string

// The referral statuses.
const (
	ReferralDraft          ReferralStatus = "draft"            // not yet ready to be acted upon
	ReferralRequested      ReferralStatus = "requested"        // sent; action is sought
	ReferralReceived       ReferralStatus = "received"         // the performer has it and is evaluating it
	ReferralAccepted       ReferralStatus = "accepted"         // the performer agreed to do it, not yet started
	ReferralRejected       ReferralStatus = "rejected"         // the performer declined before acting
	ReferralCancelled      ReferralStatus = "cancelled"        // stopped before completion
	ReferralOnHold         ReferralStatus = "on-hold"          // started (or accepted), paused: e.g. a wait list
	ReferralInProgress     ReferralStatus = "in-progress"      // started, not complete
	ReferralCompleted      ReferralStatus = "completed"        // done
	ReferralFailed         ReferralStatus = "failed"           // attempted but could not be completed
	ReferralEnteredInError ReferralStatus = "entered-in-error" // should never have existed
)

// AllReferralStatuses returns the referral statuses in the order of the
// workflow. The slice is new on every call.
func AllReferralStatuses() []ReferralStatus {
	return []ReferralStatus{
		ReferralDraft, ReferralRequested, ReferralReceived, ReferralAccepted, ReferralRejected,
		ReferralCancelled, ReferralOnHold, ReferralInProgress, ReferralCompleted, ReferralFailed,
		ReferralEnteredInError,
	}
}

// Valid reports whether s is one of AllReferralStatuses.
func (s ReferralStatus) Valid() bool { return s.Display() != "" }

// Display returns the display of s in http://hl7.org/fhir/task-status, or
// "" when s is not a referral status.
func (s ReferralStatus) Display() string {
	switch s {
	case ReferralDraft:
		return "Draft"
	case ReferralRequested:
		return "Requested"
	case ReferralReceived:
		return "Received"
	case ReferralAccepted:
		return "Accepted"
	case ReferralRejected:
		return "Rejected"
	case ReferralCancelled:
		return "Cancelled"
	case ReferralOnHold:
		return "On Hold"
	case ReferralInProgress:
		return "In Progress"
	case ReferralCompleted:
		return "Completed"
	case ReferralFailed:
		return "Failed"
	case ReferralEnteredInError:
		return "Entered in Error"
	}
	return ""
}

// Terminal reports whether s ends the referral: rejected, cancelled,
// completed, failed and entered-in-error. The only way out of a terminal
// status is to entered-in-error, by the requester.
func (s ReferralStatus) Terminal() bool {
	switch s {
	case ReferralRejected, ReferralCancelled, ReferralCompleted, ReferralFailed, ReferralEnteredInError:
		return true
	}
	return false
}

// NeedsReason reports whether moving to s requires a StatusReason:
// rejected, cancelled, on-hold and failed, so that the other side, and the
// practice deciding on an alternative prescription, know why.
func (s ReferralStatus) NeedsReason() bool {
	switch s {
	case ReferralRejected, ReferralCancelled, ReferralOnHold, ReferralFailed:
		return true
	}
	return false
}

// Actor is the party changing a referral's status.
type Actor string

// The actors. ActorSystem is socialrx itself acting for the requesting
// practice (e.g. cancelling the referral when the ServiceRequest is
// revoked) and may do what the requester may. When socialrx hosts the
// receiving program or navigator, its changes are made as ActorPerformer.
const (
	ActorRequester Actor = "requester" // the referring practice (Task.requester)
	ActorPerformer Actor = "performer" // the program or navigator (Task.owner)
	ActorSystem    Actor = "system"    // socialrx, on the requester's side
)

// Valid reports whether a is one of the actors.
func (a Actor) Valid() bool {
	return a == ActorRequester || a == ActorPerformer || a == ActorSystem
}

// party is a set of actors allowed to make a transition.
type party uint8

const (
	byRequester party = 1 << iota // also ActorSystem
	byPerformer
	byEither = byRequester | byPerformer
)

func (p party) allows(a Actor) bool {
	switch a {
	case ActorRequester, ActorSystem:
		return p&byRequester != 0
	case ActorPerformer:
		return p&byPerformer != 0
	}
	return false
}

// referralMoves is the referral state machine: from → to → who may move
// it. It follows the FHIR R4 Task state machine
// (http://hl7.org/fhir/R4/task.html#statemachine) and the "set by" column
// of the SDOH CC TaskForReferralManagement status table. It is read only.
// The choices the sources leave open:
//   - the performer may cancel only work it has accepted (accepted,
//     in-progress, on-hold); before that, declining is rejected;
//   - accepted may go straight to completed or failed: platforms that are
//     polled, or that never report starting, skip in-progress;
//   - on-hold resumes to in-progress only; finishing or failing a paused
//     referral goes through in-progress, giving it up is cancelled;
//   - on-hold is the performer's (a wait list); the requester pauses
//     nothing, it cancels.
//
// A same-status move is not in the table: it is always a no-op.
var referralMoves = map[ReferralStatus]map[ReferralStatus]party{
	ReferralDraft: {
		ReferralRequested:      byRequester,
		ReferralCancelled:      byRequester,
		ReferralEnteredInError: byRequester,
	},
	ReferralRequested: {
		ReferralReceived:       byPerformer,
		ReferralAccepted:       byPerformer,
		ReferralRejected:       byPerformer,
		ReferralCancelled:      byRequester,
		ReferralEnteredInError: byRequester,
	},
	ReferralReceived: {
		ReferralAccepted:       byPerformer,
		ReferralRejected:       byPerformer,
		ReferralCancelled:      byRequester,
		ReferralEnteredInError: byRequester,
	},
	ReferralAccepted: {
		ReferralInProgress:     byPerformer,
		ReferralOnHold:         byPerformer,
		ReferralCompleted:      byPerformer,
		ReferralFailed:         byPerformer,
		ReferralCancelled:      byEither,
		ReferralEnteredInError: byRequester,
	},
	ReferralInProgress: {
		ReferralOnHold:         byPerformer,
		ReferralCompleted:      byPerformer,
		ReferralFailed:         byPerformer,
		ReferralCancelled:      byEither,
		ReferralEnteredInError: byRequester,
	},
	ReferralOnHold: {
		ReferralInProgress:     byPerformer,
		ReferralCancelled:      byEither,
		ReferralEnteredInError: byRequester,
	},
	ReferralRejected:       {ReferralEnteredInError: byRequester},
	ReferralCancelled:      {ReferralEnteredInError: byRequester},
	ReferralCompleted:      {ReferralEnteredInError: byRequester},
	ReferralFailed:         {ReferralEnteredInError: byRequester},
	ReferralEnteredInError: {},
}

// Paths of Referral fields on the referral Task.
const (
	pathTaskStatus       = "Task.status"
	pathTaskStatusReason = "Task.statusReason"
	pathTaskLastModified = "Task.lastModified"
	pathTaskFocus        = "Task.focus"
	pathTaskFor          = "Task.for"
	pathTaskRequester    = "Task.requester"
	pathTaskOwner        = "Task.owner"
	pathTaskExtension    = "Task.extension" // delivery state is socialrx's, not FHIR's
)

// CanMove reports, as nil or an EUNPROCESSABLE *Error with one issue on
// Task.status naming from, to and the actor, whether actor by may move a
// referral from s to to. Moving to the same status is always allowed (a
// no-op, so duplicate and echoed messages are harmless). The state machine,
// R = requester (or system), P = performer:
//
//	           R                P                 P
//	draft ---------> requested ------> received ------> rejected
//	                   |    |             |                ^
//	                   |    +-------------|-------P--------+
//	                   P                  P
//	                   v                  |
//	                accepted <------------+
//	                 |  |  |
//	                 |  |  +------P------> completed, failed
//	                 |  P
//	                 |  v
//	                 | in-progress --P---> completed, failed
//	                 |  ^     |
//	                 P  P     P
//	                 v  |     v
//	                on-hold <-+
//
//	draft, requested, received          --R-->      cancelled
//	accepted, in-progress, on-hold      --R or P--> cancelled
//	every status                        --R-->      entered-in-error
//
// Rejected, cancelled, completed, failed and entered-in-error are terminal:
// nothing leaves them but the requester's move to entered-in-error.
func (s ReferralStatus) CanMove(to ReferralStatus, by Actor) error {
	var is issues
	s.checkMove(&is, to, by)
	return is.err("illegal referral status change")
}

// checkMove adds to is the issue, if any, that makes s → to by actor by
// illegal.
func (s ReferralStatus) checkMove(is *issues, to ReferralStatus, by Actor) {
	switch {
	case !s.Valid():
		is.add(issueValue, pathTaskStatus, "current status is not a referral status")
	case !to.Valid():
		is.add(issueValue, pathTaskStatus, "new status is not a referral status (from %s)", s)
	case !by.Valid():
		is.add(issueValue, pathTaskStatus, "actor is not requester, performer or system (from %s to %s)", s, to)
	case s == to:
	case s.Terminal() && !referralMoves[s][to].allows(by):
		is.add(issueBusinessRule, pathTaskStatus, "%s may not move a referral from %s to %s: %s is terminal, left only for entered-in-error by the requester", by, s, to, s)
	case referralMoves[s][to] == 0:
		is.add(issueBusinessRule, pathTaskStatus, "no referral moves from %s to %s, whoever asks (%s)", s, to, by)
	case !referralMoves[s][to].allows(by):
		is.add(issueBusinessRule, pathTaskStatus, "%s may not move a referral from %s to %s; only the %s may", by, s, to, referralMoves[s][to].names())
	}
}

// names says who party p is, for messages.
func (p party) names() string {
	switch p {
	case byRequester:
		return "requester"
	case byPerformer:
		return "performer"
	}
	return "requester or performer"
}

// Move changes r's status to to on behalf of actor by at time at, after
// checking the state machine (see ReferralStatus.CanMove) and the reason
// rule: moving to rejected, cancelled, on-hold or failed needs a non-blank
// reason (Task.statusReason). at is required (Task.lastModified).
//
// A move to the current status is a no-op: r is left as it is and Move
// returns nil, whatever the actor and reason, so duplicates and echoes are
// harmless. Otherwise, on success Move sets Status, StatusReason (to reason,
// which may be empty for statuses that need none), LastChanged (to at) and
// clears BusinessStatus, which described the old status: set the new one
// after Move. On failure r is unchanged and the error is an EUNPROCESSABLE
// *Error with an issue for every rule broken.
func (r *Referral) Move(to ReferralStatus, by Actor, reason string, at time.Time) error {
	if to == r.Status && to.Valid() {
		return nil
	}
	var is issues
	r.Status.checkMove(&is, to, by)
	if to.NeedsReason() && blank(reason) {
		is.add(issueRequired, pathTaskStatusReason, "a reason is required to move a referral to %s", to)
	}
	if at.IsZero() {
		is.add(issueRequired, pathTaskLastModified, "the time of the change is required")
	}
	if err := is.err("illegal referral status change"); err != nil {
		return err
	}
	r.Status = to
	r.StatusReason = strings.TrimSpace(reason)
	r.LastChanged = at
	r.BusinessStatus = ""
	return nil
}

// Validate checks a Referral and returns an EUNPROCESSABLE *Error listing
// every rule broken, or nil. The rules:
//   - PrescriptionID is set (Task.focus);
//   - PatientID is set (Task.for);
//   - Requester is set and references a Practitioner, PractitionerRole or
//     Organization (Task.requester);
//   - Performer is set once the referral leaves draft, and when set
//     references a HealthcareService, Organization, PractitionerRole or
//     Practitioner (Task.owner);
//   - Status is a referral status (Task.status);
//   - StatusReason is set when Status is rejected, cancelled, on-hold or
//     failed (Task.statusReason);
//   - DeliveryState is "", pending, delivered, failed or held, and
//     DeliveryError is set exactly when it is failed or held (a hold's
//     code) (Task.extension: both are socialrx's own bookkeeping).
//
// ID may be empty (a referral not stored yet).
func (r *Referral) Validate() error {
	var is issues
	if blank(r.PrescriptionID) {
		is.add(issueRequired, pathTaskFocus, "the prescription referred is required")
	}
	if blank(r.PatientID) {
		is.add(issueRequired, pathTaskFor, "patient is required")
	}
	switch {
	case r.Requester == "":
		is.add(issueRequired, pathTaskRequester, "requester is required")
	case !refIsOneOf(r.Requester, "Practitioner", "PractitionerRole", "Organization"):
		is.add(issueValue, pathTaskRequester, "requester must reference a Practitioner, PractitionerRole or Organization")
	}
	switch {
	case r.Performer == "" && r.Status != ReferralDraft:
		is.add(issueRequired, pathTaskOwner, "a referral that is not a draft needs a performer")
	case r.Performer != "" && !refIsOneOf(r.Performer, "HealthcareService", "Organization", "PractitionerRole", "Practitioner"):
		is.add(issueValue, pathTaskOwner, "performer must reference a HealthcareService, Organization, PractitionerRole or Practitioner")
	}
	if !r.Status.Valid() {
		is.add(issueValue, pathTaskStatus, "status is not a referral status")
	} else if r.Status.NeedsReason() && blank(r.StatusReason) {
		is.add(issueRequired, pathTaskStatusReason, "a referral that is %s needs a reason", r.Status)
	}
	switch r.DeliveryState {
	case "", DeliveryPending, DeliveryDelivered:
		if r.DeliveryError != "" {
			is.add(issueBusinessRule, pathTaskExtension, "deliveryError is set only when deliveryState is failed or held")
		}
	case DeliveryFailed:
		if blank(r.DeliveryError) {
			is.add(issueRequired, pathTaskExtension, "deliveryError is required when deliveryState is failed")
		}
	case DeliveryHeld:
		if HoldDisplay(r.DeliveryError) == "" {
			is.add(issueValue, pathTaskStatusReason, "a referral held for consent needs the hold's code (consent-needed, consent-revoked)")
		}
	default:
		is.add(issueValue, pathTaskExtension, "deliveryState is not pending, delivered, failed or held")
	}
	return is.err("invalid referral")
}

// DeliveredToPlatform reports whether socialrx delivers the outgoing
// referral r to its program's platform (delivery pending or delivered):
// the program's moves then come from the platform ($process-messages), so
// a local write may make only the requester's (CheckReferralChange), and
// the referral is not deleted (the platform would never be told).
func (r *Referral) DeliveredToPlatform() bool {
	return !r.Incoming && (r.DeliveryState == DeliveryPending || r.DeliveryState == DeliveryDelivered)
}
