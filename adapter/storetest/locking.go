package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
)

// racers is how many goroutines race for one resource.
const racers = 10

// race runs fn(i) for i in [0, racers) on goroutines released together.
func race(fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}

// testLocking proves If-Match optimistic locking and that concurrent writes
// of one resource are serialized.
func testLocking(t *testing.T, open func(t *testing.T) socialrx.Store) {
	t.Run("StaleIfMatch", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		mustCreate(t, s, "Task", "t", taskBody("requested", "Organization/a"))
		if _, _, err := txUpdate(s, t, "Task", "t", taskBody("accepted", "Organization/a"), 2); err == nil {
			t.Errorf("update with ifMatch 2 on version 1: no error, want EPRECONDITION")
		} else {
			wantCode(t, "update with ifMatch 2 on version 1", err, socialrx.EPRECONDITION)
		}
		v2, _ := mustUpdate(t, s, "Task", "t", taskBody("accepted", "Organization/a"), 1)
		if v2.VersionID != 2 {
			t.Fatalf("update with ifMatch 1: version %d, want 2", v2.VersionID)
		}
		_, _, err := txUpdate(s, t, "Task", "t", taskBody("rejected", "Organization/a"), 1)
		wantCode(t, "update with the stale ifMatch 1 on version 2", err, socialrx.EPRECONDITION)
		_, err = txDelete(s, t, "Task", "t", 1)
		wantCode(t, "delete with the stale ifMatch 1 on version 2", err, socialrx.EPRECONDITION)
		got, err := s.Read(t.Context(), "Task", "t")
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		sameResource(t, "read after refused writes", v2, got)

		_, _, err = txUpdate(s, t, "Task", "nobody", taskBody("requested", "Organization/a"), 1)
		wantCode(t, "update with ifMatch of a missing resource", err, socialrx.ENOTFOUND)
		_, err = s.Read(t.Context(), "Task", "nobody")
		wantCode(t, "read after a refused update with ifMatch", err, socialrx.ENOTFOUND)

		del, err := txDelete(s, t, "Task", "t", 2)
		if err != nil || del == nil || del.VersionID != 3 || !del.Deleted {
			t.Errorf("delete with the current ifMatch 2: got (%+v, %v), want version 3 deleted", del, err)
		}
	})

	t.Run("SameIfMatch", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		mustCreate(t, s, "Task", "t", taskBody("requested", "Organization/start"))
		results := make([]*socialrx.Resource, racers)
		errs := make([]error, racers)
		race(func(i int) {
			results[i], _, errs[i] = txUpdate(s, t, "Task", "t", taskBody("accepted", fmt.Sprintf("Organization/racer%d", i)), 1)
		})
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("racers %d and %d both updated version 1 with ifMatch 1", winner, i)
			case err == nil:
				winner = i
			default:
				wantCode(t, fmt.Sprintf("racer %d, a loser of ifMatch 1", i), err, socialrx.EPRECONDITION)
			}
		}
		if winner < 0 {
			t.Fatalf("no racer updated with ifMatch 1; errors: %v", errs)
		}
		if results[winner].VersionID != 2 {
			t.Errorf("the winner wrote version %d, want 2", results[winner].VersionID)
		}
		got, err := s.Read(t.Context(), "Task", "t")
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		sameResource(t, "read vs the winner's version", results[winner], got)
		checkBody(t, "read after the race", got, taskBody("accepted", fmt.Sprintf("Organization/racer%d", winner)))
		h, total := historyAll(t, s, socialrx.HistoryRequest{Type: "Task", ID: "t"})
		if total != 2 || len(h) != 2 {
			t.Errorf("history after the race: %v (Total %d), want versions 2 and 1", versionKeys(h), total)
		}
	})

	t.Run("NoIfMatch", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		mustCreate(t, s, "Task", "t", taskBody("requested", "Organization/start"))
		results := make([]*socialrx.Resource, racers)
		errs := make([]error, racers)
		created := make([]bool, racers)
		race(func(i int) {
			results[i], created[i], errs[i] = txUpdate(s, t, "Task", "t", taskBody("in-progress", fmt.Sprintf("Organization/racer%d", i)), 0)
		})
		var versions []int64
		for i := range racers {
			if errs[i] != nil {
				t.Errorf("racer %d: update without ifMatch: %v", i, errs[i])
				continue
			}
			if created[i] {
				t.Errorf("racer %d: created = true for an existing resource", i)
			}
			versions = append(versions, results[i].VersionID)
		}
		slices.Sort(versions)
		var want []int64
		for v := int64(2); v <= racers+1; v++ {
			want = append(want, v)
		}
		if diff := cmp.Diff(want, versions); diff != "" {
			t.Errorf("versions written by %d concurrent updates (-want +got):\n%s", racers, diff)
		}
		got, err := s.Read(t.Context(), "Task", "t")
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if got.VersionID != racers+1 {
			t.Errorf("read after the race: version %d, want %d", got.VersionID, racers+1)
		}
		for i := range racers {
			if errs[i] == nil && results[i].VersionID == got.VersionID {
				sameResource(t, "read vs the last writer", results[i], got)
			}
		}
		h, total := historyAll(t, s, socialrx.HistoryRequest{Type: "Task", ID: "t"})
		var hv []int64
		for _, v := range h {
			hv = append(hv, v.VersionID)
		}
		want = append([]int64{1}, want...)
		slices.Reverse(want)
		if diff := cmp.Diff(want, hv); diff != "" {
			t.Errorf("history versions after the race, newest first (-want +got):\n%s", diff)
		}
		if total != racers+1 {
			t.Errorf("history Total %d, want %d", total, racers+1)
		}
	})

	t.Run("SameIDCreate", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		results := make([]*socialrx.Resource, racers)
		errs := make([]error, racers)
		race(func(i int) {
			results[i], errs[i] = txCreate(s, t, "Patient", "twin", patientBody("Racer", fmt.Sprintf("N%d", i), "2000-01-01"))
		})
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("racers %d and %d both created Patient/twin", winner, i)
			case err == nil:
				winner = i
			default:
				wantCode(t, fmt.Sprintf("racer %d, a loser of create", i), err, socialrx.ECONFLICT)
			}
		}
		if winner < 0 {
			t.Fatalf("no racer created Patient/twin; errors: %v", errs)
		}
		got, err := s.Read(t.Context(), "Patient", "twin")
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if got.VersionID != 1 {
			t.Errorf("read: version %d, want 1", got.VersionID)
		}
		sameResource(t, "read vs the winner", results[winner], got)
		checkBody(t, "read after the race", got, patientBody("Racer", fmt.Sprintf("N%d", winner), "2000-01-01"))
	})
}

// taskBody returns a referral Task with the given status and owner.
func taskBody(status, owner string) string {
	return fmt.Sprintf(`{"resourceType":"Task","status":%q,"intent":"order","focus":{"reference":"ServiceRequest/sr"},"for":{"reference":"Patient/p"},"owner":{"reference":%q}}`, status, owner)
}
