// Package oauthcctest serves OAuth2 client-credentials tokens to the tests of
// the delivery adapters: a token endpoint on an httptest server that issues
// "tok-1", "tok-2", ... and counts what it was asked, and an in-memory
// socialrx.CredentialSource.
package oauthcctest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"

	"github.com/socialrx/socialrx"
)

// Credentials is a socialrx.CredentialSource held in memory, by Endpoint id.
type Credentials map[string]socialrx.Credentials

// Credentials returns the entry of endpointID.
func (c Credentials) Credentials(endpointID string) (socialrx.Credentials, bool) {
	cr, ok := c[endpointID]
	return cr, ok
}

// TokenServer is a token endpoint. Each successful request gets the next
// token, "tok-1" first, valid for an hour unless SetExpiresIn says else.
type TokenServer struct {
	*httptest.Server

	mu        sync.Mutex
	forms     []url.Values
	expiresIn int
	handle    http.HandlerFunc
}

// NewTokenServer starts a TokenServer that the test closes when it ends.
func NewTokenServer(t testing.TB) *TokenServer {
	s := NewUnstartedTokenServer(t)
	s.Start()
	return s
}

// NewUnstartedTokenServer is NewTokenServer without the Start, for tests
// that set up its http.Server (Config) first.
func NewUnstartedTokenServer(t testing.TB) *TokenServer {
	s := &TokenServer{expiresIn: 3600}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Credentials returns credentials that use this token endpoint.
func (s *TokenServer) Credentials() socialrx.Credentials {
	return socialrx.Credentials{TokenURL: s.URL + "/token", ClientID: "socialrx", ClientSecret: "s3cret-value", Scope: "system/*.write"}
}

// SetExpiresIn sets the expires_in of the tokens issued next; 0 omits it.
func (s *TokenServer) SetExpiresIn(seconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expiresIn = seconds
}

// SetHandler makes h answer the requests that come next (they are still
// counted); nil goes back to issuing tokens.
func (s *TokenServer) SetHandler(h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handle = h
}

// Hits is how many requests the endpoint got.
func (s *TokenServer) Hits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.forms)
}

// Forms are the forms of the requests, in order.
func (s *TokenServer) Forms() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.forms...)
}

func (s *TokenServer) serve(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	s.mu.Lock()
	s.forms = append(s.forms, r.PostForm)
	n := len(s.forms)
	handle, expiresIn := s.handle, s.expiresIn
	s.mu.Unlock()
	if handle != nil {
		handle(w, r)
		return
	}
	if r.Method != http.MethodPost || r.PostForm.Get("grant_type") != "client_credentials" {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	resp := map[string]any{"access_token": "tok-" + strconv.Itoa(n), "token_type": "Bearer"}
	if expiresIn != 0 {
		resp["expires_in"] = expiresIn
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}
