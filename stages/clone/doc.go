// Package clone keeps a team's clone of its Archtics database: LoadDump
// lands a full dump cut at its cutoff, Incremental pulls the changes since
// the watermark (stages/changes) and sweeps keys for the deletions and
// merges the change feed never shows, and Compact folds the changes into
// new base files. Every stage commits on the stream "<team>/clone"; the
// clone's time zone (CloneLocation) and its difference from a dump
// (CloneDiff) are read from there too.
package clone
