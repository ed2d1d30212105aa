package views

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"archtics/pipeline/txlog"
	"archtics/storage/file"
)

// An offline copy.
//
// Sync makes a local folder a read-only copy of a warehouse at one
// consistent point: every live committed file, verified against its
// commit's SHA-256 (the verified cache's layout, <dir>/<key>, with its
// stamps), and the commit log of every stream up to that point (commits,
// checkpoints, the checkpoint hint and the stream registry). The folder is
// then a local-folder warehouse in its own right: opened read-only
// (OpenOffline), queries answer from it without the network, as of the
// synced point. Because a copy is its log plus the files that log names,
// it is consistent even while the warehouse keeps committing during the
// sync: the log is copied only up to the state whose files were fetched.
//
// The folder stays usable as the warehouse's query cache (the same keys),
// so `archtics query --cache DIR` online and `--offline` share downloads.
// Files the synced state no longer names (retired since the last sync)
// are deleted from the copy, so it does not grow with the warehouse's
// history; a past state whose files are gone from the copy is read online.

// SyncMarker is the file at the root of an offline copy that records what
// it is a copy of and of when. Object keys never start with '.', so it
// cannot collide with a warehouse key.
const SyncMarker = ".archtics-sync.json"

// SyncInfo is the content of SyncMarker.
type SyncInfo struct {
	Source   string           `json:"source"`    // the warehouse's location (its URL, credentials never included)
	SyncedAt time.Time        `json:"synced_at"` // when the sync finished
	Streams  map[string]int64 `json:"streams"`   // stream → the commit the copy holds
}

// SyncProgress reports a sync's progress: files fetched or verified of the
// live files, and their bytes.
type SyncProgress struct {
	Files, TotalFiles int
	Bytes, TotalBytes int64
}

// SyncReport says what a sync did.
type SyncReport struct {
	Info         SyncInfo
	Files        int   // live files in the copy
	Bytes        int64 // their size
	LogObjects   int   // log objects copied this time (commits, checkpoints, hints, markers)
	Pruned       int   // files of earlier syncs no longer live, deleted
	PrunedBytes  int64 // their size
	AlreadyLocal int   // live files that were already in the copy, verified
}

// Sync brings the offline copy in dir up to the warehouse's current state
// (or its as-of point). It is idempotent: a second sync of an unchanged
// warehouse fetches nothing.
func Sync(ctx context.Context, w *txlog.Log, dir string, progress func(SyncProgress)) (*SyncReport, error) {
	if root := localRoot(w); root != "" {
		if abs, err := filepath.Abs(dir); err == nil && abs == root {
			return nil, fmt.Errorf("sync: %s is the warehouse itself; give another folder", dir)
		}
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	mirror, err := file.New(dir)
	if err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	st, err := w.State(ctx)
	if err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	rep := &SyncReport{Info: SyncInfo{Source: w.Store.URL(), Streams: map[string]int64{}}}

	// Files first, then the log that names them: a copy interrupted
	// between the two still holds the previous sync's log, whose files
	// are all present (pruning runs last).
	if err := syncFiles(ctx, w, dir, st, rep, progress); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(st.Streams))
	for n := range st.Streams {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := st.Streams[n]
		rep.Info.Streams[n] = s.Seq
		copied, err := w.CopyStream(ctx, mirror, s)
		if err != nil {
			return nil, fmt.Errorf("sync: %w", err)
		}
		rep.LogObjects += copied
	}
	if err := pruneCopy(ctx, dir, st, rep); err != nil {
		return nil, err
	}
	rep.Info.SyncedAt = time.Now().UTC()
	data, _ := json.MarshalIndent(rep.Info, "", "  ")
	if err := writeFileAtomic(filepath.Join(dir, SyncMarker), data); err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	return rep, nil
}

// syncFiles fetches (or verifies in place) every live file of st into dir.
func syncFiles(ctx context.Context, w *txlog.Log, dir string, st *txlog.State, rep *SyncReport, progress func(SyncProgress)) error {
	type job struct {
		table string
		e     txlog.FileEntry
	}
	var jobs []job
	var p SyncProgress
	for _, t := range st.Tables() {
		for _, e := range st.Files(t) {
			jobs = append(jobs, job{t, e})
			p.TotalFiles++
			p.TotalBytes += e.Bytes
		}
	}
	stamps := newStamps(dir, logger(w))
	for _, t := range st.Tables() {
		stamps.load(t)
	}
	defer stamps.save()
	var mu sync.Mutex
	firstErr := eachFile(ctx, CacheConcurrency, jobs, func(j job) error {
		path := filepath.Join(dir, filepath.FromSlash(j.e.Key))
		local := stamps.trusted(j.table, j.e, path)
		if err := cacheFile(ctx, w, stamps, j.table, path, j.e); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		p.Files++
		p.Bytes += j.e.Bytes
		rep.Files++
		rep.Bytes += j.e.Bytes
		if local {
			rep.AlreadyLocal++
		}
		if progress != nil {
			progress(p)
		}
		return nil
	})
	if firstErr != nil {
		return fmt.Errorf("sync: %w", firstErr)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	return nil
}

// pruneCopy deletes the Parquet files in dir that st does not name: files
// of earlier syncs retired since. Only data files go; the log, the stamps
// and anything not ending in .parquet stay.
func pruneCopy(ctx context.Context, dir string, st *txlog.State, rep *SyncReport) error {
	live := map[string]bool{}
	for _, t := range st.Tables() {
		for _, e := range st.Files(t) {
			live[filepath.Join(dir, filepath.FromSlash(e.Key))] = true
		}
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("sync: %w", cerr)
		}
		name := d.Name()
		if d.IsDir() {
			if path != dir && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".parquet") || live[path] {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("sync: prune %s: %w", path, err)
		}
		rep.Pruned++
		rep.PrunedBytes += fi.Size()
		return nil
	})
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ReadSyncInfo returns the marker of the offline copy in dir, or an error
// that says to sync first.
func ReadSyncInfo(dir string) (*SyncInfo, error) {
	data, err := os.ReadFile(filepath.Join(dir, SyncMarker))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s holds no offline copy: run archtics sync --to %s first (with the network)", dir, dir)
	}
	if err != nil {
		return nil, err
	}
	var info SyncInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, fmt.Errorf("%s: %w (sync again to rewrite it)", filepath.Join(dir, SyncMarker), err)
	}
	return &info, nil
}

// OpenOffline opens the offline copy in dir (see Sync) as a read-only
// warehouse: every reader works, every commit and vacuum is refused.
func OpenOffline(ctx context.Context, dir string, w0 *txlog.Log) (*txlog.Log, *SyncInfo, error) {
	info, err := ReadSyncInfo(dir)
	if err != nil {
		return nil, nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, err
	}
	store, err := file.New(abs)
	if err != nil {
		return nil, nil, fmt.Errorf("open offline copy %s: %w", dir, err)
	}
	return w0.ReadOnlyOver(store), info, nil
}
