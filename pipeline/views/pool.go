package views

import (
	"context"
	"log/slog"

	"golang.org/x/sync/errgroup"

	"archtics/pipeline/txlog"
)

// eachFile runs fn on every job with up to workers goroutines and returns
// the first error. It stops handing out jobs after an error or once ctx
// is done, and waits for the running ones; the caller checks ctx.Err()
// for a cancellation that left jobs undone.
func eachFile[J any](ctx context.Context, workers int, jobs []J, fn func(J) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(workers, 1))
	for _, j := range jobs {
		if gctx.Err() != nil {
			break // an error, or ctx done: hand out no more
		}
		g.Go(func() error { return fn(j) })
	}
	return g.Wait()
}

// logger is w's logger, or the default one.
func logger(w *txlog.Log) *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}
