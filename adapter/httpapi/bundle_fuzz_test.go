package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/socialrx/socialrx/adapter/httpapi"
)

// FuzzBundle posts bodies to the Bundle processor (POST /fhir, a SQLite
// store, small limits) and checks what any input must get: never a 5xx, an
// OperationOutcome for every refusal, and a response within the limits
// (the resources of a batch at most MaxResponseBytes, plus small entries).
// The seeds are issue 12's probes: many reads of a large resource, many
// entries, many search parameters and values, NUL bytes.
func FuzzBundle(f *testing.F) {
	many := func(n int, url string) string { return batchOf("batch", gets(n, url)) }
	var names, values []string
	for i := range 60 {
		names = append(names, "name=n"+strings.Repeat("x", i%5))
	}
	for i := range 250 {
		values = append(values, "v"+strings.Repeat("1", i%3))
	}
	for _, s := range []string{
		many(19, "Patient/big"),
		many(21, "Patient?_count=1000"),
		batchOf("transaction", gets(12, "Patient/big")),
		many(2, "Patient?"+strings.Join(names, "&")),
		many(2, "Patient?name="+strings.Join(values, ",")),
		many(1, "Patient?name=x%00y&identifier=a%00b&_id=x%00y"),
		batchOf("batch", []string{`{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=a%00b"}}`}),
		batchOf("transaction", []string{`{"resource":{"resourceType":"Patient"},"request":{"method":"PUT","url":"Patient?` + strings.Join(names, "&") + `"}}`}),
		batchOf("batch", []string{`{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient?name=` + strings.Join(values, ",") + `"}},"request":{"method":"POST","url":"Observation"}}`}),
		// Conditional deletes and PATCH entries (session 11).
		batchOf("transaction", []string{`{"request":{"method":"DELETE","url":"Patient?name=n&_id=big"}}`, `{"request":{"method":"DELETE","url":"Patient?identifier=a%00b"}}`}),
		batchOf("transaction", []string{`{"resource":{"resourceType":"Binary","contentType":"application/json-patch+json","data":"W3sib3AiOiJjb3B5IiwiZnJvbSI6Ii8iLCJwYXRoIjoiL25hbWUvMC9naXZlbiJ9XQ=="},"request":{"method":"PATCH","url":"Patient/big","ifMatch":"W/\"1\""}}`}),
		batchOf("batch", []string{`{"resource":{"resourceType":"Binary","contentType":"application/json-patch+json","data":"bm90IGpzb24="},"request":{"method":"PATCH","url":"Patient/big"}}`, `{"resource":{"resourceType":"Parameters"},"request":{"method":"PATCH","url":"Patient/big"}}`}),
	} {
		f.Add(s)
	}
	const maxResponse = 64 << 10
	ts := newServer(f, httpapi.Config{MaxBundleEntries: 20, MaxResponseBytes: maxResponse})
	ts.do(f, "PUT", "/fhir/Patient/big", bigPatient("big", 20_000)).want(f, 201)
	h := ts.srv.Handler()
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/fhir", strings.NewReader(body))
		r.Host = ts.Listener.Addr().String() // the Host check (421) would stop every input first
		r.Header.Set("Content-Type", "application/fhir+json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code == http.StatusMisdirectedRequest {
			t.Fatalf("status 421: the input never reached the Bundle processor: %s", w.Body.String())
		}
		if w.Code >= 500 {
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body.String())
		}
		if most := maxResponse + 20*4096 + 4096; w.Body.Len() > most {
			t.Fatalf("response of %d bytes, want at most %d", w.Body.Len(), most)
		}
		var head struct{ ResourceType string }
		if err := json.Unmarshal(w.Body.Bytes(), &head); err != nil {
			t.Fatalf("response is not JSON: %.300s", w.Body.String())
		}
		if w.Code >= 400 && head.ResourceType != "OperationOutcome" {
			t.Fatalf("status %d without an OperationOutcome: %.300s", w.Code, w.Body.String())
		}
	})
}
