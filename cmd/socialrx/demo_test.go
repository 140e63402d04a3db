package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemo runs `socialrx demo` as the README shows it: the whole loop
// must close (it fails when a delivery or a write-back does not arrive).
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := (&DemoCmd{}).Run(ctx); err != nil {
		t.Fatalf("demo: %v", err)
	}
}

func TestLoadCredentials(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"endpoints":{"ocean-east":{"token_url":"https://h/oauth2/token","client_id":"c","client_secret":"SECRET-VALUE","inbound_bearer":"0123456789abcdef-in"},"emr":{}}}`)
	f, err := LoadCredentials(good)
	if err != nil {
		t.Fatalf("good file: %v", err)
	}
	if c, ok := f.Credentials("ocean-east"); !ok || c.ClientID != "c" {
		t.Errorf("Credentials(ocean-east) = %+v, %v", c, ok)
	}
	if _, ok := f.Credentials("nope"); ok {
		t.Error("Credentials(nope) found")
	}
	if id, ok := f.InboundEndpoint("0123456789abcdef-in"); !ok || id != "ocean-east" {
		t.Errorf("InboundEndpoint(good) = %q, %v", id, ok)
	}
	for _, tok := range []string{"", "0123456789abcdef", "0123456789abcdef-in-x"} {
		if id, ok := f.InboundEndpoint(tok); ok {
			t.Errorf("InboundEndpoint(%q) = %q, want none", tok, id)
		}
	}
	bad := []struct{ name, body, want string }{
		{"syntax.json", `{"endpoints":{`, "ends too early"},
		{"syntax2.json", `{"endpoints":{"x":}}`, "syntax error"},
		{"unknown.json", `{"endpoint":{}}`, `unknown field "endpoint"`},
		{"nosecret.json", `{"endpoints":{"x":{"token_url":"https://h/t","client_id":"c"}}}`, "no client_id or client_secret"},
		{"short.json", `{"endpoints":{"x":{"inbound_bearer":"short"}}}`, "at least 16"},
		{"shared.json", `{"endpoints":{"a":{"inbound_bearer":"0123456789abcdefXYZ"},"b":{"inbound_bearer":"0123456789abcdefXYZ"}}}`, "share an inbound_bearer"},
	}
	for _, c := range bad {
		_, err := LoadCredentials(write(c.name, c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "0123456789abcdefXYZ") {
			t.Errorf("%s: the error quotes a secret: %v", c.name, err)
		}
	}
	if _, err := LoadCredentials(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file: no error")
	}
}
