package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/export"
	"github.com/socialrx/socialrx/fhir"
)

// everythingParams are the parameters Patient/$everything takes.
var everythingParams = map[string]bool{"_type": true, "_since": true, "start": true, "end": true, "_count": true, "_cursor": true, "_format": true, "_pretty": true}

// maxEverythingCount caps _count on Patient/$everything.
const maxEverythingCount = 1000

// errPageFull stops a stream once a page of $everything is full.
var errPageFull = errors.New("page full")

// handleEverything answers GET /fhir/Patient/:id/$everything (R4
// Patient-everything) with one searchset Bundle: the Patient, every
// resource in its compartment as $export draws it (export.CompartmentParams:
// resources *about* the patient) as matches, and the resources those
// reference that the server holds (one level: the practitioners,
// organizations, programs and locations of the record) as includes. _type
// narrows both to the types it names, _since keeps what changed after an
// instant, start and end a care date range (careDateParams); the Patient,
// when it is in, comes first. Types the client may not read are left out,
// as _include leaves them out. Past Config.MaxResponseBytes of resources it
// answers 413 and points to Patient/$export. _count pages the matches
// (the Patient counts on the first page): each page carries the includes
// its own matches reference (one may come again on a later page), no
// total, and a next link with _cursor, "Type|id" (the type being streamed
// and the last id of it sent; ids grow, so a resource created meanwhile
// comes on a later page, or not at all if its type is done).
func (s *Server) handleEverything(c echo.Context) error {
	typ, id := c.Param("type"), c.Param("id")
	if err := checkTypeID(typ, id); err != nil {
		return err
	}
	if typ != "Patient" {
		return issueError(socialrx.ENOTFOUND, "", "$everything is an operation on Patient, not %s", typ)
	}
	r := c.Request()
	ctx := r.Context()
	q, err := queryOf(r)
	if err != nil {
		return err
	}
	for name := range q {
		if !everythingParams[name] {
			return issueError(socialrx.EINVALID, "", "$everything parameter %s is not supported (supported: _type, _since, start, end, _count and _cursor from a next link; for more, Patient/$export)", name)
		}
	}
	var since time.Time
	if v := q.Get("_since"); v != "" {
		if since, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return issueError(socialrx.EINVALID, "", "_since must be a FHIR instant with a time zone, e.g. 2026-01-01T00:00:00Z")
		}
	}
	care, err := careRangeOf(q.Get("start"), q.Get("end"))
	if err != nil {
		return err
	}
	principal := socialrx.PrincipalFrom(ctx)
	types, err := exportTypes(socialrx.ExportPatient, q["_type"], principal)
	if err != nil {
		return err
	}
	count := 0 // matches a page holds; 0: all in one
	if v := q.Get("_count"); v != "" {
		if count, err = strconv.Atoi(v); err != nil || count < 1 {
			return issueError(socialrx.EINVALID, "_count", "_count must be a positive integer")
		}
		count = min(count, maxEverythingCount)
	}
	cursorType, cursorID, err := everythingCursor(q.Get("_cursor"), types)
	if err != nil {
		return err
	}
	if cursorType != "" && count == 0 {
		return issueError(socialrx.EINVALID, "_cursor", "_cursor comes with the _count of the page before")
	}
	n := noteOf(c)
	n.entity, n.operation = "Patient/"+id, "$everything"
	patient, err := s.store.Read(ctx, "Patient", id)
	if err != nil {
		return err
	}
	n.version, n.read = patient.VersionID, patient.Body

	base := s.baseURL(r)
	budget := s.responseBudget()
	out := newBundle("searchset")
	matched := map[string]bool{"Patient/" + id: true} // in the Bundle as a match
	queued := map[string]bool{}                       // in refs
	var refs []string                                 // "Type/id" the matches reference, in order
	add := func(res *socialrx.Resource, mode string) error {
		if !budget.take(len(res.Body)) {
			return issueError(socialrx.ETOOLARGE, "", "this patient's record is larger than one response may carry (%d bytes of resources): page it with _count, or take it with Patient/$export?_type=...", s.cfg.MaxResponseBytes)
		}
		out.Entry = append(out.Entry, bundleEntry{FullURL: resourceURL(base, res.Type, res.ID), Resource: res.Body, Search: &entrySearch{Mode: mode}})
		if mode != "match" {
			return nil
		}
		sites, err := fhir.References(res.Body)
		if err != nil {
			return nil // stored bodies are JSON; nothing to follow otherwise
		}
		for _, site := range sites {
			ref, err := fhir.ParseReference(site.Reference)
			if err != nil || ref.Kind != fhir.RefRelative || ref.Version != "" {
				continue
			}
			if key := ref.Type + "/" + ref.ID; !queued[key] {
				queued[key] = true
				refs = append(refs, key)
			}
		}
		return nil
	}
	kept := 0  // matches on this page
	next := "" // the next page's cursor
	started := cursorType == ""
	if started && slices.Contains(types, "Patient") && (since.IsZero() || patient.LastUpdated.After(since)) {
		if err := add(patient, "match"); err != nil {
			return err
		}
		kept++
	}
	for _, t := range types {
		if t == "Patient" || (!started && t != cursorType) {
			continue
		}
		after := ""
		if !started {
			after, started = cursorID, true
		}
		last := after // the last id of t on this page (or before it)
		req := socialrx.StreamRequest{Type: t, AfterID: after, Since: since, RefParams: export.CompartmentParams(t), RefType: "Patient", RefIDs: []string{id}}
		err := s.store.StreamResources(ctx, req, func(res *socialrx.Resource) error {
			if !care.holds(res) {
				return nil
			}
			if count > 0 && kept == count {
				next = t + "|" + last
				return errPageFull
			}
			matched[res.Type+"/"+res.ID] = true
			kept++
			last = res.ID
			return add(res, "match")
		})
		if errors.Is(err, errPageFull) {
			break
		}
		if err != nil {
			return err
		}
	}
	var only []string // with _type, referenced resources of those types only
	if len(q["_type"]) > 0 {
		only = types
	}
	if err := s.everythingIncludes(ctx, refs, matched, only, add); err != nil {
		return err
	}
	if count == 0 {
		total := len(out.Entry)
		out.Total = &total
	}
	path := base + "/Patient/" + id + "/$everything"
	self := path
	if r.URL.RawQuery != "" {
		self += "?" + r.URL.RawQuery
	}
	out.Link = []bundleLink{{Relation: "self", URL: self}}
	if next != "" {
		nq := url.Values{}
		for _, k := range []string{"_type", "_since", "start", "end", "_count"} {
			if vs := q[k]; len(vs) > 0 {
				nq[k] = vs
			}
		}
		nq.Set("_cursor", next)
		out.Link = append(out.Link, bundleLink{Relation: "next", URL: withQuery(path, nq)})
	}
	body, err := marshal(out)
	if err != nil {
		return err
	}
	return s.writeFHIR(c, http.StatusOK, body)
}

// everythingCursor parses a _cursor of Patient/$everything: "Type|id",
// the type one of types (not Patient) and id empty or an R4 id.
func everythingCursor(v string, types []string) (typ, id string, err error) {
	if v == "" {
		return "", "", nil
	}
	typ, id, ok := strings.Cut(v, "|")
	if !ok || typ == "Patient" || !slices.Contains(types, typ) || (id != "" && !fhir.ValidID(id)) {
		return "", "", issueError(socialrx.EINVALID, "_cursor", "_cursor is not one this server gave for these parameters: follow the next link as it is")
	}
	return typ, id, nil
}

// everythingIncludes adds the resources refs name (those the matches
// reference) that the client may read, the server holds and the Bundle
// does not have as a match (a Task's focus ServiceRequest is one), of the
// types in only when it is set (_type); a reference to a resource not held
// here, or deleted, is skipped.
func (s *Server) everythingIncludes(ctx context.Context, refs []string, matched map[string]bool, only []string, add func(*socialrx.Resource, string) error) error {
	p := socialrx.PrincipalFrom(ctx)
	for _, key := range refs {
		if matched[key] {
			continue
		}
		typ, id, _ := fhir.SplitRef(key) // made from a parsed relative reference
		if !fhir.Supported(typ) || typ == "AuditEvent" || !(p.Permits(socialrx.InteractionRead, typ) || p.Permits(socialrx.InteractionSearch, typ)) {
			continue
		}
		if only != nil && !slices.Contains(only, typ) {
			continue
		}
		if typ == "Patient" {
			continue // another patient's record is not this one's
		}
		res, err := s.store.Read(ctx, typ, id)
		switch socialrx.ErrorCode(err) {
		case "":
		case socialrx.ENOTFOUND, socialrx.EGONE:
			continue
		default:
			return err
		}
		if err := add(res, "include"); err != nil {
			return err
		}
	}
	return nil
}
