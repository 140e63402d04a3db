package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/httpapi"
	"github.com/socialrx/socialrx/adapter/sqlite"
)

// testServer is a Server on a fresh SQLite store, behind httptest.
type testServer struct {
	*httptest.Server
	srv  *httpapi.Server
	logs *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the concurrent log writes of a
// server.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return st
}

func newServer(t testing.TB, cfg httpapi.Config) *testServer {
	t.Helper()
	return newServerWith(t, openStore(t), cfg)
}

func newServerWith(t testing.TB, store socialrx.Store, cfg httpapi.Config) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httpapi.New(store, cfg, logger)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &testServer{Server: ts, srv: srv, logs: logs}
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body as a JSON object.
func (r *response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response body is not JSON (%v): %s", err, r.body)
	}
	return m
}

// do sends a request; headers alternate name, value. JSON bodies get
// Content-Type application/fhir+json unless a header sets another.
func (ts *testServer) do(t testing.TB, method, path, body string, headers ...string) *response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Host" {
			req.Host = headers[i+1] // Go sends req.Host, not Header["Host"]
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}
}

// want checks the status, failing with the body when it differs.
func (r *response) want(t testing.TB, status int) *response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status: got %d, want %d; body: %s", r.status, status, r.body)
	}
	return r
}

// outcome checks that the body is an OperationOutcome and returns its
// issues' (code, expression) pairs as "code@path".
func (r *response) outcome(t *testing.T) []string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != httpapi.ContentTypeFHIR {
		t.Errorf("Content-Type: got %q, want %q", ct, httpapi.ContentTypeFHIR)
	}
	m := r.json(t)
	if m["resourceType"] != "OperationOutcome" {
		t.Fatalf("want an OperationOutcome, got %s", r.body)
	}
	var out []string
	for _, i := range m["issue"].([]any) {
		im := i.(map[string]any)
		path := ""
		if ex, ok := im["expression"].([]any); ok && len(ex) > 0 {
			path = ex[0].(string)
		}
		out = append(out, im["code"].(string)+"@"+path)
	}
	return out
}

// hasIssue checks for an issue with the code at the path.
func (r *response) hasIssue(t *testing.T, code, path string) {
	t.Helper()
	issues := r.outcome(t)
	for _, i := range issues {
		if i == code+"@"+path {
			return
		}
	}
	t.Errorf("want issue %s@%s, got %v (body %s)", code, path, issues, r.body)
}

// create POSTs a resource and returns its id.
func (ts *testServer) create(t *testing.T, typ, body string) string {
	t.Helper()
	m := ts.do(t, "POST", "/fhir/"+typ, body).want(t, http.StatusCreated).json(t)
	return m["id"].(string)
}

// count returns the number of history versions of everything (the store
// holds nothing when it is 0).
func (ts *testServer) count(t *testing.T) float64 {
	t.Helper()
	m := ts.do(t, "GET", "/fhir/_history", "").want(t, http.StatusOK).json(t)
	return m["total"].(float64)
}

// entries returns a Bundle's entries.
func entries(m map[string]any) []map[string]any {
	var out []map[string]any
	es, _ := m["entry"].([]any)
	for _, e := range es {
		out = append(out, e.(map[string]any))
	}
	return out
}

// link returns the url of the Bundle link with the relation.
func link(m map[string]any, rel string) string {
	ls, _ := m["link"].([]any)
	for _, l := range ls {
		lm := l.(map[string]any)
		if lm["relation"] == rel {
			return lm["url"].(string)
		}
	}
	return ""
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  httpapi.Config
		ok   bool
	}{
		{"default", httpapi.DefaultConfig(), true},
		{"zero", httpapi.Config{}, true},
		{"base", httpapi.Config{BaseURL: "https://fhir.example.org/fhir"}, true},
		{"relative base", httpapi.Config{BaseURL: "/fhir"}, false},
		{"base with query", httpapi.Config{BaseURL: "https://x.org/fhir?a=b"}, false},
		{"ftp base", httpapi.Config{BaseURL: "ftp://x.org/fhir"}, false},
		{"negative limit", httpapi.Config{MaxBodyBytes: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestBaseURLConfigured(t *testing.T) {
	ts := newServer(t, httpapi.Config{BaseURL: "https://fhir.example.org/fhir/"})
	r := ts.do(t, "POST", "/fhir/Patient", `{"resourceType":"Patient"}`).want(t, http.StatusCreated)
	if loc := r.header.Get("Location"); !strings.HasPrefix(loc, "https://fhir.example.org/fhir/Patient/") {
		t.Errorf("Location %q does not use the configured base", loc)
	}
}

// TestTrailingSlash: [base]/ is [base] and [base]/Type/ is [base]/Type, as
// clients that join paths with a slash send them.
func TestTrailingSlash(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	id := ts.create(t, "Patient", `{"resourceType":"Patient","active":true}`)

	r := ts.do(t, "POST", "/fhir/", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}`).want(t, http.StatusOK)
	if got := r.json(t)["type"]; got != "transaction-response" {
		t.Errorf("POST /fhir/: Bundle.type %v, want transaction-response", got)
	}
	r = ts.do(t, "GET", "/fhir/Patient/?active=true", "").want(t, http.StatusOK)
	if got := len(entries(r.json(t))); got != 1 {
		t.Errorf("GET /fhir/Patient/?active=true: %d entries, want 1", got)
	}
	ts.do(t, "GET", "/fhir/Patient/"+id+"/", "").want(t, http.StatusOK)
	ts.do(t, "GET", "/fhir/metadata/", "").want(t, http.StatusOK)
	// Only one slash is forgiven: an empty segment is still no endpoint.
	ts.do(t, "GET", "/fhir/Patient//", "").want(t, http.StatusNotFound).outcome(t)
}

// TestMethodNotAllowed: the fixed names below the base answer another
// method with 405 and Allow, not 404 (they are no resource types or ids).
func TestMethodNotAllowed(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	tests := []struct {
		method, path, allow string
	}{
		{"PUT", "/fhir/metadata", "GET"},
		{"POST", "/fhir/metadata", "GET"},
		{"DELETE", "/fhir/metadata", "GET"},
		{"GET", "/fhir/$process-messages", "POST"},
		{"PUT", "/fhir/$process-messages", "POST"},
		{"GET", "/fhir/$validate", "POST"},
		{"GET", "/fhir/Patient/$validate", "POST"},
		{"DELETE", "/fhir/_history", "GET"},
		{"PUT", "/fhir/Patient/_history", "GET"},
		{"POST", "/fhir/Patient/1/_history", "GET"},
		{"PUT", "/fhir/Patient/_search", "GET, POST"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			body := ""
			if tt.method != "GET" && tt.method != "DELETE" {
				body = `{"resourceType":"Parameters"}`
			}
			r := ts.do(t, tt.method, tt.path, body).want(t, http.StatusMethodNotAllowed)
			r.outcome(t)
			if got := r.header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow: got %q, want %q", got, tt.allow)
			}
		})
	}
}
