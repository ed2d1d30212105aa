// Package pipeline is the warehouse's write side and the composition of
// stages: the partition writer that turns Arrow records into immutable,
// content-addressed Parquet files, WriteAndCommit that lands them through
// the commit log (package txlog), and Run that chains stages.
//
// The other parts of the warehouse are clients of the log beside it:
// views (the verified local cache and the DuckDB views over it, the only
// package that links DuckDB), check (verify), vacuum and, for publishing,
// icebergcat. The storage backend is chosen by the caller (cmd).
package pipeline

import (
	"log/slog"

	"archtics/pipeline/txlog"
	"archtics/storage"
)

// Warehouse is a warehouse rooted in an object store: its commit log and
// the writer that adds data files to it.
type Warehouse struct {
	*txlog.Log
}

// New returns the warehouse in store.
func New(store storage.Store, logger *slog.Logger) *Warehouse {
	return &Warehouse{Log: txlog.New(store, logger)}
}

// Of returns the warehouse whose log is l.
func Of(l *txlog.Log) *Warehouse { return &Warehouse{Log: l} }

// At returns a read-only view of the warehouse as of a past point
// (txlog.Log.At): readers see each stream as it was then and commits are
// refused with txlog.ErrReadOnly.
func (w *Warehouse) At(asOf txlog.AsOf) *Warehouse { return Of(w.Log.At(asOf)) }
