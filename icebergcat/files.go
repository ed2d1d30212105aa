package icebergcat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go"

	"archtics/icebergcat/layout"
	"archtics/schemas"
	"archtics/storage"
)

// The files the publisher writes itself, beside a table's metadata under
// layout.DataDirKey: position-delete files (current.go) and the empty
// data file of a table with no rows. Each is named by the SHA-256 of its
// bytes and created only if absent, so a rerun writes the same object and
// nothing is ever overwritten.

// Iceberg's reserved field ids of a position-delete file's columns.
const (
	deleteFilePathID = 2147483546
	deletePosID      = 2147483545
)

var deleteSchema = arrow.NewSchema([]arrow.Field{
	{Name: "file_path", Type: arrow.BinaryTypes.String, Metadata: fieldID(deleteFilePathID)},
	{Name: "pos", Type: arrow.PrimitiveTypes.Int64, Metadata: fieldID(deletePosID)},
}, nil)

func fieldID(id int) arrow.Metadata {
	return arrow.NewMetadata([]string{"PARQUET:field_id"}, []string{strconv.Itoa(id)})
}

// publisherName is the created_by of the files the publisher writes.
const publisherName = "archtics iceberg publisher"

// writeParquet encodes rec (nil: no rows) with schema sc as a Parquet file.
func writeParquet(sc *arrow.Schema, rec arrow.RecordBatch) ([]byte, error) {
	var buf bytes.Buffer
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithCreatedBy(publisherName))
	fw, err := pqarrow.NewFileWriter(sc, &buf, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return nil, err
	}
	if rec != nil && rec.NumRows() > 0 {
		if err := fw.Write(rec); err != nil {
			fw.Close()
			return nil, err
		}
	}
	if err := fw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// putContent stores data under the table's data folder as
// <prefix>-<sha256>.parquet, if absent, and returns the key.
func putContent(ctx context.Context, store storage.Store, t *schemas.Table, prefix string, data []byte) (string, error) {
	sum := sha256.Sum256(data)
	key := layout.DataDirKey(t) + prefix + "-" + hex.EncodeToString(sum[:16]) + ".parquet"
	if _, err := store.PutIfAbsent(ctx, key, bytes.NewReader(data), int64(len(data))); err != nil && !errors.Is(err, storage.ErrExists) {
		return "", fmt.Errorf("write %s: %w", key, err)
	}
	return key, nil
}

// deleteFile encodes one partition's position deletes as they come
// (sorted by file and position, as the spec requires), a batch at a time,
// so a change that supersedes millions of rows is not held in memory.
type deleteFile struct {
	buf   bytes.Buffer
	fw    *pqarrow.FileWriter
	paths *array.StringBuilder
	pos   *array.Int64Builder
	rows  int64
}

const deleteBatchRows = 64 * 1024

func newDeleteFile() (*deleteFile, error) {
	d := &deleteFile{paths: array.NewStringBuilder(memory.DefaultAllocator), pos: array.NewInt64Builder(memory.DefaultAllocator)}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithCreatedBy(publisherName))
	fw, err := pqarrow.NewFileWriter(deleteSchema, &d.buf, props, pqarrow.DefaultWriterProps())
	if err != nil {
		d.release()
		return nil, err
	}
	d.fw = fw
	return d, nil
}

func (d *deleteFile) add(path string, pos int64) error {
	d.paths.Append(path)
	d.pos.Append(pos)
	d.rows++
	if d.pos.Len() >= deleteBatchRows {
		return d.writeBatch()
	}
	return nil
}

func (d *deleteFile) writeBatch() error {
	if d.pos.Len() == 0 {
		return nil
	}
	pa, na := d.paths.NewArray(), d.pos.NewArray()
	defer pa.Release()
	defer na.Release()
	rec := array.NewRecordBatch(deleteSchema, []arrow.Array{pa, na}, int64(na.Len()))
	defer rec.Release()
	return d.fw.Write(rec)
}

// finish closes the file and returns its bytes.
func (d *deleteFile) finish() ([]byte, error) {
	defer d.release()
	if err := d.writeBatch(); err != nil {
		d.fw.Close()
		return nil, err
	}
	if err := d.fw.Close(); err != nil {
		return nil, err
	}
	return d.buf.Bytes(), nil
}

func (d *deleteFile) release() {
	d.paths.Release()
	d.pos.Release()
}

// storeDeletes stores a finished delete file of one partition and
// describes it for Iceberg.
func storeDeletes(ctx context.Context, cat *fileCatalog, t *schemas.Table, spec iceberg.PartitionSpec, part map[int]any, d *deleteFile) (iceberg.DataFile, error) {
	rows := d.rows
	data, err := d.finish()
	if err != nil {
		return nil, fmt.Errorf("encode position deletes: %w", err)
	}
	key, err := putContent(ctx, cat.io.store, t, "delete", data)
	if err != nil {
		return nil, err
	}
	b, err := iceberg.NewDataFileBuilder(spec, iceberg.EntryContentPosDeletes, cat.uri(key), iceberg.ParquetFile, part, nil, nil, rows, int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("position deletes %s: %w", key, err)
	}
	return b.Build(), nil
}

// emptyDataFile is a data file of no rows with t's file columns. A table
// with no committed file gets a snapshot listing it, because readers
// refuse a table without a current snapshot, and some one whose snapshot
// lists no data file. Its partition values are null.
func emptyDataFile(ctx context.Context, cat *fileCatalog, t *schemas.Table, spec iceberg.PartitionSpec) (iceberg.DataFile, string, error) {
	data, err := writeParquet(t.FileSchema(), nil)
	if err != nil {
		return nil, "", fmt.Errorf("encode the empty file of %s: %w", t.SQLName(), err)
	}
	key, err := putContent(ctx, cat.io.store, t, "empty", data)
	if err != nil {
		return nil, "", err
	}
	part := map[int]any{}
	for _, f := range spec.Fields() {
		part[f.FieldID] = nil
	}
	b, err := iceberg.NewDataFileBuilder(spec, iceberg.EntryContentData, cat.uri(key), iceberg.ParquetFile, part, nil, nil, 0, int64(len(data)))
	if err != nil {
		return nil, "", fmt.Errorf("the empty file of %s: %w", t.SQLName(), err)
	}
	return b.Build(), key, nil
}
