package realtime

import (
	"os"
	"runtime/debug"
)

// TickGCPercent and TickMemoryLimit are the garbage collector's settings
// for a process that ticks (GCForTicks).
const (
	TickGCPercent   = 400
	TickMemoryLimit = 3 << 30
)

// GCForTicks sets the garbage collector for a process that runs ticks and
// returns a function that restores the previous settings. A tick holds
// its scans (a million at a league night) until its commit and allocates
// several times that in Parquet encoding; with Go's default (GOGC=100)
// the collector re-marks those live rows over and over: about 2.4 of the
// 1,000,000-scan tick's 11.8 CPU-seconds (BenchmarkTickScans: 9.4 with
// GOGC=300). TickGCPercent lets the heap grow further between
// collections, and TickMemoryLimit, a soft limit, makes the collector
// work harder again as the heap nears it, so memory stays bounded. A
// GOGC or GOMEMLIMIT in the environment wins: nothing is changed then.
func GCForTicks() (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	pct := debug.SetGCPercent(TickGCPercent)
	limit := debug.SetMemoryLimit(TickMemoryLimit)
	return func() {
		debug.SetGCPercent(pct)
		debug.SetMemoryLimit(limit)
	}
}
