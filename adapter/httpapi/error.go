package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

// codes maps each socialrx error code to its HTTP status and to the
// OperationOutcome issue type (R4 IssueType) used when the error carries no
// issues of its own. This table is the one place that does the mapping.
var codes = map[string]struct {
	status int
	issue  string
}{
	socialrx.EINVALID:        {http.StatusBadRequest, "invalid"},
	socialrx.EUNAUTHORIZED:   {http.StatusUnauthorized, "login"},
	socialrx.EFORBIDDEN:      {http.StatusForbidden, "forbidden"},
	socialrx.ENOTFOUND:       {http.StatusNotFound, "not-found"},
	socialrx.ENOTALLOWED:     {http.StatusMethodNotAllowed, "not-supported"},
	socialrx.ECONFLICT:       {http.StatusConflict, "conflict"},
	socialrx.EGONE:           {http.StatusGone, "deleted"},
	socialrx.EPRECONDITION:   {http.StatusPreconditionFailed, "conflict"},
	socialrx.ETOOLARGE:       {http.StatusRequestEntityTooLarge, "too-long"},
	socialrx.EUNSUPPORTED:    {http.StatusUnsupportedMediaType, "not-supported"},
	socialrx.EUNPROCESSABLE:  {http.StatusUnprocessableEntity, "business-rule"},
	socialrx.ETOOMANY:        {http.StatusTooManyRequests, "throttled"},
	socialrx.ENOTIMPLEMENTED: {http.StatusNotImplemented, "not-supported"},
	socialrx.EUNAVAILABLE:    {http.StatusServiceUnavailable, "transient"},
	socialrx.EINTERNAL:       {http.StatusInternalServerError, "exception"},
}

// ErrorStatus returns the HTTP status for err's socialrx error code (500 for
// an error that is not a *socialrx.Error; 406 for a format not served).
func ErrorStatus(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.status
	}
	if c, ok := codes[socialrx.ErrorCode(err)]; ok {
		return c.status
	}
	return http.StatusInternalServerError
}

// issueCode returns the OperationOutcome issue type for an error code.
func issueCode(code string) string {
	if c, ok := codes[code]; ok {
		return c.issue
	}
	return "exception"
}

// echoCodes maps the statuses Echo itself answers to socialrx codes.
var echoCodes = map[int]string{
	http.StatusBadRequest:            socialrx.EINVALID,
	http.StatusUnauthorized:          socialrx.EUNAUTHORIZED,
	http.StatusForbidden:             socialrx.EFORBIDDEN,
	http.StatusNotFound:              socialrx.ENOTFOUND,
	http.StatusMethodNotAllowed:      socialrx.ENOTALLOWED,
	http.StatusRequestEntityTooLarge: socialrx.ETOOLARGE,
	http.StatusUnsupportedMediaType:  socialrx.EUNSUPPORTED,
	http.StatusTooManyRequests:       socialrx.ETOOMANY,
	http.StatusServiceUnavailable:    socialrx.EUNAVAILABLE,
}

// normalize translates Echo's own errors (no route, wrong method, ...) and
// cancelled or timed-out requests into a *socialrx.Error; other errors are
// returned unchanged.
func normalize(err error) error {
	if socialrx.ErrorCode(err) == socialrx.EINTERNAL {
		switch {
		case errors.Is(err, context.Canceled):
			return errorf(socialrx.EUNAVAILABLE, "request cancelled")
		case errors.Is(err, context.DeadlineExceeded):
			return errorf(socialrx.EUNAVAILABLE, "request timed out")
		}
	}
	var he *echo.HTTPError
	if !errors.As(err, &he) {
		return err
	}
	code, ok := echoCodes[he.Code]
	if !ok {
		return err // internal
	}
	switch he.Code {
	case http.StatusNotFound:
		return errorf(code, "no such endpoint")
	case http.StatusMethodNotAllowed:
		return errorf(code, "method not allowed here")
	case http.StatusRequestEntityTooLarge:
		return errorf(code, "request body too large")
	}
	return errorf(code, "%s", http.StatusText(he.Code))
}

// outcomeIssues returns the issues of err for an OperationOutcome: its own
// issues (missing severity and code filled in), or one issue with its
// message. Internal errors get a generic message, never their text.
func outcomeIssues(err error) []fhir.Issue {
	code := socialrx.ErrorCode(err)
	var issues []fhir.Issue
	for _, i := range socialrx.ErrorIssues(err) {
		fi := fhir.Issue(i)
		if fi.Severity == "" {
			fi.Severity = socialrx.SeverityError
		}
		if fi.Code == "" {
			fi.Code = issueCode(code)
		}
		issues = append(issues, fi)
	}
	if len(issues) == 0 {
		issues = []fhir.Issue{{Severity: socialrx.SeverityError, Code: issueCode(code), Message: socialrx.ErrorMessage(err)}}
	}
	return issues
}

// handleError is the Echo HTTPErrorHandler: the one place where errors
// become HTTP responses. Every answer is an OperationOutcome. Internal
// errors are logged with their text (never a body) and answered with a
// generic message.
func (s *Server) handleError(err error, c echo.Context) {
	err = normalize(err)
	if socialrx.ErrorCode(err) == socialrx.EINTERNAL {
		s.log.ErrorContext(c.Request().Context(), "internal error",
			"request_id", requestIDOf(c), "method", c.Request().Method, "route", routeOf(c), "error", err.Error())
	}
	if c.Response().Committed {
		return
	}
	status := ErrorStatus(err)
	if status == http.StatusForbidden {
		c.Response().Header().Set("WWW-Authenticate", challenge(err))
	}
	if status == http.StatusMethodNotAllowed {
		if allow, ok := c.Get(echo.ContextKeyHeaderAllow).(string); ok && allow != "" {
			c.Response().Header().Set(echo.HeaderAllow, allow)
		}
	}
	if werr := s.writeFHIR(c, status, fhir.OperationOutcome(outcomeIssues(err))); werr != nil {
		s.log.DebugContext(c.Request().Context(), "write error response failed", "request_id", requestIDOf(c))
	}
}
