package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx/adapter/pgtest"
	"github.com/socialrx/socialrx/fhir"
)

// startMain runs the real server on 127.0.0.1:0 against database and stops it
// when the test ends.
func startMain(t *testing.T, database string) *Main {
	t.Helper()
	return startMainWith(t, database, nil)
}

// startMainWith is startMain with a change to the Config. SOCIALRX_TEST_LOG
// set sends the server's debug log to stderr.
func startMainWith(t *testing.T, database string, tweak func(*Config)) *Main {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Database = database
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.ExportDir = filepath.Join(t.TempDir(), "exports")
	cfg.LinkKeyFile = filepath.Join(t.TempDir(), "link.key")
	if tweak != nil {
		tweak(&cfg)
	}
	var log *slog.Logger
	if os.Getenv("SOCIALRX_TEST_LOG") != "" {
		log = newLogger("debug", "text")
	}
	m := NewMain(cfg, log)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := m.Run(ctx); err != nil {
		m.Close()
		t.Fatalf("Main.Run: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Main.Close: %v", err)
		}
	})
	return m
}

func sqliteDatabase(t *testing.T) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "data", "socialrx.db")
}

// exampleDir is the copy of ../shared/fhir-examples kept with the repo.
const exampleDir = "../../testdata/fhir-examples"

// extraExampleDir holds the official R4 Group and Measure examples, which
// exampleDir's selection does not cover (its ORIGIN.md).
const extraExampleDir = "../../testdata/fhir-examples-extra"

// supportedExamples returns the example files under testdata/fhir-examples
// and testdata/fhir-examples-extra whose resourceType socialrx holds, keyed
// by path.
func supportedExamples(t *testing.T) map[string][]byte {
	t.Helper()
	out := make(map[string][]byte)
	for _, dir := range []string{filepath.Join(exampleDir, "r4"), filepath.Join(exampleDir, "sdoh-cc/json"), filepath.Join(extraExampleDir, "r4")} {
		files, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no examples in %s (err %v)", dir, err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var head struct{ ResourceType string }
			if err := json.Unmarshal(b, &head); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if fhir.Supported(head.ResourceType) {
				out[f] = b
			}
		}
	}
	return out
}

func do(t *testing.T, method, url string, body []byte, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1] // Go sends req.Host, not Header["Host"]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// decodeJSON decodes with numbers kept as written (1.50 stays "1.50").
func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %q: %v", truncate(b), err)
	}
	return m
}

// withoutServerMeta removes what the server sets: meta.versionId and
// meta.lastUpdated (and meta itself when nothing else is in it).
func withoutServerMeta(m map[string]any) map[string]any {
	if meta, ok := m["meta"].(map[string]any); ok {
		delete(meta, "versionId")
		delete(meta, "lastUpdated")
		if len(meta) == 0 {
			delete(m, "meta")
		}
	}
	return m
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// testRoundTripExamples puts every supported-type example through the HTTP
// API under its own id and reads it back: what comes back is what was sent,
// but for meta.versionId and meta.lastUpdated.
func testRoundTripExamples(t *testing.T, m *Main) {
	examples := supportedExamples(t)
	if len(examples) < 250 {
		t.Fatalf("only %d supported examples found; the fixtures are incomplete", len(examples))
	}
	paths := make([]string, 0, len(examples))
	for p := range examples {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	seen := make(map[string]string)
	for _, p := range paths {
		body := examples[p]
		sent := decodeJSON(t, body)
		typ, _ := sent["resourceType"].(string)
		id, _ := sent["id"].(string)
		if id == "" {
			t.Errorf("%s: example has no id", p)
			continue
		}
		key := typ + "/" + id
		if prev, dup := seen[key]; dup {
			// Two files with one id: the later one is a new version; compare it.
			t.Logf("%s and %s share %s", prev, p, key)
		}
		seen[key] = p
		resp, rb := do(t, http.MethodPut, m.URL()+"/fhir/"+key, body)
		if filepath.Base(p) == invalidExample {
			// Itself invalid R4 (docs/validation.md): refused, for
			// exactly its missing linkIds.
			checkInvalidExample(t, resp, rb)
			continue
		}
		if typ == "AuditEvent" {
			// The audit trail is written by socialrx only (README, "Audit").
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("PUT %s: status %d, want 405: %s", key, resp.StatusCode, truncate(rb))
			}
			continue
		}
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
			t.Errorf("PUT %s (%s): status %d: %s", key, filepath.Base(p), resp.StatusCode, truncate(rb))
			continue
		}
		resp, rb = do(t, http.MethodGet, m.URL()+"/fhir/"+key, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d: %s", key, resp.StatusCode, truncate(rb))
			continue
		}
		// Social prescriptions included: what socialrx derives of them is
		// kept beside the body, never written into it.
		got := withoutServerMeta(decodeJSON(t, rb))
		if diff := cmp.Diff(withoutServerMeta(sent), got); diff != "" {
			t.Errorf("%s: read back differs from what was sent (-sent +read):\n%s", filepath.Base(p), diff)
		}
	}
}

// socialPrescriptionsRoundTripped checks that the round trip held social
// prescriptions: ServiceRequests socialrx read into the domain (their
// derived form is searchable), so the byte-for-byte comparison covered them.
func socialPrescriptionsRoundTripped(t *testing.T, m *Main) {
	resp, rb := do(t, http.MethodGet, m.URL()+"/fhir/ServiceRequest?prescription-form=self-directed,warm-handoff,navigator&_summary=count", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("count social prescriptions: status %d: %s", resp.StatusCode, truncate(rb))
	}
	var b struct{ Total int }
	if err := json.Unmarshal(rb, &b); err != nil {
		t.Fatal(err)
	}
	if b.Total < 3 {
		t.Errorf("%d of the round-tripped examples are social prescriptions, want the 3 SDOH CC ServiceRequests that are", b.Total)
	}
}

// testExampleBundles posts the spec's transaction and batch Bundles.
func testExampleBundles(t *testing.T, m *Main) {
	files, _ := filepath.Glob(filepath.Join(exampleDir, "r4", "Bundle-*.json"))
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var head struct{ Type string }
		json.Unmarshal(b, &head)
		if head.Type != "transaction" && head.Type != "batch" {
			continue
		}
		n++
		resp, rb := do(t, http.MethodPost, m.URL()+"/fhir", b)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("POST %s: status %d: %s", filepath.Base(f), resp.StatusCode, truncate(rb))
			continue
		}
		got := decodeJSON(t, rb)
		if want := head.Type + "-response"; got["type"] != want {
			t.Errorf("POST %s: Bundle.type %v, want %s", filepath.Base(f), got["type"], want)
		}
		entries, _ := got["entry"].([]any)
		var in struct{ Entry []any }
		json.Unmarshal(b, &in)
		if len(entries) != len(in.Entry) {
			t.Errorf("POST %s: %d response entries, want %d", filepath.Base(f), len(entries), len(in.Entry))
		}
		for i, e := range entries {
			status, _ := e.(map[string]any)["response"].(map[string]any)["status"].(string)
			if head.Type == "transaction" && !strings.HasPrefix(status, "2") {
				t.Errorf("POST %s: entry %d status %q", filepath.Base(f), i, status)
			}
		}
	}
	if n < 3 {
		t.Errorf("found %d example transaction/batch Bundles, want at least 3", n)
	}
}

// invalidExample is the one official example that is itself invalid R4:
// 32 nested Questionnaire.item without the required linkId.
const invalidExample = "Questionnaire-qs1.json"

// checkInvalidExample: the write of invalidExample is 422 with one
// required issue per item without linkId, and nothing else.
func checkInvalidExample(t *testing.T, resp *http.Response, body []byte) {
	t.Helper()
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("PUT %s: status %d, want 422: %s", invalidExample, resp.StatusCode, truncate(body))
		return
	}
	issues := fhir.OutcomeIssues(body)
	linkID := regexp.MustCompile(`^Questionnaire(\.item\[\d+\])+\.linkId$`)
	for _, i := range issues {
		if i.Code != "required" || !linkID.MatchString(i.Path) {
			t.Errorf("PUT %s: issue %+v, want only missing linkIds", invalidExample, i)
		}
	}
	if len(issues) != 32 {
		t.Errorf("PUT %s: %d issues, want 32", invalidExample, len(issues))
	}
}

// testR4Rules: the probes of issue 12, section 1, on a running server.
func testR4Rules(t *testing.T, m *Main) {
	issuesOf := func(body []byte) []string {
		var out []string
		for _, i := range fhir.OutcomeIssues(body) {
			out = append(out, i.Code+"@"+i.Path)
		}
		return out
	}
	count := func(typ string) float64 {
		_, b := do(t, http.MethodGet, m.URL()+"/fhir/"+typ+"/_history", nil)
		var h struct{ Total *float64 }
		if err := json.Unmarshal(b, &h); err != nil || h.Total == nil {
			t.Fatalf("GET %s/_history: no total (%v): %s", typ, err, truncate(b))
		}
		return *h.Total
	}
	tasks, observations := count("Task"), count("Observation")
	for _, tt := range []struct {
		name, method, path, body string
		status                   int
		want                     []string
	}{
		{"task with a bogus status", http.MethodPost, "/fhir/Task", `{"resourceType":"Task","status":"bogus","intent":"order"}`, 422,
			[]string{"code-invalid@Task.status"}},
		{"observation without status and code", http.MethodPost, "/fhir/Observation", `{"resourceType":"Observation"}`, 422,
			[]string{"required@Observation.status", "required@Observation.code"}},
		{"update", http.MethodPut, "/fhir/Task/r4-rules", `{"resourceType":"Task","id":"r4-rules","status":"requested"}`, 422,
			[]string{"required@Task.intent"}},
		{"transaction: the first failing entry, every issue", http.MethodPost, "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[
			{"resource":{"resourceType":"Task","status":"requested","intent":"order"},"request":{"method":"POST","url":"Task"}},
			{"resource":{"resourceType":"Observation","subject":{"reference":"Patient/p"}},"request":{"method":"POST","url":"Observation"}},
			{"resource":{"resourceType":"Task","status":"bogus","intent":"order"},"request":{"method":"POST","url":"Task"}}]}`, 422,
			[]string{"required@Bundle.entry[1].resource.status", "required@Bundle.entry[1].resource.code"}},
		{"transaction: duplicate fullUrl", http.MethodPost, "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[
			{"fullUrl":"urn:uuid:0c3f7a52-7d59-4a8e-b1a4-5c2e9d6f8a10","resource":{"resourceType":"Task","status":"requested","intent":"order"},"request":{"method":"POST","url":"Task"}},
			{"fullUrl":"urn:uuid:0c3f7a52-7d59-4a8e-b1a4-5c2e9d6f8a10","resource":{"resourceType":"Task","status":"requested","intent":"order"},"request":{"method":"POST","url":"Task"}}]}`, 400,
			[]string{"invalid@Bundle.entry[1].fullUrl"}},
		{"$validate", http.MethodPost, "/fhir/$validate", `{"resourceType":"Communication"}`, 200,
			[]string{"required@Communication.status"}},
	} {
		resp, rb := do(t, tt.method, m.URL()+tt.path, []byte(tt.body))
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d: %s", tt.name, resp.StatusCode, tt.status, truncate(rb))
			continue
		}
		if diff := cmp.Diff(tt.want, issuesOf(rb)); diff != "" {
			t.Errorf("%s: issues (-want +got):\n%s", tt.name, diff)
		}
	}
	if got := count("Task"); got != tasks {
		t.Errorf("refused writes stored %v Tasks", got-tasks)
	}
	if got := count("Observation"); got != observations {
		t.Errorf("refused writes stored %v Observations", got-observations)
	}

	// A batch: the failing entry gets its own 422 and outcome, the others
	// are stored.
	_, rb := do(t, http.MethodPost, m.URL()+"/fhir", []byte(`{"resourceType":"Bundle","type":"batch","entry":[
		{"resource":{"resourceType":"Task","status":"requested","intent":"order"},"request":{"method":"POST","url":"Task"}},
		{"resource":{"resourceType":"Task","status":"bogus","intent":"order"},"request":{"method":"POST","url":"Task"}},
		{"resource":{"resourceType":"Task","status":"requested","intent":"order"},"request":{"method":"POST","url":"Task"}}]}`))
	var out struct {
		Entry []struct {
			Response struct {
				Status  string          `json:"status"`
				Outcome json.RawMessage `json:"outcome"`
			} `json:"response"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(rb, &out); err != nil || len(out.Entry) != 3 {
		t.Fatalf("batch response (%v): %s", err, truncate(rb))
	}
	var got []string
	for _, e := range out.Entry {
		got = append(got, e.Response.Status)
	}
	if diff := cmp.Diff([]string{"201 Created", "422 Unprocessable Entity", "201 Created"}, got); diff != "" {
		t.Errorf("batch statuses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"code-invalid@Bundle.entry[1].resource.status"}, issuesOf(out.Entry[1].Response.Outcome)); diff != "" {
		t.Errorf("batch entry 1 outcome (-want +got):\n%s", diff)
	}
	if got := count("Task"); got != tasks+2 {
		t.Errorf("batch stored %v Tasks, want 2", got-tasks)
	}
}

func TestEndToEndSQLite(t *testing.T) {
	m := startMain(t, sqliteDatabase(t))
	t.Run("RoundTripExamples", func(t *testing.T) { testRoundTripExamples(t, m); socialPrescriptionsRoundTripped(t, m) })
	t.Run("ExampleBundles", func(t *testing.T) { testExampleBundles(t, m) })
	t.Run("R4Rules", func(t *testing.T) { testR4Rules(t, m) })
}

func TestEndToEndPostgres(t *testing.T) {
	m := startMain(t, pgtest.NewDatabase(t))
	t.Run("RoundTripExamples", func(t *testing.T) { testRoundTripExamples(t, m); socialPrescriptionsRoundTripped(t, m) })
	t.Run("ExampleBundles", func(t *testing.T) { testExampleBundles(t, m) })
	t.Run("R4Rules", func(t *testing.T) { testR4Rules(t, m) })
}
