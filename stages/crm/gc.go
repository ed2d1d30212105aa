package crm

import (
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

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

// phaseClock times the phases of a run for its debug log: wall time and
// the process's CPU time (every thread: DuckDB's and the garbage
// collector's too), which tells a phase that waits from one that works.
type phaseClock struct {
	wall time.Time
	cpu  time.Duration
}

func startPhase() phaseClock { return phaseClock{wall: time.Now(), cpu: processCPU()} }

// log logs msg at debug level with the phase's wall and CPU time, and
// starts the next phase.
func (p *phaseClock) log(logger *slog.Logger, msg string, args ...any) {
	now, cpu := time.Now(), processCPU()
	args = append(args, "took", now.Sub(p.wall).Round(time.Millisecond), "cpu", (cpu - p.cpu).Round(time.Millisecond))
	logger.Debug(msg, args...)
	p.wall, p.cpu = now, cpu
}

// processCPU is the process's user and system CPU time so far (0 when
// unreadable).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
