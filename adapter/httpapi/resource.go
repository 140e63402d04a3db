package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/workflow"
	"github.com/socialrx/socialrx/fhir"
)

// checkType refuses a type that is not an R4 resource type or that
// socialrx does not hold: 404 in both cases (see the package doc).
func checkType(typ string) error {
	if !fhir.Known(typ) {
		return &socialrx.Error{Code: socialrx.ENOTFOUND, Message: "unknown resource type", Issues: []socialrx.Issue{{
			Severity: socialrx.SeverityError, Code: "not-supported", Message: "unknown resource type",
		}}}
	}
	if !fhir.Supported(typ) {
		return &socialrx.Error{Code: socialrx.ENOTFOUND, Message: "resource type not supported by this server", Issues: []socialrx.Issue{{
			Severity: socialrx.SeverityError, Code: "not-supported", Message: "resource type " + typ + " is not supported by this server",
		}}}
	}
	return nil
}

// checkTypeID is checkType plus the id syntax (400 when invalid).
func checkTypeID(typ, id string) error {
	if err := checkType(typ); err != nil {
		return err
	}
	if !fhir.ValidID(id) {
		return issueError(socialrx.EINVALID, typ+".id", "invalid resource id (1 to 64 of A-Z a-z 0-9 - .)")
	}
	return nil
}

// decodeBody reads and checks the request body as one resource of type typ.
// Error issues answer 400 or 422 (see resourceError) with every issue;
// warnings are returned.
func (s *Server) decodeBody(c echo.Context, typ string) (*fhir.Decoded, []fhir.Issue, error) {
	if err := requireJSON(c.Request()); err != nil {
		return nil, nil, err
	}
	body, err := s.readBody(c)
	if err != nil {
		return nil, nil, err
	}
	if len(body) == 0 {
		return nil, nil, errorf(socialrx.EINVALID, "request body is empty")
	}
	d, issues := fhir.Decode(body, typ)
	if fhir.HasErrors(issues) {
		return nil, nil, workflow.ResourceError(issues)
	}
	if d == nil {
		return nil, nil, errorf(socialrx.EINVALID, "invalid resource")
	}
	return d, warningsOf(issues), nil
}

// ifMatchOf reads If-Match (0 when absent).
func ifMatchOf(r *http.Request) (int64, error) {
	v := r.Header.Get("If-Match")
	if v == "" {
		return 0, nil
	}
	return parseVersionTag("If-Match", v)
}

// handleRead answers GET /fhir/:type/:id, with If-None-Match (304) and
// _summary/_elements.
func (s *Server) handleRead(c echo.Context) error {
	typ, id := c.Param("type"), c.Param("id")
	if err := checkTypeID(typ, id); err != nil {
		return err
	}
	view, err := readView(c.Request())
	if err != nil {
		return err
	}
	res, err := s.store.Read(c.Request().Context(), typ, id)
	if err != nil {
		return err
	}
	noteRead(c, res)
	return s.writeRead(c, res, view)
}

// handleVRead answers GET /fhir/:type/:id/_history/:vid.
func (s *Server) handleVRead(c echo.Context) error {
	typ, id := c.Param("type"), c.Param("id")
	if err := checkTypeID(typ, id); err != nil {
		return err
	}
	// A versionId is an R4 id; this server's are 1, 2, 3, ... Any other
	// (abc, 0, 01, 1.0) names a version that does not exist.
	vid, err := strconv.ParseInt(c.Param("vid"), 10, 64)
	if err != nil || vid < 1 || strconv.FormatInt(vid, 10) != c.Param("vid") {
		if fhir.ValidID(c.Param("vid")) {
			return errorf(socialrx.ENOTFOUND, "%s/%s/_history/%s not found", typ, id, c.Param("vid"))
		}
		return errorf(socialrx.ENOTFOUND, "%s/%s: no such version", typ, id)
	}
	view, err := readView(c.Request())
	if err != nil {
		return err
	}
	res, err := s.store.VRead(c.Request().Context(), typ, id, vid)
	if err != nil {
		return err
	}
	noteRead(c, res)
	return s.writeRead(c, res, view)
}

// noteRead notes the resource a read or vread returns for its AuditEvent.
func noteRead(c echo.Context, res *socialrx.Resource) {
	n := noteOf(c)
	n.entity, n.version, n.read = res.Type+"/"+res.ID, res.VersionID, res.Body
}

// readView reads _summary and _elements of a read or vread.
func readView(r *http.Request) (subset, error) {
	q, err := queryOf(r)
	if err != nil {
		return subset{}, err
	}
	return subsetOf(q, false)
}

// writeRead answers a read or vread.
func (s *Server) writeRead(c echo.Context, res *socialrx.Resource, view subset) error {
	setVersionHeaders(c, res)
	if inm := c.Request().Header.Get("If-None-Match"); inm != "" {
		if v, err := parseVersionTag("If-None-Match", inm); err == nil && v == res.VersionID {
			return c.NoContent(http.StatusNotModified)
		}
	}
	body, err := view.apply(res.Body)
	if err != nil {
		return err
	}
	return s.writeFHIR(c, http.StatusOK, body)
}

// handleCreate answers POST /fhir/:type: a new resource with a server-assigned
// id, or, with If-None-Exist, the one existing match (200; 412 when several
// match).
func (s *Server) handleCreate(c echo.Context) error {
	typ := c.Param("type")
	if err := checkType(typ); err != nil {
		return err
	}
	if err := checkWritable(typ); err != nil {
		return err
	}
	r := c.Request()
	var cond url.Values
	if h := r.Header.Get("If-None-Exist"); h != "" {
		var err error
		if cond, err = conditionalParams(h, typ, "If-None-Exist"); err != nil {
			return err
		}
		if err := permitSearch(r.Context(), typ, cond); err != nil {
			return err
		}
	}
	d, warnings, err := s.decodeBody(c, typ)
	if err != nil {
		return err
	}
	ctx := r.Context()
	var res *socialrx.Resource
	var created bool
	var notices []fhir.Issue // the workflow's warnings about the write
	err = s.wf.Transact(ctx, func(tx *workflow.Tx) error {
		res, created, notices = nil, false, nil
		if cond != nil {
			existing, err := s.matchOne(ctx, tx, typ, cond, "If-None-Exist")
			if err != nil {
				return err
			}
			if existing != nil {
				res = existing
				return s.auditWrite(ctx, c, tx, "create", typ, res.ID, res)
			}
		}
		var err error
		if res, err = tx.CreateNew(ctx, typ, newResourceID(), d.Body); err != nil {
			return err
		}
		notices = takeWarnings(tx)
		created = true
		return s.auditWrite(ctx, c, tx, "create", typ, res.ID, res)
	})
	if err != nil {
		return err
	}
	noteOf(c).written = true
	setVersionHeaders(c, res)
	c.Response().Header().Set(echo.HeaderLocation, versionURL(s.baseURL(r), res))
	warnings = append(warnings, notices...)
	if !created {
		return s.writeWrite(c, http.StatusOK, res, "a resource matching If-None-Exist exists; nothing created", warnings)
	}
	return s.writeWrite(c, http.StatusCreated, res, "created", warnings)
}

// handleUpdate answers PUT /fhir/:type/:id: the body's id must equal the
// URL's; If-Match makes it version-aware, If-None-Match: * create-only
// (noneMatch); an absent resource is created (201).
func (s *Server) handleUpdate(c echo.Context) error {
	typ, id := c.Param("type"), c.Param("id")
	if err := checkTypeID(typ, id); err != nil {
		return err
	}
	if err := checkWritable(typ); err != nil {
		return err
	}
	ifMatch, err := ifMatchOf(c.Request())
	if err != nil {
		return err
	}
	none, err := parseNoneMatch("If-None-Match", c.Request().Header.Get("If-None-Match"))
	if err != nil {
		return err
	}
	d, warnings, err := s.decodeBody(c, typ)
	if err != nil {
		return err
	}
	if d.ID != id {
		return issueError(socialrx.EINVALID, typ+".id", "resource id must be present and equal the id in the URL")
	}
	return s.update(c, typ, d, warnings, func(context.Context, socialrx.ResourceTx) (string, error) { return id, nil }, ifMatch, none)
}

// handleConditionalUpdate answers PUT /fhir/:type?params: one match is
// updated, none creates (with the body's id, or a new one), several is 412.
func (s *Server) handleConditionalUpdate(c echo.Context) error {
	typ, cond, err := conditionalRequest(c, "update")
	if err != nil {
		return err
	}
	ifMatch, err := ifMatchOf(c.Request())
	if err != nil {
		return err
	}
	none, err := parseNoneMatch("If-None-Match", c.Request().Header.Get("If-None-Match"))
	if err != nil {
		return err
	}
	d, warnings, err := s.decodeBody(c, typ)
	if err != nil {
		return err
	}
	return s.update(c, typ, d, warnings, func(ctx context.Context, tx socialrx.ResourceTx) (string, error) {
		return s.conditionalTarget(ctx, tx, typ, cond, d.ID, typ+".id")
	}, ifMatch, none)
}

// conditionalTarget resolves the id a conditional update writes: the one
// match (bodyID, when set, must equal it), or bodyID, or a new id.
func (s *Server) conditionalTarget(ctx context.Context, tx socialrx.ResourceTx, typ string, cond url.Values, bodyID, idPath string) (string, error) {
	match, err := s.matchOne(ctx, tx, typ, cond, "conditional update")
	if err != nil {
		return "", err
	}
	switch {
	case match != nil && bodyID != "" && bodyID != match.ID:
		return "", issueError(socialrx.EINVALID, idPath, "resource id differs from the id of the resource the conditional update matched")
	case match != nil:
		return match.ID, nil
	case bodyID != "":
		return bodyID, nil
	}
	return newResourceID(), nil
}

// update runs one update in a transaction; target picks the id inside it,
// and none (If-None-Match) may refuse it there.
func (s *Server) update(c echo.Context, typ string, d *fhir.Decoded, warnings []fhir.Issue, target func(context.Context, socialrx.ResourceTx) (string, error), ifMatch int64, none noneMatch) error {
	r := c.Request()
	ctx := r.Context()
	var res *socialrx.Resource
	var created bool
	var notices []fhir.Issue // the workflow's warnings about the write
	err := s.wf.Transact(ctx, func(tx *workflow.Tx) error {
		id, err := target(ctx, tx)
		if err != nil {
			return err
		}
		if err := none.check(ctx, tx, typ, id); err != nil {
			return err
		}
		if res, created, err = tx.Update(ctx, typ, id, d.Body, ifMatch); err != nil {
			return err
		}
		notices = takeWarnings(tx)
		subtype := "update"
		if created {
			subtype = "create"
		}
		return s.auditWrite(ctx, c, tx, subtype, typ, id, res)
	})
	if err != nil {
		return err
	}
	noteOf(c).written = true
	setVersionHeaders(c, res)
	c.Response().Header().Set(echo.HeaderLocation, versionURL(s.baseURL(r), res))
	warnings = append(warnings, notices...)
	if created {
		return s.writeWrite(c, http.StatusCreated, res, "created", warnings)
	}
	return s.writeWrite(c, http.StatusOK, res, "updated", warnings)
}

// handleDelete answers DELETE /fhir/:type/:id: 200 with an OperationOutcome
// (204 with Prefer: return=minimal), also when there was nothing to delete.
func (s *Server) handleDelete(c echo.Context) error {
	typ, id := c.Param("type"), c.Param("id")
	if err := checkTypeID(typ, id); err != nil {
		return err
	}
	if err := checkWritable(typ); err != nil {
		return err
	}
	ifMatch, err := ifMatchOf(c.Request())
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var res *socialrx.Resource
	err = s.wf.Transact(ctx, func(tx *workflow.Tx) error {
		var err error
		if res, err = tx.Delete(ctx, typ, id, ifMatch); err != nil {
			return err
		}
		return s.auditWrite(ctx, c, tx, "delete", typ, id, res)
	})
	if err != nil {
		return err
	}
	noteOf(c).written = true
	msg := "nothing to delete"
	if res != nil {
		c.Response().Header().Set("ETag", etag(res.VersionID))
		msg = "deleted"
	}
	if preferOf(c.Request()).ret == returnMinimal {
		return c.NoContent(http.StatusNoContent)
	}
	return s.writeFHIR(c, http.StatusOK, fhir.OperationOutcome([]fhir.Issue{{Severity: socialrx.SeverityInformation, Code: "informational", Message: msg}}))
}

// handleConditionalDelete answers DELETE /fhir/:type?params (R4
// conditional delete, "single"): the one resource the search matches is
// deleted as by DELETE /fhir/:type/:id; none is nothing to delete (200, or
// 204 with Prefer: return=minimal); several are 412, nothing deleted. It
// needs search as well as delete on the type.
func (s *Server) handleConditionalDelete(c echo.Context) error {
	typ, cond, err := conditionalRequest(c, "delete")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ifMatch, err := ifMatchOf(c.Request())
	if err != nil {
		return err
	}
	n := noteOf(c)
	var res *socialrx.Resource
	err = s.wf.Transact(ctx, func(tx *workflow.Tx) error {
		res = nil
		m, err := s.matchOne(ctx, tx, typ, cond, "conditional delete")
		if err != nil || m == nil {
			n.queryType, n.query, n.patient = typ, cond.Encode(), queryPatient(typ, cond)
			return err
		}
		if res, err = tx.Delete(ctx, typ, m.ID, ifMatch); err != nil {
			return err
		}
		return s.auditWrite(ctx, c, tx, "delete", typ, m.ID, res)
	})
	if err != nil {
		return err
	}
	msg := "nothing to delete: no " + typ + " matched"
	if res != nil {
		n.written = true
		c.Response().Header().Set("ETag", etag(res.VersionID))
		msg = "deleted " + typ + "/" + res.ID
	}
	if preferOf(c.Request()).ret == returnMinimal {
		return c.NoContent(http.StatusNoContent)
	}
	return s.writeFHIR(c, http.StatusOK, fhir.OperationOutcome([]fhir.Issue{{Severity: socialrx.SeverityInformation, Code: "informational", Message: msg}}))
}

// conditionalRequest checks a conditional update or delete on
// [type]?params (interaction names it in the error): a writable type, search
// parameters, and the search permitted. It returns the type and the search.
func conditionalRequest(c echo.Context, interaction string) (string, url.Values, error) {
	typ := c.Param("type")
	if err := checkType(typ); err != nil {
		return "", nil, err
	}
	if err := checkWritable(typ); err != nil {
		return "", nil, err
	}
	q, err := queryOf(c.Request())
	if err != nil {
		return "", nil, err
	}
	cond := searchParamsOnly(q)
	if len(cond) == 0 {
		return "", nil, errorf(socialrx.EINVALID, "%s needs an id in the URL or search parameters", interaction)
	}
	if err := permitSearch(c.Request().Context(), typ, cond); err != nil {
		return "", nil, err
	}
	return typ, cond, nil
}

// conditionalParams parses the search of a conditional interaction:
// "param=value&...", optionally after "Type?" or "?".
func conditionalParams(s, typ, what string) (url.Values, error) {
	s = strings.TrimSpace(s)
	if before, after, ok := strings.Cut(s, "?"); ok {
		if before != "" && before != typ && !strings.HasSuffix(before, "/"+typ) {
			return nil, issueError(socialrx.EINVALID, "", "%s names another resource type", what)
		}
		s = after
	}
	q, err := url.ParseQuery(s)
	if err != nil {
		return nil, issueError(socialrx.EINVALID, "", "%s is not a valid search", what)
	}
	q = searchParamsOnly(q)
	if len(q) == 0 {
		return nil, issueError(socialrx.EINVALID, "", "%s has no search parameters", what)
	}
	return q, nil
}

// searchParamsOnly drops the parameters that shape the response rather
// than select resources.
func searchParamsOnly(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		switch k {
		case "_format", "_pretty", "_summary", "_elements", "_count", "_total", "_sort", "_include", "_revinclude", "_cursor":
			continue
		}
		out[k] = v
	}
	return out
}

// newResourceID returns the id of a resource the server creates: a UUID
// version 7 (RFC 9562), whose first 48 bits are the time in milliseconds.
// Ids that grow with time put a new resource's rows at the end of every
// index keyed by id (resources, search_index_res, the projections, the
// reference index of what points to it, the audit trail's entity index)
// instead of on a random page of each: the concurrent transactions of one
// group commit then share those pages, and each commit writes far fewer of
// them: SQLite wrote 528 KB per encounter Bundle of the ingest benchmark
// with v4 ids and 289 KB with these, and took 1.3-1.5x the Bundles a
// second (docs/performance.md, issue 12). The time the id reveals is the
// resource's meta.lastUpdated anyway. Ids a client gives (PUT) are kept as
// they are.
func newResourceID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}
