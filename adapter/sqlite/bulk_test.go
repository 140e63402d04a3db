package sqlite

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
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

// TestBulkIndexShapes: the bulk write's index rows, inserted by shape
// (only the columns a row fills), are stored exactly as the single write's
// full rows: the same bodies written with Create and with UpsertMany have
// the same search_index rows, column for column.
func TestBulkIndexShapes(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	bodies := map[string]string{
		"Location":          `{"resourceType":"Location","status":"active","name":"Site","address":{"use":"work","line":["1 Main St"],"city":"Toronto","state":"ON","postalCode":"M5V 1A1","country":"CA"},"position":{"latitude":43.65,"longitude":-79.38},"managingOrganization":{"reference":"Organization/o1"},"identifier":[{"system":"http://example.org/ids","value":"l1"}]}`,
		"HealthcareService": `{"resourceType":"HealthcareService","active":true,"name":"Food bank","category":[{"coding":[{"system":"http://socialrx.dev/fhir/CodeSystem/need-domain","code":"food"}],"text":"Food"}],"type":[{"coding":[{"code":"BD-1800"}]}],"location":[{"reference":"Location/l1"}],"providedBy":{"reference":"Organization/o1"},"availableTime":[{"daysOfWeek":["mon","wed"],"availableStartTime":"09:00:00","availableEndTime":"17:00:00"}],"communication":[{"coding":[{"system":"urn:ietf:bcp:47","code":"en"}]}]}`,
		"Organization":      `{"resourceType":"Organization","active":true,"name":"Agency","telecom":[{"system":"phone","value":"416-555-0100"}]}`,
	}
	var ws []socialrx.Write
	err = s.Transact(t.Context(), func(tx socialrx.Tx) error {
		for typ, body := range bodies {
			if _, err := tx.Create(t.Context(), typ, "one", []byte(body)); err != nil {
				return err
			}
			ws = append(ws, socialrx.Write{Type: typ, ID: "many", Body: []byte(body)})
		}
		_, _, err := tx.UpsertMany(t.Context(), ws)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	rowsOf := func(id string) []string {
		rows, err := s.DB().QueryContext(t.Context(), `SELECT res_type, param, system, code, text, value, exact,
			quote(low), quote(high), quote(number), ref_type, ref_id, kind FROM search_index WHERE res_id = ? ORDER BY 1, 2, 3, 4, 6, 8, 12`, id)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var c [13]string
			if err := rows.Scan(&c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6], &c[7], &c[8], &c[9], &c[10], &c[11], &c[12]); err != nil {
				t.Fatal(err)
			}
			out = append(out, strings.Join(c[:], "|"))
		}
		return out
	}
	one, many := rowsOf("one"), rowsOf("many")
	if len(one) < 20 {
		t.Fatalf("only %d index rows for the single writes: %v", len(one), one)
	}
	kinds := map[string]bool{}
	for _, r := range one {
		kinds[r[strings.LastIndex(r, "|")+1:]] = true
	}
	for _, k := range []string{"t", "s", "d", "r", "g"} {
		if !kinds[k] {
			t.Errorf("no index row of kind %s to compare", k)
		}
	}
	if diff := cmp.Diff(one, many); diff != "" {
		t.Errorf("index rows (-Create +UpsertMany):\n%s", diff)
	}
}
