package pipeline

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"archtics/pipeline/internal/scangen"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/storage/storagetest"
)

func TestEscapePathValue(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"NHL", "NHL"},
		{"2025-04-10", "2025-04-10"},
		{"a/b", "a%2Fb"},
		{"k=v", "k%3Dv"},
		{"100%", "100%25"},
		{"x:y?z", "x%3Ay%3Fz"},
		{"tab\there", "tab%09here"},
		{"Café Arena", "Café Arena"},
	} {
		if got := txlog.EscapePathValue(tc.in); got != tc.want {
			t.Errorf("EscapePathValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSanitizeBatchID(t *testing.T) {
	for _, tc := range []struct {
		in     string
		prefix string
	}{
		{"realtime-2025-04-10T18.00", "realtime-2025-04-10T18.00"},
		{"a/b", "a_b-"},
		{"a_b", "a_b"},
	} {
		got := SanitizeBatchID(tc.in)
		if !strings.HasPrefix(got, tc.prefix) {
			t.Errorf("SanitizeBatchID(%q) = %q, want prefix %q", tc.in, got, tc.prefix)
		}
	}
	if SanitizeBatchID("a/b") == SanitizeBatchID("a_b") {
		t.Error("distinct batch ids sanitize to the same name")
	}
}

func openDuck(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestWriterRoundtrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *Warehouse) {
		ctx := context.Background()
		gen := scangen.Default()
		gen.Teams = []string{"NHL", "Arena/Concerts=2%"} // a value that needs escaping
		const rows = 3000
		recs := gen.Batches(rows, 700, 0)
		defer scangen.ReleaseAll(recs)
		// Small row groups so files hold several.
		c := writeBatch(t, w, "nhl/realtime", "rt-1", txlog.Watermark{From: "", To: ts(1)}, recs, WithRowGroupRows(200))
		rt := ownedRTX("nhl/realtime")

		if len(c.Adds) != 6 {
			t.Fatalf("commit adds %d files, want 6 (2 teams x 3 dates)", len(c.Adds))
		}
		var total int64
		for _, e := range c.Adds {
			total += e.Rows
			if !strings.HasPrefix(e.Key, rt.Prefix()+"team=") || !strings.HasSuffix(e.Key, "/part-rt-1-00000-"+e.SHA256[:ContentHashDigits]+".parquet") {
				t.Errorf("unexpected key %s", e.Key)
			}
			if e.Partition["team"] == "" || e.Partition["event_date"] == "" || e.Min["ticket_scan_time"] == "" || e.Max["ticket_scan_time"] < e.Min["ticket_scan_time"] {
				t.Errorf("entry %s lacks partition values or time range: %+v", e.Key, e)
			}
		}
		if total != rows {
			t.Fatalf("committed %d rows, want %d", total, rows)
		}
		if !strings.Contains(strings.Join(keys(c.Adds), " "), "team=Arena%2FConcerts%3D2%25/event_date=2025-04-10/") {
			t.Errorf("escaped partition path missing in %v", keys(c.Adds))
		}

		files, err := views.Materialize(ctx, w.Log, t.TempDir(), rt)
		if err != nil {
			t.Fatal(err)
		}
		paths := files[rt.FullName()]
		for _, p := range paths {
			if !filepath.IsAbs(p) {
				t.Errorf("path %s is not absolute", p)
			}
		}
		db := openDuck(t)
		q := "SELECT * FROM (" + rt.ReadParquetSQL(paths) + ") ORDER BY CAST(attendance_seq_id AS INTEGER)"
		res, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Close()
		types, _ := res.ColumnTypes()
		for i, col := range rt.Columns {
			if got := types[i].DatabaseTypeName(); got != col.Type.String() || types[i].Name() != col.Name {
				t.Errorf("column %d: %s %s, want %s %s", i, types[i].Name(), got, col.Name, col.Type)
			}
		}
		// Compare every row with the input, in seq order (the generator
		// emits seq ids in input order).
		want := flatten(recs)
		i := 0
		for res.Next() {
			vals := make([]any, len(types))
			ptrs := make([]any, len(types))
			for j := range vals {
				ptrs[j] = &vals[j]
			}
			if err := res.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			if got := rowString(vals); got != want[i] {
				t.Fatalf("row %d:\n got %s\nwant %s", i, got, want[i])
			}
			i++
		}
		if err := res.Err(); err != nil {
			t.Fatal(err)
		}
		if i != rows {
			t.Fatalf("DuckDB read %d rows, want %d", i, rows)
		}
	})
}

func keys(es []txlog.FileEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Key)
	}
	return out
}

// flatten renders the input rows the way rowString renders DuckDB's.
func flatten(recs []arrow.RecordBatch) []string {
	var out []string
	for _, r := range recs {
		for i := 0; i < int(r.NumRows()); i++ {
			var sb strings.Builder
			for c := 0; c < int(r.NumCols()); c++ {
				col := r.Column(c)
				if c > 0 {
					sb.WriteByte('|')
				}
				if col.IsNull(i) {
					sb.WriteString("NULL")
					continue
				}
				switch a := col.(type) {
				case interface{ Value(int) arrow.Timestamp }:
					sb.WriteString(a.Value(i).ToTime(arrow.Microsecond).UTC().Format("2006-01-02 15:04:05"))
				case interface{ Value(int) arrow.Date32 }:
					sb.WriteString(a.Value(i).ToTime().Format("2006-01-02"))
				default:
					sb.WriteString(col.ValueStr(i))
				}
			}
			out = append(out, sb.String())
		}
	}
	return out
}

func rowString(vals []any) string {
	var sb strings.Builder
	for i, v := range vals {
		if i > 0 {
			sb.WriteByte('|')
		}
		switch x := v.(type) {
		case nil:
			sb.WriteString("NULL")
		case interface{ Format(string) string }:
			if i == len(vals)-1 {
				sb.WriteString(x.Format("2006-01-02"))
			} else {
				sb.WriteString(x.Format("2006-01-02 15:04:05"))
			}
		default:
			sb.WriteString(strings.TrimSpace(strings.ReplaceAll(sprint(x), "\n", " ")))
		}
	}
	return sb.String()
}

func TestWriterRerunIdempotent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *Warehouse) {
		ctx := context.Background()
		recs := scangen.Default().Batches(2000, 500, 0)
		defer scangen.ReleaseAll(recs)
		write := func(recs []arrow.RecordBatch) ([]txlog.FileEntry, error) {
			tw, err := NewTableWriter(w, schemas.RTXAttendanceRaw, "dump-1", WithUploadConcurrency(2))
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				if err := tw.Write(r); err != nil {
					t.Fatal(err)
				}
			}
			return tw.Close(ctx)
		}
		first, err := write(recs)
		if err != nil {
			t.Fatal(err)
		}
		contents := map[string][]byte{}
		for _, e := range first {
			contents[e.Key] = storagetest.ReadObject(t, w.Store, e.Key)
		}
		// A rerun (a crash after upload, before commit) writes the same
		// names and bytes: idempotent success.
		second, err := write(recs)
		if err != nil {
			t.Fatalf("rerun: %v", err)
		}
		if len(second) != len(first) {
			t.Fatalf("rerun wrote %d files, first run %d", len(second), len(first))
		}
		for i := range first {
			if first[i].Key != second[i].Key || first[i].SHA256 != second[i].SHA256 || first[i].Bytes != second[i].Bytes {
				t.Errorf("rerun differs: %+v vs %+v", first[i], second[i])
			}
			if !bytes.Equal(contents[first[i].Key], storagetest.ReadObject(t, w.Store, first[i].Key)) {
				t.Errorf("object %s changed", first[i].Key)
			}
		}
		// Different content under the same batch (a feed that grew, a
		// crashed attempt's orphan with other bytes) gets other names: it
		// neither fails nor touches the first run's objects.
		other := scangen.Default().Batches(2000, 500, 77)
		defer scangen.ReleaseAll(other)
		third, err := write(other)
		if err != nil {
			t.Fatalf("a rerun with other bytes: %v", err)
		}
		for i := range third {
			if _, clash := contents[third[i].Key]; clash {
				t.Errorf("other content reused the name %s", third[i].Key)
			}
		}
		for k, b := range contents {
			if !bytes.Equal(b, storagetest.ReadObject(t, w.Store, k)) {
				t.Errorf("object %s changed", k)
			}
		}
		// A damaged object under a content-addressed name is reported,
		// never overwritten.
		victim := first[0]
		if err := w.Store.Delete(ctx, victim.Key); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Store.PutIfAbsent(ctx, victim.Key, strings.NewReader("damaged"), 7); err != nil {
			t.Fatal(err)
		}
		_, err = write(recs)
		if !errors.Is(err, txlog.ErrPartitionMismatch) || !strings.Contains(err.Error(), victim.Key) {
			t.Fatalf("a damaged object at a content-addressed name: got %v", err)
		}
	})
}

func TestWriterInterleavedAndRollover(t *testing.T) {
	w := fileWarehouse(t, t.TempDir())
	ctx := context.Background()
	// Interleave partitions row by row: the Take path.
	recs := scangen.Default().Batches(1200, 1200, 0)
	defer scangen.ReleaseAll(recs)
	rec := concatRecs(t, recs)
	defer rec.Release()
	idx := make([]int, rec.NumRows())
	for i := range idx {
		// 6 groups of 200: visit them round robin.
		idx[i] = (i%6)*200 + i/6
	}
	shuffled := takeRows(t, rec, idx)
	defer shuffled.Release()
	tw, err := NewTableWriter(w, schemas.RTXAttendanceRaw, "mixed", WithMaxFileRows(150))
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Write(shuffled); err != nil {
		t.Fatal(err)
	}
	files, err := tw.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 6 partitions of 200 rows, 150 per file: 12 files.
	if len(files) != 12 {
		t.Fatalf("%d files, want 12: %v", len(files), keys(files))
	}
	var rows int64
	for _, f := range files {
		rows += f.Rows
	}
	if rows != 1200 {
		t.Fatalf("%d rows, want 1200", rows)
	}
}

func TestWriterRejectsWrongSchema(t *testing.T) {
	w := fileWarehouse(t, t.TempDir())
	recs := scangen.Default().Batches(10, 10, 0)
	defer scangen.ReleaseAll(recs)
	tw, err := NewTableWriter(w, schemas.Scan, "x")
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Write(recs[0]); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("got %v", err)
	}
	tw.Abort()
}

func TestFormatTime(t *testing.T) {
	at := time.Date(2026, 11, 20, 11, 49, 28, 0, time.UTC)
	for _, tc := range []struct {
		name string
		dt   arrow.DataType
		v    int64
		want string
	}{
		{"date", arrow.FixedWidthTypes.Date32, int64(arrow.Date32FromTime(at)), "2026-11-20"},
		{"wall clock", &arrow.TimestampType{Unit: arrow.Microsecond}, at.UnixMicro(), "2026-11-20 11:49:28"},
		{"wall clock, fraction", &arrow.TimestampType{Unit: arrow.Millisecond}, at.UnixMilli() + 250, "2026-11-20 11:49:28.25"},
		{"instant", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, at.UnixMicro(), "2026-11-20T11:49:28Z"},
	} {
		if got := formatTime(tc.dt, tc.v); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// A text column whose distinct values outgrow a dictionary page (a
// column of names, addresses, e-mails) is written as the same bytes every
// time: arrow-go records a column chunk's page encodings in map order, so
// a chunk that fell back from its dictionary to plain encoding would
// differ from run to run, and a rerun must write what the first run did.
func TestWriterSameBytesWithLargeDictionaries(t *testing.T) {
	ctx := context.Background()
	table := &schemas.Table{
		Schema: "archtics_test", Name: "wide_text",
		Columns: []schemas.Column{
			{Name: "team", Type: schemas.String},
			{Name: "name", Type: schemas.String, Nullable: true},
			{Name: "id", Type: schemas.Int32},
		},
		Key: []string{"team", "id"}, PartitionBy: []string{"team"}, Owner: schemas.CloneOwner,
	}
	const rows = 200_000 // two row groups, each with megabytes of distinct names
	b := array.NewRecordBuilder(memory.DefaultAllocator, table.ArrowSchema())
	defer b.Release()
	for i := range rows {
		b.Field(0).(*array.StringBuilder).Append("nhl")
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("name-%035d", i*7919%rows))
		b.Field(2).(*array.Int32Builder).Append(int32(i))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var first []txlog.FileEntry
	for run := range 6 {
		w := fileWarehouse(t, t.TempDir())
		tw, err := NewTableWriter(w, table, "load-1")
		if err != nil {
			t.Fatal(err)
		}
		if err := tw.Write(rec); err != nil {
			t.Fatal(err)
		}
		files, err := tw.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if run == 0 {
			first = files
			continue
		}
		if len(files) != len(first) {
			t.Fatalf("run %d wrote %d files, the first %d", run, len(files), len(first))
		}
		for i := range files {
			if files[i].Key != first[i].Key || files[i].SHA256 != first[i].SHA256 {
				t.Errorf("run %d: %s (SHA-256 %s), the first run wrote %s (%s)", run, files[i].Key, files[i].SHA256, first[i].Key, first[i].SHA256)
			}
		}
	}
}
