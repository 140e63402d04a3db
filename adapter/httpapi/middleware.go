package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/reqid"
	"github.com/socialrx/socialrx/fhir"
)

// HeaderRequestID is the request id header, echoed back or generated.
const HeaderRequestID = reqid.Header

const ctxRequestID = "socialrx.request_id"

// requestID takes the client's X-Request-Id when it is a short token of
// safe characters, else generates a UUID, and echoes it on the response.
func (s *Server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := reqid.For(c.Request().Header.Get(HeaderRequestID))
		c.Set(ctxRequestID, id)
		c.Response().Header().Set(HeaderRequestID, id)
		return next(c)
	}
}

func requestIDOf(c echo.Context) string {
	id, _ := c.Get(ctxRequestID).(string)
	return id
}

// routeOf returns the route pattern (never the path with its values).
func routeOf(c echo.Context) string {
	if p := c.Path(); p != "" {
		return p
	}
	return "unmatched"
}

// accessLog answers the error of the rest of the chain (so that the final
// status is known), then writes one log line and records the request
// metrics. The line holds method, route pattern, status, duration, request
// id, the resource type and id from the path and the authenticated client:
// never the query, the body or error details.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		took := time.Since(start)
		status := c.Response().Status
		route := routeOf(c)
		method := metricMethod(c.Request().Method)
		s.metrics.observe(method, route, status, took)

		attrs := []any{
			"method", method,
			"route", route,
			"status", status,
			"duration_ms", float64(took.Microseconds()) / 1000,
			"request_id", requestIDOf(c),
		}
		if typ := c.Param("type"); typ != "" {
			if !fhir.Known(typ) {
				typ = "unknown"
			}
			attrs = append(attrs, "type", typ)
		}
		if id := c.Param("id"); id != "" && fhir.ValidID(id) {
			attrs = append(attrs, "id", id)
		}
		if client := socialrx.PrincipalFrom(c.Request().Context()).ClientID; client != "" {
			attrs = append(attrs, "client", client)
		}
		s.log.InfoContext(c.Request().Context(), "request", attrs...)
		return nil
	}
}

// recover turns a panic in a handler into an internal error, so the client
// gets a 500 OperationOutcome and the server keeps serving.
func (s *Server) recover(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
			}
		}()
		return next(c)
	}
}

// limitBody enforces Config.MaxBodyBytes: a declared length over the limit
// is refused at once; otherwise the body is wrapped in http.MaxBytesReader,
// so reading stops at the limit and nothing more is buffered.
func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.ContentLength > s.cfg.MaxBodyBytes {
			return errorf(socialrx.ETOOLARGE, "request body over %d bytes", s.cfg.MaxBodyBytes)
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(c.Response().Writer, r.Body, s.cfg.MaxBodyBytes)
		}
		return next(c)
	}
}

// deadline gives the request Config.RequestTimeout: its context, which
// every store call takes, ends then (PostgreSQL cancels the running
// statement, SQLite interrupts it, and a transaction rolls back). A request
// that fails because its time ran out is answered 503 with an
// OperationOutcome whose issue code is timeout, whatever the store made of
// the cancelled call; bad input found in time keeps its 4xx.
func (s *Server) deadline(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.RequestTimeout)
		defer cancel()
		c.SetRequest(c.Request().WithContext(ctx))
		err := next(c)
		if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			switch socialrx.ErrorCode(err) {
			case socialrx.EINTERNAL, socialrx.EUNAVAILABLE:
				return s.timeoutError(err)
			}
		}
		return err
	}
}

// timeoutError is the answer to a request that ran out of time; cause
// stays in the chain for the log.
func (s *Server) timeoutError(cause error) error {
	msg := fmt.Sprintf("the request did not finish within the server's time limit (%s)", s.cfg.RequestTimeout)
	return &timeout{se: &socialrx.Error{Code: socialrx.EUNAVAILABLE, Message: msg,
		Issues: []socialrx.Issue{{Severity: socialrx.SeverityError, Code: "timeout", Message: msg}}}, cause: cause}
}

// timeout is a *socialrx.Error (EUNAVAILABLE) that keeps its cause.
type timeout struct {
	se    *socialrx.Error
	cause error
}

func (t *timeout) Error() string   { return t.se.Error() + ": " + t.cause.Error() }
func (t *timeout) Unwrap() []error { return []error{t.se, t.cause} }

// readBody reads the request body (already limited by limitBody).
func (s *Server) readBody(c echo.Context) ([]byte, error) {
	r := c.Request()
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, errorf(socialrx.ETOOLARGE, "request body over %d bytes", s.cfg.MaxBodyBytes)
	} else if err != nil {
		if ctxErr := r.Context().Err(); ctxErr != nil {
			return nil, errorf(socialrx.EINVALID, "request cancelled while reading the body")
		}
		return nil, errorf(socialrx.EINVALID, "cannot read request body")
	}
	return body, nil
}

// wholeSegments answers 404 when a path parameter spans several segments:
// Echo lets a route's last parameter take the rest of the path
// (/fhir/Patient/1/_history/1/extra would reach vread with vid "1/extra").
func wholeSegments(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		for _, v := range c.ParamValues() {
			if strings.Contains(v, "/") {
				return errorf(socialrx.ENOTFOUND, "no such endpoint")
			}
		}
		return next(c)
	}
}

// statusError overrides the status of a *socialrx.Error, for the few HTTP
// statuses that have no socialrx code (406).
type statusError struct {
	status int
	err    error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// jsonTypes are the media types accepted for FHIR JSON, in requests and in
// Accept and _format.
var jsonTypes = map[string]bool{
	"application/fhir+json": true,
	"application/json":      true,
	"application/json+fhir": true,
	"json":                  true, // _format only
}

// negotiate checks _format and Accept on every FHIR route: JSON is the only
// format served; asking for anything else (XML, Turtle, HTML alone) is 406,
// answered in JSON.
func (s *Server) negotiate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		q, err := queryOf(r)
		if err != nil {
			return err
		}
		if f := q.Get("_format"); f != "" {
			// An unescaped '+' in the query reads as a space.
			f = strings.ReplaceAll(strings.TrimSpace(f), " ", "+")
			if mt, _, _ := strings.Cut(f, ";"); !jsonTypes[strings.ToLower(strings.TrimSpace(mt))] {
				return notAcceptable("_format")
			}
			return next(c)
		}
		if !acceptsJSON(r.Header.Values(echo.HeaderAccept)) {
			return notAcceptable("Accept")
		}
		return next(c)
	}
}

func notAcceptable(what string) error {
	return &statusError{status: http.StatusNotAcceptable, err: errorf(socialrx.EUNSUPPORTED, "%s asks for a format this server does not produce; only application/fhir+json is served", what)}
}

// acceptsJSON reports whether the Accept header values allow JSON. No
// header accepts everything.
func acceptsJSON(values []string) bool {
	seen := false
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			seen = true
			mt, params, _ := strings.Cut(part, ";")
			mt = strings.ToLower(strings.TrimSpace(mt))
			if qZero(params) {
				continue
			}
			if jsonTypes[mt] && mt != "json" || mt == "*/*" || mt == "application/*" {
				return true
			}
		}
	}
	return !seen
}

// qZero reports whether media type parameters hold q=0.
func qZero(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "q") {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f == 0 {
				return true
			}
		}
	}
	return false
}

// requireJSON refuses a request body whose Content-Type is not a FHIR JSON
// type (415). A missing Content-Type is taken as JSON; a charset other than
// UTF-8 is refused, and so is a compressed body (Content-Encoding other
// than identity: socialrx does not decompress request bodies, and reading
// gzip bytes as JSON would only say "not UTF-8").
func requireJSON(r *http.Request) error {
	for _, ce := range r.Header.Values("Content-Encoding") {
		for _, e := range strings.Split(ce, ",") {
			if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "identity") {
				return errorf(socialrx.EUNSUPPORTED, "Content-Encoding %s is not supported: send the body uncompressed", redactToken(e))
			}
		}
	}
	ct := r.Header.Get(echo.HeaderContentType)
	if ct == "" {
		return nil
	}
	mt, params, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	if !jsonTypes[mt] || mt == "json" {
		return errorf(socialrx.EUNSUPPORTED, "content type must be application/fhir+json")
	}
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "charset") && !strings.EqualFold(strings.Trim(strings.TrimSpace(v), `"`), "utf-8") {
			return errorf(socialrx.EUNSUPPORTED, "charset must be utf-8")
		}
	}
	return nil
}

// redactToken returns an HTTP token from a header for a message: itself
// when it is a short token, else "(unrecognised)".
func redactToken(s string) string {
	if len(s) > 32 {
		return "(unrecognised)"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "(unrecognised)"
		}
	}
	return s
}

// Activity is told when API requests begin and end (Config.Activity).
type Activity interface {
	Enter()
	Leave()
}

// active tells Config.Activity of the request while it runs.
func (s *Server) active(next echo.HandlerFunc) echo.HandlerFunc {
	a := s.cfg.Activity
	if a == nil {
		return next
	}
	return func(c echo.Context) error {
		a.Enter()
		defer a.Leave()
		return next(c)
	}
}
