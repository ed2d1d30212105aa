package clone

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/klauspost/compress/gzip"

	"archtics/pipeline"
	"archtics/pipeline/pipelinetest"
	"archtics/pipeline/views"
	"archtics/schemas"
)

// dumpFileOf builds an in-memory dump file of table t from text lines.
func dumpFileOf(t *testing.T, team string, tbl *schemas.Table, lines []string) DumpFile {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	io.WriteString(zw, strings.Join(columnNames(tbl), "|")+"\n")
	for _, l := range lines {
		io.WriteString(zw, l+"\n")
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	sum := sha256.Sum256(data)
	return DumpFile{
		Team: team, Table: tbl, Name: team + "/" + tbl.Name + "/part-00000.txt.gz",
		Rows: int64(len(lines)), SHA256: hex.EncodeToString(sum[:]),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
	}
}

// eventRow is a valid archtics.event row; mod changes it.
func eventRow(mod func([]string)) []string {
	row := []string{"nhl", "42", "25NHL0412", "2026-11-21", "19:00:00", "Saturday", "", "", "Y", "1",
		"2025-26 Season", "7", "Hawks vs. Wings", "", "12", "Home", "Arena", "SPORTS", "NHL PRO HOCKEY",
		"2026-01-01 10:00:00", "2026-11-20 11:59:59"}
	if mod != nil {
		mod(row)
	}
	return row
}

func eventLine(id, date, upd string) string {
	return strings.Join(eventRow(func(r []string) { r[1] = id; r[3] = date; r[20] = upd }), "|")
}

func openLocalWarehouse(t *testing.T) *pipeline.Warehouse {
	t.Helper()
	w, err := pipelinetest.Open(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestLoadDump(t *testing.T) {
	ctx := context.Background()
	w := openLocalWarehouse(t)
	cutoff := time.Date(2026, 11, 20, 12, 0, 1, 0, time.UTC)
	events := dumpFileOf(t, "nhl", schemas.Event, []string{
		eventLine("1", "2026-11-21", "2026-11-01 10:00:00"),
		eventLine("2", "2026-11-22", "2026-11-01 10:00:00"),
		eventLine("x3", "2026-11-23", "2026-11-01 10:00:00"), // bad event_id
		eventLine("4", "2026-02-30", "2026-11-01 10:00:00"),  // bad date: kept, event_date NULL
		"nhl|5|too|few", // wrong field count
		strings.Replace(eventLine("6", "2026-11-24", "2026-11-01 10:00:00"), "nhl", "arena", 1), // wrong team
		eventLine("7", "2026-11-25", "2026-11-01 10:00:00"),
	})
	dump := Dump{Cutoff: cutoff, Files: []DumpFile{events}}

	rep, err := LoadDump(ctx, w, dump, "nhl", nil)
	if err != nil {
		t.Fatal(err)
	}
	in, loaded, rejected := rep.Totals()
	if in != 7 || loaded != 4 || rejected != 3 || in != loaded+rejected || rep.Repaired() != 1 {
		t.Fatalf("in %d loaded %d rejected %d repaired %d, want 7 = 4 + 3 and 1 repaired", in, loaded, rejected, rep.Repaired())
	}
	if got := rep.Commit.Watermark.To; got != "2026-11-20T12:00:01Z" {
		t.Fatalf("watermark = %q, want the cutoff", got)
	}

	db, err := views.OpenDuckDB(ctx, "", w.Log, filepath.Join(t.TempDir(), "cache"), schemas.Current(schemas.Event), schemas.Rejects, schemas.Repairs)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM archtics.event WHERE team = 'nhl' AND enabled = 'Y'`).Scan(&n); err != nil || n != 4 {
		t.Fatalf("archtics.event rows = %d, %v; want 4", n, err)
	}
	var repair string
	if err := db.QueryRow(`SELECT concat_ws(':', r.line, r.field, r.raw, coalesce(r.repaired, 'NULL'), e.event_date IS NULL)
		FROM archtics_meta.repairs r JOIN archtics.event e ON e.event_id = 4`).Scan(&repair); err != nil || repair != "5:event_date:2026-02-30:NULL:true" {
		t.Fatalf("repair = %q, %v; want line 5, event_date, the raw date, stored NULL", repair, err)
	}
	rows, err := db.Query(`SELECT line, field FROM archtics_meta.rejects ORDER BY line`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var line int64
		var field string
		rows.Scan(&line, &field)
		got = append(got, strings.TrimSpace(strings.Join([]string{strconv.FormatInt(line, 10), field}, ":")))
	}
	rows.Close()
	// Header is line 1, so the third record is line 4.
	want := "4:event_id 6: 7:team"
	if strings.Join(got, " ") != want {
		t.Fatalf("rejects (line:field) = %q, want %q", strings.Join(got, " "), want)
	}

	// A rerun of the same dump is a no-op.
	again, err := LoadDump(ctx, w, dump, "nhl", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Commit.Existing || again.Commit.Seq != rep.Commit.Seq {
		t.Fatalf("rerun committed again: %+v", again.Commit)
	}
}

func TestLoadDumpRefusesCorruptFiles(t *testing.T) {
	ctx := context.Background()
	cutoff := time.Date(2026, 11, 20, 12, 0, 1, 0, time.UTC)
	good := dumpFileOf(t, "nhl", schemas.Event, []string{eventLine("1", "2026-11-21", "2026-11-01 10:00:00")})
	tests := []struct {
		name string
		mod  func(f *DumpFile)
		want string
	}{
		{"wrong hash", func(f *DumpFile) { f.SHA256 = strings.Repeat("0", 64) }, "corrupt or truncated"},
		{"wrong row count", func(f *DumpFile) { f.Rows = 2 }, "1 rows read, manifest says 2"},
		{"not gzip", func(f *DumpFile) {
			f.Open = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("plain")), nil }
		}, "not a gzip file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := openLocalWarehouse(t)
			f := good
			tt.mod(&f)
			_, err := LoadDump(ctx, w, Dump{Cutoff: cutoff, Files: []DumpFile{f}}, "nhl", nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), f.Name) {
				t.Fatalf("err = %v, want it to name %s and say %q", err, f.Name, tt.want)
			}
			head, err := w.Stream(ctx, CloneStream("nhl"))
			if err != nil {
				t.Fatal(err)
			}
			if head.Seq != 0 || head.Watermark != "" {
				t.Fatalf("a failed load committed: seq %d watermark %q", head.Seq, head.Watermark)
			}
		})
	}
}
