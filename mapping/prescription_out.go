package mapping

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/socialrx/socialrx"
)

// Profiles socialrx claims on what it writes.
const (
	profileSDOHCCServiceRequest = "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-ServiceRequest"
	profileSDOHCCCondition      = "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-Condition"
	systemConditionCategory     = "http://hl7.org/fhir/us/core/CodeSystem/condition-category"
)

// sdohccByDomain is the SDOH CC category code (SDOHCC-CodeSystemTemporaryCodes)
// written beside socialrx's need-domain code for the domains that have a
// matching one. The other domains (mental health and substance use, physical
// activity, creative expression, daily living, childcare, unspecified) have
// no SDOH CC category of the same breadth ("stress" and
// "transportation-insecurity" are narrower) and carry the need-domain code
// only. Reading maps each of these codes back to the same domain
// (codes_condition.go), so a round trip keeps the domain.
var sdohccByDomain = map[socialrx.NeedDomain]coding{
	socialrx.DomainFood:               {System: systemSDOHCC, Code: "food-insecurity", Display: "Food Insecurity"},
	socialrx.DomainHousing:            {System: systemSDOHCC, Code: "housing-instability", Display: "Housing Instability"},
	socialrx.DomainFinances:           {System: systemSDOHCC, Code: "financial-insecurity", Display: "Financial Insecurity"},
	socialrx.DomainSocialSupport:      {System: systemSDOHCC, Code: "social-connection", Display: "Social Connection"},
	socialrx.DomainMedicationCoverage: {System: systemSDOHCC, Code: "health-insurance-coverage-status", Display: "Health Insurance Coverage Status"},
}

// socialServiceProcedure is the ServiceRequest.category the SDOH CC examples
// give every social service request (SNOMED CT 410606002).
var socialServiceProcedure = codingJSON{System: systemSNOMED, Code: "410606002", Display: "Social service procedure"}

// The JSON shapes socialrx writes; field order is the FHIR element order.
type codingJSON struct {
	System       string `json:"system,omitempty"`
	Code         string `json:"code,omitempty"`
	Display      string `json:"display,omitempty"`
	UserSelected *bool  `json:"userSelected,omitempty"`
}

type conceptJSONOut struct {
	Coding []codingJSON `json:"coding,omitempty"`
	Text   string       `json:"text,omitempty"`
}

type refJSON struct {
	Reference string `json:"reference"`
}

type identifierJSON struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value"`
}

type metaJSON struct {
	Profile []string `json:"profile"`
}

func jsonCoding(c coding) codingJSON {
	return codingJSON{System: c.System, Code: c.Code, Display: c.Display}
}

func ccOf(cs ...codingJSON) *conceptJSONOut { return &conceptJSONOut{Coding: cs} }

// optRef returns a reference to ref, or nil for "".
func optRef(ref string) *refJSON {
	if ref == "" {
		return nil
	}
	return &refJSON{Reference: ref}
}

// dateTime writes t as a FHIR dateTime in UTC, or "" for the zero time.
func dateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// marshal writes v as compact JSON without HTML escaping. v's types cannot
// fail to marshal.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("mapping: marshal: " + err.Error())
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

var falseValue = false

// formCoding, channelCoding and domainCoding are the socialrx category
// codings; derived ones carry userSelected false.
func formCoding(f socialrx.Form, derived bool) codingJSON {
	c := codingJSON{System: formSystem, Code: string(f), Display: f.Display()}
	if derived {
		c.UserSelected = &falseValue
	}
	return c
}

func channelCoding(ch socialrx.Channel) codingJSON {
	return codingJSON{System: channelSystem, Code: string(ch), Display: ch.Display()}
}

func domainCoding(d socialrx.NeedDomain) codingJSON {
	return codingJSON{System: needDomainSystem, Code: string(d), Display: d.Display()}
}

type serviceRequestJSON struct {
	ResourceType    string            `json:"resourceType"`
	ID              string            `json:"id,omitempty"`
	Meta            *metaJSON         `json:"meta,omitempty"`
	Identifier      []identifierJSON  `json:"identifier,omitempty"`
	Status          string            `json:"status"`
	Intent          string            `json:"intent"`
	Category        []*conceptJSONOut `json:"category,omitempty"`
	Code            *conceptJSONOut   `json:"code,omitempty"`
	Subject         *refJSON          `json:"subject,omitempty"`
	AuthoredOn      string            `json:"authoredOn,omitempty"`
	Requester       *refJSON          `json:"requester,omitempty"`
	Performer       []refJSON         `json:"performer,omitempty"`
	ReasonReference []refJSON         `json:"reasonReference,omitempty"`
}

// ServiceRequestFromPrescription writes p as an R4 ServiceRequest with id
// (omitted when ""), for a prescription socialrx creates (an onward or
// alternative prescription), shaped by the SDOH CC ServiceRequest profile
// (http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-ServiceRequest),
// which it claims in meta.profile when p has a Code (the profile requires
// ServiceRequest.code). The elements:
//
//   - identifier: p.Identifiers (Code as value);
//   - status: p.Status, "active" when empty; intent: order;
//   - category: SNOMED CT 410606002 "Social service procedure" (as the SDOH
//     CC examples), the form (socialrx prescription-form; userSelected
//     false when p.FormDerived), the channel when set (prescription-channel),
//     and one category per need domain with the need-domain code and, where
//     one matches (sdohccByDomain), the SDOH CC category code;
//   - code: p.Code (its Display as code.text when it has no system and no
//     code: a text-only code read back); subject: Patient/<PatientID>; authoredOn: p.AuthoredOn
//     (UTC); requester: p.RequesterID; performer: p.Target;
//     reasonReference: p.NeedRefs.
//
// Reading the result with PrescriptionFromServiceRequest (with a Resolver
// that sees the same performer and Conditions) gives p back, FollowUp
// aside. p should pass Prescription.Validate and its ids be FHIR ids; the
// result then passes fhir.Validate.
func ServiceRequestFromPrescription(p socialrx.Prescription, id string) []byte {
	sr := serviceRequestJSON{ResourceType: "ServiceRequest", ID: id, Status: p.Status, Intent: "order",
		AuthoredOn: dateTime(p.AuthoredOn), Requester: optRef(p.RequesterID)}
	if sr.Status == "" {
		sr.Status = "active"
	}
	switch {
	case p.Code.System == "" && p.Code.Code == "" && p.Code.Display != "":
		sr.Code = &conceptJSONOut{Text: p.Code.Display} // a code the EMR sent as text only
	case p.Code != (socialrx.Coding{}):
		sr.Meta = &metaJSON{Profile: []string{profileSDOHCCServiceRequest}}
		sr.Code = ccOf(codingJSON{System: p.Code.System, Code: p.Code.Code, Display: p.Code.Display})
	}
	for _, idf := range p.Identifiers {
		sr.Identifier = append(sr.Identifier, identifierJSON{System: idf.System, Value: idf.Code})
	}
	sr.Category = append(sr.Category, ccOf(socialServiceProcedure))
	if p.Form.Valid() {
		sr.Category = append(sr.Category, ccOf(formCoding(p.Form, p.FormDerived)))
	}
	if p.Channel.Valid() {
		sr.Category = append(sr.Category, ccOf(channelCoding(p.Channel)))
	}
	for _, d := range p.Needs {
		cc := ccOf(domainCoding(d))
		if sc, ok := sdohccByDomain[d]; ok {
			cc.Coding = append(cc.Coding, jsonCoding(sc))
		}
		sr.Category = append(sr.Category, cc)
	}
	if p.PatientID != "" {
		sr.Subject = &refJSON{"Patient/" + p.PatientID}
	}
	if p.Target != "" {
		sr.Performer = []refJSON{{p.Target}}
	}
	for _, ref := range p.NeedRefs {
		sr.ReasonReference = append(sr.ReasonReference, refJSON{ref})
	}
	return marshal(sr)
}

type conditionJSON struct {
	ResourceType       string            `json:"resourceType"`
	ID                 string            `json:"id,omitempty"`
	Meta               *metaJSON         `json:"meta"`
	ClinicalStatus     *conceptJSONOut   `json:"clinicalStatus,omitempty"`
	VerificationStatus *conceptJSONOut   `json:"verificationStatus"`
	Category           []*conceptJSONOut `json:"category"`
	Code               *conceptJSONOut   `json:"code,omitempty"`
	Subject            *refJSON          `json:"subject,omitempty"`
	RecordedDate       string            `json:"recordedDate,omitempty"`
}

// ConditionFromNeed writes n as an R4 Condition with id (omitted when ""),
// claiming the SDOH CC Condition profile
// (http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-Condition),
// for the needs socialrx records itself (e.g. a navigator's finding behind
// an onward prescription). The elements:
//
//   - clinicalStatus: n.Status (condition-clinical), omitted when empty;
//   - verificationStatus: confirmed (condition-ver-status);
//   - category: US Core condition-category health-concern, us-core-category
//     sdoh, the SDOH CC category code of n.Code when it is one, else of
//     the domain where one matches (sdohccByDomain), and socialrx
//     need-domain n.Domain;
//   - code: n.Code; subject: Patient/<PatientID>; recordedDate:
//     n.RecordedAt (UTC).
//
// NeedFromCondition reads the result as n (Source "Condition/<id>").
func ConditionFromNeed(n socialrx.Need, id string) []byte {
	c := conditionJSON{ResourceType: "Condition", ID: id, Meta: &metaJSON{Profile: []string{profileSDOHCCCondition}},
		VerificationStatus: ccOf(codingJSON{System: systemConditionVer, Code: "confirmed", Display: "Confirmed"}),
		RecordedDate:       dateTime(n.RecordedAt)}
	if n.Status != "" {
		c.ClinicalStatus = ccOf(codingJSON{System: systemConditionClinical, Code: n.Status})
	}
	c.Category = []*conceptJSONOut{
		ccOf(codingJSON{System: systemConditionCategory, Code: "health-concern", Display: "Health Concern"}),
		ccOf(codingJSON{System: systemUSCoreCategory, Code: "sdoh", Display: "SDOH"}),
	}
	if n.Code.System == systemSDOHCC && n.Code.Code != "" {
		c.Category = append(c.Category, ccOf(codingJSON{System: n.Code.System, Code: n.Code.Code, Display: n.Code.Display}))
	} else if sc, ok := sdohccByDomain[n.Domain]; ok {
		c.Category = append(c.Category, ccOf(jsonCoding(sc)))
	}
	if n.Domain.Valid() {
		c.Category = append(c.Category, ccOf(domainCoding(n.Domain)))
	}
	if n.Code != (socialrx.Coding{}) {
		c.Code = ccOf(codingJSON{System: n.Code.System, Code: n.Code.Code, Display: n.Code.Display})
	}
	if n.PatientID != "" {
		c.Subject = &refJSON{"Patient/" + n.PatientID}
	}
	return marshal(c)
}
