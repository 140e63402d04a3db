package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/socialrx/socialrx/adapter/httpapi"
)

// TestHostChecked: Location, fullUrl and paging links never name a host the
// client made up. Without BaseURL, links are built from Host only for
// loopback and Config.AllowedHosts; any other Host gets 421 with an
// OperationOutcome before anything is stored. With BaseURL, links use it.
func TestHostChecked(t *testing.T) {
	tests := []struct {
		name     string
		cfg      httpapi.Config
		host     string
		status   int
		location string // prefix of Location on 201
	}{
		{"loopback ip", httpapi.Config{}, "127.0.0.1:8080", 201, "http://127.0.0.1:8080/fhir/Patient/"},
		{"localhost", httpapi.Config{}, "localhost:8080", 201, "http://localhost:8080/fhir/Patient/"},
		{"ipv6 loopback", httpapi.Config{}, "[::1]:8080", 201, "http://[::1]:8080/fhir/Patient/"},
		{"arbitrary", httpapi.Config{}, "evil.example", 421, ""},
		{"arbitrary with port", httpapi.Config{}, "evil.example:8080", 421, ""},
		{"listed any port", httpapi.Config{AllowedHosts: []string{"rx.example.org"}}, "RX.example.org:8443", 201, "http://RX.example.org:8443/fhir/Patient/"},
		{"listed port", httpapi.Config{AllowedHosts: []string{"rx.example.org:8443"}}, "rx.example.org:8443", 201, "http://rx.example.org:8443/fhir/Patient/"},
		{"listed other port", httpapi.Config{AllowedHosts: []string{"rx.example.org:8443"}}, "rx.example.org:9000", 421, ""},
		{"listed default port", httpapi.Config{AllowedHosts: []string{"rx.example.org:80"}}, "rx.example.org", 201, "http://rx.example.org/fhir/Patient/"},
		{"unlisted", httpapi.Config{AllowedHosts: []string{"rx.example.org"}}, "evil.example", 421, ""},
		{"base url, any host", httpapi.Config{BaseURL: "https://rx.example.org/fhir"}, "evil.example", 201, "https://rx.example.org/fhir/Patient/"},
		{"base url and list", httpapi.Config{BaseURL: "https://rx.example.org/fhir", AllowedHosts: []string{"internal"}}, "evil.example", 421, ""},
		{"base url's own host", httpapi.Config{BaseURL: "https://rx.example.org/fhir", AllowedHosts: []string{"internal"}}, "rx.example.org", 201, "https://rx.example.org/fhir/Patient/"},
		{"base url and listed", httpapi.Config{BaseURL: "https://rx.example.org/fhir", AllowedHosts: []string{"internal"}}, "internal:8080", 201, "https://rx.example.org/fhir/Patient/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newServer(t, tt.cfg)
			r := ts.do(t, "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, "Host", tt.host).want(t, tt.status)
			if tt.status != http.StatusCreated {
				if got := r.outcome(t); len(got) != 1 || got[0] != "not-supported@" {
					t.Errorf("issues: got %v, want one not-supported", got)
				}
				if n := ts.count(t); n != 0 {
					t.Errorf("a refused request stored %v versions", n)
				}
				return
			}
			if loc := r.header.Get("Location"); !strings.HasPrefix(loc, tt.location) {
				t.Errorf("Location: got %q, want prefix %q", loc, tt.location)
			}
		})
	}
}

// TestHostCheckedPaging: search and history links follow the same rule,
// and health and metrics are not checked.
func TestHostCheckedPaging(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	ts.create(t, "Patient", `{"resourceType":"Patient"}`)
	ts.create(t, "Patient", `{"resourceType":"Patient"}`)
	for _, path := range []string{"/fhir/Patient?_count=1", "/fhir/_history?_count=1", "/fhir/metadata", "/fhir"} {
		ts.do(t, "GET", path, "", "Host", "evil.example").want(t, http.StatusMisdirectedRequest).outcome(t)
	}
	m := ts.do(t, "GET", "/fhir/Patient?_count=1", "", "Host", "localhost:1234").want(t, http.StatusOK).json(t)
	if next := link(m, "next"); !strings.HasPrefix(next, "http://localhost:1234/fhir/Patient?") {
		t.Errorf("next link %q is not on the request's loopback host", next)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		ts.do(t, "GET", path, "", "Host", "evil.example").want(t, http.StatusOK)
	}
}

func TestAllowedHostsValidate(t *testing.T) {
	for _, h := range []string{"rx.example.org", "rx.example.org:8443", "10.0.0.5", "[fd00::1]:8080", "fd00::1"} {
		if err := (httpapi.Config{AllowedHosts: []string{h}}).Validate(); err != nil {
			t.Errorf("AllowedHosts %q: Validate() = %v, want nil", h, err)
		}
	}
	for _, h := range []string{"", "https://rx.example.org", "rx.example.org/fhir", "*", "user@host", ":8080"} {
		if err := (httpapi.Config{AllowedHosts: []string{h}}).Validate(); err == nil {
			t.Errorf("AllowedHosts %q: Validate() = nil, want an error", h)
		}
	}
}
