package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/socialrx/socialrx"
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

// TestRoundTrips counts the round trips of the writes an encounter Bundle
// makes (pipe.trips): creates of minted ids and updates of locked rows wait
// in the pipe (Version.Deferrable), the token match rides with the BEGIN and
// the advisory locks (queryCustomPlan) with a deferred read (a prefetch),
// River's notification is deferred, and the commit goes with whatever is
// still pending. What was written is
// read back, and a deferred write that finds its row gone fails the
// transaction.
func TestRoundTrips(t *testing.T) {
	s := openTest(t, sqlstore.Options{})
	d := &driver{pool: s.pool}
	ctx := t.Context()
	begin := func() tx {
		t.Helper()
		dtx, err := d.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return dtx.(tx)
	}
	patient := func(id, family string, version int64, insert bool) *sqlstore.Version {
		body := `{"resourceType":"Patient","id":"` + id + `","name":[{"family":"` + family + `"}]}`
		return &sqlstore.Version{Type: "Patient", ID: id, Version: version, LastUpdated: 1e15 + version, Body: []byte(body), Insert: insert, Deferrable: true,
			Index: []sqlstore.IndexRow{{ResType: "Patient", ResID: id, Param: "identifier", System: "urn:probe", Code: id, Kind: sqlstore.KindToken}}}
	}
	current := func(id string) (version int64, body string) {
		t.Helper()
		if err := s.pool.QueryRow(ctx, `SELECT version, body::text FROM resources WHERE type = 'Patient' AND id = $1`, id).Scan(&version, &body); err != nil {
			t.Fatalf("read %s: %v", id, err)
		}
		return version, body
	}

	// Three creates of minted ids and the commit: one round trip, BEGIN
	// included.
	ptx := begin()
	for _, id := range []string{"rt-a", "rt-b", "rt-c"} {
		if ok, err := ptx.Put(ctx, patient(id, "First", 1, true)); err != nil || !ok {
			t.Fatalf("deferred create %s: %v, %v", id, ok, err)
		}
	}
	if ptx.p.trips != 0 {
		t.Errorf("the deferred creates took %d round trips before the commit, want 0", ptx.p.trips)
	}
	p := ptx.p
	if err := ptx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if p.trips != 1 {
		t.Errorf("three deferred creates and the commit: %d round trips, want 1", p.trips)
	}
	for _, id := range []string{"rt-a", "rt-b", "rt-c"} {
		if v, body := current(id); v != 1 || !strings.Contains(body, "First") {
			t.Errorf("%s after commit: version %d, %s", id, v, body)
		}
	}

	// An encounter's shape: the BEGIN, an advisory lock and the token match
	// in one round trip; an update of the locked row and a River
	// notification deferred; the commit in a second.
	listen, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer listen.Release()
	if _, err := listen.Exec(ctx, `LISTEN socialrx_probe`); err != nil {
		t.Fatal(err)
	}
	ptx = begin()
	p = ptx.p
	ptx.Defer(`SELECT pg_advisory_xact_lock($1)`, int64(42))
	var prefetched []string
	ptx.DeferRead(readManySQL, func(r sqlstore.Rows) error {
		for r.Next() {
			var typ, id string
			var version, lastUpdated int64
			var deleted bool
			var body []byte
			if err := r.Scan(&typ, &id, &version, &lastUpdated, &deleted, &body); err != nil {
				return err
			}
			prefetched = append(prefetched, id)
		}
		return nil
	}, []string{"Patient", "Patient"}, []string{"rt-a", "rt-none"})
	rows, err := ptx.Query(ctx, sqlstore.CustomPlan+matchTokensSQL,
		[]int32{0}, []string{"Patient"}, []string{"identifier"}, []string{"urn:probe"}, []string{"rt-b"})
	if err != nil {
		t.Fatal(err)
	}
	var matched []string
	for rows.Next() {
		var q int32
		var typ, id string
		var version, lastUpdated int64
		var body []byte
		if err := rows.Scan(&q, &typ, &id, &version, &lastUpdated, &body); err != nil {
			t.Fatal(err)
		}
		matched = append(matched, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(matched) != 1 || matched[0] != "rt-b" {
		t.Fatalf("token match: %v, %v; want rt-b", matched, err)
	}
	if p.trips != 1 {
		t.Errorf("BEGIN, lock, a deferred read and token match: %d round trips, want 1", p.trips)
	}
	if len(prefetched) != 1 || prefetched[0] != "rt-a" {
		t.Errorf("the deferred read handed %v, want rt-a", prefetched)
	}
	if _, err := ptx.LockCurrentMany(ctx, []sqlstore.Key{{Type: "Patient", ID: "rt-b"}}); err != nil {
		t.Fatal(err)
	}
	if ok, err := ptx.Put(ctx, patient("rt-b", "Second", 2, false)); err != nil || !ok {
		t.Fatalf("deferred update: %v, %v", ok, err)
	}
	if _, err := (riverTx{p}).Exec(ctx, riverNotifySQL+"\nSELECT pg_notify($1, $2)", "socialrx_probe", "job"); err != nil {
		t.Fatal(err)
	}
	if p.trips != 2 {
		t.Errorf("after the lock of the row, the deferred update and the notification: %d round trips, want 2", p.trips)
	}
	if err := ptx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if p.trips != 3 {
		t.Errorf("the commit: %d round trips in all, want 3", p.trips)
	}
	if v, body := current("rt-b"); v != 2 || !strings.Contains(body, "Second") {
		t.Errorf("rt-b after the deferred update: version %d, %s", v, body)
	}
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if n, err := listen.Conn().WaitForNotification(wait); err != nil || n.Payload != "job" {
		t.Errorf("the deferred notification: %v, %v; want payload job after the commit", n, err)
	}

	// A deferred update whose row is gone (no lock was taken: only a bug
	// could do it) fails the transaction; nothing of it stays.
	ptx = begin()
	if _, err := ptx.Put(ctx, patient("rt-d", "Third", 1, true)); err != nil {
		t.Fatal(err)
	}
	if _, err := ptx.Put(ctx, patient("rt-missing", "Third", 2, false)); err != nil {
		t.Fatal(err)
	}
	err = ptx.Commit(context.WithoutCancel(ctx))
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || !strings.Contains(pe.Message, "locked current row") {
		t.Errorf("commit after a deferred update of a missing row: %v; want socialrx_write_check's failure", err)
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM resource_versions WHERE id = 'rt-d'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("rt-d after the failed transaction: %d versions, %v; want none", n, err)
	}
	// A reader's own failure: reported by the statement that carried its
	// read; at the commit, which the server made all the same, dropped.
	failing := func(sqlstore.Rows) error { return errors.New("reader refused") }
	ptx = begin()
	ptx.DeferRead(readManySQL, failing, []string{"Patient"}, []string{"rt-a"})
	if _, err := ptx.Exec(ctx, `SELECT 1`); err == nil || !strings.Contains(err.Error(), "reader refused") {
		t.Errorf("a statement carrying a failing reader's read: %v, want the reader's error", err)
	}
	_ = ptx.Rollback(ctx)
	ptx = begin()
	if _, err := ptx.Put(ctx, patient("rt-e", "Fifth", 1, true)); err != nil {
		t.Fatal(err)
	}
	ptx.DeferRead(readManySQL, failing, []string{"Patient"}, []string{"rt-a"})
	if err := ptx.Commit(ctx); err != nil {
		t.Errorf("a commit carrying a failing reader's read: %v, want it made", err)
	}
	if v, _ := current("rt-e"); v != 1 {
		t.Errorf("rt-e after that commit: version %d, want 1", v)
	}
	if n := s.pool.Stat().AcquiredConns(); n != 1 { // the listener's
		t.Errorf("after the failed commit, %d connections acquired, want the listener's only", n)
	}
}

// TestPrefetchRidesAlong: on PostgreSQL a transaction's Prefetch (the
// conformance suite checks what it hands, where a store reads ahead at
// all) reads ahead for real: the live resources named come with the
// transaction's next statement, in its round trip.
func TestPrefetchRidesAlong(t *testing.T) {
	s := openTest(t, sqlstore.Options{})
	ctx := t.Context()
	for _, id := range []string{"pa", "pb"} {
		if err := s.Transact(ctx, func(tx socialrx.Tx) error {
			_, err := tx.Create(ctx, "Patient", id, []byte(`{"resourceType":"Patient"}`))
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	var handed []string
	if err := s.Transact(ctx, func(tx socialrx.Tx) error {
		tx.(socialrx.PrefetchTx).Prefetch([]string{"Patient/pa", "Patient/missing", "Patient/pb"}, func(r socialrx.Resource) {
			handed = append(handed, r.ID)
		})
		if len(handed) != 0 {
			t.Errorf("Prefetch handed %v before any statement went", handed)
		}
		_, err := tx.Read(ctx, "Patient", "pa") // carries the read ahead
		return err
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(handed)
	if !slices.Equal(handed, []string{"pa", "pb"}) {
		t.Errorf("Prefetch handed %v, want pa and pb", handed)
	}
}

// TestPendingBytesBounded: a transaction's deferred writes are sent once
// their bodies pass maxPendingBytes, not held to the commit in one batch;
// every write still lands, and a deferred failure is reported by the Put
// whose flush carried it.
func TestPendingBytesBounded(t *testing.T) {
	s := openTest(t, sqlstore.Options{})
	d := &driver{pool: s.pool}
	ctx := t.Context()
	pad := strings.Repeat("x", 100_000)
	patient := func(id string) *sqlstore.Version {
		body := `{"resourceType":"Patient","id":"` + id + `","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">` + pad + `</div>"}}`
		return &sqlstore.Version{Type: "Patient", ID: id, Version: 1, LastUpdated: 1e15, Body: []byte(body), Insert: true, Deferrable: true}
	}
	dtx, err := d.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A Fatal before the commit must still give the connection back, or
	// the store's Close waits for it forever.
	defer func() { _ = dtx.Rollback(context.Background()) }()
	ptx := dtx.(tx)
	const n = 40 // 4 MB of bodies: 3 batches sent before the commit
	for i := range n {
		if ok, err := ptx.Put(ctx, patient(fmt.Sprint("big-", i))); err != nil || !ok {
			t.Fatalf("deferred create %d: %v, %v", i, ok, err)
		}
		if ptx.p.pendingBytes >= maxPendingBytes {
			t.Fatalf("after create %d: %d bytes pending, bound %d", i, ptx.p.pendingBytes, maxPendingBytes)
		}
	}
	if want := n * len(patient("big-0").Body) / maxPendingBytes; ptx.p.trips != want {
		t.Errorf("%d round trips before the commit, want %d", ptx.p.trips, want)
	}
	if err := ptx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var got int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM resources WHERE id LIKE 'big-%'`).Scan(&got); err != nil || got != n {
		t.Fatalf("%d resources written (%v), want %d", got, err, n)
	}

	// The id taken: the Put that sends the batch reports it, and the
	// transaction cannot commit.
	dtx, err = d.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = dtx.Rollback(context.Background()) }()
	ptx = dtx.(tx)
	var failed error
	for i := 0; i < n && failed == nil; i++ {
		_, failed = ptx.Put(ctx, patient(fmt.Sprint("big-", i)))
	}
	if failed == nil || !strings.Contains(failed.Error(), "taken") {
		t.Errorf("creates of taken ids: %v, want the deferred check's failure", failed)
	}
	if err := ptx.Commit(ctx); err == nil {
		t.Error("a transaction whose deferred write failed committed")
	}
}
