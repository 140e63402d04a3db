package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/socialrx/socialrx/adapter/pgtest"
	"github.com/socialrx/socialrx/adapter/storetest"
)

// BenchmarkIngestConcurrent measures ingest as a busy EMR drives it (issue
// 12, "Ingest at the speed of the disk"): 8 clients POST the demo's
// encounter transaction Bundle (Organization, PractitionerRole and
// HealthcareService by conditional create, a new Patient, a warm hand-off
// ServiceRequest and its referral Task; socialrx adds the follow-up Task,
// the projections, the outbox message and its jobs) over loopback HTTP to
// the real server (Main, no job workers), each op a new patient. One op is
// one Bundle. Reported (storetest.RunClients): ops/s (bundles/s), p50 and p99 latency in ms.
//
// It has no baseline of its own: the ratio to plain SQL writing the same
// rows, in the same run, is measured one level down, without HTTP
// (BenchmarkIngestEncounterClients8 and
// BenchmarkIngestEncounterBaselineSameRowsClients8 in adapter/sqlite and
// adapter/postgres; docs/performance.md, issue 12).
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
	post := func(int) error {
		n := ingestSeq.Add(1) + 5000000
		status, rb, err := env.call("POST", "/fhir", demoEncounter(fmt.Sprint(n)))
		if err != nil || status != http.StatusOK {
			return fmt.Errorf("encounter: %d %s %v", status, truncate(rb), err)
		}
		return nil
	}
	if err := post(0); err != nil { // the shared Organization, PractitionerRole and HealthcareService
		b.Fatal(err)
	}
	// CPU per encounter (this process, and PostgreSQL's server on that
	// store): robust to other load on the machine, where bundles/s is not.
	cpu0, gc0 := benchCPU(), gcCPU()
	storetest.RunClients(b, clients, post)
	b.ReportMetric(float64((benchCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/encounter")
	b.ReportMetric(float64((gcCPU()-gc0).Microseconds())/float64(b.N), "gc-µs/encounter")
}
