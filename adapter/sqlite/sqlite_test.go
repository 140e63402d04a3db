package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore/enginetest"
	"github.com/socialrx/socialrx/adapter/storetest"
)

// openTest opens a migrated store in a new directory under t.TempDir.
func openTest(t testing.TB, opts sqlstore.Options) *Store {
	t.Helper()
	s, err := open(context.Background(), filepath.Join(t.TempDir(), "data", "socialrx.db"), opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) socialrx.Store { return openTest(t, sqlstore.Options{}) })
}

func TestEngine(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, opts sqlstore.Options) enginetest.Store { return openTest(t, opts) })
}

func TestOpenCreatesDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "socialrx.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file not created: %v", err)
	}
	var mode string
	if err := s.DB().QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q (%v), want wal", mode, err)
	}
}

func TestMigrateIdempotent(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "socialrx.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cur, latest, err := s.MigrationStatus(t.Context())
	if err != nil || cur != 0 || latest < 1 {
		t.Fatalf("status before migrating: %d, %d, %v; want 0 and latest >= 1", cur, latest, err)
	}
	for i := 0; i < 2; i++ {
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("migrate %d: %v", i+1, err)
		}
		cur, latest, err := s.MigrationStatus(t.Context())
		if err != nil || cur != latest {
			t.Fatalf("status after migrate %d: current %d, latest %d, %v; want equal", i+1, cur, latest, err)
		}
	}
}

// TestReadsDoNotWaitForWriter holds a write transaction open and reads
// meanwhile: reads go to the read pool and see the last committed state.
func TestReadsDoNotWaitForWriter(t *testing.T) {
	s := openTest(t, sqlstore.Options{})
	ctx := t.Context()
	if err := s.Transact(ctx, func(tx socialrx.Tx) error {
		_, err := tx.Create(ctx, "Patient", "old", []byte(`{"resourceType":"Patient"}`))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	inTx, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Transact(ctx, func(tx socialrx.Tx) error {
			if _, err := tx.Create(ctx, "Patient", "new", []byte(`{"resourceType":"Patient"}`)); err != nil {
				return err
			}
			close(inTx)
			<-release
			return nil
		})
	}()
	<-inTx
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := s.Read(rctx, "Patient", "old"); err != nil {
		t.Errorf("read during a write transaction: %v", err)
	}
	if _, err := s.Read(rctx, "Patient", "new"); socialrx.ErrorCode(err) != socialrx.ENOTFOUND {
		t.Errorf("read of an uncommitted resource: %v, want ENOTFOUND", err)
	}
	if _, err := s.History(rctx, socialrx.HistoryRequest{}); err != nil {
		t.Errorf("history during a write transaction: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("write transaction: %v", err)
	}
	if _, err := s.Read(ctx, "Patient", "new"); err != nil {
		t.Errorf("read after commit: %v", err)
	}
}

func TestUnavailable(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// The parent "directory" is a file: it cannot be created.
	_, err := Open(t.Context(), filepath.Join(blocker, "sub", "socialrx.db"))
	if socialrx.ErrorCode(err) != socialrx.EUNAVAILABLE {
		t.Errorf("open under a file: %v, want EUNAVAILABLE", err)
	}
}

// TestPartialIndexesUsed: a search clause of every kind is planned on its
// kind's partial index (a clause that stopped naming its kind would scan
// the table).
func TestPartialIndexesUsed(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	enginetest.CheckPlans(t, func(q string, args []any) (string, error) {
		rows, err := s.DB().QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			return "", err
		}
		defer rows.Close()
		var plan strings.Builder
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				return "", err
			}
			plan.WriteString(detail + "\n")
		}
		return plan.String(), rows.Err()
	})
}

// TestMigrationIndexKinds: migration 00004 gives rows written before it the
// kind of their parameter's type (read from the columns the indexer fills)
// and drops the _id and _lastUpdated rows; its Down puts those back.
func TestMigrationIndexKinds(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.provider()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	db := s.DB()
	for _, q := range enginetest.OldIndexRows {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := p.UpTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	rows, err := db.QueryContext(ctx, "SELECT param, kind FROM search_index")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var param, kind string
		if err := rows.Scan(&param, &kind); err != nil {
			t.Fatal(err)
		}
		got[param] = kind
	}
	rows.Close()
	if diff := cmp.Diff(enginetest.OldIndexKinds, got); diff != "" {
		t.Errorf("kinds after the migration (-want +got):\n%s", diff)
	}
	if _, err := p.DownTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM search_index WHERE param IN ('_id', '_lastUpdated') AND res_id = 'p1'").Scan(&n); err != nil || n != 2 {
		t.Errorf("after Down: %d _id and _lastUpdated rows of the live Patient (%v), want 2", n, err)
	}
}

// TestMigrationReindexes: rows stored before a migration that adds search
// parameters are found by them once Migrate has run it
// (sqlstore.ReindexAfterMigrations): migration 00007 (near and the
// directory's parameters), 00009 (available-at).
func TestMigrationReindexes(t *testing.T) {
	for _, tc := range enginetest.ReindexCases {
		t.Run(tc.Name, func(t *testing.T) {
			ctx := t.Context()
			s, err := Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			p, err := s.provider()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(ctx, tc.Before); err != nil {
				t.Fatal(err)
			}
			for _, q := range tc.Rows {
				if _, err := s.DB().ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			enginetest.MigrateWithProgress(t, ctx, s.Migrate)
			tc.Check(t, s)
		})
	}
}

// TestMigrationReportByProgram: migration 00011 rebuilds the report's
// projection from the rows written before it (enginetest.PreReportRows).
func TestMigrationReportByProgram(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.provider()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 10); err != nil {
		t.Fatal(err)
	}
	for _, q := range enginetest.PreReportRows {
		if _, err := s.DB().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	enginetest.CheckReportRebuilt(t, s)
}
