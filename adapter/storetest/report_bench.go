package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
)

// ReportBenchSize is the number of prescriptions BenchProgramReport seeds.
const ReportBenchSize = 100_000

// BenchProgramReport measures Store.ProgramReport over ReportBenchSize
// prescriptions (with their referrals, follow-up results and billed
// visits, written through ProjectionTx in batches) against baseline, a
// plain aggregate over the same prescription rows that the adapter runs
// on its own connection (e.g. SELECT count(*), sum(authored_on) FROM
// prescriptions WHERE authored_on in the period), timed in the same loop.
// It reports report-ms, baseline-ms and x-baseline (their ratio).
// prepare, when not nil, runs once the rows are in (PostgreSQL: ANALYZE).
func BenchProgramReport(b *testing.B, s socialrx.Store, prepare func(ctx context.Context) error, baseline func(ctx context.Context, from, to int64) error) {
	ctx := context.Background()
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	seed := NewReportSeed(ReportBenchSize, from.AddDate(0, 0, 30), to.AddDate(0, 0, -30), 42) // all in the period
	const batch = 2000
	for lo := 0; lo < len(seed.Prescriptions); lo += batch {
		hi := min(lo+batch, len(seed.Prescriptions))
		part := seed.slice(lo, hi)
		if err := s.Transact(ctx, func(tx socialrx.Tx) error { part.Put(b, tx); return nil }); err != nil {
			b.Fatal(err)
		}
	}
	if prepare != nil {
		if err := prepare(ctx); err != nil {
			b.Fatal(err)
		}
	}
	rep, err := s.ProgramReport(ctx, from, to)
	if err != nil {
		b.Fatal(err)
	}
	if want := seed.WantCount(); rep.Total.Prescriptions != want {
		b.Fatalf("report counts %d prescriptions, seeded %d that count", rep.Total.Prescriptions, want)
	}
	var reportTime, baseTime time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		if _, err := s.ProgramReport(ctx, from, to); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := baseline(ctx, from.UnixMicro(), to.UnixMicro()); err != nil {
			b.Fatal(err)
		}
		reportTime += t1.Sub(t0)
		baseTime += time.Since(t1)
		n++
	}
	b.ReportMetric(float64(reportTime.Milliseconds())/float64(n), "report-ms")
	b.ReportMetric(float64(baseTime.Microseconds())/1000/float64(n), "baseline-ms")
	b.ReportMetric(float64(reportTime)/float64(baseTime), "x-baseline")
}

// slice returns the part of the seed about prescriptions [lo, hi): the
// seed's rows are in prescription order.
func (s *ReportSeed) slice(lo, hi int) *ReportSeed {
	ids := map[string]bool{}
	for _, p := range s.Prescriptions[lo:hi] {
		ids[p.ID] = true
	}
	out := &ReportSeed{Prescriptions: s.Prescriptions[lo:hi]}
	for _, h := range s.Referrals {
		if ids[h[0].PrescriptionID] {
			out.Referrals = append(out.Referrals, h)
		}
	}
	for _, r := range s.Results {
		if ids[r.PrescriptionID] {
			out.Results = append(out.Results, r)
		}
	}
	for _, v := range s.Billed {
		if ids["rx-"+v.ChargeItemID[len("ci-"):]] {
			out.Billed = append(out.Billed, v)
		}
	}
	return out
}
