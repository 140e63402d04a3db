package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/workflow"
	"github.com/socialrx/socialrx/fhir"
)

// bundle is the Bundle the server writes (searchset, history,
// transaction-response, batch-response). Resources are embedded as the
// stored bytes.
type bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id"`
	Meta         bundleMeta    `json:"meta"`
	Type         string        `json:"type"`
	Total        *int          `json:"total,omitempty"`
	Link         []bundleLink  `json:"link,omitempty"`
	Entry        []bundleEntry `json:"entry,omitempty"`
}

type bundleMeta struct {
	LastUpdated string `json:"lastUpdated"`
}

type bundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

type bundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource,omitempty"`
	Search   *entrySearch    `json:"search,omitempty"`
	Request  *entryRequest   `json:"request,omitempty"`
	Response *entryResponse  `json:"response,omitempty"`
}

type entrySearch struct {
	Mode string `json:"mode"`
}

type entryRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

type entryResponse struct {
	Status       string          `json:"status"`
	Location     string          `json:"location,omitempty"`
	Etag         string          `json:"etag,omitempty"`
	LastModified string          `json:"lastModified,omitempty"`
	Outcome      json.RawMessage `json:"outcome,omitempty"`
}

// newBundle returns an empty Bundle of type typ with a fresh id.
func newBundle(typ string) *bundle {
	return &bundle{
		ResourceType: "Bundle",
		ID:           uuid.NewString(),
		Meta:         bundleMeta{LastUpdated: time.Now().UTC().Format(fhir.InstantFormat)},
		Type:         typ,
	}
}

// status is the text of Bundle.entry.response.status, e.g. "201 Created".
func status(code int) string { return strconv.Itoa(code) + " " + http.StatusText(code) }

// handleBundle answers POST /fhir with a transaction or batch Bundle.
func (s *Server) handleBundle(c echo.Context) error {
	if err := requireJSON(c.Request()); err != nil {
		return err
	}
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return errorf(socialrx.EINVALID, "request body is empty")
	}
	b, issues := fhir.ParseBundle(body)
	if fhir.HasErrors(issues) {
		b, issues = emptyEntries(body, issues)
	}
	if fhir.HasErrors(issues) {
		return workflow.DecodeError(issues)
	}
	if b == nil {
		return errorf(socialrx.EINVALID, "invalid bundle")
	}
	if n := len(b.Entries); n > s.cfg.MaxBundleEntries {
		return issueError(socialrx.ETOOLARGE, "Bundle.entry", "a bundle may have at most %d entries, this one has %d", s.cfg.MaxBundleEntries, n)
	}
	var out *bundle
	switch b.Type {
	case "transaction":
		out, err = s.transaction(c, b)
	case "batch":
		out, err = s.batch(c, b)
	default:
		return issueError(socialrx.EINVALID, "Bundle.type", "POST to the base takes a transaction or batch Bundle")
	}
	if err != nil {
		return err
	}
	data, err := marshal(out)
	if err != nil {
		return err
	}
	return s.writeFHIR(c, http.StatusOK, data)
}

// emptyEntries parses again, without its entry member, a Bundle refused
// only because of an error at Bundle.entry when that member is "[]": an
// empty transaction or batch (which R4 JSON would write without entry) is
// answered with an empty response rather than 400. Otherwise it returns
// issues unchanged.
func emptyEntries(body []byte, issues []fhir.Issue) (*fhir.Bundle, []fhir.Issue) {
	for _, i := range issues {
		if fhir.HasErrors([]fhir.Issue{i}) && i.Path != "Bundle.entry" {
			return nil, issues
		}
	}
	o, err := fhir.ParseObject(body)
	if err != nil {
		return nil, issues
	}
	if e, ok := o.Get("entry"); !ok || string(bytes.Join(bytes.Fields(e), nil)) != "[]" {
		return nil, issues
	}
	o.Del("entry")
	return fhir.ParseBundle(o.Bytes())
}

// transaction runs every entry in one store transaction, in FHIR order
// (DELETE, POST, PUT, GET), after giving POST entries their ids and
// rewriting urn:uuid and conditional references. The first failing entry
// fails the whole Bundle, and nothing is stored; its error names the entry.
func (s *Server) transaction(c echo.Context, b *fhir.Bundle) (*bundle, error) {
	noteOf(c).subtype = "transaction"
	r := c.Request()
	ctx := r.Context()
	base := s.baseURL(r)
	if err := duplicateFullURLs(b.Type, b.Entries); err != nil {
		return nil, err
	}
	ops := make([]*op, len(b.Entries))
	for i, e := range b.Entries {
		o, err := s.parseOp(base, i, e)
		if err != nil {
			return nil, err
		}
		ops[i] = o
	}
	// One entry the scopes do not allow fails the whole transaction, before
	// anything runs.
	for _, o := range ops {
		if err := permitOp(ctx, o); err != nil {
			return nil, o.fail(err)
		}
	}
	ret := preferOf(r).ret
	prefetch := prefetchRefs(ops)
	err := s.wf.Transact(ctx, func(tx *workflow.Tx) error {
		for _, o := range ops {
			o.reset()
		}
		budget := s.responseBudget()
		// execute runs an entry and counts what its response entry will
		// carry: past the budget the transaction fails, nothing stored.
		execute := func(o *op) error {
			if err := s.execute(ctx, tx, base, o); err != nil {
				return err
			}
			if !budget.take(len(o.responseEntry(base, ret).Resource)) {
				return budget.exceeded()
			}
			return nil
		}
		run := func(match func(*op) bool, step func(*op) error) error {
			for _, o := range ops {
				if !match(o) {
					continue
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := step(o); err != nil {
					return o.fail(err)
				}
			}
			return nil
		}
		isDelete := func(o *op) bool { return o.kind == opDelete }
		isWrite := func(o *op) bool { return o.kind == opCreate || o.kind == opUpdate || o.kind == opPatch }
		isCreate := func(o *op) bool { return o.kind == opCreate }
		isUpdate := func(o *op) bool { return o.kind == opUpdate || o.kind == opPatch }
		isRead := func(o *op) bool { return o.kind.isRead() }

		if err := run(isDelete, func(o *op) error { return s.resolveTarget(ctx, tx, o) }); err != nil {
			return err
		}
		if err := run(isDelete, execute); err != nil {
			return err
		}
		// What the entries name but do not carry is read with the
		// conditions' search: on PostgreSQL in its round trip.
		tx.Prefetch(prefetch, nil)
		if err := s.matchCreates(ctx, tx, ops); err != nil {
			return err
		}
		if err := run(isWrite, func(o *op) error { return s.resolveTarget(ctx, tx, o) }); err != nil {
			return err
		}
		// Identities must not overlap, and every fullUrl maps to Type/id.
		seen := map[string]int{}
		fullURLs := map[string]string{}
		for _, o := range ops {
			if o.kind.isRead() {
				continue
			}
			if o.target == "" {
				continue // a conditional delete that matched nothing
			}
			key := o.typ + "/" + o.target
			if j, dup := seen[key]; dup {
				return o.fail(issueError(socialrx.EINVALID, o.path, "entry writes the same resource as entry %d", j))
			}
			seen[key] = o.index
			if o.fullURL != "" && o.kind != opDelete {
				fullURLs[o.fullURL] = key
			}
		}
		if err := run(isWrite, func(o *op) error { return s.rewriteReferences(ctx, tx, o, fullURLs) }); err != nil {
			return err
		}
		if err := run(isCreate, execute); err != nil {
			return err
		}
		if err := run(isUpdate, execute); err != nil {
			return err
		}
		if err := run(isRead, execute); err != nil {
			return err
		}
		// One AuditEvent per entry, committed with the entries.
		for _, o := range ops {
			if err := tx.Audit(ctx, s.auditOp(c, o, o.code, nil)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	noteOf(c).written = true
	out := newBundle("transaction-response")
	for _, o := range ops {
		out.Entry = append(out.Entry, o.responseEntry(base, ret))
	}
	return out, nil
}

// batch runs each entry on its own, in Bundle order, each in its own store
// transaction. A failing entry gets its status and an OperationOutcome in
// response.outcome; the others are unaffected. Entries cannot refer to one
// another (a urn:uuid reference is a 400 for that entry). A batch in which
// two entries share a fullUrl (bdl-7) is refused whole (400), nothing run.
//
// The resources of the response are counted as entries run: the read or
// search entry that would pass Config.MaxResponseBytes, and every read or
// search entry after it (not run), are answered 413 with an
// OperationOutcome; write entries still run, and past the limit are
// answered without their resource (as with return=minimal). So the
// response never holds more than the limit in resources.
func (s *Server) batch(c echo.Context, b *fhir.Bundle) (*bundle, error) {
	r := c.Request()
	ctx := r.Context()
	base := s.baseURL(r)
	ret := preferOf(r).ret
	note := noteOf(c)
	note.subtype = "batch"
	if err := duplicateFullURLs(b.Type, b.Entries); err != nil {
		return nil, err // before any entry runs: nothing stored
	}
	out := newBundle("batch-response")
	budget := s.responseBudget()
	full := false
	for i, e := range b.Entries {
		if err := ctx.Err(); err != nil {
			// Out of time: the entries that ran are stored, each in its own
			// transaction, so the batch still answers what happened to
			// each; the rest are not run (503 each, retryable).
			out.Entry = append(out.Entry, s.failedEntry(c, err))
			continue
		}
		o, err := s.parseOp(base, i, e)
		if err == nil {
			// An entry the scopes do not allow gets 403; the others run.
			err = o.fail(permitOp(ctx, o))
		}
		switch {
		case err == nil && o.kind.isRead() && full:
			err = o.fail(budget.exceeded())
		case err == nil && o.kind.isRead():
			err = o.fail(s.read(ctx, s.store, base, o))
		case err == nil:
			err = s.wf.Transact(ctx, func(tx *workflow.Tx) error {
				o.reset()
				if err := s.resolveTarget(ctx, tx, o); err != nil {
					return o.fail(err)
				}
				if err := s.rewriteReferences(ctx, tx, o, nil); err != nil {
					return o.fail(err)
				}
				if err := s.execute(ctx, tx, base, o); err != nil {
					return o.fail(err)
				}
				return tx.Audit(ctx, s.auditOp(c, o, o.code, nil))
			})
		}
		if err != nil {
			s.auditFailedEntry(c, o, err)
			out.Entry = append(out.Entry, s.failedEntry(c, err))
			continue
		}
		entry := o.responseEntry(base, ret)
		if full || !budget.take(len(entry.Resource)) {
			full = true
			if o.kind.isRead() {
				o.res, o.result = nil, nil
				err := o.fail(budget.exceeded())
				s.auditFailedEntry(c, o, err)
				out.Entry = append(out.Entry, s.failedEntry(c, err))
				continue
			}
			entry.Resource = nil
		}
		if o.kind.isRead() {
			s.auditor().Record(ctx, s.auditOp(c, o, o.code, nil))
		}
		out.Entry = append(out.Entry, entry)
	}
	note.written = true
	return out, nil
}

// auditFailedEntry records the AuditEvent of a batch entry that failed
// (o nil: it could not be parsed).
func (s *Server) auditFailedEntry(c echo.Context, o *op, err error) {
	if s.auditor() == nil {
		return
	}
	status := ErrorStatus(normalize(err))
	if o == nil {
		ev := s.auditEvent(c, "batch")
		ev.Outcome, ev.OutcomeDesc = auditOutcome(status, err)
		s.auditor().Record(c.Request().Context(), ev)
		return
	}
	s.auditor().Record(c.Request().Context(), s.auditOp(c, o, status, err))
}

// budget counts the bytes of the resources a Bundle response carries.
type budget struct {
	limit, used int64
}

func (s *Server) responseBudget() *budget { return &budget{limit: s.cfg.MaxResponseBytes} }

// take adds n bytes; false (adding nothing) when that would pass the limit.
func (b *budget) take(n int) bool {
	if b.used+int64(n) > b.limit {
		return false
	}
	b.used += int64(n)
	return true
}

// exceeded is the error of an entry whose response does not fit.
func (b *budget) exceeded() error {
	msg := fmt.Sprintf("the response would carry more than %d bytes of resources (the server's limit); send fewer or smaller reads per bundle", b.limit)
	return &socialrx.Error{Code: socialrx.ETOOLARGE, Message: msg, Issues: []socialrx.Issue{{
		Severity: socialrx.SeverityError, Code: "too-costly", Message: msg,
	}}}
}

// failedEntry is the batch-response entry of a failed entry. Internal
// errors are logged and answered with a generic message.
func (s *Server) failedEntry(c echo.Context, err error) bundleEntry {
	err = normalize(err)
	if socialrx.ErrorCode(err) == socialrx.EINTERNAL {
		s.log.ErrorContext(c.Request().Context(), "internal error in batch entry",
			"request_id", requestIDOf(c), "route", routeOf(c), "error", err.Error())
	}
	return bundleEntry{Response: &entryResponse{
		Status:  status(ErrorStatus(err)),
		Outcome: fhir.OperationOutcome(outcomeIssues(err)),
	}}
}
