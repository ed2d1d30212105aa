package icebergcat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"

	"archtics/icebergcat/layout"
	"archtics/schemas"
	"archtics/storage"
)

// ErrConflict is wrapped when another publisher wrote the metadata version
// this one wanted: nothing of this attempt is visible; publish again.
var ErrConflict = errors.New("another publisher wrote this Iceberg metadata version first")

// tableState is one Iceberg table as a publisher holds it: the metadata
// of the newest version on the store (version 0: none yet) and, while a
// publish runs, the snapshots applied in memory since, written as the
// next version by flush.
type tableState struct {
	def      *schemas.Table
	version  int            // newest version on the store, 0 if none
	location string         // its metadata file's URI ("" if none)
	stored   table.Metadata // its metadata (nil if none)
	meta     table.Metadata // the metadata with the snapshots applied since
	dirty    bool
}

// fileCatalog keeps each table's metadata files in the warehouse's store.
// It is table.CatalogIO for iceberg-go's transactions: a commit applies
// the transaction's updates to the metadata in memory, and flush writes
// the result as the next version, create-if-absent, so two publishers
// cannot both write version N (the loser gets ErrConflict) and a crash
// before the flush leaves the previous version current and readable.
type fileCatalog struct {
	io     *storeIO
	tables map[string]*tableState // by Iceberg identifier: the SQL name "schema.table"
}

func newFileCatalog(ctx context.Context, store storage.Store) *fileCatalog {
	return &fileCatalog{io: &storeIO{ctx: ctx, store: store, root: layout.RootURI(store)}, tables: map[string]*tableState{}}
}

func (c *fileCatalog) uri(key string) string { return c.io.root + "/" + key }

func (c *fileCatalog) fsF() table.FSysF {
	return func(context.Context) (icebergio.IO, error) { return c.io, nil }
}

// metadataLocation is the URI of a table's metadata file of version v.
func (c *fileCatalog) metadataLocation(t *schemas.Table, v int) string {
	return c.uri(layout.MetadataKey(t, v))
}

// load reads a table's newest metadata (none: stored nil).
func (c *fileCatalog) load(ctx context.Context, t *schemas.Table) (*tableState, error) {
	v, err := layout.CurrentVersion(ctx, c.io.store, t)
	if err != nil {
		return nil, err
	}
	st := &tableState{def: t, version: v}
	if v > 0 {
		st.location = c.metadataLocation(t, v)
		data, err := c.io.ReadFile(st.location)
		if err != nil {
			return nil, fmt.Errorf("iceberg %s: read %s: %w", t.SQLName(), layout.MetadataKey(t, v), err)
		}
		if st.stored, err = table.ParseMetadataBytes(data); err != nil {
			return nil, fmt.Errorf("iceberg %s: %s is not Iceberg table metadata (rebuild it: archtics catalog iceberg --rebuild): %w", t.SQLName(), layout.MetadataKey(t, v), err)
		}
		st.meta = st.stored
	}
	c.tables[t.SQLName()] = st
	return st, nil
}

// fresh starts a table's metadata anew in memory (no snapshot), keeping
// the table's UUID when an earlier version had one, so engines that
// registered the table accept the new metadata.
func (c *fileCatalog) fresh(st *tableState) error {
	t := st.def
	sc, spec, err := tableSchema(t)
	if err != nil {
		return err
	}
	nm, err := nameMapping(t, sc)
	if err != nil {
		return fmt.Errorf("iceberg %s: name mapping: %w", t.SQLName(), err)
	}
	props := iceberg.Properties{
		table.PropertyFormatVersion:        "2",
		table.DefaultNameMappingKey:        nm,
		propTable:                          t.FullName(),
		"comment":                          oneLine(t.Doc),
		"write.metadata.compression-codec": "none",
		// Merge small manifests as snapshots accumulate (a realtime
		// table gets one per three-minute tick), so planning a scan
		// reads a bounded number of manifests.
		table.ManifestMergeEnabledKey:  "true",
		table.ManifestMinMergeCountKey: "16",
	}
	id := uuid.Nil
	if st.stored != nil {
		id = st.stored.TableUUID()
	}
	meta, err := table.NewMetadataWithUUID(sc, spec, table.UnsortedSortOrder, c.uri(strings.TrimSuffix(layout.TableDirKey(t), "/")), props, id)
	if err != nil {
		return fmt.Errorf("iceberg %s: new metadata: %w", t.SQLName(), err)
	}
	st.meta = meta
	st.dirty = true
	return nil
}

// propTable is the table property naming the archtics table (its
// identity, schemas.Table.FullName) the Iceberg table was published for.
const propTable = "archtics.table"

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// icebergTable is the table.Table iceberg-go transactions run on.
func (c *fileCatalog) icebergTable(st *tableState) *table.Table {
	return table.New(table.Identifier{st.def.SQLSchema(), st.def.Name}, st.meta, st.location, c.fsF(), c)
}

// LoadTable implements table.CatalogIO.
func (c *fileCatalog) LoadTable(ctx context.Context, ident table.Identifier) (*table.Table, error) {
	st, ok := c.tables[strings.Join(ident, ".")]
	if !ok || st.meta == nil {
		return nil, fmt.Errorf("iceberg table %s is not loaded by this publisher", strings.Join(ident, "."))
	}
	return c.icebergTable(st), nil
}

// CommitTable implements table.CatalogIO: it checks the transaction's
// requirements against the table's metadata in memory and applies its
// updates there; flush writes them.
func (c *fileCatalog) CommitTable(ctx context.Context, ident table.Identifier, reqs []table.Requirement, updates []table.Update) (table.Metadata, string, error) {
	st, ok := c.tables[strings.Join(ident, ".")]
	if !ok || st.meta == nil {
		return nil, "", fmt.Errorf("iceberg table %s is not loaded by this publisher", strings.Join(ident, "."))
	}
	for _, r := range reqs {
		if err := r.Validate(st.meta); err != nil {
			return nil, "", fmt.Errorf("iceberg %s: %w", st.def.SQLName(), err)
		}
	}
	// The metadata log names only files on the store: the previous
	// version for the first update after it, none for the in-memory steps.
	prev := ""
	if !st.dirty {
		prev = st.location
	}
	updated, err := table.UpdateTableMetadata(st.meta, updates, prev)
	if err != nil {
		return nil, "", fmt.Errorf("iceberg %s: apply the snapshot: %w", st.def.SQLName(), err)
	}
	st.meta, st.dirty = updated, true
	return updated, st.location, nil
}

// flush writes a table's metadata, if it changed, as the next version
// (create-if-absent), then moves the version hint forward.
func (c *fileCatalog) flush(ctx context.Context, st *tableState) error {
	if !st.dirty {
		return nil
	}
	t := st.def
	data, err := json.Marshal(st.meta)
	if err != nil {
		return fmt.Errorf("iceberg %s: encode metadata: %w", t.SQLName(), err)
	}
	next := st.version + 1
	key := layout.MetadataKey(t, next)
	if _, err := c.io.store.PutIfAbsent(ctx, key, bytes.NewReader(data), int64(len(data))); err != nil {
		if errors.Is(err, storage.ErrExists) {
			return fmt.Errorf("iceberg %s: %s: %w; publish again", t.SQLName(), key, ErrConflict)
		}
		return fmt.Errorf("iceberg %s: write %s: %w", t.SQLName(), key, err)
	}
	st.version, st.location, st.stored, st.dirty = next, c.uri(key), st.meta, false
	if err := c.writeHint(ctx, t, next); err != nil {
		// The hint is a shortcut: readers probe forward from it.
		return fmt.Errorf("iceberg %s: version %d written, but the version hint not: %w", t.SQLName(), next, err)
	}
	return nil
}

// writeHint moves version-hint.text forward (never back) with
// compare-and-swap.
func (c *fileCatalog) writeHint(ctx context.Context, t *schemas.Table, v int) error {
	key := layout.HintKey(t)
	for attempt := 0; attempt < 3; attempt++ {
		etag := ""
		rc, info, err := c.io.store.Get(ctx, key)
		switch {
		case err == nil:
			var buf bytes.Buffer
			_, rerr := buf.ReadFrom(rc)
			rc.Close()
			if rerr != nil {
				return fmt.Errorf("read %s: %w", key, rerr)
			}
			if cur, _ := strconv.Atoi(strings.TrimSpace(buf.String())); cur >= v {
				return nil
			}
			etag = info.ETag
		case errors.Is(err, storage.ErrNotFound):
		default:
			return fmt.Errorf("read %s: %w", key, err)
		}
		_, err = c.io.store.CompareAndSwap(ctx, key, []byte(strconv.Itoa(v)), etag)
		if err == nil {
			return nil
		}
		if !errors.Is(err, storage.ErrConflict) && !errors.Is(err, storage.ErrExists) {
			return fmt.Errorf("write %s: %w", key, err)
		}
	}
	return fmt.Errorf("write %s: lost the race three times", key)
}

// Table opens a table's newest published Iceberg metadata for reading
// (iceberg-go's scanner reads the data files through the warehouse's
// store). It returns the metadata file's URI too; an error wrapping
// fs.ErrNotExist means the table was never published.
func Table(ctx context.Context, store storage.Store, t *schemas.Table) (*table.Table, string, error) {
	cat := newFileCatalog(ctx, store)
	st, err := cat.load(ctx, t)
	if err != nil {
		return nil, "", err
	}
	if st.stored == nil {
		return nil, "", fmt.Errorf("iceberg %s: no metadata under %s: %w; publish it: archtics catalog iceberg", t.SQLName(), layout.MetadataDirKey(t), fs.ErrNotExist)
	}
	return cat.icebergTable(st), st.location, nil
}
