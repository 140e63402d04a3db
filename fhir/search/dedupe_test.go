package search

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDedupeEntries: the set of hashes used for long runs of packed entries
// keeps the first of each equal entry and every entry that differs in any
// one field, also when every hash collides (the comparison decides).
func TestDedupeEntries(t *testing.T) {
	day := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	base := IndexEntry{Param: "identifier", Type: ParamToken, System: "s", Code: "c"}
	variants := []func(e *IndexEntry, i int){
		func(e *IndexEntry, i int) { e.Code = fmt.Sprint("c", i) },
		func(e *IndexEntry, i int) { e.System = fmt.Sprint("s", i) },
		func(e *IndexEntry, i int) { e.Text = fmt.Sprint("t", i) },
		func(e *IndexEntry, i int) { e.Value = fmt.Sprint("v", i) },
		func(e *IndexEntry, i int) { e.Exact = fmt.Sprint("x", i) },
		func(e *IndexEntry, i int) { e.RefType, e.RefID = "Patient", fmt.Sprint("p", i) },
		func(e *IndexEntry, i int) { e.Type = ParamType(fmt.Sprint("type", i)) },
		func(e *IndexEntry, i int) { e.Low = day.Add(time.Duration(i) * time.Nanosecond) },
		func(e *IndexEntry, i int) { e.High = day.Add(time.Duration(i) * time.Hour) },
		func(e *IndexEntry, i int) { e.Number = float64(i) / 10 },
		func(e *IndexEntry, i int) { e.Lat, e.Lon = float64(i), -float64(i) },
	}
	var distinct []IndexEntry
	for v, set := range variants {
		for i := range 8 {
			e := base
			set(&e, i+v*100)
			distinct = append(distinct, e)
		}
	}
	// Each distinct entry three times, shuffled, after a prefix that is
	// not deduplicated (start).
	prefix := []IndexEntry{{Param: "other"}, {Param: "other"}}
	var in []IndexEntry
	for range 3 {
		in = append(in, distinct...)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
	want := append([]IndexEntry{}, prefix...)
	seen := map[IndexEntry]bool{}
	for _, e := range in {
		if !seen[e] {
			seen[e] = true
			want = append(want, e)
		}
	}
	for _, collide := range []bool{false, true} {
		t.Run(fmt.Sprint("collide=", collide), func(t *testing.T) {
			if collide {
				hashRecord = func([]byte) uint64 { return 7 }
				t.Cleanup(func() { hashRecord = recordHash })
			}
			es := Pack(append(append([]IndexEntry{}, prefix...), in...))
			es.dedupeFrom(len(prefix))
			out := es.All()
			if diff := cmp.Diff(want, out); diff != "" {
				t.Errorf("dedupe (-want +got):\n%s", diff)
			}
			if len(out) != len(prefix)+len(distinct) {
				t.Errorf("%d entries, want %d", len(out), len(prefix)+len(distinct))
			}
		})
	}
}
