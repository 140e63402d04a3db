package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/httpapi"
)

// grants is an Access for tests: resource type (or "*") -> the SMART v2
// letters allowed ("rs", "cruds").
type grants map[string]string

func (g grants) Permits(i socialrx.Interaction, typ string) bool {
	return strings.IndexByte(g[typ], byte(i)) >= 0 || strings.IndexByte(g["*"], byte(i)) >= 0
}

// tokens is an Authenticator for tests: token -> the principal's grants.
type tokens map[string]grants

func (ts tokens) Authenticate(_ context.Context, token string) (socialrx.Principal, error) {
	g, ok := ts[token]
	if !ok {
		return socialrx.Principal{}, socialrx.Errorf(socialrx.EUNAUTHORIZED, "unknown access token")
	}
	return socialrx.Principal{ClientID: "client-" + token, Access: g}, nil
}

// testTokens are the principals of the tests below.
var testTokens = tokens{
	"all":        {"*": "cruds"},
	"read":       {"*": "rs"},
	"patient-r":  {"Patient": "r"},
	"patient-s":  {"Patient": "s"},
	"patient-cu": {"Patient": "cu"},
	"patient-u":  {"Patient": "u"},
	"patient-us": {"Patient": "us"},
	"patient-d":  {"Patient": "d"},
	"obs-rs":     {"Observation": "rs"},
	"obs-rs-pat": {"Observation": "rs", "Patient": "r"},
	"sr-r":       {"ServiceRequest": "r"},
	"measure-r":  {"Measure": "r"},
	"none":       {},
}

func newAuthServer(t *testing.T) *testServer {
	t.Helper()
	return newServer(t, httpapi.Config{Auth: testTokens})
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// TestAuthRequired: without a token, or with a bad one, every FHIR route
// but the CapabilityStatement and $process-messages is 401 with a
// WWW-Authenticate challenge and an OperationOutcome.
func TestAuthRequired(t *testing.T) {
	ts := newAuthServer(t)
	for _, tt := range []struct{ method, path, body string }{
		{"GET", "/fhir/Patient", ""},
		{"GET", "/fhir/Patient/1", ""},
		{"POST", "/fhir/Patient", `{"resourceType":"Patient"}`},
		{"PUT", "/fhir/Patient/1", `{"resourceType":"Patient","id":"1"}`},
		{"DELETE", "/fhir/Patient/1", ""},
		{"GET", "/fhir/_history", ""},
		{"POST", "/fhir", `{"resourceType":"Bundle","type":"batch"}`},
		{"POST", "/fhir/$validate", `{"resourceType":"Patient"}`},
		{"GET", "/fhir/ServiceRequest/1/$prescription", ""},
		{"GET", "/fhir/Measure/social-prescribing-effectiveness/$evaluate-measure?periodStart=2026-01-01&periodEnd=2026-06-30", ""},
		{"GET", "/fhir/NoSuchType", ""}, // not even whether a type exists
		{"GET", "/fhir/$export", ""},
		{"GET", "/fhir/Patient/$export", ""},
		{"GET", "/fhir/$export-status/e1", ""},
		{"DELETE", "/fhir/$export-status/e1", ""},
		{"GET", "/fhir/$export-file/e1/Patient.ndjson", ""},
	} {
		r := ts.do(t, tt.method, tt.path, tt.body).want(t, http.StatusUnauthorized)
		r.hasIssue(t, "login", "")
		if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="socialrx"` {
			t.Errorf("%s %s: WWW-Authenticate %q", tt.method, tt.path, got)
		}
		r = ts.do(t, tt.method, tt.path, tt.body, bearer("forged")...).want(t, http.StatusUnauthorized)
		r.hasIssue(t, "login", "")
		if got := r.header.Get("WWW-Authenticate"); !strings.Contains(got, `error="invalid_token"`) || !strings.Contains(got, "unknown access token") {
			t.Errorf("%s %s with a bad token: WWW-Authenticate %q, want error=invalid_token and why", tt.method, tt.path, got)
		}
	}
	ts.do(t, "GET", "/fhir/Patient", "", "Authorization", "Basic YTpi").want(t, http.StatusUnauthorized)
	ts.do(t, "GET", "/fhir/Patient", "", "Authorization", "Bearer").want(t, http.StatusUnauthorized)
	// Open: the CapabilityStatement.
	ts.do(t, "GET", "/fhir/metadata", "").want(t, http.StatusOK)
	// The access log names the client, never the token.
	ts.do(t, "GET", "/fhir/Patient", "", bearer("read")...).want(t, http.StatusOK)
	if logs := ts.logs.String(); !strings.Contains(logs, `"client":"client-read"`) || strings.Contains(logs, "forged") {
		t.Errorf("logs lack the client or hold a token: %s", logs)
	}
}

// TestScopesPerRoute: each route needs its interaction on its type.
func TestScopesPerRoute(t *testing.T) {
	ts := newAuthServer(t)
	all := bearer("all")
	pat := ts.do(t, "POST", "/fhir/Patient", `{"resourceType":"Patient","active":true}`, all...).want(t, http.StatusCreated).json(t)["id"].(string)
	sr := ts.do(t, "POST", "/fhir/ServiceRequest", `{"resourceType":"ServiceRequest","status":"active","intent":"order","subject":{"reference":"Patient/`+pat+`"}}`, all...).want(t, http.StatusCreated).json(t)["id"].(string)
	patient := `{"resourceType":"Patient","id":"` + pat + `","active":false}`
	tests := []struct {
		token, method, path, body string
		header                    []string
		want                      int
	}{
		{"patient-r", "GET", "/fhir/Patient/" + pat, "", nil, 200},
		{"patient-s", "GET", "/fhir/Patient/" + pat, "", nil, 403},
		{"patient-r", "GET", "/fhir/Patient/" + pat + "/_history/1", "", nil, 200},
		{"patient-r", "GET", "/fhir/Patient/" + pat + "/_history", "", nil, 200},
		{"patient-s", "GET", "/fhir/Patient/" + pat + "/_history", "", nil, 403},
		{"patient-r", "GET", "/fhir/Observation/x", "", nil, 403}, // another type
		{"patient-s", "GET", "/fhir/Patient?active=true", "", nil, 200},
		{"patient-r", "GET", "/fhir/Patient?active=true", "", nil, 403},
		{"patient-s", "POST", "/fhir/Patient/_search", "active=true", []string{"Content-Type", "application/x-www-form-urlencoded"}, 200},
		{"patient-r", "POST", "/fhir/Patient/_search", "active=true", []string{"Content-Type", "application/x-www-form-urlencoded"}, 403},
		{"patient-s", "GET", "/fhir/Patient/_history", "", nil, 200},
		{"patient-r", "GET", "/fhir/Patient/_history", "", nil, 403},
		{"patient-s", "GET", "/fhir/_history", "", nil, 403}, // system history: every type
		{"read", "GET", "/fhir/_history", "", nil, 200},
		{"patient-cu", "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, nil, 201},
		{"patient-u", "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, nil, 403},
		{"patient-cu", "POST", "/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`, nil, 403}, // one type cannot write another
		{"patient-cu", "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, []string{"If-None-Exist", "active=true"}, 403},         // conditional: s too
		{"patient-u", "PUT", "/fhir/Patient/" + pat, patient, nil, 200},
		{"patient-u", "PUT", "/fhir/Patient/new-one", `{"resourceType":"Patient","id":"new-one"}`, nil, 201}, // update as create: u
		{"patient-cu", "PUT", "/fhir/Patient?identifier=x", `{"resourceType":"Patient"}`, nil, 403},
		{"patient-us", "PUT", "/fhir/Patient?identifier=x", `{"resourceType":"Patient"}`, nil, 201},
		{"patient-r", "PUT", "/fhir/Patient/" + pat, patient, nil, 403},
		{"patient-r", "DELETE", "/fhir/Patient/" + pat, "", nil, 403},
		{"sr-r", "GET", "/fhir/ServiceRequest/" + sr + "/$prescription", "", nil, 404}, // allowed: not a social prescription
		{"patient-r", "GET", "/fhir/ServiceRequest/" + sr + "/$prescription", "", nil, 403},
		// $evaluate-measure: read on Measure and on what the report aggregates.
		{"read", "GET", "/fhir/Measure/social-prescribing-effectiveness/$evaluate-measure?periodStart=2026-01-01&periodEnd=2026-06-30", "", nil, 200},
		{"measure-r", "GET", "/fhir/Measure/social-prescribing-effectiveness/$evaluate-measure?periodStart=2026-01-01&periodEnd=2026-06-30", "", nil, 403},
		{"sr-r", "GET", "/fhir/Measure/social-prescribing-effectiveness/$evaluate-measure?periodStart=2026-01-01&periodEnd=2026-06-30", "", nil, 403},
		{"none", "POST", "/fhir/Patient/$validate", `{"resourceType":"Patient"}`, nil, 200}, // authentication only
		{"none", "GET", "/fhir/Patient/" + pat, "", nil, 403},
		{"none", "GET", "/fhir/NoSuchType/1", "", nil, 404},
		{"patient-d", "DELETE", "/fhir/Patient/" + pat, "", nil, 200},
		// A transaction with an entry the scopes do not allow: 403 whole.
		{"patient-cu", "POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[
			{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
			{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"}},"request":{"method":"POST","url":"Observation"}}]}`, nil, 403},
	}
	for _, tt := range tests {
		h := append(bearer(tt.token), tt.header...)
		r := ts.do(t, tt.method, tt.path, tt.body, h...)
		if r.status != tt.want {
			t.Errorf("%s: %s %s: status %d, want %d; body %s", tt.token, tt.method, tt.path, r.status, tt.want, r.body)
			continue
		}
		if r.status == http.StatusForbidden {
			at := ""
			if tt.path == "/fhir" {
				at = "Bundle.entry[1]" // the entry not allowed
			}
			r.hasIssue(t, "forbidden", at)
			if got := r.header.Get("WWW-Authenticate"); !strings.Contains(got, `error="insufficient_scope"`) || !strings.Contains(got, `scope="system/`) {
				t.Errorf("%s %s: 403 without the insufficient_scope challenge naming the scope: %q", tt.method, tt.path, got)
			}
		}
	}
	// The refused write stored nothing.
	b := ts.do(t, "GET", "/fhir/Observation", "", all...).want(t, http.StatusOK).json(t)
	if n := len(entries(b)); n != 0 {
		t.Errorf("%d Observations stored by refused writes", n)
	}
}

// TestScopesChainedSearch: a chained parameter searches another type, so
// it needs s on that type too (else the results would tell about it).
func TestScopesChainedSearch(t *testing.T) {
	ts := newAuthServer(t)
	ts.do(t, "GET", "/fhir/Observation?subject:Patient.name=Smith", "", bearer("obs-rs")...).want(t, http.StatusForbidden)
	ts.do(t, "GET", "/fhir/Observation?subject:Patient.name=Smith", "", bearer("read")...).want(t, http.StatusOK)
	ts.do(t, "GET", "/fhir/Observation?subject=Patient/1", "", bearer("obs-rs")...).want(t, http.StatusOK)
}

// TestScopesInclude: _include and _revinclude results of a type the scopes
// do not cover are left out, in a search and in a batch search entry.
func TestScopesInclude(t *testing.T) {
	ts := newAuthServer(t)
	all := bearer("all")
	pat := ts.do(t, "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, all...).want(t, http.StatusCreated).json(t)["id"].(string)
	ts.do(t, "POST", "/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/`+pat+`"}}`, all...).want(t, http.StatusCreated)

	types := func(b map[string]any) map[string]int {
		n := map[string]int{}
		for _, e := range entries(b) {
			n[e["resource"].(map[string]any)["resourceType"].(string)]++
		}
		return n
	}
	for _, tt := range []struct {
		token    string
		patients int
	}{{"obs-rs", 0}, {"obs-rs-pat", 1}, {"all", 1}} {
		b := ts.do(t, "GET", "/fhir/Observation?_include=Observation:subject", "", bearer(tt.token)...).want(t, http.StatusOK).json(t)
		if got := types(b); got["Observation"] != 1 || got["Patient"] != tt.patients {
			t.Errorf("%s: search with _include returned %v, want 1 Observation and %d Patient", tt.token, got, tt.patients)
		}
		batch := `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Observation?_include=Observation:subject"}}]}`
		rb := ts.do(t, "POST", "/fhir", batch, bearer(tt.token)...).want(t, http.StatusOK).json(t)
		inner := entries(rb)[0]["resource"].(map[string]any)
		if got := types(inner); got["Patient"] != tt.patients {
			t.Errorf("%s: batch search entry with _include returned %v, want %d Patient", tt.token, got, tt.patients)
		}
	}
	// _revinclude from Patient: the Observation is left out without Observation scopes.
	b := ts.do(t, "GET", "/fhir/Patient?_revinclude=Observation:subject", "", bearer("read")...).want(t, http.StatusOK).json(t)
	if got := types(b); got["Observation"] != 1 {
		t.Errorf("read: _revinclude returned %v, want the Observation", got)
	}
	ts.do(t, "GET", "/fhir/Patient?_revinclude=Observation:subject", "", bearer("patient-s")...).want(t, http.StatusOK)
	b = ts.do(t, "GET", "/fhir/Patient?_revinclude=Observation:subject", "", bearer("patient-s")...).json(t)
	if got := types(b); got["Observation"] != 0 || got["Patient"] != 1 {
		t.Errorf("patient-s: _revinclude returned %v, want the Patient only", got)
	}
}

// TestScopesBundles: a transaction with one entry the scopes do not allow
// fails whole (403, nothing stored); in a batch that entry alone gets 403.
func TestScopesBundles(t *testing.T) {
	ts := newAuthServer(t)
	tx := `{"resourceType":"Bundle","type":"%s","entry":[
		{"fullUrl":"urn:uuid:11111111-1111-1111-1111-111111111111","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
		{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"}},"request":{"method":"POST","url":"Observation"}}]}`
	r := ts.do(t, "POST", "/fhir", strings.Replace(tx, "%s", "transaction", 1), bearer("patient-cu")...).want(t, http.StatusForbidden)
	r.hasIssue(t, "forbidden", "Bundle.entry[1]")
	if n := len(entries(ts.do(t, "GET", "/fhir/Patient", "", bearer("all")...).json(t))); n != 0 {
		t.Errorf("the refused transaction stored %d Patients", n)
	}
	b := ts.do(t, "POST", "/fhir", strings.Replace(strings.Replace(tx, "%s", "batch", 1), `"fullUrl":"urn:uuid:11111111-1111-1111-1111-111111111111",`, "", 1), bearer("patient-cu")...).want(t, http.StatusOK).json(t)
	es := entries(b)
	if len(es) != 2 {
		t.Fatalf("batch response has %d entries, want 2", len(es))
	}
	if st := es[0]["response"].(map[string]any)["status"]; st != "201 Created" {
		t.Errorf("allowed batch entry: status %v, want 201 Created", st)
	}
	if st := es[1]["response"].(map[string]any)["status"]; st != "403 Forbidden" {
		t.Errorf("forbidden batch entry: status %v, want 403 Forbidden", st)
	}
	if n := len(entries(ts.do(t, "GET", "/fhir/Patient", "", bearer("all")...).json(t))); n != 1 {
		t.Errorf("the batch stored %d Patients, want 1", n)
	}
	// Every kind of entry is checked.
	for _, tt := range []struct{ entry, token string }{
		{`{"request":{"method":"GET","url":"Patient/x"}}`, "patient-s"},
		{`{"request":{"method":"GET","url":"Patient?active=true"}}`, "patient-r"},
		{`{"request":{"method":"DELETE","url":"Patient/x"}}`, "patient-cu"},
		{`{"resource":{"resourceType":"Patient","id":"x"},"request":{"method":"PUT","url":"Patient/x"}}`, "patient-r"},
		{`{"resource":{"resourceType":"Patient"},"request":{"method":"PUT","url":"Patient?identifier=x"}}`, "patient-u"},
		{`{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=x"}}`, "patient-cu"},
		{`{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient?identifier=x"}},"request":{"method":"POST","url":"Observation"}}`, "obs-rs"},
	} {
		body := `{"resourceType":"Bundle","type":"transaction","entry":[` + tt.entry + `]}`
		ts.do(t, "POST", "/fhir", body, bearer(tt.token)...).want(t, http.StatusForbidden)
	}
}

// TestProcessMessagesOwnBearer: $process-messages takes the platforms'
// inbound bearer tokens with authentication on, not access tokens.
func TestProcessMessagesOwnBearer(t *testing.T) {
	ts := newServer(t, httpapi.Config{Auth: testTokens, InboundAuth: func(tok string) (string, bool) {
		return "platform-1", tok == "platform-secret"
	}})
	// Past authentication: the empty body is the next thing refused.
	ts.do(t, "POST", "/fhir/$process-messages", "", bearer("platform-secret")...).want(t, http.StatusBadRequest)
	ts.do(t, "POST", "/fhir/$process-messages", "", bearer("all")...).want(t, http.StatusUnauthorized)
}

// TestOpsApart: with authentication on, /healthz, /readyz and /metrics are
// on OpsHandler only.
func TestOpsApart(t *testing.T) {
	ts := newAuthServer(t)
	ops := httptest.NewServer(ts.srv.OpsHandler())
	t.Cleanup(ops.Close)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		ts.do(t, "GET", path, "").want(t, http.StatusNotFound)
		resp, err := http.Get(ops.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("ops %s: status %d, want 200", path, resp.StatusCode)
		}
		// HEAD too, as on the API (load balancers probe with it).
		if resp, err = http.Head(ops.URL + path); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("ops HEAD %s: status %d, want 200", path, resp.StatusCode)
		}
	}
	// Without authentication they stay on the API unless asked apart.
	open := newServer(t, httpapi.Config{})
	open.do(t, "GET", "/healthz", "").want(t, http.StatusOK)
	apart := newServer(t, httpapi.Config{OpsApart: true})
	apart.do(t, "GET", "/metrics", "").want(t, http.StatusNotFound)
}

// TestSMARTDiscovery: /.well-known/smart-configuration and the
// CapabilityStatement describe the authorisation server.
func TestSMARTDiscovery(t *testing.T) {
	smart := httpapi.SMARTConfig{Issuer: "https://as.example.org", TokenEndpoint: "https://as.example.org/token", JWKSURI: "https://as.example.org/jwks"}
	ts := newServer(t, httpapi.Config{Auth: testTokens, SMART: smart})
	for _, path := range []string{"/fhir/.well-known/smart-configuration", "/.well-known/smart-configuration"} {
		r := ts.do(t, "GET", path, "").want(t, http.StatusOK)
		m := r.json(t)
		if m["token_endpoint"] != smart.TokenEndpoint || m["issuer"] != smart.Issuer {
			t.Errorf("%s: %s", path, r.body)
		}
		caps := strings.Join(toStrings(m["capabilities"]), " ")
		for _, want := range []string{"client-confidential-asymmetric", "permission-v1", "permission-v2"} {
			if !strings.Contains(caps, want) {
				t.Errorf("%s: capabilities %q lack %s", path, caps, want)
			}
		}
		if algs := strings.Join(toStrings(m["token_endpoint_auth_signing_alg_values_supported"]), " "); algs != "RS384 ES384" {
			t.Errorf("signing algs %q", algs)
		}
	}
	cs := ts.do(t, "GET", "/fhir/metadata", "").want(t, http.StatusOK).json(t)
	sec := cs["rest"].([]any)[0].(map[string]any)["security"].(map[string]any)
	coding := sec["service"].([]any)[0].(map[string]any)["coding"].([]any)[0].(map[string]any)
	if coding["system"] != "http://terminology.hl7.org/CodeSystem/restful-security-service" || coding["code"] != "SMART-on-FHIR" {
		t.Errorf("security.service coding %v", coding)
	}
	ext := sec["extension"].([]any)[0].(map[string]any)
	inner := ext["extension"].([]any)[0].(map[string]any)
	if ext["url"] != "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris" || inner["url"] != "token" || inner["valueUri"] != smart.TokenEndpoint {
		t.Errorf("security.extension %v", ext)
	}
	// No token endpoint (static tokens only), or no authentication: 404.
	newAuthServer(t).do(t, "GET", "/.well-known/smart-configuration", "").want(t, http.StatusNotFound).outcome(t)
	newServer(t, httpapi.Config{}).do(t, "GET", "/fhir/.well-known/smart-configuration", "").want(t, http.StatusNotFound)
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
