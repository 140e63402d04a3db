package socialrx

import (
	"errors"
	"fmt"
)

// Error codes. The HTTP error handler (adapter/httpapi) is the one place that
// maps them to HTTP status codes and OperationOutcome issue types.
const (
	EINVALID        = "invalid"         // 400: malformed or invalid request
	EUNAUTHORIZED   = "unauthorized"    // 401
	EFORBIDDEN      = "forbidden"       // 403
	ENOTFOUND       = "not_found"       // 404: never existed
	ENOTALLOWED     = "not_allowed"     // 405: interaction not supported
	ECONFLICT       = "conflict"        // 409: id already taken, concurrent change
	EGONE           = "gone"            // 410: deleted
	EPRECONDITION   = "precondition"    // 412: If-Match does not match, conditional matched many
	ETOOLARGE       = "too_large"       // 413: body over the limit
	EUNSUPPORTED    = "unsupported"     // 415: media type not supported
	EUNPROCESSABLE  = "unprocessable"   // 422: well-formed but breaks a rule
	ETOOMANY        = "too_many"        // 429
	EINTERNAL       = "internal"        // 500: a bug or a broken dependency, never bad input
	EUNAVAILABLE    = "unavailable"     // 503: dependency (database) not reachable
	ENOTIMPLEMENTED = "not_implemented" // 501
)

// Severity of an Issue, as in OperationOutcome.issue.severity.
const (
	SeverityFatal       = "fatal"
	SeverityError       = "error"
	SeverityWarning     = "warning"
	SeverityInformation = "information"
)

// Issue is one problem found in a request, with the FHIR element path it is
// about (OperationOutcome.issue.expression, e.g. "Bundle.entry[2].resource.subject").
// Message never carries PHI: it names paths, ids and codes, never values of
// free-text or identifying elements.
type Issue struct {
	Severity string // fatal | error | warning | information
	Code     string // OperationOutcome issue type: invalid, structure, required, value, not-found, conflict, not-supported, processing, too-long, business-rule, security, exception, informational
	Path     string // FHIRPath-style element path; may be empty
	Message  string
}

// Error is the one error type of socialrx. Adapters translate driver and
// library errors into it at their edge; wrap it with fmt.Errorf("...: %w").
type Error struct {
	Code    string  // one of the E* constants
	Message string  // short, lowercase, no PHI
	Issues  []Issue // details, each with a path where one applies
}

func (e *Error) Error() string {
	if len(e.Issues) == 0 {
		return fmt.Sprintf("socialrx error: code=%s message=%s", e.Code, e.Message)
	}
	return fmt.Sprintf("socialrx error: code=%s message=%s issues=%d first=%s: %s", e.Code, e.Message, len(e.Issues), e.Issues[0].Path, e.Issues[0].Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, or
// "internal error" for any other error (whose text may hold driver details).
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorIssues returns the issues of the first *Error in err's chain.
func ErrorIssues(err error) []Issue {
	var e *Error
	if errors.As(err, &e) {
		return e.Issues
	}
	return nil
}
