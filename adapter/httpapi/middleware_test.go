package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/httpapi"
)

func TestRequestID(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	r := ts.do(t, "GET", "/fhir/metadata", "", "X-Request-Id", "abc-123")
	if got := r.header.Get("X-Request-Id"); got != "abc-123" {
		t.Errorf("X-Request-Id: got %q, want it echoed", got)
	}
	r = ts.do(t, "GET", "/fhir/metadata", "", "X-Request-Id", "bad id with spaces")
	if got := r.header.Get("X-Request-Id"); got == "" || strings.Contains(got, " ") {
		t.Errorf("X-Request-Id: got %q, want a generated one", got)
	}
	if !strings.Contains(ts.logs.String(), `"request_id":"abc-123"`) {
		t.Error("access log lacks the request id")
	}
}

// panicStore panics on Read.
type panicStore struct{ socialrx.Store }

func (panicStore) Read(context.Context, string, string) (*socialrx.Resource, error) {
	panic("boom")
}

func TestPanicRecovered(t *testing.T) {
	ts := newServerWith(t, panicStore{openStore(t)}, httpapi.Config{})
	r := ts.do(t, "GET", "/fhir/Patient/x", "").want(t, http.StatusInternalServerError)
	r.hasIssue(t, "exception", "")
	if strings.Contains(string(r.body), "boom") {
		t.Errorf("500 leaks the panic: %s", r.body)
	}
	ts.do(t, "GET", "/fhir/metadata", "").want(t, http.StatusOK)
	if !strings.Contains(ts.logs.String(), "internal error") {
		t.Error("the panic was not logged")
	}
}

// TestLogsHoldNoPHI sends a patient's name in bodies and queries, on
// successes and failures, and checks that no log line holds it.
func TestLogsHoldNoPHI(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	const family, given = "Quuxworthington", "Zebediah"
	body := `{"resourceType":"Patient","name":[{"family":"` + family + `","given":["` + given + `"]}]}`
	id := ts.create(t, "Patient", body)
	ts.do(t, "GET", "/fhir/Patient?family="+family+"&given="+given, "").want(t, http.StatusOK)
	ts.do(t, "GET", "/fhir/Patient?nosuch="+family, "", "Prefer", "handling=strict").want(t, http.StatusBadRequest)
	ts.do(t, "POST", "/fhir/Patient/_search", url.Values{"name": {given}}.Encode(), "Content-Type", "application/x-www-form-urlencoded").want(t, http.StatusOK)
	ts.do(t, "POST", "/fhir/Patient", strings.Replace(body, `"name"`, `"birthDate":"`+given+`","name"`, 1)).want(t, http.StatusUnprocessableEntity)
	ts.do(t, "PUT", "/fhir/Patient/"+id, strings.Replace(body, `{"resourceType":"Patient"`, `{"resourceType":"Patient","id":"`+family+`"`, 1)).want(t, http.StatusBadRequest)
	ts.do(t, "GET", "/fhir/"+family+"/1", "").want(t, http.StatusNotFound)
	ts.do(t, "POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":`+body+`,"request":{"method":"POST","url":"Patient?name=`+given+`"}}]}`).want(t, http.StatusBadRequest)
	logs := ts.logs.String()
	if logs == "" {
		t.Fatal("nothing was logged")
	}
	for _, phi := range []string{family, given} {
		if strings.Contains(logs, phi) {
			t.Errorf("logs hold %q:\n%s", phi, logs)
		}
	}
	if !strings.Contains(logs, `"route":"/fhir/:type"`) || !strings.Contains(logs, `"type":"Patient"`) {
		t.Errorf("access log lacks route or type:\n%s", logs)
	}
}

func TestHealth(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	ts.do(t, "GET", "/healthz", "").want(t, http.StatusOK)
	ts.do(t, "GET", "/readyz", "").want(t, http.StatusOK)

	notReady := newServer(t, httpapi.Config{ReadyCheck: func(context.Context) error { return errors.New("jobs not started") }})
	notReady.do(t, "GET", "/healthz", "").want(t, http.StatusOK)
	notReady.do(t, "GET", "/readyz", "").want(t, http.StatusServiceUnavailable)

	st := openStore(t)
	down := newServerWith(t, st, httpapi.Config{})
	st.Close()
	down.do(t, "GET", "/readyz", "").want(t, http.StatusServiceUnavailable)
	down.do(t, "GET", "/healthz", "").want(t, http.StatusOK)
}

func TestMetrics(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	ts.do(t, "GET", "/fhir/Patient/nope", "").want(t, http.StatusNotFound)
	ts.do(t, "GET", "/fhir/metadata", "").want(t, http.StatusOK)
	r := ts.do(t, "GET", "/metrics", "").want(t, http.StatusOK)
	for _, want := range []string{
		`socialrx_http_requests_total{code="404",method="GET",route="/fhir/:type/:id"} 1`,
		`socialrx_http_requests_total{code="200",method="GET",route="/fhir/metadata"} 1`,
		`socialrx_http_request_duration_seconds_bucket{method="GET",route="/fhir/metadata"`,
		`socialrx_store_errors_total{code="not_found",op="read"} 1`,
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if ts.srv.Registry() == nil {
		t.Error("Registry() is nil")
	}
}
