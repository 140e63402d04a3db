package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

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

// slowStore's Search waits until its context ends: with ctxErr it returns
// the context's error wrapped, as a store honouring the deadline does;
// otherwise it returns what a driver might make of the interrupted call
// (an internal error without the context's error in its chain).
type slowStore struct {
	socialrx.Store
	ctxErr bool
}

func (s slowStore) Search(ctx context.Context, _ socialrx.SearchRequest) (*socialrx.SearchResult, error) {
	<-ctx.Done()
	if s.ctxErr {
		return nil, fmt.Errorf("search: %w", ctx.Err())
	}
	return nil, errors.New("interrupted (9)")
}

// TestRequestTimeout: a request that runs past Config.RequestTimeout is
// answered 503 with an OperationOutcome (issue code timeout) naming the
// limit, whatever error the store returned for the cancelled call; the
// store saw the deadline in its context.
func TestRequestTimeout(t *testing.T) {
	for _, ctxErr := range []bool{true, false} {
		t.Run(fmt.Sprintf("store returns ctx error %v", ctxErr), func(t *testing.T) {
			ts := newServerWith(t, slowStore{Store: openStore(t), ctxErr: ctxErr}, httpapi.Config{RequestTimeout: 50 * time.Millisecond})
			start := time.Now()
			r := ts.do(t, "GET", "/fhir/Patient?name=x", "").want(t, http.StatusServiceUnavailable)
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("answered after %s; the deadline was 50ms", took)
			}
			r.hasIssue(t, "timeout", "")
			if !strings.Contains(string(r.body), "time limit (50ms)") {
				t.Errorf("outcome does not name the limit: %s", r.body)
			}
			// Other requests are not affected.
			ts.do(t, "GET", "/fhir/metadata", "").want(t, http.StatusOK)
		})
	}
}

// TestRequestTimeoutDefault: every request's context carries the deadline.
func TestRequestTimeoutDefault(t *testing.T) {
	var left time.Duration
	st := deadlineStore{Store: openStore(t), seen: &left}
	ts := newServerWith(t, st, httpapi.Config{})
	ts.do(t, "GET", "/fhir/Patient/x", "").want(t, http.StatusNotFound)
	if left <= 50*time.Second || left > httpapi.DefaultRequestTimeout {
		t.Errorf("store saw %s left before the deadline, want just under %s", left, httpapi.DefaultRequestTimeout)
	}
}

// deadlineStore records the time left before its context's deadline on Read.
type deadlineStore struct {
	socialrx.Store
	seen *time.Duration
}

func (s deadlineStore) Read(ctx context.Context, typ, id string) (*socialrx.Resource, error) {
	if d, ok := ctx.Deadline(); ok {
		*s.seen = time.Until(d)
	}
	return s.Store.Read(ctx, typ, id)
}

// activity counts requests in flight (httpapi.Activity).
type activity struct {
	mu              sync.Mutex
	inFlight, total int
}

func (a *activity) Enter() { a.mu.Lock(); a.inFlight++; a.total++; a.mu.Unlock() }
func (a *activity) Leave() { a.mu.Lock(); a.inFlight--; a.mu.Unlock() }
func (a *activity) now() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.inFlight
}

// seenStore records the activity's requests in flight at each Read.
type seenStore struct {
	socialrx.Store
	a    *activity
	seen []int
}

func (s *seenStore) Read(ctx context.Context, typ, id string) (*socialrx.Resource, error) {
	s.seen = append(s.seen, s.a.now())
	return s.Store.Read(ctx, typ, id)
}

// TestActivity: Config.Activity counts each API request while it runs
// (the job runner's deliveries hold back meanwhile: jobs.Share), a refused
// one too.
func TestActivity(t *testing.T) {
	a := &activity{}
	st := &seenStore{Store: openStore(t), a: a}
	ts := newServerWith(t, st, httpapi.Config{Activity: a})
	ts.do(t, "GET", "/fhir/Patient/nobody", "")
	ts.do(t, "GET", "/fhir/Patient?_count=x", "")
	if len(st.seen) != 1 || st.seen[0] != 1 {
		t.Errorf("requests in flight during the read: %v, want [1]", st.seen)
	}
	if a.total != 2 || a.now() != 0 {
		t.Errorf("after two requests: %d entered, %d in flight; want 2, 0", a.total, a.now())
	}
}
