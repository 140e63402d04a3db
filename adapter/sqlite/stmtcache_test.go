package sqlite

import (
	"context"
	"net/url"
	"path/filepath"
	"slices"
	"testing"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
)

// TestStatementCache: the writer compiles a repeated statement once, a
// second use while its rows are open gets its own statement (both read
// right), a statement that failed is compiled again, and transaction
// control is never cached.
func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db := s.DB()
	if _, err := db.ExecContext(ctx, "CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	base := s.drv.wc.compiled.Load()
	for i := range 20 {
		if _, err := db.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (?1, ?2)", i, "v"); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.drv.wc.compiled.Load() - base; got != 1 {
		t.Errorf("20 runs of one INSERT compiled %d statements, want 1", got)
	}

	// Nested, on one connection (a transaction): the outer rows of a
	// statement stay open while the same statement runs again.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	const q = "SELECT k FROM kv WHERE k < ?1 ORDER BY k"
	keys := func(rows interface {
		Next() bool
		Scan(...any) error
	}) []int {
		var out []int
		for rows.Next() {
			var k int
			if err := rows.Scan(&k); err != nil {
				t.Fatal(err)
			}
			out = append(out, k)
		}
		return out
	}
	outer, err := tx.QueryContext(ctx, q, 3)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]int
	for outer.Next() {
		var k int
		if err := outer.Scan(&k); err != nil {
			t.Fatal(err)
		}
		inner, err := tx.QueryContext(ctx, q, k+1)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, keys(inner))
		inner.Close()
	}
	outer.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if want := [][]int{{0}, {0, 1}, {0, 1, 2}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("nested runs of one statement read %v, want %v", got, want)
	}

	// A failing run drops its statement; the next run compiles it again.
	before := s.drv.wc.compiled.Load()
	if _, err := db.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (?1, ?2)", 1, "dup"); err == nil {
		t.Fatal("a duplicate key was inserted")
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (?1, ?2)", 100, "v"); err != nil {
		t.Fatal(err)
	}
	if got := s.drv.wc.compiled.Load() - before; got != 1 {
		t.Errorf("after a failed run, %d compilations, want 1", got)
	}
	for _, q := range []string{"BEGIN", "SAVEPOINT s1", "PRAGMA user_version", "/* key */ PRAGMA user_version", "/* open", "CREATE TABLE x (a); INSERT INTO x VALUES (1)"} {
		if cacheable(q) {
			t.Errorf("cacheable(%q) = true", q)
		}
	}
	for _, q := range []string{"-- name: JobInsertFastMany :many\nINSERT INTO river_job (a) VALUES (1)", "with x as (select 1) select * from x", "SELECT 1;", sqlstore.KeyLookup + "SELECT 1"} {
		if !cacheable(q) {
			t.Errorf("cacheable(%q) = false", q)
		}
	}
}

// TestReaderStatementCache: reads and searches on the read pool reuse their
// compiled statements. Until session 11 only the writer cached, and every
// read by id compiled its SELECT (the key lookup's "/* key */" prefix kept
// it out of the writer's cache too): a read cost ~30% and a search ~50%
// more CPU (docs/performance.md).
func TestReaderStatementCache(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Transact(ctx, func(tx socialrx.Tx) error {
		_, err := tx.Create(ctx, "Patient", "p1", []byte(`{"resourceType":"Patient","name":[{"family":"Chalmers"}]}`))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// The writer: a key lookup inside a transaction is compiled once.
	wbase := s.drv.wc.compiled.Load()
	for range 10 {
		if err := s.Transact(ctx, func(tx socialrx.Tx) error {
			_, err := tx.Read(ctx, "Patient", "p1")
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.drv.wc.compiled.Load() - wbase; got > 1 {
		t.Errorf("10 reads by id in transactions compiled %d statements on the writer, want at most 1", got)
	}
	// The readers: each connection compiles a statement once.
	base := s.drv.rc.compiled.Load()
	for range 50 {
		if _, err := s.Read(ctx, "Patient", "p1"); err != nil {
			t.Fatal(err)
		}
		res, err := s.Search(ctx, socialrx.SearchRequest{Type: "Patient", Params: url.Values{"family": {"chalmers"}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Matches) != 1 {
			t.Fatalf("search found %d Patients, want 1", len(res.Matches))
		}
	}
	conns := int64(s.drv.r.Stats().OpenConnections)
	// A read is one statement; a search its page and its total.
	if got, most := s.drv.rc.compiled.Load()-base, 4*conns; got > most {
		t.Errorf("50 reads and searches compiled %d statements on %d reader connections, want at most %d", got, conns, most)
	}
}
