//go:build !archtics_unchecked_criteria

package realtime

// uncheckedCriteria, in a build for the signal tests only (tag
// archtics_unchecked_criteria), lets a fragment past the cost limits of
// the first wall so that the second wall meets a slow query.
const uncheckedCriteria = false
