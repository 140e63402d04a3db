package postgres

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore/enginetest"
)

// The benchmarks come in pairs: the store, and a baseline writing or reading
// the same JSON rows with plain SQL on the same kind of database file.

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

func create(ctx context.Context, tx socialrx.Tx, i int) error {
	_, err := tx.Create(ctx, "Observation", fmt.Sprintf("o%d", i), enginetest.ObservationBody(i))
	return err
}

func BenchmarkCreate(b *testing.B) {
	s, ctx := benchStore(b), context.Background()
	i := 0
	for b.Loop() {
		if err := s.Transact(ctx, func(tx socialrx.Tx) error { return create(ctx, tx, i) }); err != nil {
			b.Fatal(err)
		}
		i++
	}
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

func BenchmarkTransact10(b *testing.B) {
	s, ctx := benchStore(b), context.Background()
	i := 0
	for b.Loop() {
		if err := s.Transact(ctx, func(tx socialrx.Tx) error {
			for range 10 {
				if err := create(ctx, tx, i); err != nil {
					return err
				}
				i++
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
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

// preload writes n Observations, 500 per transaction.
func preload(b *testing.B, s *Store, n int) {
	ctx := context.Background()
	for start := 0; start < n; start += 500 {
		if err := s.Transact(ctx, func(tx socialrx.Tx) error {
			for i := start; i < min(start+500, n); i++ {
				if err := create(ctx, tx, i); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
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
}

func BenchmarkRead(b *testing.B) {
	s, ctx := benchStore(b), context.Background()
	n := 1000
	preload(b, s, n)
	i := 0
	for b.Loop() {
		if _, err := s.Read(ctx, "Observation", fmt.Sprintf("o%d", i%n)); err != nil {
			b.Fatal(err)
		}
		i++
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

// BenchmarkSearchSubjectCode: Observation?subject=Patient/X&code=loinc|C over
// enginetest.BenchSize() preloaded Observations.
func BenchmarkSearchSubjectCode(b *testing.B) {
	s, ctx := benchStore(b), context.Background()
	n := enginetest.BenchSize()
	preload(b, s, n)
	i := 0
	for b.Loop() {
		k := (i * 7919) % n
		res, err := s.Search(ctx, socialrx.SearchRequest{Type: "Observation", Params: url.Values{
			"subject": {"Patient/" + enginetest.BenchPatient(k)}, "code": {"http://loinc.org|" + enginetest.BenchCode(k)}}})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Matches) == 0 {
			b.Fatalf("no match for observation %d", k)
		}
		i++
	}
}

func BenchmarkBaselineSearchSubjectCode(b *testing.B) {
	db := benchBaseline(b)
	n := enginetest.BenchSize()
	preloadBaseline(b, db, n)
	i := 0
	for b.Loop() {
		k := (i * 7919) % n
		rows, err := db.Query(context.Background(), `SELECT id, body FROM baseline WHERE subject = $1 AND code = $2 ORDER BY id LIMIT 21`, enginetest.BenchPatient(k), enginetest.BenchCode(k))
		if err != nil {
			b.Fatal(err)
		}
		found := 0
		for rows.Next() {
			var id string
			var body []byte
			if err := rows.Scan(&id, &body); err != nil {
				b.Fatal(err)
			}
			found++
		}
		rows.Close()
		if found == 0 {
			b.Fatalf("no match for observation %d", k)
		}
		i++
	}
}
