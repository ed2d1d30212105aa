package dedup

import (
	"maps"
	"slices"
)

// Reserve makes room in the engine's indexes for about n more accounts
// (each may make a contact, a mapping and a CRM account), so that they
// do not rehash as they grow: a first run's million accounts otherwise
// rehash each index about twenty times (1.5 of a run's CPU-seconds). It
// changes what the engine holds in no other way: call it before a run of
// Adds whose count is known (the CRM stage: the accounts DuckDB sorted).
func (e *Engine) Reserve(n int) {
	if n <= 0 {
		return
	}
	e.byID = grown(e.byID, n)
	e.acctByID = grown(e.acctByID, n)
	e.mapByAcc = grown(e.mapByAcc, n)
	for k := range e.heads {
		e.heads[k] = grown(e.heads[k], n)
	}
	e.stamp = slices.Grow(e.stamp, n)
	e.mapNext = slices.Grow(e.mapNext, n)
}

// grown is m with room for n more entries; m itself when n is small
// beside it (growing by itself then costs less than a copy).
func grown[K comparable, V any](m map[K]V, n int) map[K]V {
	if n < len(m)/2 {
		return m
	}
	out := make(map[K]V, len(m)+n)
	maps.Copy(out, m)
	return out
}
