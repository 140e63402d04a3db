package fhir

import (
	"slices"
)

// supportedTypes are the resource types socialrx holds (docs/design.md,
// "FHIR surface"), sorted.
var supportedTypes = []string{
	"Appointment", "AuditEvent", "ChargeItem", "CodeSystem", "Communication",
	"CommunicationRequest", "Condition", "Consent", "DocumentReference", "Encounter",
	"Endpoint", "Goal", "Group", "HealthcareService", "Location", "Measure", "MeasureReport",
	"Observation", "Organization", "Patient", "Practitioner", "PractitionerRole", "Procedure",
	"Provenance", "Questionnaire", "QuestionnaireResponse", "SearchParameter", "ServiceRequest", "Task",
	"ValueSet",
}

// SupportedTypes returns the resource types socialrx holds, sorted. The
// caller may modify the returned slice.
func SupportedTypes() []string { return slices.Clone(supportedTypes) }

// Supported reports whether socialrx holds resources of type typ.
func Supported(typ string) bool {
	_, ok := slices.BinarySearch(supportedTypes, typ)
	return ok
}

// Known reports whether typ is any FHIR R4 resource type (supported or not).
func Known(typ string) bool { return types().resources[typ] }

// Decoded is a resource that passed the checks of Decode.
type Decoded struct {
	Type string
	ID   string // "" when the resource has no id
	// Body is the document as received: every member, extension, primitive
	// extension, contained resource and number written as sent. It is the
	// very slice passed to Decode, not a copy.
	Body []byte
}

// Decode checks body as one FHIR R4 resource. wantType, when not empty, is
// the type the URL names. The checks: valid JSON object without duplicate
// keys; resourceType present, known and supported (and equal to wantType);
// id syntax; element names known for the type (unknown ones are warnings,
// and kept); the R4 rules of the element table: required elements (min 1,
// a choice as name[x], a primitive extension "_x" standing in for its
// value) and codes of required bindings, in the resource, its datatypes,
// backbone parts and contained resources (docs/validation.md); primitive formats (date, dateTime, instant, time, id, code, uri,
// decimal, integer, boolean, base64Binary); arrays where the spec has arrays;
// references syntactically valid; strings without control characters.
// Error issues mean the resource must be refused; each has the element path.
//
// Decoded is nil exactly when an issue of severity error is returned.
// Warnings (unknown elements) come with a non-nil Decoded. See DecodeAt for
// the issue codes and paths.
func Decode(body []byte, wantType string) (*Decoded, []Issue) {
	return DecodeAt(body, wantType, "")
}

// DecodeAt is Decode for a resource inside another document: issue paths
// start with pathPrefix instead of the resource type, e.g. with pathPrefix
// "Bundle.entry[3].resource" a bad subject is reported at
// "Bundle.entry[3].resource.subject".
//
// Issue paths are FHIRPath-like: "Patient.name[0].given[1]",
// "Observation.component[2].valueQuantity.value"; a problem in a primitive
// extension "_birthDate" is reported under "Patient.birthDate.extension[0]".
// An issue about the whole document (invalid JSON) has the path prefix or
// the wanted type as Path, or "" when neither is known. Codes: error
// "structure" for JSON shape (invalid JSON, wrong JSON kind, array vs single
// value, empty object/array, null); error "value" for bad primitive formats,
// control characters and bad references; error "required" for a missing
// required element (path of the element, "Task.input[0].value[x]" for a
// choice); error "code-invalid" for a code outside its required value set;
// warning "structure" for unknown elements; error "not-supported" for unknown or unsupported resource
// types; error "required" for a missing resourceType; error "invalid"
// otherwise (e.g. resourceType differs from wantType). Messages name types
// and element names, never values.
func DecodeAt(body []byte, wantType, pathPrefix string) (*Decoded, []Issue) {
	return decode(body, wantType, pathPrefix)
}

// OperationOutcome returns the JSON of an OperationOutcome holding issues,
// in order: severity, code, diagnostics (the message) and expression (the
// path). An empty list yields one information issue with diagnostics "ok"
// (an OperationOutcome needs at least one issue). A missing severity is
// written as "error", a missing code as "processing".
func OperationOutcome(issues []Issue) []byte { return operationOutcome(issues) }
