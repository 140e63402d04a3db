package main

import (
	"log/slog"
	"os"
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
// memory.max when that is smaller) keeps a request with a large live heap
// (a 10 MB body of small elements peaks at ~400 MB live,
// BenchmarkLargeBody) from growing it five-fold: near the limit Go
// collects more often again. $GOGC and $GOMEMLIMIT, when set, are left as
// they are.
const (
	serveGCPercent   = 400
	serveMemoryLimit = 1 << 30
)

// cgroupMemoryMax is the cgroup v2 memory limit of this process's
// container ("max" or absent: none).
const cgroupMemoryMax = "/sys/fs/cgroup/memory.max"

// setServeGC applies serveGCPercent and the memory limit unless the
// environment sets them, and logs what it set.
func setServeGC(log *slog.Logger) {
	var set []any
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(serveGCPercent)
		set = append(set, "gc_percent", serveGCPercent)
	}
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		limit := memoryLimit(cgroupMemoryMax)
		debug.SetMemoryLimit(limit)
		set = append(set, "memory_limit_mib", limit>>20)
	}
	if len(set) > 0 {
		log.Debug("garbage collector", set...)
	}
}

// memoryLimit is serveMemoryLimit, or half the memory limit in the cgroup
// file at path when that is smaller.
func memoryLimit(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return serveMemoryLimit
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n <= 0 { // "max": no limit
		return serveMemoryLimit
	}
	return min(serveMemoryLimit, n/2)
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
