package realtime

import "archtics/stages"

// TickGCPercent and TickMemoryLimit are the garbage collector's settings
// for a process that ticks (GCForTicks).
const (
	TickGCPercent   = 400
	TickMemoryLimit = 3 << 30
)

// GCForTicks sets the garbage collector for a process that runs ticks
// (stages.SetGC) and returns a function that restores the previous
// settings. A tick holds its scans (a million at a league night) until
// its commit and allocates several times that in Parquet encoding; with
// Go's default (GOGC=100) the collector re-marks those live rows over and
// over: about 2.4 of the 1,000,000-scan tick's 11.8 CPU-seconds
// (BenchmarkTickScans: 9.4 with GOGC=300).
func GCForTicks() (restore func()) { return stages.SetGC(TickGCPercent, TickMemoryLimit) }
