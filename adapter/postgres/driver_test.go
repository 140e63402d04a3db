package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
)

// running counts the statements other sessions are running whose text
// holds marker.
func running(t *testing.T, s *Store, marker string) int {
	t.Helper()
	var n int
	err := s.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE '%' || $1 || '%'`,
		marker).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitStopped fails unless no session runs a statement holding marker
// within a few seconds (polled; the statement itself would run 30 s).
func waitStopped(t *testing.T, s *Store, marker string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for running(t, s, marker) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the statement %s still runs on the server after its context ended", marker)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStatementStopsAtDeadline: a statement whose context ends is stopped
// on the server, not only abandoned by the client (pgx closes the
// connection and sends a cancel request; this guards that behaviour).
func TestStatementStopsAtDeadline(t *testing.T) {
	s := openTest(t, sqlstore.Options{})
	d := &driver{pool: s.pool}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := d.Reader().Exec(ctx, "SELECT pg_sleep(30) /* probe-read */")
	if err == nil {
		t.Fatal("pg_sleep(30) with a 300ms deadline succeeded")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the call returned after %s; its deadline was 300ms", took)
	}
	waitStopped(t, s, "probe-read")
	// The pool still works.
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping after a cancelled statement: %v", err)
	}
}

// TestTransactionStatementTimeout: a transaction begun with a deadline has
// the time left (plus statementTimeoutSlack) as its statement_timeout, so
// the server stops a statement even when nothing cancels it from the
// client; without a deadline there is none.
func TestTransactionStatementTimeout(t *testing.T) {
	s := openTest(t, sqlstore.Options{})
	d := &driver{pool: s.pool}

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	tx, err := d.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// context.Background: only the server's statement_timeout can stop it.
	_, err = tx.Exec(context.Background(), "SELECT pg_sleep(30) /* probe-tx */")
	_ = tx.Rollback(context.Background())
	if err == nil {
		t.Fatal("pg_sleep(30) in a transaction with a 300ms deadline succeeded")
	}
	if got := socialrx.ErrorCode(translate(err)); got != socialrx.EUNAVAILABLE {
		t.Errorf("code of the cancelled statement: got %q, want %q (%v)", got, socialrx.EUNAVAILABLE, err)
	}
	waitStopped(t, s, "probe-tx")

	tx, err = d.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	var v string
	if err := tx.QueryRow(t.Context(), "SHOW statement_timeout").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != "0" {
		t.Errorf("statement_timeout without a deadline: got %q, want 0", v)
	}
}
