// Package pipeline is the warehouse on object storage: immutable Parquet
// partitions, the commit log that makes them visible, watermarks, the
// verified local cache DuckDB reads from, and the composition of stages.
package pipeline

import (
	"context"
	"fmt"
	"log/slog"

	"archtics/storage"
	"archtics/storage/backend"
)

// Warehouse is a warehouse rooted in an object store.
type Warehouse struct {
	Store  storage.Store
	Logger *slog.Logger
}

// Open opens the warehouse at url: a local folder ("./warehouse",
// "file:///abs") or "s3://bucket/prefix".
func Open(ctx context.Context, url string, logger *slog.Logger) (*Warehouse, error) {
	if logger == nil {
		logger = slog.Default()
	}
	store, err := backend.Open(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("open warehouse %s: %w", url, err)
	}
	return &Warehouse{Store: store, Logger: logger}, nil
}
