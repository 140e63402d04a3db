package sqlite

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
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
// log file beside the database, in blocks, not to its audit_events; a
// write's own (AppendAudit) stays in the database; records of the log's
// tables of before the blocks (audit_events, audit_tail) are still read
// and searched; blocks get their keys once AuditKeyEvery events wait; all
// is there again after the store is reopened, in one order across the
// files, the old tables and the blocks.
func TestAuditLogFile(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "socialrx.db")
	opts := sqlstore.Options{AuditKeyEvery: 4}
	s, err := open(ctx, path, opts)
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
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	at := func(recs []socialrx.AuditRecord, from int) []socialrx.AuditRecord {
		for i := range recs {
			recs[i].Recorded = base.Add(time.Duration(from+i) * time.Second)
		}
		return recs
	}
	// Records of before the blocks, in the log's first tables.
	oldMoved, oldTail := at(auditRecords(t, 1, 20, false), 0), at(auditRecords(t, 1, 21, false), 1)
	if err := sqlstore.InsertAudit(ctx, querier{s.drv.audit.w}, "audit_tail", true, oldMoved); err != nil {
		t.Fatal(err)
	}
	if _, err := s.drv.audit.w.Exec(`INSERT INTO audit_events SELECT * FROM audit_tail; DELETE FROM audit_tail`); err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.InsertAudit(ctx, querier{s.drv.audit.w}, "audit_tail", true, oldTail); err != nil {
		t.Fatal(err)
	}

	logged := at(auditRecords(t, 3, 0, false), 2)
	if err := s.AppendAuditLog(ctx, logged); err != nil {
		t.Fatal(err)
	}
	written := at(auditRecords(t, 1, 5, false), 5)
	if err := s.Transact(ctx, func(tx socialrx.Tx) error { return tx.AppendAudit(ctx, written) }); err != nil {
		t.Fatal(err)
	}
	var inMain, inBlocks, keys int
	if err := s.drv.w.QueryRow(`SELECT COUNT(*) FROM audit_events`).Scan(&inMain); err != nil {
		t.Fatal(err)
	}
	if err := s.drv.audit.r.QueryRow(`SELECT COALESCE(SUM(n), 0), (SELECT COUNT(*) FROM audit_block_keys) FROM audit_blocks`).Scan(&inBlocks, &keys); err != nil {
		t.Fatal(err)
	}
	if inMain != 1 || inBlocks != 3 || keys != 0 {
		t.Errorf("%d AuditEvents in the database's audit_events, %d in the log's blocks, %d keys; want 1 (the write's), 3 (the buffered), none yet", inMain, inBlocks, keys)
	}
	// An id taken in a block: the batch is refused whole.
	if err := s.AppendAuditLog(ctx, append(at(auditRecords(t, 1, 9, false), 9), logged[0])); socialrx.ErrorCode(err) != socialrx.ECONFLICT {
		t.Errorf("AppendAuditLog of a taken id = %v, want ECONFLICT", err)
	}
	// 3 + 2 >= AuditKeyEvery: the keys of both blocks are written, as
	// one group.
	more := at(auditRecords(t, 2, 10, false), 6)
	if err := s.AppendAuditLog(ctx, more); err != nil {
		t.Fatal(err)
	}
	var keyed, pending, groups, gFirst, gLast int
	if err := s.drv.audit.r.QueryRow(`SELECT keyed, pending, (SELECT COUNT(DISTINCT block) FROM audit_block_keys), (SELECT COUNT(*) FROM audit_block_groups),
(SELECT first FROM audit_block_groups), (SELECT last FROM audit_block_groups) FROM audit_block_mark`).Scan(&keyed, &pending, &keys, &groups, &gFirst, &gLast); err != nil {
		t.Fatal(err)
	}
	if keyed != 2 || pending != 0 || keys != 1 || groups != 1 || gFirst != 1 || gLast != 2 {
		t.Errorf("after 5 events: keyed up to block %d, %d pending, keys of %d groups, %d groups (blocks %d-%d); want 2, 0, 1, 1 (blocks 1-2)", keyed, pending, keys, groups, gFirst, gLast)
	}
	if err := s.AppendAuditLog(ctx, append(at(auditRecords(t, 1, 12, false), 12), more[1])); socialrx.ErrorCode(err) != socialrx.ECONFLICT {
		t.Errorf("AppendAuditLog of an id of a block with keys = %v, want ECONFLICT", err)
	}
	last := at(auditRecords(t, 1, 13, false), 8)
	if err := s.AppendAuditLog(ctx, last); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	all := slices.Concat(oldMoved, oldTail, logged, written, more, last)
	for _, r := range all {
		got, err := s.Read(ctx, "AuditEvent", r.ID)
		if err != nil {
			t.Errorf("Read AuditEvent/%s after reopening: %v", r.ID, err)
			continue
		}
		want, _ := mapping.AuditEventBody(r)
		if string(got.Body) != string(want) {
			t.Errorf("Read AuditEvent/%s = %s, want %s", r.ID, got.Body, want)
		}
	}
	for _, asc := range []bool{false, true} {
		var want []string
		for _, r := range all {
			want = append(want, r.ID)
		}
		params := url.Values{"agent": {"Device/emr"}, "_count": {"3"}}
		if !asc {
			slices.Reverse(want)
		} else {
			params.Set("_sort", "date")
		}
		var got []string
		for range 10 {
			sr, err := s.Search(ctx, socialrx.SearchRequest{Type: "AuditEvent", Params: params})
			if err != nil {
				t.Fatal(err)
			}
			if sr.Total != len(all) {
				t.Errorf("AuditEvent?%s: total %d, want %d", params.Encode(), sr.Total, len(all))
			}
			for _, m := range sr.Matches {
				got = append(got, m.ID)
			}
			if params = sr.Next; params == nil {
				break
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("paged AuditEvent?agent=Device/emr, ascending %v (-want +got):\n%s", asc, diff)
		}
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
