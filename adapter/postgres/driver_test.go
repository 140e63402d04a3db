package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
	"github.com/socialrx/socialrx/mapping"
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

// TestAuditWriterOwnConnection: the buffered audit trail is written
// through a connection of its own, so it goes on while every connection of
// the API's pool is taken (and, measured, costs the API's searches nothing:
// docs/performance.md, issue 13). Through the shared pool the append would
// wait for a connection until its deadline.
func TestAuditWriterOwnConnection(t *testing.T) {
	s := openTest(t, sqlstore.Options{})
	ctx := t.Context()
	var held []interface{ Release() }
	for range s.Pool().Config().MaxConns {
		c, err := s.Pool().Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	defer func() {
		for _, c := range held {
			c.Release()
		}
	}()
	recs := auditTestRecords(t, 3)
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.AppendAuditLog(actx, recs); err != nil {
		t.Fatalf("AppendAuditLog with the pool taken: %v", err)
	}
	for _, c := range held {
		c.Release()
	}
	held = nil
	for _, r := range recs {
		if _, err := s.Read(ctx, "AuditEvent", r.ID); err != nil {
			t.Errorf("AuditEvent %s not stored: %v", r.ID, err)
		}
	}
}

// auditTestRecords are n read AuditEvents' records.
func auditTestRecords(t *testing.T, n int) []socialrx.AuditRecord {
	var out []socialrx.AuditRecord
	for i := range n {
		r, err := mapping.AuditRecordOf(socialrx.AuditEvent{
			ID: uuid.Must(uuid.NewV7()).String(), Recorded: time.Now(), Kind: socialrx.AuditREST, Subtype: "read",
			Action: socialrx.AuditRead, Outcome: socialrx.AuditSuccess, ClientID: "emr",
			Entity: fmt.Sprintf("Observation/o%d", i), Patient: "Patient/p1", Version: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// TestIsRead: which statements the driver plans at every run (reads) and
// which it prepares (writes, key lookups).
func TestIsRead(t *testing.T) {
	for sql, want := range map[string]bool{
		"SELECT r.type FROM resources r WHERE r.type = $1": true,
		"\n  select 1":                         true,
		"WITH x AS (SELECT 1) SELECT * FROM x": true,
		sqlstore.KeyLookup + "SELECT body FROM resources WHERE type = $1 AND id = $2":                                                        false,
		"INSERT INTO outbox (id) VALUES ($1)":                                                                                                false,
		"WITH s AS (SELECT nextval('resource_seq') AS seq), cur AS (INSERT INTO resources (type) SELECT $1 FROM s) SELECT count(*) FROM cur": false,
		"SELECT nextval('resource_seq')":                                                                                                     false,
		"DELETE FROM search_index WHERE res_id = $1":                                                                                         false,
	} {
		if got := isRead(sql); got != want {
			t.Errorf("isRead(%q) = %v, want %v", sql, got, want)
		}
	}
}

// TestAuditAppendAfterClose: an Auditor's last batch arriving after the
// store closed is an error (the Auditor counts it failed), not a panic on
// a connection that was never opened.
func TestAuditAppendAfterClose(t *testing.T) {
	s := openTest(t, sqlstore.Options{})
	_ = s.Close()
	if err := s.AppendAuditLog(t.Context(), auditTestRecords(t, 1)); err == nil {
		t.Fatal("AppendAuditLog after Close: no error")
	}
}
