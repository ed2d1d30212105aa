package realtime

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"archtics/pipeline"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
)

// DefaultRollupFiles is how many files a partition may hold before a
// roll-up merges them: twenty three-minute ticks, an hour of a game.
const DefaultRollupFiles = 20

// RollupReport says what a roll-up did.
type RollupReport struct {
	Team       string
	Partitions int // (table, event date) partitions rolled up
	FilesIn    int
	FilesOut   int
	Rows       int64
	Commit     *txlog.Commit // nil when no partition had enough files
}

// Rollup merges the files of each of team's realtime partitions (table,
// event date) holding at least minFiles (0: DefaultRollupFiles) into one
// file, retiring them, in one commit on {team}/realtime (stage
// "realtime-rollup") that neither moves the watermark nor the cursors:
// the rows stay the same, a seven-day query reads tens of files instead
// of thousands. The batch id names the head it started from, so a rerun
// after a crash writes the same files and commits once; a tick that
// committed meanwhile makes it fail with txlog.ErrCommitConflict
// (rerun it). cacheDir is the verified local cache (needed for S3).
func Rollup(ctx context.Context, w *pipeline.Warehouse, team string, minFiles int, cacheDir string, opts ...pipeline.WriterOption) (*RollupReport, error) {
	if minFiles <= 0 {
		minFiles = DefaultRollupFiles
	}
	if minFiles < 2 {
		minFiles = 2
	}
	rep := &RollupReport{Team: team}
	stream := Stream(team)
	head, err := w.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("roll up %s: %w", team, err)
	}
	type part struct {
		t     *schemas.Table
		files []txlog.FileEntry
	}
	var parts []part
	for _, t := range stored {
		by := map[string][]txlog.FileEntry{}
		for _, e := range head.TableFiles(t.FullName()) {
			by[e.Partition["event_date"]] = append(by[e.Partition["event_date"]], e)
		}
		var dates []string
		for d, fs := range by {
			if len(fs) >= minFiles {
				dates = append(dates, d)
			}
		}
		sort.Strings(dates)
		for _, d := range dates {
			parts = append(parts, part{t, by[d]})
		}
	}
	if len(parts) == 0 {
		return rep, nil
	}
	var tables []*schemas.Table
	for _, p := range parts {
		if len(tables) == 0 || tables[len(tables)-1] != p.t {
			tables = append(tables, p.t)
		}
	}
	findPath, err := materializedPaths(ctx, w, cacheDir, tables...)
	if err != nil {
		return nil, fmt.Errorf("roll up %s: %w", team, err)
	}
	var retires []txlog.FileRef
	for _, p := range parts {
		for _, e := range p.files {
			retires = append(retires, e.Ref())
		}
	}
	req := txlog.CommitRequest{
		Stream: stream, Stage: "realtime-rollup", BatchID: fmt.Sprintf("rollup-%d", head.Seq), ExpectSeq: head.Seq + 1,
		Retires: retires,
	}
	c, err := w.WriteAndCommit(ctx, req, func(add func(*schemas.Table) *pipeline.TableWriter) error {
		for _, p := range parts {
			rep.Partitions++
			for _, e := range p.files {
				if err := ctx.Err(); err != nil {
					return err
				}
				path, err := findPath(e.Key)
				if err != nil {
					return err
				}
				n, err := copyFile(ctx, add(p.t), p.t, path, e.Partition, nil)
				if err != nil {
					return fmt.Errorf("read %s: %w", e.Key, err)
				}
				if n != e.Rows {
					return fmt.Errorf("read %s: %d rows, its commit says %d", e.Key, n, e.Rows)
				}
				rep.FilesIn++
				rep.Rows += n
			}
		}
		return nil
	}, append([]pipeline.WriterOption{pipeline.WithMaxFileRows(1 << 30)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("roll up %s: %w", team, err)
	}
	rep.Commit = c
	if !c.Existing {
		rep.FilesOut = len(c.Adds)
	}
	return rep, nil
}

// materializedPaths materializes the committed files of tables in
// cacheDir (views.Materialize) and returns where each file, by its key,
// is there.
func materializedPaths(ctx context.Context, w *pipeline.Warehouse, cacheDir string, tables ...*schemas.Table) (func(key string) (string, error), error) {
	local, err := views.Materialize(ctx, w.Log, cacheDir, tables...)
	if err != nil {
		return nil, err
	}
	pathOf := map[string]string{}
	for _, t := range tables {
		for _, p := range local[t.FullName()] {
			pathOf[filepath.ToSlash(p)] = p
		}
	}
	return func(key string) (string, error) {
		for s, p := range pathOf {
			if strings.HasSuffix(s, "/"+key) {
				return p, nil
			}
		}
		return "", fmt.Errorf("file %s was not materialized", key)
	}, nil
}

// copyFile writes the rows of one committed Parquet file of t (its file
// columns) to tw, adding the partition columns back from partition.
// replace, when set, gives for each record the columns to write instead
// of the file's, by name; copyFile releases them.
func copyFile(ctx context.Context, tw *pipeline.TableWriter, t *schemas.Table, path string, partition map[string]string,
	replace func(arrow.RecordBatch) (map[string]arrow.Array, error)) (int64, error) {
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		return 0, err
	}
	defer rdr.Close()
	mem := memory.DefaultAllocator
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 64 * 1024}, mem)
	if err != nil {
		return 0, err
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return 0, err
	}
	defer rr.Release()
	schema := t.ArrowSchema()
	var n int64
	for rr.Next() {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		rec := rr.RecordBatch()
		rows := rec.NumRows()
		var replaced map[string]arrow.Array
		if replace != nil {
			if replaced, err = replace(rec); err != nil {
				return n, err
			}
		}
		owned := make([]arrow.Array, 0, len(replaced)+len(t.PartitionBy))
		for _, a := range replaced {
			owned = append(owned, a)
		}
		release := func() {
			for _, a := range owned {
				a.Release()
			}
		}
		cols := make([]arrow.Array, len(t.Columns))
		for i, c := range t.Columns {
			if t.IsPartition(c.Name) {
				a, err := constantColumn(c, partition[c.Name], int(rows))
				if err != nil {
					release()
					return n, err
				}
				cols[i] = a
				owned = append(owned, a)
				continue
			}
			if a, ok := replaced[c.Name]; ok {
				cols[i] = a
				continue
			}
			a, err := fileColumn(rec, c.Name)
			if err != nil {
				release()
				return n, err
			}
			cols[i] = a
		}
		out := array.NewRecordBatch(schema, cols, rows)
		err := tw.Write(out)
		out.Release()
		release()
		if err != nil {
			return n, err
		}
		n += rows
	}
	return n, rr.Err()
}

// fileColumn is rec's column name, read from a file.
func fileColumn(rec arrow.RecordBatch, name string) (arrow.Array, error) {
	idx := rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		return nil, fmt.Errorf("no column %s in the file", name)
	}
	return rec.Column(idx[0]), nil
}

// constantColumn is n copies of a partition value as column c's type.
func constantColumn(c schemas.Column, v string, n int) (arrow.Array, error) {
	mem := memory.DefaultAllocator
	switch c.Type {
	case schemas.String:
		b := array.NewStringBuilder(mem)
		defer b.Release()
		b.Reserve(n)
		for i := 0; i < n; i++ {
			b.Append(v)
		}
		return b.NewArray(), nil
	case schemas.Date:
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return nil, fmt.Errorf("partition %s=%q: %w", c.Name, v, err)
		}
		b := array.NewDate32Builder(mem)
		defer b.Release()
		b.Reserve(n)
		for i := 0; i < n; i++ {
			b.Append(arrow.Date32(d.Unix() / 86400))
		}
		return b.NewArray(), nil
	}
	return nil, fmt.Errorf("partition column %s: type %s not supported", c.Name, c.Type)
}
