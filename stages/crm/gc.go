package crm

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// RunGCPercent and RunMemoryLimit are the garbage collector's settings for
// a dedup run (GCForRun).
const (
	RunGCPercent   = 300
	RunMemoryLimit = 2560 << 20
)

// GCForRun sets the garbage collector for one dedup run and returns a
// function that restores the previous settings. A first run's engine
// holds every contact it makes (about 1.3 GB at a million accounts) while
// the accounts it reads and the results it returns are garbage at once;
// with Go's default (GOGC=100) the collector marks that live heap again
// at every doubling, a fifth of the run's CPU. RunGCPercent lets the heap
// grow further between collections, and RunMemoryLimit, a soft limit,
// makes the collector work harder again as the heap nears it, so memory
// stays bounded. A GOGC or GOMEMLIMIT in the environment wins: nothing is
// changed then.
func GCForRun() (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	pct := debug.SetGCPercent(RunGCPercent)
	limit := debug.SetMemoryLimit(RunMemoryLimit)
	return func() {
		debug.SetGCPercent(pct)
		debug.SetMemoryLimit(limit)
	}
}

// peakRSSMB is the process's peak resident memory in MiB (Linux VmHWM),
// for the run's debug log of its phases; 0 when unreadable.
func peakRSSMB() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb >> 10
		}
	}
	return 0
}
