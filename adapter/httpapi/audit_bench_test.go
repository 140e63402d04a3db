package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/httpapi"
	"github.com/socialrx/socialrx/adapter/pgtest"
	"github.com/socialrx/socialrx/adapter/postgres"
	"github.com/socialrx/socialrx/adapter/workflow"
)

// BenchmarkAudit measures the cost of the audit trail on reads: the same
// HTTP reads and searches (8 concurrent clients with keep-alive, bearer
// tokens, SQLite store of 1,000 Observations of 100 Patients) with the
// audit trail off and on, in one run. "on" includes writing the AuditEvents:
// the buffer is flushed inside the timer. Compare ns/op of off and on
// (docs/performance.md):
//
//	go test ./adapter/httpapi -run '^$' -bench Audit -benchtime 3s -count 3
func BenchmarkAudit(b *testing.B) {
	for _, scenario := range []struct {
		name string
		path func(i int) string
	}{
		{"Read", func(i int) string { return fmt.Sprintf("/fhir/Observation/o%d", i%1000) }},
		{"Search", func(i int) string { return fmt.Sprintf("/fhir/Observation?patient=p%d&_count=10", i%100) }},
	} {
		for _, on := range []bool{false, true} {
			name := scenario.name + "/off"
			if on {
				name = scenario.name + "/on"
			}
			b.Run(name, func(b *testing.B) { benchAudit(b, on, scenario.path) })
		}
	}
}

// auditBenchServer is a server over a SQLite store of 1,000 Observations
// of 100 Patients, with the audit trail on or off.
func auditBenchServer(b *testing.B, on bool, open func(testing.TB) socialrx.Store) (*testServer, *workflow.Auditor) {
	st := open(b)
	ctx := context.Background()
	err := st.Transact(ctx, func(tx socialrx.Tx) error {
		for i := range 1000 {
			body := fmt.Sprintf(`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/p%d"},"valueQuantity":{"value":%d,"unit":"/min"}}`, i%100, 60+i%40)
			if _, err := tx.Create(ctx, "Observation", fmt.Sprintf("o%d", i), []byte(body)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	// PostgreSQL: planner statistics now, as autovacuum's analyze would take
	// them within a minute of such a load, so that both servers' searches
	// run the same plans whenever autovacuum gets to them.
	if p, ok := st.(interface{ Pool() *pgxpool.Pool }); ok {
		if _, err := p.Pool().Exec(ctx, "ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
	var a *workflow.Auditor
	if on {
		a = workflow.NewAuditor(st, workflow.AuditorOptions{})
		b.Cleanup(func() { _ = a.Close(context.Background()) })
	}
	return newServerWith(b, st, httpapi.Config{Auth: testTokens, Workflow: workflow.Options{Audit: a}}), a
}

// auditClients sends n GETs from 8 concurrent keep-alive clients.
func auditClients(b *testing.B, client *http.Client, base string, path func(int) string, next *atomic.Int64, n int) {
	var wg sync.WaitGroup
	per := n / 8
	for range 8 {
		wg.Go(func() {
			for range per {
				req, _ := http.NewRequest("GET", base+path(int(next.Add(1))), nil)
				req.Header.Set("Authorization", "Bearer read")
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkAuditInterleaved is BenchmarkAudit robust to other load on the
// machine: each op is one round of 4,000 requests to the server with the
// audit trail off and 4,000 to the one with it on (the order alternating per
// round, the buffer flushed inside the "on" half, so that the AuditEvents
// of a round are written within it), and it reports per request the
// elapsed time and the CPU time of each (the whole process: clients,
// server, audit writer, getrusage; on PostgreSQL plus its server's
// processes, pgtest.ServerCPU), and their ratios. The machine is CPU-bound
// here, so the CPU ratio is what throughput loses; the elapsed ratio also
// counts the wait for the last batch of each round (flush-ns/req), which a
// steady load overlaps with the next requests; steady-on/off is the
// elapsed ratio without that wait (rounds of 800 made it a third of the
// "on" half's extra time; at 4,000 it is still about half of it).
//
//	SOCIALRX_REQUIRE_PG=1 go test ./adapter/httpapi -run '^$' -bench AuditInterleaved -benchtime 6x
func BenchmarkAuditInterleaved(b *testing.B) {
	for _, store := range []struct {
		name      string
		open      func(testing.TB) socialrx.Store
		serverCPU func(testing.TB) time.Duration // CPU time outside this process
	}{
		{"SQLite", func(t testing.TB) socialrx.Store { return openStore(t) }, func(testing.TB) time.Duration { return 0 }},
		{"PostgreSQL", openPostgres, func(tb testing.TB) time.Duration {
			d, ok := pgtest.ServerCPU()
			if !ok {
				tb.Fatal("the PostgreSQL server's CPU time cannot be read (/proc)")
			}
			return d
		}},
	} {
		b.Run(store.name, func(b *testing.B) { benchAuditInterleaved(b, store.open, store.serverCPU) })
	}
}

// openPostgres is a fresh migrated PostgreSQL store (adapter/pgtest; the
// benchmark skips when PostgreSQL is not installed).
func openPostgres(t testing.TB) socialrx.Store {
	dsn := pgtest.NewDatabase(t)
	ctx := context.Background()
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func benchAuditInterleaved(b *testing.B, open func(testing.TB) socialrx.Store, serverCPU func(testing.TB) time.Duration) {
	for _, scenario := range []struct {
		name string
		path func(i int) string
	}{
		{"Read", func(i int) string { return fmt.Sprintf("/fhir/Observation/o%d", i%1000) }},
		{"Search", func(i int) string { return fmt.Sprintf("/fhir/Observation?patient=p%d&_count=10", i%100) }},
	} {
		b.Run(scenario.name, func(b *testing.B) {
			off, _ := auditBenchServer(b, false, open)
			on, a := auditBenchServer(b, true, open)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
			const n = 4000
			var next atomic.Int64
			var tOff, tOn, cOff, cOn, sOff, sOn, tFlush time.Duration
			run := func(on bool, ts *testServer) {
				start, srv := time.Now(), serverCPU(b)
				cpu := processCPU() + srv
				auditClients(b, client, ts.URL, scenario.path, &next, n)
				if on {
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					fs := time.Now()
					if err := a.Flush(ctx); err != nil {
						b.Fatal(err)
					}
					tFlush += time.Since(fs)
					tOn += time.Since(start)
					s := serverCPU(b)
					cOn += processCPU() + s - cpu
					sOn += s - srv
					return
				}
				tOff += time.Since(start)
				s := serverCPU(b)
				cOff += processCPU() + s - cpu
				sOff += s - srv
			}
			auditClients(b, client, off.URL, scenario.path, &next, n) // warm up both
			auditClients(b, client, on.URL, scenario.path, &next, n)
			b.ResetTimer()
			for i := range b.N {
				if i%2 == 0 {
					run(false, off)
					run(true, on)
				} else {
					run(true, on)
					run(false, off)
				}
			}
			b.StopTimer()
			reqs := float64(b.N * n)
			b.ReportMetric(float64(tOff.Nanoseconds())/reqs, "off-ns/req")
			b.ReportMetric(float64(tOn.Nanoseconds())/reqs, "on-ns/req")
			b.ReportMetric(float64(tOn)/float64(tOff), "on/off")
			// The wait for the round's last batch, and the elapsed ratio
			// without it (a steady load writes that batch beside the next
			// requests, on the CPU that cpu-on/off counts).
			b.ReportMetric(float64(tFlush.Nanoseconds())/reqs, "flush-ns/req")
			b.ReportMetric(float64(tOn-tFlush)/float64(tOff), "steady-on/off")
			b.ReportMetric(float64(cOff.Nanoseconds())/reqs, "off-cpu-ns/req")
			b.ReportMetric(float64(cOn.Nanoseconds())/reqs, "on-cpu-ns/req")
			b.ReportMetric(float64(cOn)/float64(cOff), "cpu-on/off")
			if sOff > 0 {
				b.ReportMetric(float64(sOff.Nanoseconds())/reqs, "off-server-cpu-ns/req")
				b.ReportMetric(float64(sOn.Nanoseconds())/reqs, "on-server-cpu-ns/req")
			}
			if s := a.Stats(); s.Dropped != 0 || s.Failed != 0 {
				b.Fatalf("audit: %+v", s)
			}
		})
	}
}

func benchAudit(b *testing.B, on bool, path func(int) string) {
	ts, a := auditBenchServer(b, on, func(t testing.TB) socialrx.Store { return openStore(t) })
	ctx := context.Background()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var n atomic.Int64
	b.SetParallelism(4) // 8 clients on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", ts.URL+path(int(n.Add(1))), nil)
			req.Header.Set("Authorization", "Bearer read")
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	if a != nil {
		fctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := a.Flush(fctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if a != nil {
		if s := a.Stats(); s.Written < uint64(b.N) || s.Dropped != 0 {
			b.Fatalf("audit: %+v for %d requests", s, b.N)
		}
	}
}

// processCPU is the CPU time (user and system) the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
