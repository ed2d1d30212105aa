// Package pipeline is the warehouse on object storage: immutable Parquet
// partitions, the commit log that makes them visible, watermarks, the
// verified local cache DuckDB reads from, and the composition of stages.
package txlog

import (
	"log/slog"
	"time"

	"archtics/schemas"
	"archtics/storage"
)

// Log is the commit log of a warehouse rooted in an object store.
type Log struct {
	Store  storage.Store
	Logger *slog.Logger
	// Now is the clock commits are stamped with (default time.Now); tests
	// and benchmarks set it to simulate days of commits in seconds.
	Now func() time.Time
	// Tables are definitions this warehouse knows beyond schemas.All
	// (a client's own tables, tests' tables): commits may touch them and
	// readers and vacuum find them.
	Tables []*schemas.Table
	// Version is the program version recorded in every commit (the CLI
	// passes its build version); empty: the module version of the build.
	Version string

	asOf  AsOf         // readers see the warehouse as of this point; zero: the heads
	hooks []CommitHook // run after each commit (OnCommit, hooks.go)

	readOnly bool // an offline copy (OpenOffline): commits and vacuum are refused
}

// ReadOnly reports whether the log refuses commits: opened as of a
// past point, or an offline copy.
func (w *Log) ReadOnly() bool { return w.asOf.Set() || w.readOnly }

func (w *Log) version() string {
	if w.Version != "" {
		return w.Version
	}
	return buildVersion()
}

func (w *Log) Time() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// At returns a read-only view of the warehouse as of a past point: every
// reader (State, Materialize, Log, Verify) sees each stream as it was then,
// and commits are refused with ErrReadOnly.
func (w *Log) At(asOf AsOf) *Log {
	c := *w
	c.asOf = asOf
	return &c
}

// AsOfPoint returns the point the warehouse is read as of (zero: heads).
func (w *Log) AsOfPoint() AsOf { return w.asOf }

// ReadOnlyOver returns a log over store that refuses every commit (an
// offline copy of this log's warehouse), with this log's logger, clock,
// tables and version. w may be nil.
func (w *Log) ReadOnlyOver(store storage.Store) *Log {
	c := &Log{Store: store, readOnly: true}
	if w != nil {
		c.Logger, c.Now, c.Tables, c.Version = w.Logger, w.Now, w.Tables, w.Version
	}
	return c
}

// New returns the log of the warehouse in store.
func New(store storage.Store, logger *slog.Logger) *Log {
	if logger == nil {
		logger = slog.Default()
	}
	return &Log{Store: store, Logger: logger}
}

// KnownTables are schemas.All and w.Tables.
func (w *Log) KnownTables() []*schemas.Table {
	return append(KnownTables(), w.Tables...)
}

// DefaultGrace is how young an object no commit names may be and still be
// taken for a live writer's upload that is about to be committed.
const DefaultGrace = time.Hour
