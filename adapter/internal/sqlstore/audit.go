package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir/search"
)

// The audit trail lives in table audit_events (migration 00006_audit), not
// in resources: an AuditEvent is one narrow row (socialrx.AuditRecord),
// appended and never changed. Read and Search of type AuditEvent are
// answered from it (auditType), and from the driver's audit log when it has
// one (AuditLogDriver: SQLite's <file>.audit, where the buffered events
// go); the resource tables never hold one.

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
	if err := tx.e.insertAudit(ctx, tx.q, records); err != nil {
		return fmt.Errorf("append audit: %w", tx.e.translate(err))
	}
	return nil
}

// insertAudit inserts records into audit_events with q (deferred where q
// can: Deferrer; the ids are the Auditor's UUIDv7s).
func (e *Engine) insertAudit(ctx context.Context, q Querier, records []socialrx.AuditRecord) error {
	if d, ok := q.(Deferrer); ok {
		q = deferring{q, d}
	}
	return InsertAudit(ctx, q, "audit_events", e.d.Name == "sqlite", records)
}

// deferring is a Querier whose Exec defers (rows affected: 0).
type deferring struct {
	Querier
	d Deferrer
}

func (q deferring) Exec(_ context.Context, sql string, args ...any) (int64, error) {
	q.d.Defer(sql, args...)
	return 0, nil
}

// InsertAudit inserts records into table (audit_events, or a table of the
// same columns) with q, in chunks of 64, 32, ... 1 rows; question: with ?
// placeholders (SQLite), else $n.
func InsertAudit(ctx context.Context, q Querier, table string, question bool, records []socialrx.AuditRecord) error {
	inserts := auditInserts[question]
	for len(records) > 0 {
		n := auditChunk
		for n > len(records) {
			n /= 2
		}
		stmt := inserts[n]
		if table != "audit_events" {
			stmt = strings.Replace(stmt, " audit_events ", " "+table+" ", 1)
		}
		if _, err := q.Exec(ctx, stmt, auditArgs(records[:n])...); err != nil {
			return err
		}
		records = records[n:]
	}
	return nil
}

// AuditLogDriver is a Driver whose audit log database (SQLite's
// <file>.audit, where the buffered audit trail went before it was kept in
// blocks) holds records to read and search as well: the tables of
// audit_events, no longer written.
type AuditLogDriver interface {
	// AuditLogReader runs reads on the audit log database.
	AuditLogReader() Querier
	// AuditLogFrom is the FROM item, in the audit log database, of its
	// records: the columns of audit_events, seq increasing with each
	// append across the whole log.
	AuditLogFrom() string
}

// auditLog returns the driver's audit log, nil when it has none.
func (e *Engine) auditLog() AuditLogDriver {
	l, _ := e.drv.(AuditLogDriver)
	return l
}

// AppendAuditLog appends buffered records (see socialrx.AuditLog): as
// blocks when the driver keeps them (AuditBlockDriver: both stores; SQLite
// in its audit log file), else in a transaction of their own.
func (e *Engine) AppendAuditLog(ctx context.Context, records []socialrx.AuditRecord) error {
	if len(records) == 0 {
		return nil
	}
	if b := e.auditBlocks(); b != nil {
		if err := e.appendAuditBlocks(ctx, b, records); err != nil {
			return fmt.Errorf("append audit log: %w", e.translate(err))
		}
		return nil
	}
	return e.Transact(ctx, func(tx socialrx.Tx) error { return tx.AppendAudit(ctx, records) })
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
	return multiInserts("audit_events (id, recorded, agent, entity, patient, subtype, action, outcome, body)", 9, auditChunk, question)
}

// multiInserts returns the INSERT statements of 1, 2, 4, ... max rows of
// cols columns into into ("table (col, ...)"): INSERT OR FAIL with ?
// placeholders when question (SQLite, see auditStatements), else INSERT
// with $n.
func multiInserts(into string, cols, max int, question bool) map[int]string {
	out := map[int]string{}
	for n := 1; n <= max; n *= 2 {
		var sb strings.Builder
		if question {
			sb.WriteString(`INSERT OR FAIL INTO `)
		} else {
			sb.WriteString(`INSERT INTO `)
		}
		sb.WriteString(into + ` VALUES `)
		for i := range n {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteByte('(')
			for c := range cols {
				if c > 0 {
					sb.WriteByte(',')
				}
				if question {
					sb.WriteByte('?')
				} else {
					sb.WriteString("$" + strconv.Itoa(i*cols+c+1))
				}
			}
			sb.WriteByte(')')
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
	err := e.translate(scanAudit(q.QueryRow(ctx, KeyLookup+`SELECT `+auditSelect+` FROM audit_events WHERE id = $1`, id), &seq, &rec))
	if b := e.auditBlocks(); b != nil && socialrx.ErrorCode(err) == socialrx.ENOTFOUND {
		// Not a write's: a buffered event's, in a block.
		found, ok, berr := readAuditBlock(ctx, b.AuditBlockReader(), id)
		switch {
		case berr != nil:
			err = e.translate(berr)
		case ok:
			rec, err = found, nil
		}
	}
	if l := e.auditLog(); l != nil && socialrx.ErrorCode(err) == socialrx.ENOTFOUND {
		// A buffered event appended before the blocks, in the audit log.
		err = e.translate(scanAudit(l.AuditLogReader().QueryRow(ctx, `SELECT `+auditSelect+` FROM `+l.AuditLogFrom()+` WHERE id = $1`, id), &seq, &rec))
	}
	if err != nil {
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

// searchAudit runs a search of AuditEvent on audit_events (and the
// driver's audit log): _id, agent, entity (the resource or the patient
// entity), patient, date (recorded, with prefixes), action, outcome,
// subtype; _count, _sort (date or -date, by the time recorded, then source
// and seq; default newest first), _total, and the store's own _cursor.
// Other parameters are ignored with a warning, or refused when strict, as
// the engine does; modifiers and chains are refused.
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
	var bs auditBlockSearch // the same query, of the blocks
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
			bs.addClause(name, cl.Values)
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
	// The places AuditEvents are kept: audit_events of the main database
	// (source 0: the writes' own, in their transactions) and, when the
	// driver has one, the audit log's (source 1: the buffered ones). Pages
	// are in the order of (recorded, source, seq), merged here; the
	// cursor is the last key of a page.
	type source struct {
		q    Querier
		from string
	}
	srcs := []source{{q, "audit_events"}}
	if l := e.auditLog(); l != nil {
		srcs = append(srcs, source{l.AuditLogReader(), l.AuditLogFrom()})
	}
	var after *auditKey
	if query.Cursor != "" {
		k, ok := parseAuditCursor(query.Cursor)
		if !ok {
			return nil, refused("_cursor", "invalid _cursor")
		}
		after = &k
	}
	res.Total = -1
	wantTotal := query.Total != "none"
	if wantTotal {
		res.Total = 0
		for _, sq := range srcs {
			var n int
			if err := sq.q.QueryRow(ctx, `SELECT COUNT(*) FROM `+sq.from+` WHERE `+cond, args...).Scan(&n); err != nil {
				return nil, fmt.Errorf("search %s: %w", auditType, e.translate(err))
			}
			res.Total += n
		}
	}
	// The blocks (source 2): their rows of the page, and their total.
	var page []auditRow
	if b := e.auditBlocks(); b != nil {
		limit := count + 1
		if query.Summary == "count" {
			limit = 0
		}
		rows, n, err := e.searchAuditBlocks(ctx, b.AuditBlockReader(), &bs, after, asc, limit, wantTotal)
		if err != nil {
			return nil, fmt.Errorf("search %s: %w", auditType, e.translate(err))
		}
		if wantTotal {
			res.Total += n
		}
		page = rows
	}
	if query.Summary == "count" {
		return res, nil
	}
	order := "recorded DESC, seq DESC"
	if asc {
		order = "recorded ASC, seq ASC"
	}
	for src, sq := range srcs {
		sargs := append([]any(nil), args...)
		sarg := func(v any) string {
			sargs = append(sargs, v)
			return "$" + strconv.Itoa(len(sargs))
		}
		scond := cond
		if after != nil {
			scond += " AND " + auditAfter(*after, src, asc, sarg)
		}
		rows, err := sq.q.Query(ctx, `SELECT `+auditSelect+` FROM `+sq.from+` WHERE `+scond+` ORDER BY `+order+` LIMIT `+sarg(count+1), sargs...)
		if err != nil {
			return nil, fmt.Errorf("search %s: %w", auditType, e.translate(err))
		}
		for rows.Next() {
			r := auditRow{key: auditKey{src: src}}
			if err := scanAudit(rows, &r.key.seq, &r.rec); err != nil {
				rows.Close()
				return nil, fmt.Errorf("search %s: %w", auditType, e.translate(err))
			}
			r.key.recorded = toMicros(r.rec.Recorded)
			page = append(page, r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("search %s: %w", auditType, e.translate(err))
		}
	}
	slices.SortFunc(page, func(a, b auditRow) int {
		if asc {
			return a.key.compare(b.key)
		}
		return b.key.compare(a.key)
	})
	if len(page) > count {
		res.Next = copyValues(res.Self)
		res.Next.Set("_cursor", page[count-1].key.String())
		page = page[:count]
	}
	for _, row := range page {
		r, err := e.auditResource(row.rec)
		if err != nil {
			return nil, err
		}
		res.Matches = append(res.Matches, *r)
	}
	return res, nil
}

// auditRow is a record found by a search, with its place in the order.
type auditRow struct {
	key auditKey
	rec socialrx.AuditRecord
}

// auditKey orders AuditEvents: by time recorded (unix microseconds), then
// source (0 the main database's audit_events, 1 SQLite's audit log tables
// of before the blocks, 2 the blocks), then seq in the source (in a block:
// block<<16 | the record's index).
type auditKey struct {
	recorded int64
	src      int
	seq      int64
}

func (k auditKey) compare(o auditKey) int {
	if c := cmp.Compare(k.recorded, o.recorded); c != 0 {
		return c
	}
	if c := cmp.Compare(k.src, o.src); c != 0 {
		return c
	}
	return cmp.Compare(k.seq, o.seq)
}

// String is the key as a _cursor: "recorded.source.seq".
func (k auditKey) String() string {
	return strconv.FormatInt(k.recorded, 10) + "." + strconv.Itoa(k.src) + "." + strconv.FormatInt(k.seq, 10)
}

// parseAuditCursor reads an auditKey.String.
func parseAuditCursor(s string) (auditKey, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return auditKey{}, false
	}
	r, err1 := strconv.ParseInt(parts[0], 10, 64)
	src, err2 := strconv.Atoi(parts[1])
	seq, err3 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || src < 0 || src > auditBlockSrc {
		return auditKey{}, false
	}
	return auditKey{recorded: r, src: src, seq: seq}, true
}

// auditAfter is the condition, on the rows of source src, of the keys
// after k in the page order (descending unless asc).
func auditAfter(k auditKey, src int, asc bool, arg func(any) string) string {
	r := arg(k.recorded)
	switch {
	case src == k.src:
		if asc {
			return "(recorded > " + r + " OR (recorded = " + r + " AND seq > " + arg(k.seq) + "))"
		}
		return "(recorded < " + r + " OR (recorded = " + r + " AND seq < " + arg(k.seq) + "))"
	case (src > k.src) == asc:
		// Same time, this source comes after the cursor's.
		if asc {
			return "recorded >= " + r
		}
		return "recorded <= " + r
	}
	if asc {
		return "recorded > " + r
	}
	return "recorded < " + r
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
