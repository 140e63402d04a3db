package auth

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/auth/authtest"
)

const testAudience = "https://rx.example.org/fhir"

// clock is a settable clock for the verifier.
type clock struct{ ns atomic.Int64 }

func newClock() *clock               { c := &clock{}; c.ns.Store(time.Now().UnixNano()); return c }
func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) Add(d time.Duration) { c.ns.Add(int64(d)) }

func newVerifier(t *testing.T, as *authtest.Server, now *clock) *JWTVerifier {
	t.Helper()
	v, err := NewJWTVerifier(JWTConfig{Issuer: as.Issuer, Audience: testAudience, JWKSURL: as.JWKSURL, Now: now.Now})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// wantRefused checks that token is refused with 401 and a reason naming
// the rule.
func wantRefused(t *testing.T, v *JWTVerifier, token, reason string) {
	t.Helper()
	p, err := v.Verify(context.Background(), token)
	if err == nil {
		t.Errorf("token accepted as %+v; want it refused (%s)", p, reason)
		return
	}
	if socialrx.ErrorCode(err) != socialrx.EUNAUTHORIZED {
		t.Errorf("error code %s, want %s", socialrx.ErrorCode(err), socialrx.EUNAUTHORIZED)
	}
	if !strings.Contains(err.Error(), reason) {
		t.Errorf("error %q does not say %q", err, reason)
	}
}

func TestJWTGoodTokens(t *testing.T) {
	as := authtest.New(t)
	now := newClock()
	v := newVerifier(t, as, now)
	for _, kid := range []string{"rsa-1", "ec-1", as.AddKey(t, "RS256", true)} {
		tok := as.Sign(t, kid, as.Claims(testAudience, "analytics", "system/Patient.rs system/Task.cruds"))
		p, err := v.Verify(context.Background(), tok)
		if err != nil {
			t.Errorf("key %s: good token refused: %v", kid, err)
			continue
		}
		if p.ClientID != "analytics" {
			t.Errorf("ClientID = %q, want analytics", p.ClientID)
		}
		if !p.Permits(socialrx.InteractionRead, "Patient") || !p.Permits(socialrx.InteractionDelete, "Task") || p.Permits(socialrx.InteractionCreate, "Patient") {
			t.Errorf("key %s: the principal's access does not follow the scope", kid)
		}
	}
	// aud may be an array; scp an array (some servers).
	c := as.Claims("", "etl", "")
	c["aud"] = []string{"https://other.example.org", testAudience}
	delete(c, "scope")
	c["scp"] = []string{"system/Observation.rs"}
	p, err := v.Verify(context.Background(), as.Sign(t, "rsa-1", c))
	if err != nil || !p.Permits(socialrx.InteractionSearch, "Observation") {
		t.Errorf("aud array and scp array: %+v, %v; want accepted with Observation.rs", p, err)
	}
}

func TestJWTRulesRefused(t *testing.T) {
	as := authtest.New(t)
	now := newClock()
	v := newVerifier(t, as, now)
	good := func() map[string]any { return as.Claims(testAudience, "analytics", "system/*.rs") }
	with := func(k string, val any) map[string]any { c := good(); c[k] = val; return c }
	without := func(k string) map[string]any { c := good(); delete(c, k); return c }

	t.Run("tampered", func(t *testing.T) {
		// The claims of one token under the signature of another.
		a := strings.Split(as.Token(t, testAudience, "a", "system/Patient.r"), ".")
		b := strings.Split(as.Token(t, testAudience, "b", "system/*.*"), ".")
		wantRefused(t, v, a[0]+"."+b[1]+"."+a[2], "bad signature")
	})
	t.Run("expired", func(t *testing.T) {
		wantRefused(t, v, as.Sign(t, "rsa-1", with("exp", now.Now().Add(-time.Minute).Unix())), "expired")
	})
	t.Run("replay after expiry", func(t *testing.T) {
		tok := as.Sign(t, "rsa-1", with("exp", now.Now().Add(time.Minute).Unix()))
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("fresh token refused: %v", err)
		}
		now.Add(2 * time.Minute) // past exp and the 30s leeway
		wantRefused(t, v, tok, "expired")
		now.Add(-2 * time.Minute)
	})
	t.Run("within leeway", func(t *testing.T) {
		tok := as.Sign(t, "rsa-1", with("exp", now.Now().Add(-10*time.Second).Unix()))
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Errorf("token 10s past exp refused, want the 30s leeway: %v", err)
		}
	})
	t.Run("no exp", func(t *testing.T) {
		wantRefused(t, v, as.Sign(t, "rsa-1", without("exp")), "exp claim is missing")
	})
	t.Run("nbf in the future", func(t *testing.T) {
		wantRefused(t, v, as.Sign(t, "rsa-1", with("nbf", now.Now().Add(5*time.Minute).Unix())), "not valid yet")
	})
	t.Run("iat in the future", func(t *testing.T) {
		wantRefused(t, v, as.Sign(t, "rsa-1", with("iat", now.Now().Add(5*time.Minute).Unix())), "issued in the future")
	})
	t.Run("wrong issuer", func(t *testing.T) {
		wantRefused(t, v, as.Sign(t, "rsa-1", with("iss", "https://evil.example.org")), "wrong issuer")
		wantRefused(t, v, as.Sign(t, "rsa-1", without("iss")), "iss claim is missing")
	})
	t.Run("wrong audience", func(t *testing.T) {
		wantRefused(t, v, as.Sign(t, "rsa-1", with("aud", "https://other.example.org/fhir")), "wrong audience")
		wantRefused(t, v, as.Sign(t, "rsa-1", without("aud")), "aud claim is missing")
	})
	t.Run("alg none", func(t *testing.T) {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims(good()))
		tok.Header["kid"] = "rsa-1"
		s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		wantRefused(t, v, s, "algorithm not allowed")
	})
	t.Run("HS256 with the public key as secret", func(t *testing.T) {
		// The classic confusion: an HMAC keyed with what the server
		// publishes.
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(good()))
		tok.Header["kid"] = "rsa-1"
		s, err := tok.SignedString(as.JWKS())
		if err != nil {
			t.Fatal(err)
		}
		wantRefused(t, v, s, "algorithm not allowed")
	})
	t.Run("RS512 not allowed", func(t *testing.T) {
		wantRefused(t, v, as.SignWith(t, "rsa-1", "RS512", good()), "algorithm not allowed")
	})
	t.Run("alg other than the key's", func(t *testing.T) {
		// rsa-1 is published for RS384 only.
		wantRefused(t, v, as.SignWith(t, "rsa-1", "RS256", good()), "the key is for RS384")
	})
	t.Run("key not published", func(t *testing.T) {
		kid := as.AddKey(t, "RS384", false)
		wantRefused(t, v, as.Sign(t, kid, good()), "unknown kid")
	})
	t.Run("signature of another key", func(t *testing.T) {
		other := authtest.New(t) // same kids, other keys
		wantRefused(t, v, other.Sign(t, "rsa-1", good()), "bad signature")
	})
	t.Run("no client", func(t *testing.T) {
		c := good()
		delete(c, "sub")
		delete(c, "client_id")
		wantRefused(t, v, as.Sign(t, "rsa-1", c), "names no client")
	})
	t.Run("a static token's client id", func(t *testing.T) {
		for _, claim := range []string{"client_id", "sub"} {
			c := good()
			delete(c, "client_id")
			c[claim] = StaticClientPrefix + "clinic-reports"
			wantRefused(t, v, as.Sign(t, "rsa-1", c), "are the static API tokens'")
		}
	})
	t.Run("garbage", func(t *testing.T) {
		wantRefused(t, v, "a.b.c", "malformed")
		wantRefused(t, v, "", "malformed")
	})
}

// TestJWTKeyRotation: a token signed with a key published after the JWK Set
// was cached makes socialrx fetch it again, once, and is accepted.
func TestJWTKeyRotation(t *testing.T) {
	as := authtest.New(t)
	now := newClock()
	v := newVerifier(t, as, now)
	ctx := context.Background()
	if _, err := v.Verify(ctx, as.Token(t, testAudience, "a", "system/*.rs")); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, as.Token(t, testAudience, "a", "system/*.rs")); err != nil {
		t.Fatal(err)
	}
	if got := as.Fetches(); got != 1 {
		t.Fatalf("JWK Set fetched %d times for two tokens, want 1 (cached)", got)
	}
	now.Add(DefaultRefetchEvery) // the last fetch is old enough for another
	kid := as.AddKey(t, "ES384", true)
	if _, err := v.Verify(ctx, as.Sign(t, kid, as.Claims(testAudience, "a", "system/*.rs"))); err != nil {
		t.Fatalf("token of the rotated key refused: %v", err)
	}
	if got := as.Fetches(); got != 2 {
		t.Errorf("JWK Set fetched %d times, want 2 (refetched once for the new kid)", got)
	}
	// Once cached, the new key costs no fetch.
	if _, err := v.Verify(ctx, as.Sign(t, kid, as.Claims(testAudience, "a", "system/*.rs"))); err != nil || as.Fetches() != 2 {
		t.Errorf("second token of the new key: %v, %d fetches; want accepted, 2", err, as.Fetches())
	}
	// After MaxAge the set is fetched again (a withdrawn key stops working).
	now.Add(DefaultMaxAge)
	c := as.Claims(testAudience, "a", "system/*.rs")
	c["iat"], c["exp"] = now.Now().Unix(), now.Now().Add(time.Minute).Unix()
	if _, err := v.Verify(ctx, as.Sign(t, "rsa-1", c)); err != nil || as.Fetches() != 3 {
		t.Errorf("after max age: %v, %d fetches; want accepted, 3", err, as.Fetches())
	}
}

// TestJWTRefetchBounded: many tokens with unknown key ids, at once and one
// after another, cost the authorisation server one fetch per RefetchEvery.
func TestJWTRefetchBounded(t *testing.T) {
	as := authtest.New(t)
	now := newClock()
	v := newVerifier(t, as, now)
	ctx := context.Background()
	if _, err := v.Verify(ctx, as.Token(t, testAudience, "a", "system/*.rs")); err != nil {
		t.Fatal(err)
	}
	now.Add(DefaultRefetchEvery)
	kid := as.AddKey(t, "RS384", false) // never published
	bad := as.Sign(t, kid, as.Claims(testAudience, "a", "system/*.rs"))
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := v.Verify(ctx, bad); err == nil {
				t.Error("token of an unpublished key accepted")
			}
		})
	}
	wg.Wait()
	for range 50 {
		_, _ = v.Verify(ctx, bad)
	}
	if got := as.Fetches(); got != 2 {
		t.Errorf("JWK Set fetched %d times for 100 tokens of an unknown kid, want 2 (the first fetch and one refetch)", got)
	}
	now.Add(DefaultRefetchEvery)
	_, _ = v.Verify(ctx, bad)
	if got := as.Fetches(); got != 3 {
		t.Errorf("after RefetchEvery: %d fetches, want 3", got)
	}
	// Known keys keep working all along, without fetches.
	if _, err := v.Verify(ctx, as.Token(t, testAudience, "a", "system/*.rs")); err != nil || as.Fetches() != 3 {
		t.Errorf("good token: %v, %d fetches", err, as.Fetches())
	}
}

// TestJWTServerDown: an unreachable JWK Set refuses tokens with a reason,
// within the fetch timeout, and a set fetched earlier stays in use.
func TestJWTServerDown(t *testing.T) {
	now := newClock()
	v, err := NewJWTVerifier(JWTConfig{Issuer: "http://127.0.0.1:1", Audience: testAudience, JWKSURL: "http://127.0.0.1:1/jwks", FetchTimeout: time.Second, Now: now.Now})
	if err != nil {
		t.Fatal(err)
	}
	as := authtest.New(t)
	c := as.Claims(testAudience, "a", "system/*.rs")
	c["iss"] = "http://127.0.0.1:1"
	_, err = v.Verify(context.Background(), as.Sign(t, "rsa-1", c))
	if err == nil || !strings.Contains(err.Error(), "keys could not be fetched") || strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("JWKS unreachable: %v, want a refusal saying the keys could not be fetched (and not where from)", err)
	}
}

func TestJWKSFile(t *testing.T) {
	as := authtest.New(t)
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, as.JWKS(), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := NewJWTVerifier(JWTConfig{Issuer: as.Issuer, Audience: testAudience, JWKSFile: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), as.Sign(t, "ec-1", as.Claims(testAudience, "a", "system/*.rs"))); err != nil {
		t.Errorf("token of a key in the file refused: %v", err)
	}
	kid := as.AddKey(t, "RS384", true)
	wantRefused(t, v, as.Sign(t, kid, as.Claims(testAudience, "a", "system/*.rs")), "unknown kid")
	if as.Fetches() != 0 {
		t.Errorf("a JWKS file made %d fetches", as.Fetches())
	}
}

func TestJWTConfigValidate(t *testing.T) {
	good := JWTConfig{Issuer: "https://as.example.org", Audience: testAudience, JWKSURL: "https://as.example.org/jwks"}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	bad := []func(*JWTConfig){
		func(c *JWTConfig) { c.Issuer = "" },
		func(c *JWTConfig) { c.Issuer = "as.example.org" },
		func(c *JWTConfig) { c.Audience = "" },
		func(c *JWTConfig) { c.JWKSURL = "" },
		func(c *JWTConfig) { c.JWKSFile = "/x.json" },
		func(c *JWTConfig) { c.JWKSURL = "http://as.example.org/jwks" }, // http off loopback
		func(c *JWTConfig) { c.JWKSURL = "http://127.evil.example/jwks" },
		func(c *JWTConfig) { c.Leeway = time.Hour },
	}
	for i, mutate := range bad {
		c := good
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("case %d: Validate() = nil, want an error", i)
		}
	}
}
