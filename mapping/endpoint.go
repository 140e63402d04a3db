package mapping

import (
	"github.com/socialrx/socialrx"
)

// endpointFull is the part of an R4 Endpoint that delivery reads.
type endpointFull struct {
	ResourceType   string  `json:"resourceType"`
	ID             string  `json:"id"`
	Status         string  `json:"status"`
	ConnectionType *coding `json:"connectionType"`
	Address        string  `json:"address"`
}

// EndpointOf reads an Endpoint resource as a socialrx.Endpoint; ok is false
// when body is no Endpoint, is not active (Endpoint.status active, or
// absent), has no address, or its connectionType is not one of
// http://terminology.hl7.org/CodeSystem/endpoint-connection-type.
func EndpointOf(body []byte) (socialrx.Endpoint, bool) {
	var ep endpointFull
	if decodeResource(body, "Endpoint", &ep, &ep.ResourceType) != nil || ep.ConnectionType == nil {
		return socialrx.Endpoint{}, false
	}
	if ep.Status != "active" && ep.Status != "" {
		return socialrx.Endpoint{}, false // off, suspended, error, entered-in-error, test
	}
	ct := ep.ConnectionType
	if (ct.System != systemEndpointConnType && ct.System != "") || ct.Code == "" || ep.Address == "" {
		return socialrx.Endpoint{}, false
	}
	return socialrx.Endpoint{ID: ep.ID, ConnectionType: ct.Code, Address: ep.Address}, true
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
