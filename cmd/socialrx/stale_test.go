package main

import (
	"encoding/json"
	"net/url"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/workflow"
)

// TestCheckStalePrograms: the daily check puts each active program not
// verified within --stale-after on the verify-program work list, once;
// inactive programs and programs without a date are left out. Both stores.
func TestCheckStalePrograms(t *testing.T) {
	for _, b := range encounterBackends {
		t.Run(b.name, func(t *testing.T) {
			s := openTestStore(t, b.database(t))
			for _, src := range []string{"json", "tabular"} {
				if _, err := ImportHSDS(t.Context(), s, "../../testdata/hsds/"+src, 100, nil); err != nil {
					t.Fatal(err)
				}
			}
			now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
			w := workflow.New(s, workflow.Options{Now: func() time.Time { return now }, ProgramStaleAfter: 180 * 24 * time.Hour})
			n, err := w.CheckStalePrograms(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if n != 2 {
				t.Errorf("first check created %d Tasks, want 2", n)
			}
			if n, err = w.CheckStalePrograms(t.Context()); err != nil || n != 0 {
				t.Errorf("second check created %d Tasks (%v), want 0", n, err)
			}
			res, err := s.Search(t.Context(), socialrx.SearchRequest{Type: "Task", Params: url.Values{
				"code": {socialrx.CodeSystemBase + "task-code|verify-program"}, "status": {"requested"}}})
			if err != nil {
				t.Fatal(err)
			}
			var focus []string
			for _, m := range res.Matches {
				var task struct{ Focus struct{ Reference string } }
				if err := json.Unmarshal(m.Body, &task); err != nil {
					t.Fatal(err)
				}
				focus = append(focus, task.Focus.Reference)
			}
			sort.Strings(focus)
			want := []string{"HealthcareService/hsds-3c1e5a7b-9d2f-4e6a-8c0b-1d3f5a7c9e31", "HealthcareService/hsds-t-svc-1"}
			if !cmp.Equal(want, focus) {
				t.Errorf("work list (-want +got):\n%s", cmp.Diff(want, focus))
			}
			// A longer limit lists nothing new.
			w = workflow.New(s, workflow.Options{Now: func() time.Time { return now }, ProgramStaleAfter: 400 * 24 * time.Hour})
			if n, err = w.CheckStalePrograms(t.Context()); err != nil || n != 0 {
				t.Errorf("with 400 days: %d Tasks (%v), want 0", n, err)
			}
		})
	}
}
