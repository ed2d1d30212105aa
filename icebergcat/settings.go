package icebergcat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"archtics/pipeline/txlog"
	"archtics/storage"
)

// SettingsKey is the warehouse's Iceberg setting, written by
// `archtics catalog iceberg` the first time: once a user published, every
// later commit keeps the tables current.
const SettingsKey = Prefix + "settings.json"

// Catalog kinds.
const (
	CatalogFile = "file" // metadata files with a version hint only
	CatalogSQL  = "sql"  // the same files, and a JDBC-catalog row per table pointing at the newest
)

// Settings say whether and how commits publish.
type Settings struct {
	Enabled bool   `json:"enabled"`
	Catalog string `json:"catalog"` // CatalogFile or CatalogSQL
	// SQLCatalogName is the catalog_name of the JDBC catalog's rows (what
	// Spark and Trino are configured with). The database's URI is never
	// stored here (it may hold a password): it comes from the environment
	// (SQLURIEnv) of every command that commits.
	SQLCatalogName string `json:"sql_catalog_name,omitempty"`
}

// SQLURIEnv names the environment variable holding the SQL catalog's
// database URI (postgres://user:pass@host/db).
const SQLURIEnv = "ARCHTICS_ICEBERG_SQL_URI"

// DisableEnv, set to 0, keeps a command from publishing after its commits
// whatever the warehouse's setting (the next publish catches up).
const DisableEnv = "ARCHTICS_ICEBERG"

// ReadSettings reads the warehouse's Iceberg setting; found is false when
// there is none (Iceberg was never published).
func ReadSettings(ctx context.Context, store storage.Store) (s Settings, etag string, found bool, err error) {
	rc, info, err := store.Get(ctx, SettingsKey)
	if errors.Is(err, storage.ErrNotFound) {
		return s, "", false, nil
	}
	if err != nil {
		return s, "", false, fmt.Errorf("read %s: %w", SettingsKey, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return s, "", false, fmt.Errorf("read %s: %w", SettingsKey, err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, "", false, fmt.Errorf("%s: %w (write it again: archtics catalog iceberg)", SettingsKey, err)
	}
	return s, info.ETag, true, nil
}

// WriteSettings replaces the setting (compare-and-swap on etag; "" when
// there was none).
func WriteSettings(ctx context.Context, store storage.Store, s Settings, etag string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	_, err = store.CompareAndSwap(ctx, SettingsKey, append(data, '\n'), etag)
	if err == nil || !errors.Is(err, storage.ErrExists) && !errors.Is(err, storage.ErrConflict) {
		return err
	}
	// Another catalog iceberg wrote the setting meanwhile: the work is
	// done if it wrote this one; otherwise it is a conflict to rerun on.
	if now, _, found, rerr := ReadSettings(ctx, store); rerr == nil && found && now == s {
		return nil
	}
	return fmt.Errorf("write %s: %w: %w (another catalog iceberg ran meanwhile: run it again)", SettingsKey, storage.ErrConflict, err)
}

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
	if getenv(DisableEnv) == "0" {
		return
	}
	var (
		once     sync.Once
		settings Settings
		readErr  error
	)
	w.OnCommit(func(ctx context.Context, c *txlog.Commit) error {
		once.Do(func() { settings, _, _, readErr = ReadSettings(ctx, w.Store) })
		if readErr != nil {
			return fmt.Errorf("iceberg: %w", readErr)
		}
		if !settings.Enabled {
			return nil
		}
		tables := touchedTables(c)
		if len(tables) == 0 {
			return nil
		}
		opt := Options{Tables: tables}
		var noPointer error
		if settings.Catalog == CatalogSQL {
			if uri := getenv(SQLURIEnv); uri == "" {
				noPointer = fmt.Errorf("iceberg: the warehouse publishes to a SQL catalog but %s is not set: the metadata files are published, the SQL catalog still points at the previous ones (set it, or run archtics catalog iceberg --catalog file)", SQLURIEnv)
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

// touchedTables are the tables a commit adds or retires files of, sorted.
func touchedTables(c *txlog.Commit) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range c.Adds {
		if !seen[a.Table] {
			seen[a.Table] = true
			out = append(out, a.Table)
		}
	}
	for _, r := range c.Retires {
		if !seen[r.Table] {
			seen[r.Table] = true
			out = append(out, r.Table)
		}
	}
	return out
}
