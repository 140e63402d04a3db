// Package pgtest starts a throwaway PostgreSQL cluster for the tests of one
// package and hands out one fresh database per test.
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
//	func TestX(t *testing.T) {
//		dsn := pgtest.NewDatabase(t) // skips when PostgreSQL is not installed
//		...
//	}
//
// Binaries come from $SOCIALRX_PG_BIN, else the newest
// /usr/lib/postgresql/*/bin. As root, initdb and pg_ctl run as user postgres
// (runuser) in an os.MkdirTemp directory chowned to it. The cluster is tuned
// for speed, not durability (fsync, synchronous_commit and full_page_writes
// off). Without binaries, NewDatabase skips the test, or fails it when
// SOCIALRX_REQUIRE_PG=1. $SOCIALRX_PGTEST_OPTS is appended to the server's
// options, to measure with them (docs/performance.md: "-c
// log_min_duration_statement=0 -c logging_collector=on -c
// log_directory=/tmp/pglog" keeps a log of every statement).
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a running throwaway PostgreSQL.
type Cluster struct {
	dir    string
	bin    string
	port   int
	asUser string // "postgres" when run through runuser
}

var (
	mu       sync.Mutex
	started  *Cluster
	startErr error
	dbSeq    atomic.Int64
)

// Main is for TestMain: it runs the package's tests and stops the cluster
// (if a test started one) afterwards, also when a test panics. It returns
// the exit code for os.Exit.
func Main(m *testing.M) (code int) {
	defer func() {
		mu.Lock()
		c := started
		started = nil
		mu.Unlock()
		if c != nil {
			c.Stop()
		}
		if p := recover(); p != nil {
			panic(p)
		}
	}()
	return m.Run()
}

// NewDatabase creates an empty database on the package's cluster (starting
// it on first use) and returns its DSN. The database is dropped when t ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	c, err := cluster()
	if err != nil {
		if errors.Is(err, errNoBinaries) && os.Getenv("SOCIALRX_REQUIRE_PG") != "1" {
			t.Skipf("pgtest: PostgreSQL not available: %v", err)
		}
		t.Fatalf("pgtest: %v", err)
	}
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, c.DSN("postgres"))
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return c.DSN(name)
}

// DSN returns the connection string of database name on the cluster.
func (c *Cluster) DSN(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, name)
}

var errNoBinaries = errors.New("no PostgreSQL binaries (set SOCIALRX_PG_BIN or install postgresql)")

func cluster() (*Cluster, error) {
	mu.Lock()
	defer mu.Unlock()
	if started != nil || startErr != nil {
		return started, startErr
	}
	started, startErr = Start()
	return started, startErr
}

// binDir finds the directory holding initdb and pg_ctl.
func binDir() (string, error) {
	if d := os.Getenv("SOCIALRX_PG_BIN"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err != nil {
			return "", fmt.Errorf("SOCIALRX_PG_BIN=%s: %w", d, errNoBinaries)
		}
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	var found []string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			found = append(found, d)
		}
	}
	if len(found) == 0 {
		return "", errNoBinaries
	}
	version := func(d string) int {
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		return v
	}
	slices.SortFunc(found, func(a, b string) int { return version(a) - version(b) })
	return found[len(found)-1], nil
}

// Start initializes and starts a new cluster on a free port. Callers must
// Stop it.
func Start() (*Cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	reapStale(bin)
	dir, err := os.MkdirTemp("", "socialrx-pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c := &Cluster{dir: dir, bin: bin}
	_ = os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644)
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: running as root needs a postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: %w", err)
		}
		c.asUser = "postgres"
	}
	if out, err := c.run("initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb: %v: %s", err, out)
	}
	for attempt := 0; ; attempt++ {
		c.port, err = freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: %w", err)
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", c.port, dir)
		if extra := os.Getenv("SOCIALRX_PGTEST_OPTS"); extra != "" {
			opts += " " + extra
		}
		out, err := c.run("pg_ctl", "-D", filepath.Join(dir, "data"), "-l", filepath.Join(dir, "server.log"), "-w", "-t", "60", "-o", opts, "start")
		if err == nil {
			return c, nil
		}
		if attempt == 2 {
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			c.Stop()
			return nil, fmt.Errorf("pgtest: pg_ctl start: %v: %s %s", err, out, lastLines(log, 10))
		}
	}
}

// Stop stops the cluster at once (-m immediate) and removes its directory.
func (c *Cluster) Stop() {
	_, _ = c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
	_ = os.RemoveAll(c.dir)
}

func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if c.asUser != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.asUser, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = c.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// reapStale stops and removes clusters left by test processes that died
// without stopping them (a panicking test ends the process before Main's
// deferred Stop runs). A cluster is stale when the process in its owner.pid
// is gone.
func reapStale(bin string) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "socialrx-pgtest-*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		c := &Cluster{dir: d, bin: bin}
		if os.Geteuid() == 0 {
			c.asUser = "postgres"
		}
		c.Stop()
	}
}

func processAlive(pid int) bool {
	_, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid)))
	return err == nil
}

// ServerCPU is the CPU time (user and system) the package's cluster has
// used so far: its postmaster's and every process it started (backends,
// background workers), read from /proc; the children that already exited
// count through the postmaster's cutime and cstime. ok is false when no
// cluster runs or /proc cannot tell (not Linux). Benchmarks add it to their
// own process's CPU time when the work they measure is partly the server's.
func ServerCPU() (d time.Duration, ok bool) {
	mu.Lock()
	c := started
	mu.Unlock()
	if c == nil {
		return 0, false
	}
	b, err := os.ReadFile(filepath.Join(c.dir, "data", "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pm, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return 0, false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	var ticks int64
	found := false
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, t, ok := procTicks(pid, pid == pm)
		if !ok || (pid != pm && ppid != pm) {
			continue
		}
		found = found || pid == pm
		ticks += t
	}
	if !found {
		return 0, false
	}
	// USER_HZ is 100 on every Linux architecture Go supports.
	return time.Duration(ticks) * 10 * time.Millisecond, true
}

// procTicks reads /proc/pid/stat: the parent's pid and the process's user
// and system clock ticks (with its waited-for children's when children).
func procTicks(pid int, children bool) (ppid int, ticks int64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// The command name is in parentheses and may hold spaces: the fields
	// after the last ')' are state, ppid, ... (proc(5)).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	last := 13 // utime, stime: fields 14 and 15 of proc(5), f[11] and f[12]
	if children {
		last = 15 // cutime, cstime: f[13] and f[14]
	}
	for _, s := range f[11:last] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		ticks += n
	}
	return ppid, ticks, true
}
