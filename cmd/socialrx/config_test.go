package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
	"github.com/google/go-cmp/cmp"
)

func TestParseDatabase(t *testing.T) {
	tests := []struct {
		in, kind, target string
		wantErr          bool
	}{
		{in: DefaultDatabase, kind: KindSQLite, target: "socialrx-data/socialrx.db"},
		{in: "sqlite:/var/lib/x.db", kind: KindSQLite, target: "/var/lib/x.db"},
		{in: "sqlite:///var/lib/x.db", kind: KindSQLite, target: "/var/lib/x.db"},
		{in: "data/x.db", kind: KindSQLite, target: "data/x.db"},
		{in: "postgres://u:p@h/db", kind: KindPostgres, target: "postgres://u:p@h/db"},
		{in: "postgresql://h/db?sslmode=disable", kind: KindPostgres, target: "postgresql://h/db?sslmode=disable"},
		{in: "mysql://h/db", wantErr: true},
		{in: "sqlite:", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		kind, target, err := ParseDatabase(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseDatabase(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if kind != tt.kind || target != tt.target {
			t.Errorf("ParseDatabase(%q) = %q, %q; want %q, %q", tt.in, kind, target, tt.kind, tt.target)
		}
	}
}

func TestRedactDSN(t *testing.T) {
	if got, want := redactDSN("postgres://app:s3cret@db:5432/x"), "postgres://app:xxxxx@db:5432/x"; got != want {
		t.Errorf("redactDSN = %q, want %q", got, want)
	}
	if got, want := redactDSN("postgres://db/x"), "postgres://db/x"; got != want {
		t.Errorf("redactDSN = %q, want %q", got, want)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v, want nil", err)
	}
	bad := []func(*Config){
		func(c *Config) { c.Listen = "8080" },
		func(c *Config) { c.Database = "mysql://x" },
		func(c *Config) { c.MaxBodyBytes = 10 },
		func(c *Config) { c.MaxBodyBytes = 1 << 28 },
		func(c *Config) { c.BaseURL = "ftp://x" },
		func(c *Config) { c.MaxBundleEntries = 0 },
		func(c *Config) { c.MaxResponseBytes = 10 },
		func(c *Config) { c.MaxSearchParams = 51 },
		func(c *Config) { c.MaxSearchValues = 4 },
		func(c *Config) { c.LogLevel = "loud" },
		func(c *Config) { c.LogFormat = "xml" },
		func(c *Config) { c.Listen = "0.0.0.0:8080" },
		func(c *Config) { c.Listen = ":8080" },
		func(c *Config) { c.Listen = "10.1.2.3:8080" },
		func(c *Config) { c.Listen = "rx.example.org:8080" },
		func(c *Config) { c.RequestTimeout = 0 },
		func(c *Config) { c.AllowedHosts = []string{"https://rx.example.org"} },
		func(c *Config) { c.AuthJWKSURL = "https://as.example.org/jwks" }, // no issuer
		func(c *Config) {
			c.AuthIssuer = "https://as.example.org"
			c.AuthJWKSURL = "https://as.example.org/jwks"
		}, // no audience nor base URL
		func(c *Config) { c.AuthIssuer = "https://as.example.org"; c.AuthAudience = "https://rx/fhir" }, // no JWKS
		func(c *Config) {
			c.AuthIssuer, c.AuthAudience, c.AuthJWKSURL = "https://as.example.org", "https://rx/fhir", "http://as.example.org/jwks" // http off loopback
		},
		func(c *Config) { c.OpsListen = "9090" },
		func(c *Config) { c.BusyDeliveryRate = -1 },
		func(c *Config) { c.BusyDeliveryRate = math.NaN() },
		func(c *Config) { c.BusyDeliveryRate = math.Inf(1) },
		func(c *Config) { c.BusyDeliveryRate = 0.001 }, // under one a minute
	}
	for i, mutate := range bad {
		c := DefaultConfig()
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("case %d: Validate() = nil, want an error", i)
		}
	}
	good := []func(*Config){
		func(c *Config) { c.Listen = "0.0.0.0:8080"; c.InsecureNoAuth = true },
		func(c *Config) { c.Listen = "localhost:8080" },
		func(c *Config) { c.Listen = "[::1]:8080" },
		func(c *Config) { c.AllowedHosts = []string{"rx.example.org", "10.0.0.5:8080"} },
		// With authentication, any listen address.
		func(c *Config) { c.Listen = "0.0.0.0:8080"; c.APITokenFile = "/etc/socialrx/tokens" },
		func(c *Config) {
			c.Listen, c.AuthIssuer, c.AuthJWKSURL, c.BaseURL = ":8080", "https://as.example.org", "https://as.example.org/jwks", "https://rx.example.org/fhir"
		},
		func(c *Config) { c.OpsListen = "10.0.0.5:9090" },
	}
	for i, mutate := range good {
		c := DefaultConfig()
		mutate(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("good case %d: Validate() = %v, want nil", i, err)
		}
	}
}

// TestNonLoopbackRefused: the message says why and names the flag that
// allows it.
func TestNonLoopbackRefused(t *testing.T) {
	c := DefaultConfig()
	c.Listen = "0.0.0.0:8080"
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "--insecure-no-auth") || !strings.Contains(err.Error(), "no authentication") {
		t.Errorf("Validate() = %v, want an error naming --insecure-no-auth", err)
	}
}

func TestLoopbackListen(t *testing.T) {
	tests := []struct {
		listen string
		want   bool
	}{
		{"127.0.0.1:8080", true},
		{"127.0.0.2:0", true},
		{"localhost:8080", true},
		{"LOCALHOST:8080", true},
		{"[::1]:8080", true},
		{"0.0.0.0:8080", false},
		{":8080", false},
		{"[::]:8080", false},
		{"192.168.1.10:8080", false},
		{"rx.example.org:8080", false},
		{"8080", false},
	}
	for _, tt := range tests {
		if got := LoopbackListen(tt.listen); got != tt.want {
			t.Errorf("LoopbackListen(%q) = %v, want %v", tt.listen, got, tt.want)
		}
	}
}

// TestLoopbackListenResolves: a localhost name counts only when it
// resolves to loopback addresses only (/etc/hosts may map one elsewhere).
func TestLoopbackListenResolves(t *testing.T) {
	hosts := map[string][]string{
		"localhost":         {"127.0.0.1", "::1"},
		"app.localhost":     {"127.0.0.1"},
		"lan.localhost":     {"192.168.1.10"},
		"mixed.localhost":   {"127.0.0.1", "10.0.0.7"},
		"empty.localhost":   {},
		"rx.example.org":    {"127.0.0.1"}, // not a localhost name: not trusted however it resolves
		"fails.localhost":   nil,
		"notanip.localhost": {"not-an-ip"},
	}
	lookup := func(_ context.Context, host string) ([]string, error) {
		addrs, ok := hosts[host]
		if !ok || addrs == nil {
			return nil, errors.New("no such host")
		}
		return addrs, nil
	}
	for listen, want := range map[string]bool{
		"localhost:8080":         true,
		"app.localhost:8080":     true,
		"lan.localhost:8080":     false,
		"mixed.localhost:8080":   false,
		"empty.localhost:8080":   false,
		"fails.localhost:8080":   false,
		"notanip.localhost:8080": false,
		"rx.example.org:8080":    false,
		"127.0.0.1:8080":         true, // literal: not looked up
		"[::1]:8080":             true,
	} {
		if got := loopbackListen(t.Context(), listen, lookup); got != want {
			t.Errorf("loopbackListen(%q) = %v, want %v", listen, got, want)
		}
	}
}

// TestServerTimeouts: the server's write timeout outlasts the request
// deadline (the 503 of a request that ran out of time can still be sent),
// and its read timeout covers the header and the deadline.
func TestServerTimeouts(t *testing.T) {
	for _, rt := range []time.Duration{time.Second, DefaultConfig().RequestTimeout, 10 * time.Minute} {
		c := DefaultConfig()
		c.RequestTimeout = rt
		readHeader, read, write, idle := c.ServerTimeouts()
		if readHeader <= 0 || idle <= 0 || read < readHeader+rt || write < read+10*time.Second {
			t.Errorf("request timeout %s: read header %s, read %s, write %s, idle %s; want read >= header + request timeout and write >= read + 10s",
				rt, readHeader, read, write, idle)
		}
	}
}

// TestFlagDefaults: the flags of `socialrx serve`, given nothing on the
// command line or in the environment, are DefaultConfig's values, and so is
// the Config they make. Their defaults come from DefaultConfig (cliVars);
// this keeps a literal default from creeping back into a struct tag.
func TestFlagDefaults(t *testing.T) {
	cli, _ := parseServe(t)
	d := DefaultConfig()
	want := ServeCmd{
		Listen:           d.Listen,
		BaseURL:          d.BaseURL,
		AllowedHosts:     d.AllowedHosts,
		MaxBodyBytes:     d.MaxBodyBytes,
		MaxBundleEntries: d.MaxBundleEntries,
		MaxResponseBytes: d.MaxResponseBytes,
		MaxSearchParams:  d.MaxSearchParams,
		MaxSearchValues:  d.MaxSearchValues,
		RequestTimeout:   d.RequestTimeout,
		InsecureNoAuth:   d.InsecureNoAuth,
		ShutdownTimeout:  d.ShutdownTimeout,
		AutoMigrate:      d.AutoMigrate,
		Credentials:      d.Credentials,
		EMREndpoint:      d.EMREndpoint,
		RequireConsent:   d.RequireConsent,
		Audit:            d.Audit,
		Workers:          d.Workers,
		BusyDeliveryRate: d.BusyDeliveryRate,
		RetryBase:        d.RetryBase,
		JobTimeout:       d.JobTimeout,
		HTTPTimeout:      d.HTTPTimeout,
		PollEvery:        d.PollEvery,
		ExportDir:        d.ExportDir,
		ExportExpiry:     d.ExportExpiry,
		LinkTTL:          d.LinkTTL,
		StaleAfter:       d.ProgramStaleAfter,
		TZ:               d.ReportZone,

		FollowUpEscalateAfter: d.FollowUpEscalateAfter,
		DatabaseFlag:          DatabaseFlag{Database: d.Database},
		LogFlags:              LogFlags{LogLevel: d.LogLevel, LogFormat: d.LogFormat},
	}
	if diff := cmp.Diff(want, cli.Serve); diff != "" {
		t.Errorf("serve flags with nothing given (-DefaultConfig +parsed):\n%s", diff)
	}
	if diff := cmp.Diff(d, cli.Serve.Config()); diff != "" {
		t.Errorf("Config of serve with nothing given (-DefaultConfig +parsed):\n%s", diff)
	}
}

// TestFlagDefaultsInHelp: each default `serve --help` shows is the one
// the README's configuration table gives for that flag.
func TestFlagDefaultsInHelp(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var cli CLI
	p, err := kong.New(&cli, cliVars(DefaultConfig()))
	if err != nil {
		t.Fatal(err)
	}
	var serve *kong.Node
	for _, n := range p.Model.Children {
		if n.Name == "serve" {
			serve = n
		}
	}
	if serve == nil {
		t.Fatal("no serve command")
	}
	checked := 0
	for _, f := range serve.Flags {
		if f.Default == "" {
			continue // no default: the README says what empty means
		}
		row := "| `--" + f.Name + "` | `" + f.Tag.Envs[0] + "` | `" + f.Default + "`"
		if !strings.Contains(string(readme), row) {
			t.Errorf("README.md has no row starting %q: --%s defaults to %q", row, f.Name, f.Default)
		}
		checked++
	}
	if checked < 10 {
		t.Errorf("checked %d flags with defaults, want all of serve's (at least 10)", checked)
	}
}

// parseServe parses `socialrx serve` with nothing on the command line or in
// the environment.
func parseServe(t *testing.T) (*CLI, *kong.Kong) {
	t.Helper()
	clearEnv(t)
	var cli CLI
	p, err := kong.New(&cli, cliVars(DefaultConfig()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Parse([]string{"serve"}); err != nil {
		t.Fatal(err)
	}
	return &cli, p
}

// clearEnv unsets the SOCIALRX_* variables for the test.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "SOCIALRX_") {
			t.Setenv(k, "") // restored after the test
			os.Unsetenv(k)
		}
	}
}

func TestShortDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{2 * time.Second, "2s"},
		{2 * time.Minute, "2m"},
		{90 * time.Second, "1m30s"},
		{time.Hour, "1h"},
		{72 * time.Hour, "72h"},
		{time.Hour + time.Minute, "1h1m"},
		{time.Hour + time.Second, "1h0m1s"},
		{500 * time.Millisecond, "500ms"},
		{0, "0s"},
	}
	for _, tt := range tests {
		got := shortDuration(tt.d)
		if got != tt.want {
			t.Errorf("shortDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
		if back, err := time.ParseDuration(got); err != nil || back != tt.d {
			t.Errorf("time.ParseDuration(%q) = %v, %v; want %v", got, back, err, tt.d)
		}
	}
}

// TestDebugAddr: the profiler listens on loopback only, and serves pprof
// there when asked.
func TestDebugAddr(t *testing.T) {
	for addr, ok := range map[string]bool{"": true, "127.0.0.1:0": true, "localhost:6060": true, "[::1]:6060": true,
		"0.0.0.0:6060": false, "10.1.2.3:6060": false, ":6060": false, "nonsense": false} {
		cfg := DefaultConfig()
		cfg.DebugAddr = addr
		if err := cfg.Validate(); (err == nil) != ok {
			t.Errorf("--debug-addr %q: Validate() = %v, want ok %v", addr, err, ok)
		}
	}
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Database = sqliteDatabase(t)
	cfg.Workers = 0
	cfg.DebugAddr = "127.0.0.1:0"
	m := NewMain(cfg, nil)
	if err := m.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	resp, err := http.Get("http://" + m.debugLn.Addr().String() + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /debug/pprof/cmdline: %d, want 200", resp.StatusCode)
	}
	if resp, _ := do(t, http.MethodGet, m.URL()+"/debug/pprof/cmdline", nil); resp.StatusCode == http.StatusOK {
		t.Error("the profiler answers on the API's address too")
	}
	// Only a loopback Host is answered: a page whose name was rebound to
	// 127.0.0.1 (DNS rebinding) carries its own name in Host.
	_, port, _ := net.SplitHostPort(m.debugLn.Addr().String())
	for host, want := range map[string]int{
		"127.0.0.1:" + port: http.StatusOK, "localhost:" + port: http.StatusOK, "[::1]:" + port: http.StatusOK,
		"127.1.2.3:" + port: http.StatusOK, "localhost": http.StatusOK, "LocalHost.:" + port: http.StatusOK, // as the API reads Host
		"evil.example:" + port: http.StatusMisdirectedRequest, "evil.example": http.StatusMisdirectedRequest,
		"10.1.2.3:" + port: http.StatusMisdirectedRequest, "localhost.evil.example:" + port: http.StatusMisdirectedRequest,
	} {
		req, err := http.NewRequest(http.MethodGet, "http://"+m.debugLn.Addr().String()+"/debug/pprof/cmdline", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET /debug/pprof/cmdline with Host %q: %d, want %d", host, resp.StatusCode, want)
		}
		if want != http.StatusOK && bytes.Contains(body, []byte(os.Args[0])) {
			t.Errorf("Host %q: the answer carries the command line: %q", host, body)
		}
	}
}

// TestServeFlagsReachConfig: every flag of `socialrx serve` changes the
// Config it makes when given a value other than its default (a flag that
// ServeCmd.Config forgets to copy is accepted and then silently ignored:
// --export-dir and --export-expiry once were), and every flag the
// README's configuration table names exists with the environment
// variable beside it.
func TestServeFlagsReachConfig(t *testing.T) {
	cli, p := parseServe(t)
	base := cli.Serve
	baseCfg := base.Config()
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		for i := 0; i < v.NumField(); i++ {
			f, ft := v.Field(i), v.Type().Field(i)
			if ft.Anonymous {
				walk(f, path+ft.Name+".")
				continue
			}
			old := reflect.ValueOf(f.Interface())
			switch f.Kind() {
			case reflect.String:
				if ft.Tag.Get("enum") != "" {
					for _, e := range strings.Split(ft.Tag.Get("enum"), ",") {
						if e != f.String() {
							f.SetString(e)
							break
						}
					}
				} else {
					f.SetString(f.String() + "x")
				}
			case reflect.Bool:
				f.SetBool(!f.Bool())
			case reflect.Int, reflect.Int64:
				f.SetInt(f.Int() + 1)
			case reflect.Float64:
				f.SetFloat(f.Float() + 1)
			case reflect.Slice:
				f.Set(reflect.Append(f, reflect.ValueOf("x.example")))
			default:
				t.Fatalf("%s%s: a flag of kind %s; teach this test to change it", path, ft.Name, f.Kind())
			}
			if cmp.Equal(baseCfg, cli.Serve.Config()) {
				t.Errorf("serve flag %s%s changes nothing in Config: ServeCmd.Config does not copy it", path, ft.Name)
			}
			f.Set(old)
		}
	}
	walk(reflect.ValueOf(&cli.Serve).Elem(), "")

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string]string{} // name -> env
	for _, n := range p.Model.Children {
		if n.Name == "serve" {
			for _, f := range n.Flags {
				if len(f.Tag.Envs) > 0 {
					flags[f.Name] = f.Tag.Envs[0]
				}
			}
		}
	}
	rows := regexp.MustCompile("(?m)^\\| `--([a-z0-9-]+)` \\| `([A-Z0-9_]+)` \\|").FindAllStringSubmatch(string(readme), -1)
	if len(rows) < 30 {
		t.Fatalf("found %d rows in the README's configuration table, want all of them (30 or more)", len(rows))
	}
	for _, r := range rows {
		env, ok := flags[r[1]]
		if !ok {
			t.Errorf("README names --%s, which serve does not have", r[1])
		} else if env != r[2] {
			t.Errorf("README gives --%s the variable %s; serve reads %s", r[1], r[2], env)
		}
	}
}

// TestBoundLoopback: serve and the profiler check what they bound, not only
// the name they were given.
func TestBoundLoopback(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want bool
	}{{"127.0.0.1:0", true}, {"127.0.0.2:0", true}, {"0.0.0.0:0", false}, {"[::]:0", false}} {
		ln, err := net.Listen("tcp", tc.addr)
		if err != nil {
			t.Logf("%s: %v (not tested here)", tc.addr, err)
			continue
		}
		if got := boundLoopback(ln.Addr()); got != tc.want {
			t.Errorf("boundLoopback(%s) = %v, want %v", ln.Addr(), got, tc.want)
		}
		ln.Close()
	}
	if boundLoopback(&net.UnixAddr{Name: "/tmp/x", Net: "unix"}) {
		t.Error("a unix socket address taken for loopback TCP")
	}
}
