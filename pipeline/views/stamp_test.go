package views

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"archtics/pipeline"
	"archtics/pipeline/txlog"
	"archtics/schemas"
	"archtics/storage/storagetest"
)

// hashCounter records the files verifyLocalFile reads (through hashFileHook)
// while a test runs.
type hashCounter struct {
	mu    sync.Mutex
	paths []string
}

func countHashes(t *testing.T) *hashCounter {
	t.Helper()
	c := &hashCounter{}
	hashFileHook = func(path string) {
		c.mu.Lock()
		c.paths = append(c.paths, path)
		c.mu.Unlock()
	}
	t.Cleanup(func() { hashFileHook = nil })
	return c
}

// take returns the paths read since the last call, sorted.
func (c *hashCounter) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.paths
	c.paths = nil
	slices.Sort(p)
	return p
}

// backdate moves the modification time of every committed file of c an
// hour back, as for files written long before they are read (a file read
// right after it was written is hashed again; see racyWindow).
func backdate(t *testing.T, root string, c *txlog.Commit) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	for _, e := range c.Adds {
		if err := os.Chtimes(filepath.Join(root, filepath.FromSlash(e.Key)), time.Time{}, old); err != nil {
			t.Fatal(err)
		}
	}
}

func localPaths(root string, c *txlog.Commit) []string {
	var out []string
	for _, e := range c.Adds {
		out = append(out, filepath.Join(root, filepath.FromSlash(e.Key)))
	}
	slices.Sort(out)
	return out
}

// TestVerifyOnceLocal: a local-folder warehouse's files are hashed by the
// first reader and trusted by the next while their size and times stand; a
// touched file is hashed again, a corrupted one refused.
func TestVerifyOnceLocal(t *testing.T) {
	dir := t.TempDir()
	w := fileWarehouse(t, dir)
	ctx := context.Background()
	c := commitNHLScans(t, w, 1200)
	backdate(t, dir, c)
	all := localPaths(dir, c)
	cache := t.TempDir()
	hashes := countHashes(t)

	materialize := func() (LocalFiles, error) {
		return Materialize(ctx, w.Log, cache, schemas.RTXAttendanceRaw)
	}
	if _, err := materialize(); err != nil {
		t.Fatal(err)
	}
	if got := hashes.take(); !slices.Equal(got, all) {
		t.Fatalf("first read hashed %v, want every file %v", got, all)
	}
	files, err := materialize()
	if err != nil {
		t.Fatal(err)
	}
	if got := hashes.take(); len(got) != 0 {
		t.Fatalf("second read hashed %v again, want none (stamped)", got)
	}
	if got := files[schemas.RTXAttendanceRaw.FullName()]; !slices.Equal(slices.Sorted(slices.Values(got)), all) {
		t.Fatalf("materialized %v, want %v", got, all)
	}

	// A new modification time, same bytes: hashed again, then trusted.
	touched := all[0]
	if err := os.Chtimes(touched, time.Time{}, time.Now().Add(-30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := materialize(); err != nil {
		t.Fatalf("a touched but intact file: %v", err)
	}
	if got := hashes.take(); !slices.Equal(got, []string{touched}) {
		t.Fatalf("after touching %s, hashed %v", touched, got)
	}
	if _, err := materialize(); err != nil {
		t.Fatal(err)
	}
	if got := hashes.take(); len(got) != 0 {
		t.Fatalf("the re-verified file was not stamped again: hashed %v", got)
	}

	// Other bytes of the same size, written afresh (new modification time).
	corruptKey := c.Adds[1].Key
	corrupt := filepath.Join(dir, filepath.FromSlash(corruptKey))
	data, err := os.ReadFile(corrupt)
	if err != nil {
		t.Fatal(err)
	}
	copy(data[len(data)/2:], bytes.Repeat([]byte{0xAB}, 16))
	if err := os.WriteFile(corrupt, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = materialize()
	if err == nil || !strings.Contains(err.Error(), corruptKey) || !strings.Contains(err.Error(), "archtics verify") {
		t.Fatalf("corrupted file with a new modification time: err = %v, want one naming %s and archtics verify", err, corruptKey)
	}

	// The same, with the modification time put back as it was (touch -r):
	// the change time, which nobody can set, still gives it away.
	if fi, _ := os.Stat(all[2]); fi != nil {
		if ino, _ := fileIdentity(fi); ino == 0 {
			t.Skip("no change time on this platform")
		}
	}
	restore := filepath.Join(dir, filepath.FromSlash(c.Adds[2].Key))
	fi, err := os.Stat(restore)
	if err != nil {
		t.Fatal(err)
	}
	data, err = os.ReadFile(restore)
	if err != nil {
		t.Fatal(err)
	}
	copy(data[len(data)/2:], bytes.Repeat([]byte{0xCD}, 16))
	if err := os.WriteFile(restore, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(restore, time.Time{}, fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	_, err = Materialize(ctx, w.Log, cache, schemas.RTXAttendanceRaw)
	if err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("corrupted file with its modification time restored: err = %v, want corrupt", err)
	}
}

// TestVerifyOnceRacy: a file read within racyWindow of its last write is
// hashed again by the next reader, because a write in the same timestamp
// tick could have left its modification time unchanged.
func TestVerifyOnceRacy(t *testing.T) {
	dir := t.TempDir()
	w := fileWarehouse(t, dir)
	ctx := context.Background()
	c := commitNHLScans(t, w, 400)
	// Stamp the files as verified now, with modification times of now.
	now := time.Now()
	for _, e := range c.Adds {
		if err := os.Chtimes(filepath.Join(dir, filepath.FromSlash(e.Key)), time.Time{}, now); err != nil {
			t.Fatal(err)
		}
	}
	cache := t.TempDir()
	hashes := countHashes(t)
	for round := range 2 {
		if _, err := Materialize(ctx, w.Log, cache, schemas.RTXAttendanceRaw); err != nil {
			t.Fatal(err)
		}
		if got, want := hashes.take(), localPaths(dir, c); !slices.Equal(got, want) {
			t.Fatalf("round %d hashed %v, want %v (racy stamps are not trusted)", round, got, want)
		}
	}
}

// TestVerifyOnceCache: a remote warehouse's files are downloaded and
// hashed once; later readers neither download nor hash them. A cached copy
// that changed is hashed again, and downloaded again when it no longer
// matches.
func TestVerifyOnceCache(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *pipeline.Warehouse) {
		ctx := context.Background()
		c := commitNHLScans(t, w, 1200)
		counting := &storagetest.CountingStore{Store: w.Store}
		remote := pipeline.New(storagetest.RemoteStore{Store: counting}, testLogger)
		cache := t.TempDir()
		hashes := countHashes(t)

		dataGets := func() (n int) {
			for _, k := range counting.Reset() {
				if strings.HasPrefix(k, schemas.RTXAttendanceRaw.Prefix()) {
					n++
				}
			}
			return n
		}
		if _, err := Materialize(ctx, remote.Log, cache, schemas.RTXAttendanceRaw); err != nil {
			t.Fatal(err)
		}
		if n := dataGets(); n != len(c.Adds) {
			t.Fatalf("first read downloaded %d files, want %d", n, len(c.Adds))
		}
		hashes.take() // the download hashes as it copies; no second pass is counted here
		for round := range 2 {
			if _, err := Materialize(ctx, remote.Log, cache, schemas.RTXAttendanceRaw); err != nil {
				t.Fatal(err)
			}
			if n, got := dataGets(), hashes.take(); n != 0 || len(got) != 0 {
				t.Fatalf("warm read %d: %d downloads, hashed %v; want none", round, n, got)
			}
		}

		// A cached copy overwritten with other bytes: caught by its new
		// modification time, hashed, and replaced by a fresh download.
		cached := filepath.Join(cache, filepath.FromSlash(c.Adds[0].Key))
		data, err := os.ReadFile(cached)
		if err != nil {
			t.Fatal(err)
		}
		copy(data[len(data)/2:], bytes.Repeat([]byte{0xAB}, 16))
		if err := os.WriteFile(cached, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files, err := Materialize(ctx, remote.Log, cache, schemas.RTXAttendanceRaw)
		if err != nil {
			t.Fatal(err)
		}
		if got := hashes.take(); !slices.Equal(got, []string{cached}) {
			t.Fatalf("after corrupting %s hashed %v", cached, got)
		}
		if n := dataGets(); n != 1 {
			t.Fatalf("the corrupted copy was downloaded %d times, want 1", n)
		}
		// The answer is the committed data again.
		db := openDuck(t)
		if err := AttachViews(ctx, db, files, schemas.RTXAttendanceRaw); err != nil {
			t.Fatal(err)
		}
		var rows int
		if err := db.QueryRow(`SELECT count(*) FROM archtics_rtx.attendance_raw`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows != 1200 {
			t.Fatalf("%d rows after re-download, want 1200", rows)
		}
		if _, err := Materialize(ctx, remote.Log, cache, schemas.RTXAttendanceRaw); err != nil {
			t.Fatal(err)
		}
		if n, got := dataGets(), hashes.take(); n != 0 || len(got) != 0 {
			t.Fatalf("after re-download: %d downloads, hashed %v; want none", n, got)
		}
	})
}

// TestStampFileDamaged: a damaged stamp file costs a re-hash, never a
// wrong answer or a failure, and is rewritten.
func TestStampFileDamaged(t *testing.T) {
	dir := t.TempDir()
	w := fileWarehouse(t, dir)
	ctx := context.Background()
	c := commitNHLScans(t, w, 400)
	backdate(t, dir, c)
	cache := t.TempDir()
	hashes := countHashes(t)
	if _, err := Materialize(ctx, w.Log, cache, schemas.RTXAttendanceRaw); err != nil {
		t.Fatal(err)
	}
	hashes.take()
	stampPath := filepath.Join(cache, stampDirName, schemas.RTXAttendanceRaw.FullName()+".json")
	if err := os.WriteFile(stampPath, []byte(`{"version":1,"stamps":{`), 0o644); err != nil {
		t.Fatal(err)
	}
	for round, want := range [][]string{localPaths(dir, c), nil} {
		if _, err := Materialize(ctx, w.Log, cache, schemas.RTXAttendanceRaw); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if got := hashes.take(); !slices.Equal(got, want) {
			t.Fatalf("round %d hashed %v, want %v", round, got, want)
		}
	}
}
