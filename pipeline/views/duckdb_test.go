package views

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"archtics/schemas"
)

// TestOpenViewsFileStorageVersion: a new database file is written in
// FileStorageVersion, byte for byte the version DuckDB itself writes when
// told that version (what DuckDB 1.x and DBeaver's older drivers open),
// whichever DuckDB is linked; an existing file keeps its own version and
// still opens.
func TestOpenViewsFileStorageVersion(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w := fileWarehouse(t, filepath.Join(dir, "warehouse"))
	commitNHLScans(t, w, 100)
	cache := filepath.Join(dir, "cache")
	write := func(t *testing.T, path string) {
		t.Helper()
		d, err := OpenViews(ctx, w.Log, path, cache, schemas.RTXAttendanceRaw)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := d.QueryRowContext(ctx, "SELECT count(*) FROM archtics_rtx.attendance_raw").Scan(&n); err != nil || n != 100 {
			t.Fatalf("%s: %d rows (%v), want the 100 committed", path, n, err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// reference writes a database file in version v with DuckDB alone.
	reference := func(t *testing.T, path, v string) {
		t.Helper()
		db := openDuck(t)
		for _, stmt := range []string{
			"ATTACH " + schemas.QuoteString(path) + " AS ref (STORAGE_VERSION " + schemas.QuoteString(v) + ")",
			"CREATE TABLE ref.t AS SELECT 1 AS x",
			"DETACH ref",
		} {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
	}
	t.Run("a new file", func(t *testing.T) {
		path, ref := filepath.Join(dir, "new.duckdb"), filepath.Join(dir, "ref.duckdb")
		write(t, path)
		reference(t, ref, FileStorageVersion)
		if got, want := storageVersion(t, path), storageVersion(t, ref); got != want {
			t.Errorf("%s has storage version %d, want %d (DuckDB's for %s)", path, got, want, FileStorageVersion)
		}
	})
	t.Run("an existing file in the newest version", func(t *testing.T) {
		path := filepath.Join(dir, "latest.duckdb")
		reference(t, path, "latest")
		before := storageVersion(t, path)
		write(t, path)
		if got := storageVersion(t, path); got != before {
			t.Errorf("%s went from storage version %d to %d", path, before, got)
		}
	})
}

// storageVersion reads the version number of a DuckDB file's main header:
// after an 8-byte checksum, the magic "DUCK", then the version (uint64,
// little-endian).
func storageVersion(t *testing.T, path string) uint64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 20 || !bytes.Equal(b[8:12], []byte("DUCK")) {
		t.Fatalf("%s is not a DuckDB file", path)
	}
	return binary.LittleEndian.Uint64(b[12:20])
}
