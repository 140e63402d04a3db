//go:build unix

package main

// Child processes for the fault tests (crash_test.go): the socialrx binary,
// built once per package run, started with SOCIALRX_* settings, stopped with
// SIGTERM (SIGKILL after 20 s), never left running.

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// childProc is a `socialrx serve` child process.
type childProc struct {
	t       *testing.T
	name    string
	url     string // http://127.0.0.1:port
	logPath string // its stdout and stderr
	cmd     *exec.Cmd
	done    chan struct{} // closed once it has exited; then err is its exit status
	err     error
}

// startChild runs `socialrx serve` with the SOCIALRX_* settings in vars on a
// free loopback port and waits until /readyz answers 200. When t ends the
// child is stopped with SIGTERM (SIGKILL if it does not stop within 20 s)
// and, if t failed, the tail of its log is printed.
func startChild(t *testing.T, name string, vars ...string) *childProc {
	t.Helper()
	bin := socialrxBinary(t)
	for attempt := 1; ; attempt++ {
		c := &childProc{t: t, name: name, done: make(chan struct{})}
		port := freePort(t)
		c.url = "http://127.0.0.1:" + strconv.Itoa(port)
		c.logPath = filepath.Join(t.TempDir(), name+".log")
		logFile, err := os.Create(c.logPath)
		if err != nil {
			t.Fatal(err)
		}
		c.cmd = exec.Command(bin, "serve")
		c.cmd.Env = childEnv(append(append([]string{"SOCIALRX_LINK_KEY_FILE=" + filepath.Join(t.TempDir(), "link.key")}, vars...), "SOCIALRX_LISTEN=127.0.0.1:"+strconv.Itoa(port), "SOCIALRX_SHUTDOWN_TIMEOUT=5s")...)
		c.cmd.Stdout, c.cmd.Stderr = logFile, logFile
		c.cmd.SysProcAttr = dieWithParent()
		if err := c.cmd.Start(); err != nil {
			logFile.Close()
			t.Fatalf("start %s: %v", name, err)
		}
		go func() {
			c.err = c.cmd.Wait()
			logFile.Close()
			close(c.done)
		}()
		t.Cleanup(func() {
			c.stop()
			if t.Failed() {
				t.Logf("%s log, last lines:\n%s", c.name, lastLines([]byte(c.logText()), 40))
			}
		})
		err = c.waitReady(30 * time.Second)
		if err == nil {
			return c
		}
		if attempt < 3 && strings.Contains(c.logText(), "address already in use") {
			continue // another process took the port between freePort and listen
		}
		t.Fatalf("%s: %v\n%s", name, err, lastLines([]byte(c.logText()), 40))
	}
}

// waitReady polls /readyz until it answers 200, once the child has logged
// that it serves (it logs so only after its listen succeeded): a /readyz
// alone may be another process's, one that took the port between freePort
// and the child's listen (seen in CI: another test's server answered for a
// child that had exited with "address already in use").
func (c *childProc) waitReady(timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-c.done:
			return fmt.Errorf("exited before it was ready: %v", c.err)
		default:
		}
		if !strings.Contains(c.logText(), `msg="socialrx serving"`) {
			if time.Now().After(deadline) {
				return fmt.Errorf("not serving after %s", timeout)
			}
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if resp, err := client.Get(c.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the child with SIGKILL, as a crash would, and waits for it.
func (c *childProc) kill() {
	c.t.Helper()
	if err := c.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		c.t.Fatalf("kill %s: %v", c.name, err)
	}
	<-c.done
}

// stop ends the child with SIGTERM and waits for it to exit cleanly; one
// still running after 20 s is killed. A child already gone is left alone.
func (c *childProc) stop() {
	c.t.Helper()
	select {
	case <-c.done:
		return
	default:
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		c.t.Errorf("SIGTERM %s: %v", c.name, err)
	}
	select {
	case <-c.done:
		if c.err != nil {
			c.t.Errorf("%s did not exit cleanly on SIGTERM: %v", c.name, c.err)
		}
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
		c.t.Errorf("%s still running 20 s after SIGTERM; killed", c.name)
	}
}

func (c *childProc) logText() string {
	b, _ := os.ReadFile(c.logPath)
	return string(b)
}

// dieWithParent asks Linux to SIGKILL the child if the test process dies
// first (a panic or go test's -timeout skip t.Cleanup). Pdeathsig exists
// only on Linux, hence the reflection; elsewhere t.Cleanup is the guard.
func dieWithParent() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{}
	if f := reflect.ValueOf(attr).Elem().FieldByName("Pdeathsig"); f.IsValid() && f.CanSet() {
		f.SetInt(int64(syscall.SIGKILL))
	}
	return attr
}

// childEnv is this process's environment without any SOCIALRX_* setting,
// plus vars: a child sees only what its test gives it.
func childEnv(vars ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SOCIALRX_") {
			env = append(env, kv)
		}
	}
	return append(env, vars...)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// crashBinary is the socialrx binary, built once per run of the package's
// tests into a directory named after this process.
var crashBinary struct {
	once sync.Once
	path string
	err  error
}

// socialrxBinary builds cmd/socialrx once and returns the binary's path.
// The directory outlives the tests (a test file gets no hook after the last
// test, and TestMain is shared), so each run first removes those of runs
// whose process is gone.
func socialrxBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the socialrx binary; skipped in -short mode")
	}
	crashBinary.once.Do(func() {
		removeStaleBinaries()
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("socialrx-crashtest-%d", os.Getpid()))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			crashBinary.err = err
			return
		}
		wd, err := os.Getwd() // go test runs in the package directory
		if err != nil {
			crashBinary.err = err
			return
		}
		bin := filepath.Join(dir, "socialrx")
		cmd := exec.Command("go", "build", "-o", bin, ".")
		cmd.Dir = wd
		if out, err := cmd.CombinedOutput(); err != nil {
			crashBinary.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		crashBinary.path = bin
	})
	if crashBinary.err != nil {
		t.Fatal(crashBinary.err)
	}
	return crashBinary.path
}

func removeStaleBinaries() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "socialrx-crashtest-*"))
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), "socialrx-crashtest-"))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(d)
		}
	}
}
