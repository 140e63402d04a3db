package httpapi

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/workflow"
)

// The audit trail of the API (socialrx audit.go; the Auditor in
// adapter/workflow). Each audited route has an audit subtype (route.audit);
// its middleware (auditRoute) records one AuditEvent per request once the
// handler has returned:
//
//	a write that committed     the handler appended it in the write's own
//	                           transaction (Tx.Audit) and marked it written
//	a read, search, history,   the middleware hands it to the Auditor's
//	$prescription, $export     buffer, with what the handler noted (the
//	                           resource, the patient, the query)
//	a failure (4xx, 5xx)       the middleware records it, outcome 4 or 8
//	                           (a failed write's transaction left nothing)
//	401                        not recorded: no one to name (counted in the
//	                           access log and metrics)
//
// Bundles record one AuditEvent per entry (bundle.go): in the transaction
// for a transaction Bundle and for a batch's write entries, buffered for a
// batch's reads and failed entries. A Bundle refused as a whole records one
// failure. AuditEvents themselves are read and searched like any resource
// (and those reads are audited), but clients cannot write them (405:
// checkWritable).

// auditType is the resource type of the audit trail.
const auditType = "AuditEvent"

// auditSearchParams are the parameters the stores answer on AuditEvent
// (adapter/internal/sqlstore/audit.go).
var auditSearchParams = []string{"_id", "agent", "entity", "patient", "date", "action", "outcome", "subtype"}

// ctxAudit is the echo.Context key of a request's *auditNote.
const ctxAudit = "socialrx.audit"

// auditNote is what a handler tells the audit middleware about its request.
type auditNote struct {
	subtype   string // overrides the route's (Bundles: transaction or batch)
	entity    string // "Type/id"
	version   int64
	patient   string
	read      []byte // the body read, to find the patient in
	queryType string
	query     string
	operation string
	written   bool // recorded already (in the transaction, or per entry)
}

// noteOf returns the request's audit note; a throwaway one when the route
// is not audited, so handlers need not check.
func noteOf(c echo.Context) *auditNote {
	if n, ok := c.Get(ctxAudit).(*auditNote); ok {
		return n
	}
	return &auditNote{}
}

// auditor returns the Auditor, nil when auditing is off.
func (s *Server) auditor() *workflow.Auditor { return s.wf.Auditor() }

// auditRoute is the per-route audit middleware (see the top of this file).
// It runs outside authorize, so that a 403 is recorded with its principal.
func (s *Server) auditRoute(subtype string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if s.auditor() == nil || subtype == "" {
			return next
		}
		return func(c echo.Context) error {
			n := &auditNote{}
			c.Set(ctxAudit, n)
			err := next(c)
			if n.written && err == nil {
				return nil
			}
			status := c.Response().Status
			if err != nil {
				status = ErrorStatus(normalize(err))
			}
			if status == http.StatusUnauthorized {
				return err
			}
			st := subtype
			if n.subtype != "" {
				st = n.subtype
			}
			ev := s.auditEvent(c, st)
			ev.Entity, ev.Version, ev.Patient, ev.Read = n.entity, n.version, n.patient, n.read
			ev.QueryType, ev.Query, ev.Operation = n.queryType, n.query, n.operation
			if ev.Entity == "" && ev.QueryType == "" {
				if typ, id := c.Param("type"), c.Param("id"); id != "" && typ != "" {
					ev.Entity = typ + "/" + id
				}
			}
			ev.Outcome, ev.OutcomeDesc = auditOutcome(status, err)
			s.auditor().Record(c.Request().Context(), ev)
			return err
		}
	}
}

// auditOutcome is the outcome of a request that ended with status and
// err; the description is the error's message (never PHI; a generic one
// for internal errors).
func auditOutcome(status int, err error) (socialrx.AuditOutcome, string) {
	out := socialrx.AuditOutcomeOf(status)
	if err == nil {
		return out, ""
	}
	err = normalize(err)
	if socialrx.ErrorCode(err) == socialrx.EINTERNAL {
		return out, "internal error"
	}
	return out, socialrx.TruncateReason(socialrx.ErrorMessage(err))
}

// auditEvent starts the AuditEvent of request c: who (the principal's
// client id, the peer address), the interaction and the request id.
func (s *Server) auditEvent(c echo.Context, subtype string) socialrx.AuditEvent {
	r := c.Request()
	ev := socialrx.AuditEvent{
		Kind:      socialrx.AuditREST,
		Subtype:   subtype,
		Action:    socialrx.AuditActionOf(subtype),
		ClientID:  socialrx.PrincipalFrom(r.Context()).ClientID,
		RequestID: requestIDOf(c),
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ev.Address = host
	}
	return ev
}

// auditWrite appends, in tx, the AuditEvent of a write that produced res
// (nil: a delete of nothing) on typ/id.
func (s *Server) auditWrite(ctx context.Context, c echo.Context, tx *workflow.Tx, subtype, typ, id string, res *socialrx.Resource) error {
	if s.auditor() == nil {
		return nil
	}
	ev := s.auditEvent(c, subtype)
	ev.Outcome = socialrx.AuditSuccess
	ev.Entity = typ + "/" + id
	if res != nil {
		ev.Version = res.VersionID
		if !res.Deleted {
			ev.Read = res.Body
		}
	}
	return tx.Audit(ctx, ev)
}

// checkWritable refuses writes of AuditEvent: the audit trail is written by
// socialrx only (405).
func checkWritable(typ string) error {
	if typ == auditType {
		return errorf(socialrx.ENOTALLOWED, "AuditEvents are recorded by socialrx only: they cannot be created, updated or deleted")
	}
	return nil
}

// queryPatient returns "Patient/id" when a search of typ names one patient
// (patient=, subject=Patient/..., or Patient?_id=), for the AuditEvent's
// patient entity.
func queryPatient(typ string, params url.Values) string {
	one := func(name string) string {
		v := params[name]
		if len(v) != 1 || strings.Contains(v[0], ",") {
			return ""
		}
		return v[0]
	}
	if typ == "Patient" {
		if id := one("_id"); id != "" {
			return "Patient/" + id
		}
		return ""
	}
	if v := one("patient"); v != "" {
		v = strings.TrimPrefix(v, "Patient/")
		if !strings.Contains(v, "/") {
			return "Patient/" + v
		}
	}
	if v := one("subject"); strings.HasPrefix(v, "Patient/") && strings.Count(v, "/") == 1 {
		return v
	}
	return ""
}

// auditCapability limits the CapabilityStatement entry of AuditEvent to
// what clients may do: read, vread and search by the parameters the store
// answers.
func auditCapability(res *capResource) {
	res.Interaction = slices.DeleteFunc(slices.Clone(res.Interaction), func(i capInteraction) bool {
		return i.Code != "read" && i.Code != "vread" && i.Code != "search-type"
	})
	res.UpdateCreate, res.ConditionalCreate, res.ConditionalUpdate = false, false, false
	res.SearchParam = slices.DeleteFunc(res.SearchParam, func(p capSearchParam) bool {
		return !slices.Contains(auditSearchParams, p.Name)
	})
	res.SearchInclude, res.SearchRevInclude = nil, nil
}

// auditOp returns the AuditEvent of one Bundle entry that ended with
// status and err.
func (s *Server) auditOp(c echo.Context, o *op, status int, err error) socialrx.AuditEvent {
	subtype := map[opKind]string{opRead: "read", opVRead: "vread", opSearch: "search-type", opCreate: "create", opUpdate: "update", opDelete: "delete", opPatch: "patch"}[o.kind]
	ev := s.auditEvent(c, subtype)
	ev.Outcome, ev.OutcomeDesc = auditOutcome(status, err)
	switch {
	case o.kind == opSearch:
		ev.QueryType, ev.Query = o.typ, o.cond.Encode()
		ev.Patient = queryPatient(o.typ, o.cond)
	case o.res != nil:
		ev.Entity, ev.Version = o.res.Type+"/"+o.res.ID, o.res.VersionID
		if !o.res.Deleted {
			ev.Read = o.res.Body
		}
	case o.target != "":
		ev.Entity = o.typ + "/" + o.target
	case o.id != "":
		ev.Entity = o.typ + "/" + o.id
	case o.kind == opDelete && o.cond != nil: // a conditional delete that matched nothing
		ev.QueryType, ev.Query = o.typ, o.cond.Encode()
		ev.Patient = queryPatient(o.typ, o.cond)
	}
	return ev
}
