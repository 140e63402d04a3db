package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
)

// driver is the sqlstore.Driver over two database/sql pools on one file: the
// single writer connection and a read-only pool.
type driver struct {
	w, r *sql.DB

	mu     sync.Mutex
	insIdx *sql.Stmt // one-row INSERT INTO search_index, prepared once on w
}

var insertIndexSQL = "INSERT INTO search_index (" + strings.Join(sqlstore.IndexColumns, ", ") + ") VALUES (" +
	strings.TrimSuffix(strings.Repeat("?, ", len(sqlstore.IndexColumns)), ", ") + ")"

// prepare prepares the one-row index INSERT once on the single writer
// connection, so that transactions reuse it (tx.StmtContext does not prepare
// again on the same connection) instead of SQLite compiling a statement per
// write. It is called before a transaction takes the connection, and fails
// quietly until the migrations have created the table.
func (d *driver) prepare(ctx context.Context) *sql.Stmt {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.insIdx == nil {
		if st, err := d.w.PrepareContext(ctx, insertIndexSQL); err == nil {
			d.insIdx = st
		}
	}
	return d.insIdx
}

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

type tx struct {
	querier
	tx *sql.Tx
	st *sql.Stmt // the prepared index INSERT, nil if not prepared
}

// InsertIndex writes the rows with the prepared one-row INSERT.
func (t tx) InsertIndex(ctx context.Context, rows []sqlstore.IndexRow) error {
	if t.st == nil {
		for i := range rows {
			if _, err := t.tx.ExecContext(ctx, insertIndexSQL, rows[i].Args()...); err != nil {
				return err
			}
		}
		return nil
	}
	st := t.tx.StmtContext(ctx, t.st)
	for i := range rows {
		if _, err := st.ExecContext(ctx, rows[i].Args()...); err != nil {
			return err
		}
	}
	return nil
}

func (t tx) Commit(context.Context) error   { return t.tx.Commit() }
func (t tx) Rollback(context.Context) error { return t.tx.Rollback() }

func (d *driver) Reader() sqlstore.Querier { return querier{d.r} }

func (d *driver) Begin(ctx context.Context) (sqlstore.DriverTx, error) {
	st := d.prepare(ctx)
	t, err := d.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock in the DSN)
	if err != nil {
		return nil, err
	}
	return tx{querier{t}, t, st}, nil
}

func (d *driver) Dialect() sqlstore.Dialect {
	return sqlstore.Dialect{
		Name:       "sqlite",
		ForUpdate:  "",
		NextSeq:    "UPDATE version_seq SET value = value + 1 WHERE id = 1 RETURNING value",
		CurrentSeq: "SELECT value FROM version_seq WHERE id = 1",
	}
}

func (d *driver) Ping(ctx context.Context) error {
	if err := d.w.PingContext(ctx); err != nil {
		return err
	}
	return d.r.PingContext(ctx)
}

func (d *driver) Close() error {
	d.mu.Lock()
	if d.insIdx != nil {
		_ = d.insIdx.Close()
	}
	d.mu.Unlock()
	return errors.Join(d.r.Close(), d.w.Close())
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
