package httpapi_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/export"
	"github.com/socialrx/socialrx/adapter/httpapi"
	"github.com/socialrx/socialrx/adapter/sqlite"
)

// typeAccess permits read of the listed types only (a test scope set).
type typeAccess []string

func (a typeAccess) Permits(i socialrx.Interaction, typ string) bool {
	return i == socialrx.InteractionRead && slices.Contains(a, typ)
}

// exportServer is a Server with an export directory, behind a handler that
// puts a Principal in each request's context as authentication would: the
// client named by X-Test-Client, with read access to the types in
// X-Test-Read (comma-separated; absent: everything).
func exportServer(t *testing.T) (*testServer, *sqlite.Store, string) {
	t.Helper()
	st := openStore(t)
	dir := filepath.Join(t.TempDir(), "exports")
	logs := &syncBuffer{}
	srv := httpapi.New(st, httpapi.Config{ExportDir: dir}, slog.New(slog.NewJSONHandler(logs, nil)))
	h := srv.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := r.Header.Get("X-Test-Client"); c != "" {
			p := socialrx.Principal{ClientID: c}
			if read, ok := r.Header["X-Test-Read"]; ok {
				p.Access = typeAccess(strings.Split(read[0], ","))
			}
			r = r.WithContext(socialrx.WithPrincipal(r.Context(), p))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return &testServer{Server: ts, srv: srv, logs: logs}, st, dir
}

// TestExportKickoffRefused: a kick-off the server cannot run is answered
// with an OperationOutcome and records nothing.
func TestExportKickoffRefused(t *testing.T) {
	ts, st, _ := exportServer(t)
	for _, c := range []struct {
		name, path string
		headers    []string
		status     int
	}{
		{"no Prefer: respond-async", "/fhir/$export", nil, 400},
		{"output format", "/fhir/$export?_outputFormat=text/csv", []string{"Prefer", "respond-async"}, 400},
		{"unsupported parameter", "/fhir/$export?_typeFilter=Patient%3Factive%3Dtrue", []string{"Prefer", "respond-async"}, 400},
		{"since without zone", "/fhir/$export?_since=2026-01-01T00:00:00", []string{"Prefer", "respond-async"}, 400},
		{"unknown type", "/fhir/$export?_type=Medication", []string{"Prefer", "respond-async"}, 400},
		{"the audit trail", "/fhir/$export?_type=Patient,AuditEvent", []string{"Prefer", "respond-async"}, 400},
		{"type outside the compartment", "/fhir/Patient/$export?_type=Organization", []string{"Prefer", "respond-async"}, 400},
		{"facts without ServiceRequest", "/fhir/$export?_type=Patient&prescriptionFacts=true", []string{"Prefer", "respond-async"}, 400},
		{"facts not a boolean", "/fhir/$export?prescriptionFacts=yes", []string{"Prefer", "respond-async"}, 400},
		{"type not readable", "/fhir/$export?_type=Patient,Observation", []string{"Prefer", "respond-async", "X-Test-Client", "a", "X-Test-Read", "Patient"}, 403},
		{"nothing readable", "/fhir/Patient/$export", []string{"Prefer", "respond-async", "X-Test-Client", "a", "X-Test-Read", "Organization"}, 403},
		{"another type", "/fhir/Observation/$export", []string{"Prefer", "respond-async"}, 404},
		{"unknown Group", "/fhir/Group/g1/$export", []string{"Prefer", "respond-async"}, 404},
		{"Group not readable", "/fhir/Group/g1/$export", []string{"Prefer", "respond-async", "X-Test-Client", "a", "X-Test-Read", "Patient"}, 403},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp := ts.do(t, http.MethodGet, c.path, "", c.headers...).want(t, c.status)
			if len(resp.outcome(t)) == 0 {
				t.Error("no issue in the OperationOutcome")
			}
			if got := resp.header.Get("WWW-Authenticate"); (c.status == http.StatusForbidden) != strings.Contains(got, `error="insufficient_scope"`) {
				t.Errorf("%d with WWW-Authenticate %q; want the insufficient_scope challenge on every 403 (and only there)", c.status, got)
			}
		})
	}
	ts.do(t, http.MethodPost, "/fhir/$export", "{}", "Prefer", "respond-async").want(t, http.StatusMethodNotAllowed)
	if ids, err := st.ExportIDs(t.Context()); err != nil || len(ids) != 0 {
		t.Errorf("exports recorded by refused kick-offs: %v, %v", ids, err)
	}
	// No export directory: 501.
	plain := newServer(t, httpapi.Config{})
	plain.do(t, http.MethodGet, "/fhir/$export", "", "Prefer", "respond-async").want(t, http.StatusNotImplemented)
}

// TestExportFlow: kick-off, status while running, the manifest, the files
// and DELETE, each served only to the client that kicked it off.
func TestExportFlow(t *testing.T) {
	ts, st, dir := exportServer(t)
	for _, body := range []string{
		`{"resourceType":"Patient","id":"p1","active":true}`,
		`{"resourceType":"Patient","id":"p2","active":false}`,
		`{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`,
		`{"resourceType":"Organization","id":"org1","name":"x"}`,
	} {
		var head struct{ ResourceType, ID string }
		_ = json.Unmarshal([]byte(body), &head)
		ts.do(t, http.MethodPut, "/fhir/"+head.ResourceType+"/"+head.ID, body).want(t, http.StatusCreated)
	}
	a := []string{"X-Test-Client", "client-a"}
	b := []string{"X-Test-Client", "client-b"}
	kick := ts.do(t, http.MethodGet, "/fhir/Patient/$export?_type=Patient,Observation&_outputFormat=application/fhir%2Bndjson", "",
		append([]string{"Prefer", "respond-async", "Accept", "application/fhir+json"}, a...)...).want(t, http.StatusAccepted)
	loc := kick.header.Get("Content-Location")
	if !strings.HasPrefix(loc, ts.URL+"/fhir/$export-status/") {
		t.Fatalf("Content-Location %q", loc)
	}
	id := loc[strings.LastIndexByte(loc, '/')+1:]
	job, err := st.Export(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if job.Owner != "client-a" || job.Level != socialrx.ExportPatient || !slices.Equal(job.Types, []string{"Patient", "Observation"}) {
		t.Errorf("recorded job: owner %q, level %q, types %v", job.Owner, job.Level, job.Types)
	}
	statusPath := strings.TrimPrefix(loc, ts.URL)

	running := ts.do(t, http.MethodGet, statusPath, "", a...).want(t, http.StatusAccepted)
	if running.header.Get("X-Progress") == "" || running.header.Get("Retry-After") != "2" {
		t.Errorf("running status headers: X-Progress %q, Retry-After %q", running.header.Get("X-Progress"), running.header.Get("Retry-After"))
	}
	ts.do(t, http.MethodGet, statusPath, "", b...).want(t, http.StatusNotFound)
	ts.do(t, http.MethodGet, statusPath, "").want(t, http.StatusNotFound) // no client: not the owner either

	// The job, as adapter/jobs runs it.
	r := export.NewRunner(export.Options{Store: st, Dir: dir})
	if done, err := r.Run(t.Context(), id, false); !done || err != nil {
		t.Fatalf("run: %v, %v", done, err)
	}
	resp := ts.do(t, http.MethodGet, statusPath, "", a...).want(t, http.StatusOK)
	if ct := resp.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("manifest Content-Type %q", ct)
	}
	var m struct {
		TransactionTime     string
		Request             string
		RequiresAccessToken bool
		Output              []struct {
			Type, URL string
			Count     int
		}
		Error []any
	}
	if err := json.Unmarshal(resp.body, &m); err != nil {
		t.Fatalf("manifest: %v: %s", err, resp.body)
	}
	if tt, err := time.Parse(time.RFC3339Nano, m.TransactionTime); err != nil || !tt.Equal(job.TransactionTime) {
		t.Errorf("transactionTime %q, want %v", m.TransactionTime, job.TransactionTime)
	}
	if m.Request != ts.URL+"/fhir/Patient/$export?_type=Patient,Observation&_outputFormat=application/fhir%2Bndjson" || m.RequiresAccessToken || m.Error == nil {
		t.Errorf("manifest: request %q, requiresAccessToken %v (want false: no authentication), error %v", m.Request, m.RequiresAccessToken, m.Error)
	}
	var outs []string
	files := map[string]string{}
	for _, o := range m.Output {
		outs = append(outs, o.Type+":"+string(rune('0'+o.Count)))
		path := strings.TrimPrefix(o.URL, ts.URL)
		ts.do(t, http.MethodGet, path, "", b...).want(t, http.StatusNotFound)
		f := ts.do(t, http.MethodGet, path, "", append([]string{"Accept", "application/fhir+ndjson"}, a...)...).want(t, http.StatusOK)
		if ct := f.header.Get("Content-Type"); ct != "application/fhir+ndjson" {
			t.Errorf("%s: Content-Type %q", o.Type, ct)
		}
		files[o.Type] = string(f.body)
		// A part of the file, and a Range outside it: 206, then 416 with
		// an OperationOutcome (not net/http's plain text).
		part := ts.do(t, http.MethodGet, path, "", append([]string{"Range", "bytes=0-9"}, a...)...).want(t, http.StatusPartialContent)
		if string(part.body) != string(f.body[:10]) {
			t.Errorf("%s bytes 0-9: %q, want %q", o.Type, part.body, f.body[:10])
		}
		for _, r := range []string{"bytes=5-2", "bytes=999999-"} {
			bad := ts.do(t, http.MethodGet, path, "", append([]string{"Range", r}, a...)...).want(t, http.StatusRequestedRangeNotSatisfiable)
			if len(bad.outcome(t)) == 0 || !strings.HasPrefix(bad.header.Get("Content-Type"), "application/fhir+json") {
				t.Errorf("Range %s: Content-Type %q, body %s; want an OperationOutcome", r, bad.header.Get("Content-Type"), bad.body)
			}
		}
	}
	if diff := cmp.Diff([]string{"Patient:2", "Observation:1"}, outs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	if lines := strings.Split(strings.TrimSpace(files["Observation"]), "\n"); len(lines) != 1 || !strings.Contains(lines[0], `"id":"o1"`) {
		t.Errorf("Observation file: %q", files["Observation"])
	}
	ts.do(t, http.MethodGet, "/fhir/$export-file/"+id+"/Organization.ndjson", "", a...).want(t, http.StatusNotFound)
	ts.do(t, http.MethodGet, "/fhir/$export-file/"+id+"/..%2F..%2Fx", "", a...).want(t, http.StatusNotFound)

	ts.do(t, http.MethodDelete, statusPath, "", b...).want(t, http.StatusNotFound)
	ts.do(t, http.MethodDelete, statusPath, "", a...).want(t, http.StatusAccepted)
	ts.do(t, http.MethodGet, statusPath, "", a...).want(t, http.StatusNotFound)
	if _, err := os.Stat(filepath.Join(dir, id)); !os.IsNotExist(err) {
		t.Errorf("files of a deleted export: %v", err)
	}
	// The CapabilityStatement lists $export at system level and on Patient.
	meta := ts.do(t, http.MethodGet, "/fhir/metadata", "").want(t, http.StatusOK).json(t)
	rest := meta["rest"].([]any)[0].(map[string]any)
	if !strings.Contains(mustJSON(t, rest["operation"]), `"name":"export"`) {
		t.Errorf("system operations without export: %v", rest["operation"])
	}
	for _, r := range rest["resource"].([]any) {
		res := r.(map[string]any)
		has := strings.Contains(mustJSON(t, res["operation"]), "patient-export")
		if has != (res["type"] == "Patient") {
			t.Errorf("%s: patient-export listed %v", res["type"], has)
		}
		has = strings.Contains(mustJSON(t, res["operation"]), "group-export")
		if has != (res["type"] == "Group") {
			t.Errorf("%s: group-export listed %v", res["type"], has)
		}
	}
	// The access log names the client (its id is no PHI), never what was
	// exported.
	if logs := ts.logs.String(); strings.Contains(logs, `"resourceType"`) || !strings.Contains(logs, `"client":"client-a"`) {
		t.Errorf("logs hold resource contents, or do not name the client: %s", logs)
	}
}

// TestExportGroup: Group/[id]/$export writes the compartments of the
// Group's current Patient members only; a Group with a member that is not
// a Patient is refused (400, each such member's path), as are types
// outside the compartment; the client must be allowed to read Group.
func TestExportGroup(t *testing.T) {
	ts, st, dir := exportServer(t)
	for _, body := range []string{
		`{"resourceType":"Patient","id":"p1"}`,
		`{"resourceType":"Patient","id":"p2"}`,
		`{"resourceType":"Patient","id":"p3"}`,
		`{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`,
		`{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p2"}}`,
		`{"resourceType":"Observation","id":"o3","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p3"}}`,
		`{"resourceType":"Group","id":"cohort","type":"person","actual":true,"member":[{"entity":{"reference":"Patient/p1"}},{"entity":{"reference":"Patient/p2"},"inactive":true},{"entity":{"reference":"Patient/p3"},"period":{"start":"2020-01-01","end":"2021-01-01"}},{"entity":{"reference":"Practitioner/d1"},"inactive":true}]}`,
		`{"resourceType":"Group","id":"mixed","type":"person","actual":true,"member":[{"entity":{"reference":"Patient/p1"}},{"entity":{"reference":"Practitioner/d1"}}]}`,
	} {
		var head struct{ ResourceType, ID string }
		_ = json.Unmarshal([]byte(body), &head)
		ts.do(t, http.MethodPut, "/fhir/"+head.ResourceType+"/"+head.ID, body).want(t, http.StatusCreated)
	}
	async := []string{"Prefer", "respond-async", "X-Test-Client", "a"}
	mixed := ts.do(t, http.MethodGet, "/fhir/Group/mixed/$export", "", async...).want(t, http.StatusBadRequest)
	if issues := mixed.outcome(t); !slices.Equal(issues, []string{"not-supported@Group.member[1].entity"}) {
		t.Errorf("Group with a Practitioner member: %s", mixed.body)
	}
	ts.do(t, http.MethodGet, "/fhir/Group/cohort/$export?_type=Organization", "", async...).want(t, http.StatusBadRequest)
	ts.do(t, http.MethodGet, "/fhir/Group/cohort/$export", "", append(async, "X-Test-Read", "Patient,Observation")...).want(t, http.StatusForbidden)
	ts.do(t, http.MethodGet, "/fhir/Group/cohort/$export?_type=Observation", "", append(async, "X-Test-Read", "Group,Patient")...).want(t, http.StatusForbidden)
	ts.do(t, http.MethodGet, "/fhir/Group/none/$export", "", async...).want(t, http.StatusNotFound)
	if ids, err := st.ExportIDs(t.Context()); err != nil || len(ids) != 0 {
		t.Fatalf("exports recorded by refused kick-offs: %v, %v", ids, err)
	}

	kick := ts.do(t, http.MethodGet, "/fhir/Group/cohort/$export?_type=Patient,Observation", "", append(async, "X-Test-Read", "Group,Patient,Observation")...).want(t, http.StatusAccepted)
	loc := kick.header.Get("Content-Location")
	id := loc[strings.LastIndexByte(loc, '/')+1:]
	job, err := st.Export(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if job.Level != socialrx.ExportGroup || job.GroupID != "cohort" {
		t.Errorf("recorded job: level %q, group %q", job.Level, job.GroupID)
	}
	// A member added after the kick-off is not in this export.
	ts.do(t, http.MethodPut, "/fhir/Group/cohort", `{"resourceType":"Group","id":"cohort","type":"person","actual":true,"member":[{"entity":{"reference":"Patient/p1"}},{"entity":{"reference":"Patient/p2"}}]}`).want(t, http.StatusOK)
	r := export.NewRunner(export.Options{Store: st, Dir: dir})
	if done, err := r.Run(t.Context(), id, false); !done || err != nil {
		t.Fatalf("run: %v, %v", done, err)
	}
	var m struct {
		Request string
		Output  []struct{ Type, URL string }
	}
	if err := json.Unmarshal(ts.do(t, http.MethodGet, strings.TrimPrefix(loc, ts.URL), "", "X-Test-Client", "a").want(t, http.StatusOK).body, &m); err != nil {
		t.Fatal(err)
	}
	if m.Request != ts.URL+"/fhir/Group/cohort/$export?_type=Patient,Observation" {
		t.Errorf("manifest request %q", m.Request)
	}
	got := map[string]string{}
	for _, o := range m.Output {
		f := ts.do(t, http.MethodGet, strings.TrimPrefix(o.URL, ts.URL), "", "X-Test-Client", "a").want(t, http.StatusOK)
		var ids []string
		for _, line := range strings.Split(strings.TrimSpace(string(f.body)), "\n") {
			var head struct{ ID string }
			_ = json.Unmarshal([]byte(line), &head)
			ids = append(ids, head.ID)
		}
		got[o.Type] = strings.Join(ids, ",")
	}
	if diff := cmp.Diff(map[string]string{"Patient": "p1", "Observation": "o1"}, got); diff != "" {
		t.Errorf("Group/cohort/$export (-want +got):\n%s", diff)
	}
}

// TestExportDefaultTypes: without _type an export writes every type of its
// level that the client may read, and leaves the others out.
func TestExportDefaultTypes(t *testing.T) {
	ts, st, _ := exportServer(t)
	for _, c := range []struct {
		path, read string
		want       []string
	}{
		{"/fhir/$export", "Patient,Organization,Task", []string{"Organization", "Patient", "Task"}},
		{"/fhir/Patient/$export", "Patient,Organization,Task", []string{"Patient", "Task"}},
	} {
		resp := ts.do(t, http.MethodGet, c.path, "", "Prefer", "respond-async", "X-Test-Client", "c", "X-Test-Read", c.read).want(t, http.StatusAccepted)
		loc := resp.header.Get("Content-Location")
		job, err := st.Export(t.Context(), loc[strings.LastIndexByte(loc, '/')+1:])
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c.want, job.Types); diff != "" {
			t.Errorf("%s readable %s: types (-want +got):\n%s", c.path, c.read, diff)
		}
	}
}

// TestExportFailedStatus: a failed export's status is a 500
// OperationOutcome with the reason.
func TestExportFailedStatus(t *testing.T) {
	ts, st, _ := exportServer(t)
	now := time.Now().UTC()
	job := &socialrx.ExportJob{ID: export.NewJobID(), Level: socialrx.ExportSystem, Types: []string{"Patient"}, TransactionTime: now, CreatedAt: now}
	if err := st.CreateExport(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	job.Status, job.Error, job.ExpiresAt = socialrx.ExportFailed, "disk full", now.Add(time.Hour)
	if ok, err := st.SaveExport(t.Context(), job); !ok || err != nil {
		t.Fatal(ok, err)
	}
	resp := ts.do(t, http.MethodGet, "/fhir/$export-status/"+job.ID, "").want(t, http.StatusInternalServerError)
	if !strings.Contains(string(resp.body), "disk full") {
		t.Errorf("failed status body: %s", resp.body)
	}
	// Expired (not yet cleaned up): gone.
	job2 := &socialrx.ExportJob{ID: export.NewJobID(), Level: socialrx.ExportSystem, Types: []string{"Patient"}, TransactionTime: now, CreatedAt: now}
	if err := st.CreateExport(t.Context(), job2); err != nil {
		t.Fatal(err)
	}
	job2.Status, job2.ExpiresAt = socialrx.ExportCompleted, now.Add(-time.Second)
	if ok, err := st.SaveExport(t.Context(), job2); !ok || err != nil {
		t.Fatal(ok, err)
	}
	ts.do(t, http.MethodGet, "/fhir/$export-status/"+job2.ID, "").want(t, http.StatusNotFound)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestExportManifestAccessToken: with authentication on, the manifest
// says requiresAccessToken true (without, TestExportFlow: false).
func TestExportManifestAccessToken(t *testing.T) {
	st := openStore(t)
	dir := filepath.Join(t.TempDir(), "exports")
	ts := newServerWith(t, st, httpapi.Config{Auth: testTokens, ExportDir: dir})
	ts.do(t, http.MethodPut, "/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1"}`, bearer("all")...).want(t, http.StatusCreated)
	kick := ts.do(t, http.MethodGet, "/fhir/$export?_type=Patient", "", append([]string{"Prefer", "respond-async"}, bearer("all")...)...).want(t, http.StatusAccepted)
	loc := kick.header.Get("Content-Location")
	id := loc[strings.LastIndexByte(loc, '/')+1:]
	if done, err := export.NewRunner(export.Options{Store: st, Dir: dir}).Run(t.Context(), id, false); !done || err != nil {
		t.Fatalf("run: %v, %v", done, err)
	}
	var m struct{ RequiresAccessToken bool }
	resp := ts.do(t, http.MethodGet, strings.TrimPrefix(loc, ts.URL), "", bearer("all")...).want(t, http.StatusOK)
	if err := json.Unmarshal(resp.body, &m); err != nil || !m.RequiresAccessToken {
		t.Errorf("manifest with authentication on: requiresAccessToken %v (want true), %v: %s", m.RequiresAccessToken, err, resp.body)
	}
}
