package main

import (
	"testing"
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
