package icebergcat

import (
	"context"
	"fmt"
	"os"
	"sync"

	"archtics/icebergcat/layout"
	"archtics/pipeline/txlog"
)

// HookOptions configure AutoPublish.
type HookOptions struct {
	// Getenv reads the environment (default os.Getenv).
	Getenv func(string) string
}

// AutoPublish registers an after-commit hook on w that, when the
// warehouse's setting enables Iceberg, publishes the tables each commit
// touched. The setting is read once, at the first commit: a command that
// commits nothing costs nothing, and one that does costs a GET when
// Iceberg is off. ARCHTICS_ICEBERG=0 turns the hook off for the process.
func AutoPublish(w *txlog.Log, opts HookOptions) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if getenv(layout.DisableEnv) == "0" {
		return
	}
	var (
		once     sync.Once
		settings layout.Settings
		readErr  error
	)
	w.OnCommit(func(ctx context.Context, c *txlog.Commit) error {
		once.Do(func() { settings, _, _, readErr = layout.ReadSettings(ctx, w.Store) })
		if readErr != nil {
			return fmt.Errorf("iceberg: %w", readErr)
		}
		if !settings.Enabled {
			return nil
		}
		tables := layout.TouchedTables(c)
		if len(tables) == 0 {
			return nil
		}
		opt := Options{Tables: tables}
		var noPointer error
		if settings.Catalog == layout.CatalogSQL {
			if uri := getenv(layout.SQLURIEnv); uri == "" {
				noPointer = fmt.Errorf("iceberg: the warehouse publishes to a SQL catalog but %s is not set: the metadata files are published, the SQL catalog still points at the previous ones (set it, or run archtics catalog iceberg --catalog file)", layout.SQLURIEnv)
			} else {
				p, err := OpenSQLPointer(ctx, uri, settings.SQLCatalogName)
				if err != nil {
					return err
				}
				defer p.Close()
				opt.Pointer = p
			}
		}
		if _, err := Publish(ctx, w, opt); err != nil {
			return fmt.Errorf("iceberg: publish after %s seq %d (the commit stands; archtics catalog iceberg catches up): %w", c.Stream, c.Seq, err)
		}
		return noPointer
	})
}
