package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"archtics/pipeline"
	"archtics/simulator"
)

// TestQueryCommand runs the query command on a warehouse the demo loaded
// (clean dump, so every dump row is loaded) and on an empty one: counts
// match the dump's manifest, a statement that legitimately finds nothing
// prints no note, and an empty warehouse says why it is empty.
func TestQueryCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := simulator.SmallConfig()
	cfg.DirtyLines = false
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	if err := runDemo(ctx, logger, cfg, dir, 2, "", io.Discard); err != nil {
		t.Fatalf("demo: %v", err)
	}
	p := newDemoPaths(dir)
	var dumpTickets int64
	for _, f := range readManifest(t, p.dump).Files {
		if f.Table == "ticket" {
			dumpTickets += f.Rows
		}
	}
	loaded, err := openWarehouseAt(ctx, p.warehouse, logger)
	if err != nil {
		t.Fatal(err)
	}
	empty, err := openWarehouseAt(ctx, filepath.Join(dir, "empty"), logger)
	if err != nil {
		t.Fatal(err)
	}
	const note = "nothing is committed"
	tests := []struct {
		name      string
		w         *pipeline.Warehouse
		db        bool
		sql       string
		wantOut   string
		wantNote  bool
		wantCount int64 // checked when wantOut is ""
	}{
		{name: "count", w: loaded, sql: "SELECT count(*) FROM archtics_history.ticket WHERE _source = 'dump'", wantCount: dumpTickets},
		{name: "no match on a loaded warehouse", w: loaded, sql: "SELECT section_name FROM archtics.ticket WHERE section_name = 'no such section'", wantOut: "section_name\n"},
		{name: "every table, through the --db file", w: loaded, db: true, sql: "SELECT count(*) FROM archtics_history.ticket WHERE _source = 'dump'", wantCount: dumpTickets},
		{name: "empty warehouse", w: empty, sql: "SELECT count(*) FROM archtics.ticket", wantOut: "count_star()\n0\n", wantNote: true},
		{name: "empty warehouse, --db only", w: empty, db: true, wantOut: "", wantNote: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			dbPath := ""
			if tt.db {
				dbPath = filepath.Join(t.TempDir(), "warehouse.duckdb")
			}
			if err := runQuery(ctx, &out, &errOut, tt.w, filepath.Join(dir, "cache"), dbPath, tt.sql, "csv"); err != nil {
				t.Fatalf("query: %v\nstderr: %s", err, errOut.String())
			}
			if tt.wantOut != "" || tt.sql == "" {
				if out.String() != tt.wantOut {
					t.Errorf("stdout %q, want %q", out.String(), tt.wantOut)
				}
			} else {
				lines := strings.Split(strings.TrimSpace(out.String()), "\n")
				n, err := strconv.ParseInt(lines[len(lines)-1], 10, 64)
				if err != nil || n != tt.wantCount || n == 0 {
					t.Errorf("stdout %q, want a count of %d", out.String(), tt.wantCount)
				}
			}
			if got := strings.Contains(errOut.String(), note); got != tt.wantNote {
				t.Errorf("stderr %q: note %q shown = %v, want %v", errOut.String(), note, got, tt.wantNote)
			}
			if tt.wantNote && !strings.Contains(errOut.String(), "load-dump") {
				t.Errorf("the note %q does not say how to load", errOut.String())
			}
		})
	}
}
