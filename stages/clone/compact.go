package clone

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"archtics/pipeline"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
)

// CompactRowGroupRows is the row-group length of the files a compaction
// writes: DuckDB's own (122,880 rows), the unit it scans in parallel and
// skips by min/max, so a key-sorted base lets a lookup by key read one
// row group per file.
const CompactRowGroupRows = 122_880

// CompactOptions tunes Compact.
type CompactOptions struct {
	// CacheDir is where the clone's committed files are materialized for
	// DuckDB; "" uses a temporary folder removed afterwards.
	CacheDir string
	// SpoolDir holds DuckDB's sorted output, its spill files and the
	// writers' spool files until upload; "" uses a temporary folder.
	SpoolDir string
	// RowGroupRows overrides CompactRowGroupRows (tests use small ones).
	RowGroupRows int64
	// MaxFileRows caps the rows of one written file (0: the writer's
	// default, 8 Mi rows): a table larger than that gets several files.
	MaxFileRows int64
	Logger      *slog.Logger
}

// CompactedTable says what a compaction did to one source table.
type CompactedTable struct {
	Table        string // the source table, schema.table
	Retired      int    // dump, change and base files retired
	RowsIn       int64  // rows of the retired files
	BaseRows     int64  // rows of the new base (tombstones included)
	ArchiveRows  int64  // versions added to the archive
	FilesWritten int
}

// CompactReport says what one Compact run did.
type CompactReport struct {
	Team   string
	Commit *txlog.Commit // nil when Unchanged
	// Unchanged: nothing was committed since the last compaction (no dump
	// or change file live, at most one acct_merge file), so nothing to do.
	Unchanged bool
	Tables    []CompactedTable
	// MergeFiles is how many acct_merge files were rewritten as one.
	MergeFiles int
}

// compactBatchID names a compaction by the head it folds: a run that
// crashed before its commit redoes the same batch (the same file names, as
// the output is sorted and so byte for byte the same), and a compaction of
// a later head is another batch.
func compactBatchID(headSeq int64) string { return fmt.Sprintf("compact-%d", headSeq) }

// Compact rewrites team's clone so that a current-state query reads a
// bounded number of files: in ONE commit on <team>/clone it writes, per
// source table with a live dump or change file, a new archtics_base.<t>
// (the winning version of every key over the dump, the old base and the
// changes, tombstones kept) and adds to archtics_archive.<t> every distinct
// version of the dump and change files it folds, and retires those files
// and the old base. It also rewrites the team's acct_merge files as one.
//
// What readers see does not change: archtics.<t> answers the same rows
// (the base keeps the rank and meta each winner won with, see
// schemas/clone_compact.go), archtics_history.<t> the same versions, and
// a reader as of an earlier commit still reads the retired files, which
// stay in the store until vacuum removes them past the retention.
//
// The commit keeps the watermark and the cursors (incrementals resume
// where they were) and expects the head it read: an incremental that
// committed meanwhile makes it fail with txlog.ErrCommitConflict, and a
// rerun folds that one too. With nothing new since the last compaction it
// commits nothing (Unchanged).
func Compact(ctx context.Context, w *pipeline.Warehouse, team string, opts CompactOptions) (*CompactReport, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	stream := CloneStream(team)
	head, err := w.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("compact %s: %w", team, err)
	}
	if head.Seq == 0 {
		return nil, fmt.Errorf("compact %s: the clone stream %s has no commit: load the team's dump first (load-dump)", team, stream)
	}
	rep := &CompactReport{Team: team}
	batch := compactBatchID(head.Seq)
	req := txlog.CommitRequest{
		Stream:    stream,
		Stage:     "compact",
		BatchID:   batch,
		ExpectSeq: head.NextSeq(),
		Summary:   map[string]int64{},
	}

	// Plan: which tables have something to fold, and the files retired.
	var fold []*schemas.Table
	for _, t := range schemas.SourceTables {
		dump, changed := head.TableFiles(t.FullName()), head.TableFiles(schemas.Changes(t).FullName())
		if len(dump)+len(changed) == 0 {
			continue
		}
		if based := head.TableFiles(schemas.Base(t).FullName()); len(dump) > 0 && len(based) > 0 {
			// The current view passes a key no change names straight from
			// the dump or the base (schemas.currentWinnersSQL): both live
			// would double it. No stage leaves them so; refuse to build on it.
			return nil, fmt.Errorf("compact %s: %s has both dump files (%s) and base files (%s) live at commit %d: the clone is inconsistent; reload the dump with load-dump --replace",
				team, t.Name, dump[0].Key, based[0].Key, head.Seq)
		}
		ct := CompactedTable{Table: t.FullName()}
		for _, files := range [][]txlog.FileEntry{dump, changed, head.TableFiles(schemas.Base(t).FullName())} {
			for _, e := range files {
				req.Retires = append(req.Retires, e.Ref())
				ct.Retired++
				ct.RowsIn += e.Rows
			}
		}
		fold = append(fold, t)
		rep.Tables = append(rep.Tables, ct)
	}
	merges := head.TableFiles(schemas.AcctMerge.FullName())
	if len(merges) > 1 {
		for _, e := range merges {
			req.Retires = append(req.Retires, e.Ref())
		}
		rep.MergeFiles = len(merges)
	}
	if len(fold) == 0 && rep.MergeFiles == 0 {
		rep.Unchanged = true
		logger.Info("compact: nothing committed since the last compaction", "team", team, "seq", head.Seq)
		return rep, nil
	}

	// Read exactly the state planned above, whatever commits meanwhile
	// (the commit then fails on ExpectSeq).
	cacheDir, spoolDir := opts.CacheDir, opts.SpoolDir
	if cacheDir == "" {
		if cacheDir, err = os.MkdirTemp("", "archtics-compact-cache-"); err != nil {
			return nil, fmt.Errorf("compact %s: cache folder: %w", team, err)
		}
		defer os.RemoveAll(cacheDir)
	}
	if spoolDir, err = os.MkdirTemp(spoolDir, "archtics-compact-"); err != nil {
		return nil, fmt.Errorf("compact %s: spool folder: %w", team, err)
	}
	defer os.RemoveAll(spoolDir)
	readViews := []*schemas.Table{schemas.AcctMerge}
	for _, t := range fold {
		readViews = append(readViews, schemas.Current(t))
	}
	reader := w.At(txlog.AsOf{Stream: stream, Seq: head.Seq})
	d, err := views.OpenViews(ctx, reader.Log, "", cacheDir, readViews...)
	if err != nil {
		return nil, fmt.Errorf("compact %s: open the clone at %s@%d: %w", team, stream, head.Seq, err)
	}
	defer d.Close()
	// DuckDB sorts and ranks the whole table: let it spill to the spool
	// folder rather than to a .tmp in the working directory.
	if _, err := d.ExecContext(ctx, "SET temp_directory = "+schemas.QuoteString(filepath.Join(spoolDir, "duckdb-tmp"))); err != nil {
		return nil, fmt.Errorf("compact %s: duckdb: %w", team, err)
	}

	rowGroup := opts.RowGroupRows
	if rowGroup <= 0 {
		rowGroup = CompactRowGroupRows
	}
	wopts := []pipeline.WriterOption{pipeline.WithRowGroupRows(rowGroup), pipeline.WithSpoolDir(spoolDir), pipeline.WithMaxFileRows(opts.MaxFileRows)}
	start := time.Now()
	c, err := w.WriteAndCommit(ctx, req, func(add func(t *schemas.Table) *pipeline.TableWriter) error {
		for i, t := range fold {
			ct := &rep.Tables[i]
			n, err := copyQuery(ctx, d.DB, spoolDir, schemas.CompactBaseSQL(t, team), add(schemas.Base(t)))
			if err != nil {
				return fmt.Errorf("%s of %s: %w", schemas.Base(t).SQLName(), team, err)
			}
			ct.BaseRows = n
			if n, err = copyQuery(ctx, d.DB, spoolDir, schemas.CompactArchiveSQL(t, team), add(schemas.Archive(t))); err != nil {
				return fmt.Errorf("%s of %s: %w", schemas.Archive(t).SQLName(), team, err)
			}
			ct.ArchiveRows = n
			req.Summary[t.Name+".retired"] = int64(ct.Retired)
			req.Summary[t.Name+".rows_in"] = ct.RowsIn
			req.Summary[t.Name+".base_rows"] = ct.BaseRows
			req.Summary[t.Name+".archive_rows"] = ct.ArchiveRows
		}
		if rep.MergeFiles > 0 {
			q := fmt.Sprintf("SELECT %s FROM %s WHERE team = %s ORDER BY loser_acct_id, detected_at, winner_acct_id",
				columnList(schemas.AcctMerge), schemas.AcctMerge.SQLName(), schemas.QuoteString(team))
			if _, err := copyQuery(ctx, d.DB, spoolDir, q, add(schemas.AcctMerge)); err != nil {
				return fmt.Errorf("%s of %s: %w", schemas.AcctMerge.SQLName(), team, err)
			}
		}
		return nil
	}, wopts...)
	if err != nil {
		return nil, fmt.Errorf("compact %s: %w", team, err)
	}
	rep.Commit = c
	for _, a := range c.Adds {
		for i, t := range fold {
			if a.Table == schemas.Base(t).FullName() || a.Table == schemas.Archive(t).FullName() {
				rep.Tables[i].FilesWritten++
			}
		}
	}
	logger.Info("compact: committed", "team", team, "seq", c.Seq, "batch", batch, "retired", len(c.Retires),
		"added", len(c.Adds), "took", time.Since(start).Round(time.Millisecond))
	return rep, nil
}

// columnList is t's columns, quoted, in declared order.
func columnList(t *schemas.Table) string {
	parts := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		parts[i] = schemas.QuoteIdent(c.Name)
	}
	return strings.Join(parts, ", ")
}

// copyQuery runs query (whose columns are tw's table's, in order) in
// DuckDB, which writes the sorted result to a spool Parquet file, and
// streams that file, one record batch at a time, through tw. DuckDB does
// the ranking and the sort (spilling to disk when it must); the table
// writer names, partitions and uploads the files as every stage's are.
// It returns the rows written.
func copyQuery(ctx context.Context, db *sql.DB, spoolDir, query string, tw *pipeline.TableWriter) (int64, error) {
	t := tw.Table()
	path := filepath.Join(spoolDir, strings.ReplaceAll(t.FullName(), ".", "_")+".parquet")
	if _, err := db.ExecContext(ctx, fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet)", query, schemas.QuoteString(path))); err != nil {
		return 0, fmt.Errorf("select the rows: %w", err)
	}
	defer os.Remove(path)
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return 0, fmt.Errorf("read DuckDB's output %s: %w", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: recordRows}, memory.DefaultAllocator)
	if err != nil {
		return 0, fmt.Errorf("read DuckDB's output %s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return 0, fmt.Errorf("read DuckDB's output %s: %w", path, err)
	}
	defer rr.Release()
	schema := t.ArrowSchema()
	if got := rr.Schema().NumFields(); got != schema.NumFields() {
		return 0, fmt.Errorf("DuckDB's output %s has %d columns, %s has %d", path, got, t.FullName(), schema.NumFields())
	}
	var n int64
	for rr.Next() {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		rec, err := conform(ctx, rr.RecordBatch(), schema)
		if err != nil {
			return n, fmt.Errorf("%s: %w", path, err)
		}
		err = tw.Write(rec)
		n += rec.NumRows()
		rec.Release()
		if err != nil {
			return n, err
		}
	}
	if err := rr.Err(); err != nil {
		return n, fmt.Errorf("read DuckDB's output %s: %w", path, err)
	}
	return n, nil
}

// conform gives rec the table's schema: the same columns in the same
// order, each cast where DuckDB's Parquet type reads back as another Arrow
// type than the table's (and the table's names and nullability).
func conform(ctx context.Context, rec arrow.RecordBatch, schema *arrow.Schema) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, schema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, f := range schema.Fields() {
		if name := rec.Schema().Field(i).Name; name != f.Name {
			return nil, fmt.Errorf("column %d is %q, want %q", i+1, name, f.Name)
		}
		col := rec.Column(i)
		if arrow.TypeEqual(col.DataType(), f.Type) {
			col.Retain()
			cols[i] = col
			continue
		}
		cast, err := compute.CastArray(ctx, col, compute.SafeCastOptions(f.Type))
		if err != nil {
			return nil, fmt.Errorf("column %s: %s to %s: %w", f.Name, col.DataType(), f.Type, err)
		}
		cols[i] = cast
	}
	return array.NewRecordBatch(schema, cols, rec.NumRows()), nil
}
