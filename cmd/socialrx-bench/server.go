package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is a `socialrx serve` process the bench started.
type server struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:port/fhir
	ops  string // http://127.0.0.1:port (healthz, readyz, metrics)
	log  string // its stdout and stderr
	done chan error
}

// startServer starts bin serve on free loopback ports with args added, and
// waits until /readyz answers 200 (or the process ends, or a minute
// passes).
func startServer(ctx context.Context, bin, logPath string, args ...string) (*server, error) {
	api, err := freePort()
	if err != nil {
		return nil, err
	}
	ops, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	all := append([]string{"serve", "--listen", api, "--ops-listen", ops}, args...)
	cmd := exec.Command(bin, all...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = filepath.Dir(logPath)
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &server{cmd: cmd, base: "http://" + api + "/fhir", ops: "http://" + ops, log: logPath, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait(); _ = logf.Close() }()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(s.ops + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("socialrx serve ended before it was ready (%v); its log: %s\n%s", err, logPath, tail(logPath))
		case <-ctx.Done():
			s.kill()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			return nil, fmt.Errorf("socialrx serve not ready after a minute; its log: %s\n%s", logPath, tail(logPath))
		}
	}
}

// stop asks the server to shut down (SIGTERM: it finishes in-flight work)
// and waits up to a minute.
func (s *server) stop() error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		return err
	case <-time.After(time.Minute):
		s.kill()
		return errors.New("socialrx serve did not stop within a minute of SIGTERM")
	}
}

func (s *server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// memory is the server process's resident set now and its peak so far,
// in bytes (Linux /proc; ok false elsewhere).
func (s *server) memory() (rss, peak int64, ok bool) {
	f, err := os.Open("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/status")
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, found := strings.Cut(sc.Text(), ":")
		if !found {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			rss = n << 10
		case "VmHWM":
			peak = n << 10
		}
	}
	return rss, peak, rss > 0
}

// freePort returns a loopback address with a port nobody listens on now.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// tail is the last lines of a log file, for an error message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-15):], "\n")
}

// findSocialrx returns the socialrx binary: path when given, else the one
// beside this binary, else the one on $PATH.
func findSocialrx(path string) (string, error) {
	if path != "" {
		return path, nil
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "socialrx")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath("socialrx")
	if err != nil {
		return "", errors.New("no socialrx binary beside socialrx-bench or on $PATH: build both (go build -o bin/ ./cmd/socialrx ./cmd/socialrx-bench) or name it with --socialrx")
	}
	return p, nil
}
