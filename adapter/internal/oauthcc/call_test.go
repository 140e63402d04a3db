package oauthcc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/oauthcc/oauthcctest"
)

func TestReadBounded(t *testing.T) {
	tests := []struct {
		name          string
		body          string
		limit         int64
		want          string
		wantTruncated bool
	}{
		{name: "empty", body: "", limit: 4, want: ""},
		{name: "under", body: "abc", limit: 4, want: "abc"},
		{name: "at", body: "abcd", limit: 4, want: "abcd"},
		{name: "over", body: "abcdef", limit: 4, want: "abcd", wantTruncated: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &trackingBody{Reader: strings.NewReader(tt.body)}
			got, truncated, err := readBounded(rc, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want || truncated != tt.wantTruncated {
				t.Errorf("readBounded = %q, %v; want %q, %v", got, truncated, tt.want, tt.wantTruncated)
			}
			if !rc.closed {
				t.Error("body not closed")
			}
		})
	}
}

type trackingBody struct {
	io.Reader
	closed bool
}

func (b *trackingBody) Close() error { b.closed = true; return nil }

// TestCallerReusesConnections: bodies are read to the end and closed, so
// calls, token fetches and a 401 refresh go over one connection each.
func TestCallerReusesConnections(t *testing.T) {
	var mu sync.Mutex
	conns := map[string]int{}
	count := func(name string) func(net.Conn, http.ConnState) {
		return func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				mu.Lock()
				conns[name]++
				mu.Unlock()
			}
		}
	}
	calls := 0
	api := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++ // one connection: requests come one at a time
		if calls == 2 {
			w.WriteHeader(http.StatusUnauthorized) // the second call refreshes its token
			io.WriteString(w, `{"resourceType":"OperationOutcome"}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, strings.Repeat("x", 10_000))
	}))
	api.Config.ConnState = count("api")
	api.Start()
	defer api.Close()
	ts := oauthcctest.NewUnstartedTokenServer(t)
	ts.Config.ConnState = count("token")
	ts.Start()

	rc := NewRestyClient(5*time.Second, "")
	c := NewCaller(rc, New(oauthcctest.Credentials{"ep": ts.Credentials()}, rc, nil), 1<<20)
	for i := range 4 {
		resp, err := c.Do(context.Background(), "ep", Request{Method: http.MethodPost, URL: api.URL + "/Task", Body: []byte("{}")})
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("call %d: status %d", i, resp.StatusCode)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(map[string]int{"api": 1, "token": 1}, conns); diff != "" {
		t.Errorf("new connections (-want +got):\n%s", diff)
	}
}

// TestCallerDoesNotFollowRedirects: a 3xx is the answer (permanent), and a
// POST is never replayed elsewhere.
func TestCallerDoesNotFollowRedirects(t *testing.T) {
	var (
		mu    sync.Mutex
		paths []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		paths = append(paths, r.Method+" "+r.URL.Path)
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	rc := NewRestyClient(5*time.Second, "")
	c := NewCaller(rc, New(oauthcctest.Credentials{}, rc, nil), 1<<20)
	resp, err := c.Do(context.Background(), "ep", Request{Method: http.MethodPost, URL: srv.URL + "/Task", Body: []byte("{}")})
	if err != nil {
		t.Fatal(err)
	}
	want := &socialrx.SendError{StatusCode: http.StatusFound, Reason: "found"}
	if diff := cmp.Diff(want, Classify(resp, time.Now())); diff != "" {
		t.Errorf("Classify (-want +got):\n%s", diff)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{"POST /Task"}, paths); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestCallerRejectsBadURL(t *testing.T) {
	rc := NewRestyClient(5*time.Second, "")
	c := NewCaller(rc, New(oauthcctest.Credentials{}, rc, nil), 1<<20)
	for _, u := range []string{"", "/relative", "ftp://x/y", "http://"} {
		_, err := c.Do(context.Background(), "ep", Request{Method: http.MethodPost, URL: u})
		var se *socialrx.SendError
		if !errors.As(err, &se) || se.Retryable {
			t.Errorf("Do(%q): %v, want a permanent SendError", u, err)
		}
	}
}

// TestCallerBodyReadError: a 2xx whose body breaks off is retryable with
// its status; the client never saw the whole answer.
func TestCallerBodyReadError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		w.Write(bytes.Repeat([]byte("x"), 10))
		w.(http.Flusher).Flush()
		// the handler returns: the connection is closed 990 bytes short
	}))
	defer srv.Close()
	rc := NewRestyClient(5*time.Second, "")
	c := NewCaller(rc, New(oauthcctest.Credentials{}, rc, nil), 1<<20)
	_, err := c.Do(context.Background(), "ep", Request{Method: http.MethodPost, URL: srv.URL})
	want := &socialrx.SendError{Retryable: true, StatusCode: 200, Reason: "reading response: network error: connection closed"}
	if diff := cmp.Diff(error(want), err); diff != "" {
		t.Errorf("Do (-want +got):\n%s", diff)
	}
}
