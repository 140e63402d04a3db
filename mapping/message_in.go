package mapping

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

// InMessage is an eReferral message socialrx received: a Bundle of type
// "message" (http://hl7.org/fhir/R4/messaging.html) read by ParseMessage.
type InMessage struct {
	ID             string                // MessageHeader.id
	Event          socialrx.MessageEvent // MessageHeader.eventCoding.code
	SourceEndpoint string                // MessageHeader.source.endpoint
	Focus          []string              // MessageHeader.focus[].reference, as given
	// ResponseTo and ResponseCode are MessageHeader.response.identifier and
	// .code (ok | transient-error | fatal-error) of a response message, ""
	// otherwise.
	ResponseTo   string
	ResponseCode string
	// Entries are the Bundle entries in order, the MessageHeader first.
	Entries []InEntry
}

// InEntry is one Bundle.entry of a received message.
type InEntry struct {
	FullURL  string          // Bundle.entry.fullUrl, "" when absent
	Type     string          // the resource's resourceType
	ID       string          // the resource's id, "" when absent
	Resource json.RawMessage // the resource exactly as received
	Path     string          // "Bundle.entry[2]"
}

// messageHeaderIn is the part of a received MessageHeader ParseMessage reads.
type messageHeaderIn struct {
	ID          string  `json:"id"`
	EventCoding *coding `json:"eventCoding"`
	EventURI    *string `json:"eventUri"`
	Source      *struct {
		Endpoint string `json:"endpoint"`
	} `json:"source"`
	Focus    []reference `json:"focus"`
	Response *struct {
		Identifier string `json:"identifier"`
		Code       string `json:"code"`
	} `json:"response"`
}

// msgIssues gathers the problems of a received message. add skips an issue
// when one already listed is at its path or inside it, so that the
// Bundle-level checks of fhir.ParseBundle and those here say each thing
// once.
type msgIssues struct{ list issueList }

func (m *msgIssues) add(code, path, msg string) {
	for _, have := range m.list {
		if have.Path == path || strings.HasPrefix(have.Path, path+".") || strings.HasPrefix(have.Path, path+"[") {
			return
		}
	}
	m.list.add(code, path, msg)
}

func (m *msgIssues) err() error {
	if len(m.list) == 0 {
		return nil
	}
	return &socialrx.Error{Code: socialrx.EINVALID, Message: "invalid message", Issues: m.list}
}

// ParseMessage reads a received eReferral message: a FHIR R4 Bundle
// (http://hl7.org/fhir/R4/bundle.html) of type "message" whose first entry
// is a MessageHeader (http://hl7.org/fhir/R4/messageheader.html) with an
// id and an eventCoding of MessageEventSystem. Focus references and entries
// are kept as given; entry resources are not checked beyond having a
// resourceType (the handler of each event checks what it reads).
//
// Every problem of structure is gathered into one *socialrx.Error EINVALID
// ("invalid message"), with issues at their element paths: body not JSON or
// not an object (Bundle); resourceType not Bundle (Bundle.resourceType);
// the checks of fhir.ParseBundle (Bundle.type missing or invalid, entry
// not an array of objects, ...); Bundle.type not message (Bundle.type); no
// entries (Bundle.entry); an entry without a resource
// (Bundle.entry[i].resource) or a resource without a resourceType
// (Bundle.entry[i].resource.resourceType); entry[0] not a MessageHeader
// (Bundle.entry[0].resource.resourceType); a MessageHeader element of the
// wrong JSON kind; MessageHeader.id missing or not a FHIR id
// (Bundle.entry[0].resource.id); neither eventCoding nor eventUri
// (Bundle.entry[0].resource.eventCoding). The message is nil then.
//
// A well-formed message whose event socialrx does not handle (an eventUri,
// an eventCoding of another system, or a code that is not a known
// socialrx.MessageEvent) gives an EUNPROCESSABLE *socialrx.Error with one
// "not-supported" issue at Bundle.entry[0].resource.eventCoding (or
// .eventUri) AND the message, whose Event is the code as written (not
// Valid; "" for an eventUri), so that the caller can answer it with a response message
// (ResponseMessage) naming its id.
func ParseMessage(body []byte) (*InMessage, error) {
	var is msgIssues
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		msg := "not a JSON object"
		if !json.Valid(body) {
			msg = "invalid JSON"
		}
		is.add("structure", "Bundle", msg)
		return nil, is.err()
	}
	var rt string
	if json.Unmarshal(top["resourceType"], &rt) != nil || rt != "Bundle" {
		is.add("invalid", "Bundle.resourceType", "resourceType must be Bundle")
		return nil, is.err()
	}
	_, fis := fhir.ParseBundle(body)
	for _, fi := range fis {
		if fi.Severity == socialrx.SeverityError || fi.Severity == socialrx.SeverityFatal {
			is.add(fi.Code, fi.Path, fi.Message)
		}
	}
	var typ string
	if raw, ok := top["type"]; ok && json.Unmarshal(raw, &typ) == nil && typ != "message" {
		is.add("invalid", "Bundle.type", "Bundle.type must be message")
	}
	var entries []json.RawMessage
	if raw, ok := top["entry"]; ok && json.Unmarshal(raw, &entries) != nil {
		is.add("structure", "Bundle.entry", "must be an array of entries")
		return nil, is.err()
	}
	if len(entries) == 0 {
		is.add("required", "Bundle.entry", "a message needs a MessageHeader entry")
	}
	m := &InMessage{}
	for i, raw := range entries {
		path := idx("Bundle.entry", i)
		var e struct {
			FullURL  *string         `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
		}
		if json.Unmarshal(raw, &e) != nil {
			is.add("structure", path, "an entry must be a JSON object")
			continue
		}
		in := InEntry{Path: path, Resource: e.Resource}
		if e.FullURL != nil {
			in.FullURL = *e.FullURL
		}
		if len(e.Resource) == 0 || string(e.Resource) == "null" {
			is.add("required", path+".resource", "every message entry needs a resource")
			continue
		}
		h, ok := readHead(e.Resource)
		if !ok {
			var obj map[string]json.RawMessage
			if json.Unmarshal(e.Resource, &obj) != nil {
				is.add("structure", path+".resource", "a resource must be a JSON object")
			} else {
				is.add("required", path+".resource.resourceType", "resourceType is missing or not a string")
			}
			continue
		}
		in.Type, in.ID = h.ResourceType, h.ID
		m.Entries = append(m.Entries, in)
	}
	unsupported := readHeader(m, &is)
	if err := is.err(); err != nil {
		return nil, err
	}
	if unsupported != "" {
		return m, &socialrx.Error{Code: socialrx.EUNPROCESSABLE, Message: "unsupported message event", Issues: []socialrx.Issue{{
			Severity: socialrx.SeverityError, Code: "not-supported", Path: unsupported,
			Message: "the message event is not one socialrx handles (" + socialrx.MessageEventSystem + ")",
		}}}
	}
	return m, nil
}

// readHeader checks and reads the MessageHeader of entry[0] into m. It
// returns the path of an unsupported event, or "".
func readHeader(m *InMessage, is *msgIssues) (unsupported string) {
	if len(m.Entries) == 0 || m.Entries[0].Path != "Bundle.entry[0]" {
		return "" // entry[0] is missing or broken: reported already
	}
	const path = "Bundle.entry[0].resource"
	first := m.Entries[0]
	if first.Type != "MessageHeader" {
		is.add("invalid", path+".resourceType", "the first entry of a message must be a MessageHeader")
		return ""
	}
	var mh messageHeaderIn
	if err := json.Unmarshal(first.Resource, &mh); err != nil {
		p := path
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			p += "." + te.Field
		}
		is.add("structure", p, "wrong JSON type for element")
		return ""
	}
	switch {
	case mh.ID == "":
		is.add("required", path+".id", "MessageHeader.id is required")
	case !fhir.ValidID(mh.ID):
		is.add("value", path+".id", "MessageHeader.id must be a FHIR id")
	}
	m.ID = mh.ID
	if mh.Source != nil {
		m.SourceEndpoint = mh.Source.Endpoint
	}
	for _, f := range mh.Focus {
		m.Focus = append(m.Focus, f.Reference)
	}
	if mh.Response != nil {
		m.ResponseTo, m.ResponseCode = mh.Response.Identifier, mh.Response.Code
	}
	switch {
	case mh.EventCoding == nil && mh.EventURI != nil:
		return path + ".eventUri"
	case mh.EventCoding == nil:
		is.add("required", path+".eventCoding", "MessageHeader.eventCoding is required")
		return ""
	}
	m.Event = socialrx.MessageEvent(mh.EventCoding.Code)
	if mh.EventCoding.System != socialrx.MessageEventSystem || !m.Event.Valid() {
		return path + ".eventCoding"
	}
	return ""
}

// Find returns the entry a reference in the message points to: an entry
// whose fullUrl equals ref (an absolute URL or a urn:uuid:), else, for a
// literal reference "Type/id" (relative, or an absolute URL ending in
// Type/id, with or without _history), the first entry whose resource has
// that type and id. Matching by type and id whatever the base is a
// simplification of the rules of
// http://hl7.org/fhir/R4/bundle.html#references, enough for the single-base
// messages of one platform.
func (m *InMessage) Find(ref string) (InEntry, bool) {
	if ref == "" {
		return InEntry{}, false
	}
	for _, e := range m.Entries {
		if e.FullURL == ref {
			return e, true
		}
	}
	typ, id, ok := refTypeID(ref)
	if !ok {
		return InEntry{}, false
	}
	for _, e := range m.Entries {
		if e.Type == typ && e.ID == id {
			return e, true
		}
	}
	return InEntry{}, false
}

// OfType returns the entries whose resource is of type typ, in order.
func (m *InMessage) OfType(typ string) []InEntry {
	var out []InEntry
	for _, e := range m.Entries {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}
