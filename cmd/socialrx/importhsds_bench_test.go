package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/metrics"
	"syscall"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/hsds"
	"github.com/socialrx/socialrx/adapter/pgtest"
	"github.com/socialrx/socialrx/mapping"
)

// writeHSDSDataset writes n HSDS services as NDJSON, each with a nested
// organization (one per 5 services), a location at a random place in a
// 200 km square around Toronto, a phone, two languages, a weekly schedule,
// a taxonomy term and a capacity: what a 211 export holds. It returns the
// file's path.
func writeHSDSDataset(tb testing.TB, dir string, n int, seed uint64) string {
	tb.Helper()
	path := filepath.Join(dir, fmt.Sprintf("services-%d.ndjson", seed))
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	rng := rand.New(rand.NewPCG(seed, 1))
	codes := []string{"BD-1800.2000", "BH-3800.7000", "NL-6000", "RP-1400", "PL-7000", "LH-2700"}
	enc := json.NewEncoder(w)
	for i := range n {
		org := i / 5
		svc := map[string]any{
			"id": fmt.Sprintf("svc-%d-%d", seed, i), "name": fmt.Sprintf("Program %d", i), "status": "active",
			"description": "A community program for neighbours.", "fees_description": "Free",
			"eligibility_description": "Residents of the city", "assured_date": "2026-05-01",
			"organization": map[string]any{"id": fmt.Sprintf("org-%d-%d", seed, org), "name": fmt.Sprintf("Agency %d", org)},
			"phones":       []any{map[string]any{"id": fmt.Sprintf("ph-%d-%d", seed, i), "number": "416-555-0100"}},
			"languages":    []any{map[string]any{"code": "en", "name": "English"}, map[string]any{"code": "fr", "name": "French"}},
			"schedules":    []any{map[string]any{"freq": "WEEKLY", "byday": "MO,WE,FR", "opens_at": "09:00", "closes_at": "17:00"}},
			"attributes":   []any{map[string]any{"taxonomy_term": map[string]any{"id": "t", "code": codes[i%len(codes)], "name": "Term", "taxonomy": "211 LA County Taxonomy"}}},
			"capacities":   []any{map[string]any{"id": fmt.Sprintf("cap-%d-%d", seed, i), "available": i % 7, "updated": "2026-05-01T09:00:00Z", "unit": map[string]any{"name": "places"}}},
			"service_at_locations": []any{map[string]any{"id": fmt.Sprintf("sal-%d-%d", seed, i), "location": map[string]any{
				"id": fmt.Sprintf("loc-%d-%d", seed, i), "name": fmt.Sprintf("Site %d", i),
				"latitude": 43.65 + (rng.Float64()-0.5)*1.8, "longitude": -79.38 + (rng.Float64()-0.5)*2.5,
				"addresses": []any{map[string]any{"address_1": "1 Main St", "city": "Toronto", "state_province": "ON", "postal_code": "M5V 1A1", "country": "CA"}},
			}}},
		}
		if err := enc.Encode(svc); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkImportHSDS measures `socialrx import hsds` (ImportHSDS: read,
// map, validate, write through the workflow in batches of 500) of a fresh
// dataset of b.N services into a fresh database, and beside it, in the
// same run on another fresh database, the baseline: the same resources
// (mapped and validated before the timer) created through the store's own
// transactions, 500 per transaction, no workflow, no checks. Reported:
// services/s of each and the ratio import/baseline; and, on a third fresh
// database, the store's bulk write alone (Tx.UpsertMany, the same
// batches, nothing read, mapped or checked), bulk-write-services/s; and
// the import's CPU a service (this process and, on PostgreSQL, the
// server's) with the garbage collector's part of it, gc-µs/service.
//
//	SOCIALRX_REQUIRE_PG=1 go test ./cmd/socialrx -run '^$' -bench ImportHSDS -benchtime 10000x
func BenchmarkImportHSDS(b *testing.B) {
	pg := func(b *testing.B) string { return pgtest.NewDatabase(b) }
	sqliteDB := func(b *testing.B) string { return "sqlite:" + filepath.Join(b.TempDir(), "data", "socialrx.db") }
	for _, c := range []struct {
		name string
		db   func(b *testing.B) string
	}{{"SQLite", sqliteDB}, {"PostgreSQL", pg}} {
		b.Run(c.name, func(b *testing.B) {
			n := b.N
			path := writeHSDSDataset(b, b.TempDir(), n, 1)
			// The baseline's resources: mapped before its timer.
			var dir mapping.HSDSDirectory
			sum0, err := readForBaseline(b, path, &dir)
			if err != nil {
				b.Fatal(err)
			}
			base := openTestStoreB(b, c.db(b))
			start := time.Now()
			for i := 0; i < len(sum0); i += 500 {
				part := sum0[i:min(i+500, len(sum0))]
				err := base.Transact(b.Context(), func(tx socialrx.Tx) error {
					for _, r := range part {
						if _, err := tx.Create(b.Context(), r.Type, r.ID, r.Body); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			baseline := time.Since(start)

			// The store's bulk write alone, same resources and batches.
			bulkStore := openTestStoreB(b, c.db(b))
			start = time.Now()
			for i := 0; i < len(sum0); i += 500 {
				part := sum0[i:min(i+500, len(sum0))]
				ws := make([]socialrx.Write, len(part))
				for j, r := range part {
					ws[j] = socialrx.Write{Type: r.Type, ID: r.ID, Body: r.Body}
				}
				err := bulkStore.Transact(b.Context(), func(tx socialrx.Tx) error {
					_, _, err := tx.UpsertMany(b.Context(), ws)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			bulk := time.Since(start)

			s := openTestStoreB(b, c.db(b))
			b.ResetTimer()
			srv0, _ := pgtest.ServerCPU()
			gc0 := gcCPU()
			start, cpu := time.Now(), benchCPU()
			sum, err := ImportHSDS(b.Context(), s, path, 500, nil)
			took, cpu := time.Since(start), benchCPU()-cpu
			srv, _ := pgtest.ServerCPU()
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if sum.Created["HealthcareService"] != n || len(sum.Rejected) != 0 {
				b.Fatalf("imported %v, %d rejected", sum.Created, len(sum.Rejected))
			}
			b.Logf("read+map %s, validate+write %s", sum.Read, sum.Wrote)
			rate := float64(n) / took.Seconds()
			baseRate := float64(n) / baseline.Seconds()
			b.ReportMetric(rate, "services/s")
			b.ReportMetric(baseRate, "baseline-services/s")
			b.ReportMetric(rate/baseRate, "ratio")
			b.ReportMetric(float64(n)/bulk.Seconds(), "bulk-write-services/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/service")
			b.ReportMetric((gcCPU()-gc0).Seconds()*1e6/float64(n), "gc-µs/service")
			if srv > 0 {
				b.ReportMetric(float64((srv-srv0).Microseconds())/float64(n), "server-cpu-µs/service")
			}
		})
	}
}

// benchCPU is the CPU time (user and system) this process and the
// package's PostgreSQL cluster (pgtest.ServerCPU: none on SQLite) have
// used: on 2 cores, 2,000 services/s leaves 1 ms of CPU per service.
func benchCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	srv, _ := pgtest.ServerCPU()
	return time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) + srv
}

// gcCPU is the CPU time the garbage collector has used in this process
// (runtime/metrics, mark workers and pauses): part of benchCPU.
func gcCPU() time.Duration {
	m := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(m)
	return time.Duration(m[0].Value.Float64() * float64(time.Second))
}

func readForBaseline(b *testing.B, path string, dir *mapping.HSDSDirectory) ([]mapping.HSDSResource, error) {
	b.Helper()
	if err := readHSDS(b, path, dir); err != nil {
		return nil, err
	}
	rs, rejects := dir.Resources()
	if len(rejects) > 0 {
		return nil, fmt.Errorf("%d rejects", len(rejects))
	}
	return rs, nil
}

func openTestStoreB(b *testing.B, database string) Store {
	b.Helper()
	s, err := OpenStore(b.Context(), database)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	return s
}

func readHSDS(b *testing.B, path string, dir *mapping.HSDSDirectory) error {
	return hsds.Read(b.Context(), path, dir, nil)
}
