package stages

import (
	"os"
	"runtime/debug"
)

// SetGC sets the garbage collector for a long run that holds a large live
// heap (a dedup engine's contacts, a tick's scans) and returns a function
// that restores the previous settings. percent lets the heap grow further
// between collections than Go's default (GOGC=100), which re-marks the
// live heap at every doubling; limit, a soft memory limit in bytes, makes
// the collector work harder again as the heap nears it, so memory stays
// bounded. A GOGC or GOMEMLIMIT in the environment wins: nothing is
// changed then.
func SetGC(percent int, limit int64) (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	pct := debug.SetGCPercent(percent)
	lim := debug.SetMemoryLimit(limit)
	return func() {
		debug.SetGCPercent(pct)
		debug.SetMemoryLimit(lim)
	}
}
