package txlog

import (
	"context"
)

// CommitHook runs after a commit this warehouse wrote has landed (not for
// a batch found already committed). The commit is the truth whatever the
// hook does: a hook keeps something derived current (the Iceberg
// metadata), and a derived thing that fell behind catches up later.
type CommitHook func(ctx context.Context, c *Commit) error

// OnCommit registers fn to run after each commit written through w (and
// through the warehouses w.At returns, which are read-only). Hooks run in
// order, on the committing goroutine; a hook's error is logged as a
// warning and does not fail the commit, which has landed.
func (w *Log) OnCommit(fn CommitHook) {
	w.hooks = append(w.hooks, fn)
}

// runHooks runs the commit hooks after c landed.
func (w *Log) runHooks(ctx context.Context, c *Commit) {
	for _, fn := range w.hooks {
		if err := fn(ctx, c); err != nil {
			w.logger().Warn("after-commit hook failed; the commit stands", "stream", c.Stream, "seq", c.Seq, "err", err)
		}
	}
}

// IcebergPrefix is where the Iceberg metadata over the committed files
// lives (package icebergcat): verify and vacuum leave it alone, as it is
// no table's folder.
const IcebergPrefix = "iceberg/"
