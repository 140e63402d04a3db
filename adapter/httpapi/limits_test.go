package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/socialrx/socialrx/adapter/httpapi"
)

// batchOf is a batch (or transaction) Bundle of the given entries (JSON
// objects).
func batchOf(typ string, entries []string) string {
	return `{"resourceType":"Bundle","type":"` + typ + `","entry":[` + strings.Join(entries, ",") + `]}`
}

// gets is n entries GET url.
func gets(n int, url string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = `{"request":{"method":"GET","url":"` + url + `"}}`
	}
	return out
}

// bigPatient is a Patient of about size bytes (a long text div).
func bigPatient(id string, size int) string {
	return `{"resourceType":"Patient","id":"` + id + `","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">` +
		strings.Repeat("x", size) + `</div>"}}`
}

// TestBundleEntryLimit: issue 12's batch of many entries is refused before
// any runs, with 413 and an OperationOutcome at Bundle.entry; at the limit
// it runs.
func TestBundleEntryLimit(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	for _, typ := range []string{"batch", "transaction"} {
		r := ts.do(t, "POST", "/fhir", batchOf(typ, gets(httpapi.DefaultMaxBundleEntries+1, "Patient/x")))
		r.want(t, http.StatusRequestEntityTooLarge).hasIssue(t, "too-long", "Bundle.entry")
	}
	small := newServer(t, httpapi.Config{MaxBundleEntries: 3})
	small.do(t, "POST", "/fhir", batchOf("batch", gets(4, "Patient/x"))).want(t, http.StatusRequestEntityTooLarge)
	if es := entries(small.do(t, "POST", "/fhir", batchOf("batch", gets(3, "Patient/x"))).want(t, http.StatusOK).json(t)); len(es) != 3 {
		t.Errorf("batch at the limit: %d entries, want 3", len(es))
	}
}

// TestBatchResponseLimit: issue 12's batch of 100 GET Patient/big (968 MB
// answered from a 5 KB request). Reads are answered until their resources
// would pass MaxResponseBytes; that read and every later one get 413 with
// an OperationOutcome, writes still run and come back without their
// resource. The response stays within the limit plus small entries.
func TestBatchResponseLimit(t *testing.T) {
	const limit = 100_000
	ts := newServer(t, httpapi.Config{MaxResponseBytes: limit})
	ts.do(t, "PUT", "/fhir/Patient/big", bigPatient("big", 30_000)).want(t, http.StatusCreated)
	es := gets(100, "Patient/big")
	es = append(es, `{"resource":{"resourceType":"Patient","gender":"male"},"request":{"method":"POST","url":"Patient"}}`)
	r := ts.do(t, "POST", "/fhir", batchOf("batch", es), "Prefer", "return=representation").want(t, http.StatusOK)
	if most := limit + 101*1000; len(r.body) > most {
		t.Errorf("response is %d bytes, want at most %d", len(r.body), most)
	}
	got := entries(r.json(t))
	if len(got) != 101 {
		t.Fatalf("%d entries, want 101", len(got))
	}
	for i, e := range got {
		resp := e["response"].(map[string]any)
		switch {
		case i < 3:
			if resp["status"] != "200 OK" || e["resource"] == nil {
				t.Errorf("entry %d: %v, want 200 OK with the Patient (3 x 30 KB fit in 100 KB)", i, resp["status"])
			}
		case i < 100:
			oo, _ := resp["outcome"].(map[string]any)
			if resp["status"] != "413 Request Entity Too Large" || oo["resourceType"] != "OperationOutcome" || e["resource"] != nil {
				t.Errorf("entry %d: %v, want 413 with an OperationOutcome and no resource", i, resp)
			}
		default:
			if resp["status"] != "201 Created" || e["resource"] != nil {
				t.Errorf("write entry past the limit: %v (resource %v), want 201 Created without its resource", resp["status"], e["resource"] != nil)
			}
		}
	}
	if got := ts.count(t); got != 2 {
		t.Errorf("%v versions stored, want 2 (the big Patient and the POST)", got)
	}
}

// TestTransactionResponseLimit: a transaction whose response would pass
// the limit is refused whole (413), and nothing of it is stored.
func TestTransactionResponseLimit(t *testing.T) {
	ts := newServer(t, httpapi.Config{MaxResponseBytes: 100_000})
	ts.do(t, "PUT", "/fhir/Patient/big", bigPatient("big", 30_000)).want(t, http.StatusCreated)
	es := append(gets(10, "Patient/big"), `{"resource":{"resourceType":"Patient","gender":"male"},"request":{"method":"POST","url":"Patient"}}`)
	r := ts.do(t, "POST", "/fhir", batchOf("transaction", es)).want(t, http.StatusRequestEntityTooLarge)
	r.hasIssue(t, "too-costly", "Bundle.entry[3]")
	if got := ts.count(t); got != 1 {
		t.Errorf("%v versions stored, want 1: the refused transaction stored something", got)
	}
	ts.do(t, "POST", "/fhir", batchOf("transaction", es[7:])).want(t, http.StatusOK)
}

// TestSearchLimitsConfigured: lower search limits apply to every search
// the server runs: GET, _search, batch entries, If-None-Exist and
// conditional update; the issue names the parameter.
func TestSearchLimitsConfigured(t *testing.T) {
	ts := newServer(t, httpapi.Config{MaxSearchParams: 5, MaxSearchValues: 8})
	six := "name=a&name=b&name=c&name=d&name=e&name=f"
	nine := "name=a,b,c,d,e,f,g,h,i"
	for _, q := range []string{six, nine} {
		ts.do(t, "GET", "/fhir/Patient?"+q, "").want(t, http.StatusBadRequest).hasIssue(t, "too-costly", "name")
		ts.do(t, "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, "If-None-Exist", q).want(t, http.StatusBadRequest)
		ts.do(t, "PUT", "/fhir/Patient?"+q, `{"resourceType":"Patient"}`).want(t, http.StatusBadRequest)
		es := entries(ts.do(t, "POST", "/fhir", batchOf("batch", gets(1, "Patient?"+q))).want(t, http.StatusOK).json(t))
		if st := es[0]["response"].(map[string]any)["status"]; st != "400 Bad Request" {
			t.Errorf("batch search entry %q: %v, want 400 Bad Request", q, st)
		}
	}
	ts.do(t, "GET", "/fhir/Patient?name=a&name=b&name=c&name=d&name=e", "").want(t, http.StatusOK)
	ts.do(t, "GET", "/fhir/Patient?name=a,b,c,d,e,f,g,h", "").want(t, http.StatusOK)
	if got := ts.count(t); got != 0 {
		t.Errorf("%v versions stored by refused conditional writes, want 0", got)
	}
}

// TestSearchProbes: issue 12's search probes through the HTTP API (on
// SQLite; cmd/socialrx runs them on both stores): 400, never 500.
func TestSearchProbes(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	var many, repeated []string
	for i := range 500 {
		many = append(many, fmt.Sprintf("n%d", i))
		repeated = append(repeated, fmt.Sprintf("name=n%d", i))
	}
	for _, q := range []string{"name=" + strings.Join(many[:400], ","), strings.Join(repeated, "&"), "name=x%00y", "identifier=a%00b", "_id=x%00y"} {
		r := ts.do(t, "GET", "/fhir/Patient?"+q, "")
		r.want(t, http.StatusBadRequest)
		r.outcome(t)
	}
	ts.do(t, "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, "If-None-Exist", "identifier="+url.QueryEscape("a\x00b")).want(t, http.StatusBadRequest)
}

// TestLimitConfigValidate: the search limits can be lowered (to
// MinSearchLimit), not raised past what the SQL is tested at.
func TestLimitConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  httpapi.Config
		ok   bool
	}{
		{"defaults", httpapi.DefaultConfig(), true},
		{"lowest search limits", httpapi.Config{MaxSearchParams: httpapi.MinSearchLimit, MaxSearchValues: httpapi.MinSearchLimit}, true},
		{"too few search parameters", httpapi.Config{MaxSearchParams: httpapi.MinSearchLimit - 1}, false},
		{"more search parameters than tested", httpapi.Config{MaxSearchParams: 51}, false},
		{"more search values than tested", httpapi.Config{MaxSearchValues: 201}, false},
		{"negative entries", httpapi.Config{MaxBundleEntries: -1}, false},
		{"negative response bytes", httpapi.Config{MaxResponseBytes: -1}, false},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}
