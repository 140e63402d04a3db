package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"time"
)

// cpuClock is the kernel's clock tick for /proc times (USER_HZ). It is 100
// on every Linux the project runs on; sysconf is not reachable from pure
// Go without cgo.
const cpuClock = 100

// cpuSample is the CPU time used so far by the server process, by this
// bench (its clients) and by the whole machine (every process: the
// server, the database when it runs here, this bench), from Linux /proc.
// What the machine used beyond the first two is mostly the database's.
// ok is false elsewhere.
type cpuSample struct {
	server, bench, machine time.Duration
	ok                     bool
}

func (s *server) cpu() cpuSample {
	proc, ok1 := procCPU(s.cmd.Process.Pid)
	bench, ok2 := procCPU(os.Getpid())
	machine, ok3 := machineCPU()
	return cpuSample{server: proc, bench: bench, machine: machine, ok: ok1 && ok2 && ok3}
}

// procCPU is a process's user+system time (/proc/pid/stat fields 14, 15).
// adapter/pgtest reads the same fields for the test cluster's processes
// (procTicks); a command should not link that test helper (it imports
// testing and starts clusters), and the project's layout has no package
// both may import, so the few lines are kept twice.
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name (field 2) is in parentheses and may hold spaces
	// and ')': the fields after the last ')' are state, ppid, ... (proc(5)).
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return ticks(u + s), true
}

// machineCPU is the time all CPUs spent busy (/proc/stat's first line:
// user, nice, system, irq, softirq, steal; not idle or iowait).
func machineCPU() (time.Duration, bool) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, false
	}
	fs := strings.Fields(sc.Text())
	if len(fs) < 9 || fs[0] != "cpu" {
		return 0, false
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		n, err := strconv.ParseInt(fs[i], 10, 64)
		if err != nil {
			return 0, false
		}
		busy += n
	}
	return ticks(busy), true
}

func ticks(n int64) time.Duration { return time.Duration(n) * time.Second / cpuClock }

// perItem formats CPU time b-a per item as milliseconds: "server 2.61 ms,
// bench 0.40 ms, whole machine 6.90 ms".
func (a cpuSample) perItem(b cpuSample, n int) (string, bool) {
	if !a.ok || !b.ok || n <= 0 {
		return "", false
	}
	ms := func(d time.Duration) string {
		return strconv.FormatFloat(float64(d.Microseconds())/1000/float64(n), 'f', 2, 64)
	}
	return "server " + ms(b.server-a.server) + " ms, bench " + ms(b.bench-a.bench) +
		" ms, whole machine " + ms(b.machine-a.machine) + " ms", true
}
