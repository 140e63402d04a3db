package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Pipelined writes. A statement whose result nobody reads (a projection's
// upsert, a write's AuditEvent, a few derived index rows: sqlstore.Deferrer)
// is not sent at once: it waits in the transaction's pipe and goes to the
// server in one round trip with the next statement that is (pgx.Batch, the
// extended protocol's pipeline: one network write, one Sync, the results
// read in order). The server runs everything in the order it was asked
// for, so every statement still sees the writes of those before it; only
// when a deferred statement fails is the failure reported late, by the
// statement that carried it (the transaction is aborted then anyway, and
// nothing deferred can fail on a unique key: see sqlstore.Deferrer). An
// encounter Bundle sent ~33 statements in as many round trips, and every
// round trip costs both sides a few context switches and system calls
// (half of the machine's CPU was system time, docs/performance.md issue
// 12); about a dozen of them now ride along with others. Since session 13
// the resource writes that cannot be refused (Version.Deferrable), River's
// notification and the COMMIT ride too, and the token match rides with the
// BEGIN (queryCustomPlan), and so does the read ahead of what a Bundle
// names (DeferRead): with the workflow's follow-on creates of ids derived
// from minted ones and ReferralsOf answered from memory, an encounter
// takes 3 round trips, not 10 (TestRoundTrips, docs/architecture.md).
//
// A read PostgreSQL must plan for its values (see planned) cannot ride in
// a batch (pgx sends a batch in one mode), unless its text is fixed
// (sqlstore.CustomPlan: queryCustomPlan); the pipe is sent before it, in a
// round trip of its own. So is anything pgx sends by other means (COPY,
// River's insert on the raw transaction); COMMIT goes at the end of the
// last batch (commit).
//
// BEGIN is deferred too (pgx.Batch.BeginTx): it goes with the first batch
// the transaction sends, so an encounter Bundle's BEGIN and its advisory
// locks take one round trip, not two. Until then tx is nil and pending
// starts with the BEGIN.
type pipe struct {
	conn    *pgxpool.Conn // the transaction's connection, nil once released
	tx      pgx.Tx        // nil until the BEGIN was sent
	pending *pgx.Batch    // deferred statements, nil when none
	opening int           // how many statements begin the transaction
	trips   int           // round trips the transaction took (tests count them)
	// reads are the readers of the deferred reads in pending, by their
	// place in it (DeferRead).
	reads map[int]func(pgx.Rows) error
	// pendingBytes are the resource bodies in pending (tx.Put): past
	// maxPendingBytes the batch is sent.
	pendingBytes int
}

// maxPendingBytes bounds the bodies a transaction's deferred writes hold
// before they are sent. A transaction of 1000 resources of 10 KB kept every
// write's arguments to the commit and encoded them as one batch, with every
// body once more: BenchmarkLargeBody/PostgreSQL/Transaction1000 peak/body
// 8.4-8.9 -> 5.9-6.1 at GOGC=100 with the bound (docs/performance.md).
const maxPendingBytes = 1 << 20

// newPipe is the pipe of a transaction to begin on conn, with a
// statement_timeout when timeout > 0.
func newPipe(conn *pgxpool.Conn, timeout time.Duration) *pipe {
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	if timeout > 0 {
		b.Queue(`SELECT set_config('statement_timeout', $1, true)`, strconv.FormatInt(timeout.Milliseconds(), 10))
	}
	return &pipe{conn: conn, pending: b, opening: b.Len()}
}

// send sends b: on the transaction, or, when b begins it, on the
// connection, the transaction taken from the results.
func (p *pipe) send(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	p.trips++
	if p.tx != nil {
		return p.tx.SendBatch(ctx, b)
	}
	br := p.conn.SendBatch(ctx, b)
	p.tx = br.Tx()
	return br
}

// begun sends the BEGIN (and what is deferred) if it was not sent yet.
func (p *pipe) begun(ctx context.Context) error {
	if p.tx != nil {
		return nil
	}
	return p.Flush(ctx)
}

// release returns the connection to the pool (once): after the
// transaction ended, or when it never began.
func (p *pipe) release() {
	if p.conn != nil {
		p.conn.Release()
		p.conn = nil
	}
}

// Defer queues a statement whose result nobody reads.
func (p *pipe) Defer(sql string, args ...any) {
	if p.pending == nil {
		p.pending = &pgx.Batch{}
	}
	p.pending.Queue(sql, args...)
}

// DeferRead queues a read whose rows are wanted later: it goes with the
// next statement, and read gets its rows when that statement's batch is
// read (before the statement's own result). A failure of the read, or an
// error read returns, is reported as a deferred statement's.
func (p *pipe) DeferRead(sql string, read func(pgx.Rows) error, args ...any) {
	if p.pending == nil {
		p.pending = &pgx.Batch{}
	}
	if p.reads == nil {
		p.reads = map[int]func(pgx.Rows) error{}
	}
	p.reads[p.pending.Len()] = read
	p.pending.Queue(sql, args...)
}

// takePending returns the pending batch and its deferred reads, leaving
// none.
func (p *pipe) takePending() (*pgx.Batch, map[int]func(pgx.Rows) error) {
	b, reads := p.pending, p.reads
	p.pending, p.reads, p.pendingBytes = nil, nil, 0
	return b, reads
}

// drain reads the results of the first n statements of a batch sent:
// each deferred read's rows go to its reader, the other results are
// checked for errors. A statement's failure (dbErr) stops it: the server
// ran nothing after it. A reader's own error (readErr) does not: the
// server ran the rest of the batch all the same, so the results are read
// on, and the caller decides what the reader's error means (commit: the
// transaction committed).
func drain(br pgx.BatchResults, n int, reads map[int]func(pgx.Rows) error) (dbErr, readErr error) {
	for i := range n {
		read, ok := reads[i]
		if !ok {
			if _, err := br.Exec(); err != nil {
				return deferredErr(err), readErr
			}
			continue
		}
		rows, err := br.Query()
		if err != nil {
			return deferredErr(err), readErr
		}
		rerr := read(rows)
		rows.Close()
		if err := rows.Err(); err != nil {
			return deferredErr(err), readErr
		}
		if rerr != nil && readErr == nil {
			readErr = deferredErr(rerr)
		}
	}
	return nil, readErr
}

// drained is drain's first error, the statements' before the readers'.
func drained(br pgx.BatchResults, n int, reads map[int]func(pgx.Rows) error) error {
	dbErr, readErr := drain(br, n, reads)
	if dbErr != nil {
		return dbErr
	}
	return readErr
}

// Flush sends the deferred statements, if any, and returns the first error.
func (p *pipe) Flush(ctx context.Context) error {
	if p.pending == nil {
		return nil
	}
	b, reads := p.takePending()
	br := p.send(ctx, b)
	err := drained(br, b.Len(), reads)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = deferredErr(cerr)
	}
	return err
}

// commit sends the deferred statements with the COMMIT at their end, in
// one round trip (pgx's Tx.Commit would send the COMMIT in a round trip of
// its own after them): the server runs them in order and stops at the
// first failure, the COMMIT included, so the transaction commits only if
// every deferred statement succeeded; after a failure it is rolled back.
// The pgx transaction is not used again once this returns (the pipe's
// connection goes back to the pool: release). A deferred read's reader
// failing does not fail the commit, which the server made all the same:
// what was read ahead is not needed any more.
func (p *pipe) commit(ctx context.Context) error {
	b, reads := p.takePending()
	if b == nil {
		b = &pgx.Batch{}
	}
	n := b.Len()
	b.Queue("commit")
	br := p.send(ctx, b)
	err, _ := drain(br, n, reads)
	var tag pgconn.CommandTag
	if err == nil {
		tag, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil && tag.String() == "ROLLBACK" {
		// COMMIT of a transaction an earlier failure had aborted: it has
		// ended.
		return pgx.ErrTxCommitRollback
	}
	if err != nil && p.tx != nil {
		_ = p.tx.Rollback(ctx)
	}
	return err
}

// deferredErr marks the failure of a deferred statement (nil stays nil).
func deferredErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("a deferred statement: %w", err)
}

// take returns the pending batch for a statement to join, or nil when it
// must go alone: nothing pending, or a read sent unnamed (planned).
func (p *pipe) take(ctx context.Context, args []any) (*pgx.Batch, map[int]func(pgx.Rows) error, error) {
	if p.pending == nil {
		return nil, nil, nil
	}
	if len(args) > 0 {
		if _, ok := args[0].(pgx.QueryExecMode); ok {
			return nil, nil, p.Flush(ctx)
		}
	}
	b, reads := p.takePending()
	return b, reads, nil
}

// Exec runs sql, after (and with) the deferred statements.
func (p *pipe) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	b, reads, err := p.take(ctx, args)
	if err != nil || b == nil {
		if err != nil {
			return pgconn.CommandTag{}, err
		}
		p.trips++
		return p.tx.Exec(ctx, sql, args...)
	}
	n := b.Len()
	b.Queue(sql, args...)
	br := p.send(ctx, b)
	defer br.Close()
	if err := drained(br, n, reads); err != nil {
		return pgconn.CommandTag{}, err
	}
	return br.Exec()
}

// Query runs sql, after (and with) the deferred statements. The rows hold
// the batch open until they are closed.
func (p *pipe) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	b, reads, err := p.take(ctx, args)
	if err != nil || b == nil {
		if err != nil {
			return nil, err
		}
		p.trips++
		return p.tx.Query(ctx, sql, args...)
	}
	n := b.Len()
	b.Queue(sql, args...)
	br := p.send(ctx, b)
	if err := drained(br, n, reads); err != nil {
		_ = br.Close()
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// QueryRow runs sql, after (and with) the deferred statements.
func (p *pipe) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := p.Query(ctx, sql, args...)
	if err != nil {
		return errRow{err}
	}
	return rowOf{rows}
}

// queryCustomPlan runs a sqlstore.CustomPlan read as a cached prepared
// statement that rides with the deferred statements, between two that
// make PostgreSQL plan it for its values (plan_cache_mode
// force_custom_plan for the rest of the transaction, then RESET, which
// goes with the next statement). Sent unnamed instead (planned), it would
// flush the pipe in a round trip of its own and then take another: pgx
// sends a batch in one mode. A prepared statement left at plan_cache_mode
// auto would weigh a generic plan after five runs, made for the tables of
// that moment: a Bundle's token match planned while the tables were small
// read every resource of the type as they grew (docs/performance.md,
// sessions 9 and 11).
func (p *pipe) queryCustomPlan(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	p.Defer(`SELECT set_config('plan_cache_mode', 'force_custom_plan', true)`)
	rows, err := p.Query(ctx, sql, args...)
	p.Defer(`RESET plan_cache_mode`)
	return rows, err
}

// CopyFrom runs a COPY after the deferred statements.
func (p *pipe) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	if err := p.Flush(ctx); err != nil {
		return 0, err
	}
	p.trips++
	return p.tx.CopyFrom(ctx, table, cols, src)
}

// batchRows are the rows of the last statement of a batch: closing them
// closes the batch.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error // the batch's own failure, found when closing it
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if !r.closed {
		r.closed = true
		if err := r.br.Close(); err != nil && r.Rows.Err() == nil {
			r.err = err
		}
	}
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// rowOf is pgx.Row over rows (as pgx's own QueryRow: the first row,
// ErrNoRows without one).
type rowOf struct{ rows pgx.Rows }

func (r rowOf) Scan(dest ...any) error {
	defer r.rows.Close()
	if !r.rows.Next() {
		r.rows.Close()
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
