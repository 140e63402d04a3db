package fhir

// Issue is one problem found in FHIR content, with the element path it is
// about (e.g. "Patient.birthDate", "Bundle.entry[2].resource.subject").
// Its fields match socialrx.Issue, so a conversion socialrx.Issue(i) works.
// Message never carries PHI: it names paths, types and codes, never values.
type Issue struct {
	Severity string // fatal | error | warning | information
	Code     string // OperationOutcome issue type (invalid, structure, required, value, not-supported, ...)
	Path     string
	Message  string
}

// HasErrors reports whether any issue is of severity error or fatal.
func HasErrors(issues []Issue) bool {
	for _, i := range issues {
		if i.Severity == "error" || i.Severity == "fatal" {
			return true
		}
	}
	return false
}
