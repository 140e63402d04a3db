package main

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/workflow"
	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/mapping"
)

// TestCheckStalePrograms: the daily check puts each active program not
// verified within --stale-after on the verify-program work list, once;
// inactive programs and programs without a date are left out; a program
// verified again gets its Task completed, one that closed cancelled. Both
// stores.
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
			// The first program is verified again, the second closes: the
			// next run completes the one Task and cancels the other.
			update := func(ref string, edit func(body []byte) []byte) {
				t.Helper()
				_, id, _ := strings.Cut(ref, "/")
				if err := w.Transact(t.Context(), func(tx *workflow.Tx) error {
					r, err := tx.Read(t.Context(), "HealthcareService", id)
					if err != nil {
						return err
					}
					_, _, err = tx.Update(t.Context(), "HealthcareService", id, edit(r.Body), r.VersionID)
					return err
				}); err != nil {
					t.Fatal(err)
				}
			}
			update(want[0], func(body []byte) []byte {
				prog, err := mapping.ProgramOf("x", body)
				if err != nil || prog.LastVerified == "" {
					t.Fatalf("program %s: last verified %q (%v)", want[0], prog.LastVerified, err)
				}
				return bytes.ReplaceAll(body, []byte(`"`+prog.LastVerified), []byte(`"2026-12-01`))
			})
			update(want[1], func(body []byte) []byte {
				o, err := fhir.ParseObject(body)
				if err != nil {
					t.Fatal(err)
				}
				o.Set("active", json.RawMessage("false"))
				return o.Bytes()
			})
			if n, err := w.CloseVerifiedPrograms(t.Context()); err != nil || n != 2 {
				t.Fatalf("CloseVerifiedPrograms closed %d (%v), want 2", n, err)
			}
			if n, err := w.CloseVerifiedPrograms(t.Context()); err != nil || n != 0 {
				t.Errorf("a second CloseVerifiedPrograms closed %d (%v), want 0", n, err)
			}
			got := map[string]string{}
			for _, m := range res.Matches {
				r, err := s.Read(t.Context(), "Task", m.ID)
				if err != nil {
					t.Fatal(err)
				}
				var task struct {
					Status       string
					Focus        struct{ Reference string }
					StatusReason struct{ Text string }
				}
				if err := json.Unmarshal(r.Body, &task); err != nil {
					t.Fatal(err)
				}
				got[task.Focus.Reference] = task.Status + ": " + task.StatusReason.Text
			}
			wantClosed := map[string]string{
				want[0]: "completed: The program was verified again on 2026-12-01.",
				want[1]: "cancelled: The program is no longer active.",
			}
			if !cmp.Equal(wantClosed, got) {
				t.Errorf("closed Tasks (-want +got):\n%s", cmp.Diff(wantClosed, got))
			}
			if n, err = w.CheckStalePrograms(t.Context()); err != nil || n != 0 {
				t.Errorf("after the closes: %d new Tasks (%v), want 0", n, err)
			}

			// A longer limit lists nothing new.
			w = workflow.New(s, workflow.Options{Now: func() time.Time { return now }, ProgramStaleAfter: 400 * 24 * time.Hour})
			if n, err = w.CheckStalePrograms(t.Context()); err != nil || n != 0 {
				t.Errorf("with 400 days: %d Tasks (%v), want 0", n, err)
			}
		})
	}
}

// TestStaleCheckAtEveryStart: the stale_programs job runs at every start of
// the server, not only at the first start of a day (its uniqueness once
// spanned a whole day, so programs imported and then served the same day
// reached the work list only the next day). Programs imported between two
// starts are on the verify-program work list after the second.
func TestStaleCheckAtEveryStart(t *testing.T) {
	db := sqliteDatabase(t)
	importDir := func(src string) {
		s := openTestStore(t, db)
		if _, err := ImportHSDS(t.Context(), s, "../../testdata/hsds/"+src, 100, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// The fixtures' stale programs (last verified in May and June 2026,
	// more than the default 180 days ago): one in each dataset.
	waitFor := func(m *Main, want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			res, err := m.Store.Search(t.Context(), socialrx.SearchRequest{Type: "Task", Params: url.Values{
				"code": {socialrx.CodeSystemBase + "task-code|verify-program"}, "focus": {want}}})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Matches) == 1 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no verify-program Task for %s 30 s after the start (%d found)", want, len(res.Matches))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	importDir("json")
	m := startMain(t, db)
	waitFor(m, "HealthcareService/hsds-3c1e5a7b-9d2f-4e6a-8c0b-1d3f5a7c9e31")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	importDir("tabular")
	m = startMain(t, db)
	waitFor(m, "HealthcareService/hsds-t-svc-1")
}

// TestImportClosesVerifiedPrograms: `socialrx import hsds` that brings a
// newer last-verified date (HSDS assured_date) for a program on the stale
// work list closes its verify-program Task at once (it stayed until the
// next daily check: finding 13 of the navigator walk), by the rule of
// serve's --stale-after.
func TestImportClosesVerifiedPrograms(t *testing.T) {
	for _, b := range encounterBackends {
		t.Run(b.name, func(t *testing.T) {
			database := b.database(t)
			s := openTestStore(t, database)
			if _, err := ImportHSDS(t.Context(), s, "../../testdata/hsds/json", 100, nil); err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
			w := workflow.New(s, workflow.Options{Now: func() time.Time { return now }, ProgramStaleAfter: 180 * 24 * time.Hour})
			if n, err := w.CheckStalePrograms(t.Context()); err != nil || n != 1 {
				t.Fatalf("stale check: %d Tasks (%v), want 1", n, err)
			}
			open := func() int {
				t.Helper()
				res, err := s.Search(t.Context(), socialrx.SearchRequest{Type: "Task", Params: url.Values{
					"code": {socialrx.CodeSystemBase + "task-code|verify-program"}, "status": {"requested"}, "_total": {"accurate"}}})
				if err != nil {
					t.Fatal(err)
				}
				return res.Total
			}
			if n := open(); n != 1 {
				t.Fatalf("%d open verify-program Tasks, want 1", n)
			}
			// The same dataset again: nothing re-verified, the Task stays.
			cmd := ImportHSDSCmd{Source: "../../testdata/hsds/json", Batch: 100, Quiet: true, StaleAfter: 180 * 24 * time.Hour, DatabaseFlag: DatabaseFlag{Database: database}}
			if err := cmd.Run(t.Context()); err != nil {
				t.Fatal(err)
			}
			if n := open(); n != 1 {
				t.Errorf("after an import that verified nothing: %d open, want 1", n)
			}
			// The program verified again a few days ago.
			dir := t.TempDir()
			for _, f := range []string{"organizations.json", "services_list.json"} {
				b, err := os.ReadFile(filepath.Join("../../testdata/hsds/json", f))
				if err != nil {
					t.Fatal(err)
				}
				recent := time.Now().UTC().AddDate(0, 0, -3).Format(time.DateOnly)
				b = bytes.Replace(b, []byte(`"assured_date": "2026-06-01"`), []byte(`"assured_date": "`+recent+`"`), 1)
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cmd.Source = dir
			if err := cmd.Run(t.Context()); err != nil {
				t.Fatal(err)
			}
			if n := open(); n != 0 {
				t.Errorf("after the import that verified it again: %d open verify-program Tasks, want 0", n)
			}
		})
	}
}
