package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore/enginetest"
)

// The benchmarks come in families: the store, and plain-SQL baselines
// writing or reading the same JSON on the same cluster in the same run
// (docs/performance.md reports them as ratios):
//
//   - Baseline...: one row per resource in a plain table (id, subject, code,
//     body) with one index: the cheapest way to keep the JSON at all.
//   - BaselineSameRows...: the rows the store writes (current row, history
//     row and the same index rows, into the store's own tables and indexes)
//     with plain INSERTs, one per table, in one transaction. The ingest
//     targets are measured against this one.

func benchStore(b *testing.B) *Store { return openTest(b, sqlstore.Options{}) }

// benchBaseline opens a plain table (body json, as the store keeps it) on
// the pool of a new store.
func benchBaseline(b *testing.B) *pgxpool.Pool {
	db := benchStore(b).Pool()
	ctx := context.Background()
	if _, err := db.Exec(ctx, `CREATE TABLE baseline (id text PRIMARY KEY, subject text, code text, body json)`); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(ctx, `CREATE INDEX baseline_subject_code ON baseline (subject, code)`); err != nil {
		b.Fatal(err)
	}
	return db
}

func begin(b *testing.B, db *pgxpool.Pool) pgx.Tx {
	tx, err := db.Begin(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return tx
}

func baselineInsert(tx pgx.Tx, i int) error {
	_, err := tx.Exec(context.Background(), `INSERT INTO baseline (id, subject, code, body) VALUES ($1, $2, $3, $4)`,
		fmt.Sprintf("o%d", i), enginetest.BenchPatient(i), enginetest.BenchCode(i), enginetest.ObservationBody(i))
	return err
}

func BenchmarkBaselineCreate(b *testing.B) {
	db := benchBaseline(b)
	i := 0
	for b.Loop() {
		tx := begin(b, db)
		if err := baselineInsert(tx, i); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(context.Background()); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// sameRowsSQL[n] inserts n index rows (fixed texts: pgx prepares each once).
var sameRowsSQL = map[int]string{}

// sameRowsInsert writes what the store writes for Observation i with plain
// INSERTs: the current row, the history row and the index rows.
func sameRowsInsert(tx pgx.Tx, rows *enginetest.SameRows, i int) error {
	ctx := context.Background()
	id, body, idx := rows.Rows(i)
	seq, lu := int64(i+1), int64(1_700_000_000_000_000+i)
	if _, err := tx.Exec(ctx, `INSERT INTO resources (type, id, version, last_updated, deleted, body, seq) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		"Observation", id, int64(1), lu, false, body, seq); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO resource_versions (type, id, version, last_updated, deleted, body, seq) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		"Observation", id, int64(1), lu, false, body, seq); err != nil {
		return err
	}
	q, ok := sameRowsSQL[len(idx)]
	if !ok {
		var sb strings.Builder
		sb.WriteString("INSERT INTO search_index (" + strings.Join(sqlstore.IndexColumns, ", ") + ") VALUES ")
		p := 0
		for r := range idx {
			if r > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(")
			for c := range sqlstore.IndexColumns {
				if c > 0 {
					sb.WriteString(", ")
				}
				p++
				fmt.Fprintf(&sb, "$%d", p)
			}
			sb.WriteString(")")
		}
		q = sb.String()
		sameRowsSQL[len(idx)] = q
	}
	args := make([]any, 0, len(idx)*len(sqlstore.IndexColumns))
	for r := range idx {
		args = append(args, idx[r].Args()...)
	}
	_, err := tx.Exec(ctx, q, args...)
	return err
}

func BenchmarkBaselineSameRowsCreate(b *testing.B) {
	db, rows := benchStore(b).Pool(), enginetest.NewSameRows()
	i := 0
	for b.Loop() {
		tx := begin(b, db)
		if err := sameRowsInsert(tx, rows, i); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(context.Background()); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(2+rows.IndexRowsPer()), "rows/resource")
}

func BenchmarkBaselineTransact10(b *testing.B) {
	db := benchBaseline(b)
	i := 0
	for b.Loop() {
		tx := begin(b, db)
		for range 10 {
			if err := baselineInsert(tx, i); err != nil {
				b.Fatal(err)
			}
			i++
		}
		if err := tx.Commit(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBaselineSameRowsTransact10(b *testing.B) {
	db, rows := benchStore(b).Pool(), enginetest.NewSameRows()
	i := 0
	for b.Loop() {
		tx := begin(b, db)
		for range 10 {
			if err := sameRowsInsert(tx, rows, i); err != nil {
				b.Fatal(err)
			}
			i++
		}
		if err := tx.Commit(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

func preloadBaseline(b *testing.B, db *pgxpool.Pool, n int) {
	for start := 0; start < n; start += 500 {
		tx := begin(b, db)
		for i := start; i < min(start+500, n); i++ {
			if err := baselineInsert(tx, i); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.Exec(context.Background(), `ANALYZE`); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkBaselineRead(b *testing.B) {
	db := benchBaseline(b)
	n := 1000
	preloadBaseline(b, db, n)
	i := 0
	var body []byte
	for b.Loop() {
		if err := db.QueryRow(context.Background(), `SELECT body FROM baseline WHERE id = $1`, fmt.Sprintf("o%d", i%n)).Scan(&body); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkBaselineSearchSubjectCode(b *testing.B) {
	db := benchBaseline(b)
	n := enginetest.BenchSize()
	preloadBaseline(b, db, n)
	var lat enginetest.Latencies
	i := 0
	for b.Loop() {
		k := (i * 7919) % n
		found := 0
		lat.Time(func() {
			rows, err := db.Query(context.Background(), `SELECT id, body FROM baseline WHERE subject = $1 AND code = $2 ORDER BY id LIMIT 21`, enginetest.BenchPatient(k), enginetest.BenchCode(k))
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				var id string
				var body []byte
				if err := rows.Scan(&id, &body); err != nil {
					b.Fatal(err)
				}
				found++
			}
			rows.Close()
		})
		if found == 0 {
			b.Fatalf("no match for observation %d", k)
		}
		i++
	}
	lat.Report(b)
}

// analyze refreshes the planner's statistics after a bulk load.
func analyze(s *Store) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := s.Pool().Exec(ctx, `ANALYZE`)
		return err
	}
}

// The store side of the benchmarks is shared with the other store (enginetest).

func BenchmarkCreate(b *testing.B)     { enginetest.BenchCreate(b, benchStore(b)) }
func BenchmarkTransact10(b *testing.B) { enginetest.BenchTransact10(b, benchStore(b)) }

func BenchmarkRead(b *testing.B) {
	s := benchStore(b)
	enginetest.BenchRead(b, s, analyze(s))
}

func BenchmarkSearchSubjectCode(b *testing.B) {
	s := benchStore(b)
	enginetest.BenchSearchSubjectCode(b, s, analyze(s))
}
