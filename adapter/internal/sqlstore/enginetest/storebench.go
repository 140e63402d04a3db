package enginetest

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/socialrx/socialrx"
)

// The store side of the store benchmarks, shared by adapter/sqlite and
// adapter/postgres (each runs it beside its own plain-SQL baselines, which
// differ by driver). analyze refreshes the planner's statistics after a bulk
// load, as a running database would have them.

// CreateObservation creates benchmark Observation i in tx.
func CreateObservation(ctx context.Context, tx socialrx.Tx, i int) error {
	_, err := tx.Create(ctx, "Observation", fmt.Sprintf("o%d", i), ObservationBody(i))
	return err
}

// BenchCreate: one Observation per transaction.
func BenchCreate(b *testing.B, s socialrx.Store) {
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if err := s.Transact(ctx, func(tx socialrx.Tx) error { return CreateObservation(ctx, tx, i) }); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchTransact10: ten Observations per transaction.
func BenchTransact10(b *testing.B, s socialrx.Store) {
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if err := s.Transact(ctx, func(tx socialrx.Tx) error {
			for range 10 {
				if err := CreateObservation(ctx, tx, i); err != nil {
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

// Preload creates Observations 0..n-1 in transactions of 500, then analyze.
func Preload(b *testing.B, s socialrx.Store, n int, analyze func(context.Context) error) {
	ctx := context.Background()
	for start := 0; start < n; start += 500 {
		if err := s.Transact(ctx, func(tx socialrx.Tx) error {
			for i := start; i < min(start+500, n); i++ {
				if err := CreateObservation(ctx, tx, i); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	if err := analyze(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchRead reads 1,000 preloaded Observations round robin.
func BenchRead(b *testing.B, s socialrx.Store, analyze func(context.Context) error) {
	ctx := context.Background()
	n := 1000
	Preload(b, s, n, analyze)
	i := 0
	for b.Loop() {
		if _, err := s.Read(ctx, "Observation", fmt.Sprintf("o%d", i%n)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchSearchSubjectCode searches by subject and code over BenchSize()
// preloaded Observations and reports p50/p99.
func BenchSearchSubjectCode(b *testing.B, s socialrx.Store, analyze func(context.Context) error) {
	ctx := context.Background()
	n := BenchSize()
	Preload(b, s, n, analyze)
	var lat Latencies
	i := 0
	for b.Loop() {
		k := (i * 7919) % n
		var res *socialrx.SearchResult
		var err error
		lat.Time(func() {
			res, err = s.Search(ctx, socialrx.SearchRequest{Type: "Observation", Params: url.Values{
				"subject": {"Patient/" + BenchPatient(k)}, "code": {"http://loinc.org|" + BenchCode(k)}}})
		})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Matches) == 0 || res.Total != len(res.Matches) {
			b.Fatalf("observation %d: %d matches, Total %d", k, len(res.Matches), res.Total)
		}
		i++
	}
	lat.Report(b)
}
