package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socialrx/socialrx/adapter/pgtest"
)

// BenchmarkIngestConcurrent measures ingest as a busy EMR drives it (issue
// 12, "Ingest at the speed of the disk"): 8 clients POST the demo's
// encounter transaction Bundle (Organization, PractitionerRole and
// HealthcareService by conditional create, a new Patient, a warm hand-off
// ServiceRequest and its referral Task; socialrx adds the follow-up Task,
// the projections, the outbox message and its jobs) over loopback HTTP to
// the real server (Main, no job workers), each op a new patient. One op is
// one Bundle. Reported: bundles/s, p50 and p99 latency in ms.
//
// Baseline, same run, same server and database (BenchmarkIngestConcurrent/
// .../baseline): the same 8 clients POST a Bundle of one small Basic-free
// resource... no: the same clients GET /fhir/metadata-free path
// /healthz, which measures what loopback HTTP and the Echo stack cost, so
// the ratio shows what the store and the workflow add.
//
//	SOCIALRX_REQUIRE_PG=1 go test ./cmd/socialrx -run '^$' -bench IngestConcurrent -benchtime 2000x
func BenchmarkIngestConcurrent(b *testing.B) {
	pg := func(b *testing.B) string { return pgtest.NewDatabase(b) }
	sqliteDB := func(b *testing.B) string { return "sqlite:" + filepath.Join(b.TempDir(), "data", "socialrx.db") }
	for _, c := range []struct {
		name string
		db   func(b *testing.B) string
	}{{"SQLite", sqliteDB}, {"PostgreSQL", pg}} {
		b.Run(c.name, func(b *testing.B) { benchIngestConcurrent(b, c.db(b), 8) })
	}
}

// ingestSeq numbers encounters across runs of one process, so that every
// op posts a new patient.
var ingestSeq atomic.Int64

func benchIngestConcurrent(b *testing.B, database string, clients int) {
	env := newDeliveryBenchEnv(b, database)
	defer env.close(b)
	post := func() time.Duration {
		n := ingestSeq.Add(1) + 5000000
		start := time.Now()
		status, rb, err := env.call("POST", "/fhir", demoEncounter(fmt.Sprint(n)))
		if err != nil || status != http.StatusOK {
			b.Errorf("encounter: %d %s %v", status, truncate(rb), err)
		}
		return time.Since(start)
	}
	post() // the shared Organization, PractitionerRole and HealthcareService
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) || b.Failed() {
					return
				}
				lat[i] = post()
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	b.StopTimer()
	q := func(p float64) float64 {
		s := slices.Clone(lat)
		slices.Sort(s)
		return float64(s[min(len(s)-1, int(p*float64(len(s))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(b.N)/took.Seconds(), "bundles/s")
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}
