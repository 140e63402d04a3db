package postgres

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
)

// TestAnalyze: the store analyses the tables that changed by as much as
// autovacuum waits for, and only those; a second call finds nothing to do;
// KeepStatistics does the same on its own, and stops when told. (The
// test's cluster keeps autovacuum on, but its one-minute naptime is
// longer than this test.)
func TestAnalyze(t *testing.T) {
	s := openTest(t, sqlstore.Options{})
	ctx := t.Context()
	lastAnalyze := func(table string) (time.Time, bool) {
		t.Helper()
		var at *time.Time
		if err := s.pool.QueryRow(ctx, `SELECT coalesce(last_analyze, last_autoanalyze) FROM pg_stat_user_tables WHERE relname = $1 AND schemaname = current_schema()`, table).Scan(&at); err != nil {
			t.Fatal(err)
		}
		if at == nil {
			return time.Time{}, false
		}
		return *at, true
	}
	write := func(from, n int) {
		t.Helper()
		if err := s.Transact(ctx, func(tx socialrx.Tx) error {
			for i := from; i < from+n; i++ {
				body := fmt.Sprintf(`{"resourceType":"Patient","identifier":[{"system":"urn:test","value":"%d"}],"name":[{"family":"F%d"}],"gender":"female","birthDate":"1970-01-01"}`, i, i)
				if _, err := tx.Create(ctx, "Patient", fmt.Sprintf("p%d", i), []byte(body)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// waitStats waits for the writes to reach the statistics counters
	// (PostgreSQL flushes a backend's at most once a second).
	waitStats := func(table string, atLeast int64) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; {
			var n int64
			if err := s.pool.QueryRow(ctx, `SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = $1 AND schemaname = current_schema()`, table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n >= atLeast {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d changes counted, want %d", table, n, atLeast)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	write(0, 20) // well under the threshold
	waitStats("resources", 20)
	tables, err := s.Analyze(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(tables, "resources") || slices.Contains(tables, "search_index") {
		t.Errorf("20 Patients: analysed %v, want neither resources nor search_index", tables)
	}

	write(20, 700)
	waitStats("resources", 720)
	tables, err = s.Analyze(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"resources", "resource_versions", "search_index"} {
		if !slices.Contains(tables, want) {
			t.Errorf("720 Patients: analysed %v, want %s among them", tables, want)
		}
		if _, ok := lastAnalyze(want); !ok {
			t.Errorf("%s has no last analyse time", want)
		}
	}
	if tables, err := s.Analyze(ctx); err != nil || len(tables) != 0 {
		t.Errorf("again, with nothing changed: analysed %v, %v; want none", tables, err)
	}

	before, _ := lastAnalyze("search_index")
	write(720, 700)
	waitStats("resources", 700)
	stop := s.KeepStatistics(50*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for deadline := time.Now().Add(10 * time.Second); ; {
		if at, _ := lastAnalyze("search_index"); at.After(before) {
			break
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatal("KeepStatistics did not analyse search_index after 700 more Patients")
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
}
