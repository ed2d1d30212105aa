package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"archtics/pipeline/internal/scangen"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
)

// TestLockReadOnlyIsAWall: after LockReadOnly, statements run straight on
// the database (no statement check) still read only the views' files and
// change nothing; the views answer.
func TestLockReadOnlyIsAWall(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w := fileWarehouse(t, filepath.Join(dir, "warehouse"))
	recs := scangen.Default().Batches(100, 50, 0)
	defer scangen.ReleaseAll(recs)
	writeBatch(t, w, "wall", "b1", txlog.Watermark{To: ts(1)}, recs)
	d, err := views.OpenViews(ctx, w.Log, "", filepath.Join(dir, "cache"), ownedRTX("wall"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if len(d.Files) == 0 {
		t.Fatal("the views read no file")
	}
	if err := d.LockReadOnly(ctx); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	secret := filepath.Join(out, "secret.txt")
	if err := os.WriteFile(secret, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := d.QueryRowContext(ctx, "SELECT count(*) FROM "+ownedRTX("wall").SQLName()).Scan(&n); err != nil || n != 100 {
		t.Fatalf("the view after the lock: %d rows, %v; want 100", n, err)
	}
	for _, stmt := range []string{
		"SELECT * FROM read_text(" + schemas.QuoteString(secret) + ")",
		"COPY (SELECT 1) TO " + schemas.QuoteString(filepath.Join(out, "x.csv")),
		"COPY (SELECT 1) TO " + schemas.QuoteString(d.Files[0]+".csv"),
		"COPY (SELECT 1 AS x) TO " + schemas.QuoteString(d.Files[0]) + " (FORMAT parquet)",
		"EXPORT DATABASE " + schemas.QuoteString(filepath.Join(out, "export")),
		"ATTACH " + schemas.QuoteString(filepath.Join(out, "x.duckdb")) + " AS x",
		"INSTALL httpfs",
		"LOAD httpfs",
		"SET enable_external_access = true",
		"SET allowed_paths = [" + schemas.QuoteString(secret) + "]",
		"SET temp_directory = " + schemas.QuoteString(out),
	} {
		if _, err := d.ExecContext(ctx, stmt); err == nil {
			t.Errorf("%s: ran on the locked database", stmt)
		}
	}
	// A view made on the locked database cannot read outside either.
	if _, err := d.ExecContext(ctx, "CREATE VIEW v AS SELECT 1 AS x"); err == nil {
		if _, err := d.ExecContext(ctx, "CREATE OR REPLACE VIEW v AS SELECT * FROM read_text("+schemas.QuoteString(secret)+")"); err == nil {
			if _, err := d.ExecContext(ctx, "SELECT * FROM v"); err == nil {
				t.Error("a view read a file outside the views' files")
			}
		}
	}
	if err := d.QueryRowContext(ctx, "SELECT count(*) FROM "+ownedRTX("wall").SQLName()).Scan(&n); err != nil || n != 100 {
		t.Errorf("the view after the statements: %d rows, %v; want 100", n, err)
	}
	if left, _ := os.ReadDir(out); len(left) != 1 {
		t.Errorf("files in %s after the statements: %v", out, left)
	}
}

// TestGuardPaths: where the guard finds a path, and whether it lies in
// the warehouse, through symlinks and '..' as the system resolves them.
