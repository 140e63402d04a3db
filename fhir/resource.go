package fhir

// OWNER: fhir-core helper. Placeholder bodies; the signatures are the contract.

// SupportedTypes returns the resource types socialrx holds, sorted.
func SupportedTypes() []string { return nil }

// Supported reports whether socialrx holds resources of type typ.
func Supported(typ string) bool { return false }

// Known reports whether typ is any FHIR R4 resource type (supported or not).
func Known(typ string) bool { return false }

// ValidID reports whether id is a valid FHIR id ([A-Za-z0-9\-\.]{1,64}).
func ValidID(id string) bool { return false }

// Decoded is a resource that passed the checks of Decode.
type Decoded struct {
	Type string
	ID   string // "" when the resource has no id
	// Body is the document as received: every member, extension, primitive
	// extension, contained resource and number written as sent.
	Body []byte
}

// Decode checks body as one FHIR R4 resource. wantType, when not empty, is
// the type the URL names. The checks: valid JSON object without duplicate
// keys; resourceType present, known and supported (and equal to wantType);
// id syntax; element names known for the type (unknown ones are warnings,
// and kept); primitive formats (date, dateTime, instant, time, id, code, uri,
// decimal, integer, boolean, base64Binary); arrays where the spec has arrays;
// references syntactically valid; strings without control characters.
// Error issues mean the resource must be refused; each has the element path.
func Decode(body []byte, wantType string) (*Decoded, []Issue) { return nil, nil }

// OperationOutcome returns the JSON of an OperationOutcome holding issues.
func OperationOutcome(issues []Issue) []byte { return nil }
