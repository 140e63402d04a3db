package mapping

import (
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/socialrx/socialrx"
)

// EndpointOf reads an Endpoint resource as a socialrx.Endpoint; ok is false
// when body is no Endpoint, is not active (Endpoint.status active, or
// absent), has no address, or its connectionType is not one of
// http://terminology.hl7.org/CodeSystem/endpoint-connection-type.
func EndpointOf(body []byte) (socialrx.Endpoint, bool) {
	ep, ok := endpointView(body)
	if !ok || ep.Status != r4.EndpointStatusActive {
		return socialrx.Endpoint{}, false // off, suspended, error, entered-in-error, test
	}
	system, code := str(ep.ConnectionType.System), str(ep.ConnectionType.Code)
	if (system != systemEndpointConnType && system != "") || code == "" || ep.Address == "" {
		return socialrx.Endpoint{}, false
	}
	return socialrx.Endpoint{ID: str(ep.Id), ConnectionType: code, Address: ep.Address}, true
}

// endpointView reads body as samply's r4.Endpoint, a read-only view (never
// marshalled). An absent or empty status reads as active (samply's zero
// EndpointStatus). ok is false when body is not a JSON Endpoint or its
// status is not an EndpointStatus code.
//
// samply refuses a whole resource for one unknown code in any enum-typed
// element (Identifier.use, ContactPoint.system, Narrative.status) or one
// wrong JSON type anywhere. An Endpoint it refuses is read again with only
// the elements EndpointOf uses, so that such a flaw in an element delivery
// does not read gives the result it gave before samply was used.
func endpointView(body []byte) (r4.Endpoint, bool) {
	if h, ok := readHead(body); !ok || h.ResourceType != "Endpoint" {
		return r4.Endpoint{}, false // samply decodes any resourceType
	}
	if ep, err := r4.UnmarshalEndpoint(body); err == nil {
		return ep, true
	}
	var min struct {
		ResourceType   string  `json:"resourceType"`
		ID             *string `json:"id"`
		Status         string  `json:"status"`
		ConnectionType *coding `json:"connectionType"`
		Address        string  `json:"address"`
	}
	if decodeResource(body, "Endpoint", &min, &min.ResourceType) != nil {
		return r4.Endpoint{}, false
	}
	ep := r4.Endpoint{Id: min.ID, Address: min.Address}
	if min.Status != "" && ep.Status.UnmarshalJSON(marshal(min.Status)) != nil {
		return r4.Endpoint{}, false
	}
	if ct := min.ConnectionType; ct != nil {
		ep.ConnectionType = r4.Coding{System: &ct.System, Code: &ct.Code}
	}
	return ep, true
}

// str returns *p, or "" for nil: samply's optional strings.
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// EndpointFor finds the first active Endpoint of connection type connType
// (socialrx.ConnectionFHIRMessaging or ConnectionFHIRREST) listed in the
// endpoint element of the resources refs name ("Type/id": a
// HealthcareService, Organization, PractitionerRole or Location), in the
// order given; for a PractitionerRole without one, its organization's
// endpoints are looked at too, and for a HealthcareService its providedBy
// Organization's. Unresolvable references are skipped.
func EndpointFor(r Resolver, connType string, refs ...string) (socialrx.Endpoint, bool) {
	for _, ref := range refs {
		if ep, ok := endpointOfHolder(r, connType, ref, 0); ok {
			return ep, true
		}
	}
	return socialrx.Endpoint{}, false
}

// holder is a resource that lists Endpoints, with its parent organization.
type holder struct {
	ResourceType string      `json:"resourceType"`
	Endpoint     []reference `json:"endpoint"`
	Organization *reference  `json:"organization"` // PractitionerRole
	ProvidedBy   *reference  `json:"providedBy"`   // HealthcareService
}

func endpointOfHolder(r Resolver, connType, ref string, depth int) (socialrx.Endpoint, bool) {
	typ, id, ok := refTypeID(ref)
	if !ok || depth > 1 {
		return socialrx.Endpoint{}, false
	}
	b, ok := r.resolve(typ + "/" + id)
	if !ok {
		return socialrx.Endpoint{}, false
	}
	var h holder
	if decodeResource(b, typ, &h, &h.ResourceType) != nil {
		return socialrx.Endpoint{}, false
	}
	for _, er := range h.Endpoint {
		et, eid, ok := refTypeID(er.Reference)
		if !ok || et != "Endpoint" {
			continue
		}
		eb, ok := r.resolve("Endpoint/" + eid)
		if !ok {
			continue
		}
		if ep, ok := EndpointOf(eb); ok && ep.ConnectionType == connType {
			ep.ID = eid
			return ep, true
		}
	}
	var parent *reference
	switch typ {
	case "PractitionerRole":
		parent = h.Organization
	case "HealthcareService":
		parent = h.ProvidedBy
	}
	if parent != nil {
		if typ, _, ok := refTypeID(parent.Reference); ok && typ == "Organization" {
			return endpointOfHolder(r, connType, parent.Reference, depth+1)
		}
	}
	return socialrx.Endpoint{}, false
}
