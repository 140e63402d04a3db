package sqlite

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
)

// TestInsertIndexJSON writes the same index rows as one JSON text (the path
// of many rows) and with multi-row INSERTs (fewer than jsonIndexMin at a
// time), and reads back every column with its SQLite type: the two paths
// store the same values.
func TestInsertIndexJSON(t *testing.T) {
	s := openTest(t, sqlstore.Options{})
	ctx := t.Context()
	i64 := func(v int64) *int64 { return &v }
	strs := []string{"", "plain", `quote " and back\slash`, "tab\tnew\nline\rcr", "\x01\x1f ctrl", "é ü 漢字 🙂", "</script>&<", `\u0041`}
	rows := func(id string) []sqlstore.IndexRow {
		var out []sqlstore.IndexRow
		for i := range 2 * jsonIndexMin {
			r := sqlstore.IndexRow{ResType: "Patient", ResID: id, Param: "p" + fmt.Sprint(i%7),
				System: strs[i%len(strs)], Code: strs[(i+1)%len(strs)], Text: strs[(i+2)%len(strs)],
				Value: strs[(i+3)%len(strs)], Exact: strs[(i+4)%len(strs)], RefType: strs[(i+5)%len(strs)],
				RefID: fmt.Sprint(i), Kind: sqlstore.KindToken}
			switch i % 3 {
			case 1:
				r.Low, r.High, r.Kind = i64(-62135596800000000), i64(253402300799999999), sqlstore.KindDate
			case 2:
				r.Low, r.High, r.Kind = i64(int64(i)*-1_000_003), i64(0), sqlstore.KindDate
			}
			out = append(out, r)
		}
		return out
	}
	json, byArgs := rows("json"), rows("args")
	if _, ok := indexJSON(nil, json); !ok {
		t.Fatal("indexJSON refused the rows: the test would not take the JSON path")
	}
	dt, err := s.drv.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := dt.InsertIndex(ctx, json); err != nil {
		t.Fatal(err)
	}
	for k := 0; k < len(byArgs); k += jsonIndexMin - 1 {
		if err := dt.InsertIndex(ctx, byArgs[k:min(k+jsonIndexMin-1, len(byArgs))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := dt.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	read := func(id string) []string {
		var cols []string
		for _, c := range sqlstore.IndexColumns {
			if c != "res_id" {
				cols = append(cols, "quote("+c+")", "typeof("+c+")")
			}
		}
		rs, err := s.drv.r.QueryContext(ctx, "SELECT "+strings.Join(cols, " || ',' || ")+
			" FROM search_index WHERE res_id = ? ORDER BY CAST(ref_id AS INTEGER)", id)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		var out []string
		for rs.Next() {
			var line string
			if err := rs.Scan(&line); err != nil {
				t.Fatal(err)
			}
			out = append(out, line)
		}
		return out
	}
	got, want := read("json"), read("args")
	if len(want) != len(byArgs) {
		t.Fatalf("%d rows by arguments, want %d", len(want), len(byArgs))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows written as JSON differ from those bound (-bound +JSON):\n%s", diff)
	}
	// What the JSON path cannot write exactly goes the other way.
	n := 1.5
	for name, rs := range map[string][]sqlstore.IndexRow{
		"number":        {{ResID: "a"}, {ResID: "a", Number: &n}},
		"NUL":           {{ResID: "a", Code: "a\x00b"}},
		"invalid UTF8":  {{ResID: "a", Code: "a\xffb"}},
		"two resources": {{ResID: "a"}, {ResID: "b"}},
		"two types":     {{ResType: "Patient", ResID: "a"}, {ResType: "Group", ResID: "a"}},
		"no rows":       nil,
	} {
		if _, ok := indexJSON(nil, rs); ok {
			t.Errorf("%s: indexJSON took it", name)
		}
	}
}

// BenchmarkInsertIndex writes 4096 index rows of one resource (a chunk of a
// large one: sqlstore rowChunk) per op, in one transaction: bound in
// multi-row INSERTs of idxChunk rows (the baseline) and as one JSON text.
//
//	go test ./adapter/sqlite -run '^$' -bench InsertIndex -benchmem
func BenchmarkInsertIndex(b *testing.B) {
	for _, path := range []string{"Bound", "JSON"} {
		b.Run(path, func(b *testing.B) {
			s := openTest(b, sqlstore.Options{})
			ctx := context.Background()
			rows := make([]sqlstore.IndexRow, 4096)
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				n++
				for i := range rows {
					rows[i] = sqlstore.IndexRow{ResType: "Patient", ResID: fmt.Sprint(n), Param: "identifier",
						System: "urn:s", Code: fmt.Sprintf("%08d", i), Kind: sqlstore.KindToken}
				}
				dt, err := s.drv.Begin(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if path == "JSON" {
					err = dt.InsertIndex(ctx, rows)
				} else {
					for k := 0; k < len(rows) && err == nil; k += idxChunk {
						err = dt.InsertIndex(ctx, rows[k:k+idxChunk])
					}
				}
				if err != nil {
					b.Fatal(err)
				}
				if err := dt.Commit(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/row")
		})
	}
}
