package socialrx

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestProgramConcerns(t *testing.T) {
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	old := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	recent := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		s    ProgramStatus
		want []string
	}{
		{"fine", ProgramStatus{Active: true, LastVerified: recent, Capacity: CapacityAvailable}, nil},
		{"never verified is not stale", ProgramStatus{Active: true}, nil},
		{"wait list is not a concern", ProgramStatus{Active: true, Capacity: CapacityWaitList}, nil},
		{"inactive", ProgramStatus{Active: false, LastVerified: recent}, []string{"is inactive"}},
		{"stale", ProgramStatus{Active: true, LastVerified: old}, []string{"was last verified on 2026-01-15, more than 180 days ago"}},
		{"all three", ProgramStatus{LastVerified: old, Capacity: CapacityNone},
			[]string{"is inactive", "was last verified on 2026-01-15, more than 180 days ago", "reports no capacity"}},
	} {
		got := tc.s.Concerns(now, DefaultProgramStaleAfter)
		if !cmp.Equal(tc.want, got) {
			t.Errorf("%s (-want +got):\n%s", tc.name, cmp.Diff(tc.want, got))
		}
		if tc.s.Suitable(now, DefaultProgramStaleAfter) != (len(tc.want) == 0) {
			t.Errorf("%s: Suitable disagrees with Concerns", tc.name)
		}
	}
	if !(ProgramStatus{LastVerified: old}).Stale(now, 30*24*time.Hour) || (ProgramStatus{LastVerified: recent}).Stale(now, 60*24*time.Hour) {
		t.Error("Stale: wrong at the edges of staleAfter")
	}
}
