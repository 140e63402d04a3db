package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir/search"
)

// The audit trail lives in table audit_events (migration 00006_audit), not
// in resources: an AuditEvent is one narrow row (socialrx.AuditRecord),
// appended and never changed. Read and Search of type AuditEvent are
// answered from it (auditType); the resource tables never hold one.

// auditType is the resource type kept in audit_events.
const auditType = "AuditEvent"

// auditChunk is the most records one INSERT statement carries (9
// parameters each). A batch is cut into chunks of 64, 32, ... 1 records,
// so that a handful of statement texts cover every batch size and the
// stores' statement caches keep them compiled (SQLite compiles every new
// text: that was 12% of the CPU of an audited read). SQLite gets ?
// placeholders: it looks a $n up by name, for each parameter, in a list
// as long as the statement's (14% of the audit writer's CPU at 64 rows).
const auditChunk = 64

// AppendAudit appends records (see socialrx.AuditTx).
func (tx *Tx) AppendAudit(ctx context.Context, records []socialrx.AuditRecord) error {
	if tx.done {
		return errTxDone
	}
	inserts := auditInserts[tx.e.d.Name == "sqlite"]
	for len(records) > 0 {
		n := auditChunk
		for n > len(records) {
			n /= 2
		}
		if _, err := tx.q.Exec(ctx, inserts[n], auditArgs(records[:n])...); err != nil {
			return fmt.Errorf("append audit: %w", tx.e.translate(err))
		}
		records = records[n:]
	}
	return nil
}

// auditInserts are the INSERT statements of 1, 2, 4, ... auditChunk rows,
// with ? placeholders (true: SQLite) or $n (PostgreSQL).
var auditInserts = map[bool]map[int]string{false: auditStatements(false), true: auditStatements(true)}

// On SQLite the statement is INSERT OR FAIL: a multi-row INSERT that may
// abort (the default, OR ABORT) makes SQLite keep a statement journal, a
// copy of every existing page the statement touches, to undo the rows it
// already inserted; with OR FAIL a refused row stops the statement and
// leaves the earlier rows, which costs nothing here, as any error fails
// the whole AppendAudit and its transaction is rolled back (the Auditor
// then writes the events one by one).
func auditStatements(question bool) map[int]string {
	out := map[int]string{}
	for n := 1; n <= auditChunk; n *= 2 {
		var sb strings.Builder
		if question {
			sb.WriteString(`INSERT OR FAIL INTO`)
		} else {
			sb.WriteString(`INSERT INTO`)
		}
		sb.WriteString(` audit_events (id, recorded, agent, entity, patient, subtype, action, outcome, body) VALUES `)
		for i := range n {
			if i > 0 {
				sb.WriteByte(',')
			}
			if question {
				sb.WriteString("(?,?,?,?,?,?,?,?,?)")
				continue
			}
			b := i * 9
			fmt.Fprintf(&sb, "($%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d)", b+1, b+2, b+3, b+4, b+5, b+6, b+7, b+8, b+9)
		}
		out[n] = sb.String()
	}
	return out
}

func auditArgs(records []socialrx.AuditRecord) []any {
	args := make([]any, 0, len(records)*9)
	for _, r := range records {
		args = append(args, r.ID, toMicros(r.Recorded), r.Agent, r.Entity, r.Patient, r.Subtype, string(r.Action), string(r.Outcome), string(r.Body))
	}
	return args
}

// readAudit reads one AuditEvent.
func (e *Engine) readAudit(ctx context.Context, q Querier, id string) (*socialrx.Resource, error) {
	var seq int64
	var rec socialrx.AuditRecord
	if err := scanAudit(q.QueryRow(ctx, `SELECT `+auditSelect+` FROM audit_events WHERE id = $1`, id), &seq, &rec); err != nil {
		err = e.translate(err)
		if socialrx.ErrorCode(err) == socialrx.ENOTFOUND {
			return nil, socialrx.Errorf(socialrx.ENOTFOUND, "%s/%s not found", auditType, id)
		}
		return nil, fmt.Errorf("read %s/%s: %w", auditType, id, err)
	}
	return e.auditResource(rec)
}

// auditSelect are the columns scanAudit reads.
const auditSelect = `seq, id, recorded, agent, entity, patient, subtype, action, outcome, body`

// scanAudit reads a row of auditSelect.
func scanAudit(row interface{ Scan(...any) error }, seq *int64, rec *socialrx.AuditRecord) error {
	var recorded int64
	var action, outcome string
	if err := row.Scan(seq, &rec.ID, &recorded, &rec.Agent, &rec.Entity, &rec.Patient, &rec.Subtype, &action, &outcome, &rec.Body); err != nil {
		return err
	}
	rec.Recorded, rec.Action, rec.Outcome = fromMicros(recorded), socialrx.AuditAction(action), socialrx.AuditOutcome(outcome)
	return nil
}

// auditResource is the AuditEvent of a stored record: its body built by
// Options.AuditBody (the record's body as stored when nil).
func (e *Engine) auditResource(rec socialrx.AuditRecord) (*socialrx.Resource, error) {
	r := &socialrx.Resource{Type: auditType, ID: rec.ID, VersionID: 1, LastUpdated: rec.Recorded, Body: rec.Body}
	if e.opts.AuditBody != nil {
		body, err := e.opts.AuditBody(rec)
		if err != nil {
			return nil, err
		}
		r.Body = body
	}
	return r, nil
}

// auditColumns are the token parameters answered from a column.
var auditColumns = map[string]string{"action": "action", "outcome": "outcome", "subtype": "subtype"}

// searchAudit runs a search of AuditEvent on audit_events: _id, agent,
// entity (the resource or the patient entity), patient, date (recorded,
// with prefixes), action, outcome, subtype; _count, _sort (date or -date,
// by recording order; default newest first), _total, and the store's own
// _cursor. Other parameters are ignored with a warning, or refused when
// strict, as the engine does; modifiers and chains are refused.
func (e *Engine) searchAudit(ctx context.Context, q Querier, query *search.Query, strict bool) (*socialrx.SearchResult, error) {
	res := &socialrx.SearchResult{Self: copyValues(query.Used)}
	for _, is := range query.Ignored {
		res.Ignored = append(res.Ignored, socialrx.Issue(is))
	}
	refused := func(name, format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		return &socialrx.Error{Code: socialrx.EINVALID, Message: msg, Issues: []socialrx.Issue{{
			Severity: socialrx.SeverityError, Code: "not-supported", Path: name, Message: msg,
		}}}
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	for _, cl := range query.Clauses {
		name := cl.Param.Name
		if cl.Chain != nil || cl.Modifier != "" {
			return nil, refused(name, "AuditEvent search supports no modifiers or chains (%s)", name)
		}
		var or []string
		for _, v := range cl.Values {
			switch name {
			case "_id":
				or = append(or, "id = "+arg(v.Code))
			case "agent", "patient", "entity":
				typ := v.RefType
				if typ == "" && name == "agent" {
					typ = "Device"
				}
				if typ == "" || v.RefID == "" {
					return nil, refused(name, "AuditEvent %s takes a reference Type/id", name)
				}
				ref := typ + "/" + v.RefID
				switch name {
				case "agent":
					or = append(or, "agent = "+arg(ref))
				case "patient":
					or = append(or, "patient = "+arg(ref))
				default:
					p := arg(ref)
					or = append(or, "entity = "+p+" OR patient = "+p)
				}
			case "date":
				c, ok := auditDate(v, arg)
				if !ok {
					return nil, refused(name, "date prefix %s is not supported on AuditEvent", v.Prefix)
				}
				or = append(or, c)
			case "action", "outcome", "subtype":
				or = append(or, auditColumns[name]+" = "+arg(v.Code))
			default:
				if strict {
					return nil, refused(name, "search parameter %s is not supported on AuditEvent (supported: _id, agent, entity, patient, date, action, outcome, subtype)", name)
				}
				res.Ignored = append(res.Ignored, socialrx.Issue{Severity: socialrx.SeverityWarning, Code: "not-supported", Path: name,
					Message: "search parameter " + name + " is not supported on AuditEvent; ignored"})
				delete(res.Self, name)
				or = nil
			}
		}
		if len(or) > 0 {
			where = append(where, "("+strings.Join(or, " OR ")+")")
		}
	}
	if len(query.Include) > 0 || len(query.RevInclude) > 0 {
		res.Ignored = append(res.Ignored, socialrx.Issue{Severity: socialrx.SeverityWarning, Code: "not-supported", Path: "_include",
			Message: "_include and _revinclude are not supported on AuditEvent; ignored"})
	}
	asc := false
	for _, k := range query.Sort {
		if k.Param.Name != "date" && k.Param.Name != "_lastUpdated" {
			return nil, refused("_sort", "AuditEvent sorts by date only")
		}
		asc = !k.Descending
	}
	count := query.Count
	if count <= 0 {
		count = e.opts.DefaultCount
	}
	count = min(count, e.opts.MaxCount)

	cond := "1 = 1"
	if len(where) > 0 {
		cond = strings.Join(where, " AND ")
	}
	res.Total = -1
	if query.Total != "none" {
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM audit_events WHERE `+cond, args...).Scan(&res.Total); err != nil {
			return nil, fmt.Errorf("search %s: %w", auditType, e.translate(err))
		}
	}
	if query.Summary == "count" {
		return res, nil
	}
	page, order := cond, "seq DESC"
	if asc {
		order = "seq ASC"
	}
	if query.Cursor != "" {
		after, err := strconv.ParseInt(query.Cursor, 10, 64)
		if err != nil {
			return nil, refused("_cursor", "invalid _cursor")
		}
		if asc {
			page += " AND seq > " + arg(after)
		} else {
			page += " AND seq < " + arg(after)
		}
	}
	rows, err := q.Query(ctx, `SELECT `+auditSelect+` FROM audit_events WHERE `+page+` ORDER BY `+order+` LIMIT `+arg(count+1), args...)
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", auditType, e.translate(err))
	}
	defer rows.Close()
	var last int64
	for rows.Next() {
		var seq int64
		var rec socialrx.AuditRecord
		if err := scanAudit(rows, &seq, &rec); err != nil {
			return nil, fmt.Errorf("search %s: %w", auditType, e.translate(err))
		}
		if len(res.Matches) == count {
			res.Next = copyValues(res.Self)
			res.Next.Set("_cursor", strconv.FormatInt(last, 10))
			break
		}
		r, err := e.auditResource(rec)
		if err != nil {
			return nil, err
		}
		res.Matches = append(res.Matches, *r)
		last = seq
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search %s: %w", auditType, e.translate(err))
	}
	return res, nil
}

// auditDate is the condition on recorded of one date value: the event's
// instant compared with the range the value covers (FHIR R4 3.1.1.4.2).
func auditDate(v search.Value, arg func(any) string) (string, bool) {
	lo, hi := toMicros(v.Low), toMicros(v.High)
	if v.High.IsZero() {
		hi = lo
	}
	switch v.Prefix {
	case "eq", "ap", "":
		return "(recorded >= " + arg(lo) + " AND recorded <= " + arg(hi) + ")", true
	case "ne":
		return "(recorded < " + arg(lo) + " OR recorded > " + arg(hi) + ")", true
	case "gt", "sa":
		return "recorded > " + arg(hi), true
	case "ge":
		return "recorded >= " + arg(lo), true
	case "lt", "eb":
		return "recorded < " + arg(lo), true
	case "le":
		return "recorded <= " + arg(hi), true
	}
	return "", false
}
