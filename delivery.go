package socialrx

import (
	"context"
	"fmt"
	"time"
)

// Warm hand-offs leave socialrx as messages: eReferral message Bundles to a
// referral platform (Ocean-style, FHIR messaging on $process-messages), and
// FHIR REST writes back to the practice's EMR. Both go through one outbox:
// the write that causes a message records it (an OutboundMessage) and the
// job that delivers it in the same database transaction, so nothing is sent
// that was not committed and nothing committed is lost. Retries live only in
// the job queue; the clients behind the Platform and EMR ports make one
// attempt and classify its failure (SendError).
//
// The delivery state of one message:
//
//	pending ──2xx──> delivered
//	   │ ^
//	   │ └── retryable failure (network, timeout, 408, 429, 5xx): the job
//	   │     queue tries again later, with the same MessageHeader.id
//	   └──── permanent failure (other 4xx), or retries exhausted ──> failed
//	         (dead-lettered; the receiver's OperationOutcome text is kept)

// MessageEvent is an Ontario eReferral message event, a code of
// MessageEventSystem (MessageHeader.eventCoding).
type MessageEvent string

// MessageEventSystem is the Ontario eReferral message event code system
// (https://ehealthontario.ca/fhir/CodeSystem/message-event-code), used by
// Ocean eReferral.
const MessageEventSystem = "https://ehealthontario.ca/fhir/CodeSystem/message-event-code"

// The message events socialrx sends and receives.
const (
	// Sent by the requester (socialrx for a practice; or received when
	// socialrx hosts the program).
	EventAddServiceRequest          MessageEvent = "add-service-request"
	EventNotifyUpdateServiceRequest MessageEvent = "notify-update-service-request"
	EventRevokeServiceRequest       MessageEvent = "revoke-service-request"
	EventCommunicationFromRequester MessageEvent = "send-communication-from-requester"
	// Sent by the performer (the platform), received by socialrx.
	EventNotifyAddProcessRequest    MessageEvent = "notify-add-process-request"
	EventNotifyUpdateProcessRequest MessageEvent = "notify-update-process-request"
	EventNotifyAddAppointment       MessageEvent = "notify-add-appointment"
	EventCommunicationFromProvider  MessageEvent = "send-communication-from-provider"
)

// Valid reports whether e is one of the events above.
func (e MessageEvent) Valid() bool {
	switch e {
	case EventAddServiceRequest, EventNotifyUpdateServiceRequest, EventRevokeServiceRequest,
		EventCommunicationFromRequester, EventNotifyAddProcessRequest, EventNotifyUpdateProcessRequest,
		EventNotifyAddAppointment, EventCommunicationFromProvider:
		return true
	}
	return false
}

// Endpoint is where a message goes: the parts of a FHIR Endpoint resource
// that delivery needs. Secrets are never in it: they are Credentials, kept
// in a file and looked up by Endpoint ID.
type Endpoint struct {
	ID string // the Endpoint resource id (the key of its Credentials)
	// ConnectionType is the Endpoint.connectionType code
	// (http://terminology.hl7.org/CodeSystem/endpoint-connection-type):
	// ConnectionFHIRMessaging or ConnectionFHIRREST.
	ConnectionType string
	Address        string // Endpoint.address: the FHIR base URL
}

// Endpoint connection types socialrx delivers to.
const (
	ConnectionFHIRMessaging = "hl7-fhir-msg"  // eReferral messages to {address}/$process-messages
	ConnectionFHIRREST      = "hl7-fhir-rest" // a FHIR REST API: an EMR, or a platform read by polling
)

// Credentials are the secrets of one Endpoint, from the credentials file
// (never from FHIR resources). TokenURL, ClientID and ClientSecret get an
// OAuth2 client-credentials bearer token for calls socialrx makes; an empty
// TokenURL means calls carry no Authorization header. InboundBearer is the
// token that platform presents when it calls socialrx's $process-messages.
type Credentials struct {
	TokenURL      string `json:"token_url"`
	ClientID      string `json:"client_id"`
	ClientSecret  string `json:"client_secret"`
	Scope         string `json:"scope,omitempty"`
	InboundBearer string `json:"inbound_bearer"`
}

// CredentialSource returns the credentials of an Endpoint by its id; ok is
// false when the file names none for it.
type CredentialSource interface {
	Credentials(endpointID string) (Credentials, bool)
}

// Platform is the port to referral platforms (Ocean-style eReferral).
type Platform interface {
	// Send POSTs one message Bundle to {ep.Address}/$process-messages with a
	// bearer token from ep's credentials, making one attempt. It returns the
	// response body of a 2xx answer, or a *SendError saying whether a retry
	// could help.
	Send(ctx context.Context, ep Endpoint, message []byte) (response []byte, err error)
}

// EMR is the port to the practice's EMR FHIR API (write-back).
type EMR interface {
	// UpdateByIdentifier is a FHIR conditional update,
	// PUT {ep.Address}/{typ}?identifier={system}|{value}, of body.
	UpdateByIdentifier(ctx context.Context, ep Endpoint, typ, system, value string, body []byte) error
	// CreateIfNoneExist is a FHIR conditional create, POST {ep.Address}/{typ}
	// with If-None-Exist: identifier={system}|{value}, so a repeat is
	// recognised by the EMR and creates nothing.
	CreateIfNoneExist(ctx context.Context, ep Endpoint, typ, system, value string, body []byte) error
}

// SendError is a failed outbound call, classified by the retry policy
// (retry.go). Retryable failures are network errors, timeouts, 408, 429 and
// 5xx, and a 2xx whose body cannot be read (the receiver recognises the
// resend by its id); everything else (other 4xx, 3xx, a response message
// with fatal-error) is permanent.
type SendError struct {
	Retryable  bool
	StatusCode int           // the HTTP status, 0 when no response came
	RetryAfter time.Duration // from a Retry-After header, 0 when none
	// Reason is what went wrong in a few words, with the receiver's
	// OperationOutcome text (issue diagnostics or details) when it sent
	// one, cut to MaxReason (1000) bytes by TruncateReason. It is kept on
	// the referral; it is not logged (a receiver may echo PHI).
	Reason string
	// NotNeeded: the message is no longer wanted (a reminder for a
	// follow-up that ended): it ends DeliveryCancelled, not failed, and is
	// not retried.
	NotNeeded bool
}

func (e *SendError) Error() string {
	kind := "permanent"
	if e.Retryable {
		kind = "retryable"
	}
	if e.StatusCode != 0 {
		return fmt.Sprintf("%s failure: http %d: %s", kind, e.StatusCode, e.Reason)
	}
	return fmt.Sprintf("%s failure: %s", kind, e.Reason)
}

// The destinations of outbound messages.
const (
	DestinationPlatform = "platform" // an eReferral message to the performer's platform
	DestinationEMR      = "emr"      // a FHIR REST write-back to the practice's EMR
)

// OutboundMessage is one entry of the outbox: something socialrx must
// deliver, recorded in the transaction of the change that caused it. ID is
// stable for the change: a retry sends the same ID (MessageHeader.id, or the
// identifier a write-back is recognised by).
type OutboundMessage struct {
	ID          string // a UUID; MessageHeader.id for platform messages
	Destination string // DestinationPlatform or DestinationEMR
	EndpointID  string // the Endpoint resource id, or EMRDefaultEndpointID
	// Event is the message event of a platform message; for a write-back,
	// the operation: WriteBackTask, WriteBackCreate, WriteBackUpdate.
	Event MessageEvent
	// ResourceType, ResourceID and Version name the resource version the
	// message carries (the referral Task for platform messages).
	ResourceType string
	ResourceID   string
	Version      int64
	ReferralID   string // the referral Task id it belongs to, "" if none
	// Seq orders the messages of one referral and destination: a message is
	// sent only after those before it are delivered or failed.
	Seq       int64
	State     string // DeliveryPending, DeliveryDelivered, DeliveryFailed or DeliveryCancelled
	Attempts  int
	Error     string // why it failed (SendError.Reason); no PHI is logged from it
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Write-back operations (OutboundMessage.Event for DestinationEMR).
const (
	WriteBackTask   MessageEvent = "task-update"     // conditional update of the referral Task by identifier
	WriteBackCreate MessageEvent = "resource-create" // conditional create (Appointment, Communication)
	// WriteBackUpdate is a conditional update by identifier of another
	// resource than a referral Task: a withdrawn follow-up's response and
	// summary (entered-in-error), which the EMR's copy must take even
	// though it exists.
	WriteBackUpdate MessageEvent = "resource-update"
	// WriteBackWithdraw is a conditional update by identifier of a copy
	// whose resource was deleted here (an answered follow-up response
	// DELETEd): the message names the last version the EMR was sent, and
	// it is sent again with status entered-in-error, which is how the
	// EMR's copy learns it was withdrawn.
	WriteBackWithdraw MessageEvent = "resource-withdraw"
)

// EMRDefaultEndpointID is the EndpointID of write-backs to the EMR named by
// --emr-endpoint (no Endpoint resource); its credentials are looked up
// under this key.
const EMRDefaultEndpointID = "default-emr"

// Origin says on whose behalf the writes of a workflow transaction are
// made (workflow.Tx.SetOrigin). It decides which referral moves the state machine allows
// and where the changes are sent:
//
//   - ActorRequester (the default: the practice's EMR over REST): referral
//     changes go to the performer's platform (eReferral messages);
//   - ActorPerformer (a platform's message on $process-messages, or a
//     polled platform): the state machine is checked for the performer; an
//     illegal change is kept and flagged on the referral instead of
//     refused; changes are written back to the EMR, never echoed to the
//     platform;
//   - ActorSystem (socialrx's own bookkeeping, e.g. marking a failed
//     delivery): nothing is sent.
type Origin struct {
	Actor      Actor
	EndpointID string // the platform Endpoint a message came from; "" for local writes
	// Consent marks socialrx's own write that holds a referral for
	// consent or releases it (consent.go): the status change is checked by
	// the consent rules instead of the state machine.
	Consent bool
}

// Outbox is the read side of the outbox, outside a transaction: what the
// delivery jobs and operators read. Messages are recorded by the workflow
// through OutboxTx, in the transaction of the change that causes them.
type Outbox interface {
	// OutboundMessage returns one message of the outbox (ENOTFOUND if none).
	OutboundMessage(ctx context.Context, id string) (*OutboundMessage, error)
	// Blocked reports whether a message before m (same referral and
	// destination, lower Seq) is still pending: m must wait for it.
	Blocked(ctx context.Context, m *OutboundMessage) (bool, error)
	// OutboundMessages lists messages, newest first, optionally only those
	// in state (pending, delivered, failed); at most limit (100 if <= 0).
	OutboundMessages(ctx context.Context, state string, limit int) ([]OutboundMessage, error)
	// PollTargets lists the Endpoints of open referrals (not terminal, not
	// incoming) other than hl7-fhir-msg ones, with where their last poll
	// ended: the candidates for polling (the caller checks each Endpoint is
	// an active hl7-fhir-rest one).
	PollTargets(ctx context.Context) ([]PollTarget, error)
	// SetPollMark records where the poll of endpointID ended.
	SetPollMark(ctx context.Context, endpointID, since string) error
}

// OutboxTx records, in a store transaction, what the transaction's writes
// cause outside it: outbound messages with their delivery jobs, scheduled
// jobs, and the platform messages it applies. Everything commits with the
// data or not at all.
type OutboxTx interface {
	// Enqueue records m (m.ID set by the caller; Seq, State and times are
	// set here) and its unique delivery job (DeliverArgs). A message with
	// the same ID already recorded is left as it is; its delivery job may
	// be scheduled again, which sends nothing twice (a job finds a message
	// that is no longer pending done, and jobs are unique by message).
	Enqueue(ctx context.Context, m OutboundMessage) error
	// FinishOutbound records the end of a delivery attempt of a pending
	// message: state DeliveryDelivered, DeliveryFailed (dead-lettered, with
	// reason), or DeliveryPending with the reason of a retryable failure.
	// It returns the message as it was; ok is false, and nothing changes,
	// when the message is not pending (or does not exist).
	FinishOutbound(ctx context.Context, id, state string, attempts int, reason string) (m *OutboundMessage, ok bool, err error)
	// CancelOutbound moves every pending message of referral referralID to
	// destination to DeliveryCancelled with reason: they are never sent
	// (their delivery jobs find them not pending and end). Messages already
	// delivered or failed are left as they are. n is how many it cancelled.
	CancelOutbound(ctx context.Context, referralID, destination, reason string) (n int, err error)
	// Inbound records that the message messageID from the platform
	// endpointID is being applied in this transaction. seen is true, and
	// nothing is recorded, when it was applied before, or when messageID is
	// one socialrx sent itself (an echo): the caller then changes nothing.
	Inbound(ctx context.Context, endpointID, messageID string, event MessageEvent) (seen bool, err error)
	// ScheduleFollowUpReminder enqueues the follow-up reminder job of a
	// prescription at due, unique by prescription: a second call while one
	// exists inserts nothing.
	ScheduleFollowUpReminder(ctx context.Context, prescriptionID string, due time.Time) error
	// ScheduleHandoffTask enqueues the job that gives a fax or phone hand-off
	// its referral Task when the EMR sent none (HandoffArgs), unique by
	// prescription and moved: 0 for a new prescription, else the
	// ServiceRequest version of the program change that needs a new one.
	ScheduleHandoffTask(ctx context.Context, prescriptionID string, moved int64) error
	// ScheduleFollowUpEscalation enqueues the job that checks at at
	// whether the follow-up of a prescription is still unanswered
	// (EscalationArgs, notify.go), unique by prescription.
	ScheduleFollowUpEscalation(ctx context.Context, prescriptionID string, at time.Time) error
}

// KindDeliver is the job kind of DeliverArgs.
const KindDeliver = "deliver_message"

// DeliverArgs are the arguments of the job that delivers one outbox
// message: its id only, so the job table holds no PHI. The job queue
// (River) treats any type with a Kind method as job arguments.
type DeliverArgs struct {
	MessageID string `json:"message_id"`
}

// Kind is KindDeliver.
func (DeliverArgs) Kind() string { return KindDeliver }

// KindHandoffTask is the job kind of HandoffArgs.
const KindHandoffTask = "handoff_task"

// HandoffArgs are the arguments of the job that gives a fax or phone warm
// hand-off its referral Task (the staff's work-list item) when the EMR sent
// none with the prescription.
type HandoffArgs struct {
	PrescriptionID string `json:"prescription_id"`
	// Moved is the ServiceRequest version of the program change that
	// needs a new hand-off Task; 0 (omitted) for a new prescription.
	Moved int64 `json:"moved,omitempty"`
}

// Kind is KindHandoffTask.
func (HandoffArgs) Kind() string { return KindHandoffTask }

// Poller is the port to platforms that cannot push (an hl7-fhir-rest
// Endpoint socialrx reads): their changed referral Tasks.
type Poller interface {
	// ChangedTasks searches {ep.Address}/Task?_lastUpdated=gt{since}
	// (everything when since is ""), sorted by _lastUpdated, following next
	// links up to a bound, and returns each Task's JSON and the greatest
	// meta.lastUpdated seen (since itself when nothing changed). Failures
	// are *SendError, classified as for Platform.Send.
	ChangedTasks(ctx context.Context, ep Endpoint, since string) (tasks [][]byte, newest string, err error)
}

// KindPoll is the job kind of PollArgs.
const KindPoll = "poll_platforms"

// PollArgs are the arguments of the periodic job that polls every
// hl7-fhir-rest platform with open referrals.
type PollArgs struct{}

// Kind is KindPoll.
func (PollArgs) Kind() string { return KindPoll }

// PollTarget is a platform Endpoint to poll and where the last poll ended.
type PollTarget struct {
	EndpointID string
	Since      string // the greatest meta.lastUpdated applied, "" before the first poll
}
