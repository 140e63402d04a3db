package sqlstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/fhir/search"
)

// search parses req and runs it on q.
func (e *Engine) search(ctx context.Context, q Querier, req socialrx.SearchRequest) (*socialrx.SearchResult, error) {
	query, issues := e.opts.ParseQuery(req.Type, req.Params, req.Strict)
	if fhir.HasErrors(issues) || query == nil {
		err := &socialrx.Error{Code: socialrx.EINVALID, Message: "invalid search"}
		for _, is := range issues {
			err.Issues = append(err.Issues, socialrx.Issue(is))
		}
		return nil, fmt.Errorf("search %s: %w", req.Type, err)
	}
	if req.Type == auditType {
		return e.searchAudit(ctx, q, query, req.Strict)
	}
	var res *socialrx.SearchResult
	var err error
	if req.Match {
		res, err = e.match(ctx, q, query)
	} else {
		res, err = e.Query(ctx, q, query)
	}
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", req.Type, err)
	}
	return res, nil
}

// match runs a conditional operation's search (SearchRequest.Match): the
// first two matches the database finds, without the snapshot, order,
// count and keyset of a page. On PostgreSQL, which plans every search for
// its parameters (reads go as unnamed statements: adapter/postgres
// planned), planning the page query cost several times its execution;
// this one is cheaper to plan and to run (docs/performance.md, issue 12).
func (e *Engine) match(ctx context.Context, q Querier, query *search.Query) (*socialrx.SearchResult, error) {
	b := &builder{now: e.opts.Now()}
	where, err := b.where(query.Type, query.Clauses)
	if err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, "SELECT r.type, r.id, r.version, r.last_updated, r.body FROM resources r WHERE "+where+" LIMIT 2", b.args...)
	if err != nil {
		return nil, e.translate(err)
	}
	defer rows.Close()
	res := &socialrx.SearchResult{Self: copyValues(query.Used), Total: -1}
	for _, is := range query.Ignored {
		res.Ignored = append(res.Ignored, socialrx.Issue(is))
	}
	for rows.Next() {
		var r socialrx.Resource
		var lu int64
		if err := rows.Scan(&r.Type, &r.ID, &r.VersionID, &lu, &r.Body); err != nil {
			return nil, e.translate(err)
		}
		r.LastUpdated = fromMicros(lu)
		res.Matches = append(res.Matches, r)
	}
	if err := rows.Err(); err != nil {
		return nil, e.translate(err)
	}
	return res, nil
}

// matchMany runs the Match searches reqs with one statement (see
// socialrx.MatchManyTx): each a branch of a UNION ALL, limited to two rows
// by a subquery of its own (SQLite limits a compound as a whole), tagged
// with its place; where the dialect has MatchTokens, the conditions that
// are one token system|code each are all its first branch.
func (e *Engine) matchMany(ctx context.Context, q Querier, reqs []socialrx.SearchRequest) ([]*socialrx.SearchResult, error) {
	out := make([]*socialrx.SearchResult, len(reqs))
	queries := make([]*search.Query, len(reqs))
	var tokens *tokenMatches // the conditions the dialect's MatchTokens answers
	inTokens := make([]bool, len(reqs))
	for i, req := range reqs {
		if !req.Match || req.Type == auditType {
			continue
		}
		query, issues := e.opts.ParseQuery(req.Type, req.Params, req.Strict)
		if fhir.HasErrors(issues) || query == nil {
			continue
		}
		queries[i] = query
		if e.d.MatchTokens != "" {
			if param, system, code, ok := oneToken(query); ok {
				if tokens == nil {
					tokens = &tokenMatches{}
				}
				tokens.add(i, query.Type, param, system, code)
				inTokens[i] = true
			}
		}
	}
	b := &builder{now: e.opts.Now()}
	var sql strings.Builder
	branches := 0
	if tokens != nil {
		// MatchTokens' arrays are $1 to $5; the other branches' arguments follow.
		b.args = tokens.args()
		sql.WriteString(e.d.MatchTokens)
		branches++
	}
	for i, query := range queries {
		if query == nil || inTokens[i] {
			continue
		}
		mark := len(b.args)
		where, err := b.where(query.Type, query.Clauses)
		if err != nil {
			b.args = b.args[:mark] // Search reports it
			queries[i] = nil
			continue
		}
		if branches > 0 {
			sql.WriteString(" UNION ALL ")
		}
		fmt.Fprintf(&sql, "SELECT * FROM (SELECT %d AS q, r.type, r.id, r.version, r.last_updated, r.body FROM resources r WHERE %s LIMIT 2) AS m%d", i, where, i)
		branches++
	}
	for i, query := range queries {
		if query == nil {
			continue
		}
		res := &socialrx.SearchResult{Self: copyValues(query.Used), Total: -1}
		for _, is := range query.Ignored {
			res.Ignored = append(res.Ignored, socialrx.Issue(is))
		}
		out[i] = res
	}
	if branches == 0 {
		return out, nil
	}
	query := sql.String()
	if branches == 1 && tokens != nil {
		query = CustomPlan + query // the dialect's fixed text alone
	}
	rows, err := q.Query(ctx, query, b.args...)
	if err != nil {
		return nil, e.translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int
		var r socialrx.Resource
		var lu int64
		if err := rows.Scan(&i, &r.Type, &r.ID, &r.VersionID, &lu, &r.Body); err != nil {
			return nil, e.translate(err)
		}
		if i < 0 || i >= len(out) || out[i] == nil {
			return nil, socialrx.Errorf(socialrx.EINTERNAL, "match many: a row of no branch")
		}
		r.LastUpdated = fromMicros(lu)
		out[i].Matches = append(out[i].Matches, r)
	}
	if err := rows.Err(); err != nil {
		return nil, e.translate(err)
	}
	return out, nil
}

// oneToken reports whether query is one token clause with one system|code
// value and nothing else (identifier=system|value, the usual condition of
// a conditional create), and returns its parameter, system and code: the
// condition that Dialect.MatchTokens answers, "si.code = code AND
// si.system = system" on the parameter's rows, as valueCond writes it.
func oneToken(query *search.Query) (param, system, code string, ok bool) {
	if len(query.Clauses) != 1 {
		return "", "", "", false
	}
	c := query.Clauses[0]
	if c.Param.Type != search.ParamToken || len(c.Param.Union) > 0 || metaParam(c.Param.Name) ||
		c.Modifier != "" || c.Chain != nil || len(c.Values) != 1 {
		return "", "", "", false
	}
	v := c.Values[0]
	if !v.HasSystem || v.System == "" || v.Code == "" || v.Missing {
		return "", "", "", false
	}
	return c.Param.Name, v.System, v.Code, true
}

// tokenMatches are the arrays of Dialect.MatchTokens: one element per
// condition, with the place of its request.
type tokenMatches struct {
	places                        []int32
	types, params, systems, codes []string
}

func (t *tokenMatches) add(place int, typ, param, system, code string) {
	t.places = append(t.places, int32(place))
	t.types, t.params = append(t.types, typ), append(t.params, param)
	t.systems, t.codes = append(t.systems, system), append(t.codes, code)
}

func (t *tokenMatches) args() []any {
	return []any{t.places, t.types, t.params, t.systems, t.codes}
}

// sortComp is one component of the order of a search page, an expression
// over the derived table t.
type sortComp struct {
	expr string
	desc bool
	kind byte // 's' string, 'i' int64, 'f' float64
}

// sortSpec returns the inner select expressions (k0, k1, ...) and the order
// components for the sort keys of q. Every order ends with t.id, unique
// within the type, so that the order is total and keyset paging is exact.
// Missing values sort last in both directions.
func (b *builder) sortSpec(q *search.Query) (inner []string, comps []sortComp, err error) {
	if len(q.Sort) == 0 {
		// A near search is sorted by distance, nearest first (R4 3.1.1.5.7
		// asks for it), resources without a position last.
		if key, ok := b.nearSortKey(q); ok {
			inner = append(inner, key+" AS kn")
			comps = append(comps,
				sortComp{expr: "CASE WHEN t.kn IS NULL THEN 1 ELSE 0 END", kind: 'i'},
				sortComp{expr: "COALESCE(t.kn, 0)", kind: 'f'})
		}
	}
	for i, k := range q.Sort {
		col := "k" + strconv.Itoa(i)
		switch k.Param.Name {
		case "_id":
			comps = append(comps, sortComp{expr: "t.id", desc: k.Descending, kind: 's'})
			continue
		case "_lastUpdated":
			comps = append(comps, sortComp{expr: "t.last_updated", desc: k.Descending, kind: 'i'})
			continue
		}
		agg := "MIN"
		if k.Descending {
			agg = "MAX"
		}
		var field, zero string
		var kind byte
		switch k.Param.Type {
		case search.ParamString:
			field, zero, kind = "si.value", "''", 's'
		case search.ParamToken:
			field, zero, kind = "si.code", "''", 's'
		case search.ParamURI:
			field, zero, kind = "si.exact", "''", 's'
		case search.ParamReference:
			field, zero, kind = "si.ref_type || '/' || si.ref_id", "''", 's'
		case search.ParamDate:
			field, zero, kind = "si.low", "0", 'i'
			if k.Descending {
				field = "si.high"
			}
		case search.ParamNumber, search.ParamQuantity:
			field, zero, kind = "si.number", "0", 'f'
		default:
			return nil, nil, unsupported(search.Clause{Param: k.Param}, "_sort on a parameter of type "+string(k.Param.Type))
		}
		inner = append(inner, "(SELECT "+agg+"("+field+") FROM search_index si WHERE si.res_type = r.type AND si.res_id = r.id AND "+b.paramCond("si", k.Param)+") AS "+col)
		comps = append(comps,
			sortComp{expr: "CASE WHEN t." + col + " IS NULL THEN 1 ELSE 0 END", kind: 'i'},
			sortComp{expr: "COALESCE(t." + col + ", " + zero + ")", desc: k.Descending, kind: kind})
	}
	comps = append(comps, sortComp{expr: "t.id", kind: 's'})
	return inner, comps, nil
}

// after is the keyset condition "the row comes after pos in the order".
func (b *builder) after(comps []sortComp, pos []any) string {
	ors := make([]string, 0, len(comps))
	for i, c := range comps {
		var and []string
		for j := 0; j < i; j++ {
			and = append(and, comps[j].expr+" = "+b.arg(pos[j]))
		}
		op := " > "
		if c.desc {
			op = " < "
		}
		and = append(and, c.expr+op+b.arg(pos[i]))
		ors = append(ors, "("+strings.Join(and, " AND ")+")")
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// cursor is the paging position: the order components of the last row of
// the previous page, and a signature of the order they belong to.
type cursor struct {
	Sig  string `json:"s"`
	Pos  []any  `json:"p"`
	Snap int64  `json:"n"`
	// Total is the first page's Total (-1 when not counted), so that later
	// pages need no COUNT of their own.
	Total int `json:"t"`
}

func sortSig(comps []sortComp) string {
	var sb strings.Builder
	for _, c := range comps {
		sb.WriteString(c.expr)
		if c.desc {
			sb.WriteString(" desc")
		}
		sb.WriteByte(';')
	}
	return strconv.FormatUint(fnv64(sb.String()), 36)
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func encodeCursor(comps []sortComp, pos []any, snap int64, total int) string {
	b, _ := json.Marshal(cursor{Sig: sortSig(comps), Pos: pos, Snap: snap, Total: total})
	return base64.RawURLEncoding.EncodeToString(b)
}

var errBadCursor = &socialrx.Error{Code: socialrx.EINVALID, Message: "invalid paging cursor",
	Issues: []socialrx.Issue{{Severity: socialrx.SeverityError, Code: "value", Path: "_cursor", Message: "the paging cursor is not one this search produced"}}}

func decodeCursor(s string, comps []sortComp) (*cursor, error) {
	c, err := decodeCursor0(s, comps)
	if err != nil {
		return nil, errBadCursor
	}
	return c, nil
}

func decodeCursor0(s string, comps []sortComp) (*cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, errBadCursor
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var c cursor
	if err := dec.Decode(&c); err != nil || c.Sig != sortSig(comps) || len(c.Pos) != len(comps) || c.Total < -1 {
		return nil, errBadCursor
	}
	pos := make([]any, len(comps))
	for i, comp := range comps {
		switch comp.kind {
		case 's':
			s, ok := c.Pos[i].(string)
			if !ok {
				return nil, errBadCursor
			}
			pos[i] = s
		case 'i':
			n, ok := c.Pos[i].(json.Number)
			v, err := n.Int64()
			if !ok || err != nil {
				return nil, errBadCursor
			}
			pos[i] = v
		case 'f':
			n, ok := c.Pos[i].(json.Number)
			v, err := n.Float64()
			if !ok || err != nil {
				return nil, errBadCursor
			}
			pos[i] = v
		}
	}
	c.Pos = pos
	return &c, nil
}

// Query runs a parsed search on q (the reader, or a transaction). It is
// exported for tests that build a *search.Query by hand.
func (e *Engine) Query(ctx context.Context, q Querier, query *search.Query) (*socialrx.SearchResult, error) {
	count := query.Count
	if count <= 0 {
		count = e.opts.DefaultCount
	}
	count = min(count, e.opts.MaxCount)

	res := &socialrx.SearchResult{Self: copyValues(query.Used)}
	for _, is := range query.Ignored {
		res.Ignored = append(res.Ignored, socialrx.Issue(is))
	}

	now := e.opts.Now()
	if query.Summary == "count" {
		b := &builder{now: now}
		where, err := b.where(query.Type, query.Clauses)
		if err != nil {
			return nil, err
		}
		if err := q.QueryRow(ctx, "SELECT COUNT(*) FROM resources r WHERE "+where, b.args...).Scan(&res.Total); err != nil {
			return nil, e.translate(err)
		}
		return res, nil
	}

	// One statement per page. snap is the version sequence number when the
	// first page was read. Later pages hold only resources written at or
	// before it: a resource written since then (new, or updated so that its
	// sort key moved behind the cursor) would otherwise show on two pages.
	// Unchanged matches all have lower seqs and appear exactly once. The
	// first page reads snap and counts the matches (as of snap) in the same
	// statement, so it sees one state; later pages take both from the
	// cursor. The page is a keyset on the order components, one row more
	// than asked to learn whether there is a next page.
	pb := &builder{now: now}
	inner, comps, err := pb.sortSpec(query)
	if err != nil {
		return nil, err
	}
	var cur *cursor
	if query.Cursor != "" {
		if cur, err = decodeCursor(query.Cursor, comps); err != nil {
			return nil, err
		}
	}
	where, err := pb.where(query.Type, query.Clauses)
	if err != nil {
		return nil, err
	}
	var snapExpr, with string
	if cur != nil {
		snapExpr = pb.arg(cur.Snap)
	} else {
		with = "WITH snap AS (SELECT (" + e.d.CurrentSeq + ") AS n) "
		snapExpr = "(SELECT n FROM snap)"
	}
	sel := "SELECT r.type, r.id, r.version, r.last_updated, r.body"
	for _, in := range inner {
		sel += ", " + in
	}
	sqlText := with + "SELECT t.type, t.id, t.version, t.last_updated, t.body"
	order := make([]string, len(comps))
	for i, c := range comps {
		sqlText += ", " + c.expr
		order[i] = c.expr
		if c.desc {
			order[i] += " DESC"
		}
	}
	counting := cur == nil && query.Total != "none"
	if cur == nil {
		sqlText += ", " + snapExpr
		if counting {
			cb := &builder{now: now, args: pb.args}
			cwhere, err := cb.where(query.Type, query.Clauses)
			if err != nil {
				return nil, err
			}
			pb.args = cb.args
			sqlText += ", (SELECT COUNT(*) FROM resources r WHERE " + cwhere + " AND r.seq <= " + snapExpr + ")"
		}
	}
	sqlText += " FROM (" + sel + " FROM resources r WHERE " + where + " AND r.seq <= " + snapExpr + ") t"
	if cur != nil {
		sqlText += " WHERE " + pb.after(comps, cur.Pos)
	}
	sqlText += " ORDER BY " + strings.Join(order, ", ") + " LIMIT " + strconv.Itoa(count+1)

	rows, err := q.Query(ctx, sqlText, pb.args...)
	if err != nil {
		return nil, e.translate(err)
	}
	defer rows.Close()
	var last []any
	var snap int64
	switch {
	case cur != nil:
		snap, res.Total = cur.Snap, cur.Total
	case counting:
		res.Total = 0 // no rows: nothing matches as of snap
	default:
		res.Total = -1
	}
	next := func() {
		res.Next = copyValues(query.Used)
		res.Next.Del("_cursor")
		res.Next.Set("_cursor", encodeCursor(comps, last, snap, res.Total))
	}
	pageBytes := 0
	for rows.Next() {
		if len(res.Matches) == count {
			next()
			break
		}
		var r socialrx.Resource
		var lu int64
		dest := []any{&r.Type, &r.ID, &r.VersionID, &lu, &r.Body}
		vals := make([]any, len(comps))
		for i, c := range comps {
			switch c.kind {
			case 's':
				vals[i] = new(string)
			case 'i':
				vals[i] = new(int64)
			case 'f':
				vals[i] = new(float64)
			}
		}
		dest = append(dest, vals...)
		if cur == nil {
			dest = append(dest, &snap)
			if counting {
				dest = append(dest, &res.Total)
			}
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, e.translate(err)
		}
		r.LastUpdated = fromMicros(lu)
		// A page of large resources ends before its bodies pass
		// MaxPageBytes; the next page starts at this row.
		if len(res.Matches) > 0 && pageBytes+len(r.Body) > e.opts.MaxPageBytes {
			next()
			break
		}
		pageBytes += len(r.Body)
		res.Matches = append(res.Matches, r)
		last = make([]any, len(vals))
		for i, v := range vals {
			switch p := v.(type) {
			case *string:
				last[i] = *p
			case *int64:
				last[i] = *p
			case *float64:
				last[i] = *p
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, e.translate(err)
	}
	rows.Close()

	if len(res.Matches) > 0 && (len(query.Include) > 0 || len(query.RevInclude) > 0) {
		if res.Included, err = e.includes(ctx, q, query, res.Matches, e.opts.MaxPageBytes-pageBytes); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// includes returns the resources that _include and _revinclude add to a
// page, each once and none of them a match; ETOOLARGE once their bodies
// pass room bytes (reading stops there).
func (e *Engine) includes(ctx context.Context, q Querier, query *search.Query, matches []socialrx.Resource, room int) ([]socialrx.Resource, error) {
	seen := make(map[string]bool, len(matches))
	ids := make([]string, len(matches))
	for i, m := range matches {
		seen[m.Type+"/"+m.ID] = true
		ids[i] = m.ID
	}
	var out []socialrx.Resource
	run := func(b *builder, cond string) error {
		rows, err := q.Query(ctx, "SELECT r.type, r.id, r.version, r.last_updated, r.body FROM resources r WHERE NOT r.deleted AND "+cond+" ORDER BY r.type, r.id", b.args...)
		if err != nil {
			return e.translate(err)
		}
		defer rows.Close()
		for rows.Next() {
			var r socialrx.Resource
			var lu int64
			if err := rows.Scan(&r.Type, &r.ID, &r.VersionID, &lu, &r.Body); err != nil {
				return e.translate(err)
			}
			r.LastUpdated = fromMicros(lu)
			if k := r.Type + "/" + r.ID; !seen[k] {
				seen[k] = true
				if room -= len(r.Body); room < 0 {
					return errTooManyIncluded(e.opts.MaxPageBytes)
				}
				out = append(out, r)
			}
		}
		return e.translate(rows.Err())
	}
	for _, inc := range query.Include {
		if inc.Source != "" && inc.Source != "*" && inc.Source != query.Type {
			continue
		}
		b := &builder{}
		cond := "(r.type, r.id) IN (SELECT si.ref_type, si.ref_id FROM search_index si WHERE si.res_type = " + b.arg(query.Type) +
			" AND si.res_id IN (" + b.argList(ids) + ") AND si.ref_id <> ''"
		if inc.Param.Name != "*" && inc.Param.Name != "" {
			cond += " AND si.param = " + b.arg(inc.Param.Name)
		}
		if inc.Target != "" {
			cond += " AND si.ref_type = " + b.arg(inc.Target)
		}
		if err := run(b, cond+")"); err != nil {
			return nil, err
		}
	}
	for _, inc := range query.RevInclude {
		if inc.Target != "" && inc.Target != query.Type {
			continue
		}
		b := &builder{}
		cond := "(r.type, r.id) IN (SELECT si.res_type, si.res_id FROM search_index si WHERE si.ref_type = " + b.arg(query.Type) +
			" AND si.ref_id IN (" + b.argList(ids) + ") AND si.kind = '" + KindReference + "'"
		if inc.Source != "" && inc.Source != "*" {
			cond += " AND si.res_type = " + b.arg(inc.Source)
		}
		if inc.Param.Name != "*" && inc.Param.Name != "" {
			cond += " AND si.param = " + b.arg(inc.Param.Name)
		}
		if err := run(b, cond+")"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// errTooManyIncluded is the error of a search page whose included
// resources pass the page limit.
func errTooManyIncluded(limit int) error {
	msg := fmt.Sprintf("the resources _include and _revinclude add to this page pass %d bytes; ask for fewer (a lower _count, or without _revinclude)", limit)
	return &socialrx.Error{Code: socialrx.ETOOLARGE, Message: msg, Issues: []socialrx.Issue{{
		Severity: socialrx.SeverityError, Code: "too-costly", Path: "_count", Message: msg,
	}}}
}

func copyValues(m map[string][]string) url.Values {
	out := make(url.Values, len(m))
	for k, v := range m {
		out[k] = append([]string(nil), v...)
	}
	return out
}
