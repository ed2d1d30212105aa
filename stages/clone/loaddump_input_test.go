package clone

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"archtics/pipeline"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/storage"
	"archtics/storage/file"
)

// custLine is a cust dump line for account acct with last name last.
func custLine(acct, last string, mod func([]string)) string {
	r := []string{"nhl", acct, "1" + acct, "Primary", "A", "Corporate", "", "Jeff", "", last, "305 Walnut St", "", "Quincy", "MA",
		"02171", "339-789-6916", "", "", "jeff@example.com", "1974-12-14", "2018-05-10", "", "2020-01-07 11:43:24", "2020-01-07 11:43:24"}
	if mod != nil {
		mod(r)
	}
	return strings.Join(r, "|")
}

var testCutoff = time.Date(2026, 11, 20, 12, 0, 1, 0, time.UTC)

// openLoaded opens DuckDB over w's tables.
func openLoaded(t *testing.T, w *pipeline.Warehouse, tables ...*schemas.Table) *sql.DB {
	t.Helper()
	db, err := views.OpenDuckDB(context.Background(), "", w.Log, filepath.Join(t.TempDir(), "cache"), tables...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Defect 1: one byte of Latin-1 must not poison the table: the field is
// transcoded from Windows-1252 and DuckDB reads every text column.
func TestLoadDumpLatin1Field(t *testing.T) {
	ctx := context.Background()
	w := openLocalWarehouse(t)
	cust := dumpFileOf(t, "nhl", schemas.Cust, []string{
		custLine("1", "M\xfcller", nil),
		custLine("2", "Smith", nil),
		custLine("x3", "Sch\xf6n", nil), // rejected: the reject keeps its raw text readable
	})
	rep, err := LoadDump(ctx, w, Dump{Cutoff: testCutoff, Files: []DumpFile{cust}}, "nhl", nil)
	if err != nil {
		t.Fatal(err)
	}
	if in, loaded, rejected := rep.Totals(); in != 3 || loaded != 2 || rejected != 1 || rep.Repaired() != 1 {
		t.Fatalf("in %d loaded %d rejected %d repaired %d, want 3 = 2 + 1 and 1 repaired", in, loaded, rejected, rep.Repaired())
	}
	if got := rep.Commit.Summary["repaired"]; got != 1 {
		t.Fatalf("commit summary repaired = %d, want 1", got)
	}
	db := openLoaded(t, w, schemas.Current(schemas.Cust), schemas.Rejects, schemas.Repairs)
	var repair string
	if err := db.QueryRow(`SELECT concat_ws('|', target_table, source, line, field, raw, raw_hex, repaired, batch_id, team, origin)
		FROM archtics_meta.repairs`).Scan(&repair); err != nil {
		t.Fatal(err)
	}
	if want := `archtics.cust|nhl/cust/part-00000.txt.gz|2|name_last|M\xFCller|4dfc6c6c6572|Müller|dump-20261120T120001Z|nhl|clone`; repair != want {
		t.Fatalf("repair = %q, want %q", repair, want)
	}
	var raw string
	if err := db.QueryRow(`SELECT raw FROM archtics_meta.rejects`).Scan(&raw); err != nil || !strings.Contains(raw, `|Sch\xF6n|`) {
		t.Fatalf("reject raw = %q, %v; want the Latin-1 byte shown as \\xF6", raw, err)
	}
	var last string
	if err := db.QueryRow(`SELECT name_last FROM archtics.cust WHERE acct_id = 1`).Scan(&last); err != nil {
		t.Fatalf("read the repaired row: %v", err)
	}
	if last != "Müller" {
		t.Fatalf("name_last = %q, want Müller (the byte read as Windows-1252)", last)
	}
}

// Lossless load: a bad optional field keeps its row, NULL in that field.
func TestLoadDumpKeepsRowWithBadOptionalField(t *testing.T) {
	ctx := context.Background()
	w := openLocalWarehouse(t)
	cust := dumpFileOf(t, "nhl", schemas.Cust, []string{
		custLine("1", "Doe", func(r []string) { r[19] = "1974-02-30" }), // impossible birth date
		custLine("2", "Roe", func(r []string) { r[21] = "55O001" }),     // letters in household_id
		custLine("3", "Poe", func(r []string) { r[22] = "yesterday" }),  // bad optional timestamp
		custLine("4", "Zoe", func(r []string) { r[23] = "yesterday" }),  // bad required timestamp: rejected
		custLine("x5", "Moe", nil),                                      // bad key: rejected
	})
	rep, err := LoadDump(ctx, w, Dump{Cutoff: testCutoff, Files: []DumpFile{cust}}, "nhl", nil)
	if err != nil {
		t.Fatal(err)
	}
	if in, loaded, rejected := rep.Totals(); in != 5 || loaded != 3 || rejected != 2 {
		t.Fatalf("in %d loaded %d rejected %d, want 5 = 3 + 2", in, loaded, rejected)
	}
	db := openLoaded(t, w, schemas.Current(schemas.Cust))
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM archtics.cust WHERE (acct_id = 1 AND birth_date IS NULL) OR (acct_id = 2 AND household_id IS NULL)
		OR (acct_id = 3 AND add_date IS NULL)`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("rows kept with the bad field NULL = %d, %v; want 3", n, err)
	}
}

// Defect 4: a key seen twice in one table of a dump (across parts, or a
// repeated line) is a source error: every line with it is rejected, none
// loaded.
func TestLoadDumpDuplicateKeys(t *testing.T) {
	ctx := context.Background()
	w := openLocalWarehouse(t)
	part0 := dumpFileOf(t, "nhl", schemas.Cust, []string{
		custLine("1", "Doe", nil),
		custLine("2", "Roe", nil),
		custLine("2", "Roe", nil), // the line repeated
		custLine("3", "Poe", nil),
	})
	part1 := dumpFileOf(t, "nhl", schemas.Cust, []string{
		custLine("4", "Zoe", nil),
		custLine("3", "Poe the second", nil), // the key of part 0's line 5
	})
	part1.Name = "nhl/cust/part-00001.txt.gz"
	rep, err := LoadDump(ctx, w, Dump{Cutoff: testCutoff, Files: []DumpFile{part0, part1}}, "nhl", nil)
	if err != nil {
		t.Fatal(err)
	}
	if in, loaded, rejected := rep.Totals(); in != 6 || loaded != 2 || rejected != 4 {
		t.Fatalf("in %d loaded %d rejected %d, want 6 = 2 + 4", in, loaded, rejected)
	}
	db := openLoaded(t, w, schemas.Current(schemas.Cust), schemas.Rejects)
	var keys string
	if err := db.QueryRow(`SELECT string_agg(acct_id::VARCHAR, ',' ORDER BY acct_id) FROM archtics.cust`).Scan(&keys); err != nil || keys != "1,4" {
		t.Fatalf("loaded keys = %q, %v; want 1,4", keys, err)
	}
	rows, err := db.Query(`SELECT source, line, reason FROM archtics_meta.rejects ORDER BY source, line`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var src, reason string
		var line int64
		if err := rows.Scan(&src, &line, &reason); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s:%d", filepath.Base(src), line))
		if !strings.Contains(reason, "line") || !strings.Contains(reason, "twice") && !strings.Contains(reason, "also") {
			t.Errorf("reject of %s line %d: reason %q does not name the other line", src, line, reason)
		}
	}
	want := "part-00000.txt.gz:3 part-00000.txt.gz:4 part-00000.txt.gz:5 part-00001.txt.gz:3"
	if strings.Join(got, " ") != want {
		t.Fatalf("rejected lines = %q, want %q", strings.Join(got, " "), want)
	}
}

// Defect "unknown escape": a backslash before anything but | \ n r is a
// reject of the line, not silently dropped.
func TestLoadDumpUnknownEscape(t *testing.T) {
	ctx := context.Background()
	w := openLocalWarehouse(t)
	cust := dumpFileOf(t, "nhl", schemas.Cust, []string{
		custLine("1", `O\'Brien`, nil),
		custLine("2", `Pipe\|Back\\slash`, nil),
	})
	rep, err := LoadDump(ctx, w, Dump{Cutoff: testCutoff, Files: []DumpFile{cust}}, "nhl", nil)
	if err != nil {
		t.Fatal(err)
	}
	if in, loaded, rejected := rep.Totals(); in != 2 || loaded != 1 || rejected != 1 {
		t.Fatalf("in %d loaded %d rejected %d, want 2 = 1 + 1", in, loaded, rejected)
	}
	db := openLoaded(t, w, schemas.Current(schemas.Cust), schemas.Rejects)
	var reason string
	if err := db.QueryRow(`SELECT reason FROM archtics_meta.rejects WHERE line = 2`).Scan(&reason); err != nil || !strings.Contains(reason, `\'`) {
		t.Fatalf("reject reason = %q, %v; want it to name the escape", reason, err)
	}
	var last string
	if err := db.QueryRow(`SELECT name_last FROM archtics.cust WHERE acct_id = 2`).Scan(&last); err != nil || last != `Pipe|Back\slash` {
		t.Fatalf("name_last = %q, %v", last, err)
	}
}

// storeDump puts files and a manifest built by mod into a new dump folder.
func storeDump(t *testing.T, files []DumpFile, mod func(m map[string]any, list []map[string]any)) storage.Store {
	t.Helper()
	ctx := context.Background()
	st, err := file.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	for _, f := range files {
		rc, _ := f.Open()
		data, _ := io.ReadAll(rc)
		if _, err := st.PutIfAbsent(ctx, f.Name, bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatal(err)
		}
		list = append(list, map[string]any{"team": f.Team, "table": f.Table.Name, "path": f.Name, "rows": f.Rows, "sha256": f.SHA256})
	}
	m := map[string]any{"client": "demo", "cutoff": testCutoff}
	if mod != nil {
		mod(m, list)
	}
	if _, ok := m["files"]; !ok {
		m["files"] = list
	}
	b, _ := json.Marshal(m)
	if _, err := st.PutIfAbsent(ctx, ManifestName, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
	return st
}

// A manifest that would double rows, escape the dump or name no file is
// refused before anything is written, naming the culprit.
func TestOpenDumpRefuses(t *testing.T) {
	cust := dumpFileOf(t, "nhl", schemas.Cust, []string{custLine("1", "Doe", nil)})
	tests := []struct {
		name string
		mod  func(m map[string]any, list []map[string]any)
		want string
	}{
		{"path listed twice", func(m map[string]any, list []map[string]any) {
			again := map[string]any{}
			for k, v := range list[0] {
				again[k] = v
			}
			again["path"] = "./" + cust.Name
			m["files"] = append(list, again)
		}, cust.Name},
		{"no files", func(m map[string]any, list []map[string]any) { m["files"] = []any{} }, "no files"},
		{"team with a path", func(m map[string]any, list []map[string]any) { list[0]["team"] = "../evil" }, "../evil"},
		{"team with a slash", func(m map[string]any, list []map[string]any) { list[0]["team"] = "a/b" }, "a/b"},
		{"team with a control character", func(m map[string]any, list []map[string]any) { list[0]["team"] = "nhl\x00" }, "team"},
		{"path out of the dump", func(m map[string]any, list []map[string]any) { list[0]["path"] = "../outside.txt.gz" }, "../outside.txt.gz"},
		{"absolute path", func(m map[string]any, list []map[string]any) { list[0]["path"] = "/etc/passwd" }, "/etc/passwd"},
		{"unknown encoding", func(m map[string]any, list []map[string]any) { m["encoding"] = "ebcdic" }, "windows-1252"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := storeDump(t, []DumpFile{cust}, tt.mod)
			_, err := OpenDump(context.Background(), st)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("OpenDump err = %v, want one naming %q", err, tt.want)
			}
		})
	}
}

// A dump whose manifest declares windows-1252 is decoded as such.
func TestLoadDumpDeclaredEncoding(t *testing.T) {
	ctx := context.Background()
	cust := dumpFileOf(t, "nhl", schemas.Cust, []string{custLine("1", "M\xfcller \x80", nil), custLine("2", "Caf\xe9", nil)})
	st := storeDump(t, []DumpFile{cust}, func(m map[string]any, _ []map[string]any) { m["encoding"] = "windows-1252" })
	d, err := OpenDump(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	w := openLocalWarehouse(t)
	if _, err := LoadDump(ctx, w, d, "nhl", nil); err != nil {
		t.Fatal(err)
	}
	db := openLoaded(t, w, schemas.Current(schemas.Cust))
	var names string
	if err := db.QueryRow(`SELECT string_agg(name_last, ',' ORDER BY acct_id) FROM archtics.cust`).Scan(&names); err != nil || names != "Müller €,Café" {
		t.Fatalf("names = %q, %v; want Müller €,Café", names, err)
	}
}
