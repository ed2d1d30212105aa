// Package simulator is a stand-in for Ticketmaster Archtics: a deterministic
// generator of a client's Archtics databases (events, accounts, tickets,
// exchange activity, gate scans), the full dump Ticketmaster hands over at a
// cutoff, the "all changes since" API, and the realtime scan feed, with
// faults on demand. It also knows the truth, so tests can compare what the
// pipeline loaded with what the source held.
package simulator

import (
	"time"

	"archtics/schemas"
)

// TimeLayout is how the dump and the API format timestamps (Archtics local
// time, second resolution, so many rows share one timestamp).
const TimeLayout = "2006-01-02 15:04:05"

// DateLayout is how dates are formatted.
const DateLayout = "2006-01-02"

// Row is one record in the column order of its schemas.Table. An empty
// string is NULL. Integers are decimal, decimals "12.50", dates DateLayout,
// timestamps TimeLayout.
type Row []string

// Change is one version of a row as the change API serves it.
type Change struct {
	Key       string    // the row's key columns (schemas.Table.Key) joined by "|"
	Updated   time.Time // the row's update time (its UpdatedAt column)
	Committed time.Time // when the version became visible in Archtics: usually Updated, later for a late commit
	Row       Row
}

// Source is what the API server needs from a generated world. All times are
// UTC instants of the simulated clock.
type Source interface {
	// Teams lists the client's Archtics databases (one per team).
	Teams() []string
	// Cutoff is the instant the full dump was cut at: the dump holds exactly
	// the versions committed before it.
	Cutoff() time.Time
	// Changes returns the versions of table t in team with Updated >= since
	// and Committed <= asOf, ordered by (Updated, Key). Account merges are
	// invisible here, as in Archtics: a losing account's rows just stop
	// appearing in Keys.
	Changes(team string, t *schemas.Table, since, asOf time.Time) []Change
	// Keys returns the sorted keys of the rows of t present at asOf.
	Keys(team string, t *schemas.Table, asOf time.Time) []string
	// Lookup returns the rows of t present at asOf whose keys are given
	// (absent keys are skipped), so a client that saw a key vanish or a
	// reference move without an update time (an account merge) can re-fetch.
	Lookup(team string, t *schemas.Table, keys []string, asOf time.Time) []Row
	// StateAt returns the true content of t at asOf (the newest committed
	// version of every present key), ordered by key: the expected answer
	// for a clone.
	StateAt(team string, t *schemas.Table, asOf time.Time) []Row
	// Scans returns the feed rows (schemas.Scan column order) of one event
	// with seq_num > afterSeq that the feed has delivered by asOf, ordered by
	// seq_num, at most limit (limit <= 0: no limit). Duplicated deliveries
	// and scans that must be filtered out (exits, re-entries, rejected
	// result codes) are included, as the real feed does.
	Scans(team string, eventID int32, afterSeq int64, asOf time.Time, limit int) []Row
	// ScanEvents lists every event the feed carries at some time, with its
	// start instant; the server serves one until seven days after its
	// start by its clock (FeedKeeps).
	ScanEvents(team string) []EventStart
}

// EventStart names an event and its start instant.
type EventStart struct {
	EventID int32
	Name    string
	Start   time.Time
}
