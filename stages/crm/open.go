package crm

import (
	"context"
	"fmt"
	"os"

	"archtics/pipeline"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
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

// openClonesAndCRM opens DuckDB over the clones' current accounts, their
// merges and the crm tables, materialized in cacheDir ("": a temporary
// folder); close closes DuckDB and removes a temporary folder. what
// names the command in errors.
func openClonesAndCRM(ctx context.Context, w *pipeline.Warehouse, cacheDir, what string) (d *views.DuckDB, close func(), err error) {
	dir, done, err := cacheFolder(cacheDir, what)
	if err != nil {
		return nil, nil, err
	}
	tables := append([]*schemas.Table{schemas.Current(schemas.Cust), schemas.AcctMerge}, crmViews...)
	if d, err = views.OpenViews(ctx, w.Log, "", dir, tables...); err != nil {
		done()
		return nil, nil, fmt.Errorf("%s: open the clones and the crm tables: %w", what, err)
	}
	return d, func() { d.Close(); done() }, nil
}
