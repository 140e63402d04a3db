package postgres

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/export"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore/enginetest"
)

// BenchmarkExport measures Bulk Data export against PostgreSQL's own bulk
// read of the same rows, in the same run (docs/performance.md, "Issue 13:
// Bulk export"): each iteration
//
//   - copies: COPY (SELECT body FROM resources WHERE type = 'Observation'
//     AND NOT deleted) TO STDOUT into a file (the physical limit: one
//     statement, no order, no per-row work in Go);
//   - exports: the export job's own work (export.Runner: keyset batches
//     in id order, NDJSON into a file, checkpoints in the exports table)
//     of the same rows.
//
// It reports both rates (MB/s of output), their ratio (export/copy, the
// issue asks >= 0.5), the peak heap in use during the export (sampled
// every 5 ms) and bytes allocated per resource: the memory must not grow
// with N.
//
// N resources (SOCIALRX_BENCH_EXPORT_N, default 100000) are loaded once
// with COPY FROM, outside the timing. The 1M run:
//
//	SOCIALRX_BENCH_EXPORT_N=1000000 SOCIALRX_REQUIRE_PG=1 go test ./adapter/postgres -run '^$' -bench BenchmarkExport -benchtime 1x -timeout 30m
func BenchmarkExport(b *testing.B) {
	n := 100000
	if v := os.Getenv("SOCIALRX_BENCH_EXPORT_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("SOCIALRX_BENCH_EXPORT_N=%q: want a positive integer", v)
		}
	}
	s := benchStore(b)
	ctx := context.Background()
	loadExportRows(b, s, n)
	dir := b.TempDir()
	r := export.NewRunner(export.Options{Store: s, Dir: dir, Slice: time.Hour})

	var copyTime, exportTime time.Duration
	var copyBytes, exportBytes int64
	var peak uint64
	var allocs uint64
	iters := 0
	for b.Loop() {
		iters++
		// COPY baseline.
		f, err := os.Create(filepath.Join(dir, "copy.out"))
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriterSize(f, 256<<10)
		conn, err := s.Pool().Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		tag, err := conn.Conn().PgConn().CopyTo(ctx, w, `COPY (SELECT body FROM resources WHERE type = 'Observation' AND NOT deleted) TO STDOUT`)
		if err == nil {
			err = w.Flush()
		}
		copyTime += time.Since(start)
		conn.Release()
		if err != nil {
			b.Fatal(err)
		}
		if tag.RowsAffected() != int64(n) {
			b.Fatalf("COPY wrote %d rows, want %d", tag.RowsAffected(), n)
		}
		st, _ := f.Stat()
		copyBytes += st.Size()
		_ = f.Close()
		_ = os.Remove(f.Name())

		// The export job.
		now := time.Now().UTC()
		job := &socialrx.ExportJob{ID: export.NewJobID(), Level: socialrx.ExportSystem, Types: []string{"Observation"}, TransactionTime: now, CreatedAt: now, Request: "bench"}
		if err := s.CreateExport(ctx, job); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		var maxHeap atomic.Uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			t := time.NewTicker(5 * time.Millisecond)
			defer t.Stop()
			var ms runtime.MemStats
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					runtime.ReadMemStats(&ms)
					if ms.HeapInuse > maxHeap.Load() {
						maxHeap.Store(ms.HeapInuse)
					}
				}
			}
		})
		start = time.Now()
		done, err := r.Run(ctx, job.ID, true)
		exportTime += time.Since(start)
		close(stop)
		wg.Wait()
		if err != nil || !done {
			b.Fatalf("export: done %v, %v", done, err)
		}
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		allocs += after.TotalAlloc - before.TotalAlloc
		peak = max(peak, maxHeap.Load())
		got, err := s.Export(ctx, job.ID)
		if err != nil || got.Status != socialrx.ExportCompleted || len(got.Outputs) != 1 || got.Outputs[0].Count != int64(n) {
			b.Fatalf("export result: %+v, %v", got, err)
		}
		exportBytes += got.Outputs[0].Bytes
		if err := os.RemoveAll(export.JobDir(dir, job.ID)); err != nil {
			b.Fatal(err)
		}
	}
	copyMBs := float64(copyBytes) / 1e6 / copyTime.Seconds()
	exportMBs := float64(exportBytes) / 1e6 / exportTime.Seconds()
	b.ReportMetric(float64(n), "resources")
	b.ReportMetric(copyMBs, "copy-MB/s")
	b.ReportMetric(exportMBs, "export-MB/s")
	b.ReportMetric(float64(n)*float64(iters)/exportTime.Seconds(), "export-resources/s")
	b.ReportMetric(exportMBs/copyMBs, "export/copy")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(allocs)/float64(iters)/float64(n), "alloc-B/resource")
}

// loadExportRows writes n Observations straight into the resources table
// with COPY FROM (the export reads that table only): ids o0000000...,
// bodies as the store would hold them.
func loadExportRows(b *testing.B, s *Store, n int) {
	b.Helper()
	ctx := context.Background()
	lu := time.Now().Add(-time.Hour).UnixMicro()
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		id := fmt.Sprintf("o%07d", i)
		body := fmt.Appendf(nil, `{"resourceType":"Observation","id":%q,"meta":{"versionId":"1","lastUpdated":"2026-01-01T00:00:00Z"},%s`,
			id, enginetest.ObservationBody(i)[len(`{"resourceType":"Observation",`):])
		row := []any{"Observation", id, int64(1), lu + int64(i), false, string(body), int64(i + 1)}
		i++
		return row, nil
	})
	if _, err := s.Pool().CopyFrom(ctx, pgx.Identifier{"resources"}, []string{"type", "id", "version", "last_updated", "deleted", "body", "seq"}, src); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `ANALYZE resources`); err != nil {
		b.Fatal(err)
	}
}
