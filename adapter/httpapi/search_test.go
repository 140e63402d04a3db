package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/socialrx/socialrx/adapter/httpapi"
)

// relative turns an absolute link of the test server into a path.
func relative(t *testing.T, ts *testServer, link string) string {
	t.Helper()
	if !strings.HasPrefix(link, ts.URL) {
		t.Fatalf("link %q is not under the server base %s", link, ts.URL)
	}
	return strings.TrimPrefix(link, ts.URL)
}

func TestSearch(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	for _, d := range []string{"1970-01-01", "1980-05-05", "1990-09-09"} {
		ts.create(t, "Patient", `{"resourceType":"Patient","birthDate":"`+d+`","gender":"female"}`)
	}
	ts.create(t, "Patient", `{"resourceType":"Patient","birthDate":"2000-01-01","gender":"male"}`)

	m := ts.do(t, "GET", "/fhir/Patient?gender=female&_count=2", "").want(t, http.StatusOK).json(t)
	if m["type"] != "searchset" || m["total"].(float64) != 3 {
		t.Fatalf("searchset total: type %v total %v, want searchset 3", m["type"], m["total"])
	}
	es := entries(m)
	if len(es) != 2 {
		t.Fatalf("page 1: %d entries, want 2", len(es))
	}
	for _, e := range es {
		if e["search"].(map[string]any)["mode"] != "match" || !strings.HasPrefix(e["fullUrl"].(string), ts.URL+"/fhir/Patient/") {
			t.Errorf("entry: %v", e)
		}
	}
	if self := link(m, "self"); !strings.HasPrefix(self, ts.URL+"/fhir/Patient?") {
		t.Errorf("self link %q", self)
	}
	next := link(m, "next")
	if next == "" {
		t.Fatal("no next link on page 1 of 2")
	}
	m2 := ts.do(t, "GET", relative(t, ts, next), "").want(t, http.StatusOK).json(t)
	if len(entries(m2)) != 1 || link(m2, "next") != "" {
		t.Errorf("page 2: %d entries, next %q; want 1 entry and no next", len(entries(m2)), link(m2, "next"))
	}

	// date prefix
	m = ts.do(t, "GET", "/fhir/Patient?birthdate=ge1985-01-01", "").want(t, http.StatusOK).json(t)
	if m["total"].(float64) != 2 {
		t.Errorf("birthdate=ge1985: total %v, want 2", m["total"])
	}
	ts.do(t, "GET", "/fhir/Patient?birthdate=notadate", "").want(t, http.StatusBadRequest).hasIssue(t, "value", "birthdate")

	// POST _search: form merged with the query
	form := url.Values{"gender": {"female"}}.Encode()
	m = ts.do(t, "POST", "/fhir/Patient/_search?birthdate=lt1985-01-01", form, "Content-Type", "application/x-www-form-urlencoded").want(t, http.StatusOK).json(t)
	if m["total"].(float64) != 2 {
		t.Errorf("_search: total %v, want 2", m["total"])
	}
	ts.do(t, "POST", "/fhir/Patient/_search", `{"gender":"female"}`).want(t, http.StatusUnsupportedMediaType).outcome(t)

	// _summary=count: no entries; _elements applied to matches
	m = ts.do(t, "GET", "/fhir/Patient?_summary=count", "").want(t, http.StatusOK).json(t)
	if m["total"].(float64) != 4 || len(entries(m)) != 0 {
		t.Errorf("_summary=count: total %v, %d entries", m["total"], len(entries(m)))
	}
	m = ts.do(t, "GET", "/fhir/Patient?_elements=gender", "").want(t, http.StatusOK).json(t)
	for _, e := range entries(m) {
		if _, ok := e["resource"].(map[string]any)["birthDate"]; ok {
			t.Errorf("_elements=gender kept birthDate: %v", e["resource"])
		}
	}

	ts.do(t, "GET", "/fhir/Foo?x=1", "").want(t, http.StatusNotFound).outcome(t)
	ts.do(t, "GET", "/fhir/Medication", "").want(t, http.StatusNotFound).outcome(t)
}

func TestSearchUnknownParameter(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	ts.create(t, "Patient", `{"resourceType":"Patient"}`)
	m := ts.do(t, "GET", "/fhir/Patient?nosuchparam=1", "").want(t, http.StatusOK).json(t)
	es := entries(m)
	var outcome map[string]any
	for _, e := range es {
		if e["search"].(map[string]any)["mode"] == "outcome" {
			outcome = e["resource"].(map[string]any)
		}
	}
	if outcome == nil || outcome["resourceType"] != "OperationOutcome" {
		t.Fatalf("lenient search: no outcome entry in %v", es)
	}
	if len(es) != 2 {
		t.Errorf("lenient search: %d entries, want the match and the outcome", len(es))
	}
	if self := link(m, "self"); strings.Contains(self, "nosuchparam") {
		t.Errorf("self link keeps the ignored parameter: %s", self)
	}
	ts.do(t, "GET", "/fhir/Patient?nosuchparam=1", "", "Prefer", "handling=strict").want(t, http.StatusBadRequest).outcome(t)
}

func TestSearchInclude(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	pid := ts.create(t, "Patient", `{"resourceType":"Patient"}`)
	ts.create(t, "Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/`+pid+`"}}`)
	m := ts.do(t, "GET", "/fhir/Observation?_include=Observation:subject", "").want(t, http.StatusOK).json(t)
	modes := map[string]int{}
	for _, e := range entries(m) {
		modes[e["search"].(map[string]any)["mode"].(string)]++
	}
	if modes["match"] != 1 || modes["include"] != 1 {
		t.Errorf("_include: modes %v, want one match and one include", modes)
	}
}
