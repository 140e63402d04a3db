package postgres

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
)

// driver is the sqlstore.Driver over a pgx pool.
type driver struct {
	pool *pgxpool.Pool
	// audit is the buffered audit trail's own connection (a pool of one,
	// opened on first use): see AuditBlockTx.
	audit     *pgxpool.Pool
	auditCfg  *pgxpool.Config
	auditOnce sync.Once
	auditErr  error
}

type pgxQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

type querier struct{ q pgxQuerier }

func (q querier) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := q.q.Exec(ctx, sql, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (q querier) Query(ctx context.Context, sql string, args ...any) (sqlstore.Rows, error) {
	if p, ok := q.q.(*pipe); ok && strings.HasPrefix(sql, sqlstore.CustomPlan) {
		return p.queryCustomPlan(ctx, sql, args...)
	}
	return q.q.Query(ctx, sql, planned(sql, args)...)
}

func (q querier) QueryRow(ctx context.Context, sql string, args ...any) sqlstore.Row {
	if p, ok := q.q.(*pipe); ok && strings.HasPrefix(sql, sqlstore.CustomPlan) {
		rows, err := p.queryCustomPlan(ctx, sql, args...)
		if err != nil {
			return errRow{err}
		}
		return rowOf{rows}
	}
	return q.q.QueryRow(ctx, sql, planned(sql, args)...)
}

// planned returns the arguments of statement sql, asking pgx to send a
// read (a statement that writes nothing: SELECT, or WITH ... SELECT
// without INSERT, UPDATE or DELETE) as an unnamed statement
// (pgx.QueryExecModeExec), which PostgreSQL plans for its parameters at
// every run. Writes and lookups by key (sqlstore.KeyLookup, which starts
// with a comment, so it is no SELECT here) go as cached prepared
// statements, whose generic plans PostgreSQL may keep (plan_cache_mode
// auto: open). A search's best plan depends on its values and on the data
// (a generic plan of a conditional search made while the tables were
// small walked every resource of the type as they grew: 0.4 → 11 ms); a
// write's or a key lookup's does not, and planning them at every run cost
// about 2.5 ms of server time per encounter Bundle of ~8
// (pg_stat_statements, docs/performance.md issue 12).
func planned(sql string, args []any) []any {
	if !isRead(sql) {
		return args
	}
	return append([]any{pgx.QueryExecModeExec}, args...)
}

// isRead reports whether sql only reads (see planned). It is
// conservative: a WITH statement naming INSERT, UPDATE or DELETE anywhere
// (a FOR UPDATE too) counts as a write, which only lets PostgreSQL choose a
// generic plan for it.
func isRead(sql string) bool {
	head := strings.TrimLeft(strings.TrimPrefix(sql, sqlstore.CustomPlan), " \t\n")
	switch {
	case len(head) >= 6 && strings.EqualFold(head[:6], "SELECT"):
		return !strings.Contains(sql, "nextval(")
	case len(head) >= 4 && strings.EqualFold(head[:4], "WITH"):
		u := strings.ToUpper(sql)
		return !strings.Contains(u, "INSERT ") && !strings.Contains(u, "UPDATE ") && !strings.Contains(u, "DELETE ") && !strings.Contains(sql, "nextval(")
	}
	return false
}

type tx struct {
	querier       // over p
	p       *pipe // the transaction, its connection and deferred statements (pipe.go)
}

var _ sqlstore.Deferrer = tx{}

// copyThreshold: below this many index rows one multi-row INSERT (one round
// trip) beats COPY (two).
const copyThreshold = 16

// InsertIndex writes index rows with COPY, or one INSERT for a few rows,
// deferred (it returns nothing anyone reads: pipe.go).
func (t tx) InsertIndex(ctx context.Context, rows []sqlstore.IndexRow) error {
	if len(rows) >= copyThreshold {
		_, err := t.p.CopyFrom(ctx, pgx.Identifier{"search_index"}, sqlstore.IndexColumns, &indexRowSource{rows: rows})
		return err
	}
	if len(rows) > 0 {
		t.p.Defer(insertIndexSQL[len(rows)], indexArgs(rows)...)
	}
	return nil
}

// indexRowSource is the pgx.CopyFromSource of index rows: one slice of
// values for every row (pgx encodes a row before asking for the next), and
// the values consecutive rows share (their resource's type and id, a
// parameter's name and kind) boxed once. A new []any and 14 boxed values a
// row, as pgx.CopyFromSlice with IndexRow.Args made them, left ~400 bytes
// of garbage a row: 100 MB for a Patient of 260,525 identifiers
// (BenchmarkLargeBody, docs/performance.md "Memory per request").
type indexRowSource struct {
	rows []sqlstore.IndexRow
	i    int
	vals [14]any
	prev *sqlstore.IndexRow
}

func (s *indexRowSource) Next() bool { s.i++; return s.i <= len(s.rows) }

func (s *indexRowSource) Err() error { return nil }

func (s *indexRowSource) Values() ([]any, error) {
	r, p, v := &s.rows[s.i-1], s.prev, &s.vals
	if p == nil || r.ResType != p.ResType {
		v[0] = r.ResType
	}
	if p == nil || r.ResID != p.ResID {
		v[1] = r.ResID
	}
	if p == nil || r.Param != p.Param {
		v[2] = r.Param
	}
	if p == nil || r.Kind != p.Kind {
		v[13] = r.Kind
	}
	v[3], v[4], v[5], v[6], v[7] = r.System, r.Code, r.Text, r.Value, r.Exact
	v[8], v[9], v[10], v[11], v[12] = r.Low, r.High, r.Number, r.RefType, r.RefID
	s.prev = r
	return v[:], nil
}

// Defer queues a statement to go with the next one (sqlstore.Deferrer).
func (t tx) Defer(sql string, args ...any) { t.p.Defer(sql, args...) }

// DeferRead queues a read to go with the next statement
// (sqlstore.ReadDeferrer).
func (t tx) DeferRead(sql string, read func(sqlstore.Rows) error, args ...any) {
	t.p.DeferRead(sql, func(r pgx.Rows) error { return read(r) }, args...)
}

func indexArgs(rows []sqlstore.IndexRow) []any {
	args := make([]any, 0, len(rows)*len(sqlstore.IndexColumns))
	for i := range rows {
		args = append(args, rows[i].Args()...)
	}
	return args
}

// insertIndexSQL[n] inserts n index rows (n < copyThreshold): fixed texts,
// so pgx's statement cache keeps each prepared once.
var insertIndexSQL = func() []string {
	out := make([]string, copyThreshold)
	cols := len(sqlstore.IndexColumns)
	for n := 1; n < copyThreshold; n++ {
		s := "INSERT INTO search_index (" + joinCols() + ") VALUES "
		p := 1
		for i := 0; i < n; i++ {
			if i > 0 {
				s += ", "
			}
			s += "("
			for j := 0; j < cols; j++ {
				if j > 0 {
					s += ", "
				}
				s += "$" + itoa(p)
				p++
			}
			s += ")"
		}
		out[n] = s
	}
	return out
}()

func joinCols() string {
	s := ""
	for i, c := range sqlstore.IndexColumns {
		if i > 0 {
			s += ", "
		}
		s += c
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }

// Commit sends the deferred statements and the COMMIT in one round trip
// (pipe.commit). A transaction that sent nothing (its BEGIN alone is
// pending) has nothing to commit.
func (t tx) Commit(ctx context.Context) error {
	p := t.p
	if p.conn == nil {
		return pgx.ErrTxClosed
	}
	defer p.release()
	if p.tx == nil && p.pending.Len() == p.opening {
		p.takePending()
		return nil
	}
	return p.commit(ctx)
}

// Rollback drops the deferred statements and rolls back (nothing to roll
// back if the BEGIN was never sent).
func (t tx) Rollback(ctx context.Context) error {
	p := t.p
	if p.conn == nil {
		return nil // ended already
	}
	defer p.release()
	p.takePending()
	if p.tx == nil {
		return nil
	}
	return p.tx.Rollback(ctx)
}

func (d *driver) Reader() sqlstore.Querier { return querier{d.pool} }

// AuditBlockReader runs reads of the audit blocks: the pool
// (sqlstore.AuditBlockDriver).
func (d *driver) AuditBlockReader() sqlstore.Querier { return querier{d.pool} }

// AuditBlockTx runs fn in a transaction of the buffered audit trail's
// connection of its own, not one of the pool's (sqlstore.AuditBlockDriver).
// Measured (docs/performance.md, issue 13): the Auditor's batches through
// the shared pool raised the server's CPU per search by 1.6x (planning
// 0.85 -> 1.31 ms a search, pg_stat_statements), through a connection of
// their own by nothing measurable. Why sharing costs that much was not
// established; the audit trail is a single writer anyway, and keeping it
// apart also leaves the API all of the pool.
func (d *driver) AuditBlockTx(ctx context.Context, fn func(q sqlstore.Querier) error) error {
	d.auditOnce.Do(func() {
		if d.auditCfg == nil {
			d.audit = d.pool
			return
		}
		d.audit, d.auditErr = pgxpool.NewWithConfig(context.Background(), d.auditCfg)
	})
	if d.auditErr != nil {
		return d.auditErr
	}
	if d.audit == nil { // closed before its first batch
		return socialrx.Errorf(socialrx.EUNAVAILABLE, "postgres: the store is closed")
	}
	t, err := d.audit.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = t.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(querier{t}); err != nil {
		return err
	}
	return t.Commit(ctx)
}

// Begin starts a READ COMMITTED transaction (writers lock rows FOR
// UPDATE). When ctx has a deadline, the transaction's statement_timeout is
// the time left plus statementTimeoutSlack (set_config, local to the
// transaction), so that the server stops a statement on its own even if
// the cancel request pgx sends when ctx ends is lost. Neither is sent
// here: they go with the transaction's first statements (pipe.go).
func (d *driver) Begin(ctx context.Context) (sqlstore.DriverTx, error) {
	var timeout time.Duration
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl)+statementTimeoutSlack, time.Millisecond)
	}
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	p := newPipe(conn, timeout)
	return tx{querier{p}, p}, nil
}

// statementTimeoutSlack is how much later than the context's deadline the
// server's statement_timeout fires: the context ends first, so its caller
// sees a deadline, not a statement that failed just before it; the
// server's timeout is the backstop.
const statementTimeoutSlack = time.Second

func (d *driver) Dialect() sqlstore.Dialect {
	return sqlstore.Dialect{
		Name:        "postgres",
		ForUpdate:   " FOR UPDATE",
		ReadMany:    readManySQL,
		MatchTokens: matchTokensSQL,
		LockKey:     "SELECT pg_advisory_xact_lock($1)",
		NextSeq:     "SELECT nextval('resource_seq')",
		CurrentSeq:  "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM resource_seq",
		NeedDomains: "jsonb_array_elements_text(x.needs::jsonb) AS j(value)",
		Median:      "percentile_cont(0.5) WITHIN GROUP (ORDER BY days)",
		ReportSetup: "SET LOCAL jit = off",
	}
}

func (d *driver) Ping(ctx context.Context) error { return d.pool.Ping(ctx) }

func (d *driver) Close() error {
	d.auditOnce.Do(func() {}) // no audit connection opened after Close
	if d.audit != nil && d.audit != d.pool {
		d.audit.Close()
	}
	d.pool.Close()
	return nil
}

func (d *driver) Translate(err error) error { return translate(err) }

// translate maps PostgreSQL errors: no rows → ENOTFOUND; unique violation
// (23505) → ECONFLICT; serialization failure or deadlock (40001, 40P01) →
// ECONFLICT (a concurrent writer won; Transact retries these first);
// connection failures, admin shutdown, too many connections, a statement
// cancelled (57014: statement_timeout, or the cancel request sent when its
// context ended) → EUNAVAILABLE; text PostgreSQL cannot hold (a NUL
// character, invalid UTF-8: 22021, 22P05) → EINVALID, the client's input,
// not a fault of the server.
// The driver error stays in the chain (its text names constraints, never
// values: pgx keeps the Detail out of Error()).
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return socialrx.Errorf(socialrx.ENOTFOUND, "not found")
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505":
			return &wrapped{socialrx.Errorf(socialrx.ECONFLICT, "already exists"), err}
		case pe.Code == "40001" || pe.Code == "40P01":
			return &wrapped{socialrx.Errorf(socialrx.ECONFLICT, "concurrent transaction conflict"), err}
		case pe.Code == "22021" || pe.Code == "22P05":
			return &wrapped{socialrx.Errorf(socialrx.EINVALID, "text holds a NUL character or is not valid UTF-8"), err}
		case pe.Code == "53300" || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || pe.Code[:2] == "08":
			return &wrapped{socialrx.Errorf(socialrx.EUNAVAILABLE, "database unavailable"), err}
		case pe.Code == "57014":
			return &wrapped{socialrx.Errorf(socialrx.EUNAVAILABLE, "statement cancelled: the request ran out of time or went away"), err}
		}
		return err
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &ne) {
		return &wrapped{socialrx.Errorf(socialrx.EUNAVAILABLE, "database unavailable"), err}
	}
	return err
}

// Retryable reports a serialization failure or deadlock.
func (d *driver) Retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// wrapped is a *socialrx.Error that keeps the driver error in its chain.
type wrapped struct {
	se  *socialrx.Error
	err error
}

func (w *wrapped) Error() string   { return w.se.Error() + ": " + w.err.Error() }
func (w *wrapped) Unwrap() []error { return []error{w.se, w.err} }
