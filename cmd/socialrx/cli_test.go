package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBinary compiles cmd/socialrx once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "socialrx")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped in -short mode")
	}
	bin := buildBinary(t)

	t.Run("help", func(t *testing.T) {
		out, err := exec.Command(bin, "--help").CombinedOutput()
		if err != nil {
			t.Fatalf("--help: %v\n%s", err, out)
		}
		for _, want := range []string{"serve", "migrate", "version", "SOCIALRX_"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("--help does not mention %q:\n%s", want, out)
			}
		}
		out, _ = exec.Command(bin, "serve", "--help").CombinedOutput()
		for _, want := range []string{"--listen", "SOCIALRX_LISTEN", "--database", "SOCIALRX_DATABASE", "127.0.0.1:8080",
			"--allowed-hosts", "421 Misdirected Request", "--request-timeout", "--insecure-no-auth"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("serve --help does not mention %q:\n%s", want, out)
			}
		}
		// demo runs the follow-up too (audit of issue 14, finding 7).
		out, _ = exec.Command(bin, "demo", "--help").CombinedOutput()
		for _, want := range []string{"hand-off", "follow-up", "reminder email", "program report"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("demo --help does not mention %q:\n%s", want, out)
			}
		}
	})

	// A read-only command on a mistyped database: exit status 1, the path
	// named, nothing created (audit of issue 14, finding 3).
	t.Run("report on a missing database", func(t *testing.T) {
		typo := filepath.Join(t.TempDir(), "typo.db")
		out, err := exec.Command(bin, "report", "programs", "--from", "2026-11-01", "--to", "2026-12-31", "--database", "sqlite:"+typo).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), typo) || !strings.Contains(string(out), "does not exist") {
			t.Errorf("report programs on %s: %v\n%s", typo, err, out)
		}
		if _, err := os.Stat(typo); !os.IsNotExist(err) {
			t.Errorf("%s was created: %v", typo, err)
		}
	})

	t.Run("version", func(t *testing.T) {
		out, err := exec.Command(bin, "version").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "socialrx ") {
			t.Errorf("version: %v %q", err, out)
		}
	})

	t.Run("bad flag", func(t *testing.T) {
		cmd := exec.Command(bin, "serve", "--database", "mysql://x/y")
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("serve with a mysql URL succeeded:\n%s", out)
		}
		if !strings.Contains(string(out), "unknown scheme") {
			t.Errorf("error does not explain the scheme:\n%s", out)
		}
	})

	t.Run("non-loopback listen refused without --insecure-no-auth", func(t *testing.T) {
		cmd := exec.Command(bin, "serve", "--listen", "0.0.0.0:0", "--database", "sqlite:"+filepath.Join(t.TempDir(), "x.db"))
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("serve --listen 0.0.0.0:0 started:\n%s", out)
		}
		if !strings.Contains(string(out), "--insecure-no-auth") {
			t.Errorf("the refusal does not name --insecure-no-auth:\n%s", out)
		}
	})

	t.Run("non-loopback listen with --insecure-no-auth warns and serves", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		srv := exec.CommandContext(ctx, bin, "serve", "--listen", "0.0.0.0:0", "--insecure-no-auth", "--workers", "0",
			"--database", "sqlite:"+filepath.Join(t.TempDir(), "x.db"))
		stderr, _ := srv.StderrPipe()
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		defer srv.Wait()
		defer srv.Process.Signal(syscall.SIGTERM)
		sc := bufio.NewScanner(stderr)
		warned, serving := false, false
		for !serving && sc.Scan() {
			line := sc.Text()
			warned = warned || strings.Contains(line, "level=WARN") && strings.Contains(line, "no authentication")
			serving = strings.Contains(line, "socialrx serving")
		}
		go io.Copy(io.Discard, stderr)
		if !serving || !warned {
			t.Errorf("serving %v, warned %v; want a warning, then serving", serving, warned)
		}
	})

	t.Run("migrate then serve from env, SIGTERM stops it", func(t *testing.T) {
		dir := t.TempDir()
		env := append(os.Environ(), "SOCIALRX_DATABASE=sqlite:"+filepath.Join(dir, "db", "x.db"), "SOCIALRX_LISTEN=127.0.0.1:0")
		mig := exec.Command(bin, "migrate")
		mig.Env = env
		if out, err := mig.CombinedOutput(); err != nil {
			t.Fatalf("migrate: %v\n%s", err, out)
		} else if !strings.Contains(string(out), "schema version") {
			t.Errorf("migrate output: %s", out)
		}

		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		srv := exec.CommandContext(ctx, bin, "serve")
		srv.Env = env
		stderr, _ := srv.StderrPipe()
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		urlRe := regexp.MustCompile(`url=(http://\S+)/fhir`)
		sc := bufio.NewScanner(stderr)
		var base string
		for sc.Scan() {
			if m := urlRe.FindStringSubmatch(sc.Text()); m != nil {
				base = m[1]
				break
			}
		}
		if base == "" {
			srv.Process.Kill()
			t.Fatal("serve never logged its url")
		}
		go io.Copy(io.Discard, stderr)
		resp, err := http.Get(base + "/fhir/metadata")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /fhir/metadata: %d", resp.StatusCode)
		}
		if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := srv.Wait(); err != nil {
			t.Errorf("serve did not exit cleanly on SIGTERM: %v", err)
		}
	})
}
