package sqlstore

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir/search"
)

// A search of AuditEvent in the blocks (auditblocks.go): candidate blocks
// are those without keys, and those with keys that have a key of every
// agent, entity, patient and _id clause (a value of each: OR within a
// clause, AND across); the date clauses and the cursor narrow both by the
// blocks' recorded range, _id by their id range. Candidates are visited
// newest first by max_recorded (oldest first by min_recorded for
// _sort=date), decoded, and every record is tested against the whole
// query in Go (auditBlockSearch.matches: the SQL's semantics); the visit
// stops once the page is full and no block left can hold a record before
// the page's last, unless the total must be counted by decoding.
//
// Totals: no clause, the sum of the blocks' n; one clause of one agent,
// entity or patient, the sum of its key's n over the blocks with keys plus
// the matches in the blocks without; anything else is counted by decoding
// every candidate (a date-only search decodes every block of its range).

// auditBlockSearch is what a search asks of the blocks.
type auditBlockSearch struct {
	match []func(*socialrx.AuditRecord) bool // one per clause: AND
	keys  [][]string                         // the key clauses: OR within
	ids   [][]string                         // the _id clauses
	dates [][]auditInterval                  // the date clauses that bound recorded
	// oneKey is the key of a query of one clause of one agent, entity or
	// patient value (its total is the sum of its key's n), "" otherwise.
	oneKey string
}

// auditInterval is a range of recorded (µs), each end open when nil.
type auditInterval struct{ lo, hi *int64 }

// matches reports whether rec matches every clause.
func (s *auditBlockSearch) matches(rec *socialrx.AuditRecord) bool {
	for _, m := range s.match {
		if !m(rec) {
			return false
		}
	}
	return true
}

// addClause adds the clause name with values (already checked by
// searchAudit) to s.
func (s *auditBlockSearch) addClause(name string, values []search.Value) {
	var ors []func(*socialrx.AuditRecord) bool
	var keys, ids []string
	var ivs []auditInterval
	bounded := true
	for _, v := range values {
		switch name {
		case "_id":
			id := v.Code
			ors = append(ors, func(r *socialrx.AuditRecord) bool { return r.ID == id })
			keys = append(keys, auditIDPrefix(id))
			ids = append(ids, id)
		case "agent", "patient", "entity":
			typ := v.RefType
			if typ == "" && name == "agent" {
				typ = "Device"
			}
			ref := typ + "/" + v.RefID
			switch name {
			case "agent":
				ors = append(ors, func(r *socialrx.AuditRecord) bool { return r.Agent == ref })
				keys = append(keys, "a|"+ref)
			case "patient":
				ors = append(ors, func(r *socialrx.AuditRecord) bool { return r.Patient == ref })
				keys = append(keys, "p|"+ref)
			default:
				ors = append(ors, func(r *socialrx.AuditRecord) bool { return r.Entity == ref || r.Patient == ref })
				keys = append(keys, "e|"+ref)
			}
		case "date":
			m, iv := auditDateMatch(v)
			ors = append(ors, m)
			if iv == nil {
				bounded = false
			} else {
				ivs = append(ivs, *iv)
			}
		case "action", "outcome", "subtype":
			code := v.Code
			ors = append(ors, func(r *socialrx.AuditRecord) bool {
				switch name {
				case "action":
					return string(r.Action) == code
				case "outcome":
					return string(r.Outcome) == code
				}
				return r.Subtype == code
			})
		}
	}
	if len(ors) == 0 {
		return
	}
	if len(s.match) == 0 && len(values) == 1 && (name == "agent" || name == "patient" || name == "entity") {
		s.oneKey = keys[0]
	} else {
		s.oneKey = ""
	}
	s.match = append(s.match, func(r *socialrx.AuditRecord) bool {
		for _, m := range ors {
			if m(r) {
				return true
			}
		}
		return false
	})
	if len(keys) > 0 {
		s.keys = append(s.keys, keys)
	}
	if len(ids) > 0 {
		s.ids = append(s.ids, ids)
	}
	if name == "date" && bounded {
		s.dates = append(s.dates, ivs)
	}
}

// auditDateMatch is auditDate in Go: the test of one date value, and the
// interval of recorded it accepts (nil for ne: two).
func auditDateMatch(v search.Value) (func(*socialrx.AuditRecord) bool, *auditInterval) {
	lo, hi := toMicros(v.Low), toMicros(v.High)
	if v.High.IsZero() {
		hi = lo
	}
	us := func(r *socialrx.AuditRecord) int64 { return r.Recorded.UnixMicro() }
	p := func(x int64) *int64 { return &x }
	switch v.Prefix {
	case "ne":
		return func(r *socialrx.AuditRecord) bool { return us(r) < lo || us(r) > hi }, nil
	case "gt", "sa":
		return func(r *socialrx.AuditRecord) bool { return us(r) > hi }, &auditInterval{lo: p(hi + 1)}
	case "ge":
		return func(r *socialrx.AuditRecord) bool { return us(r) >= lo }, &auditInterval{lo: p(lo)}
	case "lt", "eb":
		return func(r *socialrx.AuditRecord) bool { return us(r) < lo }, &auditInterval{hi: p(lo - 1)}
	case "le":
		return func(r *socialrx.AuditRecord) bool { return us(r) <= hi }, &auditInterval{hi: p(hi)}
	}
	// eq, ap, "" (others are refused by searchAudit before).
	return func(r *socialrx.AuditRecord) bool { return us(r) >= lo && us(r) <= hi }, &auditInterval{lo: p(lo), hi: p(hi)}
}

// auditBlockMeta is a candidate block.
type auditBlockMeta struct {
	block, n       int64
	minRec, maxRec int64
}

// common is the condition on the blocks of the date and _id clauses and
// of the cursor, with its arguments added by arg.
func (s *auditBlockSearch) common(after *auditKey, asc bool, arg func(any) string) string {
	conds := []string{"1 = 1"}
	for _, ivs := range s.dates {
		var or []string
		for _, iv := range ivs {
			var and []string
			if iv.lo != nil {
				and = append(and, "max_recorded >= "+arg(*iv.lo))
			}
			if iv.hi != nil {
				and = append(and, "min_recorded <= "+arg(*iv.hi))
			}
			or = append(or, "("+strings.Join(and, " AND ")+")")
		}
		conds = append(conds, "("+strings.Join(or, " OR ")+")")
	}
	for _, ids := range s.ids {
		var or []string
		for _, id := range ids {
			p := arg(id)
			or = append(or, "(min_id <= "+p+" AND max_id >= "+p+")")
		}
		conds = append(conds, "("+strings.Join(or, " OR ")+")")
	}
	if after != nil {
		if asc {
			conds = append(conds, "max_recorded >= "+arg(after.recorded))
		} else {
			conds = append(conds, "min_recorded <= "+arg(after.recorded))
		}
	}
	return strings.Join(conds, " AND ")
}

// searchAuditBlocks returns the records of the blocks that match s and
// come after the cursor after, in page order, at most limit of them
// (fewer only when there are no more), and their total when total (-1
// otherwise).
func (e *Engine) searchAuditBlocks(ctx context.Context, q Querier, s *auditBlockSearch, after *auditKey, asc bool, limit int, total bool) ([]auditRow, int, error) {
	var keyed int64
	if err := q.QueryRow(ctx, `SELECT keyed FROM audit_block_mark`).Scan(&keyed); err != nil {
		return nil, 0, err
	}
	cursor := after // the page's start (after is the blocks')
	n := -1
	count := false // count the total while decoding
	if total {
		switch {
		case len(s.match) == 0:
			if err := q.QueryRow(ctx, `SELECT COALESCE(SUM(n), 0) FROM audit_blocks`).Scan(&n); err != nil {
				return nil, 0, err
			}
		case s.oneKey != "":
			// The key's n, plus the matches of the blocks without keys
			// (counted below: every one of them is visited).
			if err := q.QueryRow(ctx, `SELECT COALESCE(SUM(n), 0) FROM audit_block_keys WHERE key = $1 AND block <= $2`, s.oneKey, keyed).Scan(&n); err != nil {
				return nil, 0, err
			}
		default:
			n, count = 0, true
		}
	}
	// Counting by decoding visits every candidate of the query, whatever
	// the cursor.
	if count {
		after = nil
	}
	// The blocks without keys: all of their candidates.
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	unkeyed, err := auditMetas(ctx, q, `SELECT block, n, min_recorded, max_recorded FROM audit_blocks WHERE block > `+arg(keyed)+` AND `+s.common(nil, asc, arg), args)
	if err != nil {
		return nil, 0, err
	}
	if total && s.oneKey != "" {
		// Count the matches of the blocks without keys (all of them: the
		// clause has no date and no _id).
		c, err := e.countAuditBlocks(ctx, q, s, unkeyed)
		if err != nil {
			return nil, 0, err
		}
		n += c
	}
	if after != nil {
		unkeyed = slices.DeleteFunc(unkeyed, func(m auditBlockMeta) bool {
			if asc {
				return m.maxRec < after.recorded
			}
			return m.minRec > after.recorded
		})
	}
	// The blocks with keys, a page at a time in visiting order.
	ord, cmpOp := "b.max_recorded DESC, b.block DESC", "<"
	if asc {
		ord, cmpOp = "b.min_recorded ASC, b.block ASC", ">"
	}
	byOrder := func(a, b auditBlockMeta) int {
		if asc {
			if a.minRec != b.minRec {
				return cmpInt(a.minRec, b.minRec)
			}
			return cmpInt(a.block, b.block)
		}
		if a.maxRec != b.maxRec {
			return cmpInt(b.maxRec, a.maxRec)
		}
		return cmpInt(b.block, a.block)
	}
	slices.SortFunc(unkeyed, byOrder)
	var page []auditBlockMeta
	var last *auditBlockMeta
	done := false
	nextPage := func() error {
		args = args[:0]
		from := "audit_blocks b"
		cond := "b.block <= " + arg(keyed) + " AND " + s.common(after, asc, arg)
		if len(s.keys) > 0 {
			// The groups with a key of each clause, and their blocks.
			// CROSS JOIN: SQLite takes the groups first (from their
			// keys), then their blocks by rowid.
			from = "audit_block_groups g CROSS JOIN audit_blocks b"
			cond += " AND b.block BETWEEN g.first AND g.last"
			for _, keys := range s.keys {
				var in []string
				for _, k := range keys {
					in = append(in, arg(k))
				}
				cond += " AND g.last IN (SELECT block FROM audit_block_keys WHERE key IN (" + strings.Join(in, ", ") + "))"
			}
		}
		if last != nil {
			col := "b.max_recorded"
			r := last.maxRec
			if asc {
				col, r = "b.min_recorded", last.minRec
			}
			pr := arg(r)
			cond += " AND (" + col + " " + cmpOp + " " + pr + " OR (" + col + " = " + pr + " AND b.block " + cmpOp + " " + arg(last.block) + "))"
		}
		const size = 256
		metas, err := auditMetas(ctx, q, `SELECT b.block, b.n, b.min_recorded, b.max_recorded FROM `+from+` WHERE `+cond+` ORDER BY `+ord+` LIMIT `+strconv.Itoa(size), args)
		if err != nil {
			return err
		}
		if len(metas) < size {
			done = true
		}
		if len(metas) > 0 {
			last = &metas[len(metas)-1]
		}
		page = metas
		return nil
	}
	if err := nextPage(); err != nil {
		return nil, 0, err
	}
	// next is the next block to visit of both lists, ok false at the end.
	next := func() (auditBlockMeta, bool, error) {
		if len(page) == 0 && !done {
			if err := nextPage(); err != nil {
				return auditBlockMeta{}, false, err
			}
		}
		switch {
		case len(page) == 0 && len(unkeyed) == 0:
			return auditBlockMeta{}, false, nil
		case len(page) == 0 || len(unkeyed) > 0 && byOrder(unkeyed[0], page[0]) < 0:
			m := unkeyed[0]
			unkeyed = unkeyed[1:]
			return m, true, nil
		}
		m := page[0]
		page = page[1:]
		return m, true, nil
	}
	var rows []auditRow
	// beyond reports whether no record of m can come before the last row
	// the page keeps (when it is full).
	beyond := func(m auditBlockMeta) bool {
		if limit == 0 {
			return true
		}
		if len(rows) < limit {
			return false
		}
		w := rows[limit-1].key.recorded
		if asc {
			return m.minRec > w
		}
		return m.maxRec < w
	}
	const group = 8
	for {
		var metas []auditBlockMeta
		for len(metas) < group {
			m, ok, err := next()
			if err != nil {
				return nil, 0, err
			}
			if !ok {
				break
			}
			if !count && beyond(m) {
				break
			}
			metas = append(metas, m)
		}
		if len(metas) == 0 {
			break
		}
		stop := len(metas) < group
		err := e.decodeAuditBlocks(ctx, q, metas, func(block int64, i int, rec *socialrx.AuditRecord) {
			if !s.matches(rec) {
				return
			}
			if count {
				n++
			}
			k := auditKey{recorded: rec.Recorded.UnixMicro(), src: auditBlockSrc, seq: block<<16 | int64(i)}
			if cursor != nil && (asc && k.compare(*cursor) <= 0 || !asc && k.compare(*cursor) >= 0) {
				return
			}
			rows = append(rows, auditRow{key: k, rec: *rec})
		})
		if err != nil {
			return nil, 0, err
		}
		slices.SortFunc(rows, func(a, b auditRow) int {
			if asc {
				return a.key.compare(b.key)
			}
			return b.key.compare(a.key)
		})
		if len(rows) > limit {
			rows = rows[:limit]
		}
		if stop && !count {
			break
		}
	}
	return rows, n, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// auditMetas runs a query of (block, n, min_recorded, max_recorded).
func auditMetas(ctx context.Context, q Querier, sql string, args []any) ([]auditBlockMeta, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auditBlockMeta
	for rows.Next() {
		var m auditBlockMeta
		if err := rows.Scan(&m.block, &m.n, &m.minRec, &m.maxRec); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// decodeAuditBlocks reads and decodes the blocks of metas, calling fn with
// each record, its block and its index in it (rec is reused).
func (e *Engine) decodeAuditBlocks(ctx context.Context, q Querier, metas []auditBlockMeta, fn func(block int64, i int, rec *socialrx.AuditRecord)) error {
	for len(metas) > 0 {
		g := metas[:min(len(metas), 64)]
		metas = metas[len(g):]
		var args []any
		var in []string
		for _, m := range g {
			args = append(args, m.block)
			in = append(in, "$"+strconv.Itoa(len(args)))
		}
		all := func(block int64, i int, rec *socialrx.AuditRecord) bool { fn(block, i, rec); return true }
		if err := eachBlockRecord(ctx, q, `SELECT block, data FROM audit_blocks WHERE block IN (`+strings.Join(in, ", ")+`)`, args, all); err != nil {
			return err
		}
	}
	return nil
}

// countAuditBlocks counts the records of metas that match s.
func (e *Engine) countAuditBlocks(ctx context.Context, q Querier, s *auditBlockSearch, metas []auditBlockMeta) (int, error) {
	n := 0
	err := e.decodeAuditBlocks(ctx, q, metas, func(_ int64, _ int, rec *socialrx.AuditRecord) {
		if s.matches(rec) {
			n++
		}
	})
	return n, err
}
