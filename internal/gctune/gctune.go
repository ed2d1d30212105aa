// Package gctune sets the garbage collector for the long runs that hold a
// large live heap (a dedup run, a process that ticks).
package gctune

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// Set sets the garbage collector for a long run that holds a large live
// heap (a dedup engine's contacts, a tick's scans) and returns a function
// that restores the previous settings. percent lets the heap grow further
// between collections than Go's default (GOGC=100), which re-marks the
// live heap at every doubling; limit, a soft memory limit in bytes, makes
// the collector work harder again as the heap nears it, so memory stays
// bounded. A GOGC or GOMEMLIMIT in the environment wins: nothing is
// changed then.
func Set(percent int, limit int64) (restore func()) {
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

// MakeHeadroom raises a soft memory limit that Set set to at least
// factor times the live heap, measured now (after a collection). A run
// whose live heap nears the limit would make the collector run without
// end (a later dedup run holds the committed CRM twice: as read, to
// compare with, and in its engine). A limit from GOMEMLIMIT, or none, is
// left as it is.
func MakeHeadroom(factor float64) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := debug.SetMemoryLimit(-1)
	if limit == math.MaxInt64 {
		return
	}
	runtime.GC()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	if want := int64(float64(sample[0].Value.Uint64()) * factor); want > limit {
		debug.SetMemoryLimit(want)
	}
}
