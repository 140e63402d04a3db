package mapping

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

// Response codes of MessageHeader.response.code
// (http://hl7.org/fhir/R4/valueset-response-code.html).
const (
	ResponseOK             = "ok"
	ResponseTransientError = "transient-error"
	ResponseFatalError     = "fatal-error"
)

// Response is the answer to a received message.
type Response struct {
	ID        string // the new MessageHeader.id (a FHIR id)
	RequestID string // MessageHeader.id of the message answered (InMessage.ID)
	Code      string // ResponseOK, ResponseTransientError or ResponseFatalError
	// Event is the event of the message answered, echoed in eventCoding (as
	// a code of MessageEventSystem, even when not Valid; "" writes the
	// system alone).
	Event       socialrx.MessageEvent
	Source      string    // socialrx's FHIR base URL: MessageHeader.source.endpoint
	Destination string    // the sender's endpoint: destination[0].endpoint ("" for none)
	Timestamp   time.Time // Bundle.timestamp, written in UTC to the second
	// Outcome is an OperationOutcome JSON carried as response.details, or
	// nil for none.
	Outcome []byte
}

// ResponseMessage writes the response message to a received message
// (http://hl7.org/fhir/R4/messaging.html#reliable): a Bundle of type
// "message" with id a UUID derived from r.ID (and the matching urn:uuid
// identifier) and timestamp r.Timestamp, whose entry[0] is a MessageHeader
// (fullUrl <r.Source>/MessageHeader/<r.ID>) with id r.ID, eventCoding
// {MessageEventSystem, r.Event}, destination [{endpoint r.Destination}],
// source {name "socialrx", endpoint r.Source}, and response {identifier
// r.RequestID, code r.Code, details: a reference to the OperationOutcome
// entry when there is one}. The OperationOutcome is entry[1], fullUrl
// urn:uuid:<a UUID derived from r.ID>, embedded exactly as given.
//
// Outcome must be a JSON object of resourceType OperationOutcome; anything
// else is replaced by an OperationOutcome with one error issue
// (exception: the outcome could not be written), so the output is always
// valid FHIR R4 JSON when r.ID, r.RequestID are FHIR ids, r.Code a response
// code and r.Source a URL (ParseMessage checks the id of the message it
// returns). An empty Code is written as fatal-error when an Outcome holds an
// error, else ok.
func ResponseMessage(r Response) []byte {
	code := r.Code
	if code == "" {
		code = ResponseOK
		if r.Outcome != nil && fhir.HasErrors(fhir.OutcomeIssues(r.Outcome)) {
			code = ResponseFatalError
		}
	}
	mh := messageHeaderJSON{
		ResourceType: "MessageHeader",
		ID:           r.ID,
		EventCoding:  codingJSON{System: socialrx.MessageEventSystem, Code: string(r.Event)},
		Source:       msgSource{Name: "socialrx", Endpoint: r.Source},
		Response:     &msgResponseJSON{Identifier: r.RequestID, Code: code},
	}
	if r.Destination != "" {
		mh.Destination = []msgDestination{{Endpoint: r.Destination}}
	}
	var outcome msgEntry
	if r.Outcome != nil {
		outcome = msgEntry{fullURL: "urn:uuid:" + msgUUID("outcome", r.ID), resource: r.Outcome}
		if h, ok := readHead(r.Outcome); !ok || h.ResourceType != "OperationOutcome" || !json.Valid(r.Outcome) {
			outcome.resource = fhir.OperationOutcome([]fhir.Issue{{Severity: socialrx.SeverityError, Code: "exception",
				Message: "the outcome of processing could not be written"}})
		}
		mh.Response.Details = &refJSON{outcome.fullURL}
	}
	entries := []msgEntry{{fullURL: strings.TrimRight(r.Source, "/") + "/MessageHeader/" + r.ID, resource: marshal(mh)}}
	if outcome.resource != nil {
		entries = append(entries, outcome)
	}
	return writeMessage(messageBundleHead(r.ID, r.Timestamp), entries)
}
