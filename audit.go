package socialrx

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Audit trail (issue 13). Every read, vread, search, history, create,
// update and delete (REST and each Bundle entry), every $export kick-off
// and file download, every $prescription and every outbound message
// (eReferral delivery, EMR write-back) is recorded as an R4 AuditEvent
// shaped after the IHE Basic Audit Log Patterns (BALP) where they fit:
//
//	type     audit-event-type rest (REST), DCM 110106 Export (outbound message)
//	subtype  restful-interaction read, vread, search-type, history-*, create,
//	         update, delete, operation; iso-21089-lifecycle transmit
//	action   C R U D E
//	outcome  0 success, 4 the client's failure (4xx), 8 the server's (5xx)
//	agent    the client (Principal.ClientID, requestor) with its network
//	         address; socialrx itself for outbound messages
//	source   observer: this socialrx
//	entity   what: the resource; the patient (role patient) when known;
//	         a search's query (base64, as BALP's Query pattern)
//
// A write's AuditEvent is written in the write's own store transaction, so
// the two commit together or not at all. Reads are buffered and written in
// batches, one transaction per batch (adapter/workflow Auditor). AuditEvents
// are kept in an append-only table of their own (AuditTx), not as resources:
// they are read and searched through the FHIR API like any resource
// (read, search by agent, entity, patient, date, action, outcome, subtype)
// but cannot be created, updated or deleted by clients, and writing one
// causes nothing (no workflow, no AuditEvent of the AuditEvent).

// AuditAction is AuditEvent.action: what the event did to data.
type AuditAction string

// The actions (http://hl7.org/fhir/audit-event-action).
const (
	AuditCreate  AuditAction = "C"
	AuditRead    AuditAction = "R"
	AuditUpdate  AuditAction = "U"
	AuditDelete  AuditAction = "D"
	AuditExecute AuditAction = "E"
)

// AuditOutcome is AuditEvent.outcome (http://hl7.org/fhir/audit-event-outcome).
type AuditOutcome string

// The outcomes socialrx records.
const (
	AuditSuccess      AuditOutcome = "0"
	AuditMinorFailure AuditOutcome = "4" // the request failed for the client's reason (4xx)
	AuditSeriousFail  AuditOutcome = "8" // the server failed (5xx)
)

// AuditKind is what kind of event is recorded (AuditEvent.type).
type AuditKind string

// The kinds.
const (
	// AuditREST is a FHIR RESTful interaction or operation received by
	// socialrx (audit-event-type rest).
	AuditREST AuditKind = "rest"
	// AuditTransmit is a message socialrx sent (DCM 110106 Export,
	// subtype iso-21089-lifecycle transmit).
	AuditTransmit AuditKind = "transmit"
)

// AuditEvent is one event of the audit trail, in domain words; mapping
// builds the FHIR AuditEvent from it.
type AuditEvent struct {
	ID       string
	Recorded time.Time
	Kind     AuditKind
	// Subtype is the restful-interaction code (read, vread, search-type,
	// search-system, history-instance, history-type, history-system,
	// create, update, delete, operation) of a REST event; empty for a
	// transmit.
	Subtype string
	// Operation names the operation of subtype operation ("$export",
	// "$export-file", "$prescription").
	Operation   string
	Action      AuditAction
	Outcome     AuditOutcome
	OutcomeDesc string // what went wrong, no PHI (an error message)
	// ClientID is who asked (Principal.ClientID); "" with authentication
	// off. Address is the client's network address (IP).
	ClientID string
	Address  string
	// Entity is the resource acted on, "Type/id" (Version > 0: that
	// version); empty for a search.
	Entity  string
	Version int64
	// Patient is "Patient/id" of the patient the event is about, when
	// known.
	Patient string
	// QueryType and Query are a search's type and query string (as
	// received: it may hold search values, so it is never logged; the
	// AuditEvent itself is protected data).
	QueryType string
	Query     string
	// Destination is where a transmitted message went: "platform" or
	// "emr" and the Endpoint it went to.
	Destination string
	EndpointID  string
	// RequestID is the HTTP request id (X-Request-Id), to join the access
	// log.
	RequestID string
	// Read is the body of the resource read or written, when Patient is
	// empty: the patient is found in it when the event is written (off the
	// request's path for buffered reads). Not stored.
	Read []byte
}

// AuditRecord is an AuditEvent as stored: its search columns and its FHIR
// body (mapping.AuditEventBody).
type AuditRecord struct {
	ID       string
	Recorded time.Time
	Agent    string // "Device/<AuditAgentID>"
	Entity   string // "Type/id", "" for none
	Patient  string // "Patient/id", "" for none
	Subtype  string
	Action   AuditAction
	Outcome  AuditOutcome
	Body     []byte
}

// AuditTx appends AuditEvents in a transaction. The records are appended
// as given (ids unique: ECONFLICT otherwise) and cause nothing else.
// AuditEvents are read back through Resources.Read and Search with type
// "AuditEvent" (Search supports _id, agent, entity, patient, date, action,
// outcome, subtype and _count, newest first).
type AuditTx interface {
	AppendAudit(ctx context.Context, records []AuditRecord) error
}

// AuditLog is implemented by a store that writes buffered AuditEvents (the
// Auditor's batches of reads, searches and failures) outside any data
// transaction, where they cost the reads least: SQLite appends them to a
// database file of its own beside the main one (<file>.audit), so that the
// audit trail's commits do not invalidate the readers' page cache of the
// data; both keep a batch as one row, a block of records indexed a few
// thousand events at a time (adapter/internal/sqlstore/auditblocks.go).
// AppendAuditLog appends the records atomically (all or none; ids unique
// among the buffered records kept in blocks: ECONFLICT otherwise; those
// appended before the blocks existed are not checked) and returns once
// they are committed. What it appends is read and searched exactly as
// what AuditTx appends (Read, Search of type "AuditEvent": both are
// answered from both places). A write's own AuditEvent still goes through AuditTx, in the
// write's transaction.
type AuditLog interface {
	AppendAuditLog(ctx context.Context, records []AuditRecord) error
}

// AuditActionOf returns the action of a restful interaction.
func AuditActionOf(subtype string) AuditAction {
	switch subtype {
	case "create":
		return AuditCreate
	case "update", "patch":
		return AuditUpdate
	case "delete":
		return AuditDelete
	case "read", "vread", "search-type", "search-system", "history-instance", "history-type", "history-system":
		return AuditRead
	}
	return AuditExecute
}

// AuditOutcomeOf returns the outcome of an HTTP status: 0 for 1xx-3xx,
// 4 for 4xx, 8 for 5xx and anything else.
func AuditOutcomeOf(status int) AuditOutcome {
	switch {
	case status >= 100 && status < 400:
		return AuditSuccess
	case status >= 400 && status < 500:
		return AuditMinorFailure
	}
	return AuditSeriousFail
}

// AuditSelf is the agent id of socialrx itself (outbound messages, and
// requests with authentication off: AuditAgentID("")).
const AuditSelf = "socialrx"

// AuditAgentID returns the FHIR id of the Device that stands for a client
// in AuditEvent.agent.who ("Device/<id>"): the client id itself when it is
// a valid FHIR id, else "c-" and 32 hex digits of its SHA-256, so that any
// client id (a URL, a name with spaces) gives a stable, searchable
// reference. "" (authentication off) is socialrx itself.
func AuditAgentID(clientID string) string {
	if clientID == "" {
		return AuditSelf
	}
	if validFHIRID(clientID) && clientID != AuditSelf {
		return clientID
	}
	sum := sha256.Sum256([]byte(clientID))
	return "c-" + hex.EncodeToString(sum[:16])
}

// validFHIRID reports whether s is a FHIR id: [A-Za-z0-9\-\.]{1,64}.
func validFHIRID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
