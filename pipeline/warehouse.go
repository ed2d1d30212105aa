// Package pipeline is the warehouse on object storage: immutable Parquet
// partitions, the commit log that makes them visible, watermarks, the
// verified local cache DuckDB reads from, and the composition of stages.
package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"archtics/schemas"
	"archtics/storage"
	"archtics/storage/backend"
)

// Warehouse is a warehouse rooted in an object store.
type Warehouse struct {
	Store  storage.Store
	Logger *slog.Logger
	// Now is the clock commits are stamped with (default time.Now); tests
	// and benchmarks set it to simulate days of commits in seconds.
	Now func() time.Time
	// Tables are definitions this warehouse knows beyond schemas.All
	// (a client's own tables, tests' tables): commits may touch them and
	// readers and vacuum find them.
	Tables []*schemas.Table

	asOf  AsOf         // readers see the warehouse as of this point; zero: the heads
	hooks []CommitHook // run after each commit (OnCommit, hooks.go)

	readOnly bool // an offline copy (OpenOffline): commits and vacuum are refused
}

// readOnlyNow reports whether the warehouse refuses writes: opened as of a
// past point, or an offline copy.
func (w *Warehouse) readOnlyNow() bool { return w.asOf.Set() || w.readOnly }

func (w *Warehouse) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// At returns a read-only view of the warehouse as of a past point: every
// reader (State, Materialize, Log, Verify) sees each stream as it was then,
// and commits are refused with ErrReadOnly.
func (w *Warehouse) At(asOf AsOf) *Warehouse {
	c := *w
	c.asOf = asOf
	return &c
}

// AsOfPoint returns the point the warehouse is read as of (zero: heads).
func (w *Warehouse) AsOfPoint() AsOf { return w.asOf }

// Open opens the warehouse at url: a local folder ("./warehouse",
// "file:///abs") or "s3://bucket/prefix".
func Open(ctx context.Context, url string, logger *slog.Logger) (*Warehouse, error) {
	if logger == nil {
		logger = slog.Default()
	}
	store, err := backend.Open(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("open warehouse %s: %w", storage.Redact(url), err)
	}
	return &Warehouse{Store: store, Logger: logger}, nil
}

// knownTables are schemas.All and w.Tables.
func (w *Warehouse) knownTables() []*schemas.Table {
	return append(knownTables(), w.Tables...)
}
