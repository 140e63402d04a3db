package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestBulkLockPlan: the bulk write's read of a batch's current rows is one
// primary key lookup per key, not a scan of resources (what "(type, id) IN
// (VALUES ...)" was planned as).
func TestBulkLockPlan(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 4, bulkChunk} {
		args := make([]any, 0, 2*n)
		for range n {
			args = append(args, "Organization", "x")
		}
		rows, err := s.DB().QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+rowsSQL("lock", lockPrefix, 2, n)+lockSuffix, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan strings.Builder
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(detail + "\n")
		}
		rows.Close()
		if p := plan.String(); strings.Contains(p, "SCAN r") || strings.Contains(p, "SCAN resources") || !strings.Contains(p, "SEARCH r USING INDEX sqlite_autoindex_resources_1") {
			t.Errorf("%d keys: the plan does not look each key up:\n%s", n, p)
		}
	}
}
