package crm

import (
	"context"
	"fmt"
	"os"

	"archtics/pipeline"
	"archtics/pipeline/txlog"
)

// committedHead is the crm stream's head for a command that reads what
// dedup committed (what names the command in errors): ErrNoDedup before
// the first run.
func committedHead(ctx context.Context, w *pipeline.Warehouse, what string) (*txlog.StreamState, error) {
	head, err := w.Stream(ctx, Stream)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if head.Seq == 0 {
		return nil, fmt.Errorf("%s: %w: run archtics dedup first", what, ErrNoDedup)
	}
	return head, nil
}

// cacheFolder is the folder committed files are materialized in for
// DuckDB: cacheDir, or when it is "" a temporary folder that done
// removes.
func cacheFolder(cacheDir, what string) (dir string, done func(), err error) {
	if cacheDir != "" {
		return cacheDir, func() {}, nil
	}
	dir, err = os.MkdirTemp("", "archtics-dedup-cache-")
	if err != nil {
		return "", nil, fmt.Errorf("%s: cache folder: %w", what, err)
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}
