package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

// ContentTypeFHIR is the Content-Type of every FHIR response.
const ContentTypeFHIR = "application/fhir+json; charset=utf-8"

const ctxPretty = "socialrx.pretty"

// Prefer return values (RFC 7240, FHIR http.html#ops).
const (
	returnMinimal          = "minimal"
	returnRepresentation   = "representation"
	returnOperationOutcome = "OperationOutcome"
)

// preferences are the parts of the Prefer header the server honours.
type preferences struct {
	ret    string // returnMinimal, returnRepresentation (default), returnOperationOutcome
	strict bool   // handling=strict
}

// preferOf reads every Prefer header. Unknown preferences are ignored, as
// RFC 7240 asks.
func preferOf(r *http.Request) preferences {
	p := preferences{ret: returnRepresentation}
	for _, v := range r.Header.Values("Prefer") {
		for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' }) {
			k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
			val = strings.Trim(strings.TrimSpace(val), `"`)
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "return":
				switch strings.ToLower(val) {
				case "minimal":
					p.ret = returnMinimal
				case "representation":
					p.ret = returnRepresentation
				case "operationoutcome":
					p.ret = returnOperationOutcome
				}
			case "handling":
				p.strict = strings.EqualFold(val, "strict")
			}
		}
	}
	return p
}

// queryOf parses the query string, refusing a malformed one (Go's
// URL.Query would silently drop the bad pairs).
func queryOf(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, errorf(socialrx.EINVALID, "malformed query string")
	}
	return q, nil
}

// parseVersionTag reads an ETag-style version: W/"3", "3" or 3.
func parseVersionTag(header, s string) (int64, error) {
	v := strings.TrimSpace(s)
	v = strings.TrimPrefix(v, "W/")
	v = strings.Trim(v, `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, issueError(socialrx.EINVALID, "", "%s must be a version tag such as W/\"1\"", header)
	}
	return n, nil
}

// noneMatch is the If-None-Match precondition of an update (PUT, or a
// transaction entry's request.ifNoneMatch), with HTTP's meaning for a
// write: "*" asks that the resource not exist (create only), a list of
// version tags that its current version be none of them. Either failing
// is 412, and nothing is written.
type noneMatch struct {
	any      bool
	versions []int64
}

// parseNoneMatch reads an If-None-Match value (header names it in errors).
func parseNoneMatch(header, s string) (noneMatch, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return noneMatch{}, nil
	}
	if s == "*" {
		return noneMatch{any: true}, nil
	}
	var n noneMatch
	for _, tag := range strings.Split(s, ",") {
		v, err := parseVersionTag(header, tag)
		if err != nil {
			return noneMatch{}, issueError(socialrx.EINVALID, "", "%s must be * or version tags such as W/\"1\"", header)
		}
		n.versions = append(n.versions, v)
	}
	return n, nil
}

// check fails with EPRECONDITION when typ/id exists and n forbids its
// current version (nothing to check when n is empty).
func (n noneMatch) check(ctx context.Context, tx socialrx.ResourceTx, typ, id string) error {
	if !n.any && len(n.versions) == 0 {
		return nil
	}
	cur, err := tx.Read(ctx, typ, id)
	switch socialrx.ErrorCode(err) {
	case socialrx.ENOTFOUND, socialrx.EGONE:
		return nil // nothing there: create
	case "":
	default:
		return err
	}
	if n.any {
		return errorf(socialrx.EPRECONDITION, "%s/%s exists (If-None-Match: * writes only a resource that does not)", typ, id)
	}
	if slices.Contains(n.versions, cur.VersionID) {
		return errorf(socialrx.EPRECONDITION, "the current version of %s/%s is one If-None-Match names", typ, id)
	}
	return nil
}

// etag returns the weak ETag of a version.
func etag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

// lastModified formats a resource's lastUpdated for Last-Modified.
func lastModified(res *socialrx.Resource) string {
	return res.LastUpdated.UTC().Format(http.TimeFormat)
}

// resourceURL is {base}/Type/id.
func resourceURL(base, typ, id string) string { return base + "/" + typ + "/" + id }

// versionURL is {base}/Type/id/_history/n.
func versionURL(base string, res *socialrx.Resource) string {
	return resourceURL(base, res.Type, res.ID) + "/_history/" + strconv.FormatInt(res.VersionID, 10)
}

// setVersionHeaders sets ETag and Last-Modified for one resource version.
func setVersionHeaders(c echo.Context, res *socialrx.Resource) {
	h := c.Response().Header()
	h.Set("ETag", etag(res.VersionID))
	if !res.LastUpdated.IsZero() {
		h.Set(echo.HeaderLastModified, lastModified(res))
	}
}

// wantPretty reports _pretty=true in the query or the _search form.
func wantPretty(c echo.Context) bool {
	if p, ok := c.Get(ctxPretty).(bool); ok {
		return p
	}
	return c.QueryParam("_pretty") == "true"
}

// writeFHIR writes a FHIR JSON document, indented when _pretty=true
// (json.Indent keeps every value's bytes, numbers included).
func (s *Server) writeFHIR(c echo.Context, status int, body []byte) error {
	if wantPretty(c) {
		var b bytes.Buffer
		if err := json.Indent(&b, body, "", "  "); err == nil {
			body = b.Bytes()
		}
	}
	return c.Blob(status, ContentTypeFHIR, body)
}

// writeWrite answers a create, update or delete according to Prefer:
// the resource (representation, the default), nothing (minimal), or an
// OperationOutcome with an information issue and the decode warnings.
func (s *Server) writeWrite(c echo.Context, status int, res *socialrx.Resource, message string, warnings []fhir.Issue) error {
	switch preferOf(c.Request()).ret {
	case returnMinimal:
		return c.NoContent(status)
	case returnOperationOutcome:
		issues := append([]fhir.Issue{{Severity: socialrx.SeverityInformation, Code: "informational", Message: message}}, warnings...)
		return s.writeFHIR(c, status, fhir.OperationOutcome(issues))
	}
	if res == nil || res.Body == nil {
		return s.writeFHIR(c, status, fhir.OperationOutcome([]fhir.Issue{{Severity: socialrx.SeverityInformation, Code: "informational", Message: message}}))
	}
	return s.writeFHIR(c, status, res.Body)
}

// marshal encodes v as JSON without HTML escaping, so that embedded
// resources keep their bytes.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// warningsOf returns the issues that are not errors.
// takeWarnings returns the warnings of tx's writes (a workflow.Tx's:
// a prescription to an inactive, stale or full program, issue 14) as
// issues of the response, and forgets them.
func takeWarnings(tx any) []fhir.Issue {
	w, ok := tx.(interface{ TakeWarnings() []socialrx.Issue })
	if !ok {
		return nil
	}
	var out []fhir.Issue
	for _, is := range w.TakeWarnings() {
		out = append(out, fhir.Issue(is))
	}
	return out
}

func warningsOf(issues []fhir.Issue) []fhir.Issue {
	var out []fhir.Issue
	for _, i := range issues {
		if i.Severity != socialrx.SeverityError && i.Severity != socialrx.SeverityFatal {
			out = append(out, i)
		}
	}
	return out
}
