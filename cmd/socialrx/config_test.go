package main

import (
	"os"
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
		func(c *Config) { c.BaseURL = "ftp://x" },
		func(c *Config) { c.MaxBundleEntries = 0 },
		func(c *Config) { c.MaxResponseBytes = 10 },
		func(c *Config) { c.MaxSearchParams = 51 },
		func(c *Config) { c.MaxSearchValues = 4 },
		func(c *Config) { c.LogLevel = "loud" },
		func(c *Config) { c.LogFormat = "xml" },
	}
	for i, mutate := range bad {
		c := DefaultConfig()
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("case %d: Validate() = nil, want an error", i)
		}
	}
}

// TestFlagDefaults: the flags of `socialrx serve`, given nothing on the
// command line or in the environment, are DefaultConfig's values, and so is
// the Config they make. Their defaults come from DefaultConfig (cliVars);
// this keeps a literal default from creeping back into a struct tag.
func TestFlagDefaults(t *testing.T) {
	clearEnv(t)
	var cli CLI
	p, err := kong.New(&cli, cliVars(DefaultConfig()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Parse([]string{"serve"}); err != nil {
		t.Fatal(err)
	}
	d := DefaultConfig()
	want := ServeCmd{
		Listen:          d.Listen,
		BaseURL:         d.BaseURL,
		MaxBodyBytes:    d.MaxBodyBytes,
		ShutdownTimeout: d.ShutdownTimeout,
		AutoMigrate:     d.AutoMigrate,
		Credentials:     d.Credentials,
		EMREndpoint:     d.EMREndpoint,
		Workers:         d.Workers,
		RetryBase:       d.RetryBase,
		JobTimeout:      d.JobTimeout,
		HTTPTimeout:     d.HTTPTimeout,
		PollEvery:       d.PollEvery,
		DatabaseFlag:    DatabaseFlag{Database: d.Database},
		LogFlags:        LogFlags{LogLevel: d.LogLevel, LogFormat: d.LogFormat},

		MaxBundleEntries: d.MaxBundleEntries,
		MaxResponseBytes: d.MaxResponseBytes,
		MaxSearchParams:  d.MaxSearchParams,
		MaxSearchValues:  d.MaxSearchValues,
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
