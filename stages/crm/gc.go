package crm

import (
	"os"
	"strconv"
	"strings"

	"archtics/internal/gctune"
)

// RunGCPercent and RunMemoryLimit are the garbage collector's settings for
// a dedup run (GCForRun).
const (
	RunGCPercent   = 300
	RunMemoryLimit = 2560 << 20
)

// GCForRun sets the garbage collector for one dedup run (gctune.Set)
// and returns a function that restores the previous settings. A first
// run's engine holds every contact it makes (about 1.3 GB at a million
// accounts) while the accounts it reads and the results it returns are
// garbage at once; with Go's default (GOGC=100) the collector marks that
// live heap again at every doubling, a fifth of the run's CPU.
func GCForRun() (restore func()) { return gctune.Set(RunGCPercent, RunMemoryLimit) }

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
