package mapping

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

// The socialrx code systems a ServiceRequest, a Task or a PractitionerRole
// carries, and the other systems this file reads.
const (
	formSystem             = socialrx.CodeSystemBase + "prescription-form"
	channelSystem          = socialrx.CodeSystemBase + "prescription-channel"
	practitionerRoleSystem = socialrx.CodeSystemBase + "practitioner-role"
	systemEndpointConnType = "http://terminology.hl7.org/CodeSystem/endpoint-connection-type"
)

// navigatorRoles are the PractitionerRole.code codings that make a
// performer a social prescribing navigator or link worker, so that a
// prescription to them is FormNavigator when the EMR sends no form. Only
// explicit codes count: a social worker (SNOMED CT 106328005) or a care
// coordinator is a profession, not the guide's navigator role, and guessing
// from it would send ordinary referrals down the navigator path.
var navigatorRoles = []coding{
	{System: practitionerRoleSystem, Code: "navigator", Display: "Social prescribing navigator"},
	{System: practitionerRoleSystem, Code: "link-worker", Display: "Social prescribing link worker"},
}

// electronicConnections are the Endpoint.connectionType codes
// (endpoint-connection-type) over which socialrx delivers a hand-off
// electronically: FHIR messaging ($process-messages, as Ocean eReferral
// does) and a FHIR REST base (whose $process-messages socialrx calls).
var electronicConnections = []string{"hl7-fhir-msg", "hl7-fhir-rest"}

// Resolver returns the JSON of the resource a reference points to, when the
// caller can see it (the store, inside the same transaction), and ok false
// otherwise. mapping calls it with relative references "Type/id" only (an
// absolute URL ending in Type/id is asked for as Type/id). A Resolver does
// the I/O so that mapping stays pure; a nil Resolver resolves nothing.
type Resolver func(reference string) (body []byte, ok bool)

func (r Resolver) resolve(ref string) ([]byte, bool) {
	if r == nil {
		return nil, false
	}
	return r(ref)
}

// serviceRequest is the part of an R4 ServiceRequest that
// PrescriptionFromServiceRequest reads.
type serviceRequest struct {
	ResourceType    string            `json:"resourceType"`
	ID              string            `json:"id"`
	Identifier      []identifier      `json:"identifier"`
	Status          string            `json:"status"`
	Category        []categoryConcept `json:"category"`
	Code            *codeableConcept  `json:"code"`
	Subject         *reference        `json:"subject"`
	AuthoredOn      string            `json:"authoredOn"`
	Requester       *reference        `json:"requester"`
	Performer       []reference       `json:"performer"`
	ReasonCode      []codeableConcept `json:"reasonCode"`
	ReasonReference []reference       `json:"reasonReference"`
}

// categoryConcept is a ServiceRequest.category; its codings keep
// userSelected, which marks the categories socialrx derived.
type categoryConcept struct {
	Coding []categoryCoding `json:"coding"`
}

type categoryCoding struct {
	System       string `json:"system"`
	Code         string `json:"code"`
	Display      string `json:"display"`
	UserSelected *bool  `json:"userSelected"`
}

type identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

// performer is the part of a HealthcareService, Organization,
// PractitionerRole or Practitioner that form and channel derivation read.
type performer struct {
	ResourceType string            `json:"resourceType"`
	Code         []codeableConcept `json:"code"` // PractitionerRole.code
	Telecom      []struct {
		System string `json:"system"`
	} `json:"telecom"`
	Endpoint []reference `json:"endpoint"`
}

// reach is what socialrx could learn about a performer through a Resolver.
type reach struct {
	navigator  bool // a PractitionerRole coded navigator or link worker
	electronic bool // an active Endpoint in electronicConnections
	fax, phone bool // a telecom of that system
}

// issueList gathers the rules a resource breaks.
type issueList []socialrx.Issue

func (l *issueList) add(code, path, msg string) {
	*l = append(*l, socialrx.Issue{Severity: socialrx.SeverityError, Code: code, Path: path, Message: msg})
}

// merge adds the issues of err (a Validate error) that say something new:
// an issue whose path is that of, or a parent of, an issue already listed
// is left out ("ServiceRequest.subject" after "ServiceRequest.subject.reference").
func (l *issueList) merge(err error) {
	var e *socialrx.Error
	if !errors.As(err, &e) {
		return
	}
next:
	for _, is := range e.Issues {
		for _, have := range *l {
			if strings.HasPrefix(have.Path, is.Path) {
				continue next
			}
		}
		*l = append(*l, is)
	}
}

// err returns nil for an empty list, else an EUNPROCESSABLE *socialrx.Error
// holding every issue.
func (l issueList) err(what string) error {
	if len(l) == 0 {
		return nil
	}
	return &socialrx.Error{Code: socialrx.EUNPROCESSABLE, Message: what + ": " + strconv.Itoa(len(l)) + " rule(s) broken", Issues: l}
}

// idx returns path[i].
func idx(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// refTypeID returns the type and id of a literal reference that is
// relative ("Type/id", "Type/id/_history/v") or an absolute URL ending so;
// ok is false for anything else (contained, urn:, conditional, malformed).
// It reads references received from outside; a "Type/id" that socialrx
// made itself is split with fhir.SplitRef. RefTypeID is the same, for
// callers outside this package.
func refTypeID(s string) (typ, id string, ok bool) {
	r, err := fhir.ParseReference(s)
	if err != nil || (r.Kind != fhir.RefRelative && r.Kind != fhir.RefAbsolute) || r.Type == "" || r.ID == "" {
		return "", "", false
	}
	return r.Type, r.ID, true
}

// RefTypeID returns the type and id of a literal reference received from
// outside, relative or absolute (see refTypeID), as mapping reads them.
func RefTypeID(ref string) (typ, id string, ok bool) { return refTypeID(ref) }

// PrescriptionFromServiceRequest reads a social prescription from a
// ServiceRequest (SDOH CC ServiceRequest profile,
// http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-ServiceRequest),
// resolving its performer, the performer's Endpoints and its reason
// Conditions through r. The fields:
//
//   - ID: ServiceRequest.id; PatientID: ServiceRequest.subject (Patient/<id>);
//   - Code: ServiceRequest.code.coding[0]; a code with text only (no
//     coding) gives a Code with that text as Display and no system or code;
//   - Target: ServiceRequest.performer[0] as "Type/id" (HealthcareService,
//     Organization, PractitionerRole; other types are kept and refused by
//     Prescription.Validate). A performer that is the Patient or a
//     RelatedPerson, or has no literal reference, is no Target: the person
//     pursues the support themselves;
//   - Needs, in this order without repeats: ServiceRequest.category codings
//     in socialrx need-domain or SDOH CC category codes
//     (SDOHCC-CodeSystemTemporaryCodes, as the SDOH CC profile carries the
//     domain); then each ServiceRequest.reasonCode (the Condition code
//     tables: ICD-10 family, SNOMED CT, SDOH CC, need-domain); then each
//     reasonReference Condition resolved through r and read with
//     NeedFromCondition. NeedRefs: the reasonReference Conditions as
//     "Condition/<id>" (references to other types, contained and
//     unresolvable ones give no domain and are not NeedRefs);
//   - Form and Channel: a ServiceRequest.category coding in socialrx
//     prescription-form / prescription-channel. A form coding with
//     userSelected false is one socialrx derived (versions before issue 12
//     wrote them into stored bodies): FormDerived stays true. When the form
//     is absent it is derived,
//     in this order:
//     1. the performer is a PractitionerRole coded navigator or link worker
//     (socialrx practitioner-role) → navigator;
//     2. the channel sent is self → self-directed (the sender says the
//     person contacts the program);
//     3. the performer has an active Endpoint with an address (its own
//     endpoint element; see EndpointOf)
//     of connectionType hl7-fhir-msg or hl7-fhir-rest, or a fax telecom,
//     or a channel other than self was sent → warm hand-off;
//     4. otherwise (no performer, a bare program) → self-directed;
//     and FormDerived is true. When the channel is absent it is derived:
//     self for a self-directed prescription; otherwise from the performer:
//     an electronic Endpoint → ocean-ereferral (socialrx's electronic
//     channel, delivered by $process-messages), a fax telecom → efax, a
//     phone telecom → phone, else none;
//   - Status: ServiceRequest.status; RequesterID: ServiceRequest.requester
//     as "Type/id"; AuthoredOn: ServiceRequest.authoredOn; Identifiers:
//     ServiceRequest.identifier (System and value in Code).
//
// A performer or Condition that r cannot resolve gives nothing to derive
// from; it is not an error. FollowUp is left nil (see FollowUpFromTask).
//
// The Prescription returned passes Prescription.Validate. Errors are
// *socialrx.Error: EINVALID for malformed JSON or another resourceType;
// otherwise EUNPROCESSABLE with one issue per broken rule, mapping's (a
// subject that is not a Patient, a performer reference that is not
// Type/id, an unknown socialrx code, a bad authoredOn) and Validate's
// together, each with its element path (ServiceRequest.subject,
// ServiceRequest.category[1].coding[0], ...), never a value.
func PrescriptionFromServiceRequest(body []byte, r Resolver) (*socialrx.Prescription, error) {
	var sr serviceRequest
	if err := decodeResource(body, "ServiceRequest", &sr, &sr.ResourceType); err != nil {
		return nil, err
	}
	var is issueList
	p := &socialrx.Prescription{ID: sr.ID, Status: sr.Status}

	// Subject.
	if sr.Subject == nil || sr.Subject.Reference == "" {
		is.add("required", "ServiceRequest.subject", "a Patient reference is required")
	} else if typ, id, ok := refTypeID(sr.Subject.Reference); !ok || typ != "Patient" {
		is.add("value", "ServiceRequest.subject.reference", "must reference a Patient as Patient/<id>")
	} else {
		p.PatientID = id
	}

	// Code.
	if sr.Code != nil && len(sr.Code.Coding) > 0 {
		c := sr.Code.Coding[0]
		p.Code = socialrx.Coding{System: c.System, Code: c.Code, Display: c.Display}
	} else if sr.Code != nil && strings.TrimSpace(sr.Code.Text) != "" {
		// R4 CodeableConcept.text alone is a code: EMRs often send only
		// the words. It says what is prescribed as well as a display.
		p.Code = socialrx.Coding{Display: sr.Code.Text}
	}

	// Target.
	if len(sr.Performer) > 0 && sr.Performer[0].Reference != "" {
		typ, id, ok := refTypeID(sr.Performer[0].Reference)
		switch {
		case !ok:
			is.add("value", "ServiceRequest.performer[0].reference", "must reference the performer as Type/id")
		case typ == "Patient" || typ == "RelatedPerson":
		default:
			p.Target = typ + "/" + id
		}
	}

	// Requester, authoredOn, identifiers.
	if sr.Requester != nil {
		if typ, id, ok := refTypeID(sr.Requester.Reference); ok {
			p.RequesterID = typ + "/" + id
		}
	}
	if at, err := parseDateTime(sr.AuthoredOn, "ServiceRequest.authoredOn"); err != nil {
		is.add("value", "ServiceRequest.authoredOn", "invalid date/time format")
	} else {
		p.AuthoredOn = at
	}
	for _, id := range sr.Identifier {
		if id.Value != "" {
			p.Identifiers = append(p.Identifiers, socialrx.Coding{System: id.System, Code: id.Value})
		}
	}

	// Category: form, channel, need domains.
	seen := map[socialrx.NeedDomain]bool{}
	addNeed := func(d socialrx.NeedDomain) {
		if !seen[d] {
			seen[d] = true
			p.Needs = append(p.Needs, d)
		}
	}
	formSent, channelSent := false, false
	for i, cc := range sr.Category {
		for j, c := range cc.Coding {
			path := idx(idx("ServiceRequest.category", i)+".coding", j)
			switch c.System {
			case formSystem:
				if formSent {
					continue
				}
				formSent = true
				if f := socialrx.Form(c.Code); f.Valid() {
					p.Form = f
					p.FormDerived = c.UserSelected != nil && !*c.UserSelected
				} else {
					is.add("value", path, "not a code of "+formSystem)
				}
			case channelSystem:
				if channelSent {
					continue
				}
				channelSent = true
				if ch := socialrx.Channel(c.Code); ch.Valid() {
					p.Channel = ch
				} else {
					is.add("value", path, "not a code of "+channelSystem)
				}
			case needDomainSystem:
				if d := socialrx.NeedDomain(c.Code); d.Valid() {
					addNeed(d)
				} else {
					is.add("value", path, "not a code of "+needDomainSystem)
				}
			case systemSDOHCC:
				if row, ok := lookupCondition(c.System, c.Code); ok {
					addNeed(row.Domain)
				}
			}
		}
	}
	for _, cc := range sr.ReasonCode {
		if d, ok := reasonDomain(cc); ok {
			addNeed(d)
		}
	}
	for _, ref := range sr.ReasonReference {
		typ, id, ok := refTypeID(ref.Reference)
		if !ok || typ != "Condition" {
			continue
		}
		p.NeedRefs = append(p.NeedRefs, "Condition/"+id)
		if b, ok := r.resolve("Condition/" + id); ok {
			if n, social, err := NeedFromCondition(b); err == nil && social {
				addNeed(n.Domain)
			}
		}
	}

	// Form and channel derivation.
	var rc reach
	if p.Target != "" {
		rc = lookReach(p.Target, r)
	}
	if p.Form == "" && !formSent {
		p.Form, p.FormDerived = deriveForm(p.Target != "", rc, p.Channel), true
	}
	if p.Channel == "" && !channelSent {
		p.Channel = deriveChannel(p.Form, rc)
	}

	is.merge(p.Validate())
	if err := is.err("invalid prescription"); err != nil {
		return nil, err
	}
	return p, nil
}

// reasonDomain returns the need domain of a reasonCode: that of its first
// coding in the Condition code tables whose domain is not unspecified, else
// unspecified when a coding is in the tables at all.
func reasonDomain(cc codeableConcept) (socialrx.NeedDomain, bool) {
	known := false
	for _, c := range cc.Coding {
		row, ok := lookupCondition(c.System, c.Code)
		if !ok {
			continue
		}
		if row.Domain != socialrx.DomainUnspecified {
			return row.Domain, true
		}
		known = true
	}
	return socialrx.DomainUnspecified, known
}

// deriveForm applies the derivation rules of PrescriptionFromServiceRequest
// (design.md, "Three forms of prescription").
func deriveForm(hasTarget bool, rc reach, channel socialrx.Channel) socialrx.Form {
	switch {
	case rc.navigator:
		return socialrx.FormNavigator
	case channel == socialrx.ChannelSelf:
		return socialrx.FormSelfDirected
	case hasTarget && (rc.electronic || rc.fax), channel != "":
		return socialrx.FormWarmHandoff
	}
	return socialrx.FormSelfDirected
}

// deriveChannel returns the channel of a prescription that did not say.
func deriveChannel(f socialrx.Form, rc reach) socialrx.Channel {
	switch {
	case f == socialrx.FormSelfDirected:
		return socialrx.ChannelSelf
	case rc.electronic:
		return socialrx.ChannelOceanEReferral
	case rc.fax:
		return socialrx.ChannelEFax
	case rc.phone:
		return socialrx.ChannelPhone
	}
	return ""
}

// lookReach resolves the performer target ("Type/id") and its Endpoints.
// What cannot be resolved or read is simply not known.
func lookReach(target string, r Resolver) reach {
	var rc reach
	typ, _, ok := fhir.SplitRef(target)
	if !ok {
		return rc
	}
	b, ok := r.resolve(target)
	if !ok {
		return rc
	}
	var pf performer
	if decodeResource(b, typ, &pf, &pf.ResourceType) != nil {
		return rc
	}
	if typ == "PractitionerRole" {
		for _, cc := range pf.Code {
			for _, nr := range navigatorRoles {
				if cc.has(nr.System, nr.Code) {
					rc.navigator = true
				}
			}
		}
	}
	for _, t := range pf.Telecom {
		switch t.System {
		case "fax":
			rc.fax = true
		case "phone":
			rc.phone = true
		}
	}
	for _, ref := range pf.Endpoint {
		et, id, ok := refTypeID(ref.Reference)
		if !ok || et != "Endpoint" {
			continue
		}
		eb, ok := r.resolve("Endpoint/" + id)
		if !ok {
			continue
		}
		if ep, ok := EndpointOf(eb); ok && slices.Contains(electronicConnections, ep.ConnectionType) {
			rc.electronic = true
		}
	}
	return rc
}
