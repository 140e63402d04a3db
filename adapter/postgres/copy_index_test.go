package postgres

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
)

// TestInsertIndexCopy writes the same index rows with COPY (indexRowSource,
// from copyThreshold rows) and with INSERTs of fewer rows, and reads back
// every column: the two paths store the same values, including rows whose
// neighbours share some values (boxed once) and some not.
func TestInsertIndexCopy(t *testing.T) {
	s := openTest(t, sqlstore.Options{})
	ctx := t.Context()
	i64 := func(v int64) *int64 { return &v }
	f64 := func(v float64) *float64 { return &v }
	strs := []string{"", "plain", `quote " and back\slash`, "é ü 漢字 🙂", "tab\tline"}
	rows := func(id string) []sqlstore.IndexRow {
		var out []sqlstore.IndexRow
		for i := range 100 {
			r := sqlstore.IndexRow{ResType: []string{"Patient", "Group"}[i/50], ResID: id + fmt.Sprint(i/30), Param: "p" + fmt.Sprint(i/7),
				System: strs[i%len(strs)], Code: strs[(i+1)%len(strs)], Text: strs[(i+2)%len(strs)],
				Value: strs[(i+3)%len(strs)], Exact: strs[(i+4)%len(strs)], RefType: strs[i%2],
				RefID: fmt.Sprint(i), Kind: []string{sqlstore.KindToken, sqlstore.KindDate, sqlstore.KindNumber}[i/40]}
			switch i % 4 {
			case 1:
				r.Low, r.High = i64(-62135596800000000), i64(253402300799999999)
			case 2:
				r.Number = f64(0.1 * float64(i))
			case 3:
				r.Low, r.High, r.Number = i64(int64(i)), i64(0), f64(-1e300)
			}
			out = append(out, r)
		}
		return out
	}
	copied, inserted := rows("copy"), rows("insert")
	d := &driver{pool: s.pool}
	dt, err := d.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = dt.Rollback(ctx) }()
	if err := dt.InsertIndex(ctx, copied); err != nil {
		t.Fatal(err)
	}
	for k := 0; k < len(inserted); k += copyThreshold - 1 {
		if err := dt.InsertIndex(ctx, inserted[k:min(k+copyThreshold-1, len(inserted))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := dt.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	read := func(prefix string) []string {
		rs, err := s.pool.Query(ctx, `SELECT concat_ws('|', res_type, substr(res_id, length($1) + 1), param, quote_literal(system), quote_literal(code),
			quote_literal(text), quote_literal(value), quote_literal(exact), coalesce(low::text, 'NULL'), coalesce(high::text, 'NULL'),
			coalesce(number::text, 'NULL'), ref_type, ref_id, kind) FROM search_index WHERE res_id LIKE $1 || '%' ORDER BY ref_id::int`, prefix)
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
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	got, want := read("copy"), read("insert")
	if len(want) != len(inserted) {
		t.Fatalf("%d rows inserted, want %d", len(want), len(inserted))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows copied differ from those inserted (-inserted +copied):\n%s", diff)
	}
}
