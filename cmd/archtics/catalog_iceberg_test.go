package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"archtics/icebergcat"
	"archtics/icebergcat/layout"
	"archtics/schemas"
)

// TestCatalogIcebergCLI: catalog ddl for Trino and Athena refuses before
// anything is published; catalog iceberg publishes every stored table and
// turns publishing on, so a later compact publishes by itself (the newest
// snapshot is the compaction's commit); catalog ddl then registers each
// table at its current metadata file, never at a data prefix; --off stops
// the publishing and verify stays clean throughout.
func TestCatalogIcebergCLI(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dump, wh, cache := filepath.Join(dir, "dump"), filepath.Join(dir, "warehouse"), filepath.Join(dir, "cache")
	runCode := func(args ...string) (int, string) {
		t.Helper()
		var code int
		out := captureStdout(t, func() {
			code = run(ctx, append([]string{"archtics", "--log-level", "error", "--warehouse", wh}, args...))
		})
		return code, out
	}
	runOK := func(args ...string) string {
		t.Helper()
		code, out := runCode(args...)
		if code != exitOK {
			t.Fatalf("archtics %s: exit %d\n%s", strings.Join(args, " "), code, out)
		}
		return out
	}
	runOK("simulate", "dump", "--scale", "small", "--out", dump)
	runOK("load-dump", "--dump", dump, "--team", "nhl")
	if code, _ := runCode("catalog", "ddl", "--dialect", "trino"); code != exitFailure {
		t.Fatalf("ddl --dialect trino before any publish: exit %d, want %d", code, exitFailure)
	}

	out := runOK("catalog", "iceberg")
	w, err := openWarehouseAt(ctx, wh, nil)
	if err != nil {
		t.Fatal(err)
	}
	streams, err := w.Streams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Every stored table and the current state of each source table,
	// under the names SQL gives them.
	stored := layout.PublishedTables(w.Tables, streams)
	if n := strings.Count(strings.TrimSpace(out), "\n") + 1; n != len(stored) {
		t.Fatalf("catalog iceberg listed %d tables, the warehouse has %d Iceberg tables:\n%s", n, len(stored), out)
	}
	for _, name := range []string{"archtics.ticket", "archtics_dump.ticket", "archtics_changes.ticket"} {
		if !strings.Contains(out, name+"\t") {
			t.Errorf("catalog iceberg did not list %s:\n%s", name, out)
		}
	}
	s, _, found, err := layout.ReadSettings(ctx, w.Store)
	if err != nil || !found || !s.Enabled || s.Catalog != layout.CatalogFile {
		t.Fatalf("settings after catalog iceberg: %+v found %v err %v", s, found, err)
	}

	// A later commit publishes by itself.
	runOK("compact", "--team", "nhl", "--cache", cache)
	head, err := w.Stream(ctx, "nhl/clone")
	if err != nil {
		t.Fatal(err)
	}
	it, _, err := icebergcat.Table(ctx, w.Store, schemas.Ticket)
	if err != nil {
		t.Fatal(err)
	}
	snap := it.CurrentSnapshot()
	if snap == nil || snap.Summary.Properties[icebergcat.SummarySeq] != strconv.FormatInt(head.Seq, 10) ||
		snap.Summary.Properties[icebergcat.SummaryStage] != "compact" {
		t.Fatalf("after compact the newest snapshot of archtics.ticket is %+v; want the compaction, seq %d", snap, head.Seq)
	}

	// ARCHTICS_ICEBERG=0: a commit that does not publish; Iceberg falls
	// behind until the next publish catches up.
	t.Setenv(layout.DisableEnv, "0")
	runOK("load-dump", "--dump", dump) // every team: nhl's is a no-op, the others load
	all, err := w.Streams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other := ""
	for _, st := range all {
		if strings.HasSuffix(st, "/clone") && st != "nhl/clone" {
			other = strings.TrimSuffix(st, "/clone")
		}
	}
	if other == "" {
		t.Fatalf("no other team's clone after loading the whole dump: %v", all)
	}
	positions := func() map[string]int64 {
		t.Helper()
		it, _, err := icebergcat.Table(ctx, w.Store, schemas.Ticket)
		if err != nil {
			t.Fatal(err)
		}
		pos, err := icebergcat.PositionsOf(it.CurrentSnapshot())
		if err != nil {
			t.Fatal(err)
		}
		return pos
	}
	if pos := positions(); pos[other+"/clone"] != 0 {
		t.Fatalf("with %s=0 the load of %s was published: %v", layout.DisableEnv, other, pos)
	}
	t.Setenv(layout.DisableEnv, "")
	runOK("catalog", "iceberg")
	if pos := positions(); pos[other+"/clone"] != 1 || pos["nhl/clone"] != head.Seq {
		t.Fatalf("after catalog iceberg archtics.ticket is at %v; want %s/clone@1 and nhl/clone@%d", pos, other, head.Seq)
	}

	trino := runOK("catalog", "ddl", "--dialect", "trino", "--trino-catalog", "lake")
	re := regexp.MustCompile(`CALL "lake"\.system\.register_table\(schema_name => '([^']+)', table_name => '([^']+)', table_location => '([^']+)', metadata_file_name => '([^']+)'\);`)
	calls := re.FindAllStringSubmatch(trino, -1)
	if len(calls) != len(stored) {
		t.Fatalf("%d register_table calls for %d tables:\n%s", len(calls), len(stored), trino)
	}
	for _, m := range calls {
		tbl := findStored(stored, m[1]+"."+m[2])
		if tbl == nil {
			t.Fatalf("register_table of %s.%s, not an Iceberg table of the warehouse", m[1], m[2])
		}
		_, meta, err := icebergcat.Table(ctx, w.Store, tbl)
		if err != nil {
			t.Fatal(err)
		}
		if m[3]+"/metadata/"+m[4] != meta {
			t.Errorf("%s: registered at %s/metadata/%s, the current metadata is %s", tbl.FullName(), m[3], m[4], meta)
		}
		if !strings.Contains(m[3], "/iceberg/") {
			t.Errorf("%s: table_location %s is not the Iceberg table's folder", tbl.FullName(), m[3])
		}
	}
	if strings.Contains(trino, "unregister_table") {
		t.Error("unregister_table without --reregister")
	}
	if again := runOK("catalog", "ddl", "--dialect", "trino", "--reregister"); strings.Count(again, "unregister_table(") != len(stored) {
		t.Errorf("--reregister: want an unregister_table per table:\n%s", again)
	}

	athena := runOK("catalog", "ddl", "--dialect", "athena")
	inputs := regexp.MustCompile(`aws glue create-table --database-name '([^']+)' --table-input '((?:[^']|'"'"')*)'\n`).FindAllStringSubmatch(athena, -1)
	if len(inputs) != len(stored) {
		t.Fatalf("%d Glue tables for %d stored tables:\n%s", len(inputs), len(stored), athena)
	}
	for _, m := range inputs {
		var in struct {
			Name       string
			Parameters map[string]string
		}
		if err := json.Unmarshal([]byte(strings.ReplaceAll(m[2], `'"'"'`, "'")), &in); err != nil {
			t.Fatalf("table input %s: %v", m[2], err)
		}
		if in.Parameters["table_type"] != "ICEBERG" || !strings.HasSuffix(in.Parameters["metadata_location"], ".metadata.json") {
			t.Errorf("Glue table %s.%s: parameters %v", m[1], in.Name, in.Parameters)
		}
	}
	if !strings.Contains(athena, "Athena reads only s3://") {
		t.Error("no note that a local warehouse cannot be read by Athena")
	}

	runOK("verify")
	runOK("catalog", "iceberg", "--off")
	if s, _, _, _ := layout.ReadSettings(ctx, w.Store); s.Enabled {
		t.Error("still enabled after --off")
	}
	if code, _ := runCode("catalog", "iceberg", "--catalog", "hive"); code != exitUsage {
		t.Errorf("--catalog hive: exit %d, want %d", code, exitUsage)
	}
}

func findStored(tables []*schemas.Table, name string) *schemas.Table {
	for _, t := range tables {
		if t.SQLName() == name {
			return t
		}
	}
	return nil
}

// TestIcebergProgramMissing: without archtics-iceberg (not named, not
// beside the binary, not on PATH) catalog iceberg fails saying how to get
// it, and records no setting that would make every later commit try.
func TestIcebergProgramMissing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	wh := filepath.Join(dir, "warehouse")
	if err := os.MkdirAll(wh, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(icebergProgramEnv, "")
	t.Setenv("PATH", filepath.Join(dir, "empty"))
	var code int
	stderr := captureStderr(t, func() {
		code = run(ctx, []string{"archtics", "--warehouse", wh, "catalog", "iceberg"})
	})
	if code != exitFailure || !strings.Contains(stderr, "archtics-iceberg") || !strings.Contains(stderr, "make build") {
		t.Fatalf("catalog iceberg without its program: exit %d, stderr %q; want %d naming archtics-iceberg and make build", code, stderr, exitFailure)
	}
	w, err := openWarehouseAt(ctx, wh, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, found, err := layout.ReadSettings(ctx, w.Store); err != nil || found {
		t.Fatalf("a setting was recorded (found %v, err %v): every commit would try to publish", found, err)
	}
}
