package realtime

import "archtics/internal/gctune"

// TickGCPercent and TickMemoryLimit are the garbage collector's settings
// for a process that ticks (GCForTicks).
const (
	TickGCPercent   = 400
	TickMemoryLimit = 3 << 30
)

// GCForTicks sets the garbage collector for a process that runs ticks
// (gctune.Set) and returns a function that restores the previous
// settings. A tick holds its scans (a million at a league night) until
// its commit and allocates several times that in Parquet encoding; with
// Go's default (GOGC=100) the collector re-marks those live rows over and
// over (BenchmarkTickScans measures it).
func GCForTicks() (restore func()) { return gctune.Set(TickGCPercent, TickMemoryLimit) }
