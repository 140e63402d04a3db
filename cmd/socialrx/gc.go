package main

import (
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// The garbage collector of a serving process (docs/performance.md,
// "Session 14"). A busy server's live heap is small (3-4 MB after a
// collection while 8 clients post encounters, GODEBUG=gctrace=1), so at
// Go's default GOGC=100 it collected after every few MB allocated, about
// every dozen encounters (~400 KB allocated each). At serveGCPercent the
// heap grows to five times the live data (~20 MB here) between
// collections, a quarter as many: the server's CPU an encounter fell
// 9-17%. The soft limit (serveMemoryLimit, or half the cgroup v2
// memory.max when that is smaller) keeps the heap from growing five-fold
// past it when requests allocate much (a 10 MB body of small elements
// allocates ~13 times its size, BenchmarkLargeBody, session 16): near the
// limit Go collects more often again. $GOGC and $GOMEMLIMIT, when set, are
// left as they are.
const (
	serveGCPercent   = 400
	serveMemoryLimit = 1 << 30
)

// cgroupRoot is where the cgroup v2 hierarchy is mounted, and selfCgroup
// names this process's cgroup in it.
const (
	cgroupRoot = "/sys/fs/cgroup"
	selfCgroup = "/proc/self/cgroup"
)

// setServeGC applies serveGCPercent and the memory limit unless the
// environment sets them, and logs what it set.
func setServeGC(log *slog.Logger) {
	var set []any
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(serveGCPercent)
		set = append(set, "gc_percent", serveGCPercent)
	}
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		limit := memoryLimit(cgroupMemoryMax(cgroupRoot, selfCgroup))
		debug.SetMemoryLimit(limit)
		set = append(set, "memory_limit_mib", limit>>20)
	}
	if len(set) > 0 {
		log.Debug("garbage collector", set...)
	}
}

// memoryLimit is serveMemoryLimit, or half cgroupMax (a cgroup's memory
// limit, 0 for none) when that is smaller.
func memoryLimit(cgroupMax int64) int64 {
	if cgroupMax <= 0 {
		return serveMemoryLimit
	}
	return min(serveMemoryLimit, cgroupMax/2)
}

// cgroupMemoryMax returns the smallest memory limit of this process's
// cgroup and of every cgroup above it: a container's limit is on its
// namespace's root, a systemd unit's MemoryMax= on the unit's own cgroup, a
// slice's on one above. self is /proc/self/cgroup; root is where the
// hierarchy is mounted: cgroup v2's memory.max under root (the "0::" line),
// or, on a cgroup v1 host, memory.limit_in_bytes under root/memory (the
// "memory" line; inside a v1 container the path names the host's cgroup,
// absent in the container's mount, so the walk reaches the mount's root).
// 0 when none has a limit ("max", or v1's page-rounded 2^63-1).
func cgroupMemoryMax(root, self string) int64 {
	b, err := os.ReadFile(self)
	if err != nil {
		return walkLimits(root, "/", "memory.max")
	}
	var smallest int64
	for _, line := range strings.Split(string(b), "\n") {
		var n int64
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			n = walkLimits(root, rest, "memory.max")
		} else if _, rest, ok := strings.Cut(line, ":memory:"); ok {
			n = walkLimits(filepath.Join(root, "memory"), rest, "memory.limit_in_bytes")
		}
		if n > 0 && (smallest == 0 || n < smallest) {
			smallest = n
		}
	}
	return smallest
}

// walkLimits returns the smallest limit in the files named file of cgroup
// dir (a path under root) and of its ancestors; 0 for none.
func walkLimits(root, dir, file string) int64 {
	if !strings.HasPrefix(dir, "/") {
		return 0
	}
	dir = path.Clean(dir)
	var smallest int64
	for {
		if b, err := os.ReadFile(filepath.Join(root, dir, file)); err == nil {
			n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			if err == nil && n > 0 && n < 1<<62 && (smallest == 0 || n < smallest) {
				smallest = n
			}
		}
		if dir == "/" {
			return smallest
		}
		dir = path.Dir(dir)
	}
}

// setImportGC sets importGCPercent (unless $GOGC is set) and returns the
// function that puts the previous setting back.
func setImportGC() (restore func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	old := debug.SetGCPercent(importGCPercent)
	return func() { debug.SetGCPercent(old) }
}
