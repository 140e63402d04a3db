package mapping

import (
	"encoding/json"
	"slices"

	"github.com/socialrx/socialrx"
)

// referralTask is the part of an SDOH CC TaskForReferralManagement Task that
// MessageResources reads.
type referralTask struct {
	ResourceType string           `json:"resourceType"`
	ID           string           `json:"id"`
	Code         *codeableConcept `json:"code"`
	Focus        *reference       `json:"focus"`
	For          *reference       `json:"for"`
	Requester    *reference       `json:"requester"`
	Owner        *reference       `json:"owner"`
}

// referralRequest is the part of a ServiceRequest MessageResources reads.
type referralRequest struct {
	ResourceType   string      `json:"resourceType"`
	ID             string      `json:"id"`
	Subject        *reference  `json:"subject"`
	Requester      *reference  `json:"requester"`
	Performer      []reference `json:"performer"`
	SupportingInfo []reference `json:"supportingInfo"`
}

// linkedParty is the part of a PractitionerRole or HealthcareService whose
// references MessageResources follows.
type linkedParty struct {
	Practitioner *reference `json:"practitioner"` // PractitionerRole.practitioner
	Organization *reference `json:"organization"` // PractitionerRole.organization
	ProvidedBy   *reference `json:"providedBy"`   // HealthcareService.providedBy
}

// resourceHead is the resourceType and id of a resource body.
type resourceHead struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
}

// readHead returns the resourceType and id of body; ok is false when body
// is not a JSON object with a string resourceType.
func readHead(body []byte) (resourceHead, bool) {
	var h resourceHead
	if err := json.Unmarshal(body, &h); err != nil || h.ResourceType == "" {
		return resourceHead{}, false
	}
	return h, true
}

// msgGather collects resources in order, once each, by "Type/id".
type msgGather struct {
	r      Resolver
	seen   map[string]bool
	bodies [][]byte
}

// add resolves ref when it is a literal "Type/id" (relative, or absolute
// ending so) of one of types (any type when none given) and appends the
// body once. It returns the body, or nil when ref is not followed, not
// found, not a JSON object of the referenced type, or already gathered.
func (g *msgGather) add(ref *reference, types ...string) []byte {
	if ref == nil || ref.Reference == "" {
		return nil
	}
	typ, id, ok := refTypeID(ref.Reference)
	if !ok || (len(types) > 0 && !slices.Contains(types, typ)) {
		return nil
	}
	key := typ + "/" + id
	if g.seen[key] {
		return nil
	}
	body, ok := g.r.resolve(key)
	if !ok {
		return nil
	}
	if h, ok := readHead(body); !ok || h.ResourceType != typ {
		return nil
	}
	g.seen[key] = true
	g.bodies = append(g.bodies, body)
	return body
}

// The types of requester and performer MessageResources follows.
var (
	requesterTypes = []string{"PractitionerRole", "Practitioner", "Organization"}
	performerTypes = []string{"HealthcareService", "Organization", "PractitionerRole", "Practitioner"}
)

// addParty adds the requester or performer ref when it is of one of types
// and then, for a PractitionerRole, its practitioner (only for a requester:
// the role of a performer is what the platform routes to) and organization;
// for a HealthcareService, its providedBy Organization.
func (g *msgGather) addParty(ref *reference, types []string) {
	body := g.add(ref, types...)
	if body == nil {
		return
	}
	var p linkedParty
	if json.Unmarshal(body, &p) != nil {
		return
	}
	typ, _, _ := refTypeID(ref.Reference)
	switch typ {
	case "PractitionerRole":
		if slices.Equal(types, requesterTypes) {
			g.add(p.Practitioner, "Practitioner")
		}
		g.add(p.Organization, "Organization")
	case "HealthcareService":
		g.add(p.ProvidedBy, "Organization")
	}
}

// MessageResources gathers the resources an eReferral message about a
// referral carries, from the referral Task body (SDOH CC
// TaskForReferralManagement,
// http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-TaskForReferralManagement:
// Task.code fulfill, Task.focus a ServiceRequest), resolving references
// through r. In this order, each resource once:
//
//  1. the Task itself (task, as given);
//  2. its focus ServiceRequest (Task.focus);
//  3. the Patient: ServiceRequest.subject, else Task.for;
//  4. the requester: ServiceRequest.requester, else Task.requester, when a
//     PractitionerRole (followed by its practitioner and organization), a
//     Practitioner or an Organization;
//  5. the performers: ServiceRequest.performer[0], then Task.owner, when a
//     HealthcareService (followed by its providedBy Organization), an
//     Organization, a PractitionerRole (followed by its organization) or a
//     Practitioner (a Patient or RelatedPerson performer is not carried
//     again);
//  6. every QuestionnaireResponse in ServiceRequest.supportingInfo, in order.
//
// Only literal "Type/id" references are followed (an absolute URL ending in
// Type/id is asked for as Type/id; urn:, contained and conditional
// references are not). A resource r cannot find, or whose body is not of the
// referenced type, is left out: it is not an error. The bodies are returned
// as r gave them.
//
// Errors are *socialrx.Error: EINVALID when task is not a JSON Task (see
// decodeResource); EUNPROCESSABLE, with every issue at its path, when the
// Task is not a referral Task (Task.code has no task-code fulfill; Task.focus
// is not a ServiceRequest reference "ServiceRequest/<id>"), has no id
// (Task.id), or its focus ServiceRequest cannot be resolved (Task.focus).
func MessageResources(task []byte, r Resolver) (resources [][]byte, err error) {
	var t referralTask
	if err := decodeResource(task, "Task", &t, &t.ResourceType); err != nil {
		return nil, err
	}
	var is issueList
	if t.ID == "" {
		is.add("required", "Task.id", "a referral Task needs an id")
	}
	if !t.Code.has(systemTaskCode, "fulfill") {
		is.add("value", "Task.code", "not a referral Task: Task.code must be fulfill ("+systemTaskCode+")")
	}
	g := &msgGather{r: r, seen: map[string]bool{}}
	var srBody []byte
	switch typ, id, ok := refTypeID(refString(t.Focus)); {
	case t.Focus == nil || t.Focus.Reference == "":
		is.add("required", "Task.focus", "a referral Task needs a ServiceRequest focus")
	case !ok || typ != "ServiceRequest":
		is.add("value", "Task.focus.reference", "must reference a ServiceRequest as ServiceRequest/<id>")
	default:
		if body, found := r.resolve("ServiceRequest/" + id); found {
			if h, ok := readHead(body); ok && h.ResourceType == "ServiceRequest" {
				srBody = body
			}
		}
		if srBody == nil {
			is.add("not-found", "Task.focus", "the focus ServiceRequest was not found")
		}
	}
	if err := is.err("not a referral message"); err != nil {
		return nil, err
	}
	var sr referralRequest
	if err := decodeResource(srBody, "ServiceRequest", &sr, &sr.ResourceType); err != nil {
		return nil, issueErr(socialrx.EUNPROCESSABLE, "invalid", "Task.focus", "the focus ServiceRequest cannot be read")
	}
	g.seen["Task/"+t.ID] = true
	g.bodies = append(g.bodies, task)
	_, srID, _ := refTypeID(t.Focus.Reference)
	g.seen["ServiceRequest/"+srID] = true
	g.bodies = append(g.bodies, srBody)

	g.add(sr.Subject, "Patient")
	if !g.seen[refKey(sr.Subject)] {
		g.add(t.For, "Patient")
	}
	g.addParty(sr.Requester, requesterTypes)
	if !g.seen[refKey(sr.Requester)] {
		g.addParty(t.Requester, requesterTypes)
	}
	if len(sr.Performer) > 0 {
		g.addParty(&sr.Performer[0], performerTypes)
	}
	g.addParty(t.Owner, performerTypes)
	for i := range sr.SupportingInfo {
		g.add(&sr.SupportingInfo[i], "QuestionnaireResponse")
	}
	return g.bodies, nil
}

// refString returns ref's reference string, "" for nil.
func refString(ref *reference) string {
	if ref == nil {
		return ""
	}
	return ref.Reference
}

// refKey returns ref as "Type/id", "" when it is not a literal reference.
func refKey(ref *reference) string {
	typ, id, ok := refTypeID(refString(ref))
	if !ok {
		return ""
	}
	return typ + "/" + id
}
