package enginetest

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
)

// loadFixturesBulk writes the search fixtures with two bulk writes, then
// deletes Observation/o5: the first writes Observations o1 to o4 with a
// placeholder body (a loinc code Z, another subject) and the others as
// they are, the second o1 to o4 as they are, so that a search that still
// found the placeholders' index rows would fail.
func loadFixturesBulk(t *testing.T, s socialrx.Store) {
	t.Helper()
	ws := fixtureWrites()
	first := slices.Clone(ws)
	var second []socialrx.Write
	for i, w := range ws {
		if w.Type == "Observation" && w.ID != "o5" {
			first[i].Body = []byte(body("Observation", ref("subject", "Patient", "p9"), tok("code", loinc, "Z"), tok("status", "", "final")))
			second = append(second, w)
		}
	}
	for _, batch := range [][]socialrx.Write{first, second} {
		err := s.Transact(t.Context(), func(tx socialrx.Tx) error {
			_, _, err := tx.UpsertMany(t.Context(), batch)
			return err
		})
		if err != nil {
			t.Fatalf("upsert many: %v", err)
		}
	}
	deleteO5(t, s)
}

// testBulkOrder: with a clock that stands still, the versions of a bulk
// write get strictly increasing lastUpdated in the batch's order (as one
// Update after another would: each after its previous version and after
// the write before it in the batch), so history lists them in that order.
func testBulkOrder(t *testing.T, s socialrx.Store) {
	create(t, s, "Patient", "p0", body("Patient", str("name", "Zed")))
	ws := []socialrx.Write{
		{Type: "Observation", ID: "b1", Body: []byte(body("Observation", ref("subject", "Patient", "p0")))},
		{Type: "Patient", ID: "p0", Body: []byte(body("Patient", str("name", "Zoe")))},
		{Type: "Observation", ID: "b2", Body: []byte(body("Observation", ref("subject", "Patient", "p0")))},
		{Type: "Observation", ID: "b3", Body: []byte(body("Observation"))},
	}
	err := s.Transact(t.Context(), func(tx socialrx.Tx) error {
		_, _, err := tx.UpsertMany(t.Context(), ws)
		return err
	})
	if err != nil {
		t.Fatalf("upsert many: %v", err)
	}
	h, err := s.History(t.Context(), socialrx.HistoryRequest{Count: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range h.Versions {
		got = append(got, v.Type+"/"+v.ID+"/"+v.LastUpdated.Format("05.000000"))
	}
	want := []string{"Observation/b3/05.000003", "Observation/b2/05.000002", "Patient/p0/05.000001", "Observation/b1/05.000000", "Patient/p0/05.000000"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("history, newest first (-want +got):\n%s", diff)
	}
}
