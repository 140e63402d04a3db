package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
)

// driver is the sqlstore.Driver over two database/sql pools on one file: the
// single writer connection and a read-only pool.
type driver struct {
	w, r *sql.DB
	wc   *cachingConnector // w's connections, with their statement cache
	rc   *cachingConnector // r's, with theirs

	groups *groups // group commit on the writer (group.go)

	audit *auditLog // the buffered audit trail's own file (audit.go)

	ckpt *checkpointer // WAL checkpoints off the writer (checkpoint.go)
}

// writeSQL are the statements of the write path. Index k < numFixed is a
// fixed statement; numFixed+n-1 inserts n index rows with one multi-row
// VALUES (n <= idxChunk). Each is compiled once on the writer's connection
// and kept by its statement cache (stmtcache.go), like every statement.

// The fixed write statements, indexes into writeSQL.
const (
	sSeq = iota
	sInsCur
	sUpdCur
	sInsVer
	sDelIdx
	sInsIdxJSON
	numFixed
)

// idxChunk is the most index rows one INSERT writes; more go in chunks.
const idxChunk = 32

var writeSQL = func() []string {
	out := []string{
		sSeq:        "UPDATE version_seq SET value = value + 1 WHERE id = 1 RETURNING value",
		sInsCur:     "INSERT INTO resources (type, id, version, last_updated, deleted, body, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (type, id) DO NOTHING",
		sUpdCur:     "UPDATE resources SET version = ?3, last_updated = ?4, deleted = ?5, body = ?6, seq = ?7 WHERE type = ?1 AND id = ?2",
		sInsVer:     "INSERT INTO resource_versions (type, id, version, last_updated, deleted, body, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
		sDelIdx:     "DELETE FROM search_index WHERE res_type = ?1 AND res_id = ?2",
		sInsIdxJSON: insertIndexJSON,
	}
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(sqlstore.IndexColumns)), ", ") + ")"
	for n := 1; n <= idxChunk; n++ {
		out = append(out, "INSERT OR FAIL INTO search_index ("+strings.Join(sqlstore.IndexColumns, ", ")+") VALUES "+
			strings.TrimSuffix(strings.Repeat(row+", ", n), ", "))
	}
	return out
}()

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type querier struct{ q execer }

func (q querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := q.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q querier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (q querier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return q.q.QueryRowContext(ctx, query, args...)
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

// txQuerier runs a transaction's statements prepared once per group
// (group.stmt): SQLite compiling the same projection and outbox statements
// for every transaction was a sixth of the writer's time.
type txQuerier struct {
	t *sql.Tx
	g *group
}

// memberCtx is the context a member's statement runs with: its own ends
// only between statements. An interrupt in the middle of a statement makes
// SQLite roll back the whole transaction, the other members' released
// writes with it, so a request that runs out of time or goes away fails
// alone, at its next statement (or at BEGIN, whose wait for the database
// lock it does interrupt).
func memberCtx(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return context.WithoutCancel(ctx), nil
}

func (q txQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	ctx, err := memberCtx(ctx)
	if err != nil {
		return 0, err
	}
	res, err := q.t.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q txQuerier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	ctx, err := memberCtx(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := q.t.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (q txQuerier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	ctx, err := memberCtx(ctx)
	if err != nil {
		return errRow{err}
	}
	return q.t.QueryRowContext(ctx, query, args...)
}

// errRow is a Row whose Scan returns err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

type tx struct {
	txQuerier
	tx *sql.Tx
	d  *driver
	m  *member // this transaction's savepoint in the shared one (group.go)
}

// exec runs write statement k (an index into writeSQL).
func (t tx) exec(ctx context.Context, k int, args ...any) (sql.Result, error) {
	ctx, err := memberCtx(ctx)
	if err != nil {
		return nil, err
	}
	return t.tx.ExecContext(ctx, writeSQL[k], args...)
}

// InsertIndex writes the rows with multi-row INSERTs of up to idxChunk rows,
// or, from jsonIndexMin rows, as one JSON text (indexJSON).
func (t tx) InsertIndex(ctx context.Context, rows []sqlstore.IndexRow) error {
	if len(rows) >= jsonIndexMin {
		buf := jsonBufs.Get().(*[]byte)
		defer jsonBufs.Put(buf)
		var ok bool
		if *buf, ok = indexJSON((*buf)[:0], rows); ok {
			typ, id := rows[0].ResType, rows[0].ResID
			// The driver copies a bound text before the statement runs
			// (modernc.org/sqlite bindText: libc.CString), and nothing
			// keeps it after: the buffer is reused, not copied into a
			// string of its own.
			_, err := t.exec(ctx, sInsIdxJSON, unsafe.String(unsafe.SliceData(*buf), len(*buf)), typ, id)
			return err
		}
	}
	args := make([]any, 0, min(len(rows), idxChunk)*len(sqlstore.IndexColumns))
	for len(rows) > 0 {
		n := min(len(rows), idxChunk)
		args = args[:0]
		for i := range rows[:n] {
			r := &rows[i]
			args = append(args, r.ResType, r.ResID, r.Param, r.System, r.Code, r.Text, r.Value, r.Exact, r.Low, r.High, r.Number, r.RefType, r.RefID, r.Kind)
		}
		if _, err := t.exec(ctx, numFixed+n-1, args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// Put writes one version with the prepared statements (see
// sqlstore.DriverTx). SQLite runs in process: a few statements cost little
// once compiled.
func (t tx) Put(ctx context.Context, v *sqlstore.Version) (bool, error) {
	ctx, err := memberCtx(ctx)
	if err != nil {
		return false, err
	}
	var seq int64
	if err := t.tx.QueryRowContext(ctx, writeSQL[sSeq]).Scan(&seq); err != nil {
		return false, err
	}
	var body any
	if !v.Deleted {
		body = v.Body
	}
	args := []any{v.Type, v.ID, v.Version, v.LastUpdated, v.Deleted, body, seq}
	cur := sUpdCur
	if v.Insert {
		cur = sInsCur
	}
	res, err := t.exec(ctx, cur, args...)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	if _, err := t.exec(ctx, sInsVer, args...); err != nil {
		return false, err
	}
	if !v.Insert {
		if _, err := t.exec(ctx, sDelIdx, v.Type, v.ID); err != nil {
			return false, err
		}
	}
	if len(v.Index) > 0 {
		if err := t.InsertIndex(ctx, v.Index); err != nil {
			return false, err
		}
	}
	return true, nil
}

// Commit releases the transaction's savepoint and returns once the shared
// transaction it is part of committed (group commit, group.go).
func (t tx) Commit(ctx context.Context) error { return t.d.commit(ctx, t.m) }

// Rollback undoes the transaction's savepoint; after Commit it does nothing.
func (t tx) Rollback(ctx context.Context) error { return t.d.rollback(ctx, t.m) }

func (d *driver) Reader() sqlstore.Querier { return querier{d.r} }

// Begin starts a transaction: a savepoint in the writer's shared
// transaction (group commit, group.go).
func (d *driver) Begin(ctx context.Context) (sqlstore.DriverTx, error) {
	t, m, err := d.begin(ctx)
	if err != nil {
		return nil, err
	}
	return tx{txQuerier{t, m.g}, t, d, m}, nil
}

func (d *driver) Dialect() sqlstore.Dialect {
	return sqlstore.Dialect{
		Name:        "sqlite",
		ForUpdate:   "",
		NextSeq:     "UPDATE version_seq SET value = value + 1 WHERE id = 1 RETURNING value",
		CurrentSeq:  "SELECT value FROM version_seq WHERE id = 1",
		NeedDomains: "json_each(x.needs) AS j",
	}
}

func (d *driver) Ping(ctx context.Context) error {
	if err := d.w.PingContext(ctx); err != nil {
		return err
	}
	if err := d.audit.w.PingContext(ctx); err != nil {
		return err
	}
	return d.r.PingContext(ctx)
}

func (d *driver) Close() error {
	return errors.Join(d.ckpt.close(), d.r.Close(), d.w.Close(), d.audit.close())
}

// Translate maps SQLite errors: no rows → ENOTFOUND, unique or primary key
// violation → ECONFLICT, busy/locked (after busy_timeout) and cannot-open →
// EUNAVAILABLE. Messages name no values.
func (d *driver) Translate(err error) error { return translate(err) }

func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return socialrx.Errorf(socialrx.ENOTFOUND, "not found")
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return socialrx.Errorf(socialrx.ECONFLICT, "already exists")
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return &wrapped{socialrx.Errorf(socialrx.EUNAVAILABLE, "database is busy"), err}
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY:
			return &wrapped{socialrx.Errorf(socialrx.EUNAVAILABLE, "database file unavailable"), err}
		}
	}
	if errors.Is(err, sql.ErrConnDone) {
		return &wrapped{socialrx.Errorf(socialrx.EUNAVAILABLE, "database closed"), err}
	}
	return err
}

// wrapped is a *socialrx.Error that keeps the driver error in its chain for
// logs and errors.Is.
type wrapped struct {
	se  *socialrx.Error
	err error
}

func (w *wrapped) Error() string   { return w.se.Error() + ": " + w.err.Error() }
func (w *wrapped) Unwrap() []error { return []error{w.se, w.err} }

// Retryable: a transaction that found the database busy after busy_timeout
// (another process writing) is run again.
func (d *driver) Retryable(err error) bool {
	return socialrx.ErrorCode(err) == socialrx.EUNAVAILABLE && strings.Contains(err.Error(), "busy")
}

// jsonIndexMin is the fewest index rows InsertIndex writes as one JSON text.
// Below it (the writes of all but very large resources), multi-row INSERTs,
// which are a little faster: BenchmarkInsertIndex, 4096 rows of one
// resource, JSON 1.15x the time of bound rows, 1/67 of their allocation.
const jsonIndexMin = 1024

// jsonBufs are indexJSON's buffers.
var jsonBufs = sync.Pool{New: func() any { return new([]byte) }}

// insertIndexJSON inserts the index rows of resource ?2/?3 from ?1, a JSON
// array of rows, each an array of the other columns but number (indexJSON).
// jsonb_each hands each row to ->> as JSONB; json_each gave it as text,
// parsed again for every column (2.5x slower).
var insertIndexJSON = func() string {
	const cols = "param, system, code, text, value, exact, low, high, ref_type, ref_id, kind"
	if strings.Join(sqlstore.IndexColumns, ", ") != "res_type, res_id, param, system, code, text, value, exact, low, high, number, ref_type, ref_id, kind" {
		panic("sqlite: the columns of search_index changed; change insertIndexJSON and indexJSON")
	}
	var sel []string
	for i := range strings.Split(cols, ", ") {
		sel = append(sel, "j.value->>"+strconv.Itoa(i))
	}
	return "INSERT OR FAIL INTO search_index (res_type, res_id, number, " + cols + ") SELECT ?2, ?3, NULL, " +
		strings.Join(sel, ", ") + " FROM jsonb_each(?1) AS j"
}()

// indexJSON appends to b the rows, all of one resource, as one JSON array
// of arrays for the statement sInsIdxJSON (insertIndexJSON: the columns in
// the order of sqlstore.IndexColumns, without res_type, res_id and number).
// A resource with many index rows (a Patient of 260,000 identifiers) bound
// 14 arguments a row with multi-row INSERTs, and database/sql and the
// driver allocated ~1.1 KB of garbage a row doing it (300 MB for that
// Patient, which drove the request's peak heap: docs/performance.md,
// "Memory per request"); one text argument a chunk allocates only itself.
// ok is false when the rows cannot be written this way exactly: rows of
// several resources, a number (SQLite's own reading of a decimal text may
// differ from the float64 in the last place), or a string with a NUL byte
// or invalid UTF-8.
func indexJSON(b []byte, rows []sqlstore.IndexRow) ([]byte, bool) {
	if len(rows) == 0 {
		return b, false
	}
	typ, id := rows[0].ResType, rows[0].ResID
	b = append(b, '[')
	for i := range rows {
		r := &rows[i]
		if r.Number != nil || r.ResType != typ || r.ResID != id {
			return b, false
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		ok := true
		for k, v := range [...]string{r.Param, r.System, r.Code, r.Text, r.Value, r.Exact} {
			if k > 0 {
				b = append(b, ',')
			}
			if b, ok = appendJSONString(b, v); !ok {
				return b, false
			}
		}
		for _, v := range [...]*int64{r.Low, r.High} {
			b = append(b, ',')
			if v == nil {
				b = append(b, "null"...)
			} else {
				b = strconv.AppendInt(b, *v, 10)
			}
		}
		for _, v := range [...]string{r.RefType, r.RefID, r.Kind} {
			b = append(b, ',')
			if b, ok = appendJSONString(b, v); !ok {
				return b, false
			}
		}
		b = append(b, ']')
	}
	return append(b, ']'), true
}

// appendJSONString appends s as a JSON string; ok is false for a NUL byte or
// invalid UTF-8.
func appendJSONString(b []byte, s string) ([]byte, bool) {
	if !utf8.ValidString(s) {
		return b, false
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0:
			return b, false
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"'), true
}
