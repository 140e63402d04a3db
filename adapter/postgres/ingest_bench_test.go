package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

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
// inserts, with plain multi-row INSERTs (one per table; pgx prepares each
// text once) in one transaction, exactly the rows
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

// tableRows is the rows of one table, every value as text (nil for NULL),
// and the columns' types.
type tableRows struct {
	cols, types []string
	rows        [][]any
}

func ingestTables(b *testing.B, db *pgxpool.Pool) []string {
	rows, err := db.Query(context.Background(), `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`)
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

func ingestDump(b *testing.B, db *pgxpool.Pool, table string) tableRows {
	ctx := context.Background()
	var t tableRows
	rows, err := db.Query(ctx, `SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, table)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var c, typ string
		if err := rows.Scan(&c, &typ); err != nil {
			b.Fatal(err)
		}
		t.cols, t.types = append(t.cols, c), append(t.types, typ)
	}
	rows.Close()
	sel := make([]string, len(t.cols))
	for i, c := range t.cols {
		sel[i] = `"` + c + `"::text`
	}
	rows, err = db.Query(ctx, `SELECT `+strings.Join(sel, ", ")+` FROM "`+table+`"`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		ptrs := make([]*string, len(t.cols))
		dst := make([]any, len(t.cols))
		for i := range ptrs {
			dst[i] = &ptrs[i]
		}
		if err := rows.Scan(dst...); err != nil {
			b.Fatal(err)
		}
		vals := make([]any, len(t.cols))
		for i, p := range ptrs {
			if p != nil {
				vals[i] = *p
			}
		}
		t.rows = append(t.rows, vals)
	}
	return t
}

func rowKey(r []any) string { return fmt.Sprintf("%q", r) }

// ingestCapture runs one store op (op 0) and returns, per table, the rows it
// added (a multiset difference of the table before and after; a table
// whose row count does not grow is left out).
func ingestCapture(b *testing.B, s *Store, tmpl []ingestResource) (added map[string]tableRows, order []string) {
	db := s.Pool()
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
			continue
		}
		nt := tableRows{cols: all.cols, types: all.types}
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

// baselineStmt is one multi-row INSERT of a captured table: every value is
// sent as text and cast to the column's type ($n::text::type, the I/O
// conversion a text-format parameter gets anyway).
type baselineStmt struct {
	table string
	sql   string
	cols  []string
	rows  [][]any
}

func ingestBaselineStmts(added map[string]tableRows, order []string) []baselineStmt {
	var stmts []baselineStmt
	for _, t := range order {
		tr := added[t]
		var keep []int
		var cols []string
		for i, c := range tr.cols {
			if t == "river_job" && c == "id" {
				continue // bigserial: assigned by its sequence
			}
			keep = append(keep, i)
			cols = append(cols, c)
		}
		st := baselineStmt{table: t, cols: cols}
		var sb strings.Builder
		sb.WriteString(`INSERT INTO "` + t + `" ("` + strings.Join(cols, `", "`) + `") VALUES `)
		p := 0
		for r, row := range tr.rows {
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
				fmt.Fprintf(&sb, "$%d::text::%s", p, tr.types[i])
				vals = append(vals, row[i])
			}
			sb.WriteString(")")
			st.rows = append(st.rows, vals)
		}
		st.sql = sb.String()
		stmts = append(stmts, st)
	}
	return stmts
}

// ingestBaselineArgs rewrites the captured rows for op: ids in every value,
// fresh seq numbers, a fresh River unique key.
func ingestBaselineArgs(b *testing.B, tmpl []ingestResource, stmts []baselineStmt, op int) [][]any {
	rp := ingestReplacer(tmpl, op)
	out := make([][]any, len(stmts))
	for s, st := range stmts {
		for _, row := range st.rows {
			for j, v := range row {
				if x, ok := v.(string); ok {
					switch st.cols[j] {
					case "seq":
						n, err := strconv.ParseInt(x, 10, 64)
						if err != nil {
							b.Fatal(err)
						}
						v = strconv.FormatInt(n+int64(op)*1000, 10)
					case "unique_key":
						h := sha256.Sum256([]byte(x + ingestTag(op)))
						v = `\x` + hex.EncodeToString(h[:])
					case "id":
						if st.table == "outbox" { // a UUID derived from the referral's version: one per op
							h := sha256.Sum256([]byte(x + ingestTag(op)))
							v = hex.EncodeToString(h[:16])
						} else {
							v = rp.Replace(x)
						}
					default:
						v = rp.Replace(x)
					}
				}
				out[s] = append(out[s], v)
			}
		}
	}
	return out
}

// sameRows prepares the plain-SQL baseline of b.N encounters: run(i)
// writes the rows the store's op i writes, in one transaction of its own,
// and total is how many rows that is.
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
		args[i] = ingestBaselineArgs(b, tmpl, stmts, i+1)
	}
	db := s.Pool()
	return func(i int) error {
		tx, err := db.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		for k, st := range stmts {
			if _, err := tx.Exec(ctx, st.sql, args[i][k]...); err != nil {
				return fmt.Errorf("%s: %w", st.table, err)
			}
		}
		return tx.Commit(ctx)
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
// concurrent clients (issue 12).
func BenchmarkIngestEncounterClients8(b *testing.B) {
	s, ctx := benchStore(b), context.Background()
	ops := ingestOps(ingestTemplate(b), 0, b.N)
	storetest.RunClients(b, 8, func(i int) error { return ingestOne(ctx, s, ops[i]) })
}

// BenchmarkIngestEncounterBaselineSameRowsClients8: the same rows by plain
// SQL from 8 concurrent clients, one transaction each.
func BenchmarkIngestEncounterBaselineSameRowsClients8(b *testing.B) {
	run, total := sameRows(b, benchStore(b))
	storetest.RunClients(b, 8, run)
	b.ReportMetric(float64(total), "rows/op")
}
