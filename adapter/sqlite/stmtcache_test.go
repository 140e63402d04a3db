package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
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
	for _, q := range []string{"BEGIN", "SAVEPOINT s1", "PRAGMA user_version", "CREATE TABLE x (a); INSERT INTO x VALUES (1)"} {
		if cacheable(q) {
			t.Errorf("cacheable(%q) = true", q)
		}
	}
	for _, q := range []string{"-- name: JobInsertFastMany :many\nINSERT INTO river_job (a) VALUES (1)", "with x as (select 1) select * from x", "SELECT 1;"} {
		if !cacheable(q) {
			t.Errorf("cacheable(%q) = false", q)
		}
	}
}
