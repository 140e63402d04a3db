package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	for _, tc := range []struct{ max, want int64 }{
		{0, serveMemoryLimit},
		{512 << 20, 256 << 20},      // a 512 MiB container: half of it
		{4 << 30, serveMemoryLimit}, // 4 GiB: the default is smaller
		{-1, serveMemoryLimit},
	} {
		if got := memoryLimit(tc.max); got != tc.want {
			t.Errorf("memoryLimit(%d) = %d, want %d", tc.max, got, tc.want)
		}
	}
}

// TestCgroupMemoryMax reads the limits of the process's own cgroup and of
// those above it (a systemd unit's MemoryMax= is on its own cgroup, not
// the root the code read before), the smallest winning.
func TestCgroupMemoryMax(t *testing.T) {
	root := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("memory.max", "max\n") // the root has none (it has no file, in fact)
	write("system.slice/memory.max", "4294967296\n")
	write("system.slice/socialrx.service/memory.max", "536870912\n")
	write("user.slice/memory.max", "max\n")
	write("garbage.slice/memory.max", "lots\n")
	self := filepath.Join(t.TempDir(), "cgroup")
	for _, tc := range []struct {
		self string // the content of /proc/self/cgroup ("" : no file)
		want int64
	}{
		{"0::/system.slice/socialrx.service\n", 512 << 20}, // the unit's own limit
		{"0::/system.slice/other.service\n", 4 << 30},      // only the slice's
		{"0::/user.slice/session-1.scope\n", 0},
		{"0::/garbage.slice\n", 0},
		{"0::/\n", 0},                                              // a container's namespace: its root
		{"12:memory:/docker/abc\n1:name=systemd:/docker/abc\n", 0}, // cgroup v1, no v1 files here
		{"", 0}, // no /proc/self/cgroup: the v2 root only
	} {
		_ = os.Remove(self)
		if tc.self != "" {
			if err := os.WriteFile(self, []byte(tc.self), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if got := cgroupMemoryMax(root, self); got != tc.want {
			t.Errorf("cgroup %q: memory.max %d, want %d", tc.self, got, tc.want)
		}
	}
	// A limit on the root (a container's) applies below it too.
	write("memory.max", "268435456\n")
	if err := os.WriteFile(self, []byte("0::/system.slice/socialrx.service\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := cgroupMemoryMax(root, self); got != 256<<20 {
		t.Errorf("root limit below the unit's: %d, want %d", got, 256<<20)
	}

	// cgroup v1: memory.limit_in_bytes under root/memory, unlimited as
	// 2^63-1 rounded to a page; inside a container the host's path is
	// absent and the walk reaches the mount's root.
	v1 := t.TempDir()
	if err := os.MkdirAll(filepath.Join(v1, "memory", "process_api", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	for rel, content := range map[string]string{
		"memory/memory.limit_in_bytes":               "9223372036854771712\n",
		"memory/process_api/x/memory.limit_in_bytes": "1073741824\n",
		"memory/process_api/memory.limit_in_bytes":   "9223372036854771712\n",
	} {
		if err := os.WriteFile(filepath.Join(v1, rel), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		self string
		want int64
	}{
		{"4:memory:/process_api/x\n0::/\n", 1 << 30},
		{"4:memory:/process_api/y\n0::/\n", 0},
		{"4:memory:/docker/abc\n", 0}, // a container: the mount's root, unlimited
	} {
		if err := os.WriteFile(self, []byte(tc.self), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := cgroupMemoryMax(v1, self); got != tc.want {
			t.Errorf("v1 cgroup %q: %d, want %d", tc.self, got, tc.want)
		}
	}
}

// TestSetServeGC: serve sets its collector unless $GOGC / $GOMEMLIMIT do.
func TestSetServeGC(t *testing.T) {
	oldPercent := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(oldPercent); debug.SetMemoryLimit(oldLimit) })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	unset := func(k string) {
		t.Setenv(k, "x") // restored after the test
		os.Unsetenv(k)
	}
	unset("GOGC")
	unset("GOMEMLIMIT")
	debug.SetMemoryLimit(1 << 62)
	setServeGC(log)
	if got := debug.SetGCPercent(100); got != serveGCPercent {
		t.Errorf("GC percent %d, want %d", got, serveGCPercent)
	}
	if got, want := debug.SetMemoryLimit(1<<62), memoryLimit(cgroupMemoryMax(cgroupRoot, selfCgroup)); got != want {
		t.Errorf("memory limit %d, want %d", got, want)
	}

	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "3GiB")
	debug.SetGCPercent(150)
	setServeGC(log)
	if got := debug.SetGCPercent(150); got != 150 {
		t.Errorf("with $GOGC set: GC percent %d, want it left at 150", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 1<<62 {
		t.Errorf("with $GOMEMLIMIT set: memory limit %d, want it left", got)
	}
}
