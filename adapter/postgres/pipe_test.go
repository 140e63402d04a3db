package postgres

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
)

// TestPipe: deferred statements go with the next statement, in order (the
// next read sees them), cost no round trip of their own, and a deferred
// failure is reported by the statement that carried it (or by Commit) and
// fails the transaction.
func TestPipe(t *testing.T) {
	s := openTest(t, sqlstore.Options{})
	d := &driver{pool: s.pool}
	ctx := t.Context()
	if _, err := s.pool.Exec(ctx, `CREATE TABLE pipe_probe (k int PRIMARY KEY, v text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		var n int
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM pipe_probe`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	dtx, err := d.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ptx := dtx.(tx)
	if ptx.p.tx != nil {
		t.Fatal("Begin sent the BEGIN: it should wait for the first statement")
	}
	ptx.Defer(`INSERT INTO pipe_probe (k, v) VALUES ($1, $2)`, 1, "a")
	ptx.Defer(`UPDATE pipe_probe SET v = $1 WHERE k = $2`, "b", 1)
	if ptx.p.pending == nil || ptx.p.pending.Len() != 3 {
		t.Fatalf("pending: %v, want the BEGIN and 2 deferred statements", ptx.p.pending)
	}
	// A cached read carries them and sees them.
	var v string
	if err := ptx.QueryRow(ctx, `/* key */ SELECT v FROM pipe_probe WHERE k = $1`, 1).Scan(&v); err != nil || v != "b" {
		t.Fatalf("read after deferred writes: %q, %v; want b", v, err)
	}
	if ptx.p.pending != nil || ptx.p.tx == nil {
		t.Error("the read did not send the BEGIN and the deferred statements")
	}
	// A planned read (sent unnamed, alone) sends them first.
	ptx.Defer(`INSERT INTO pipe_probe (k, v) VALUES ($1, $2)`, 2, "c")
	var n int
	if err := ptx.QueryRow(ctx, `SELECT count(*) FROM pipe_probe WHERE v <> $1`, "").Scan(&n); err != nil || n != 2 {
		t.Fatalf("planned read: %d, %v; want 2", n, err)
	}
	// An Exec carries them too, and returns its own result.
	ptx.Defer(`INSERT INTO pipe_probe (k, v) VALUES ($1, $2)`, 3, "d")
	affected, err := ptx.Exec(ctx, `UPDATE pipe_probe SET v = v || 'x' WHERE k >= $1`, 2)
	if err != nil || affected != 2 {
		t.Fatalf("exec after deferred: %d, %v; want 2 rows", affected, err)
	}
	// River's view of the transaction carries them too, and cannot end it.
	ptx.Defer(`UPDATE pipe_probe SET v = $1 WHERE k = $2`, "river", 1)
	rt := riverTx{ptx.p}
	if err := rt.QueryRow(ctx, `SELECT v FROM pipe_probe WHERE k = $1`, 1).Scan(&v); err != nil || v != "river" {
		t.Fatalf("River's read after a deferred write: %q, %v; want river", v, err)
	}
	if rt.Commit(ctx) == nil || rt.Rollback(ctx) == nil {
		t.Error("River could end the store's transaction")
	}
	// Nothing is visible outside before the commit; all of it after.
	if got := count(); got != 0 {
		t.Fatalf("before commit another session sees %d rows", got)
	}
	ptx.Defer(`INSERT INTO pipe_probe (k, v) VALUES ($1, $2)`, 4, "e")
	if err := ptx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != 4 {
		t.Fatalf("after commit: %d rows, want 4 (the last deferred insert goes with the commit)", got)
	}

	// A failing deferred statement: reported by the next statement, and the
	// transaction writes nothing.
	dtx, err = d.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ptx = dtx.(tx)
	ptx.Defer(`INSERT INTO pipe_probe (k, v) VALUES ($1, $2)`, 10, "ok")
	ptx.Defer(`INSERT INTO pipe_probe (k, v) VALUES ($1, $2)`, 1, "duplicate")
	_, err = ptx.Exec(ctx, `INSERT INTO pipe_probe (k, v) VALUES ($1, $2)`, 11, "after")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		t.Fatalf("exec after a failing deferred insert: %v; want the unique violation", err)
	}
	_ = ptx.Rollback(ctx)
	if got := count(); got != 4 {
		t.Fatalf("after the failed transaction: %d rows, want 4", got)
	}

	// ... and by Commit, when nothing follows it.
	dtx, err = d.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ptx = dtx.(tx)
	ptx.Defer(`INSERT INTO pipe_probe (k, v) VALUES ($1, $2)`, 12, "ok")
	ptx.Defer(`INSERT INTO pipe_probe (k, v) VALUES ($1, NULL)`, 13)
	if err := ptx.Commit(context.WithoutCancel(ctx)); err == nil {
		t.Fatal("commit after a failing deferred insert succeeded")
	}
	if got := count(); got != 4 {
		t.Fatalf("after the failed commit: %d rows, want 4", got)
	}

	// Rollback drops what is deferred.
	dtx, err = d.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ptx = dtx.(tx)
	ptx.Defer(`INSERT INTO pipe_probe (k, v) VALUES ($1, $2)`, 14, "dropped")
	if err := ptx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != 4 {
		t.Fatalf("after rollback: %d rows, want 4", got)
	}

	// A transaction that sent nothing commits, and one rolls back, without
	// a round trip; both give their connection back. A planned read as the
	// first statement sends the BEGIN before it.
	for _, end := range []string{"commit", "rollback"} {
		dtx, err = d.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if end == "commit" {
			err = dtx.Commit(ctx)
		} else {
			err = dtx.Rollback(ctx)
		}
		if err != nil {
			t.Fatalf("%s of an empty transaction: %v", end, err)
		}
		if n := s.pool.Stat().AcquiredConns(); n != 0 {
			t.Errorf("after the %s of an empty transaction, %d connections still acquired", end, n)
		}
	}
	dtx, err = d.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ptx = dtx.(tx)
	if err := ptx.QueryRow(ctx, `SELECT count(*) FROM pipe_probe WHERE v <> $1`, "").Scan(&n); err != nil || n != 4 {
		t.Fatalf("a planned read first: %d, %v; want 4", n, err)
	}
	var inTx bool
	if err := ptx.QueryRow(ctx, `/* key */ SELECT now() = statement_timestamp()`).Scan(&inTx); err != nil || inTx {
		t.Errorf("the second statement ran outside the transaction (now() = statement_timestamp(): %v, %v)", inTx, err)
	}
	if err := ptx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.pool.Stat().AcquiredConns(); n != 0 {
		t.Errorf("after commit, %d connections still acquired", n)
	}
}
