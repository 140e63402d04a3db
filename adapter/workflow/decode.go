package workflow

import (
	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

// What a resource to be written is refused with, whether it came over REST
// (adapter/httpapi) or in a platform's message (ApplyMessage): one rule.

// r4RuleCodes are the issue codes of a resource that is well-formed FHIR
// JSON but breaks an R4 rule: a required element missing, a code outside
// its required value set, a primitive of the wrong format (date, id,
// reference syntax, ...).
var r4RuleCodes = map[string]bool{"required": true, "code-invalid": true, "value": true}

// DecodeError turns the issues of a document that could not be read as
// FHIR into an EINVALID error (400) holding every issue with its path.
func DecodeError(issues []fhir.Issue) error {
	e := &socialrx.Error{Code: socialrx.EINVALID, Message: "invalid resource"}
	for _, i := range issues {
		e.Issues = append(e.Issues, socialrx.Issue(i))
	}
	return e
}

// ResourceError turns the error issues of a resource to be written into an
// error holding every issue with its path: EUNPROCESSABLE (422) when each
// error is a broken R4 rule (r4RuleCodes), EINVALID (400) when any is about
// the JSON itself (invalid JSON, a wrong JSON kind, an array for a single
// value, an unknown or mismatched resourceType), as the resource could not
// be read at all.
func ResourceError(issues []fhir.Issue) error {
	e := DecodeError(issues).(*socialrx.Error)
	for _, i := range issues {
		if (i.Severity == socialrx.SeverityError || i.Severity == socialrx.SeverityFatal) && !r4RuleCodes[i.Code] {
			return e
		}
	}
	e.Code, e.Message = socialrx.EUNPROCESSABLE, "resource breaks R4 rules"
	return e
}
