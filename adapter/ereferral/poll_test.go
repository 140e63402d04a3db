package ereferral

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
)

// TestChangedTasks: paging through next links on the same server, non-Task
// entries skipped, the newest lastUpdated returned, foreign next links not
// followed (socialrx's token stays on the Endpoint's host).
func TestChangedTasks(t *testing.T) {
	var mu sync.Mutex
	var queries []string
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/fhir+json")
		switch r.URL.Query().Get("page") {
		case "":
			_, _ = w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"` + srv.URL + `/fhir/Task?page=2"}],"entry":[
{"resource":{"resourceType":"Task","id":"a","meta":{"lastUpdated":"2026-11-25T10:00:00.5Z"},"status":"accepted"}},
{"resource":{"resourceType":"OperationOutcome","issue":[]}}]}`))
		case "2":
			_, _ = w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"https://elsewhere.example/fhir/Task?page=3"}],"entry":[
{"resource":{"resourceType":"Task","id":"b","meta":{"lastUpdated":"2026-11-25T10:00:01Z"},"status":"completed"}}]}`))
		default:
			t.Errorf("unexpected page %q", r.URL.RawQuery)
		}
	}))
	defer srv.Close()
	c := New(nil, Options{})
	ep := socialrx.Endpoint{ID: "p", ConnectionType: socialrx.ConnectionFHIRREST, Address: srv.URL + "/fhir/"}
	tasks, newest, err := c.ChangedTasks(context.Background(), ep, "2026-11-24T00:00:00Z")
	if err != nil {
		t.Fatalf("ChangedTasks: %v", err)
	}
	var ids []string
	for _, b := range tasks {
		ids = append(ids, string(b)[strings.Index(string(b), `"id":`)+6:][:1])
	}
	if diff := cmp.Diff([]string{"a", "b"}, ids); diff != "" {
		t.Errorf("tasks (-want +got):\n%s", diff)
	}
	if newest != "2026-11-25T10:00:01Z" {
		t.Errorf("newest = %q, want the later instant 2026-11-25T10:00:01Z", newest)
	}
	if len(queries) != 2 || !strings.Contains(queries[0], "_lastUpdated=ge2026-11-24T00%3A00%3A00Z") || !strings.Contains(queries[0], "_sort=_lastUpdated") {
		t.Errorf("queries: %q", queries)
	}
}

func TestChangedTasksFailures(t *testing.T) {
	for _, c := range []struct {
		name      string
		status    int
		body      string
		retryable bool
	}{
		{"503", 503, `{"resourceType":"OperationOutcome"}`, true},
		{"403", 403, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","diagnostics":"no access"}]}`, false},
		{"garbage", 200, `<html>`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(c.status)
				_, _ = w.Write([]byte(c.body))
			}))
			defer srv.Close()
			_, newest, err := New(nil, Options{}).ChangedTasks(context.Background(), socialrx.Endpoint{ID: "p", Address: srv.URL}, "x")
			se, ok := err.(*socialrx.SendError)
			if !ok || se.Retryable != c.retryable || newest != "x" {
				t.Errorf("err %v (%T), newest %q; want a SendError retryable=%v and the mark unchanged", err, err, newest, c.retryable)
			}
		})
	}
}
