package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"archtics/schemas"
	"archtics/storage"
	"archtics/storage/backend"
	"archtics/storage/file"
	"archtics/storage/storagetest"
)

var testLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// backendCase opens a fresh, empty warehouse on one backend.
type backendCase struct {
	name string
	open func(t testing.TB) *Warehouse
}

func backends() []backendCase {
	return []backendCase{
		{"file", func(t testing.TB) *Warehouse { return fileWarehouse(t, t.TempDir()) }},
		{"s3", func(t testing.TB) *Warehouse { return s3Warehouse(t) }},
	}
}

func fileWarehouse(t testing.TB, dir string) *Warehouse {
	t.Helper()
	st, err := file.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &Warehouse{Store: st, Logger: testLogger}
}

func s3Warehouse(t testing.TB) *Warehouse {
	t.Helper()
	u := storagetest.S3Location(t, "pipeline")
	st, err := backend.Open(context.Background(), u)
	if err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
	return &Warehouse{Store: st, Logger: testLogger}
}

// forEachBackend runs f as a subtest per backend.
func forEachBackend(t *testing.T, f func(t *testing.T, w *Warehouse)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { f(t, b.open(t)) })
	}
}

// countingStore delegates to a real store and counts the calls.
type countingStore struct {
	storage.Store
	mu   sync.Mutex
	gets []string
	puts int
}

func (c *countingStore) Get(ctx context.Context, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	c.mu.Lock()
	c.gets = append(c.gets, key)
	c.mu.Unlock()
	return c.Store.Get(ctx, key)
}

func (c *countingStore) GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	c.mu.Lock()
	c.gets = append(c.gets, key)
	c.mu.Unlock()
	return c.Store.GetRange(ctx, key, off, n)
}

func (c *countingStore) reset() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.gets
	c.gets = nil
	return g
}

// attendanceGen makes rows shaped like archtics_rtx.attendance_raw.
type attendanceGen struct {
	teams []string
	dates []time.Time
}

func defaultGen() attendanceGen {
	return attendanceGen{
		teams: []string{"NHL", "ARENA"},
		dates: []time.Time{
			time.Date(2025, 4, 10, 0, 0, 0, 0, time.UTC),
			time.Date(2025, 4, 12, 0, 0, 0, 0, time.UTC),
			time.Date(2025, 4, 15, 0, 0, 0, 0, time.UTC),
		},
	}
}

// batches returns rows rows in record batches of batch rows, grouped by
// (team, date) the way a feed delivers them. seq0 offsets the sequence ids
// so different calls give different content.
func (g attendanceGen) batches(rows, batch int, seq0 int) []arrow.RecordBatch {
	sc := schemas.RTXAttendanceRaw.ArrowSchema()
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	groups := len(g.teams) * len(g.dates)
	per := (rows + groups - 1) / groups
	var out []arrow.RecordBatch
	n := 0
	flush := func() {
		if n > 0 {
			out = append(out, b.NewRecordBatch())
			n = 0
		}
	}
	str := func(i int) *array.StringBuilder { return b.Field(i).(*array.StringBuilder) }
	row := 0
	for gi := 0; gi < groups && row < rows; gi++ {
		team, date := g.teams[gi/len(g.dates)], g.dates[gi%len(g.dates)]
		eventID := int32(1000 + gi)
		evName := fmt.Sprintf("25%s%s", team[:3], date.Format("0102"))
		for k := 0; k < per && row < rows; k++ {
			seq := seq0 + row
			scan := date.Add(18*time.Hour + time.Duration(k%14400)*time.Second)
			str(0).Append([]string{"0", "0", "0", "0", "0", "0", "0", "0", "0", "12"}[seq%10])
			str(1).Append("Gate " + strconv.Itoa(1+seq%12))
			str(2).Append([]string{"S", "S", "S", "R", "X", "M"}[seq%6])
			str(3).Append(string(rune('A' + seq%26)))
			str(4).Append(evName)
			str(5).Append(scan.Format("15:04:05"))
			str(6).Append(strconv.Itoa(1 + seq%30))
			str(7).Append(strconv.Itoa(101 + (seq/30)%230))
			str(8).Append([]string{"M", "M", "P", "C"}[seq%4])
			str(9).Append(strconv.Itoa(seq))
			if seq%50 == 0 {
				str(10).AppendNull()
			} else {
				str(10).Append(evName)
			}
			b.Field(11).(*array.Int32Builder).Append(eventID)
			if seq%17 == 0 {
				b.Field(12).(*array.Int32Builder).AppendNull()
			} else {
				b.Field(12).(*array.Int32Builder).Append(int32(100000 + seq%5000))
			}
			b.Field(13).(*array.TimestampBuilder).Append(arrow.Timestamp(scan.UnixMicro()))
			str(14).Append(team)
			b.Field(15).(*array.Date32Builder).Append(arrow.Date32FromTime(date))
			n++
			row++
			if n == batch {
				flush()
			}
		}
		flush()
	}
	flush()
	return out
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// ownedRTX is archtics_rtx.attendance_raw's shape under a test schema whose
// every partition the given stream owns, so log tests can commit rows of
// any team to a stream of their choosing. Its name depends only on the
// stream, so separate calls give the same table.
func ownedRTX(stream string) *schemas.Table {
	t := *schemas.RTXAttendanceRaw
	t.Schema = "t_" + strings.NewReplacer("/", "_", "-", "_", ".", "_").Replace(stream)
	t.Owner = stream
	return &t
}

// tablesOf is CommitRequest.Tables for commits of fakeEntry files.
func tablesOf(stream string) []*schemas.Table { return []*schemas.Table{ownedRTX(stream)} }

// ts returns the RFC 3339 watermark n minutes after a fixed instant.
func ts(n int) string {
	return time.Date(2026, 11, 20, 17, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Minute).Format(time.RFC3339)
}

// writeBatch writes recs to ownedRTX(stream) and commits them as batchID.
func writeBatch(t testing.TB, w *Warehouse, stream, batchID string, wm Watermark, recs []arrow.RecordBatch, opts ...WriterOption) *Commit {
	t.Helper()
	return writeTable(t, w, ownedRTX(stream), stream, batchID, wm, recs, opts...)
}

// writeTable writes recs to table and commits them on stream as batchID.
func writeTable(t testing.TB, w *Warehouse, table *schemas.Table, stream, batchID string, wm Watermark, recs []arrow.RecordBatch, opts ...WriterOption) *Commit {
	t.Helper()
	c, err := w.WriteAndCommit(context.Background(), CommitRequest{Stream: stream, Stage: "test", BatchID: batchID, Watermark: wm},
		func(add func(*schemas.Table) *TableWriter) error {
			tw := add(table)
			for _, r := range recs {
				if err := tw.Write(r); err != nil {
					return err
				}
			}
			return nil
		}, opts...)
	if err != nil {
		t.Fatalf("write and commit %s: %v", batchID, err)
	}
	return c
}

// fakeEntry is a file entry of ownedRTX(stream) for log tests that never
// read the file; putFake stores a 1-byte object under its key, since a
// commit checks its files are in the store.
func fakeEntry(stream, name string) FileEntry {
	t := ownedRTX(stream)
	return FileEntry{Table: t.FullName(), Key: t.Prefix() + "team=NHL/event_date=2025-04-10/" + name, Rows: 1, Bytes: 1, SHA256: "00"}
}

// putFake stores the objects of fake entries.
func putFake(t testing.TB, w *Warehouse, es ...FileEntry) []FileEntry {
	t.Helper()
	for _, e := range es {
		if _, err := w.Store.PutIfAbsent(context.Background(), e.Key, strings.NewReader("x"), 1); err != nil && !errors.Is(err, storage.ErrExists) {
			t.Fatal(err)
		}
	}
	return es
}

func sprint(v any) string { return fmt.Sprint(v) }

// takeRows returns rec's rows in the order idx gives.
func takeRows(t testing.TB, rec arrow.RecordBatch, idx []int) arrow.RecordBatch {
	t.Helper()
	ib := array.NewInt32Builder(memory.DefaultAllocator)
	defer ib.Release()
	for _, i := range idx {
		ib.Append(int32(i))
	}
	ia := ib.NewArray()
	defer ia.Release()
	cols := make([]arrow.Array, rec.NumCols())
	for c := range cols {
		a, err := compute.TakeArray(context.Background(), rec.Column(c), ia)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Release()
		cols[c] = a
	}
	return array.NewRecordBatch(rec.Schema(), cols, int64(len(idx)))
}

func concatRecs(t testing.TB, recs []arrow.RecordBatch) arrow.RecordBatch {
	t.Helper()
	cols := make([]arrow.Array, recs[0].NumCols())
	var n int64
	for _, r := range recs {
		n += r.NumRows()
	}
	for c := range cols {
		parts := make([]arrow.Array, len(recs))
		for i, r := range recs {
			parts[i] = r.Column(c)
		}
		a, err := array.Concatenate(parts, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Release()
		cols[c] = a
	}
	return array.NewRecordBatch(recs[0].Schema(), cols, n)
}

func keysOf(es []FileEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Key
	}
	return out
}

// nhlGen makes archtics_rtx.attendance_raw rows of team nhl only, which the
// stream nhl/realtime owns.
func nhlGen() attendanceGen { return attendanceGen{teams: []string{"nhl"}, dates: defaultGen().dates} }

// commitNHLScans writes rows archtics_rtx.attendance_raw rows of team nhl
// (batches of 400) and commits them on nhl/realtime as batch r1.
func commitNHLScans(t testing.TB, w *Warehouse, rows int) *Commit {
	t.Helper()
	recs := nhlGen().batches(rows, 400, 0)
	defer releaseAll(recs)
	return writeTable(t, w, schemas.RTXAttendanceRaw, "nhl/realtime", "r1", Watermark{"", ts(1)}, recs)
}
