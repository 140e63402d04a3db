package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

// handleSearch answers GET /fhir/:type and POST /fhir/:type/_search (form
// body merged with the query) with a searchset Bundle. Unknown parameters
// are ignored and reported in an outcome entry, or refused (400) with
// Prefer: handling=strict. _summary and _elements reduce the matched
// resources (not the included ones); _summary=count leaves out every
// resource. _format and _pretty are not passed to the store.
func (s *Server) handleSearch(c echo.Context) error {
	typ := c.Param("type")
	if err := checkType(typ); err != nil {
		return err
	}
	r := c.Request()
	params, err := queryOf(r)
	if err != nil {
		return err
	}
	if r.Method == http.MethodPost {
		form, err := s.readForm(c)
		if err != nil {
			return err
		}
		for k, v := range form {
			params[k] = append(params[k], v...)
		}
		if p := form.Get("_pretty"); p != "" {
			c.Set(ctxPretty, p == "true")
		}
	}
	view, err := subsetOf(params, true)
	if err != nil {
		return err
	}
	storeParams := url.Values{}
	for k, v := range params {
		if k != "_format" && k != "_pretty" {
			storeParams[k] = v
		}
	}
	if err := permitSearch(r.Context(), typ, storeParams); err != nil {
		return err
	}
	n := noteOf(c)
	n.queryType, n.query, n.patient = typ, storeParams.Encode(), queryPatient(typ, storeParams)
	sr, err := s.store.Search(r.Context(), socialrx.SearchRequest{Type: typ, Params: storeParams, Strict: preferOf(r).strict})
	if err != nil {
		return err
	}
	visible(r.Context(), sr)
	b, err := s.searchBundle(s.baseURL(r), typ, storeParams, sr, view)
	if err != nil {
		return err
	}
	out, err := marshal(b)
	if err != nil {
		return err
	}
	return s.writeFHIR(c, http.StatusOK, out)
}

// readForm reads an application/x-www-form-urlencoded _search body.
func (s *Server) readForm(c echo.Context) (url.Values, error) {
	r := c.Request()
	ct, _, _ := strings.Cut(r.Header.Get(echo.HeaderContentType), ";")
	ct = strings.ToLower(strings.TrimSpace(ct))
	body, err := s.readBody(c)
	if err != nil {
		return nil, err
	}
	if ct != echo.MIMEApplicationForm && (ct != "" || len(body) > 0) {
		return nil, errorf(socialrx.EUNSUPPORTED, "_search takes application/x-www-form-urlencoded")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errorf(socialrx.EINVALID, "malformed form body")
	}
	return form, nil
}

// searchBundle builds the searchset Bundle of one page of results.
func (s *Server) searchBundle(base, typ string, params url.Values, sr *socialrx.SearchResult, view subset) (*bundle, error) {
	b := newBundle("searchset")
	if sr.Total >= 0 {
		total := sr.Total
		b.Total = &total
	}
	self := sr.Self
	if self == nil {
		self = params
	}
	b.Link = append(b.Link, bundleLink{Relation: "self", URL: searchURL(base, typ, self)})
	if sr.Next != nil {
		b.Link = append(b.Link, bundleLink{Relation: "next", URL: searchURL(base, typ, sr.Next)})
	}
	if view.summary != "count" {
		for _, m := range sr.Matches {
			body, err := view.apply(m.Body)
			if err != nil {
				return nil, err
			}
			b.Entry = append(b.Entry, bundleEntry{FullURL: resourceURL(base, m.Type, m.ID), Resource: body, Search: &entrySearch{Mode: "match"}})
		}
		for _, m := range sr.Included {
			b.Entry = append(b.Entry, bundleEntry{FullURL: resourceURL(base, m.Type, m.ID), Resource: m.Body, Search: &entrySearch{Mode: "include"}})
		}
	}
	if len(sr.Ignored) > 0 {
		issues := make([]fhir.Issue, 0, len(sr.Ignored))
		for _, i := range sr.Ignored {
			fi := fhir.Issue(i)
			if fi.Severity == "" {
				fi.Severity = socialrx.SeverityWarning
			}
			if fi.Code == "" {
				fi.Code = "not-supported"
			}
			issues = append(issues, fi)
		}
		b.Entry = append(b.Entry, bundleEntry{Resource: fhir.OperationOutcome(issues), Search: &entrySearch{Mode: "outcome"}})
	}
	return b, nil
}

// searchURL is {base}/Type?params.
func searchURL(base, typ string, params url.Values) string {
	u := base + "/" + typ
	if q := params.Encode(); q != "" {
		u += "?" + q
	}
	return u
}

// subset is the _summary / _elements view asked for.
type subset struct {
	summary  string   // "", "true", "text", "data", "count", "false"
	elements []string // from _elements (comma-separated, repeatable)
}

// subsetOf reads _summary and _elements; _summary=count only where a count
// makes sense (search).
func subsetOf(q url.Values, allowCount bool) (subset, error) {
	var v subset
	if vals := q["_summary"]; len(vals) > 0 {
		if len(vals) > 1 {
			return v, issueError(socialrx.EINVALID, "_summary", "_summary given more than once")
		}
		switch vals[0] {
		case "true", "text", "data", "false":
		case "count":
			if !allowCount {
				return v, issueError(socialrx.EINVALID, "_summary", "_summary=count applies to searches only")
			}
		default:
			return v, issueError(socialrx.EINVALID, "_summary", "_summary must be true, text, data, count or false")
		}
		v.summary = vals[0]
	}
	for _, e := range q["_elements"] {
		for _, el := range strings.Split(e, ",") {
			if el = strings.TrimSpace(el); el != "" {
				v.elements = append(v.elements, el)
			}
		}
	}
	return v, nil
}

// apply returns body reduced to the view: _summary (true, text, data) wins
// over _elements when both are given.
func (v subset) apply(body []byte) ([]byte, error) {
	if body == nil {
		return nil, nil
	}
	switch {
	case v.summary == "true" || v.summary == "text" || v.summary == "data":
		out, err := fhir.Summary(body, v.summary)
		if err != nil {
			return nil, fmt.Errorf("summary: %w", err)
		}
		return out, nil
	case len(v.elements) > 0:
		out, err := fhir.Elements(body, v.elements)
		if err != nil {
			return nil, fmt.Errorf("elements: %w", err)
		}
		return out, nil
	}
	return body, nil
}
