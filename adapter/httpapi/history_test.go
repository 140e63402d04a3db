package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/socialrx/socialrx/adapter/httpapi"
)

func TestHistory(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	for range 3 {
		ts.create(t, "Patient", `{"resourceType":"Patient"}`)
	}
	ts.create(t, "Organization", `{"resourceType":"Organization","name":"o"}`)

	m := ts.do(t, "GET", "/fhir/Patient/_history?_count=2", "").want(t, http.StatusOK).json(t)
	if m["type"] != "history" || m["total"].(float64) != 3 || len(entries(m)) != 2 {
		t.Fatalf("type history: type %v total %v entries %d", m["type"], m["total"], len(entries(m)))
	}
	e := entries(m)[0]
	if e["request"].(map[string]any)["method"] != "POST" || e["response"].(map[string]any)["etag"] != `W/"1"` {
		t.Errorf("history entry: %v", e)
	}
	next := link(m, "next")
	if next == "" {
		t.Fatal("no next link")
	}
	m2 := ts.do(t, "GET", relative(t, ts, next), "").want(t, http.StatusOK).json(t)
	if len(entries(m2)) != 1 || link(m2, "next") != "" {
		t.Errorf("page 2: %d entries, next %q", len(entries(m2)), link(m2, "next"))
	}

	if got := ts.count(t); got != 4 {
		t.Errorf("system history total %v, want 4", got)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	m = ts.do(t, "GET", "/fhir/_history?_since="+future, "").want(t, http.StatusOK).json(t)
	if m["total"].(float64) != 0 {
		t.Errorf("_since in the future: total %v", m["total"])
	}
	ts.do(t, "GET", "/fhir/_history?_since=yesterday", "").want(t, http.StatusBadRequest).hasIssue(t, "invalid", "_since")
	ts.do(t, "GET", "/fhir/_history?_count=-1", "").want(t, http.StatusBadRequest).hasIssue(t, "invalid", "_count")
	ts.do(t, "GET", "/fhir/Foo/_history", "").want(t, http.StatusNotFound).outcome(t)
}
