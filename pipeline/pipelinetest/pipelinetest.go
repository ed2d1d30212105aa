// Package pipelinetest holds what tests outside cmd need to open a
// warehouse by URL as the program does (cmd chooses the backend).
package pipelinetest

import (
	"context"
	"log/slog"

	"archtics/pipeline"
	"archtics/storage/backend"
)

// Open opens the warehouse at url (a folder or s3://bucket/prefix).
func Open(ctx context.Context, url string, logger *slog.Logger) (*pipeline.Warehouse, error) {
	store, err := backend.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	return pipeline.New(store, logger), nil
}
