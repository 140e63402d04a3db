package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
)

// testHistory proves VRead of every version and the instance, type and
// system histories: newest first, delete markers, Since, cursor paging and
// Total.
func testHistory(t *testing.T, open func(t *testing.T) socialrx.Store) {
	s := open(t)
	ctx := t.Context()

	// written is every version in write order.
	var written []*socialrx.Resource
	sent := make(map[string]string) // versionKey -> body sent
	add := func(r *socialrx.Resource, body string) {
		t.Helper()
		if r == nil {
			t.Fatalf("write returned nil")
		}
		written = append(written, r)
		sent[versionKey(*r)] = body
	}

	bodyA := func(n int) string { return patientBody("Alvarez", fmt.Sprintf("Version%d", n), "1970-01-01") }
	add(mustCreate(t, s, "Patient", "a", bodyA(1)), bodyA(1))
	add(mustCreate(t, s, "Patient", "b", patientBody("Baker", "Bea", "1971-02-02")), patientBody("Baker", "Bea", "1971-02-02"))
	r, _ := mustUpdate(t, s, "Patient", "a", bodyA(2), 1)
	add(r, bodyA(2))
	obs := obsBody("Patient/a", "29463-7", "Body weight", "2024-05-05", `"valueQuantity":{"value":81.30,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}`)
	add(mustCreate(t, s, "Observation", "w1", obs), obs)
	add(mustDelete(t, s, "Patient", "a"), "")
	r, _ = mustUpdate(t, s, "Patient", "a", bodyA(4), 0)
	add(r, bodyA(4))
	r, _ = mustUpdate(t, s, "Patient", "b", patientBody("Baker", "Beatrice", "1971-02-02"), 0)
	add(r, patientBody("Baker", "Beatrice", "1971-02-02"))
	add(mustDelete(t, s, "Observation", "w1"), "")

	// VRead each version.
	for _, w := range written {
		got, err := s.VRead(ctx, w.Type, w.ID, w.VersionID)
		if w.Deleted {
			wantCode(t, "vread of "+versionKey(*w), err, socialrx.EGONE)
			continue
		}
		if err != nil {
			t.Errorf("vread %s: %v", versionKey(*w), err)
			continue
		}
		sameResource(t, "vread "+versionKey(*w), w, got)
		checkBody(t, "vread "+versionKey(*w), got, sent[versionKey(*w)])
	}
	_, err := s.VRead(ctx, "Patient", "a", 5)
	wantCode(t, "vread of a version after the last", err, socialrx.ENOTFOUND)
	_, err = s.VRead(ctx, "Patient", "a", 0)
	wantCode(t, "vread of version 0", err, socialrx.ENOTFOUND)
	_, err = s.VRead(ctx, "Patient", "nobody", 1)
	wantCode(t, "vread of a missing resource", err, socialrx.ENOTFOUND)
	_, err = s.VRead(ctx, "Observation", "a", 1)
	wantCode(t, "vread of an id under the wrong type", err, socialrx.ENOTFOUND)

	// newestFirst returns the written versions matching keep, newest first.
	newestFirst := func(keep func(*socialrx.Resource) bool) []string {
		var out []string
		for _, w := range slices.Backward(written) {
			if keep(w) {
				out = append(out, versionKey(*w))
			}
		}
		return out
	}

	cases := []struct {
		name string
		req  socialrx.HistoryRequest
		keep func(*socialrx.Resource) bool
	}{
		{"instance", socialrx.HistoryRequest{Type: "Patient", ID: "a"}, func(r *socialrx.Resource) bool { return r.Type == "Patient" && r.ID == "a" }},
		{"instance of a deleted resource", socialrx.HistoryRequest{Type: "Observation", ID: "w1"}, func(r *socialrx.Resource) bool { return r.Type == "Observation" }},
		{"type", socialrx.HistoryRequest{Type: "Patient"}, func(r *socialrx.Resource) bool { return r.Type == "Patient" }},
		{"system", socialrx.HistoryRequest{}, func(*socialrx.Resource) bool { return true }},
	}
	for _, c := range cases {
		want := newestFirst(c.keep)
		for _, count := range []int{0, 1, 2, 3} {
			req := c.req
			req.Count = count
			got, total := historyAll(t, s, req)
			if diff := cmp.Diff(want, versionKeys(got)); diff != "" {
				t.Errorf("%s history, Count %d: versions differ (-want +got):\n%s", c.name, count, diff)
			}
			if total != len(want) {
				t.Errorf("%s history, Count %d: Total %d, want %d", c.name, count, total, len(want))
			}
			if count > 0 {
				first, err := s.History(ctx, req)
				if err != nil {
					t.Fatalf("%s history, Count %d: %v", c.name, count, err)
				}
				if n := min(count, len(want)); len(first.Versions) != n {
					t.Errorf("%s history, Count %d: first page holds %d versions, want %d", c.name, count, len(first.Versions), n)
				}
				if (len(want) > count) != (first.Next != "") {
					t.Errorf("%s history, Count %d: first page Next = %q with %d versions in all", c.name, count, first.Next, len(want))
				}
			}
			for _, v := range got {
				w := find(written, v)
				if w == nil {
					continue // reported by the diff above
				}
				sameResource(t, fmt.Sprintf("%s history, Count %d: %s", c.name, count, versionKey(v)), w, &v)
			}
		}
	}

	// History of a resource that never existed is empty.
	if h, err := s.History(ctx, socialrx.HistoryRequest{Type: "Patient", ID: "nobody"}); err == nil {
		if len(h.Versions) != 0 || h.Total != 0 {
			t.Errorf("history of a missing resource: %d versions, Total %d; want none", len(h.Versions), h.Total)
		}
	} else if socialrx.ErrorCode(err) != socialrx.ENOTFOUND {
		t.Errorf("history of a missing resource: %v, want an empty page or ENOTFOUND", err)
	}
	// A type with no writes.
	got, total := historyAll(t, s, socialrx.HistoryRequest{Type: "Condition"})
	if len(got) != 0 || total != 0 {
		t.Errorf("history of a type never written: %v, Total %d; want none", versionKeys(got), total)
	}

	// Since: the versions written at or after an instant. Take the instants
	// of three written versions as the boundaries.
	for _, i := range []int{0, 3, len(written) - 1} {
		since := written[i].LastUpdated
		var want []string
		for _, w := range slices.Backward(written) {
			if !w.LastUpdated.Before(since) {
				want = append(want, versionKey(*w))
			}
		}
		for _, count := range []int{0, 2} {
			got, total := historyAll(t, s, socialrx.HistoryRequest{Since: since, Count: count})
			if diff := cmp.Diff(want, versionKeys(got)); diff != "" {
				t.Errorf("system history Since %s (version %d written), Count %d: (-want +got):\n%s", since, i, count, diff)
			}
			if total != len(want) {
				t.Errorf("system history Since %s, Count %d: Total %d, want %d", since, count, total, len(want))
			}
		}
	}
	if got, total := historyAll(t, s, socialrx.HistoryRequest{Since: written[len(written)-1].LastUpdated.Add(1e9)}); len(got) != 0 || total != 0 {
		t.Errorf("history Since after the last write: %v, Total %d; want none", versionKeys(got), total)
	}
}

// find returns the written version v is, or nil.
func find(written []*socialrx.Resource, v socialrx.Resource) *socialrx.Resource {
	for _, w := range written {
		if w.Type == v.Type && w.ID == v.ID && w.VersionID == v.VersionID {
			return w
		}
	}
	return nil
}
