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
	dir := t.TempDir()
	for _, tc := range []struct {
		content string // "" : no file
		want    int64
	}{
		{"", serveMemoryLimit},
		{"max\n", serveMemoryLimit},
		{"536870912\n", 256 << 20},         // a 512 MiB container: half of it
		{"4294967296\n", serveMemoryLimit}, // 4 GiB: the default is smaller
		{"garbage", serveMemoryLimit},
	} {
		path := filepath.Join(dir, "absent")
		if tc.content != "" {
			path = filepath.Join(dir, "memory.max")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if got := memoryLimit(path); got != tc.want {
			t.Errorf("memoryLimit(%q) = %d, want %d", tc.content, got, tc.want)
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
	if got, want := debug.SetMemoryLimit(1<<62), memoryLimit(cgroupMemoryMax); got != want {
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
