package sqlstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
)

// blockRecords returns n records that vary in every field, some fields
// repeated from the record before, some empty.
func blockRecords(n int) []socialrx.AuditRecord {
	base := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	out := make([]socialrx.AuditRecord, n)
	for i := range out {
		r := socialrx.AuditRecord{
			ID:       fmt.Sprintf("019a%04x-0000-7000-8000-%012d", i/3, i),
			Recorded: base.Add(time.Duration(i*7919%1000-300) * time.Millisecond),
			Agent:    "Device/" + []string{"emr", "analyst"}[i/5%2],
			Subtype:  []string{"read", "search-type", "create"}[i/4%3],
			Action:   socialrx.AuditActionOf([]string{"read", "search-type", "create"}[i/4%3]),
			Outcome:  []socialrx.AuditOutcome{socialrx.AuditSuccess, socialrx.AuditMinorFailure}[i/7%2],
			Body:     fmt.Appendf(nil, `{"cl":"emr","ad":"127.0.0.%d"}`, i%3),
		}
		if i%6 != 0 {
			r.Entity = fmt.Sprintf("Observation/o%d", i/2)
			r.Patient = fmt.Sprintf("Patient/p%d", i/9)
		}
		if i%11 == 0 {
			r.Body = []byte{}
		}
		out[i] = r
	}
	return out
}

// TestAuditBlockRoundTrip: a block decodes to the records encoded (times
// to the microsecond, as the tables keep them), for an empty block, one
// record, and records with repeated and empty fields; a truncated or
// extended block is refused.
func TestAuditBlockRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 2, 50, 1000} {
		recs := blockRecords(n)
		data := appendAuditBlock(nil, recs)
		got, err := decodeAuditBlock(data)
		if err != nil {
			t.Fatalf("%d records: decode: %v", n, err)
		}
		if diff := cmp.Diff(recs, got); diff != "" {
			t.Errorf("%d records: decoded (-encoded +decoded):\n%s", n, diff)
		}
		if n > 0 {
			if _, err := decodeAuditBlock(data[:len(data)-1]); err == nil {
				t.Errorf("%d records: a block cut short decoded", n)
			}
			if _, err := decodeAuditBlock(append(data, 0)); err == nil {
				t.Errorf("%d records: a block with a byte too many decoded", n)
			}
		}
	}
	// Microseconds kept, nanoseconds dropped (the stores keep µs).
	r := blockRecords(1)
	r[0].Recorded = r[0].Recorded.Add(1500 * time.Nanosecond)
	got, err := decodeAuditBlock(appendAuditBlock(nil, r))
	if err != nil || !got[0].Recorded.Equal(r[0].Recorded.Truncate(time.Microsecond)) {
		t.Errorf("recorded %v decoded as %v (err %v), want it to the µs", r[0].Recorded, got, err)
	}
}

// FuzzAuditBlock: decoding any bytes returns records or an error, never
// panics, and what decodes encodes again to the same records.
func FuzzAuditBlock(f *testing.F) {
	for _, n := range []int{0, 1, 3, 20} {
		f.Add(appendAuditBlock(nil, blockRecords(n)))
	}
	f.Add([]byte{1, 1, 0})
	f.Add([]byte{1, 200, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := decodeAuditBlock(data)
		if err != nil {
			return
		}
		again, err := decodeAuditBlock(appendAuditBlock(nil, recs))
		if err != nil {
			t.Fatalf("the encoding of decoded records does not decode: %v", err)
		}
		if diff := cmp.Diff(recs, again); diff != "" {
			t.Errorf("decode(encode(decode(data))) (-first +second):\n%s", diff)
		}
	})
}
