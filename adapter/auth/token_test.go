package auth

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/auth/authtest"
)

func TestTokenFile(t *testing.T) {
	tok1, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	tok2, _ := NewToken()
	if !strings.HasPrefix(tok1, TokenPrefix) || len(tok1) != len(TokenPrefix)+43 || tok1 == tok2 {
		t.Fatalf("NewToken = %q, %q: want two different srx_ + 43 characters", tok1, tok2)
	}
	line1, err := TokenLine("ehr-sync", tok1, "system/*.rs system/Task.cu")
	if err != nil {
		t.Fatal(err)
	}
	line2, _ := TokenLine("analytics", tok2, "system/Patient.read")
	if strings.Contains(line1, tok1) {
		t.Fatalf("the file line holds the token itself: %s", line1)
	}
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte("# static API tokens\n\n"+line1+"\n"+line2+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tf, err := LoadTokenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a := &Authenticator{Tokens: tf}
	p, err := a.Authenticate(context.Background(), tok1)
	if err != nil || p.ClientID != "token.ehr-sync" {
		t.Fatalf("token 1: %+v, %v; want token.ehr-sync", p, err)
	}
	if !p.Permits(socialrx.InteractionSearch, "Patient") || !p.Permits(socialrx.InteractionUpdate, "Task") || p.Permits(socialrx.InteractionCreate, "Patient") {
		t.Errorf("token 1's access does not follow its scopes")
	}
	if p, err := a.Authenticate(context.Background(), tok2); err != nil || p.ClientID != "token.analytics" {
		t.Errorf("token 2: %+v, %v; want token.analytics", p, err)
	}
	for _, bad := range []string{"", tok1 + "x", tok1[:len(tok1)-1], strings.ToUpper(tok1), "sha256:" + strings.Fields(line1)[1]} {
		if p, err := a.Authenticate(context.Background(), bad); err == nil || socialrx.ErrorCode(err) != socialrx.EUNAUTHORIZED {
			t.Errorf("token %q: %+v, %v; want EUNAUTHORIZED", bad, p, err)
		}
	}
}

func TestParseTokenFileRefuses(t *testing.T) {
	h := "sha256:" + strings.Repeat("ab", 32)
	h2 := "sha256:" + strings.Repeat("cd", 32)
	tests := map[string]string{
		"empty":          "# nothing\n",
		"missing scopes": "a " + h + "\n",
		"token not hash": "a srx_abc system/*.rs\n",
		"short hash":     "a sha256:abcd system/*.rs\n",
		"bad name":       "a/b " + h + " system/*.rs\n",
		"bad scope":      "a " + h + " system/*.rs patient/*.read\n",
		"granular scope": "a " + h + " system/Task.rs?status=ready\n",
		"duplicate name": "a " + h + " system/*.rs\na " + h2 + " system/*.rs\n",
		"duplicate hash": "a " + h + " system/*.rs\nb " + h + " system/*.rs\n",
	}
	for name, text := range tests {
		if _, err := ParseTokenFile([]byte(text)); err == nil {
			t.Errorf("%s: ParseTokenFile = nil error, want one", name)
		}
	}
	if _, err := ParseTokenFile([]byte("a " + h + " system/*.rs\n")); err != nil {
		t.Errorf("good file: %v", err)
	}
}

func TestTokenLineRefuses(t *testing.T) {
	if _, err := TokenLine("a b", "srx_x", "system/*.rs"); err == nil {
		t.Error("name with a space accepted")
	}
	if _, err := TokenLine("a", "srx_x", "patient/*.rs"); err == nil {
		t.Error("patient/ scope accepted")
	}
}

// TestAuthenticatorBoth: with a token file and a JWT verifier, each kind
// of token authenticates; neither configured lets nothing in.
func TestAuthenticatorBoth(t *testing.T) {
	as := authtest.New(t)
	v, err := NewJWTVerifier(JWTConfig{Issuer: as.Issuer, Audience: testAudience, JWKSURL: as.JWKSURL})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := NewToken()
	line, _ := TokenLine("clinic", tok, "system/*.rs")
	tf, err := ParseTokenFile([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	a := &Authenticator{Tokens: tf, JWT: v}
	ctx := context.Background()
	if p, err := a.Authenticate(ctx, tok); err != nil || p.ClientID != "token.clinic" {
		t.Errorf("static token: %+v, %v; want client token.clinic", p, err)
	}
	if p, err := a.Authenticate(ctx, as.Token(t, testAudience, "etl", "system/*.rs")); err != nil || p.ClientID != "etl" {
		t.Errorf("JWT: %+v, %v", p, err)
	}
	// A JWT whose client id is the static token's name is another client.
	if p, err := a.Authenticate(ctx, as.Token(t, testAudience, "clinic", "system/*.rs")); err != nil || p.ClientID != "clinic" {
		t.Errorf("JWT of client clinic: %+v, %v; want client clinic, not the static token's", p, err)
	}
	if _, err := (&Authenticator{}).Authenticate(ctx, "x.y.z"); socialrx.ErrorCode(err) != socialrx.EUNAUTHORIZED {
		t.Errorf("no token source: %v, want EUNAUTHORIZED", err)
	}
}
