package mapping

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

// Outbound eReferral messages (Ontario eReferral, Ocean-style FHIR
// messaging): a Bundle of type "message" whose first entry is a
// MessageHeader (http://hl7.org/fhir/R4/messageheader.html), POSTed to a
// platform's $process-messages. MessageResources gathers what a referral
// message carries; MessageBundle writes the Bundle. Resource bodies are
// embedded byte for byte as stored: they are never decoded into structs and
// written again, which would lose contained resources, primitive extensions
// and unknown elements.

// msgNamespace is the namespace of the name-based (SHA-1) UUIDs derived
// from a message id: the Bundle.id of a message and the fullUrl of a
// response's OperationOutcome. The same message id always gives the same
// UUIDs, so a retried message is byte for byte the one sent before.
var msgNamespace = uuid.MustParse("6f1c1b0e-3d0a-5b8e-9c52-6b1f3f0a2d41")

// msgUUID returns the UUID derived from a message id for one purpose
// ("bundle", "outcome").
func msgUUID(purpose, id string) string {
	return uuid.NewSHA1(msgNamespace, []byte(purpose+"/"+id)).String()
}

// OutMessage is an eReferral message socialrx sends to a platform.
type OutMessage struct {
	// ID is MessageHeader.id (a FHIR id; OutboundMessage.ID, the same on
	// every retry). Bundle.id is a UUID derived from it.
	ID string
	// Event is MessageHeader.eventCoding.code (system MessageEventSystem).
	Event socialrx.MessageEvent
	// Timestamp is Bundle.timestamp, written in UTC to the second.
	Timestamp time.Time
	// Source is socialrx's FHIR base URL: MessageHeader.source.endpoint and
	// the base of every entry's fullUrl.
	Source string
	// Destination is the platform Endpoint.address:
	// MessageHeader.destination[0].endpoint (no destination when "").
	Destination string
	// Resources are the bodies the message carries, as MessageResources
	// returns them (Task first, then ServiceRequest); each needs a
	// resourceType and an id.
	Resources [][]byte
}

// focusTypes are the resource types MessageHeader.focus names for each
// event, the first one the message carries: the ServiceRequest for the
// service-request events (and as the fallback of every event), the Task for
// the performer's process-request events, the Appointment or Communication
// for the events about one.
var focusTypes = map[socialrx.MessageEvent][]string{
	socialrx.EventAddServiceRequest:          {"ServiceRequest"},
	socialrx.EventNotifyUpdateServiceRequest: {"ServiceRequest"},
	socialrx.EventRevokeServiceRequest:       {"ServiceRequest"},
	socialrx.EventCommunicationFromRequester: {"Communication", "ServiceRequest"},
	socialrx.EventNotifyAddProcessRequest:    {"Task", "ServiceRequest"},
	socialrx.EventNotifyUpdateProcessRequest: {"Task", "ServiceRequest"},
	socialrx.EventNotifyAddAppointment:       {"Appointment", "ServiceRequest"},
	socialrx.EventCommunicationFromProvider:  {"Communication", "ServiceRequest"},
}

// The JSON shapes of a message Bundle and its MessageHeader, in FHIR
// element order. The entries are written by hand around the embedded
// resource bodies (encoding/json would compact them).
type messageHeaderJSON struct {
	ResourceType string           `json:"resourceType"`
	ID           string           `json:"id"`
	EventCoding  codingJSON       `json:"eventCoding"`
	Destination  []msgDestination `json:"destination,omitempty"`
	Sender       *refJSON         `json:"sender,omitempty"`
	Author       *refJSON         `json:"author,omitempty"`
	Source       msgSource        `json:"source"`
	Response     *msgResponseJSON `json:"response,omitempty"`
	Focus        []refJSON        `json:"focus,omitempty"`
}

type msgDestination struct {
	Endpoint string `json:"endpoint"`
}

type msgSource struct {
	Name     string `json:"name"`
	Endpoint string `json:"endpoint"`
}

type msgResponseJSON struct {
	Identifier string   `json:"identifier"`
	Code       string   `json:"code"`
	Details    *refJSON `json:"details,omitempty"`
}

// bundleHeadJSON is a message Bundle's elements before entry.
type bundleHeadJSON struct {
	ResourceType string         `json:"resourceType"`
	ID           string         `json:"id"`
	Identifier   identifierJSON `json:"identifier"`
	Type         string         `json:"type"`
	Timestamp    string         `json:"timestamp"`
}

// msgEntry is one entry of a message Bundle being written.
type msgEntry struct {
	fullURL  string
	resource []byte
}

// writeMessage writes a message Bundle: head, then each entry as
// {"fullUrl":...,"resource":<bytes as given>}.
func writeMessage(head bundleHeadJSON, entries []msgEntry) []byte {
	var b bytes.Buffer
	h := marshal(head)
	b.Write(h[:len(h)-1]) // without the closing brace
	b.WriteString(`,"entry":[`)
	for i, e := range entries {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"fullUrl":`)
		b.Write(marshal(e.fullURL))
		b.WriteString(`,"resource":`)
		b.Write(e.resource)
		b.WriteByte('}')
	}
	b.WriteString("]}")
	return b.Bytes()
}

// instant writes t as a FHIR instant in UTC, to the second.
func instant(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// MessageBundle writes m as an eReferral message: a FHIR R4 Bundle
// (http://hl7.org/fhir/R4/bundle.html) of type "message" with
//
//   - id: a UUID derived from m.ID (name-based), and identifier
//     {system urn:ietf:rfc:3986, value urn:uuid:<that UUID>};
//   - timestamp: m.Timestamp in UTC, RFC 3339 to the second;
//   - entry[0]: the MessageHeader, fullUrl <m.Source>/MessageHeader/<m.ID>
//     (so that its relative references resolve against m.Source as those
//     of the other entries do), with id m.ID; eventCoding {system
//     MessageEventSystem, code m.Event}; destination [{endpoint
//     m.Destination}]; sender the Task's requester (Task.requester, else
//     ServiceRequest.requester, as "Type/id"; a Practitioner,
//     PractitionerRole or Organization) and author the same when it is a
//     Practitioner or PractitionerRole; source {name "socialrx", endpoint
//     m.Source}; focus [the first resource of the event's focus type that
//     the message carries: the ServiceRequest for the service-request
//     events, the Task for process-request events, the Appointment or
//     Communication for those events; the ServiceRequest when the message
//     carries none] as "Type/id";
//   - then one entry per resource, in order, fullUrl <m.Source>/<Type>/<id>
//     (m.Source without a trailing slash, here and in the MessageHeader's)
//     and resource the body exactly as given (not re-encoded: numbers,
//     member order, whitespace and primitive extensions are kept).
//
// The output depends on m alone: the same m gives the same bytes.
//
// Errors are *socialrx.Error EINVALID listing every problem at the path it
// would have in the Bundle: m.ID not a FHIR id (MessageHeader.id), m.Event
// not a known event (MessageHeader.eventCoding.code), m.Source empty
// (MessageHeader.source.endpoint), m.Timestamp zero (Bundle.timestamp),
// no resources (Bundle.entry), a resource that is not a JSON object with a
// resourceType and a valid id (Bundle.entry[i].resource...), the same
// Type/id twice (Bundle.entry[i].fullUrl), no ServiceRequest (Bundle.entry).
func MessageBundle(m OutMessage) ([]byte, error) {
	var is issueList
	if !fhir.ValidID(m.ID) {
		is.add("value", "MessageHeader.id", "must be a FHIR id")
	}
	if !m.Event.Valid() {
		is.add("code-invalid", "MessageHeader.eventCoding.code", "not a known message event of "+socialrx.MessageEventSystem)
	}
	if m.Source == "" {
		is.add("required", "MessageHeader.source.endpoint", "the source endpoint (socialrx's base URL) is required")
	}
	if m.Timestamp.IsZero() {
		is.add("required", "Bundle.timestamp", "the message timestamp is required")
	}
	if len(m.Resources) == 0 {
		is.add("required", "Bundle.entry", "a message needs resources")
	}
	base := strings.TrimRight(m.Source, "/")
	heads := make([]resourceHead, len(m.Resources))
	seen := map[string]bool{}
	hasSR := false
	for i, body := range m.Resources {
		path := idx("Bundle.entry", i+1)
		h, ok := readHead(body)
		if !ok {
			is.add("structure", path+".resource", "must be a JSON object with a resourceType")
			continue
		}
		if !fhir.ValidID(h.ID) {
			is.add("required", path+".resource.id", "an entry resource needs a valid id")
			continue
		}
		key := h.ResourceType + "/" + h.ID
		if seen[key] {
			is.add("invalid", path+".fullUrl", "the same resource is carried twice")
			continue
		}
		seen[key] = true
		heads[i] = h
		hasSR = hasSR || h.ResourceType == "ServiceRequest"
	}
	if len(m.Resources) > 0 && !hasSR {
		is.add("required", "Bundle.entry", "a referral message must carry a ServiceRequest")
	}
	if len(is) > 0 {
		return nil, &socialrx.Error{Code: socialrx.EINVALID, Message: "invalid outbound message", Issues: is}
	}

	mh := messageHeaderJSON{
		ResourceType: "MessageHeader",
		ID:           m.ID,
		EventCoding:  codingJSON{System: socialrx.MessageEventSystem, Code: string(m.Event)},
		Source:       msgSource{Name: "socialrx", Endpoint: m.Source},
	}
	if m.Destination != "" {
		mh.Destination = []msgDestination{{Endpoint: m.Destination}}
	}
	if typ, ref := messageRequester(m.Resources, heads); ref != "" {
		switch typ {
		case "Practitioner", "PractitionerRole":
			mh.Sender, mh.Author = &refJSON{ref}, &refJSON{ref}
		case "Organization":
			mh.Sender = &refJSON{ref}
		}
	}
	if f := messageFocus(m.Event, heads); f != "" {
		mh.Focus = []refJSON{{f}}
	}
	entries := make([]msgEntry, 0, len(m.Resources)+1)
	entries = append(entries, msgEntry{fullURL: base + "/MessageHeader/" + m.ID, resource: marshal(mh)})
	for i, body := range m.Resources {
		entries = append(entries, msgEntry{fullURL: base + "/" + heads[i].ResourceType + "/" + heads[i].ID, resource: body})
	}
	return writeMessage(messageBundleHead(m.ID, m.Timestamp), entries), nil
}

// messageBundleHead returns the Bundle elements of the message with
// MessageHeader.id id.
func messageBundleHead(id string, ts time.Time) bundleHeadJSON {
	bid := msgUUID("bundle", id)
	return bundleHeadJSON{
		ResourceType: "Bundle",
		ID:           bid,
		Identifier:   identifierJSON{System: "urn:ietf:rfc:3986", Value: "urn:uuid:" + bid},
		Type:         "message",
		Timestamp:    instant(ts),
	}
}

// messageRequester returns the type and "Type/id" of the first Task's
// requester, else the first ServiceRequest's, among resources.
func messageRequester(resources [][]byte, heads []resourceHead) (typ, ref string) {
	for _, want := range []string{"Task", "ServiceRequest"} {
		for i, h := range heads {
			if h.ResourceType != want {
				continue
			}
			var v struct {
				Requester *reference `json:"requester"`
			}
			if json.Unmarshal(resources[i], &v) != nil {
				break
			}
			if t, id, ok := refTypeID(refString(v.Requester)); ok {
				return t, t + "/" + id
			}
			break
		}
	}
	return "", ""
}

// messageFocus returns the "Type/id" MessageHeader.focus names for event.
func messageFocus(event socialrx.MessageEvent, heads []resourceHead) string {
	for _, typ := range focusTypes[event] {
		for _, h := range heads {
			if h.ResourceType == typ {
				return typ + "/" + h.ID
			}
		}
	}
	return ""
}
