package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
)

// keepDataset is an HSDS dataset of one organization, one food service and
// its location; lat is the location's latitude, orgName the
// organization's name ("" is a bad record) and svcName the service's.
func keepDataset(lat, orgName, svcName string) string {
	org := `{"id":"org-keep"`
	if orgName != "" {
		org += `,"name":"` + orgName + `"`
	}
	org += `}`
	return `[{"id":"svc-keep","organization":` + org + `,"name":"` + svcName + `","status":"active",
 "attributes":[{"id":"att-keep","taxonomy_term":{"id":"tt-keep","code":"BD-1800.2000","name":"Food Pantries","taxonomy":"211 LA County Taxonomy"}}],
 "service_at_locations":[{"id":"sal-keep","location":{"id":"loc-keep","location_type":"physical","name":"Corner Hub","latitude":` + lat + `,"longitude":-79.381}}]}]`
}

// TestImportHSDSKeepsStoredReferences (audit of issue 14, finding 2): a
// re-import whose location (or organization) of a service is rejected
// keeps the stored Location (Organization) and the service's reference to
// it, on both stores: the program is still found near its place, while the
// rest of the service's changes are written and the bad record reported.
// On a first import there is nothing stored to keep: the reference is left
// out, as before.
func TestImportHSDSKeepsStoredReferences(t *testing.T) {
	for _, b := range encounterBackends {
		t.Run(b.name, func(t *testing.T) {
			s := openTestStore(t, b.database(t))
			ctx := t.Context()
			dir := t.TempDir()
			imp := func(name, data string) *ImportSummary {
				t.Helper()
				p := filepath.Join(dir, "services-"+name)
				if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
					t.Fatal(err)
				}
				sum, err := ImportHSDS(ctx, s, p, 10, nil)
				if err != nil {
					t.Fatal(err)
				}
				return sum
			}
			found := func() []string {
				t.Helper()
				rows, err := FindPrograms(ctx, s, ProgramQuery{Need: socialrx.DomainFood, Lat: 43.65, Lon: -79.38, WithinK: 5, Limit: 10}, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, r := range rows {
					names = append(names, r.Name)
				}
				return names
			}
			service := func() map[string]any {
				t.Helper()
				r, err := s.Read(ctx, "HealthcareService", "hsds-svc-keep")
				if err != nil {
					t.Fatal(err)
				}
				var m map[string]any
				if err := json.Unmarshal(r.Body, &m); err != nil {
					t.Fatal(err)
				}
				return m
			}

			imp("first.json", keepDataset("43.651", "Corner Food Network", "Corner Food Bank"))
			if got := found(); len(got) != 1 || got[0] != "Corner Food Bank" {
				t.Fatalf("after the first import: found %v", got)
			}
			loc, err := s.Read(ctx, "Location", "hsds-loc-keep")
			if err != nil {
				t.Fatal(err)
			}

			// Only the latitude goes bad (and the service's name changes).
			sum := imp("second.json", keepDataset("100", "Corner Food Network", "Corner Food Bank and Pantry"))
			if keys := strings.Join(rejectKeys(sum.Rejected), ", "); keys != "location loc-keep" {
				t.Errorf("rejected %q, want the location only", keys)
			}
			if got := found(); len(got) != 1 || got[0] != "Corner Food Bank and Pantry" {
				t.Errorf("after a re-import with latitude 100: found %v, want the service, updated, at its stored location", got)
			}
			if m := service(); mustJSON(m["location"]) != `[{"reference":"Location/hsds-loc-keep"}]` {
				t.Errorf("service location %s, want its stored reference kept", mustJSON(m["location"]))
			}
			if now, err := s.Read(ctx, "Location", "hsds-loc-keep"); err != nil || string(now.Body) != string(loc.Body) {
				t.Errorf("the stored Location changed: %v\n%s\nwas\n%s", err, now.Body, loc.Body)
			}

			// The organization goes bad: the service keeps providedBy.
			sum = imp("third.json", keepDataset("43.651", "", "Corner Food Bank"))
			if keys := strings.Join(rejectKeys(sum.Rejected), ", "); keys != "organization org-keep" {
				t.Errorf("rejected %q, want the organization only", keys)
			}
			if m := service(); mustJSON(m["providedBy"]) != `{"reference":"Organization/hsds-org-keep"}` {
				t.Errorf("service providedBy %s, want its stored reference kept", mustJSON(m["providedBy"]))
			}
		})
	}
}

// TestImportHSDSFirstBadLocation: on a first import a rejected location
// has nothing stored to keep: the service is written without it and the
// link is reported.
func TestImportHSDSFirstBadLocation(t *testing.T) {
	s := openTestStore(t, sqliteDatabase(t))
	p := filepath.Join(t.TempDir(), "services.json")
	if err := os.WriteFile(p, []byte(keepDataset("100", "Corner Food Network", "Corner Food Bank")), 0o600); err != nil {
		t.Fatal(err)
	}
	sum, err := ImportHSDS(t.Context(), s, p, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if keys := strings.Join(rejectKeys(sum.Rejected), ", "); keys != "location loc-keep, service_at_location sal-keep" {
		t.Errorf("rejected %q", keys)
	}
	r, err := s.Read(t.Context(), "HealthcareService", "hsds-svc-keep")
	if err != nil || strings.Contains(string(r.Body), "Location/") {
		t.Errorf("service: %v %s; want it stored without a location", err, r.Body)
	}
}

// TestImportHSDSRedactsURL (audit of issue 14, finding 6): a URL's user
// info (and query values) never appear in the import's errors.
func TestImportHSDSRedactsURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	for _, src := range []string{
		strings.Replace(srv.URL, "http://", "http://user:secret@", 1) + "/services?api_key=secret",
		strings.Replace(closedURL, "http://", "http://user:secret@", 1) + "/services",
		"http://user:secret@host.example/%zz",
	} {
		_, err := ImportHSDS(t.Context(), nil, src, 10, nil)
		if err == nil || strings.Contains(err.Error(), "secret") || !strings.HasPrefix(err.Error(), "read ") {
			t.Errorf("import %s: %v; want an error without the password", strings.ReplaceAll(src, "secret", "***"), err)
		}
	}
}

// TestImportHSDSAllRejected (audit of issue 14, finding 7): an import
// whose every record is rejected fails (exit non-zero); one with a good
// record does not.
func TestImportHSDSAllRejected(t *testing.T) {
	db := sqliteDatabase(t)
	dir := t.TempDir()
	bad, good := filepath.Join(dir, "services-bad.json"), filepath.Join(dir, "services-good.json")
	if err := os.WriteFile(bad, []byte(`[{"id":"svc-1"},{"id":"svc-2","name":"Food","status":"bad"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, []byte(`[{"id":"svc-1"},{"id":"svc-2","name":"Food","status":"active"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &ImportHSDSCmd{Source: bad, Batch: 10, Quiet: true, DatabaseFlag: DatabaseFlag{Database: db}}
	if err := c.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "every record") {
		t.Errorf("all rejected: %v, want an error", err)
	}
	c.Source = good
	if err := c.Run(t.Context()); err != nil {
		t.Errorf("one good record: %v", err)
	}
}
