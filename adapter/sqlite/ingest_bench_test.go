package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore/enginetest"
	"github.com/socialrx/socialrx/adapter/storetest"
)

// BenchmarkIngestEncounter writes the resources of the EMR encounter Bundle
// testdata/encounters/02 (12 entries: Patient, Encounter, two Observations,
// a Condition, a ServiceRequest, a referral Task...) in one Transact, a new
// encounter per op (fresh ids, references rewritten), so each op also
// projects findings, a need, a prescription and a referral and creates the
// follow-up Task and its River job. BenchmarkIngestEncounterBaselineSameRows
// inserts, with plain multi-row INSERTs (prepared once, at most 32 rows
// each, as the store's) in one transaction, exactly the rows
// one store op adds (captured from a store op, table by table, ids
// rewritten per op). docs/performance.md, "Issue 5".

const ingestEncounter = "../../testdata/encounters/02-housing-warm-handoff.json"

// The encounter template is shared with the other store (enginetest).
type ingestResource = enginetest.EncounterResource

var (
	ingestTag      = enginetest.EncounterTag
	ingestReplacer = enginetest.EncounterReplacer
	ingestOps      = enginetest.EncounterOps
)

func ingestTemplate(b *testing.B) []ingestResource {
	return enginetest.EncounterTemplate(b, ingestEncounter)
}

func ingestOne(ctx context.Context, s *Store, enc []ingestResource) error {
	return enginetest.IngestEncounter(ctx, s, enc)
}

func BenchmarkIngestEncounter(b *testing.B) {
	s, ctx := benchStore(b), context.Background()
	tmpl := ingestTemplate(b)
	ops := ingestOps(tmpl, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := ingestOne(ctx, s, ops[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if n, err := s.JobCount(ctx, sqlstore.KindFollowUpReminder); err != nil || n != b.N {
		b.Fatalf("%d follow-up jobs for %d encounters (%v)", n, b.N, err)
	}
}

// tableRows is the rows of one table, each value as database/sql scans it.
type tableRows struct {
	cols []string
	rows [][]any
}

func ingestTables(b *testing.B, db *sql.DB) []string {
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			b.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

func ingestDump(b *testing.B, db *sql.DB, table string) tableRows {
	rows, err := db.Query(`SELECT * FROM "` + table + `"`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	t := tableRows{cols: cols}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			b.Fatal(err)
		}
		t.rows = append(t.rows, vals)
	}
	return t
}

func rowKey(r []any) string { return fmt.Sprintf("%q", r) }

// ingestCapture runs one store op (op 0) and returns, per table, the rows it
// added (a multiset difference of the table before and after; a table
// whose row count does not grow, version_seq, is left out).
func ingestCapture(b *testing.B, s *Store, tmpl []ingestResource) (added map[string]tableRows, order []string) {
	db := s.DB()
	before, count := map[string]map[string]int{}, map[string]int{}
	for _, t := range ingestTables(b, db) {
		m := map[string]int{}
		rows := ingestDump(b, db, t).rows
		for _, r := range rows {
			m[rowKey(r)]++
		}
		before[t], count[t] = m, len(rows)
	}
	if err := ingestOne(context.Background(), s, ingestOps(tmpl, 0, 1)[0]); err != nil {
		b.Fatal(err)
	}
	added = map[string]tableRows{}
	for _, t := range ingestTables(b, db) {
		all := ingestDump(b, db, t)
		if len(all.rows) == count[t] {
			continue // updated in place (version_seq), no row added
		}
		nt := tableRows{cols: all.cols}
		for _, r := range all.rows {
			if k := rowKey(r); before[t][k] > 0 {
				before[t][k]--
			} else {
				nt.rows = append(nt.rows, r)
			}
		}
		if len(nt.rows) > 0 {
			added[t] = nt
			order = append(order, t)
		}
	}
	sort.Strings(order)
	return added, order
}

// baselineStmt is one multi-row INSERT of a captured table, with the
// columns that must change per op.
type baselineStmt struct {
	table string
	sql   string
	cols  []string
	rows  [][]any
}

// baselineChunk is the most rows one INSERT takes (the store's own
// multi-row index INSERTs go up to 32 rows).
const baselineChunk = 32

func ingestBaselineStmts(added map[string]tableRows, order []string) []baselineStmt {
	var stmts []baselineStmt
	for _, t := range order {
		tr := added[t]
		var keep []int
		var cols []string
		for i, c := range tr.cols {
			if t == "river_job" && c == "id" {
				continue // INTEGER PRIMARY KEY: assigned by SQLite
			}
			keep = append(keep, i)
			cols = append(cols, c)
		}
		for lo := 0; lo < len(tr.rows); lo += baselineChunk {
			chunk := tr.rows[lo:min(lo+baselineChunk, len(tr.rows))]
			st := baselineStmt{table: t, cols: cols}
			var sb strings.Builder
			sb.WriteString(`INSERT INTO "` + t + `" ("` + strings.Join(cols, `", "`) + `") VALUES `)
			p := 0
			for r, row := range chunk {
				if r > 0 {
					sb.WriteString(", ")
				}
				sb.WriteString("(")
				vals := make([]any, 0, len(keep))
				for j, i := range keep {
					if j > 0 {
						sb.WriteString(", ")
					}
					p++
					fmt.Fprintf(&sb, "$%d", p)
					vals = append(vals, row[i])
				}
				sb.WriteString(")")
				st.rows = append(st.rows, vals)
			}
			st.sql = sb.String()
			stmts = append(stmts, st)
		}
	}
	return stmts
}

// ingestBaselineArgs rewrites the captured rows for op: ids in every text
// and blob value, fresh seq numbers, a fresh River unique key.
func ingestBaselineArgs(tmpl []ingestResource, stmts []baselineStmt, op int) [][]any {
	rp := ingestReplacer(tmpl, op)
	out := make([][]any, len(stmts))
	for s, st := range stmts {
		for _, row := range st.rows {
			for j, v := range row {
				switch c := st.cols[j]; {
				case c == "seq":
					v = v.(int64) + int64(op)*1000
				case c == "unique_key" && v != nil:
					h := sha256.Sum256(append(append([]byte(nil), v.([]byte)...), ingestTag(op)...))
					v = h[:]
				case c == "id" && (st.table == "river_notification" || st.table == "river_job"):
					v = nil // an autoincrement key: the database numbers it
				case st.table == "outbox" && c == "id":
					// A UUID derived from the referral's version: one per op.
					h := sha256.Sum256([]byte(v.(string) + ingestTag(op)))
					v = hex.EncodeToString(h[:16])
				default:
					switch x := v.(type) {
					case string:
						v = rp.Replace(x)
					case []byte:
						v = []byte(rp.Replace(string(x)))
					}
				}
				out[s] = append(out[s], v)
			}
		}
	}
	return out
}

// sameRows prepares the plain-SQL baseline of b.N encounters: run(i)
// writes the rows the store's op i writes, in one transaction of its own
// on the raw writer connection (no group commit), and total is how many
// rows that is.
func sameRows(b *testing.B, s *Store) (run func(i int) error, total int) {
	ctx := context.Background()
	tmpl := ingestTemplate(b)
	added, order := ingestCapture(b, s, tmpl)
	stmts := ingestBaselineStmts(added, order)
	for _, t := range order {
		total += len(added[t].rows)
		b.Logf("one store op adds %d rows to %s", len(added[t].rows), t)
	}
	args := make([][][]any, b.N)
	for i := range args {
		args[i] = ingestBaselineArgs(tmpl, stmts, i+1)
	}
	db := s.DB()
	prepared := make([]*sql.Stmt, len(stmts))
	for k, st := range stmts {
		ps, err := db.PrepareContext(ctx, st.sql)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ps.Close() })
		prepared[k] = ps
	}
	seq, err := db.PrepareContext(ctx, `UPDATE version_seq SET value = value + 1000 WHERE id = 1`)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { seq.Close() })
	return func(i int) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		// The store takes its seq numbers from version_seq; one UPDATE here.
		if _, err := tx.StmtContext(ctx, seq).ExecContext(ctx); err != nil {
			return err
		}
		for k, st := range stmts {
			if _, err := tx.StmtContext(ctx, prepared[k]).ExecContext(ctx, args[i][k]...); err != nil {
				return fmt.Errorf("%s: %w", st.table, err)
			}
		}
		return tx.Commit()
	}, total
}

func BenchmarkIngestEncounterBaselineSameRows(b *testing.B) {
	run, total := sameRows(b, benchStore(b))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := run(i); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(total), "rows/op")
}

// BenchmarkIngestEncounterClients8 is BenchmarkIngestEncounter from 8
// concurrent clients (issue 12): group commit shares fsyncs between them.
func BenchmarkIngestEncounterClients8(b *testing.B) {
	s, ctx := benchStore(b), context.Background()
	ops := ingestOps(ingestTemplate(b), 0, b.N)
	storetest.RunClients(b, 8, func(i int) error { return ingestOne(ctx, s, ops[i]) })
	b.ReportMetric(float64(s.drv.groups.committed.Load())/float64(max(1, s.drv.groups.commits.Load())), "tx/commit")
}

// BenchmarkIngestEncounterBaselineSameRowsClients8: the same rows by plain
// SQL from 8 concurrent clients, one transaction and one commit each (what
// the disk allows without group commit).
func BenchmarkIngestEncounterBaselineSameRowsClients8(b *testing.B) {
	run, total := sameRows(b, benchStore(b))
	storetest.RunClients(b, 8, run)
	b.ReportMetric(float64(total), "rows/op")
}
