package httpapi

import (
	"bytes"
	"encoding/json"
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
		return decodeError(issues)
	}
	if b == nil {
		return errorf(socialrx.EINVALID, "invalid bundle")
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
	r := c.Request()
	ctx := r.Context()
	base := s.baseURL(r)
	if err := duplicateFullURLs(b.Entries); err != nil {
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
	err := s.wf.Transact(ctx, func(tx *workflow.Tx) error {
		for _, o := range ops {
			o.reset()
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
		isWrite := func(o *op) bool { return o.kind == opCreate || o.kind == opUpdate }
		isCreate := func(o *op) bool { return o.kind == opCreate }
		isUpdate := func(o *op) bool { return o.kind == opUpdate }
		isRead := func(o *op) bool { return o.kind.isRead() }

		if err := run(isDelete, func(o *op) error { return s.resolveTarget(ctx, tx, o) }); err != nil {
			return err
		}
		if err := run(isDelete, func(o *op) error { return s.execute(ctx, tx, base, o) }); err != nil {
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
		if err := run(isCreate, func(o *op) error { return s.execute(ctx, tx, base, o) }); err != nil {
			return err
		}
		if err := run(isUpdate, func(o *op) error { return s.execute(ctx, tx, base, o) }); err != nil {
			return err
		}
		return run(isRead, func(o *op) error { return s.execute(ctx, tx, base, o) })
	})
	if err != nil {
		return nil, err
	}
	out := newBundle("transaction-response")
	ret := preferOf(r).ret
	for _, o := range ops {
		out.Entry = append(out.Entry, o.responseEntry(base, ret))
	}
	return out, nil
}

// batch runs each entry on its own, in Bundle order, each in its own store
// transaction. A failing entry gets its status and an OperationOutcome in
// response.outcome; the others are unaffected. Entries cannot refer to one
// another (a urn:uuid reference is a 400 for that entry).
func (s *Server) batch(c echo.Context, b *fhir.Bundle) (*bundle, error) {
	r := c.Request()
	ctx := r.Context()
	base := s.baseURL(r)
	ret := preferOf(r).ret
	out := newBundle("batch-response")
	for i, e := range b.Entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		o, err := s.parseOp(base, i, e)
		if err == nil && o.kind.isRead() {
			err = o.fail(s.read(ctx, s.store, base, o))
		} else if err == nil {
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
				return nil
			})
		}
		if err != nil {
			out.Entry = append(out.Entry, s.failedEntry(c, err))
			continue
		}
		out.Entry = append(out.Entry, o.responseEntry(base, ret))
	}
	return out, nil
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
