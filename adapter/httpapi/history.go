package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

// maxHistoryCount caps _count on history.
const maxHistoryCount = 1000

// handleHistory answers GET /fhir/_history, /fhir/:type/_history and
// /fhir/:type/:id/_history with a history Bundle, newest first. Parameters:
// _since (an instant), _count, and _cursor (from the next link).
func (s *Server) handleHistory(c echo.Context) error {
	typ, id := c.Param("type"), c.Param("id")
	switch {
	case id != "":
		if err := checkTypeID(typ, id); err != nil {
			return err
		}
	case typ != "":
		if err := checkType(typ); err != nil {
			return err
		}
	}
	r := c.Request()
	q, err := queryOf(r)
	if err != nil {
		return err
	}
	req := socialrx.HistoryRequest{Type: typ, ID: id, Cursor: q.Get("_cursor")}
	if v := q.Get("_since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return issueError(socialrx.EINVALID, "_since", "_since must be an instant with a time zone, e.g. 2026-01-02T03:04:05Z")
		}
		req.Since = t.UTC()
	}
	if v := q.Get("_count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return issueError(socialrx.EINVALID, "_count", "_count must be a positive integer")
		}
		req.Count = min(n, maxHistoryCount)
	}
	if n := noteOf(c); id != "" {
		n.entity = typ + "/" + id
	} else {
		n.queryType, n.query = typ, q.Encode()
	}
	page, err := s.store.History(r.Context(), req)
	if err != nil {
		return err
	}

	base := s.baseURL(r)
	path := base
	if typ != "" {
		path += "/" + typ
	}
	if id != "" {
		path += "/" + id
	}
	path += "/_history"
	links := url.Values{}
	for _, k := range []string{"_since", "_count"} {
		if v := q.Get(k); v != "" {
			links.Set(k, v)
		}
	}
	self := links
	if req.Cursor != "" {
		self = cloneValues(links)
		self.Set("_cursor", req.Cursor)
	}

	b := newBundle("history")
	total := page.Total
	b.Total = &total
	b.Link = append(b.Link, bundleLink{Relation: "self", URL: withQuery(path, self)})
	if page.Next != "" {
		next := cloneValues(links)
		next.Set("_cursor", page.Next)
		b.Link = append(b.Link, bundleLink{Relation: "next", URL: withQuery(path, next)})
	}
	for _, v := range page.Versions {
		b.Entry = append(b.Entry, historyEntry(base, v))
	}
	out, err := marshal(b)
	if err != nil {
		return err
	}
	return s.writeFHIR(c, http.StatusOK, out)
}

// historyEntry is one version in a history Bundle. The request method is
// inferred: a delete is DELETE, version 1 is POST, later versions PUT.
func historyEntry(base string, v socialrx.Resource) bundleEntry {
	e := bundleEntry{
		FullURL:  resourceURL(base, v.Type, v.ID),
		Resource: v.Body,
		Response: &entryResponse{
			Etag:         etag(v.VersionID),
			LastModified: v.LastUpdated.UTC().Format(fhir.InstantFormat),
		},
	}
	switch {
	case v.Deleted:
		e.Resource = nil
		e.Request = &entryRequest{Method: http.MethodDelete, URL: v.Type + "/" + v.ID}
		e.Response.Status = status(http.StatusOK)
	case v.VersionID == 1:
		e.Request = &entryRequest{Method: http.MethodPost, URL: v.Type}
		e.Response.Status = status(http.StatusCreated)
		e.Response.Location = v.Type + "/" + v.ID + "/_history/1"
	default:
		e.Request = &entryRequest{Method: http.MethodPut, URL: v.Type + "/" + v.ID}
		e.Response.Status = status(http.StatusOK)
	}
	return e
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vv := range v {
		out[k] = append([]string(nil), vv...)
	}
	return out
}

func withQuery(path string, q url.Values) string {
	if s := q.Encode(); s != "" {
		return path + "?" + s
	}
	return path
}
