package mapping

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

// Code systems of the AuditEvent (R4 AuditEvent, IHE BALP 1.1 basic
// patterns: https://profiles.ihe.net/ITI/BALP/).
const (
	auditTypeSystem        = "http://terminology.hl7.org/CodeSystem/audit-event-type"
	auditDCMSystem         = "http://dicom.nema.org/resources/ontology/DCM"
	auditInteractionSystem = "http://hl7.org/fhir/restful-interaction"
	auditLifecycleSystem   = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
	auditEntityTypeSystem  = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	auditObjectRoleSystem  = "http://terminology.hl7.org/CodeSystem/object-role"
	auditSourceTypeSystem  = "http://terminology.hl7.org/CodeSystem/security-source-type"
	// AuditClientIDSystem identifies a client by its id
	// (AuditEvent.agent.who.identifier): the token's client id or subject,
	// or the static API token's name.
	AuditClientIDSystem = "http://socialrx.dev/fhir/sid/client-id"
	// AuditEndpointSystem identifies the Endpoint a message went to.
	AuditEndpointSystem = "http://socialrx.dev/fhir/sid/endpoint"
)

type auditCoding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

type auditCodeable struct {
	Coding []auditCoding `json:"coding"`
}

type auditIdentifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

type auditRef struct {
	Reference  string           `json:"reference,omitempty"`
	Identifier *auditIdentifier `json:"identifier,omitempty"`
	Display    string           `json:"display,omitempty"`
}

type auditNetwork struct {
	Address string `json:"address"`
	Type    string `json:"type"`
}

type auditAgent struct {
	Type      *auditCodeable `json:"type,omitempty"`
	Who       auditRef       `json:"who"`
	Requestor bool           `json:"requestor"`
	Network   *auditNetwork  `json:"network,omitempty"`
}

type auditSource struct {
	Observer auditRef      `json:"observer"`
	Type     []auditCoding `json:"type"`
}

type auditEntity struct {
	What        *auditRef    `json:"what,omitempty"`
	Type        *auditCoding `json:"type,omitempty"`
	Role        *auditCoding `json:"role,omitempty"`
	Description string       `json:"description,omitempty"`
	Query       string       `json:"query,omitempty"`
}

type auditMeta struct {
	VersionID   string `json:"versionId"`
	LastUpdated string `json:"lastUpdated"`
}

type auditEventJSON struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id"`
	Meta         auditMeta     `json:"meta"`
	Type         auditCoding   `json:"type"`
	Subtype      []auditCoding `json:"subtype,omitempty"`
	Action       string        `json:"action"`
	Recorded     string        `json:"recorded"`
	Outcome      string        `json:"outcome"`
	OutcomeDesc  string        `json:"outcomeDesc,omitempty"`
	Agent        []auditAgent  `json:"agent"`
	Source       auditSource   `json:"source"`
	Entity       []auditEntity `json:"entity,omitempty"`
}

// The DICOM agent roles BALP gives the two ends of an exchange.
var (
	auditSourceRole      = &auditCodeable{Coding: []auditCoding{{System: auditDCMSystem, Code: "110153"}}}
	auditDestinationRole = &auditCodeable{Coding: []auditCoding{{System: auditDCMSystem, Code: "110152"}}}
)

// selfRef is socialrx itself as a Device.
var selfRef = auditRef{Reference: "Device/" + socialrx.AuditSelf}

// AuditRecordOf returns the stored form of ev: its search columns and, as
// body, the rest of what its FHIR AuditEvent says (auditDetails: the
// client id and address, an operation, a query, a version, a destination,
// why it failed), in a few bytes: every read writes one AuditEvent, and
// its size is most of what that costs. AuditEventBody builds the FHIR
// AuditEvent (R4; IHE BALP basic shapes where they fit) from the record
// when it is read:
//
//   - REST (BALP RESTful activity, Read/Create/Update/Delete/Query): type
//     audit-event-type rest; subtype restful-interaction (read, vread,
//     search-type, history-*, create, update, delete, operation); action
//     from the interaction; agent[0] the client (DCM 110153 Source Role
//     ID, who Device/<socialrx.AuditAgentID>, identifier = the client id,
//     requestor, network address type 2 = IP), agent[1] socialrx (110152
//     Destination Role ID); entity: the resource (audit-entity-type 2
//     System Object, object-role 4 Domain Resource, what Type/id or
//     Type/id/_history/v), the patient (type 1 Person, role 1 Patient), a
//     search's query (role 24 Query, AuditEvent.entity.query = base64 of
//     the query string, description = the searched type).
//   - transmit (an outbound message): type DCM 110106 Export, subtype
//     iso-21089-lifecycle transmit, action R; agent[0] socialrx (source,
//     requestor), agent[1] the receiving Endpoint (destination,
//     identifier); entity the resource the message carries and the
//     patient.
//
// source.observer is socialrx (security-source-type 4 Application Server)
// in both. The body has meta.versionId 1 and meta.lastUpdated = recorded.
// Codings carry no display (optional in R4).
//
// An Entity or Patient that is not a reference Type/id (a malformed id
// from a refused request) is left out.
func AuditRecordOf(ev socialrx.AuditEvent) (socialrx.AuditRecord, error) {
	if !auditRefOK(ev.Entity) {
		ev.Entity, ev.Version = "", 0
	}
	if !auditRefOK(ev.Patient) {
		ev.Patient = ""
	}
	if ev.Entity == "" {
		ev.Version = 0
	}
	agentID := socialrx.AuditAgentID(ev.ClientID)
	d := auditDetails{Operation: ev.Operation, OutcomeDesc: ev.OutcomeDesc, Version: ev.Version,
		QueryType: ev.QueryType, Query: ev.Query}
	if ev.Kind == socialrx.AuditTransmit {
		agentID = socialrx.AuditSelf
		d.Destination, d.EndpointID = ev.Destination, ev.EndpointID
	} else {
		d.ClientID, d.Address = ev.ClientID, ev.Address
	}
	body, err := json.Marshal(d)
	if err != nil {
		return socialrx.AuditRecord{}, err
	}
	return socialrx.AuditRecord{
		ID: ev.ID, Recorded: ev.Recorded.UTC(), Agent: "Device/" + agentID, Entity: ev.Entity, Patient: ev.Patient,
		Subtype: auditSubtype(ev), Action: ev.Action, Outcome: ev.Outcome, Body: body,
	}, nil
}

// auditDetails is an AuditRecord's body: what its AuditEvent says beyond
// the record's columns (short names: it is stored once per read).
type auditDetails struct {
	Operation   string `json:"op,omitempty"`
	OutcomeDesc string `json:"od,omitempty"`
	ClientID    string `json:"cl,omitempty"`
	Address     string `json:"ad,omitempty"`
	Version     int64  `json:"v,omitempty"`
	QueryType   string `json:"qt,omitempty"`
	Query       string `json:"q,omitempty"`
	Destination string `json:"ds,omitempty"`
	EndpointID  string `json:"ep,omitempty"`
}

// storedAuditEvent is how a body stored in full begins: the records of
// the first version of the audit trail held the FHIR AuditEvent itself.
var storedAuditEvent = []byte(`{"resourceType":`)

// AuditEventBody returns the FHIR AuditEvent of a stored record (see
// AuditRecordOf): built from its columns and details, or the body itself
// when it is a whole AuditEvent (written by an earlier socialrx). The
// stores call it on every AuditEvent they read or search.
func AuditEventBody(rec socialrx.AuditRecord) ([]byte, error) {
	if bytes.HasPrefix(rec.Body, storedAuditEvent) {
		return rec.Body, nil
	}
	var d auditDetails
	if err := json.Unmarshal(rec.Body, &d); err != nil {
		return nil, socialrx.Errorf(socialrx.EINTERNAL, "AuditEvent/%s: unreadable record", rec.ID)
	}
	ev := socialrx.AuditEvent{
		ID: rec.ID, Recorded: rec.Recorded, Kind: socialrx.AuditREST, Subtype: rec.Subtype,
		Operation: d.Operation, Action: rec.Action, Outcome: rec.Outcome, OutcomeDesc: d.OutcomeDesc,
		ClientID: d.ClientID, Address: d.Address, Entity: rec.Entity, Version: d.Version, Patient: rec.Patient,
		QueryType: d.QueryType, Query: d.Query, Destination: d.Destination, EndpointID: d.EndpointID,
	}
	if rec.Subtype == "transmit" {
		ev.Kind, ev.Subtype = socialrx.AuditTransmit, ""
	}
	return json.Marshal(auditEventOf(ev))
}

// auditEventOf builds the FHIR AuditEvent of ev, whose Entity and Patient
// are valid references or empty (AuditRecordOf).
func auditEventOf(ev socialrx.AuditEvent) *auditEventJSON {
	rec := ev.Recorded.UTC()
	ae := &auditEventJSON{
		ResourceType: "AuditEvent",
		ID:           ev.ID,
		Meta:         auditMeta{VersionID: "1", LastUpdated: rec.Format(fhir.InstantFormat)},
		Action:       string(ev.Action),
		Recorded:     rec.Format(fhir.InstantFormat),
		Outcome:      string(ev.Outcome),
		OutcomeDesc:  ev.OutcomeDesc,
		Source: auditSource{Observer: selfRef, Type: []auditCoding{{
			System: auditSourceTypeSystem, Code: "4", Display: "Application Server",
		}}},
	}
	agentID := socialrx.AuditAgentID(ev.ClientID)
	switch ev.Kind {
	case socialrx.AuditTransmit:
		ae.Type = auditCoding{System: auditDCMSystem, Code: "110106"}
		ae.Subtype = []auditCoding{{System: auditLifecycleSystem, Code: "transmit"}}
		dest := auditRef{Display: ev.Destination}
		if ev.EndpointID != "" {
			dest.Identifier = &auditIdentifier{System: AuditEndpointSystem, Value: ev.EndpointID}
		}
		ae.Agent = []auditAgent{
			{Type: auditSourceRole, Who: selfRef, Requestor: true},
			{Type: auditDestinationRole, Who: dest},
		}
	default:
		ae.Type = auditCoding{System: auditTypeSystem, Code: "rest"}
		if ev.Subtype != "" {
			ae.Subtype = []auditCoding{{System: auditInteractionSystem, Code: ev.Subtype}}
		}
		client := auditAgent{Type: auditSourceRole, Who: auditRef{Reference: "Device/" + agentID}, Requestor: true}
		if ev.ClientID != "" {
			client.Who.Identifier = &auditIdentifier{System: AuditClientIDSystem, Value: ev.ClientID}
			client.Who.Display = ev.ClientID
		} else {
			client.Who.Display = "anonymous (authentication off)"
		}
		if ev.Address != "" {
			client.Network = &auditNetwork{Address: ev.Address, Type: "2"}
		}
		ae.Agent = []auditAgent{client, {Type: auditDestinationRole, Who: selfRef}}
	}
	if ev.Entity != "" {
		what := ev.Entity
		if ev.Version > 0 {
			what += "/_history/" + strconv.FormatInt(ev.Version, 10)
		}
		e := auditEntity{
			What: &auditRef{Reference: what},
			Type: &auditCoding{System: auditEntityTypeSystem, Code: "2"},
			Role: &auditCoding{System: auditObjectRoleSystem, Code: "4"},
		}
		if ev.Operation != "" {
			e.Description = ev.Operation
		}
		ae.Entity = append(ae.Entity, e)
	}
	if ev.QueryType != "" || ev.Query != "" {
		ae.Entity = append(ae.Entity, auditEntity{
			Type:        &auditCoding{System: auditEntityTypeSystem, Code: "2"},
			Role:        &auditCoding{System: auditObjectRoleSystem, Code: "24"},
			Description: strings.TrimSpace(ev.Operation + " " + ev.QueryType),
			Query:       base64.StdEncoding.EncodeToString([]byte(ev.Query)),
		})
	} else if ev.Entity == "" && ev.Operation != "" {
		ae.Entity = append(ae.Entity, auditEntity{
			Type:        &auditCoding{System: auditEntityTypeSystem, Code: "2"},
			Description: ev.Operation,
		})
	}
	if ev.Patient != "" && ev.Patient != ev.Entity {
		ae.Entity = append(ae.Entity, auditEntity{
			What: &auditRef{Reference: ev.Patient},
			Type: &auditCoding{System: auditEntityTypeSystem, Code: "1"},
			Role: &auditCoding{System: auditObjectRoleSystem, Code: "1"},
		})
	} else if ev.Patient != "" {
		// The resource is the patient: BALP's patient entity is the
		// resource entity with role Patient.
		ae.Entity[0].Type = &auditCoding{System: auditEntityTypeSystem, Code: "1"}
		ae.Entity[0].Role = &auditCoding{System: auditObjectRoleSystem, Code: "1"}
	}
	return ae
}

// auditRefOK reports whether ref is "" or a relative reference Type/id
// with a valid id.
func auditRefOK(ref string) bool {
	if ref == "" {
		return true
	}
	typ, id, ok := strings.Cut(ref, "/")
	return ok && fhir.Known(typ) && fhir.ValidID(id)
}

// auditSubtype is the subtype column: the restful-interaction code, or
// "transmit".
func auditSubtype(ev socialrx.AuditEvent) string {
	if ev.Kind == socialrx.AuditTransmit {
		return "transmit"
	}
	return ev.Subtype
}

// auditPatientRefs are the elements that name the patient a resource is
// about (the patient compartment parameters adapter/export uses: patient,
// subject, beneficiary; Task.for is Task's patient).
type auditPatientRefs struct {
	Subject     *struct{ Reference string } `json:"subject"`
	Patient     *struct{ Reference string } `json:"patient"`
	For         *struct{ Reference string } `json:"for"`
	Beneficiary *struct{ Reference string } `json:"beneficiary"`
}

// AuditPatient returns "Patient/id" of the patient a resource is about,
// for the AuditEvent's patient entity: the Patient itself, or the Patient
// its subject, patient, for or beneficiary names; "" when none (or the
// body cannot be read).
func AuditPatient(typ, id string, body []byte) string {
	if typ == "Patient" {
		if id == "" {
			return ""
		}
		return "Patient/" + id
	}
	if len(body) == 0 {
		return ""
	}
	var r auditPatientRefs
	// An element of another shape (an array where a type has one) is
	// skipped; the others are still read.
	_ = json.Unmarshal(body, &r)
	for _, ref := range []*struct{ Reference string }{r.Subject, r.Patient, r.For, r.Beneficiary} {
		if ref == nil {
			continue
		}
		if t, pid, ok := refTypeID(ref.Reference); ok && t == "Patient" {
			return "Patient/" + pid
		}
	}
	return ""
}
