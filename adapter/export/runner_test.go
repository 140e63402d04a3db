package export_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/export"
	"github.com/socialrx/socialrx/adapter/pgtest"
	"github.com/socialrx/socialrx/adapter/postgres"
	"github.com/socialrx/socialrx/adapter/sqlite"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// eachStore runs fn on a fresh migrated SQLite store and a fresh
// PostgreSQL one.
func eachStore(t *testing.T, fn func(t *testing.T, s socialrx.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "x.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		fn(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		s, err := postgres.Open(t.Context(), pgtest.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		fn(t, s)
	})
}

func create(t *testing.T, s socialrx.Store, typ, id, body string) *socialrx.Resource {
	t.Helper()
	var r *socialrx.Resource
	err := s.Transact(t.Context(), func(tx socialrx.Tx) error {
		var err error
		r, err = tx.Create(t.Context(), typ, id, []byte(body))
		return err
	})
	if err != nil {
		t.Fatalf("create %s/%s: %v", typ, id, err)
	}
	return r
}

// ndjson is the expected file of the resources named, read from the
// store, one line each: a body with line breaks compacted, any other as
// stored.
func ndjson(t *testing.T, s socialrx.Store, typ string, ids ...string) string {
	t.Helper()
	var b bytes.Buffer
	for _, id := range ids {
		r, err := s.Read(t.Context(), typ, id)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.ContainsAny(r.Body, "\r\n") {
			b.Write(r.Body)
		} else if err := json.Compact(&b, r.Body); err != nil {
			t.Fatal(err)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// clock advances by step at every reading, so that time slices end after
// a few resources.
type clock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.step)
	return c.now
}

func newJob(t *testing.T, s socialrx.Store, level string, types ...string) *socialrx.ExportJob {
	t.Helper()
	now := time.Now().UTC()
	job := &socialrx.ExportJob{ID: export.NewJobID(), Level: level, Types: types, TransactionTime: now, CreatedAt: now, Request: "x"}
	if err := s.CreateExport(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	return job
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRunnerResumes: an export worked in many short slices, with lines
// written after a checkpoint and then lost (a process killed between two
// checkpoints leaves them in the file), writes exactly the live resources
// of each type, once each, in id order, one compact line each; what
// changed after transactionTime is left out.
func TestRunnerResumes(t *testing.T) {
	eachStore(t, func(t *testing.T, s socialrx.Store) {
		var pats []string
		for _, id := range []string{"p3", "p1", "p5", "p2", "p4", "p6", "p7"} {
			body := `{"resourceType":"Patient","active":true}`
			if id == "p2" {
				// Pretty-printed, line breaks inside a member's value too.
				body = "{\n  \"resourceType\": \"Patient\",\n  \"name\": [\n    {\"family\": \"Line\\nBreak\"}\n  ]\n}"
			}
			create(t, s, "Patient", id, body)
		}
		pats = []string{"p1", "p2", "p3", "p4", "p5", "p7"}
		for i, p := range []string{"p1", "p2", "p2"} {
			create(t, s, "Observation", "o"+string(rune('a'+i)), `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/`+p+`"}}`)
		}
		if err := s.Transact(t.Context(), func(tx socialrx.Tx) error { _, err := tx.Delete(t.Context(), "Patient", "p6", 0); return err }); err != nil {
			t.Fatal(err)
		}
		job := newJob(t, s, socialrx.ExportSystem, "Patient", "Observation", "Task")
		// Changed after the kick-off: not in this export.
		create(t, s, "Observation", "o-late", `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`)

		dir := t.TempDir()
		clk := &clock{now: time.Now(), step: 400 * time.Millisecond}
		r := export.NewRunner(export.Options{Store: s, Dir: dir, Slice: time.Second, CheckEvery: 1, Now: clk.Now})
		yields := 0
		for {
			done, err := r.Run(t.Context(), job.ID, false)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if done {
				break
			}
			yields++
			if yields > 50 {
				t.Fatal("export not done after 50 slices")
			}
			// Lines written after the last checkpoint, as a killed process
			// would leave them: the next run must cut them off.
			got, _ := s.Export(t.Context(), job.ID)
			if n := len(got.Outputs); n > 0 {
				f, err := os.OpenFile(filepath.Join(dir, job.ID, got.Outputs[n-1].File), os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = f.WriteString(`{"resourceType":"Patient","id":"half-written"}` + "\n{\"resou")
				_ = f.Close()
			}
		}
		if yields < 2 {
			t.Errorf("the export ran in %d slices; the test wants several", yields+1)
		}
		got, err := s.Export(t.Context(), job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != socialrx.ExportCompleted || got.Total != 9 || got.Done != 9 || got.ExpiresAt.IsZero() {
			t.Errorf("job: status %s, total %d, done %d, expires %v; want completed, 9, 9, set", got.Status, got.Total, got.Done, got.ExpiresAt)
		}
		var outs []string
		for _, o := range got.Outputs {
			outs = append(outs, o.Type+":"+o.File+":"+string(rune('0'+o.Count)))
		}
		if diff := cmp.Diff([]string{"Patient:Patient.ndjson:6", "Observation:Observation.ndjson:3"}, outs); diff != "" {
			t.Errorf("outputs (empty Task left out) (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(ndjson(t, s, "Patient", pats...), readFile(t, filepath.Join(dir, job.ID, "Patient.ndjson"))); diff != "" {
			t.Errorf("Patient.ndjson (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(ndjson(t, s, "Observation", "oa", "ob", "oc"), readFile(t, filepath.Join(dir, job.ID, "Observation.ndjson"))); diff != "" {
			t.Errorf("Observation.ndjson (-want +got):\n%s", diff)
		}
		if _, err := os.Stat(filepath.Join(dir, job.ID, "Task.ndjson")); !os.IsNotExist(err) {
			t.Errorf("empty Task.ndjson kept: %v", err)
		}
		// Run again: nothing to do, nothing changes.
		if done, err := r.Run(t.Context(), job.ID, false); !done || err != nil {
			t.Errorf("run of a completed export: %v, %v", done, err)
		}
	})
}

// TestRunnerLostFile: a file shorter than its checkpoint (lost writes
// after a machine crash) makes the type start again, and the result is
// still exact.
func TestRunnerLostFile(t *testing.T) {
	eachStore(t, func(t *testing.T, s socialrx.Store) {
		for _, id := range []string{"a", "b", "c", "d", "e"} {
			create(t, s, "Patient", id, `{"resourceType":"Patient"}`)
		}
		job := newJob(t, s, socialrx.ExportSystem, "Patient")
		dir := t.TempDir()
		clk := &clock{now: time.Now(), step: 400 * time.Millisecond}
		r := export.NewRunner(export.Options{Store: s, Dir: dir, Slice: time.Second, CheckEvery: 1, Now: clk.Now})
		if done, err := r.Run(t.Context(), job.ID, false); done || err != nil {
			t.Fatalf("first slice: %v, %v; want a yield", done, err)
		}
		if err := os.Truncate(filepath.Join(dir, job.ID, "Patient.ndjson"), 3); err != nil {
			t.Fatal(err)
		}
		for i := 0; ; i++ {
			done, err := r.Run(t.Context(), job.ID, false)
			if err != nil {
				t.Fatal(err)
			}
			if done {
				break
			}
			if i > 20 {
				t.Fatal("not done")
			}
		}
		got, _ := s.Export(t.Context(), job.ID)
		if got.Done != 5 || got.Outputs[0].Count != 5 {
			t.Errorf("done %d, count %d; want 5 and 5", got.Done, got.Outputs[0].Count)
		}
		if diff := cmp.Diff(ndjson(t, s, "Patient", "a", "b", "c", "d", "e"), readFile(t, filepath.Join(dir, job.ID, "Patient.ndjson"))); diff != "" {
			t.Errorf("Patient.ndjson (-want +got):\n%s", diff)
		}
	})
}

// TestRunnerCompartments: a Patient-level export writes the patients and
// what is about them (subject, patient); a Group-level one only its active
// members and what is about them; types without a compartment parameter
// give nothing.
func TestRunnerCompartments(t *testing.T) {
	eachStore(t, func(t *testing.T, s socialrx.Store) {
		for _, id := range []string{"p1", "p2", "p3"} {
			create(t, s, "Patient", id, `{"resourceType":"Patient"}`)
		}
		create(t, s, "Observation", "o1", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`)
		create(t, s, "Observation", "o2", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p2"}}`)
		create(t, s, "Observation", "o3", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"performer":[{"reference":"Patient/p3"}]}`)
		create(t, s, "Task", "t1", `{"resourceType":"Task","status":"requested","intent":"order","for":{"reference":"Patient/p3"}}`)
		create(t, s, "Organization", "org", `{"resourceType":"Organization"}`)
		create(t, s, "Group", "g", `{"resourceType":"Group","type":"person","actual":true,"member":[{"entity":{"reference":"Patient/p1"}},{"entity":{"reference":"Patient/p3"}},{"entity":{"reference":"Patient/p2"},"inactive":true}]}`)

		run := func(job *socialrx.ExportJob) map[string]string {
			t.Helper()
			dir := t.TempDir()
			r := export.NewRunner(export.Options{Store: s, Dir: dir})
			if done, err := r.Run(t.Context(), job.ID, false); !done || err != nil {
				t.Fatalf("run: %v, %v", done, err)
			}
			got, _ := s.Export(t.Context(), job.ID)
			files := map[string]string{}
			for _, o := range got.Outputs {
				var ids []string
				for _, line := range strings.Split(strings.TrimSpace(readFile(t, filepath.Join(dir, job.ID, o.File))), "\n") {
					var head struct{ ID string }
					_ = json.Unmarshal([]byte(line), &head)
					ids = append(ids, head.ID)
				}
				files[o.Type] = strings.Join(ids, ",")
			}
			return files
		}
		pj := newJob(t, s, socialrx.ExportPatient, "Patient", "Observation", "Task", "Organization")
		if diff := cmp.Diff(map[string]string{"Patient": "p1,p2,p3", "Observation": "o1,o2", "Task": "t1"}, run(pj)); diff != "" {
			t.Errorf("Patient/$export (-want +got):\n%s", diff)
		}
		gj := newJob(t, s, socialrx.ExportGroup, "Patient", "Observation", "Task")
		gj.GroupID = "g"
		// GroupID is fixed at kick-off: record this job again with it.
		if _, err := s.DeleteExport(t.Context(), gj.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateExport(t.Context(), gj); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"Patient": "p1,p3", "Observation": "o1", "Task": "t1"}, run(gj)); diff != "" {
			t.Errorf("Group/g/$export (-want +got):\n%s", diff)
		}

		// The membership is the Group's at the kick-off (transactionTime):
		// a change or a delete after it does not change what an export
		// kicked off before writes; one kicked off after the delete fails.
		groupJob := func() *socialrx.ExportJob {
			t.Helper()
			j := newJob(t, s, socialrx.ExportGroup, "Patient")
			if _, err := s.DeleteExport(t.Context(), j.ID); err != nil {
				t.Fatal(err)
			}
			j.GroupID = "g"
			if err := s.CreateExport(t.Context(), j); err != nil {
				t.Fatal(err)
			}
			// The stores stamp lastUpdated in microseconds: step the clock
			// past this job's transactionTime before the next write.
			time.Sleep(2 * time.Millisecond)
			return j
		}
		write := func(fn func(tx socialrx.Tx) error) {
			t.Helper()
			if err := s.Transact(t.Context(), fn); err != nil {
				t.Fatal(err)
			}
		}
		before := groupJob()
		write(func(tx socialrx.Tx) error {
			_, _, err := tx.Update(t.Context(), "Group", "g", []byte(`{"resourceType":"Group","type":"person","actual":true,"member":[{"entity":{"reference":"Patient/p2"}}]}`), 0)
			return err
		})
		between := groupJob()
		write(func(tx socialrx.Tx) error {
			_, err := tx.Delete(t.Context(), "Group", "g", 0)
			return err
		})
		after := groupJob()
		if diff := cmp.Diff(map[string]string{"Patient": "p1,p3"}, run(before)); diff != "" {
			t.Errorf("export kicked off before the Group changed (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]string{"Patient": "p2"}, run(between)); diff != "" {
			t.Errorf("export kicked off before the Group was deleted (-want +got):\n%s", diff)
		}
		r := export.NewRunner(export.Options{Store: s, Dir: t.TempDir()})
		if done, err := r.Run(t.Context(), after.ID, true); !done || err != nil {
			t.Fatalf("run after the delete: %v, %v", done, err)
		}
		if got, _ := s.Export(t.Context(), after.ID); got.Status != socialrx.ExportFailed || !strings.Contains(got.Error, "deleted") {
			t.Errorf("export kicked off after the Group was deleted: %s %q, want failed, deleted", got.Status, got.Error)
		}
	})
}

// TestRunnerCancelAndFail: a job whose record was deleted (DELETE) stops
// and its files go; a job that fails on its last attempt is marked failed
// with the reason, and expires.
func TestRunnerCancelAndFail(t *testing.T) {
	eachStore(t, func(t *testing.T, s socialrx.Store) {
		for _, id := range []string{"a", "b", "c", "d"} {
			create(t, s, "Patient", id, `{"resourceType":"Patient"}`)
		}
		dir := t.TempDir()
		clk := &clock{now: time.Now(), step: 400 * time.Millisecond}
		r := export.NewRunner(export.Options{Store: s, Dir: dir, Slice: time.Second, CheckEvery: 1, Now: clk.Now})
		job := newJob(t, s, socialrx.ExportSystem, "Patient")
		if done, err := r.Run(t.Context(), job.ID, false); done || err != nil {
			t.Fatalf("first slice: %v, %v; want a yield", done, err)
		}
		if _, err := os.Stat(filepath.Join(dir, job.ID)); err != nil {
			t.Fatalf("no files after a slice: %v", err)
		}
		if _, err := s.DeleteExport(t.Context(), job.ID); err != nil {
			t.Fatal(err)
		}
		if done, err := r.Run(t.Context(), job.ID, false); !done || err != nil {
			t.Errorf("run of a cancelled export: %v, %v; want done", done, err)
		}
		if _, err := os.Stat(filepath.Join(dir, job.ID)); !os.IsNotExist(err) {
			t.Errorf("files of a cancelled export kept: %v", err)
		}

		// The export directory is a file: every attempt fails.
		bad := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(bad, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		r = export.NewRunner(export.Options{Store: s, Dir: bad})
		job = newJob(t, s, socialrx.ExportSystem, "Patient")
		if done, err := r.Run(t.Context(), job.ID, false); done || err == nil {
			t.Fatalf("run into a file: %v, %v; want a retryable error", done, err)
		}
		if done, err := r.Run(t.Context(), job.ID, true); !done || err != nil {
			t.Fatalf("last try: %v, %v; want done (failed)", done, err)
		}
		got, _ := s.Export(t.Context(), job.ID)
		if got.Status != socialrx.ExportFailed || got.Error == "" || got.ExpiresAt.IsZero() {
			t.Errorf("failed job: status %s, error %q, expires %v", got.Status, got.Error, got.ExpiresAt)
		}
	})
}
