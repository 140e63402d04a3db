package oauthcc

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/oauthcc/oauthcctest"
)

// clock is a settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newCache(t *testing.T, now func() time.Time) (*Cache, *oauthcctest.TokenServer) {
	t.Helper()
	ts := oauthcctest.NewTokenServer(t)
	creds := oauthcctest.Credentials{"ep": ts.Credentials()}
	return New(creds, NewRestyClient(5*time.Second, "test"), now), ts
}

func TestTokenCachedAcrossCalls(t *testing.T) {
	c, ts := newCache(t, nil)
	var got []string
	for range 5 {
		tok, err := c.Token(context.Background(), "ep")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tok)
	}
	if diff := cmp.Diff([]string{"tok-1", "tok-1", "tok-1", "tok-1", "tok-1"}, got); diff != "" {
		t.Errorf("tokens (-want +got):\n%s", diff)
	}
	want := []url.Values{{
		"grant_type":    {"client_credentials"},
		"client_id":     {"socialrx"},
		"client_secret": {"s3cret-value"},
		"scope":         {"system/*.write"},
	}}
	if diff := cmp.Diff(want, ts.Forms()); diff != "" {
		t.Errorf("token requests (-want +got):\n%s", diff)
	}
}

func TestTokenRefetchedAfterExpiry(t *testing.T) {
	tests := []struct {
		name      string
		expiresIn int // 0: none sent
		stillGood time.Duration
		expired   time.Duration
	}{
		{name: "expires_in an hour", expiresIn: 3600, stillGood: 3600*time.Second - 31*time.Second, expired: 3600*time.Second - 30*time.Second},
		{name: "no expires_in", expiresIn: 0, stillGood: 5*time.Minute - time.Second, expired: 5 * time.Minute},
		{name: "expires_in under the margin", expiresIn: 20, stillGood: 9 * time.Second, expired: 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			c, ts := newCache(t, clk.Now)
			ts.SetExpiresIn(tt.expiresIn)
			start := clk.Now()
			token := func() string {
				t.Helper()
				tok, err := c.Token(context.Background(), "ep")
				if err != nil {
					t.Fatal(err)
				}
				return tok
			}
			token()
			clk.Advance(start.Add(tt.stillGood).Sub(clk.Now()))
			if got := token(); got != "tok-1" {
				t.Errorf("at +%v: token %q, want the cached tok-1", tt.stillGood, got)
			}
			clk.Advance(start.Add(tt.expired).Sub(clk.Now()))
			if got := token(); got != "tok-2" {
				t.Errorf("at +%v: token %q, want a new tok-2", tt.expired, got)
			}
			if got := ts.Hits(); got != 2 {
				t.Errorf("token endpoint hit %d times, want 2", got)
			}
		})
	}
}

func TestTokenExpiresInAsString(t *testing.T) {
	clk := newClock()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"access_token":"abc","token_type":"bearer","expires_in":"120"}`)
	}))
	defer ts.Close()
	c := New(oauthcctest.Credentials{"ep": {TokenURL: ts.URL}}, NewRestyClient(5*time.Second, ""), clk.Now)
	if _, err := c.Token(context.Background(), "ep"); err != nil {
		t.Fatal(err)
	}
	if got, want := c.tokens["ep"].expires, clk.Now().Add(90*time.Second); !got.Equal(want) {
		t.Errorf("kept until %v, want %v (120 s less the 30 s margin)", got, want)
	}
}

func TestTokenConcurrentCallersShareOneFetch(t *testing.T) {
	const callers = 8
	c, ts := newCache(t, nil)
	var joined sync.WaitGroup
	joined.Add(callers)
	c.joined = func(string) { joined.Done() }
	allJoined := make(chan struct{})
	go func() { joined.Wait(); close(allJoined) }()
	ts.SetHandler(func(w http.ResponseWriter, r *http.Request) {
		select { // answer once every caller waits on this fetch
		case <-allJoined:
		case <-time.After(5 * time.Second):
			http.Error(w, "not all callers joined", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, `{"access_token":"shared","token_type":"Bearer","expires_in":3600}`)
	})

	got := make([]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { got[i], errs[i] = c.Token(context.Background(), "ep") })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	want := make([]string, callers)
	for i := range want {
		want[i] = "shared"
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tokens (-want +got):\n%s", diff)
	}
	if n := ts.Hits(); n != 1 {
		t.Errorf("token endpoint hit %d times by %d concurrent callers, want 1", n, callers)
	}
}

func TestTokenNoCredentials(t *testing.T) {
	ts := oauthcctest.NewTokenServer(t)
	creds := oauthcctest.Credentials{"no-token-url": {ClientID: "x", ClientSecret: "y"}}
	c := New(creds, NewRestyClient(5*time.Second, ""), nil)
	for _, id := range []string{"unknown", "no-token-url"} {
		tok, err := c.Token(context.Background(), id)
		if tok != "" || err != nil {
			t.Errorf("Token(%q) = %q, %v; want \"\", nil", id, tok, err)
		}
	}
	if n := ts.Hits(); n != 0 {
		t.Errorf("token endpoint hit %d times, want 0", n)
	}
}

func TestTokenErrors(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		want       socialrx.SendError
		wantReason string // the Reason starts with it
	}{
		{
			name: "401 bad credentials",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"error":"invalid_client","error_description":"secret s3cret-value is wrong"}`)
			},
			want:       socialrx.SendError{Retryable: false},
			wantReason: "token endpoint: http 401 unauthorized (invalid_client)",
		},
		{
			name: "400 free-text error code is not repeated",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `{"error":"Bad secret s3cret-value"}`)
			},
			want:       socialrx.SendError{Retryable: false},
			wantReason: "token endpoint: http 400 bad request",
		},
		{
			name: "503 retryable",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "5")
				w.WriteHeader(http.StatusServiceUnavailable)
			},
			want:       socialrx.SendError{Retryable: true, RetryAfter: 5 * time.Second},
			wantReason: "token endpoint: http 503 service unavailable",
		},
		{
			name:       "429 retryable",
			handler:    func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTooManyRequests) },
			want:       socialrx.SendError{Retryable: true},
			wantReason: "token endpoint: http 429 too many requests",
		},
		{
			name:       "2xx without access_token",
			handler:    func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"token_type":"Bearer"}`) },
			want:       socialrx.SendError{Retryable: false},
			wantReason: "token endpoint: no access_token",
		},
		{
			name:       "2xx not JSON",
			handler:    func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `<html>login</html>`) },
			want:       socialrx.SendError{Retryable: false},
			wantReason: "token endpoint: unreadable response",
		},
		{
			name: "token_type not bearer",
			handler: func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, `{"access_token":"abc","token_type":"mac"}`)
			},
			want:       socialrx.SendError{Retryable: false},
			wantReason: "token endpoint: token_type is not bearer",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ts := newCache(t, nil)
			ts.SetHandler(tt.handler)
			tok, err := c.Token(context.Background(), "ep")
			checkSendError(t, err, tt.want, tt.wantReason)
			if tok != "" {
				t.Errorf("token %q with an error", tok)
			}
		})
	}

	t.Run("connection refused", func(t *testing.T) {
		c, ts := newCache(t, nil)
		ts.Close()
		_, err := c.Token(context.Background(), "ep")
		checkSendError(t, err, socialrx.SendError{Retryable: true}, "token endpoint: network error: connection refused")
	})
}

// checkSendError checks that err is a *socialrx.SendError like want, its
// Reason starting with reason, and that it leaks no secret.
func checkSendError(t *testing.T, err error, want socialrx.SendError, reason string) {
	t.Helper()
	se, ok := err.(*socialrx.SendError)
	if !ok {
		t.Fatalf("error %v (%T), want a *socialrx.SendError", err, err)
	}
	if diff := cmp.Diff(want, *se, cmpopts.IgnoreFields(socialrx.SendError{}, "Reason")); diff != "" {
		t.Errorf("SendError (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(se.Reason, reason) {
		t.Errorf("Reason %q, want it to start with %q", se.Reason, reason)
	}
	if strings.Contains(se.Error(), "s3cret") || strings.Contains(se.Error(), "tok-") {
		t.Errorf("error %q carries a secret or a token", se.Error())
	}
}

func TestTokenCallerGivesUp(t *testing.T) {
	c, ts := newCache(t, nil)
	release := make(chan struct{})
	defer close(release)
	ts.SetHandler(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	c.joined = func(string) { cancel() } // give up once the fetch is under way
	_, err := c.Token(ctx, "ep")
	checkSendError(t, err, socialrx.SendError{Retryable: true}, "token endpoint: network error: canceled")
}

func TestInvalidate(t *testing.T) {
	c, ts := newCache(t, nil)
	ctx := context.Background()
	tok, _ := c.Token(ctx, "ep")
	c.Invalidate("ep", "some-older-token")
	if got, _ := c.Token(ctx, "ep"); got != tok {
		t.Errorf("after invalidating another token: %q, want the cached %q", got, tok)
	}
	c.Invalidate("ep", tok)
	if got, _ := c.Token(ctx, "ep"); got != "tok-2" {
		t.Errorf("after invalidating %q: %q, want a new tok-2", tok, got)
	}
	if n := ts.Hits(); n != 2 {
		t.Errorf("token endpoint hit %d times, want 2", n)
	}
}
