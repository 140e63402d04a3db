package postgres

import (
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
	"github.com/socialrx/socialrx/adapter/pgtest"
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

// TestMatchTokensPlannedPerRun: the conditional match of a Bundle's
// identifiers (matchTokensSQL) keeps reading a handful of index rows per
// condition when the tables grow from 5 to 3,005 Patients with no ANALYZE
// in between (rows read from the statistics, not timed). A plan made once
// and kept (a prepared statement's generic plan, or a PL/pgSQL function's,
// tried in session 11) was made for the empty tables: it starts from
// resources by type, and socialrx-bench's ingest into a fresh database fell
// to 87 bundles/s, the match taking 18.8 ms (docs/performance.md). So the
// match is planned at every run, for the tables as they are.
func TestMatchTokensPlannedPerRun(t *testing.T) {
	ctx := t.Context()
	s := openOneConn(t) // one backend: one prepared statement, its counters flushed when asked
	match := func(ids ...int) {
		t.Helper()
		var reqs []socialrx.SearchRequest
		for _, i := range ids {
			reqs = append(reqs, socialrx.SearchRequest{Type: "Patient", Match: true,
				Params: url.Values{"identifier": {fmt.Sprintf("https://health.gov.on.ca/ohip|9%09d", i)}}})
		}
		if err := s.Transact(ctx, func(tx socialrx.Tx) error {
			res, err := tx.(socialrx.MatchManyTx).MatchMany(ctx, reqs)
			if err != nil {
				return err
			}
			for k, r := range res {
				if r == nil || len(r.Matches) != 1 || r.Matches[0].ID != fmt.Sprintf("p%d", ids[k]) {
					t.Fatalf("match of p%d: %+v", ids[k], r)
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	read := func() int64 { return rowsRead(t, s, "search_index", "resources") }

	createPatients(t, s, 0, 5)
	// Past the five runs after which PostgreSQL weighs a generic plan.
	// Twelve conditions first: custom plans for 12 look dearer than the
	// generic plan, costed for arrays of 10, which plan_cache_mode auto
	// would then keep.
	for range 8 {
		match(0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1)
	}
	for range 8 {
		match(1, 2, 3)
	}
	createPatients(t, s, 5, 3005)
	match(10, 20, 30)
	before := read()
	match(100, 2000, 3000)
	if got := read() - before; got > 60 {
		t.Errorf("a three-condition match over 3,005 Patients read %d rows, want a few per condition (a plan made for 5 Patients?)", got)
	}
	// In a transaction the match is a prepared statement (it rides in the
	// pipe: queryCustomPlan), planned at every run all the same.
	var generic, custom int64
	if err := s.Pool().QueryRow(ctx, `SELECT generic_plans, custom_plans FROM pg_prepared_statements
WHERE statement LIKE '/* custom */ %'`).Scan(&generic, &custom); err != nil {
		t.Fatalf("the match's prepared statement: %v", err)
	}
	if generic != 0 || custom < 18 {
		t.Errorf("the match's prepared statement: %d generic plans, %d custom; want none generic, one custom a run (18)", generic, custom)
	}
}

// createPatients stores Patients p<from> to p<to-1> in one transaction,
// each with OHIP number 9<i, nine digits> (the identifier the token match
// looks up).
func createPatients(t *testing.T, s *Store, from, to int) {
	t.Helper()
	ctx := t.Context()
	if err := s.Transact(ctx, func(tx socialrx.Tx) error {
		for i := from; i < to; i++ {
			body := fmt.Sprintf(`{"resourceType":"Patient","identifier":[{"system":"https://health.gov.on.ca/ohip","value":"9%09d"}],"name":[{"family":"F%d"}],"gender":"female"}`, i, i)
			if _, err := tx.Create(ctx, "Patient", fmt.Sprintf("p%d", i), []byte(body)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// rowsRead is how many rows the scans of tables (and their indexes) have
// read so far, from the statistics of a store whose pool has one
// connection (its counters are flushed first).
func rowsRead(t *testing.T, s *Store, tables ...string) int64 {
	t.Helper()
	ctx := t.Context()
	if _, err := s.Pool().Exec(ctx, "SELECT pg_stat_force_next_flush()"); err != nil {
		t.Fatal(err)
	}
	var v int64
	if err := s.Pool().QueryRow(ctx, `SELECT (SELECT COALESCE(sum(idx_tup_read), 0) FROM pg_stat_user_indexes WHERE relname = ANY($1))
		+ (SELECT COALESCE(sum(seq_tup_read), 0) FROM pg_stat_user_tables WHERE relname = ANY($1))`, tables).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// openOneConn is a fresh migrated store whose pool has one connection: one
// session, whose prepared statements and statistics counters are all of
// the store's (closed when t ends).
func openOneConn(t *testing.T) *Store {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	s, err := open(t.Context(), cfg, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReadManyGenericPlan: ReadMany and the locking read of a batch are
// prepared statements (sqlstore.KeyLookup) whose plan PostgreSQL may keep
// after five runs (today it keeps planning batches of a few keys, but a
// larger batch or another version may not); a plan kept from when the
// tables held five Patients must still look each key up by the primary
// key when they hold 3,005.
func TestReadManyGenericPlan(t *testing.T) {
	ctx := t.Context()
	s := openOneConn(t)
	readMany := func(ids ...int) {
		t.Helper()
		var refs []string
		for _, i := range ids {
			refs = append(refs, fmt.Sprintf("Patient/p%d", i))
		}
		got, err := s.ReadMany(ctx, refs)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ids) {
			t.Fatalf("ReadMany of %v: %d resources", ids, len(got))
		}
	}
	lockMany := func(ids ...int) { // as tx.LockCurrentMany sends it: pgx's default mode, a cached prepared statement
		t.Helper()
		var types, keys []string
		for _, i := range ids {
			types, keys = append(types, "Patient"), append(keys, fmt.Sprintf("p%d", i))
		}
		ptx, err := s.Pool().Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = ptx.Rollback(ctx) }()
		rows, err := ptx.Query(ctx, lockManySQL, types, keys)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		if rows.Close(); rows.Err() != nil || n != len(ids) {
			t.Fatalf("lockManySQL of %v: %d rows, %v", ids, n, rows.Err())
		}
	}
	createPatients(t, s, 0, 5)
	for range 8 { // past the five runs after which PostgreSQL weighs a generic plan
		readMany(1, 2, 3)
		lockMany(1, 2, 3)
	}
	createPatients(t, s, 5, 3005)
	before := rowsRead(t, s, "resources")
	readMany(100, 2000, 3000)
	lockMany(100, 2000, 3000)
	if got := rowsRead(t, s, "resources") - before; got > 12 {
		t.Errorf("ReadMany and LockCurrentMany of three keys over 3,005 Patients read %d rows, want one per key (a plan made for 5 Patients?)", got)
	}
}
