package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"archtics/simulator"
)

func TestSplitStatements(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []sqlStatement
	}{
		{"one, no semicolon", "SELECT 1", []sqlStatement{{"SELECT 1", 1}}},
		{"two", "SELECT 1; SELECT 2;", []sqlStatement{{"SELECT 1", 1}, {"SELECT 2", 1}}},
		{"semicolon in a string", "SELECT 'a;b''c;'; SELECT 2", []sqlStatement{{"SELECT 'a;b''c;'", 1}, {"SELECT 2", 1}}},
		{"escape string", `SELECT E'\';x'; SELECT 2`, []sqlStatement{{`SELECT E'\';x'`, 1}, {"SELECT 2", 1}}},
		{"quoted identifier", `SELECT 1 AS "a;b"; SELECT 2`, []sqlStatement{{`SELECT 1 AS "a;b"`, 1}, {"SELECT 2", 1}}},
		{"dollar quoting", "SELECT $$a;b$$, $t$c;$t$; SELECT $1", []sqlStatement{{"SELECT $$a;b$$, $t$c;$t$", 1}, {"SELECT $1", 1}}},
		{"comments", "-- one; two\nSELECT 1 /* ; */;\n/* only a comment; */\n-- and this;\n", []sqlStatement{{"SELECT 1 /* ; */", 2}}},
		{"lines", "SELECT 1;\n\n  SELECT\n 2;", []sqlStatement{{"SELECT 1", 1}, {"SELECT\n 2", 3}}},
		{"blank", " ;; \n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := splitStatements(tt.text); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitStatements(%q) = %+v, want %+v", tt.text, got, tt.want)
			}
		})
	}
}

// TestQueryFormats runs two statements (a count checked against the
// dump's manifest, and a string holding a semicolon) through every output
// format, from the argument, from -f and from stdin, and bad SQL.
func TestQueryFormats(t *testing.T) {
	dir := t.TempDir()
	cfg := simulator.SmallConfig()
	cfg.DirtyLines = false
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	if err := runDemo(ctx, logger, cfg, dir, -1, "", io.Discard); err != nil {
		t.Fatalf("demo: %v", err)
	}
	p := newDemoPaths(dir)
	var tickets int64
	for _, f := range readManifest(t, p.dump).Files {
		if f.Table == "ticket" {
			tickets += f.Rows
		}
	}
	if tickets == 0 {
		t.Fatal("the dump has no tickets")
	}
	w, err := openWarehouseAt(ctx, p.warehouse, logger)
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "cache")
	const twoStatements = "SET threads = 1;\nSELECT count(*) AS n FROM archtics_dump.ticket;\nSELECT 'a;b' AS s, 'x|y' AS p"
	tests := []struct {
		format string
		want   string
	}{
		{"csv", fmt.Sprintf("n\n%d\n\ns,p\na;b,x|y\n", tickets)},
		{"json", fmt.Sprintf("[\n  {\"n\": %d}\n]\n[\n  {\"s\": \"a;b\", \"p\": \"x|y\"}\n]\n", tickets)},
		{"markdown", fmt.Sprintf("| n |\n| --- |\n| %d |\n\n| s | p |\n| --- | --- |\n| a;b | x\\|y |\n", tickets)},
		{"table", fmt.Sprintf("n\n%d\n\ns    p\na;b  x|y\n", tickets)},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if err := runQuery(ctx, &out, &errOut, w, cache, "", twoStatements, tt.format); err != nil {
				t.Fatalf("query: %v\nstderr: %s", err, errOut.String())
			}
			if out.String() != tt.want {
				t.Errorf("stdout:\n%s\nwant:\n%s", out.String(), tt.want)
			}
			if tt.format == "json" {
				dec := json.NewDecoder(&out)
				for dec.More() {
					var v []map[string]any
					if err := dec.Decode(&v); err != nil {
						t.Errorf("not a stream of JSON arrays: %v", err)
					}
				}
			}
		})
	}
	t.Run("a statement reads a table the text does not name", func(t *testing.T) {
		// The views cover archtics.event only; the third statement reads
		// archtics_dump.ticket through the search path: the run reopens
		// over every table, replays the SET, and goes on.
		text := "SELECT 1 AS one FROM archtics.event LIMIT 0;\nSET search_path = 'archtics_dump';\nSELECT count(*) AS n FROM ticket"
		var out, errOut bytes.Buffer
		if err := runQuery(ctx, &out, &errOut, w, cache, "", text, "csv"); err != nil {
			t.Fatalf("query: %v\nstderr: %s", err, errOut.String())
		}
		if want := fmt.Sprintf("one\n\nn\n%d\n", tickets); out.String() != want {
			t.Errorf("stdout %q, want %q", out.String(), want)
		}
	})
	t.Run("--out", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "result.csv")
		var out, errOut bytes.Buffer
		if err := runQueryOptions(ctx, &out, &errOut, w, queryOptions{Cache: cache, Format: "csv", Out: path}, twoStatements); err != nil {
			t.Fatalf("query: %v\nstderr: %s", err, errOut.String())
		}
		b, err := os.ReadFile(path)
		if err != nil || string(b) != tests[0].want || out.Len() != 0 {
			t.Errorf("--out file %q (%v), stdout %q; want the file to hold %q and stdout nothing", b, err, out.String(), tests[0].want)
		}
		if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
			t.Errorf("%d entries beside the result, want none (no temporary file left)", len(entries)-1)
		}
	})
	t.Run("parquet", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "tickets.parquet")
		var errOut bytes.Buffer
		opts := queryOptions{Cache: cache, Format: "parquet", Out: out}
		if err := runQueryOptions(ctx, io.Discard, &errOut, w, opts, "SET threads = 1; SELECT * FROM archtics_dump.ticket"); err != nil {
			t.Fatalf("query: %v\nstderr: %s", err, errOut.String())
		}
		db, err := sql.Open("duckdb", "")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int64
		if err := db.QueryRow("SELECT count(*) FROM read_parquet(?)", out).Scan(&n); err != nil || n != tickets {
			t.Errorf("the parquet file holds %d rows (%v), want %d", n, err, tickets)
		}
	})

	// Through the command line: -f, stdin, usage errors and bad SQL.
	sqlFile := filepath.Join(dir, "q.sql")
	if err := os.WriteFile(sqlFile, []byte(twoStatements), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"archtics", "--log-level", "error", "--warehouse", p.warehouse, "query", "--cache", cache, "--format", "csv"}
	wantCSV := tests[0].want
	cli := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		wantOut  string
		wantErr  []string
	}{
		{name: "-f", args: []string{"-f", sqlFile}, wantOut: wantCSV},
		{name: "stdin", stdin: twoStatements, wantOut: wantCSV},
		{name: "-f -", args: []string{"-f", "-"}, stdin: twoStatements, wantOut: wantCSV},
		{name: "both -f and SQL", args: []string{"-f", sqlFile, "SELECT 1"}, wantCode: exitUsage, wantErr: []string{"not both"}},
		{name: "no such -f", args: []string{"-f", filepath.Join(dir, "nope.sql")}, wantCode: exitUsage, wantErr: []string{"nope.sql"}},
		{name: "parquet without --out", args: []string{"--format", "parquet", "SELECT 1"}, wantCode: exitUsage, wantErr: []string{"--out"}},
		{name: "bad format", args: []string{"--format", "xml", "SELECT 1"}, wantCode: exitUsage, wantErr: []string{"xml"}},
		{name: "syntax error in the second statement", args: []string{"SELECT 1;\nSELECT * FORM archtics.ticket"}, wantCode: exitUsage,
			wantOut: "1\n1\n", wantErr: []string{"statement 2 of 2 (input line 2)", "Parser Error", "FORM", "LINE 1", "^"}},
		{name: "no such column", args: []string{"SELECT no_such_column FROM archtics.ticket"}, wantCode: exitUsage,
			wantErr: []string{"statement 1 of 1", "no_such_column"}},
		{name: "fails while running", args: []string{"SELECT CAST('x' AS INTEGER) FROM range(1)"}, wantCode: exitFailure,
			wantErr: []string{"Conversion Error"}},
	}
	for _, tt := range cli {
		t.Run("cli "+tt.name, func(t *testing.T) {
			stdinPath := filepath.Join(t.TempDir(), "stdin")
			if err := os.WriteFile(stdinPath, []byte(tt.stdin), 0o644); err != nil {
				t.Fatal(err)
			}
			in, err := os.Open(stdinPath)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			saved := os.Stdin
			os.Stdin = in
			defer func() { os.Stdin = saved }()
			var code int
			var stdout string
			stderr := captureStderr(t, func() {
				stdout = captureStdout(t, func() { code = run(ctx, append(slices.Clone(base), tt.args...)) })
			})
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantCode, stderr)
			}
			if (tt.wantOut != "" || tt.wantCode == 0) && stdout != tt.wantOut {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout, tt.wantOut)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr %q lacks %q", stderr, s)
				}
			}
		})
	}
}
