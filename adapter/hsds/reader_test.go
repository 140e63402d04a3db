package hsds

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx/mapping"
)

func counts(d *mapping.HSDSDirectory) [3]int {
	o, s, l := d.Counts()
	return [3]int{o, s, l}
}

// TestReadForms: each fixture form gives its objects.
func TestReadForms(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want [3]int // organizations, services, locations
	}{
		{"../../testdata/hsds/json", [3]int{3, 4, 3}},
		{"../../testdata/hsds/json/services_list.json", [3]int{0, 4, 3}},
		{"../../testdata/hsds/ndjson/services.ndjson", [3]int{1, 2, 1}},
		{"../../testdata/hsds/tabular", [3]int{1, 3, 2}},
		{"../../testdata/hsds/tabular/datapackage.json", [3]int{1, 3, 2}},
	} {
		var d mapping.HSDSDirectory
		if err := Read(t.Context(), tc.src, &d, nil); err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		if got := counts(&d); got != tc.want {
			t.Errorf("%s: organizations, services, locations = %v, want %v", tc.src, got, tc.want)
		}
	}
	var d mapping.HSDSDirectory
	if err := Read(t.Context(), "../../testdata/hsds/missing", &d, nil); err == nil {
		t.Error("a missing path read without error")
	}
}

// TestReadURLPages: list pages are followed until the last; an HTTP error
// fails the read.
func TestReadURLPages(t *testing.T) {
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page := r.URL.Query().Get("page")
		asked = append(asked, page)
		if r.URL.Path == "/broken/services" {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		n, _ := strconv.Atoi(page)
		if n == 0 {
			n = 1
		}
		last := n == 3
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"total_pages":3,"page_number":` + strconv.Itoa(n) + `,"last_page":` + strconv.FormatBool(last) +
			`,"contents":[{"id":"s` + strconv.Itoa(n) + `","name":"Service ` + strconv.Itoa(n) + `"}]}`))
	}))
	defer srv.Close()
	var d mapping.HSDSDirectory
	if err := Read(t.Context(), srv.URL+"/services", &d, srv.Client()); err != nil {
		t.Fatal(err)
	}
	if want := []string{"", "2", "3"}; !cmp.Equal(want, asked) {
		t.Errorf("pages asked (-want +got):\n%s", cmp.Diff(want, asked))
	}
	if got := counts(&d); got != [3]int{0, 3, 0} {
		t.Errorf("read %v, want 3 services", got)
	}
	if err := Read(t.Context(), srv.URL+"/broken/services", &d, srv.Client()); err == nil {
		t.Error("HTTP 503 read without error")
	}
}

// TestReadURLEndlessPages: a server whose pages never end is read up to
// maxPages, then the import fails saying so (not a silent cut).
func TestReadURLEndlessPages(t *testing.T) {
	defer func(n int) { maxPages = n }(maxPages)
	maxPages = 5
	asked := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked++
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"last_page":false,"contents":[{"id":"s` + strconv.Itoa(asked) + `","name":"Service"}]}`))
	}))
	defer srv.Close()
	var d mapping.HSDSDirectory
	err := Read(t.Context(), srv.URL+"/services", &d, srv.Client())
	if err == nil || !strings.Contains(err.Error(), "more than 5 pages") || asked != 5 {
		t.Errorf("endless pages: %v after %d pages, want an error after 5", err, asked)
	}
}

// FuzzReadJSON: no input makes the reader panic.
func FuzzReadJSON(f *testing.F) {
	f.Add([]byte(`{"contents":[{"id":"a","name":"x","latitude":"y"}]}`))
	f.Add([]byte(`[{"id":"a","service_at_locations":[{"location":{"id":"l","latitude":1e400}}]}]`))
	f.Add([]byte(`{"id":"a","organization":{"id":"o"},"phones":[{"number":"1"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d mapping.HSDSDirectory
		_, _ = readJSON(b, "fuzz.json", "", &d)
		d.Resources()
	})
}
