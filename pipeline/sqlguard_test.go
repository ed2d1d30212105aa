package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"archtics/schemas"
)

// TestLockReadOnlyIsAWall: after LockReadOnly, statements run straight on
// the database (no statement check) still read only the views' files and
// change nothing; the views answer.
func TestLockReadOnlyIsAWall(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w := fileWarehouse(t, filepath.Join(dir, "warehouse"))
	recs := defaultGen().batches(100, 50, 0)
	defer releaseAll(recs)
	writeBatch(t, w, "wall", "b1", Watermark{To: ts(1)}, recs)
	d, err := w.OpenViews(ctx, "", filepath.Join(dir, "cache"), ownedRTX("wall"))
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
func TestGuardPaths(t *testing.T) {
	dir := t.TempDir()
	wh, other := filepath.Join(dir, "wh"), filepath.Join(dir, "other")
	for _, d := range []string{filepath.Join(wh, "a", "b"), other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(wh, "a", "b"), filepath.Join(other, "in")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(wh, filepath.Join(dir, "whlink")); err != nil {
		t.Fatal(err)
	}
	g := SQLGuard{Root: resolvePath(filepath.Join(dir, "whlink"))}
	for _, tc := range []struct {
		path   string
		inside bool
	}{
		{filepath.Join(wh, "x.csv"), true},
		{wh, true},
		{filepath.Join(other, "x.csv"), false},
		{filepath.Join(other, "in", "x.csv"), true},
		{other + "/in/../x.csv", true},          // in/.. is wh/a
		{other + "/in/../../../other/x", false}, // back out
		{other + "/../wh/new/dir/x", true},
		{wh + "x/y", false}, // a sibling whose name starts like it
		{"file://" + wh + "/x", true},
		{"s3://bucket/x", false},
		{":memory:", false},
	} {
		if got := g.inside(tc.path); got != tc.inside {
			t.Errorf("inside(%q) = %v, want %v", tc.path, got, tc.inside)
		}
	}
	for _, tc := range []struct {
		sql  string
		want []string
	}{
		{"COPY t TO 'a.csv' (FORMAT csv)", []string{"a.csv"}},
		{`COPY t TO "b c.csv"`, []string{"b c.csv"}},
		{"COPY t TO 'it''s.csv'", []string{"it's.csv"}},
		{"COPY t TO E'x\\'y'", []string{"x'y"}},
		{"COPY t TO $$d.csv$$ -- 'not this'\n", []string{"d.csv"}},
		{"COPY t /* 'nor this' */ TO $q$e.csv$q$", []string{"e.csv"}},
	} {
		if got := spelledPaths(tc.sql); !slices.Equal(got, tc.want) {
			t.Errorf("spelledPaths(%q) = %q, want %q", tc.sql, got, tc.want)
		}
	}
}
