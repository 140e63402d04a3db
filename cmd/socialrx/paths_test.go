package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestUncleanPaths: a path with "//" or "." segments is answered by the
// API with an OperationOutcome (4xx), never with a redirect to the cleaned
// path and an HTML body (http.ServeMux's way), which a client might follow
// with its body; the patient form's routes are still served.
func TestUncleanPaths(t *testing.T) {
	m := startMain(t, sqliteDatabase(t))
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []struct{ method, path string }{
		{"GET", "/fhir//Patient"},
		{"POST", "/fhir//Patient"},
		{"GET", "/fhir/./metadata"},
		{"GET", "/fhir/Patient/../metadata"},
	} {
		req, err := http.NewRequest(c.method, m.URL()+c.path, strings.NewReader(`{"resourceType":"Patient"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/fhir+json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode >= 500 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/fhir+json") {
			t.Errorf("%s %s: %d %q (Location %q); want a 4xx OperationOutcome", c.method, c.path, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Location"))
		}
	}
	resp, err := client.Get(m.URL() + "/p/f/not-a-link")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("the patient form's route: %d %q; want its 404 page", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
