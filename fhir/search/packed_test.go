package search

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestPackRoundTrip packs entries setting every field, alone and together,
// with the values that stress the encoding (empty and binary strings,
// instants before 1970 and at nanoseconds, extreme floats), and unpacks
// them unchanged, in order; -0 comes back as 0 (== compares them alike).
func TestPackRoundTrip(t *testing.T) {
	strs := []string{"", "a", "é\x00\xff\"", string(make([]byte, 300))}
	times := []time.Time{{}, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2026, 12, 7, 3, 4, 5, 6, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)}
	floats := []float64{0, 1.5, -1e300, math.SmallestNonzeroFloat64, math.MaxFloat64, math.Inf(1)}
	rng := rand.New(rand.NewPCG(3, 4))
	pick := func(ss []string) string { return ss[rng.IntN(len(ss))] }
	var in []IndexEntry
	for i := range 2000 {
		e := IndexEntry{Param: pick([]string{"a", "b", "identifier"}), Type: ParamType(pick([]string{"token", "string", "date"}))}
		for k, f := range []*string{&e.System, &e.Code, &e.Text, &e.Value, &e.Exact, &e.RefType, &e.RefID} {
			if i < 7 && k == i || i >= 7 && rng.IntN(2) == 0 {
				*f = pick(strs[1:])
			}
		}
		if rng.IntN(2) == 0 {
			e.Low, e.High = times[rng.IntN(len(times))], times[rng.IntN(len(times))]
		}
		if rng.IntN(2) == 0 {
			e.Number, e.Lat, e.Lon = floats[rng.IntN(len(floats))], floats[rng.IntN(len(floats))], floats[rng.IntN(len(floats))]
		}
		in = append(in, e)
	}
	in = append(in, IndexEntry{}, IndexEntry{Param: "z"})
	es := Pack(in)
	if es.Len() != len(in) {
		t.Fatalf("Len %d, want %d", es.Len(), len(in))
	}
	out := es.All()
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip (-packed +unpacked):\n%s", diff)
	}
	// cmp compares times with Equal: == (which dedupe's byte equality
	// stands for) also needs the same location.
	for i := range out {
		if out[i].Low != in[i].Low || out[i].High != in[i].High {
			t.Fatalf("entry %d: times %v, %v unpacked as %v, %v (location or monotonic reading differ)", i, in[i].Low, in[i].High, out[i].Low, out[i].High)
		}
	}
	if diff := cmp.Diff(in[10:20], es.Unpack(nil, 10, 20)); diff != "" {
		t.Errorf("Unpack(10, 20) (-want +got):\n%s", diff)
	}
	neg := Pack([]IndexEntry{{Param: "n", Number: math.Copysign(0, -1)}}).All()[0]
	if math.Signbit(neg.Number) || neg.Number != 0 {
		t.Errorf("-0 unpacked as %v", neg.Number)
	}
	var none *Entries
	if none.Len() != 0 || none.All() != nil {
		t.Error("nil Entries are not empty")
	}
}
