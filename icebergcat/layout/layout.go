// Package layout says where a warehouse's Iceberg tables live and whether
// its commits publish them: the setting (iceberg/settings.json), the
// Hadoop-catalog layout of the metadata files and their current version.
// It links no Iceberg library, so a program that only needs to know
// where the tables are, or whether to publish, starts fast; publishing
// itself is package icebergcat, in the program archtics-iceberg.
package layout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"

	"archtics/pipeline/txlog"
	"archtics/schemas"
	"archtics/storage"
)

// Prefix is where the Iceberg metadata lives under the warehouse root:
// iceberg/<schema>/<table>/metadata/v<N>.metadata.json, the manifests and
// manifest lists beside them, and version-hint.text (the Hadoop catalog
// layout, which Spark's and Trino's file-system catalogs read). <schema>
// and <table> are the names SQL gives the table (schemas.Table.SQLName),
// so an engine's archtics.cust is the product's archtics.cust: the clone's
// current state, while the dump's stored rows are archtics_dump.cust.
const Prefix = "iceberg/"

// TableDirKey is the folder of a table's Iceberg files.
func TableDirKey(t *schemas.Table) string { return Prefix + t.SQLSchema() + "/" + t.Name + "/" }

// DataDirKey is the folder of the files the publisher writes for a table
// (position-delete files, the empty file of an empty table): never the
// committed data files, which stay where their commit put them.
func DataDirKey(t *schemas.Table) string { return TableDirKey(t) + "data/" }

// MetadataDirKey is the folder of a table's metadata files.
func MetadataDirKey(t *schemas.Table) string { return TableDirKey(t) + "metadata/" }

// MetadataKey is the key of a table's metadata version.
func MetadataKey(t *schemas.Table, version int) string {
	return fmt.Sprintf("%sv%d.metadata.json", MetadataDirKey(t), version)
}

// HintKey is the key of a table's version hint.
func HintKey(t *schemas.Table) string { return MetadataDirKey(t) + "version-hint.text" }

// CurrentVersion finds a table's newest metadata version: the version
// hint, then probing forward (a crash between writing a version and the
// hint leaves the hint one behind), or, without a hint, a listing of the
// metadata files. 0: the table has no metadata yet.
func CurrentVersion(ctx context.Context, store storage.Store, t *schemas.Table) (int, error) {
	v := 0
	data, err := readAll(ctx, store, HintKey(t))
	switch {
	case err == nil:
		v, _ = strconv.Atoi(strings.TrimSpace(string(data)))
	case !errors.Is(err, storage.ErrNotFound):
		return 0, fmt.Errorf("iceberg %s: read %s: %w", t.FullName(), HintKey(t), err)
	}
	if v <= 0 {
		// No usable hint: list the metadata files (v<N>.metadata.json).
		err := store.List(ctx, MetadataDirKey(t)+"v", "", func(o storage.ObjectInfo) error {
			name := strings.TrimPrefix(o.Key, MetadataDirKey(t))
			if n, ok := ParseVersionName(name); ok && n > v {
				v = n
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("iceberg %s: list %s: %w", t.FullName(), MetadataDirKey(t), err)
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		_, err := store.Stat(ctx, MetadataKey(t, v+1))
		if errors.Is(err, storage.ErrNotFound) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("iceberg %s: stat %s: %w", t.FullName(), MetadataKey(t, v+1), err)
		}
		v++
	}
	return v, nil
}

// ParseVersionName reads N from a metadata file name v<N>.metadata.json.
func ParseVersionName(name string) (int, bool) {
	s, ok := strings.CutSuffix(strings.TrimPrefix(name, "v"), ".metadata.json")
	if !ok || !strings.HasPrefix(name, "v") {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0
}

// readAll reads a whole object.
func readAll(ctx context.Context, store storage.Store, key string) ([]byte, error) {
	rc, _, err := store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// CurrentMetadata returns the URI of a table's newest metadata file; an
// error wrapping fs.ErrNotExist means the table was never published.
func CurrentMetadata(ctx context.Context, store storage.Store, t *schemas.Table) (string, error) {
	v, err := CurrentVersion(ctx, store, t)
	if err != nil {
		return "", err
	}
	if v == 0 {
		return "", fmt.Errorf("iceberg %s: no metadata under %s: %w; publish it: archtics catalog iceberg", t.FullName(), MetadataDirKey(t), fs.ErrNotExist)
	}
	return RootURI(store) + "/" + MetadataKey(t, v), nil
}

// RootURI is the absolute URI of a store's root: file:///abs/dir for a
// local folder, s3://bucket/prefix for S3. Iceberg metadata names data
// files by such URIs.
func RootURI(store storage.Store) string {
	u := strings.TrimSuffix(store.URL(), "/")
	if strings.HasPrefix(u, "/") {
		return "file://" + u
	}
	return u
}

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

// StoredTables are the tables with files (not views, not macros) the
// warehouse knows: schemas.All, known (a warehouse's own) and the per-team tables its
// streams imply, sorted by name.
func StoredTables(known []*schemas.Table, streams []string) []*schemas.Table {
	seen := map[string]bool{}
	var out []*schemas.Table
	for _, group := range [][]*schemas.Table{schemas.All, known, schemas.StreamTables(streams)} {
		for _, t := range group {
			if t.ViewSQL != "" || len(t.MacroParams) > 0 || seen[t.FullName()] {
				continue
			}
			seen[t.FullName()] = true
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FullName() < out[j].FullName() })
	return out
}

// PublishedTables are the Iceberg tables of a warehouse: every stored
// table (StoredTables) and the current state of every source table of
// the clone (schemas.Current: archtics.<t>), sorted by their SQL names.
func PublishedTables(known []*schemas.Table, streams []string) []*schemas.Table {
	out := StoredTables(known, streams)
	for _, t := range schemas.SourceTables {
		out = append(out, schemas.Current(t))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SQLName() < out[j].SQLName() })
	return out
}

// WarehouseEnv carries the warehouse's location to archtics-iceberg (the
// same variable as archtics' --warehouse).
const WarehouseEnv = "ARCHTICS_WAREHOUSE"

// TouchedTables are the tables a commit adds or retires files of: what a
// publish after it brings up to date.
func TouchedTables(c *txlog.Commit) []string {
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

// DefaultSQLCatalogName is the catalog_name of the SQL catalog's rows
// unless --sql-catalog-name says otherwise.
const DefaultSQLCatalogName = "archtics"

// PublishRequest is what a commit asks of a publisher: bring these tables
// up to date and, when SQLURI is set, point the SQL catalog's rows
// (catalog_name SQLCatalogName) at the new metadata.
type PublishRequest struct {
	Tables         []string
	SQLURI         string
	SQLCatalogName string
}

// OnCommitPublish registers the after-commit hook of a warehouse whose
// setting says its commits publish (archtics catalog iceberg): after each
// commit that touched tables it calls publish with them. The setting is
// read once, at the first commit: a command that commits nothing costs
// nothing, one that does costs a GET when Iceberg is off. DisableEnv=0
// turns the hook off for the process. A SQL catalog without SQLURIEnv
// still gets its metadata files published, and the hook says the catalog
// was not pointed.
func OnCommitPublish(l *txlog.Log, getenv func(string) string, publish func(context.Context, PublishRequest) error) {
	if getenv(DisableEnv) == "0" {
		return
	}
	var (
		once     sync.Once
		settings Settings
		readErr  error
	)
	l.OnCommit(func(ctx context.Context, c *txlog.Commit) error {
		once.Do(func() { settings, _, _, readErr = ReadSettings(ctx, l.Store) })
		if readErr != nil {
			return fmt.Errorf("iceberg: %w", readErr)
		}
		if !settings.Enabled {
			return nil
		}
		req := PublishRequest{Tables: TouchedTables(c)}
		if len(req.Tables) == 0 {
			return nil
		}
		var noPointer error
		if settings.Catalog == CatalogSQL {
			if uri := getenv(SQLURIEnv); uri == "" {
				noPointer = fmt.Errorf("iceberg: the warehouse publishes to a SQL catalog but %s is not set: the metadata files are published, the SQL catalog still points at the previous ones (set it, or run archtics catalog iceberg --catalog file)", SQLURIEnv)
			} else {
				req.SQLURI, req.SQLCatalogName = uri, settings.SQLCatalogName
			}
		}
		if err := publish(ctx, req); err != nil {
			return fmt.Errorf("iceberg: publish after %s seq %d (the commit stands; archtics catalog iceberg catches up): %w", c.Stream, c.Seq, err)
		}
		return noPointer
	})
}
