package socialrx

import (
	"fmt"
	"strings"
)

// This file holds the Validate methods of the domain types read from FHIR
// (Finding, Need, Prescription) and the helpers every Validate shares.
// FollowUp.Validate is in followup.go, Referral.Validate in referral.go.
//
// Every Validate gathers all the rules a value breaks and returns them
// together in one *Error with code EUNPROCESSABLE, one Issue per rule, each
// with the FHIR element path the field maps to. Messages name fields, paths
// and codes of socialrx's own code systems, never a value that came in (a
// value that is not a known code may be anything, PHI included).

// Issue codes used by the Validate methods (OperationOutcome issue types).
const (
	issueRequired     = "required"      // a required element is missing
	issueValue        = "value"         // a code or reference is not one allowed here
	issueBusinessRule = "business-rule" // elements that are each fine break a rule together
)

// issues gathers the rules a value breaks.
type issues []Issue

func (is *issues) add(code, path, format string, args ...any) {
	*is = append(*is, Issue{Severity: SeverityError, Code: code, Path: path, Message: fmt.Sprintf(format, args...)})
}

// err returns nil when nothing was gathered, else an EUNPROCESSABLE *Error
// whose message is what followed by the number of rules broken.
func (is issues) err(what string) error {
	if len(is) == 0 {
		return nil
	}
	return &Error{Code: EUNPROCESSABLE, Message: fmt.Sprintf("%s: %d rule(s) broken", what, len(is)), Issues: is}
}

// splitRef returns the resource type and id of a FHIR reference: a relative
// "Type/id", an absolute URL ending in "Type/id", either optionally followed
// by "/_history/<version>". ok is false for anything else (a contained
// "#id", a bare id, an empty string).
func splitRef(ref string) (typ, id string, ok bool) {
	parts := strings.Split(ref, "/")
	if n := len(parts); n >= 4 && parts[n-2] == "_history" {
		parts = parts[:n-2]
	}
	n := len(parts)
	if n < 2 {
		return "", "", false
	}
	typ, id = parts[n-2], parts[n-1]
	if typ == "" || id == "" || typ[0] < 'A' || typ[0] > 'Z' || strings.ContainsAny(id, "#?") {
		return "", "", false
	}
	return typ, id, true
}

// refIsOneOf reports whether ref is a reference (see splitRef) to one of the
// resource types.
func refIsOneOf(ref string, types ...string) bool {
	typ, _, ok := splitRef(ref)
	if !ok {
		return false
	}
	for _, t := range types {
		if typ == t {
			return true
		}
	}
	return false
}

// blank reports whether s is empty or only white space.
func blank(s string) bool { return strings.TrimSpace(s) == "" }

// Validate checks a Finding and returns an EUNPROCESSABLE *Error listing
// every rule broken, or nil. Paths are on Observation, or on
// QuestionnaireResponse when Source names one. The rules:
//   - PatientID is set (Observation.subject / QuestionnaireResponse.subject);
//   - Domain is a known NeedDomain, DomainUnspecified included
//     (Observation.category / QuestionnaireResponse.item);
//   - Instrument is known (Observation.code / QuestionnaireResponse.questionnaire);
//   - ItemCode, the LOINC code of the question, is set
//     (Observation.code / QuestionnaireResponse.item.code).
//
// AnswerCode may be empty (numeric and text answers) and EffectiveAt zero.
func (f *Finding) Validate() error {
	var is issues
	res, domainPath, instrumentPath, itemPath := "Observation", "Observation.category", "Observation.code", "Observation.code"
	if strings.HasPrefix(f.Source, "QuestionnaireResponse/") {
		res, domainPath, instrumentPath, itemPath = "QuestionnaireResponse", "QuestionnaireResponse.item", "QuestionnaireResponse.questionnaire", "QuestionnaireResponse.item.code"
	}
	if blank(f.PatientID) {
		is.add(issueRequired, res+".subject", "patient is required")
	}
	if !f.Domain.Valid() {
		is.add(issueValue, domainPath, "need domain is not a code of %sneed-domain", CodeSystemBase)
	}
	if !f.Instrument.Valid() {
		is.add(issueValue, instrumentPath, "instrument is not one socialrx reads")
	}
	if blank(f.ItemCode) {
		is.add(issueRequired, itemPath, "question code is required")
	}
	return is.err("invalid finding")
}

// Validate checks a Need (a Condition) and returns an EUNPROCESSABLE *Error
// listing every rule broken, or nil. The rules:
//   - PatientID is set (Condition.subject);
//   - Domain is a known NeedDomain, DomainUnspecified included (Condition.category);
//   - Code has a code and a system (Condition.code, Condition.code.coding.system);
//   - Status, when set, is a Condition clinical status: active, recurrence,
//     relapse, inactive, remission, resolved (Condition.clinicalStatus).
func (n *Need) Validate() error {
	var is issues
	if blank(n.PatientID) {
		is.add(issueRequired, "Condition.subject", "patient is required")
	}
	if !n.Domain.Valid() {
		is.add(issueValue, "Condition.category", "need domain is not a code of %sneed-domain", CodeSystemBase)
	}
	if blank(n.Code.Code) {
		is.add(issueRequired, "Condition.code", "the code that establishes the need is required")
	} else if blank(n.Code.System) {
		is.add(issueRequired, "Condition.code.coding.system", "the code needs a system")
	}
	switch n.Status {
	case "", "active", "recurrence", "relapse", "inactive", "remission", "resolved":
	default:
		is.add(issueValue, "Condition.clinicalStatus", "clinical status is not a code of http://terminology.hl7.org/CodeSystem/condition-clinical")
	}
	return is.err("invalid need")
}

// Where Prescription fields live on the ServiceRequest. Form and Channel
// are both codings of ServiceRequest.category, in socialrx's prescription-form
// and prescription-channel code systems.
const (
	pathSRSubject   = "ServiceRequest.subject"
	pathSRCategory  = "ServiceRequest.category"
	pathSRCode      = "ServiceRequest.code"
	pathSRPerformer = "ServiceRequest.performer"
	pathSRReason    = "ServiceRequest.reasonCode"
	pathSRReasonRef = "ServiceRequest.reasonReference"
	pathSRStatus    = "ServiceRequest.status"
)

// Validate checks a Prescription and returns an EUNPROCESSABLE *Error
// listing every rule broken, or nil. The rules:
//   - PatientID is set (ServiceRequest.subject);
//   - Form is a known Form (ServiceRequest.category); mapping derives it
//     before Validate when the EMR did not send one;
//   - Code or Target is set: something is prescribed, a service or a
//     program (ServiceRequest.code; a code with text only counts, see
//     mapping.PrescriptionFromServiceRequest). Not for a draft (Status
//     draft): a draft is by FHIR definition not yet complete, like the
//     alternative socialrx proposes at follow-up when the directory has
//     no other program and the prescription had only a performer; the
//     rule holds again when it is activated;
//   - Target, when set, references a HealthcareService, Organization or
//     PractitionerRole (ServiceRequest.performer);
//   - a warm hand-off has a Target (ServiceRequest.performer) and a Channel
//     other than ChannelSelf (ServiceRequest.category): someone hands the
//     person over;
//   - a navigator prescription has a Target, the navigator's
//     PractitionerRole, Organization or HealthcareService
//     (ServiceRequest.performer);
//   - Channel, when set, is a known Channel (ServiceRequest.category);
//   - every Needs entry is a known NeedDomain (ServiceRequest.reasonCode);
//   - every NeedRefs entry references a Condition (ServiceRequest.reasonReference);
//   - Status, when set, is a request status: draft, active, on-hold,
//     revoked, completed, entered-in-error, unknown (ServiceRequest.status);
//   - FollowUp, when set, passes FollowUp.Validate, focuses on this
//     prescription (Task.focus) and is for the same patient (Task.for).
func (p *Prescription) Validate() error {
	var is issues
	if blank(p.PatientID) {
		is.add(issueRequired, pathSRSubject, "patient is required")
	}
	if !p.Form.Valid() {
		is.add(issueValue, pathSRCategory, "form is not a code of %sprescription-form", CodeSystemBase)
	}
	if p.Code == (Coding{}) && p.Target == "" && p.Status != "draft" {
		is.add(issueRequired, pathSRCode, "a code or a performer is required: the prescription must say what it prescribes")
	}
	targetOK := p.Target == "" || refIsOneOf(p.Target, "HealthcareService", "Organization", "PractitionerRole")
	if !targetOK {
		is.add(issueValue, pathSRPerformer, "performer must reference a HealthcareService, Organization or PractitionerRole")
	}
	switch p.Form {
	case FormWarmHandoff:
		if p.Target == "" {
			is.add(issueBusinessRule, pathSRPerformer, "a warm hand-off needs a performer to hand the person to")
		}
		if p.Channel == "" || p.Channel == ChannelSelf {
			is.add(issueBusinessRule, pathSRCategory, "a warm hand-off needs a channel other than self")
		}
	case FormNavigator:
		if p.Target == "" {
			is.add(issueBusinessRule, pathSRPerformer, "a navigator referral needs a performer: the navigator's PractitionerRole, Organization or HealthcareService")
		}
	}
	if p.Channel != "" && !p.Channel.Valid() {
		is.add(issueValue, pathSRCategory, "channel is not a code of %sprescription-channel", CodeSystemBase)
	}
	for i, d := range p.Needs {
		if !d.Valid() {
			is.add(issueValue, pathSRReason, "needs[%d] is not a code of %sneed-domain", i, CodeSystemBase)
		}
	}
	for i, ref := range p.NeedRefs {
		if !refIsOneOf(ref, "Condition") {
			is.add(issueValue, pathSRReasonRef, "needRefs[%d] must reference a Condition", i)
		}
	}
	switch p.Status {
	case "", "draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown":
	default:
		is.add(issueValue, pathSRStatus, "status is not a code of http://hl7.org/fhir/request-status")
	}
	if f := p.FollowUp; f != nil {
		is = append(is, f.issues()...)
		if p.ID != "" && f.PrescriptionID != "" && f.PrescriptionID != p.ID {
			is.add(issueBusinessRule, pathFUFocus, "the follow-up must focus on this prescription")
		}
		if p.PatientID != "" && f.PatientID != "" && f.PatientID != p.PatientID {
			is.add(issueBusinessRule, pathFUFor, "the follow-up must be for the prescription's patient")
		}
	}
	return is.err("invalid prescription")
}
