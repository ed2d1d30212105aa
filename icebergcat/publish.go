// Package icebergcat publishes the warehouse's tables as Apache Iceberg
// tables (format v2) over the same Parquet files, so Trino, Spark,
// Snowflake, Athena and DuckDB read exactly the committed files.
//
// The commit log stays the only truth. Each Iceberg snapshot is one of our
// commits that touched the table, its summary naming it (archtics.stream,
// archtics.seq, archtics.commit_id) and where every owning stream of the
// table stood (archtics.positions). Publishing is an idempotent catch-up:
// the newest snapshot says which commits are published, and each later
// commit of an owning stream that touched the table becomes one snapshot:
// its added files are registered as they are (AddDataFiles, no rewrite),
// its retired files are removed (an overwrite snapshot that deletes them;
// the files themselves go only through archtics vacuum). A crash between
// our commit and the publish leaves Iceberg behind, never ahead; the next
// publish catches up, and Rebuild writes fresh metadata from the whole log.
package icebergcat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"archtics/icebergcat/layout"
	"archtics/pipeline/txlog"
	"archtics/schemas"
)

// Snapshot summary keys recording the commit a snapshot publishes.
const (
	SummaryStream      = "archtics.stream"
	SummarySeq         = "archtics.seq"
	SummaryCommitID    = "archtics.commit_id"
	SummaryBatchID     = "archtics.batch_id"
	SummaryStage       = "archtics.stage"
	SummaryCommittedAt = "archtics.committed_at"
	// SummaryPositions is a JSON object: owning stream → the seq of its
	// last commit the snapshot includes.
	SummaryPositions = "archtics.positions"
	// SummaryEmptyFile names the empty data file (its key) a snapshot of
	// a table without files lists; the next snapshot removes it.
	SummaryEmptyFile = "archtics.empty_file"
	// SummaryFiles is, on a current-state table's snapshot, the SHA-256
	// of the sorted keys of the stored files it lists (current.go).
	SummaryFiles = "archtics.files"
)

// DefaultFlushEvery is how many commits a publish applies in memory before
// writing a metadata version: a long catch-up (a rebuild over months of
// ticks) writes a version every so often, so an interrupted one keeps most
// of its work, without writing one metadata file per commit.
const DefaultFlushEvery = 200

// Options configure Publish.
type Options struct {
	// Tables limits the publish to these tables (schema.table); empty:
	// every stored table.
	Tables []string
	// Rebuild writes every table's metadata afresh from the whole log, as
	// the next version (the table's UUID kept), whatever the current
	// metadata says.
	Rebuild bool
	// FlushEvery: commits per metadata version written (default
	// DefaultFlushEvery).
	FlushEvery int
	// Pointer, when set, is told each table's newest metadata file after
	// it is written (the SQL catalog).
	Pointer Pointer
	// Progress, when set, is called after each table.
	Progress func(TableResult)
	// CurrentStateOut finds the rows of a current state's files that are
	// not in it, which the current-state tables delete: views.CurrentStateOut
	// (DuckDB), given by the program that publishes so that this package
	// links no SQL engine. Required to publish a current-state table.
	CurrentStateOut func(ctx context.Context, w *txlog.Log, cacheDir string, st *txlog.State, src *schemas.Table, each func(team, key string, pos int64) error) error
	// CacheDir is where CurrentStateOut caches the files of a remote
	// warehouse ("" is enough for a local folder).
	CacheDir string
	// KeepSnapshots: snapshots published longer ago than this are expired
	// from the metadata (the newest always stays), which otherwise grows by
	// a snapshot per commit for ever (a realtime table: one per tick). Zero
	// means txlog.DefaultRetention, the reach of our own time travel,
	// after which vacuum may delete the files old snapshots name; negative
	// keeps every snapshot. Expiry never deletes a file.
	KeepSnapshots time.Duration
}

// Pointer records where a table's current metadata file is, for catalogs
// that keep a pointer (the SQL catalog: Spark's and Trino's JDBC catalog).
type Pointer interface {
	Point(ctx context.Context, t *schemas.Table, metadataLocation string) error
}

// TableResult is what Publish did to one table.
type TableResult struct {
	Table            string
	Snapshots        int    // snapshots added by this publish
	Version          int    // the newest metadata version
	MetadataLocation string // its URI
	Positions        map[string]int64
}

// Publish brings the Iceberg metadata of the warehouse's stored tables up
// to the commit log's heads. It reads the log only; concurrent publishers
// of one table are safe (the loser of a metadata version retries from the
// winner's snapshot, which says what is published).
func Publish(ctx context.Context, w *txlog.Log, opt Options) ([]TableResult, error) {
	if w.AsOfPoint().Set() {
		return nil, fmt.Errorf("iceberg publish: %w", txlog.ErrReadOnly)
	}
	if opt.FlushEvery <= 0 {
		opt.FlushEvery = DefaultFlushEvery
	}
	streams, err := w.Streams(ctx)
	if err != nil {
		return nil, fmt.Errorf("iceberg publish: %w", err)
	}
	tables, err := selectTables(w, streams, opt.Tables)
	if err != nil {
		return nil, err
	}
	log := &commitReader{w: w, byStream: map[string]*streamCommits{}}
	var out []TableResult
	for _, t := range tables {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		var res TableResult
		for attempt := 1; ; attempt++ {
			if src, ok := schemas.CurrentOf(t); ok {
				res, err = publishCurrent(ctx, w, t, src, opt)
			} else {
				res, err = publishTable(ctx, w, log, t, txlog.OwningStreams(streams, t), opt)
			}
			if err == nil || !errors.Is(err, ErrConflict) || attempt == 3 {
				break
			}
		}
		if err != nil {
			return out, err
		}
		if opt.Pointer != nil && res.MetadataLocation != "" {
			if err := opt.Pointer.Point(ctx, t, res.MetadataLocation); err != nil {
				return out, fmt.Errorf("iceberg %s: point the SQL catalog at %s: %w", t.SQLName(), res.MetadataLocation, err)
			}
		}
		out = append(out, res)
		if opt.Progress != nil {
			opt.Progress(res)
		}
	}
	return out, nil
}

// selectTables picks the tables to publish: every Iceberg table, or
// those named (stored tables by their names in commits, schema.table as
// stored) and the current state of each source table whose files a named
// table holds (a commit to archtics_changes.cust changes archtics.cust).
func selectTables(w *txlog.Log, streams, names []string) ([]*schemas.Table, error) {
	all := layout.PublishedTables(w.Tables, streams)
	if len(names) == 0 {
		return all, nil
	}
	byName := map[string]*schemas.Table{}
	for _, t := range all {
		byName[t.FullName()] = t
	}
	want := map[*schemas.Table]bool{}
	for _, n := range names {
		t, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("iceberg publish: %q is not a stored table of the warehouse (views are not Iceberg tables)", n)
		}
		want[t] = true
		for _, src := range schemas.SourceTables {
			for _, part := range schemas.CurrentParts(src) {
				if part == t {
					want[schemas.Current(src)] = true
				}
			}
		}
	}
	var out []*schemas.Table
	for _, t := range all {
		if want[t] {
			out = append(out, t)
		}
	}
	return out, nil
}

// publishTable catches one table up with the log.
func publishTable(ctx context.Context, w *txlog.Log, log *commitReader, t *schemas.Table, streams []string, opt Options) (TableResult, error) {
	cat := newFileCatalog(ctx, w.Store)
	st, err := cat.load(ctx, t)
	if err != nil {
		return TableResult{}, err
	}
	positions := map[string]int64{}
	if opt.Rebuild || st.stored == nil || !ownMetadata(st) {
		if err := cat.fresh(st); err != nil {
			return TableResult{}, err
		}
	} else if positions, err = PositionsOf(st.meta.CurrentSnapshot()); err != nil {
		return TableResult{}, fmt.Errorf("iceberg %s: %s: %w (rebuild it: archtics catalog iceberg --rebuild)", t.SQLName(), st.location, err)
	} else if err := sameSchema(t, st.meta.CurrentSchema()); err != nil {
		return TableResult{}, fmt.Errorf("iceberg %s: %s: %w: the definition changed since it was published; rebuild it: archtics catalog iceberg --rebuild", t.SQLName(), st.location, err)
	}
	var pending []*txlog.Commit
	for _, s := range streams {
		cs, err := log.after(ctx, s, positions[s])
		if err != nil {
			return TableResult{}, fmt.Errorf("iceberg %s: %w", t.SQLName(), err)
		}
		for _, c := range cs {
			if c.Touches(t.FullName()) {
				pending = append(pending, c)
			}
		}
	}
	// One order for every publisher: commit time, then stream, then seq
	// (commit times never decrease within a stream).
	sort.SliceStable(pending, func(i, j int) bool {
		a, b := pending[i], pending[j]
		if !a.CommittedAt.Equal(b.CommittedAt) {
			return a.CommittedAt.Before(b.CommittedAt)
		}
		if a.Stream != b.Stream {
			return a.Stream < b.Stream
		}
		return a.Seq < b.Seq
	})
	res := TableResult{Table: t.SQLName()}
	for i, c := range pending {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		positions[c.Stream] = c.Seq
		if err := applyCommit(ctx, cat, st, c, positions); err != nil {
			return res, err
		}
		res.Snapshots++
		if (i+1)%opt.FlushEvery == 0 {
			if err := cat.flush(ctx, st); err != nil {
				return res, err
			}
		}
	}
	if st.meta.CurrentSnapshot() == nil {
		if err := publishEmpty(ctx, cat, st, positions); err != nil {
			return res, err
		}
		res.Snapshots++
	}
	if err := expireSnapshots(ctx, cat, st, opt.KeepSnapshots); err != nil {
		return res, err
	}
	if err := cat.flush(ctx, st); err != nil {
		return res, err
	}
	res.Version, res.MetadataLocation, res.Positions = st.version, st.location, positions
	return res, nil
}

// publishEmpty gives a table with no committed file a snapshot listing an
// empty data file (files.go), so that every reader finds a current
// snapshot; positions say where the owning streams stand (nowhere).
func publishEmpty(ctx context.Context, cat *fileCatalog, st *tableState, positions map[string]int64) error {
	df, key, err := emptyDataFile(ctx, cat, st.def, st.meta.PartitionSpec())
	if err != nil {
		return err
	}
	pos, err := json.Marshal(positions)
	if err != nil {
		return err
	}
	txn := cat.icebergTable(st).NewTransaction()
	props := iceberg.Properties{SummaryPositions: string(pos), SummaryEmptyFile: key}
	if err := txn.AddDataFiles(ctx, []iceberg.DataFile{df}, props, table.WithoutDuplicateCheck()); err != nil {
		return fmt.Errorf("iceberg %s: the empty snapshot: %w", st.def.SQLName(), err)
	}
	if _, err := txn.Commit(ctx); err != nil {
		return fmt.Errorf("iceberg %s: the empty snapshot: %w", st.def.SQLName(), err)
	}
	return nil
}

// liveDataFiles is how many data files the table's current snapshot
// lists (its summary's total), -1 when it does not say.
func liveDataFiles(st *tableState) int {
	cur := st.meta.CurrentSnapshot()
	if cur == nil {
		return 0
	}
	if cur.Summary == nil {
		return -1
	}
	n, err := strconv.Atoi(cur.Summary.Properties["total-data-files"])
	if err != nil {
		return -1
	}
	return n
}

// emptyFileOf is the URI of the empty data file the current snapshot
// lists, if it lists one (an empty table's, or one whose files were all
// retired).
func emptyFileOf(cat *fileCatalog, st *tableState) string {
	cur := st.meta.CurrentSnapshot()
	if cur == nil || cur.Summary == nil || cur.Summary.Properties[SummaryEmptyFile] == "" {
		return ""
	}
	return cat.uri(cur.Summary.Properties[SummaryEmptyFile])
}

// ownMetadata says whether a table's stored metadata was published for
// this table: metadata under the same name for another table (the dump's,
// published under archtics.<t> by earlier versions of the publisher) is
// replaced by the table's own, as its next version.
func ownMetadata(st *tableState) bool {
	return st.stored.Properties()[propTable] == st.def.FullName()
}

// PositionsOf reads where each owning stream stood at a snapshot (nil
// snapshot: nowhere).
func PositionsOf(s *table.Snapshot) (map[string]int64, error) {
	out := map[string]int64{}
	if s == nil {
		return out, nil
	}
	if s.Summary == nil || s.Summary.Properties[SummaryPositions] == "" {
		return nil, fmt.Errorf("snapshot %d has no %s in its summary: it was not written by archtics", s.SnapshotID, SummaryPositions)
	}
	if err := json.Unmarshal([]byte(s.Summary.Properties[SummaryPositions]), &out); err != nil {
		return nil, fmt.Errorf("snapshot %d: %s: %w", s.SnapshotID, SummaryPositions, err)
	}
	return out, nil
}

// applyCommit adds one snapshot for commit c to the table in memory.
func applyCommit(ctx context.Context, cat *fileCatalog, st *tableState, c *txlog.Commit, positions map[string]int64) error {
	t := st.def
	spec := st.meta.PartitionSpec()
	retired := map[string]bool{}
	for _, r := range c.Retires {
		if r.Table == t.FullName() {
			retired[r.Key] = true
		}
	}
	var adds, dels []iceberg.DataFile
	readded := map[string]bool{}
	for _, a := range c.Adds {
		if a.Table != t.FullName() {
			continue
		}
		if retired[a.Key] {
			// Retired and added again in one commit (the same bytes
			// under the same name): live before and after.
			readded[a.Key] = true
			continue
		}
		df, err := dataFile(cat, t, spec, a)
		if err != nil {
			return fmt.Errorf("iceberg %s: commit %s seq %d: %w", t.SQLName(), c.Stream, c.Seq, err)
		}
		adds = append(adds, df)
	}
	var gone []string
	for key := range retired {
		if !readded[key] {
			gone = append(gone, cat.uri(key))
		}
	}
	if empty := emptyFileOf(cat, st); empty != "" {
		gone = append(gone, empty)
	}
	for _, uri := range gone {
		b, err := iceberg.NewDataFileBuilder(spec, iceberg.EntryContentData, uri, iceberg.ParquetFile, nil, nil, nil, 0, 0)
		if err != nil {
			return fmt.Errorf("iceberg %s: commit %s seq %d: retire %s: %w", t.SQLName(), c.Stream, c.Seq, uri, err)
		}
		dels = append(dels, b.Build())
	}
	sort.Slice(dels, func(i, j int) bool { return dels[i].FilePath() < dels[j].FilePath() })
	pos, err := json.Marshal(positions)
	if err != nil {
		return err
	}
	props := iceberg.Properties{
		SummaryStream:      c.Stream,
		SummarySeq:         strconv.FormatInt(c.Seq, 10),
		SummaryCommitID:    c.CommitID,
		SummaryBatchID:     c.BatchID,
		SummaryStage:       c.Stage,
		SummaryCommittedAt: c.CommittedAt.UTC().Format(time.RFC3339Nano),
		SummaryPositions:   string(pos),
	}
	if live := liveDataFiles(st); len(dels) > 0 && live >= 0 && live-len(dels)+len(adds) <= 0 {
		// The commit retires the table's last files (an expiry): the
		// snapshot lists the empty file, as an empty table's does,
		// because some readers refuse a snapshot without a data file.
		df, key, err := emptyDataFile(ctx, cat, t, spec)
		if err != nil {
			return err
		}
		adds, props[SummaryEmptyFile] = append(adds, df), key
	}
	txn := cat.icebergTable(st).NewTransaction()
	// Our log never adds a file that is live (pipeline checks every
	// commit), so iceberg-go's duplicate check, which reads every
	// manifest of the table, is skipped.
	switch {
	case len(dels) == 0:
		if len(adds) == 0 {
			// The commit re-added what it retired: nothing changes for
			// readers, so no snapshot (a later publish meets it again
			// and again changes nothing).
			return nil
		}
		err = txn.AddDataFiles(ctx, adds, props, table.WithoutDuplicateCheck())
	default:
		err = txn.ReplaceDataFilesWithDataFiles(ctx, dels, adds, props, table.WithoutDuplicateCheck())
	}
	if err != nil {
		return fmt.Errorf("iceberg %s: commit %s seq %d (%d added, %d retired): %w; if the Iceberg metadata no longer follows the log, rebuild it: archtics catalog iceberg --rebuild",
			t.FullName(), c.Stream, c.Seq, len(adds), len(dels), err)
	}
	if _, err := txn.Commit(ctx); err != nil {
		return fmt.Errorf("iceberg %s: commit %s seq %d: %w", t.SQLName(), c.Stream, c.Seq, err)
	}
	return nil
}

// dataFile describes a committed file for Iceberg: its URI, row count,
// size and partition tuple (the Hive path's values, which the file does
// not hold).
func dataFile(cat *fileCatalog, t *schemas.Table, spec iceberg.PartitionSpec, e txlog.FileEntry) (iceberg.DataFile, error) {
	part := map[int]any{}
	for _, f := range spec.Fields() {
		text, ok := e.Partition[f.Name]
		if !ok {
			return nil, fmt.Errorf("file %s has no value for partition column %s", e.Key, f.Name)
		}
		v, err := partitionValue(t, f.Name, text)
		if err != nil {
			return nil, fmt.Errorf("file %s: %w", e.Key, err)
		}
		part[f.FieldID] = v
	}
	b, err := iceberg.NewDataFileBuilder(spec, iceberg.EntryContentData, cat.uri(e.Key), iceberg.ParquetFile, part, nil, nil, e.Rows, e.Bytes)
	if err != nil {
		return nil, fmt.Errorf("file %s: %w", e.Key, err)
	}
	return b.Build(), nil
}

// commitReader reads each stream's commits once per publish, from the
// lowest position any table needs.
type commitReader struct {
	w        *txlog.Log
	byStream map[string]*streamCommits
}

type streamCommits struct {
	from    int64           // commits after this seq are held
	commits []*txlog.Commit // ascending
}

func (r *commitReader) after(ctx context.Context, stream string, seq int64) ([]*txlog.Commit, error) {
	if sc, ok := r.byStream[stream]; ok && sc.from <= seq {
		i := sort.Search(len(sc.commits), func(i int) bool { return sc.commits[i].Seq > seq })
		return sc.commits[i:], nil
	}
	var got []*txlog.Commit
	stop := errors.New("stop")
	err := r.w.Commits(ctx, txlog.LogQuery{Stream: stream}, func(c *txlog.Commit) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if c.Seq <= seq {
			return stop
		}
		got = append(got, c)
		return nil
	})
	if err != nil && !errors.Is(err, stop) {
		return nil, fmt.Errorf("read the log of %s: %w", stream, err)
	}
	for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
		got[i], got[j] = got[j], got[i]
	}
	r.byStream[stream] = &streamCommits{from: seq, commits: got}
	return got, nil
}

// sameSchema checks that a published schema has t's columns, names and
// types in order (a definition changed since needs a rebuild: schema
// evolution is not published).
func sameSchema(t *schemas.Table, published *iceberg.Schema) error {
	want, _, err := tableSchema(t)
	if err != nil {
		return err
	}
	got, exp := published.Fields(), want.Fields()
	if len(got) != len(exp) {
		return fmt.Errorf("the published schema has %d columns, the definition %d", len(got), len(exp))
	}
	for i := range exp {
		if got[i].Name != exp[i].Name || !got[i].Type.Equals(exp[i].Type) {
			return fmt.Errorf("column %d is %s %s in the published schema, %s %s in the definition", i+1, got[i].Name, got[i].Type, exp[i].Name, exp[i].Type)
		}
	}
	return nil
}

// expireSnapshots drops from the metadata the snapshots published longer
// ago than keep (but the newest), only when there are some, so a publish
// with nothing to do writes nothing. Nothing is deleted from the store.
func expireSnapshots(ctx context.Context, cat *fileCatalog, st *tableState, keep time.Duration) error {
	if keep == 0 {
		keep = txlog.DefaultRetention
	}
	if keep < 0 || st.meta == nil {
		return nil
	}
	cur := st.meta.CurrentSnapshot()
	cutoff := time.Now().Add(-keep).UnixMilli()
	old := false
	for _, s := range st.meta.Snapshots() {
		if cur != nil && s.SnapshotID != cur.SnapshotID && s.TimestampMs < cutoff {
			old = true
			break
		}
	}
	if !old {
		return nil
	}
	txn := cat.icebergTable(st).NewTransaction()
	if err := txn.ExpireSnapshots(table.WithOlderThan(keep), table.WithRetainLast(1), table.WithPostCommit(false)); err != nil {
		return fmt.Errorf("iceberg %s: expire snapshots older than %s: %w", st.def.SQLName(), keep, err)
	}
	if _, err := txn.Commit(ctx); err != nil {
		return fmt.Errorf("iceberg %s: expire snapshots older than %s: %w", st.def.SQLName(), keep, err)
	}
	return nil
}
