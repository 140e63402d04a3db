package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/export"
)

// postEncounterFile posts testdata/encounters/NAME.json to m and wants 200.
func postEncounterFile(t *testing.T, m *Main, name string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(encounterDir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := do(t, http.MethodPost, m.URL()+"/fhir", b); resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", name, resp.StatusCode, body)
	}
}

// kickOff starts an export and returns its status URL.
func kickOff(t *testing.T, m *Main, path string) string {
	t.Helper()
	resp, body := do(t, http.MethodGet, m.URL()+path, nil, "Prefer", "respond-async", "Accept", "application/fhir+json")
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("kick-off %s: %d %s", path, resp.StatusCode, body)
	}
	return resp.Header.Get("Content-Location")
}

// manifest is the part of the completion manifest the tests read.
type manifest struct {
	TransactionTime     string
	RequiresAccessToken bool
	Output              []struct {
		Type, URL string
		Count     int
	}
}

// pollManifest polls status until the export completes (200) and returns
// the manifest; it fails on any other status than 202 or 200, or after
// the deadline.
func pollManifest(t *testing.T, status string, within time.Duration) manifest {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, body := do(t, http.MethodGet, status, nil)
		switch resp.StatusCode {
		case http.StatusOK:
			var m manifest
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatalf("manifest: %v: %s", err, body)
			}
			return m
		case http.StatusAccepted:
			if resp.Header.Get("X-Progress") == "" || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("202 without X-Progress or Retry-After: %v", resp.Header)
			}
		default:
			t.Fatalf("status: %d %s", resp.StatusCode, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("export not complete after %s", within)
		}
		time.Sleep(100 * time.Millisecond) // polling an outside process's progress, as a client does
	}
}

// download returns each output file's lines by type.
func download(t *testing.T, m manifest) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, o := range m.Output {
		resp, body := do(t, http.MethodGet, o.URL, nil, "Accept", "application/fhir+ndjson")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/fhir+ndjson" {
			t.Fatalf("GET %s: %d %s %s", o.URL, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
		if len(lines) != o.Count {
			t.Errorf("%s: %d lines, manifest count %d", o.Type, len(lines), o.Count)
		}
		out[o.Type] = lines
	}
	return out
}

// TestExportEndToEnd: on each store, with the job workers of serve, an
// analyst's Patient-level export of an encounter's patient and social
// prescription, with the prescription's derived facts, from kick-off to
// download.
func TestExportEndToEnd(t *testing.T) {
	for _, b := range encounterBackends {
		t.Run(b.name, func(t *testing.T) {
			m := startMain(t, b.database(t))
			postEncounterFile(t, m, "02-housing-warm-handoff")
			status := kickOff(t, m, "/fhir/Patient/$export?_type=Patient,ServiceRequest&prescriptionFacts=true")
			man := pollManifest(t, status, 30*time.Second)
			if man.RequiresAccessToken || man.TransactionTime == "" {
				t.Errorf("manifest (no authentication: requiresAccessToken false): %+v", man)
			}
			files := download(t, man)
			if len(files["Patient"]) != 1 || len(files["ServiceRequest"]) != 1 || len(files["Parameters"]) != 1 {
				t.Fatalf("files: %d Patient, %d ServiceRequest, %d Parameters lines; want 1 each", len(files["Patient"]), len(files["ServiceRequest"]), len(files["Parameters"]))
			}
			var sr struct{ ID string }
			if err := json.Unmarshal([]byte(files["ServiceRequest"][0]), &sr); err != nil {
				t.Fatal(err)
			}
			facts := files["Parameters"][0]
			for _, want := range []string{`"resourceType":"Parameters"`, `"ServiceRequest/` + sr.ID + `"`, `"name":"form"`, `"code":"warm-handoff"`, `"name":"needDomain"`, `"code":"housing"`} {
				if !strings.Contains(facts, want) {
					t.Errorf("facts line lacks %s: %s", want, facts)
				}
			}
			// The status is gone after DELETE.
			if resp, body := do(t, http.MethodDelete, status, nil); resp.StatusCode != http.StatusAccepted {
				t.Fatalf("DELETE: %d %s", resp.StatusCode, body)
			}
			if resp, _ := do(t, http.MethodGet, status, nil); resp.StatusCode != http.StatusNotFound {
				t.Errorf("status after DELETE: %d, want 404", resp.StatusCode)
			}
		})
	}
}

// TestExportGroupEndToEnd: on each store, Group/[id]/$export with the job
// workers of serve writes the compartments of the Group's Patient members
// only.
func TestExportGroupEndToEnd(t *testing.T) {
	for _, b := range encounterBackends {
		t.Run(b.name, func(t *testing.T) {
			m := startMain(t, b.database(t))
			for _, body := range []string{
				`{"resourceType":"Patient","id":"in"}`,
				`{"resourceType":"Patient","id":"out"}`,
				`{"resourceType":"Observation","id":"o-in","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/in"}}`,
				`{"resourceType":"Observation","id":"o-out","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/out"}}`,
				`{"resourceType":"Group","id":"cohort","type":"person","actual":true,"member":[{"entity":{"reference":"Patient/in"}},{"entity":{"reference":"Patient/out"},"inactive":true}]}`,
			} {
				var head struct{ ResourceType, ID string }
				if err := json.Unmarshal([]byte(body), &head); err != nil {
					t.Fatal(err)
				}
				if resp, rb := do(t, http.MethodPut, m.URL()+"/fhir/"+head.ResourceType+"/"+head.ID, []byte(body)); resp.StatusCode != http.StatusCreated {
					t.Fatalf("PUT %s/%s: %d %s", head.ResourceType, head.ID, resp.StatusCode, rb)
				}
			}
			man := pollManifest(t, kickOff(t, m, "/fhir/Group/cohort/$export?_type=Patient,Observation"), 30*time.Second)
			files := download(t, man)
			if len(files) != 2 || len(files["Patient"]) != 1 || !strings.Contains(files["Patient"][0], `"id":"in"`) ||
				len(files["Observation"]) != 1 || !strings.Contains(files["Observation"][0], `"id":"o-in"`) {
				t.Errorf("files: %v; want Patient/in and Observation/o-in only", files)
			}
		})
	}
}

// TestExportSurvivesRestart: an export accepted by a process that stops
// before any worker ran it is completed by the next process on the same
// database (the job is in River's table, the state in the store).
func TestExportSurvivesRestart(t *testing.T) {
	for _, b := range encounterBackends {
		t.Run(b.name, func(t *testing.T) {
			db := b.database(t)
			dir := filepath.Join(t.TempDir(), "exports")
			first := startMainWith(t, db, func(c *Config) { c.Workers = 0; c.ExportDir = dir })
			postEncounterFile(t, first, "01-food-insecurity-self-directed")
			status := kickOff(t, first, "/fhir/$export?_type=Patient,Observation")
			statusPath := status[len(first.URL()):]
			if resp, _ := do(t, http.MethodGet, status, nil); resp.StatusCode != http.StatusAccepted {
				t.Fatalf("status with no worker: %d, want 202", resp.StatusCode)
			}
			if err := first.Close(); err != nil {
				t.Fatal(err)
			}
			second := startMainWith(t, db, func(c *Config) { c.ExportDir = dir })
			man := pollManifest(t, second.URL()+statusPath, 30*time.Second)
			files := download(t, man)
			if len(files["Patient"]) != 1 || len(files["Observation"]) == 0 {
				t.Errorf("after restart: %d Patient, %d Observation lines", len(files["Patient"]), len(files["Observation"]))
			}
		})
	}
}

// TestExportCommand: `socialrx export` writes one NDJSON file per type
// with a resource, in id order, the facts with --facts, and a summary.
func TestExportCommand(t *testing.T) {
	for _, b := range encounterBackends {
		t.Run(b.name, func(t *testing.T) {
			db := b.database(t)
			m := startMain(t, db)
			postEncounterFile(t, m, "04-multiple-needs")
			out := t.TempDir()
			var bar bytes.Buffer
			sums, err := Export(t.Context(), m.Store, []string{"Patient", "ServiceRequest", "Task", "Goal"}, time.Time{}, out, true, &bar)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int64{}
			for _, s := range sums {
				got[s.Type] = s.Count
				path := filepath.Join(out, s.Type+".ndjson")
				b, err := os.ReadFile(path)
				if s.Count == 0 {
					if !os.IsNotExist(err) {
						t.Errorf("%s: a file for no resources", s.Type)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if st, err := os.Stat(path); err != nil {
					t.Fatal(err)
				} else if st.Mode().Perm()&^0o640 != 0 {
					t.Errorf("%s: mode %v; want no permission beyond 0640 (as the server's export files)", s.Type, st.Mode().Perm())
				}
				lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
				if int64(len(lines)) != s.Count || int64(len(b)) != s.Bytes {
					t.Errorf("%s: %d lines and %d bytes, summary %d and %d", s.Type, len(lines), len(b), s.Count, s.Bytes)
				}
				prev := ""
				for _, l := range lines {
					var head struct{ ResourceType, ID string }
					if err := json.Unmarshal([]byte(l), &head); err != nil {
						t.Fatalf("%s: line is not JSON: %v", s.Type, err)
					}
					if s.Type != socialrx.ExportFactsType && (head.ResourceType != s.Type || head.ID <= prev) {
						t.Errorf("%s: line %s/%s out of type or id order", s.Type, head.ResourceType, head.ID)
					}
					prev = head.ID
				}
			}
			srs, err := m.Store.CountResources(t.Context(), socialrx.StreamRequest{Type: "ServiceRequest"})
			if err != nil {
				t.Fatal(err)
			}
			if got["Patient"] != 1 || got["ServiceRequest"] != srs || got["Task"] == 0 || got["Parameters"] == 0 || got["Goal"] != 0 {
				t.Errorf("counts %v (ServiceRequests in the store: %d)", got, srs)
			}
			if !strings.Contains(bar.String(), "resources") {
				t.Errorf("no progress bar written: %q", bar.String())
			}
			var summary bytes.Buffer
			printSummary(&summary, sums, time.Second)
			if !strings.Contains(summary.String(), "Goal") || !strings.Contains(summary.String(), "(no file)") {
				t.Errorf("summary: %s", summary.String())
			}

			// The command itself, against the same database, replacing a
			// file readable by all: it is narrowed.
			cmd := &ExportCmd{Type: []string{"Patient"}, Since: "2000-01-01", Out: filepath.Join(t.TempDir(), "x"), Quiet: true, DatabaseFlag: DatabaseFlag{Database: db}}
			if err := os.MkdirAll(cmd.Out, 0o750); err != nil {
				t.Fatal(err)
			}
			old := filepath.Join(cmd.Out, "Patient.ndjson")
			if err := os.WriteFile(old, []byte("old\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(old, 0o644); err != nil { // whatever the umask
				t.Fatal(err)
			}
			if err := cmd.Run(t.Context()); err != nil {
				t.Fatalf("export command: %v", err)
			}
			if st, err := os.Stat(old); err != nil {
				t.Error(err)
			} else if st.Mode().Perm() != 0o640 {
				t.Errorf("Patient.ndjson over a 0644 file: mode %v; want 0640", st.Mode().Perm())
			}
			bad := &ExportCmd{Type: []string{"Medication"}, Out: t.TempDir(), DatabaseFlag: DatabaseFlag{Database: db}}
			if err := bad.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "Medication") {
				t.Errorf("unknown type: %v", err)
			}
		})
	}
}

// TestExportCommandTypes: `socialrx export` writes what a system $export
// writes: without --type every exported type, never the audit trail, and
// --type AuditEvent is refused with the reason.
func TestExportCommandTypes(t *testing.T) {
	types, _, err := (&ExportCmd{}).parse()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(types, "AuditEvent") || !slices.Contains(types, "Patient") || !slices.Equal(types, export.Types(socialrx.ExportSystem)) {
		t.Errorf("default types %v; want a system $export's, without AuditEvent", types)
	}
	if _, _, err := (&ExportCmd{Type: []string{"Patient", "AuditEvent"}}).parse(); err == nil || !strings.Contains(err.Error(), "AuditEvent") {
		t.Errorf("--type AuditEvent: %v; want refused", err)
	}
}

// TestPrintSummaryTotal: the total counts every line written, the
// Parameters of --facts too (7 + 7 + 18 + 7 = 39).
func TestPrintSummaryTotal(t *testing.T) {
	var out bytes.Buffer
	printSummary(&out, []exportSummary{
		{Type: "Patient", File: "Patient.ndjson", Count: 7},
		{Type: "ServiceRequest", File: "ServiceRequest.ndjson", Count: 7},
		{Type: "Task", File: "Task.ndjson", Count: 18},
		{Type: socialrx.ExportFactsType, File: "Parameters.ndjson", Count: 7},
	}, time.Second)
	if !strings.Contains(out.String(), "\n39 resources, ") {
		t.Errorf("summary total, want 39 resources:\n%s", out.String())
	}
}
