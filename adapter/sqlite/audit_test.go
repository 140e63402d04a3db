package sqlite

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
	"github.com/socialrx/socialrx/mapping"
)

// auditRecords returns n records of reads as the Auditor makes them:
// version 7 ids (or version 4 when v4), 1,000 entities of 100 patients,
// one client.
func auditRecords(t testing.TB, n, from int, v4 bool) []socialrx.AuditRecord {
	out := make([]socialrx.AuditRecord, 0, n)
	for i := from; i < from+n; i++ {
		id := uuid.Must(uuid.NewV7()).String()
		if v4 {
			id = uuid.NewString()
		}
		r, err := mapping.AuditRecordOf(socialrx.AuditEvent{
			ID: id, Recorded: time.Now(), Kind: socialrx.AuditREST, Subtype: "read", Action: socialrx.AuditRead,
			Outcome: socialrx.AuditSuccess, ClientID: "emr", Address: "127.0.0.1",
			Entity: fmt.Sprintf("Observation/o%d", i%1000), Patient: fmt.Sprintf("Patient/p%d", i%100), Version: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// TestAuditLogFile: buffered AuditEvents (AppendAuditLog) go to the audit
// log file beside the database, not to its audit_events; a write's own
// (AppendAudit) stays in the database; both are read and searched, and
// the log is there again after the store is reopened.
func TestAuditLogFile(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "socialrx.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".audit"); err != nil {
		t.Fatalf("the audit log file: %v", err)
	}
	var mode string
	var sync int
	if err := s.drv.audit.w.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := s.drv.audit.w.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || sync != 1 {
		t.Errorf("audit log: journal mode %s, synchronous %d; want wal and 1 (NORMAL)", mode, sync)
	}
	logged := auditRecords(t, 3, 0, false)
	if err := s.AppendAuditLog(ctx, logged); err != nil {
		t.Fatal(err)
	}
	written := auditRecords(t, 1, 5, false)
	if err := s.Transact(ctx, func(tx socialrx.Tx) error { return tx.AppendAudit(ctx, written) }); err != nil {
		t.Fatal(err)
	}
	var inMain, inLog int
	if err := s.drv.w.QueryRow(`SELECT COUNT(*) FROM audit_events`).Scan(&inMain); err != nil {
		t.Fatal(err)
	}
	if err := s.drv.audit.r.QueryRow(`SELECT COUNT(*) FROM ` + auditLogFrom).Scan(&inLog); err != nil {
		t.Fatal(err)
	}
	if inMain != 1 || inLog != 3 {
		t.Errorf("audit_events rows: %d in the database, %d in the audit log; want 1 (the write's) and 3 (the buffered)", inMain, inLog)
	}
	// An id taken in the log: the batch is refused whole.
	if err := s.AppendAuditLog(ctx, append(auditRecords(t, 1, 9, false), logged[0])); socialrx.ErrorCode(err) != socialrx.ECONFLICT {
		t.Errorf("AppendAuditLog of a taken id = %v, want ECONFLICT", err)
	}
	// Moved from the tail to audit_events (a tail of 4): still found,
	// an id taken there is still refused, and appends go on.
	defer func(max int) { auditTailMax = max }(auditTailMax)
	auditTailMax = 4
	more := auditRecords(t, 2, 10, false)
	if err := s.AppendAuditLog(ctx, more); err != nil {
		t.Fatal(err)
	}
	var tail, moved int
	if err := s.drv.audit.r.QueryRow(`SELECT (SELECT COUNT(*) FROM audit_tail), (SELECT COUNT(*) FROM audit_events)`).Scan(&tail, &moved); err != nil {
		t.Fatal(err)
	}
	if tail != 0 || moved != 5 {
		t.Errorf("after the tail filled: %d in the tail, %d in audit_events; want 0 and 5", tail, moved)
	}
	if err := s.AppendAuditLog(ctx, append(auditRecords(t, 1, 12, false), more[1])); socialrx.ErrorCode(err) != socialrx.ECONFLICT {
		t.Errorf("AppendAuditLog of an id moved to audit_events = %v, want ECONFLICT", err)
	}
	last := auditRecords(t, 1, 13, false)
	if err := s.AppendAuditLog(ctx, last); err != nil {
		t.Fatal(err)
	}
	logged = append(append(logged, more...), last...)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, r := range append(logged, written...) {
		if _, err := s.Read(ctx, "AuditEvent", r.ID); err != nil {
			t.Errorf("Read AuditEvent/%s after reopening: %v", r.ID, err)
		}
	}
	sr, err := s.Search(ctx, socialrx.SearchRequest{Type: "AuditEvent", Params: url.Values{"agent": {"Device/emr"}}})
	if err != nil || sr.Total != 7 || len(sr.Matches) != 7 {
		t.Fatalf("AuditEvent?agent=Device/emr after reopening: %v, %v; want the 7 events of both files", sr, err)
	}
	// Newest first, across the files and the log's two tables, in pages.
	want := []string{last[0].ID, more[1].ID, more[0].ID, written[0].ID, logged[2].ID, logged[1].ID, logged[0].ID}
	var got []string
	params := url.Values{"agent": {"Device/emr"}, "_count": {"2"}}
	for range 10 {
		sr, err := s.Search(ctx, socialrx.SearchRequest{Type: "AuditEvent", Params: params})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range sr.Matches {
			got = append(got, m.ID)
		}
		if params = sr.Next; params == nil {
			break
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paged AuditEvent?agent=Device/emr (-want +got):\n%s", diff)
	}
}

// BenchmarkAuditLog measures the audit writer alone: ns and CPU ns (the
// process's, getrusage: steadier than elapsed time on a busy machine) per
// event of
// AuditEvent records appended in batches to the audit log (log), or to the
// main database in a transaction of the group commit (main), as the
// Auditor did before the audit log had a file of its own; with version 7
// ids (time-ordered) and version 4 (random).
//
//	go test ./adapter/sqlite -run '^$' -bench AuditLog -benchtime 20000x
func BenchmarkAuditLog(b *testing.B) {
	for _, batch := range []int{100, 500} {
		for _, where := range []string{"log", "main"} {
			for _, v4 := range []bool{false, true} {
				ids := "v7"
				if v4 {
					ids = "v4"
				}
				b.Run(fmt.Sprintf("%s/batch%d/%s", where, batch, ids), func(b *testing.B) {
					s := openTest(b, sqlstore.Options{})
					ctx := context.Background()
					recs := auditRecords(b, b.N, 0, v4)
					b.ResetTimer()
					cpu := processCPU()
					for i := 0; i < len(recs); i += batch {
						chunk := recs[i:min(i+batch, len(recs))]
						var err error
						if where == "log" {
							err = s.AppendAuditLog(ctx, chunk)
						} else {
							err = s.Transact(ctx, func(tx socialrx.Tx) error { return tx.AppendAudit(ctx, chunk) })
						}
						if err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/event")
				})
			}
		}
	}
}

// processCPU is the CPU time (user and system) the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
