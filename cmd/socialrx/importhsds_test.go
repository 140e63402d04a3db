package main

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/mapping"
)

// openTestStore opens and migrates the database.
func openTestStore(t *testing.T, database string) Store {
	t.Helper()
	s, err := OpenStore(t.Context(), database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func rejectKeys(rs []mapping.HSDSReject) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Object+" "+r.ID)
	}
	sort.Strings(out)
	return out
}

// TestImportHSDS: the three forms of an HSDS dataset load on both stores;
// bad records are reported with their reason and the rest is stored; a
// second import changes nothing, a changed record makes a new version;
// the programs are found by need domain.
func TestImportHSDS(t *testing.T) {
	for _, b := range encounterBackends {
		t.Run(b.name, func(t *testing.T) {
			s := openTestStore(t, b.database(t))
			ctx := t.Context()
			var rejected []mapping.HSDSReject
			created := map[string]int{}
			for _, src := range []string{"json", "ndjson/services.ndjson", "tabular/datapackage.json"} {
				sum, err := ImportHSDS(ctx, s, filepath.Join("../../testdata/hsds", src), 2, nil)
				if err != nil {
					t.Fatalf("%s: %v", src, err)
				}
				rejected = append(rejected, sum.Rejected...)
				for k, v := range sum.Created {
					created[k] += v
				}
			}
			if want := map[string]int{"Organization": 4, "Location": 4, "HealthcareService": 7, "Endpoint": 1}; !cmp.Equal(want, created) {
				t.Errorf("created (-want +got):\n%s", cmp.Diff(want, created))
			}
			wantRejected := []string{
				"attribute att-ereferral-bad", "location loc-bad-lat", "location t-loc-2", "organization org-without-name",
				"phone ph-bad", "phone t-ph-3", "schedule t-sch-2", "service ", "service ",
				"service svc-no-name", "service t-svc-3", "service_at_location sal-2", "service_at_location t-sal-3",
			}
			if got := rejectKeys(rejected); !cmp.Equal(wantRejected, got) {
				t.Errorf("rejected (-want +got):\n%s", cmp.Diff(wantRejected, got))
			}
			for _, r := range rejected {
				if r.Reason == "" || r.Source == "" {
					t.Errorf("reject %+v: no reason or source", r)
				}
				if r.ID == "loc-bad-lat" && !strings.Contains(r.Reason, "latitude 100") {
					t.Errorf("latitude 100 reported as %q", r.Reason)
				}
				if r.ID == "att-ereferral-bad" && !strings.Contains(r.Reason, "http(s) URL") {
					t.Errorf("a referral endpoint without a URL reported as %q", r.Reason)
				}
			}

			res, err := s.Read(ctx, "HealthcareService", mapping.HSDSResourceID("3c1e5a7b-9d2f-4e6a-8c0b-1d3f5a7c9e31"))
			if err != nil {
				t.Fatal(err)
			}
			var hs struct {
				Active     bool
				Name       string
				ProvidedBy struct{ Reference string }
				Category   []struct {
					Coding []struct{ System, Code string }
				}
				Location []struct{ Reference string }
				Telecom  []struct{ System, Value string }
				Endpoint []struct{ Reference string }
			}
			if err := json.Unmarshal(res.Body, &hs); err != nil {
				t.Fatal(err)
			}
			if !hs.Active || hs.Name != "Weekly Good Food Market" || hs.ProvidedBy.Reference != "Organization/hsds-0f9b5e1c-3d6a-4b7e-9a51-2c8d4e6f7a10" ||
				len(hs.Category) != 1 || hs.Category[0].Coding[0].Code != "food" ||
				len(hs.Location) != 1 || hs.Location[0].Reference != "Location/hsds-9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c41" ||
				len(hs.Telecom) != 1 || hs.Telecom[0].Value != "+1 (416) 555-0101 ext. 12" ||
				len(hs.Endpoint) != 1 || hs.Endpoint[0].Reference != "Endpoint/hsds-att-ereferral-1" {
				t.Errorf("the food market read back as %s", res.Body)
			}
			// Its referral endpoint (an attribute of the R4 connection-type
			// code system, the address in its value).
			ep, err := s.Read(ctx, "Endpoint", "hsds-att-ereferral-1")
			if err != nil {
				t.Fatal(err)
			}
			var e struct {
				Status               string
				ConnectionType       struct{ System, Code string }
				Address              string
				ManagingOrganization struct{ Reference string }
			}
			if err := json.Unmarshal(ep.Body, &e); err != nil || e.Status != "active" || e.ConnectionType.Code != "hl7-fhir-msg" ||
				e.ConnectionType.System != mapping.EndpointConnectionTypeSystem || e.Address != "https://ereferral.example.org/fhir" ||
				e.ManagingOrganization.Reference != hs.ProvidedBy.Reference {
				t.Errorf("the market's Endpoint read back as %s", ep.Body)
			}

			// Found by need domain (the directory's category).
			found, err := s.Search(ctx, socialrx.SearchRequest{Type: "HealthcareService", Params: url.Values{
				"service-category": {socialrx.CodeSystemBase + "need-domain|housing"}, "active": {"true"}}})
			if err != nil {
				t.Fatal(err)
			}
			if len(found.Matches) != 1 || found.Matches[0].ID != "hsds-t-svc-1" {
				t.Errorf("active housing programs: %d matches", len(found.Matches))
			}

			// Open at a moment, by the weekly hours: the market opens Tuesday
			// and Saturday 9-13, the walking group weekdays 8-9, the
			// tabular housing program Monday, Wednesday, Friday 10-16.
			for at, want := range map[string]string{
				"2026-12-05T10:30":         "hsds-3c1e5a7b-9d2f-4e6a-8c0b-1d3f5a7c9e31", // Saturday
				"2026-12-08T08:30-05:00":   "hsds-8a6c2e4f-0b1d-4c3e-a5f7-9b1d3f5a7c63", // Tuesday
				"2026-12-08T09:00":         "hsds-3c1e5a7b-9d2f-4e6a-8c0b-1d3f5a7c9e31", // the walk has ended
				"2026-12-07T15:59":         "hsds-t-svc-1",                              // Monday
				"2026-12-06T12:00":         "",                                          // Sunday: none
				"eq2026-12-09T10:00+09:00": "hsds-t-svc-1",                              // Wednesday 10:00 there
			} {
				found, err := s.Search(ctx, socialrx.SearchRequest{Type: "HealthcareService", Params: url.Values{"available-at": {at}}})
				if err != nil {
					t.Fatalf("available-at=%s: %v", at, err)
				}
				var ids []string
				for _, m := range found.Matches {
					ids = append(ids, m.ID)
				}
				if got := strings.Join(ids, ","); got != want {
					t.Errorf("available-at=%s: %q, want %q", at, got, want)
				}
			}

			// Re-import: nothing changes.
			sum, err := ImportHSDS(ctx, s, "../../testdata/hsds/json", 500, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(sum.Created)+len(sum.Updated) != 0 || sum.Unchanged["HealthcareService"] != 3 {
				t.Errorf("second import: created %v updated %v unchanged %v", sum.Created, sum.Updated, sum.Unchanged)
			}
			// A changed record: one new version of that service only.
			dir := t.TempDir()
			body, err := os.ReadFile("../../testdata/hsds/json/services_list.json")
			if err != nil {
				t.Fatal(err)
			}
			changed := strings.Replace(string(body), "Weekly Good Food Market", "Good Food Market", 1)
			if err := os.WriteFile(filepath.Join(dir, "services_list.json"), []byte(changed), 0o600); err != nil {
				t.Fatal(err)
			}
			sum, err = ImportHSDS(ctx, s, dir, 500, nil)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Updated["HealthcareService"] != 1 || sum.Unchanged["HealthcareService"] != 2 || len(sum.Created) != 0 {
				t.Errorf("changed import: created %v updated %v unchanged %v", sum.Created, sum.Updated, sum.Unchanged)
			}
			res, err = s.Read(ctx, "HealthcareService", mapping.HSDSResourceID("3c1e5a7b-9d2f-4e6a-8c0b-1d3f5a7c9e31"))
			if err != nil {
				t.Fatal(err)
			}
			if res.VersionID != 2 {
				t.Errorf("changed service at version %d, want 2", res.VersionID)
			}
			// Again in batches of one: the unchanged check of each batch
			// runs ahead of the writes (distinct ids), and finds them all.
			sum, err = ImportHSDS(ctx, s, dir, 1, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(sum.Created)+len(sum.Updated) != 0 || sum.Unchanged["HealthcareService"] != 3 || sum.Unchanged["Location"] != 2 {
				t.Errorf("third import, batch 1: created %v updated %v unchanged %v", sum.Created, sum.Updated, sum.Unchanged)
			}
		})
	}
}

// TestDistinctRefs: the unchanged check moves ahead of the writes only
// when no resource is in the import twice.
func TestDistinctRefs(t *testing.T) {
	r := func(typ, id string) mapping.HSDSResource { return mapping.HSDSResource{Type: typ, ID: id} }
	for _, c := range []struct {
		rs   []mapping.HSDSResource
		want bool
	}{
		{nil, true},
		{[]mapping.HSDSResource{r("Location", "hsds-a"), r("HealthcareService", "hsds-a")}, true},
		{[]mapping.HSDSResource{r("Location", "hsds-a"), r("Organization", "hsds-b"), r("Location", "hsds-a")}, false},
	} {
		if got := distinctRefs(c.rs); got != c.want {
			t.Errorf("distinctRefs(%v) = %v, want %v", c.rs, got, c.want)
		}
	}
}

// TestImportHSDSReport: --report writes the rejects as CSV.
func TestImportHSDSReport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.csv")
	rs := []mapping.HSDSReject{{Source: "a.json#1", Object: "phone", ID: "p1", Reason: "number must have 7 to 15 digits, has 2"}}
	if err := writeRejectReport(path, rs); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "source,object,hsds_id,reason\na.json#1,phone,p1,\"number must have 7 to 15 digits, has 2\"\n"
	if string(b) != want {
		t.Errorf("report (-want +got):\n%s", cmp.Diff(want, string(b)))
	}
}
