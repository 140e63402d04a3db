package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
)

// newJobs returns the River job inserter of this store (sqlstore.RiverJobs
// over its driver), which inserts on the engine's own transaction.
func newJobs(pool *pgxpool.Pool) (*sqlstore.RiverJobs[pgx.Tx], error) {
	return sqlstore.NewRiverJobs(riverpgxv5.New(pool), func(d sqlstore.DriverTx) (pgx.Tx, bool) {
		t, ok := d.(tx)
		if !ok {
			return nil, false
		}
		return riverTx{t.p}, true
	})
}

// riverTx is the store transaction as River sees it: its statements go
// through the pipe, so River's job insert carries the statements deferred
// before it (one round trip for both); whatever else River could do on it
// sends them (and the BEGIN, if still deferred) first.
type riverTx struct {
	p *pipe
}

var _ pgx.Tx = riverTx{}

// Conn is the transaction's connection (River reads its type map).
func (t riverTx) Conn() *pgx.Conn { return t.p.conn.Conn() }

func (t riverTx) LargeObjects() pgx.LargeObjects {
	_ = t.p.begun(context.Background())
	return t.p.tx.LargeObjects()
}

// Exec runs River's statement after (and with) the deferred ones. River's
// notification of a job inserted (its sqlc query PGNotifyMany, a
// pg_notify, which PostgreSQL sends only at commit anyway) is deferred
// itself: River reads nothing of it but its error, and a failure (a
// payload over 8,000 bytes) fails the transaction, reported by the next
// statement or the commit. One round trip less per job-inserting
// transaction; should River rename the query, it is merely sent at once
// again.
func (t riverTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if strings.HasPrefix(sql, riverNotifySQL) {
		t.p.Defer(sql, args...)
		return pgconn.CommandTag{}, nil
	}
	return t.p.Exec(ctx, sql, args...)
}

// riverNotifySQL begins River's PGNotifyMany (riverpgxv5 internal/dbsqlc).
const riverNotifySQL = "-- name: PGNotifyMany :exec"

func (t riverTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.p.Query(ctx, sql, args...)
}

func (t riverTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.p.QueryRow(ctx, sql, args...)
}

func (t riverTx) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	return t.p.CopyFrom(ctx, table, cols, src)
}

// SendBatch sends what is deferred first. Should that fail, the
// transaction is aborted and the batch fails with it (River's insert sends
// no batch).
func (t riverTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if err := t.p.Flush(ctx); err != nil && t.p.tx == nil {
		return pgx.FailedBatchResults(b, err)
	}
	return t.p.tx.SendBatch(ctx, b)
}

func (t riverTx) Begin(ctx context.Context) (pgx.Tx, error) {
	if err := t.p.Flush(ctx); err != nil {
		return nil, err
	}
	return t.p.tx.Begin(ctx)
}

func (t riverTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	if err := t.p.Flush(ctx); err != nil {
		return nil, err
	}
	return t.p.tx.Prepare(ctx, name, sql)
}

func (t riverTx) Commit(ctx context.Context) error {
	return errors.New("postgres: River may not end the store's transaction")
}

func (t riverTx) Rollback(ctx context.Context) error {
	return errors.New("postgres: River may not end the store's transaction")
}

// migrateRiver applies River's own migrations (after the project's).
func migrateRiver(ctx context.Context, pool *pgxpool.Pool) error {
	return sqlstore.MigrateRiver(ctx, riverpgxv5.New(pool))
}
