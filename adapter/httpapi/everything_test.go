package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/httpapi"
)

// everythingRecord writes a patient's record and what surrounds it:
// p1's Observation, Condition, ServiceRequest (to a program, by a
// practitioner) and referral Task (owned by an organization); p2's
// Observation; a Communication that names p1 only as its recipient (an
// actor, not about p1); a reference to a deleted and to a missing
// Practitioner.
func everythingRecord(t *testing.T, ts *testServer) {
	t.Helper()
	for _, r := range []struct{ path, body string }{
		{"/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1","name":[{"family":"One"}]}`},
		{"/fhir/Patient/p2", `{"resourceType":"Patient","id":"p2","name":[{"family":"Two"}]}`},
		{"/fhir/Organization/o1", `{"resourceType":"Organization","id":"o1","name":"Food Bank"}`},
		{"/fhir/HealthcareService/hs1", `{"resourceType":"HealthcareService","id":"hs1","name":"Pantry"}`},
		{"/fhir/PractitionerRole/pr1", `{"resourceType":"PractitionerRole","id":"pr1"}`},
		{"/fhir/Practitioner/gone", `{"resourceType":"Practitioner","id":"gone"}`},
		{"/fhir/Observation/o-p1", `{"resourceType":"Observation","id":"o-p1","status":"final","code":{"text":"food insecurity"},"subject":{"reference":"Patient/p1"},
			"performer":[{"reference":"Practitioner/gone"},{"reference":"Practitioner/missing"},{"reference":"Patient/p2"}]}`},
		{"/fhir/Condition/c-p1", `{"resourceType":"Condition","id":"c-p1","subject":{"reference":"Patient/p1"},"code":{"text":"food insecurity"},"evidence":[{"detail":[{"reference":"Observation/o-p1"}]}]}`},
		{"/fhir/ServiceRequest/sr-p1", `{"resourceType":"ServiceRequest","id":"sr-p1","status":"active","intent":"order","subject":{"reference":"Patient/p1"},
			"requester":{"reference":"PractitionerRole/pr1"},"performer":[{"reference":"HealthcareService/hs1"}]}`},
		{"/fhir/Task/t-p1", `{"resourceType":"Task","id":"t-p1","status":"requested","intent":"order","for":{"reference":"Patient/p1"},"focus":{"reference":"ServiceRequest/sr-p1"},"owner":{"reference":"Organization/o1"}}`},
		{"/fhir/Observation/o-p2", `{"resourceType":"Observation","id":"o-p2","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p2"}}`},
		{"/fhir/Communication/m1", `{"resourceType":"Communication","id":"m1","status":"completed","recipient":[{"reference":"Patient/p1"}]}`},
	} {
		ts.do(t, "PUT", r.path, r.body).want(t, http.StatusCreated)
	}
	ts.do(t, "DELETE", "/fhir/Practitioner/gone", "").want(t, http.StatusOK)
}

// entriesOf lists a Bundle's entries as "mode Type/id", and checks total.
func entriesOf(t *testing.T, m map[string]any) []string {
	t.Helper()
	out := pageEntries(t, m)
	if total, _ := m["total"].(float64); int(total) != len(out) {
		t.Errorf("total %v, %d entries", m["total"], len(out))
	}
	return out
}

// pageEntries lists a Bundle's entries as "mode Type/id" (each resource
// once).
func pageEntries(t *testing.T, m map[string]any) []string {
	t.Helper()
	if m["resourceType"] != "Bundle" || m["type"] != "searchset" {
		t.Fatalf("not a searchset Bundle: %v", m)
	}
	entries, _ := m["entry"].([]any)
	var out []string
	for _, e := range entries {
		e := e.(map[string]any)
		res := e["resource"].(map[string]any)
		out = append(out, e["search"].(map[string]any)["mode"].(string)+" "+res["resourceType"].(string)+"/"+res["id"].(string))
	}
	// Each resource once (a match that an earlier match references, as a
	// Condition's evidence names the Observation, is not also an include).
	once := map[string]bool{}
	for _, e := range out {
		ref := e[strings.IndexByte(e, ' ')+1:]
		if once[ref] {
			t.Errorf("%s is in the Bundle twice: %v", ref, out)
		}
		once[ref] = true
	}
	return out
}

// bothStores are the stores a test runs on: SQLite and PostgreSQL
// (adapter/pgtest; openPostgres skips where it is not installed, unless
// SOCIALRX_REQUIRE_PG is set).
var bothStores = []struct {
	name string
	open func(testing.TB) socialrx.Store
}{{"SQLite", func(t testing.TB) socialrx.Store { return openStore(t) }}, {"PostgreSQL", openPostgres}}

// TestPatientEverything: Patient/$everything answers the patient, what is
// about them and what that references, on both stores; never another
// patient's record or a resource that only names them as an actor.
func TestPatientEverything(t *testing.T) {
	for _, store := range bothStores {
		t.Run(store.name, func(t *testing.T) {
			ts := newServerWith(t, store.open(t), httpapi.Config{})
			everythingRecord(t, ts)
			got := entriesOf(t, ts.do(t, "GET", "/fhir/Patient/p1/$everything", "").want(t, http.StatusOK).json(t))
			if len(got) == 0 || got[0] != "match Patient/p1" {
				t.Fatalf("first entry %v, want the Patient", got)
			}
			slices.Sort(got)
			want := []string{
				"include HealthcareService/hs1", "include Organization/o1", "include PractitionerRole/pr1",
				"match Condition/c-p1", "match Observation/o-p1", "match Patient/p1", "match ServiceRequest/sr-p1", "match Task/t-p1",
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("$everything (-want +got):\n%s", diff)
			}

			// _type narrows the record and what it references to its types.
			got = entriesOf(t, ts.do(t, "GET", "/fhir/Patient/p1/$everything?_type=Observation,Task", "").want(t, http.StatusOK).json(t))
			slices.Sort(got)
			if diff := cmp.Diff([]string{"match Observation/o-p1", "match Task/t-p1"}, got); diff != "" {
				t.Errorf("_type=Observation,Task (-want +got):\n%s", diff)
			}
			// _since after every write: nothing changed since.
			got = entriesOf(t, ts.do(t, "GET", "/fhir/Patient/p1/$everything?_since=2999-01-01T00:00:00Z", "").want(t, http.StatusOK).json(t))
			if len(got) != 0 {
				t.Errorf("_since in the future: %v", got)
			}
		})
	}
}

// TestPatientEverythingCareDates: start and end keep the resources whose
// care date (careDateParams) overlaps the range, and the undated ones; the
// includes follow the kept matches. On both stores.
func TestPatientEverythingCareDates(t *testing.T) {
	for _, store := range bothStores {
		t.Run(store.name, func(t *testing.T) {
			ts := newServerWith(t, store.open(t), httpapi.Config{})
			for _, r := range []struct{ path, body string }{
				{"/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1"}`},
				{"/fhir/HealthcareService/hs1", `{"resourceType":"HealthcareService","id":"hs1","name":"Pantry"}`},
				{"/fhir/Observation/o-2025", `{"resourceType":"Observation","id":"o-2025","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2025-06-01T10:00:00Z"}`},
				{"/fhir/Observation/o-2026", `{"resourceType":"Observation","id":"o-2026","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"},"effectivePeriod":{"start":"2026-02-27","end":"2026-03-02"}}`},
				{"/fhir/ServiceRequest/sr-2026", `{"resourceType":"ServiceRequest","id":"sr-2026","status":"active","intent":"order","subject":{"reference":"Patient/p1"},"authoredOn":"2026-02-01","occurrenceDateTime":"2027-01-01","performer":[{"reference":"HealthcareService/hs1"}]}`},
				{"/fhir/Task/t-2025", `{"resourceType":"Task","id":"t-2025","status":"requested","intent":"order","for":{"reference":"Patient/p1"},"authoredOn":"2025-01-10T09:00:00-05:00"}`},
				{"/fhir/Condition/c-undated", `{"resourceType":"Condition","id":"c-undated","subject":{"reference":"Patient/p1"},"code":{"text":"x"}}`},
			} {
				ts.do(t, "PUT", r.path, r.body).want(t, http.StatusCreated)
			}
			for _, c := range []struct {
				query string
				want  []string
			}{
				{"start=2026", []string{"include HealthcareService/hs1", "match Condition/c-undated", "match Observation/o-2026", "match Patient/p1", "match ServiceRequest/sr-2026"}},
				{"end=2025-12", []string{"match Condition/c-undated", "match Observation/o-2025", "match Patient/p1", "match Task/t-2025"}},
				// authoredOn decides, not the later occurrence; the period overlaps March
				{"start=2026-02-01&end=2026-02-01", []string{"include HealthcareService/hs1", "match Condition/c-undated", "match Patient/p1", "match ServiceRequest/sr-2026"}},
				{"start=2026-03-02&end=2026-12-31", []string{"match Condition/c-undated", "match Observation/o-2026", "match Patient/p1"}},
				{"start=2025-01-10T14:00:00Z&end=2025-01-10T14:00:00Z", []string{"match Condition/c-undated", "match Patient/p1", "match Task/t-2025"}},
				{"start=2028", []string{"match Condition/c-undated", "match Patient/p1"}},
			} {
				got := entriesOf(t, ts.do(t, "GET", "/fhir/Patient/p1/$everything?"+c.query, "").want(t, http.StatusOK).json(t))
				slices.Sort(got)
				if diff := cmp.Diff(c.want, got); diff != "" {
					t.Errorf("%s (-want +got):\n%s", c.query, diff)
				}
			}
		})
	}
}

// TestPatientEverythingPages: _count pages the matches; following the
// next links gives each match once, the same as one unpaged response, each
// page with the includes its own matches reference; with a care date range
// too. On both stores.
func TestPatientEverythingPages(t *testing.T) {
	for _, store := range bothStores {
		t.Run(store.name, func(t *testing.T) {
			ts := newServerWith(t, store.open(t), httpapi.Config{})
			everythingRecord(t, ts)
			for i := range 4 { // more Observations, so that a type spans pages
				ts.do(t, "PUT", fmt.Sprintf("/fhir/Observation/o-p1-%d", i), fmt.Sprintf(`{"resourceType":"Observation","id":"o-p1-%d","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"202%d-01-01"}`, i, 3+i)).want(t, http.StatusCreated)
			}
			for _, query := range []string{"", "start=2025"} {
				sep := "?"
				if query != "" {
					sep = "?" + query + "&"
				}
				var whole []string
				for _, e := range entriesOf(t, ts.do(t, "GET", "/fhir/Patient/p1/$everything"+strings.TrimSuffix(sep, "&"), "").want(t, http.StatusOK).json(t)) {
					if strings.HasPrefix(e, "match ") {
						whole = append(whole, e)
					}
				}
				var paged []string
				pages := 0
				for next := "/fhir/Patient/p1/$everything" + sep + "_count=2"; next != ""; pages++ {
					if pages > 10 {
						t.Fatalf("%s: more than 10 pages", query)
					}
					m := ts.do(t, "GET", next, "").want(t, http.StatusOK).json(t)
					if _, ok := m["total"]; ok {
						t.Errorf("%s: a page has a total: %v", query, m["total"])
					}
					refs := map[string]bool{}
					var matches []string
					for _, e := range pageEntries(t, m) {
						if strings.HasPrefix(e, "match ") {
							matches = append(matches, e)
						} else {
							refs[strings.TrimPrefix(e, "include ")] = true
						}
					}
					if len(matches) == 0 || len(matches) > 2 {
						t.Errorf("%s: page %d has %d matches: %v", query, pages, len(matches), matches)
					}
					// an include is referenced by a match of its own page
					for ref := range refs {
						found := false
						for _, e := range m["entry"].([]any) {
							e := e.(map[string]any)
							if e["search"].(map[string]any)["mode"] == "match" && strings.Contains(mustJSON(t, e["resource"]), `"`+ref+`"`) {
								found = true
							}
						}
						if !found {
							t.Errorf("%s: page %d includes %s, which none of its matches references", query, pages, ref)
						}
					}
					paged = append(paged, matches...)
					next = link(m, "next")
					if next != "" {
						next = relative(t, ts, next)
					}
				}
				if want := (len(whole) + 1) / 2; pages != want {
					t.Errorf("%s: %d pages for %d matches, want %d", query, pages, len(whole), want)
				}
				slices.Sort(whole)
				slices.Sort(paged)
				if diff := cmp.Diff(whole, paged); diff != "" {
					t.Errorf("%s: pages against one response (-whole +paged):\n%s", query, diff)
				}
			}
		})
	}
}

// TestPatientEverythingRefused: what $everything does not do is a 4xx
// OperationOutcome, and nothing past the response limit is sent.
func TestPatientEverythingRefused(t *testing.T) {
	ts := newServer(t, httpapi.Config{MaxResponseBytes: 600})
	everythingRecord(t, ts)
	for _, c := range []struct {
		path   string
		status int
		says   string
	}{
		{"/fhir/Patient/p1/$everything?start=2026-13", http.StatusBadRequest, "is not a FHIR date"},
		{"/fhir/Patient/p1/$everything?end=yesterday", http.StatusBadRequest, "is not a FHIR date"},
		{"/fhir/Patient/p1/$everything?start=2026-05&end=2026-01", http.StatusBadRequest, "end is before start"},
		{"/fhir/Patient/p1/$everything?_count=0", http.StatusBadRequest, "_count must be a positive integer"},
		{"/fhir/Patient/p1/$everything?_count=2&_cursor=Organization|o1", http.StatusBadRequest, "_cursor is not one"},
		{"/fhir/Patient/p1/$everything?_count=2&_cursor=Task|bad%20id", http.StatusBadRequest, "_cursor is not one"},
		{"/fhir/Patient/p1/$everything?_cursor=Task|t-p1", http.StatusBadRequest, "_cursor comes with the _count"},
		{"/fhir/Patient/p1/$everything?page=2", http.StatusBadRequest, "page is not supported"},
		{"/fhir/Patient/p1/$everything?_since=yesterday", http.StatusBadRequest, "_since must be"},
		{"/fhir/Patient/p1/$everything?_type=Organization", http.StatusBadRequest, "compartment"},
		{"/fhir/Patient/nobody/$everything", http.StatusNotFound, ""},
		{"/fhir/ServiceRequest/sr-p1/$everything", http.StatusNotFound, ""},
		{"/fhir/Patient/p1/$everything", http.StatusRequestEntityTooLarge, "Patient/$export"},
	} {
		r := ts.do(t, "GET", c.path, "").want(t, c.status)
		oo := r.json(t)
		if oo["resourceType"] != "OperationOutcome" || !strings.Contains(string(r.body), c.says) {
			t.Errorf("%s: %s, want an OperationOutcome saying %q", c.path, r.body, c.says)
		}
	}
	ts.do(t, "DELETE", "/fhir/Patient/p2", "").want(t, http.StatusOK)
	ts.do(t, "GET", "/fhir/Patient/p2/$everything", "").want(t, http.StatusGone)
}

// TestPatientEverythingScopes: types the client may not read are left
// out, as _include leaves them out.
func TestPatientEverythingScopes(t *testing.T) {
	ts, _, _ := exportServer(t)
	everythingRecord(t, ts)
	m := ts.do(t, "GET", "/fhir/Patient/p1/$everything", "", "X-Test-Client", "c1", "X-Test-Read", "Patient,Observation").want(t, http.StatusOK).json(t)
	got := entriesOf(t, m)
	slices.Sort(got)
	if diff := cmp.Diff([]string{"match Observation/o-p1", "match Patient/p1"}, got); diff != "" {
		t.Errorf("Patient and Observation only (-want +got):\n%s", diff)
	}
	b, _ := json.Marshal(m)
	if strings.Contains(string(b), `"Food Bank"`) {
		t.Error("an Organization the client may not read is in the Bundle")
	}
	ts.do(t, "GET", "/fhir/Patient/p1/$everything", "", "X-Test-Client", "c1", "X-Test-Read", "Observation").want(t, http.StatusForbidden)
}
