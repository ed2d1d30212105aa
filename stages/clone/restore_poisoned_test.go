package clone

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"archtics/pipeline/check"
	"archtics/pipeline/pipelinetest"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/simulator"
	"archtics/storage/storagetest"
)

// TestRestoreRepairsPoisonedClone builds the clone an earlier program
// left from a dump with one Latin-1 byte (a committed dump load whose
// cust file holds "M\xfcller": every query of the team's text then fails
// in DuckDB, and the clean dump, cut at the same instant, is refused as
// the same batch from other input), then repairs it in place: a restore
// to seq 0 and the clean dump's load. No new warehouse.
func TestRestoreRepairsPoisonedClone(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg, err := simulator.Scale("small")
	if err != nil {
		t.Fatal(err)
	}
	dump := simulatedDump(t, cfg, filepath.Join(dir, "dump"))
	const team = "nhl"

	// The earlier program's load: the clean load's files, with one
	// name_last of the cust file replaced by Latin-1 bytes.
	scratch, err := pipelinetest.Open(ctx, filepath.Join(dir, "scratch"), quietLogger)
	if err != nil {
		t.Fatal(err)
	}
	clean, err := LoadDump(ctx, scratch, dump, team, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pipelinetest.Open(ctx, filepath.Join(dir, "warehouse"), quietLogger)
	if err != nil {
		t.Fatal(err)
	}
	var adds []txlog.FileEntry
	poisoned := false
	for _, e := range clean.Commit.Adds {
		data := storagetest.ReadObject(t, scratch.Store, e.Key)
		if e.Table == schemas.Cust.FullName() && !poisoned {
			data = poisonParquet(t, data, "name_last", "M\xfcller")
			e.Key = strings.TrimSuffix(e.Key, ".parquet") + "-latin1.parquet"
			sum := sha256.Sum256(data)
			e.SHA256, e.Bytes = hex.EncodeToString(sum[:]), int64(len(data))
			poisoned = true
		}
		if _, err := w.Store.PutIfAbsent(ctx, e.Key, bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatal(err)
		}
		adds = append(adds, e)
	}
	batch := dumpBatchID(dump.Cutoff)
	if _, err := w.Commit(ctx, txlog.CommitRequest{
		Stream: CloneStream(team), Stage: "load-dump", BatchID: batch, PinBatch: true, SourceID: "sha256:the-latin1-dump",
		Watermark: txlog.Watermark{To: dump.Cutoff.UTC().Format(time.RFC3339)},
		Cursors:   map[string]string{dumpCursor: batch}, Adds: adds,
	}); err != nil {
		t.Fatal(err)
	}

	count := func() (int64, error) {
		db, err := views.OpenDuckDB(ctx, "", w.Log, filepath.Join(dir, "cache"), schemas.Current(schemas.Cust))
		if err != nil {
			return 0, err
		}
		defer db.Close()
		var n int64
		err = db.QueryRowContext(ctx, "SELECT count(*) FROM archtics.cust WHERE team = ? AND lower(name_last) LIKE '%ller%'", team).Scan(&n)
		return n, err
	}
	if _, err := count(); err == nil || !strings.Contains(strings.ToLower(err.Error()), "utf") {
		t.Fatalf("a query over the poisoned clone: %v, want DuckDB's invalid UTF-8 error (the test's poison did not take)", err)
	}
	if _, err := LoadDumpWith(ctx, w, dump, team, LoadOptions{Replace: true}); !errors.Is(err, txlog.ErrBatchSourceChanged) {
		t.Fatalf("the clean dump over the poisoned clone: %v, want it refused as the same batch from other input", err)
	}

	rep, err := w.Restore(ctx, CloneStream(team), 0, txlog.RestoreOptions{By: "test", Reason: "Latin-1 in the dump"})
	if err != nil {
		t.Fatalf("restore to seq 0: %v", err)
	}
	if len(rep.Retires) != len(adds) || len(rep.ForgetBatches) != 1 {
		t.Fatalf("restore retired %d files (want %d) and forgot %v", len(rep.Retires), len(adds), rep.ForgetBatches)
	}
	reloaded, err := LoadDump(ctx, w, dump, team, nil)
	if err != nil {
		t.Fatalf("the clean dump after the restore: %v", err)
	}
	if reloaded.Commit.Existing {
		t.Fatal("the clean dump after the restore was taken for a rerun")
	}
	if _, err := count(); err != nil {
		t.Fatalf("a query over the repaired clone: %v", err)
	}
	vr, err := check.VerifyWith(ctx, w.Log, check.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !vr.OK() {
		t.Fatalf("verify after the repair: %v", vr.Problems)
	}
}

// poisonParquet rewrites a Parquet file with the first value of column
// set to value, bypassing the partition writer's UTF-8 guard, as an
// earlier program without it wrote.
func poisonParquet(t *testing.T, data []byte, column, value string) []byte {
	t.Helper()
	mem := memory.DefaultAllocator
	tbl, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(data), nil, pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	cols := make([]arrow.Array, tbl.NumCols())
	for i := range cols {
		chunks := tbl.Column(i).Data().Chunks()
		merged, err := array.Concatenate(chunks, mem)
		if err != nil {
			t.Fatal(err)
		}
		defer merged.Release()
		cols[i] = merged
		if tbl.Schema().Field(i).Name != column {
			continue
		}
		src := merged.(*array.String)
		b := array.NewStringBuilder(mem)
		for j := 0; j < src.Len(); j++ {
			switch {
			case j == 0:
				b.Append(value)
			case src.IsNull(j):
				b.AppendNull()
			default:
				b.Append(src.Value(j))
			}
		}
		cols[i] = b.NewArray()
		b.Release()
		defer cols[i].Release()
	}
	rec := array.NewRecordBatch(tbl.Schema(), cols, tbl.NumRows())
	defer rec.Release()
	var out bytes.Buffer
	fw, err := pqarrow.NewFileWriter(tbl.Schema(), &out, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
