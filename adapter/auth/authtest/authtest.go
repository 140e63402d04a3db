// Package authtest is an in-process authorisation server for tests: it
// publishes a JWK Set over HTTP (httptest) and signs real access tokens with
// keys generated for the test. Keys can be added (rotation); the JWK Set
// requests are counted.
package authtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Server is the test authorisation server.
type Server struct {
	// Issuer is the iss of its tokens; JWKSURL publishes its keys;
	// TokenURL is its (nominal) token endpoint.
	Issuer, JWKSURL, TokenURL string

	http    *httptest.Server
	fetches atomic.Int64

	mu        sync.Mutex
	keys      map[string]signingKey // kid -> key
	published []string              // kids in the JWK Set, in order
	n         int
}

type signingKey struct {
	alg  string
	priv crypto.Signer
}

// New starts a server with an RSA key "rsa-1" (RS384) and an EC P-384 key
// "ec-1" (ES384), both published. It stops when t ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{keys: map[string]signingKey{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(s.JWKS())
	})
	s.http = httptest.NewServer(mux)
	t.Cleanup(s.http.Close)
	s.Issuer = s.http.URL
	s.JWKSURL = s.http.URL + "/jwks"
	s.TokenURL = s.http.URL + "/token"
	s.addKey(t, "rsa-1", "RS384", true)
	s.addKey(t, "ec-1", "ES384", true)
	return s
}

// AddKey makes a new key for alg (RS256, RS384 or ES384) and returns its
// kid; published says whether the JWK Set lists it (a key rotation) or
// not (a key the server does not vouch for).
func (s *Server) AddKey(t testing.TB, alg string, published bool) string {
	t.Helper()
	s.mu.Lock()
	s.n++
	kid := fmt.Sprintf("key-%d", s.n)
	s.mu.Unlock()
	s.addKey(t, kid, alg, published)
	return kid
}

func (s *Server) addKey(t testing.TB, kid, alg string, published bool) {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case "RS256", "RS384":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES384":
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	default:
		t.Fatalf("authtest: no keys for %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[kid] = signingKey{alg: alg, priv: priv}
	if published {
		s.published = append(s.published, kid)
	}
}

// Fetches is how many times the JWK Set was requested.
func (s *Server) Fetches() int { return int(s.fetches.Load()) }

// JWKS is the JWK Set document: the public parts of the published keys.
func (s *Server) JWKS() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []map[string]string
	for _, kid := range s.published {
		k := s.keys[kid]
		jwk := map[string]string{"kid": kid, "alg": k.alg, "use": "sig"}
		switch pub := k.priv.Public().(type) {
		case *rsa.PublicKey:
			jwk["kty"] = "RSA"
			jwk["n"] = b64(pub.N.Bytes())
			jwk["e"] = b64(big.NewInt(int64(pub.E)).Bytes())
		case *ecdsa.PublicKey:
			ecdh, err := pub.ECDH()
			if err != nil {
				panic(err)
			}
			raw := ecdh.Bytes() // 0x04 || X || Y
			size := (len(raw) - 1) / 2
			jwk["kty"] = "EC"
			jwk["crv"] = "P-384"
			jwk["x"] = b64(raw[1 : 1+size])
			jwk["y"] = b64(raw[1+size:])
		}
		keys = append(keys, jwk)
	}
	out, _ := json.Marshal(map[string]any{"keys": keys})
	return out
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// Sign returns a JWT with claims signed by key kid with its algorithm.
func (s *Server) Sign(t testing.TB, kid string, claims map[string]any) string {
	t.Helper()
	return s.SignWith(t, kid, "", claims)
}

// SignWith is Sign with the algorithm alg instead of the key's own (""
// for the key's own): RS256 with an RS384 key, say.
func (s *Server) SignWith(t testing.TB, kid, alg string, claims map[string]any) string {
	t.Helper()
	s.mu.Lock()
	k, ok := s.keys[kid]
	s.mu.Unlock()
	if !ok {
		t.Fatalf("authtest: no key %s", kid)
	}
	if alg == "" {
		alg = k.alg
	}
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(alg), jwt.MapClaims(claims))
	tok.Header["kid"] = kid
	out, err := tok.SignedString(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Claims are the claims of a good access token for audience: this issuer,
// client_id client, scope, issued now, expiring in 5 minutes.
func (s *Server) Claims(audience, client, scope string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss":       s.Issuer,
		"sub":       client,
		"client_id": client,
		"aud":       audience,
		"scope":     scope,
		"iat":       now.Unix(),
		"exp":       now.Add(5 * time.Minute).Unix(),
		"jti":       fmt.Sprintf("%d", now.UnixNano()),
	}
}

// Token is a good access token (Claims) signed with "rsa-1" (RS384).
func (s *Server) Token(t testing.TB, audience, client, scope string) string {
	t.Helper()
	return s.Sign(t, "rsa-1", s.Claims(audience, client, scope))
}
