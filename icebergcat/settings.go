package icebergcat

import (
	"context"
	"os"

	"archtics/icebergcat/layout"
	"archtics/pipeline/txlog"
)

// HookOptions configure AutoPublish.
type HookOptions struct {
	// Getenv reads the environment (default os.Getenv).
	Getenv func(string) string
	// Publish is what each publish starts from (its CurrentStateOut and
	// CacheDir); the hook sets the tables.
	Publish Options
}

// AutoPublish registers on w the after-commit hook that publishes, in
// this process, the tables each commit touched when the warehouse's
// setting enables Iceberg (layout.OnCommitPublish decides when).
func AutoPublish(w *txlog.Log, opts HookOptions) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	layout.OnCommitPublish(w, getenv, func(ctx context.Context, req layout.PublishRequest) error {
		opt := opts.Publish
		opt.Tables = req.Tables
		if req.SQLURI != "" {
			p, err := OpenSQLPointer(ctx, req.SQLURI, req.SQLCatalogName)
			if err != nil {
				return err
			}
			defer p.Close()
			opt.Pointer = p
		}
		_, err := Publish(ctx, w, opt)
		return err
	})
}
