package ereferral

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/oauthcc/oauthcctest"
)

var now = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// message is the Bundle sent in every test; the server must see it unchanged.
const message = `{"resourceType":"Bundle","id":"b1","type":"message","entry":[{"fullUrl":"urn:uuid:5f1c","resource":{"resourceType":"MessageHeader","id":"5f1c","eventCoding":{"system":"https://ehealthontario.ca/fhir/CodeSystem/message-event-code","code":"add-service-request"}}}]}`

// respMessage is a $process-messages response message with code and an
// OperationOutcome entry with diagnostics.
func respMessage(code, diagnostics string) string {
	return fmt.Sprintf(`{"resourceType":"Bundle","type":"message","entry":[
		{"resource":{"resourceType":"MessageHeader","id":"r1","response":{"identifier":"5f1c","code":%q,"details":{"reference":"OperationOutcome/oo1"}}}},
		{"resource":{"resourceType":"OperationOutcome","id":"oo1","issue":[{"severity":"error","code":"processing","diagnostics":%q}]}}]}`, code, diagnostics)
}

const operationOutcome = `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"required","diagnostics":"ServiceRequest.subject: minimum required = 1"}]}`

// seen is what the platform server saw of one request.
type seen struct {
	Method, Path, ContentType, Accept, Authorization, Body string
}

// platform is a $process-messages endpoint whose answers a test writes.
type platform struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []seen
	release chan struct{} // closed at the end of the test: frees handlers that hang
}

func newPlatform(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, n int, release <-chan struct{})) *platform {
	p := &platform{release: make(chan struct{})}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.reqs = append(p.reqs, seen{
			Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"),
			Accept: r.Header.Get("Accept"), Authorization: r.Header.Get("Authorization"), Body: string(body),
		})
		n := len(p.reqs)
		p.mu.Unlock()
		answer(w, r, n, p.release)
	}))
	t.Cleanup(func() { close(p.release); p.Close() })
	return p
}

func (p *platform) seen() []seen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]seen(nil), p.reqs...)
}

// status answers every request with code, the header pairs and body.
func status(code int, body string, header ...string) func(http.ResponseWriter, *http.Request, int, <-chan struct{}) {
	return func(w http.ResponseWriter, r *http.Request, _ int, _ <-chan struct{}) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

func TestSend(t *testing.T) {
	okResponse := respMessage("ok", "")
	tests := []struct {
		name    string
		answer  func(w http.ResponseWriter, r *http.Request, n int, release <-chan struct{})
		closed  bool          // the platform is down: connection refused
		timeout time.Duration // Options.Timeout, default 5 s
		// want is the SendError, nil for success; its Reason must contain wantReason.
		want         *socialrx.SendError
		wantReason   string
		wantResponse string
		wantTokens   []string // the bearer tokens the platform saw, in order
		wantFetches  int      // token endpoint hits
	}{
		{
			name:         "200 response message ok",
			answer:       status(200, okResponse),
			wantResponse: okResponse,
			wantTokens:   []string{"Bearer tok-1"},
			wantFetches:  1,
		},
		{
			name:        "200 response message fatal-error with OperationOutcome",
			answer:      status(200, respMessage("fatal-error", "Unknown service: 42")),
			want:        &socialrx.SendError{Retryable: false, StatusCode: 200},
			wantReason:  "response message fatal-error: Unknown service: 42",
			wantTokens:  []string{"Bearer tok-1"},
			wantFetches: 1,
		},
		{
			name:        "200 response message transient-error",
			answer:      status(200, respMessage("transient-error", "Try later"), "Retry-After", "30"),
			want:        &socialrx.SendError{Retryable: true, StatusCode: 200, RetryAfter: 30 * time.Second},
			wantReason:  "response message transient-error: Try later",
			wantTokens:  []string{"Bearer tok-1"},
			wantFetches: 1,
		},
		{
			name:         "202 empty body",
			answer:       status(202, ""),
			wantResponse: "",
			wantTokens:   []string{"Bearer tok-1"},
			wantFetches:  1,
		},
		{
			name:        "400 with OperationOutcome",
			answer:      status(400, operationOutcome),
			want:        &socialrx.SendError{Retryable: false, StatusCode: 400},
			wantReason:  "bad request: ServiceRequest.subject: minimum required = 1",
			wantTokens:  []string{"Bearer tok-1"},
			wantFetches: 1,
		},
		{
			name: "401 then 200: token refreshed",
			answer: func(w http.ResponseWriter, r *http.Request, n int, _ <-chan struct{}) {
				if n == 1 {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				io.WriteString(w, okResponse)
			},
			wantResponse: okResponse,
			wantTokens:   []string{"Bearer tok-1", "Bearer tok-2"},
			wantFetches:  2,
		},
		{
			name:        "401 twice",
			answer:      status(401, operationOutcome),
			want:        &socialrx.SendError{Retryable: false, StatusCode: 401},
			wantReason:  "unauthorized after token refresh",
			wantTokens:  []string{"Bearer tok-1", "Bearer tok-2"},
			wantFetches: 2,
		},
		{
			name:        "403",
			answer:      status(403, ""),
			want:        &socialrx.SendError{Retryable: false, StatusCode: 403},
			wantReason:  "forbidden",
			wantTokens:  []string{"Bearer tok-1"},
			wantFetches: 1,
		},
		{
			name:        "408",
			answer:      status(408, ""),
			want:        &socialrx.SendError{Retryable: true, StatusCode: 408},
			wantReason:  "request timeout",
			wantTokens:  []string{"Bearer tok-1"},
			wantFetches: 1,
		},
		{
			name:        "429 with Retry-After seconds",
			answer:      status(429, "", "Retry-After", "7"),
			want:        &socialrx.SendError{Retryable: true, StatusCode: 429, RetryAfter: 7 * time.Second},
			wantReason:  "too many requests",
			wantTokens:  []string{"Bearer tok-1"},
			wantFetches: 1,
		},
		{
			name:        "429 with Retry-After HTTP-date",
			answer:      status(429, "", "Retry-After", now.Add(2*time.Minute).Format(http.TimeFormat)),
			want:        &socialrx.SendError{Retryable: true, StatusCode: 429, RetryAfter: 2 * time.Minute},
			wantReason:  "too many requests",
			wantTokens:  []string{"Bearer tok-1"},
			wantFetches: 1,
		},
		{
			name:        "500",
			answer:      status(500, operationOutcome),
			want:        &socialrx.SendError{Retryable: true, StatusCode: 500},
			wantReason:  "internal server error: ServiceRequest.subject",
			wantTokens:  []string{"Bearer tok-1"},
			wantFetches: 1,
		},
		{
			name:        "503 with garbage Retry-After",
			answer:      status(503, "<html>down</html>", "Retry-After", "later"),
			want:        &socialrx.SendError{Retryable: true, StatusCode: 503},
			wantReason:  "service unavailable",
			wantTokens:  []string{"Bearer tok-1"},
			wantFetches: 1,
		},
		{
			name: "timeout",
			answer: func(w http.ResponseWriter, r *http.Request, _ int, release <-chan struct{}) {
				select { // answer only after the client gave up
				case <-release:
				case <-r.Context().Done():
				}
			},
			timeout:     100 * time.Millisecond,
			want:        &socialrx.SendError{Retryable: true, StatusCode: 0},
			wantReason:  "network error: timeout",
			wantTokens:  []string{"Bearer tok-1"},
			wantFetches: 1,
		},
		{
			name:        "garbage 2xx body",
			answer:      status(200, "<html>Thanks!</html>"),
			want:        &socialrx.SendError{Retryable: true, StatusCode: 200},
			wantReason:  "unreadable response",
			wantTokens:  []string{"Bearer tok-1"},
			wantFetches: 1,
		},
		{
			name:        "connection refused",
			closed:      true,
			want:        &socialrx.SendError{Retryable: true, StatusCode: 0},
			wantReason:  "network error: connection refused",
			wantFetches: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := oauthcctest.NewTokenServer(t)
			p := newPlatform(t, tt.answer)
			if tt.closed {
				p.Close()
			}
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			c := New(oauthcctest.Credentials{"ocean": ts.Credentials()}, Options{Timeout: timeout, Now: func() time.Time { return now }})
			ep := socialrx.Endpoint{ID: "ocean", ConnectionType: socialrx.ConnectionFHIRMessaging, Address: p.URL + "/fhir/"}

			got, err := c.Send(context.Background(), ep, []byte(message))

			checkOutcome(t, err, tt.want, tt.wantReason)
			if tt.want == nil && string(got) != tt.wantResponse {
				t.Errorf("response %q, want %q", got, tt.wantResponse)
			}
			if tt.want != nil && got != nil {
				t.Errorf("response %q with an error, want nil", got)
			}
			var want []seen
			for _, tok := range tt.wantTokens {
				want = append(want, seen{
					Method: "POST", Path: "/fhir/$process-messages", ContentType: "application/fhir+json",
					Accept: "application/fhir+json", Authorization: tok, Body: message,
				})
			}
			if diff := cmp.Diff(want, p.seen()); diff != "" {
				t.Errorf("requests the platform saw (-want +got):\n%s", diff)
			}
			if n := ts.Hits(); n != tt.wantFetches {
				t.Errorf("token endpoint hit %d times, want %d", n, tt.wantFetches)
			}
		})
	}
}

// checkOutcome checks that err is nil when want is, and otherwise a
// *socialrx.SendError equal to want but for Reason, which contains reason.
func checkOutcome(t *testing.T, err error, want *socialrx.SendError, reason string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("error %v, want success", err)
		}
		return
	}
	se, ok := err.(*socialrx.SendError)
	if !ok {
		t.Fatalf("error %v (%T), want a *socialrx.SendError", err, err)
	}
	if diff := cmp.Diff(want, se, cmpopts.IgnoreFields(socialrx.SendError{}, "Reason")); diff != "" {
		t.Errorf("SendError (-want +got):\n%s", diff)
	}
	if !strings.Contains(se.Reason, reason) {
		t.Errorf("Reason %q, want it to contain %q", se.Reason, reason)
	}
	if strings.Contains(se.Error(), "tok-") || strings.Contains(se.Error(), "s3cret") || strings.Contains(se.Error(), "127.0.0.1") {
		t.Errorf("error %q carries a token, a secret or the address", se.Error())
	}
}

func TestSendTokenCachedAcrossSends(t *testing.T) {
	ts := oauthcctest.NewTokenServer(t)
	p := newPlatform(t, status(200, ""))
	c := New(oauthcctest.Credentials{"ocean": ts.Credentials()}, Options{})
	ep := socialrx.Endpoint{ID: "ocean", Address: p.URL}
	for i := range 5 {
		if _, err := c.Send(context.Background(), ep, []byte(message)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if n := ts.Hits(); n != 1 {
		t.Errorf("token endpoint hit %d times for 5 sends, want 1", n)
	}
}

func TestSendWithoutCredentials(t *testing.T) {
	p := newPlatform(t, status(200, ""))
	creds := oauthcctest.Credentials{"no-token-url": {InboundBearer: "theirs"}}
	c := New(creds, Options{})
	for _, id := range []string{"unknown", "no-token-url"} {
		if _, err := c.Send(context.Background(), socialrx.Endpoint{ID: id, Address: p.URL}, []byte(message)); err != nil {
			t.Fatalf("Send to %s: %v", id, err)
		}
	}
	for i, s := range p.seen() {
		if s.Authorization != "" {
			t.Errorf("request %d carried Authorization %q, want none", i, s.Authorization)
		}
	}
}

func TestSendTokenEndpointFailure(t *testing.T) {
	tests := []struct {
		name   string
		status int
		want   *socialrx.SendError
		reason string
	}{
		{name: "bad credentials", status: 401, want: &socialrx.SendError{}, reason: "token endpoint: http 401 unauthorized"},
		{name: "token endpoint down", status: 503, want: &socialrx.SendError{Retryable: true}, reason: "token endpoint: http 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := oauthcctest.NewTokenServer(t)
			ts.SetHandler(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tt.status) })
			p := newPlatform(t, status(200, ""))
			c := New(oauthcctest.Credentials{"ocean": ts.Credentials()}, Options{})
			_, err := c.Send(context.Background(), socialrx.Endpoint{ID: "ocean", Address: p.URL}, []byte(message))
			checkOutcome(t, err, tt.want, tt.reason)
			if n := len(p.seen()); n != 0 {
				t.Errorf("platform got %d requests, want none without a token", n)
			}
		})
	}
}

// TestSendBoundsResponse: the client reads at most MaxResponseBytes of an
// answer, even one that never ends (reading it all would end in the
// timeout instead).
func TestSendBoundsResponse(t *testing.T) {
	chunk := bytes.Repeat([]byte(" "), 64<<10)
	tests := []struct {
		name   string
		answer func(w http.ResponseWriter, r *http.Request, _ int, _ <-chan struct{})
		want   *socialrx.SendError
		reason string
	}{
		{
			name: "10 MiB 2xx",
			answer: func(w http.ResponseWriter, r *http.Request, _ int, _ <-chan struct{}) {
				io.WriteString(w, `{"resourceType":"Bundle","type":"message",`)
				for range 10 << 20 / len(chunk) {
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
				io.WriteString(w, `"entry":[]}`)
			},
			want:   &socialrx.SendError{Retryable: true, StatusCode: 200},
			reason: "unreadable response: too large",
		},
		{
			name: "endless 500",
			answer: func(w http.ResponseWriter, r *http.Request, _ int, release <-chan struct{}) {
				w.WriteHeader(http.StatusInternalServerError)
				for {
					if _, err := w.Write(chunk); err != nil {
						return
					}
					select {
					case <-release:
						return
					default:
					}
				}
			},
			want:   &socialrx.SendError{Retryable: true, StatusCode: 500},
			reason: "internal server error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPlatform(t, tt.answer)
			c := New(oauthcctest.Credentials{}, Options{MaxResponseBytes: 1 << 20, Timeout: 10 * time.Second})
			got, err := c.Send(context.Background(), socialrx.Endpoint{ID: "ocean", Address: p.URL}, []byte(message))
			checkOutcome(t, err, tt.want, tt.reason)
			if len(got) != 0 {
				t.Errorf("response of %d bytes with an error", len(got))
			}
		})
	}
}
