// Package vacuum deletes what no reader of the warehouse can need any more
// (retired files past their retention, orphans past the grace, old
// checkpoints) and records each deletion in a commit, for the auditors.
package vacuum

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"archtics/pipeline/txlog"
	"archtics/schemas"
	"archtics/storage"
)

// Options tunes Vacuum.
type Options struct {
	// Retain keeps retired files for this long after their retirement
	// (default: each stream's own retention, DefaultRetention unless a
	// commit set another). A value other than a stream's retention becomes
	// its retention, recorded in the vacuum commit.
	Retain time.Duration
	// Grace: an object no commit names, or an unfinished upload, younger
	// than this is left alone: a live writer may be about to commit it
	// (default txlog.DefaultGrace).
	Grace time.Duration
	// DryRun lists what would be deleted and deletes nothing.
	DryRun bool
}

// Report says what Vacuum deleted (or would delete), per stream.
type Report struct {
	DryRun  bool                           `json:"dry_run"`
	Deleted map[string][]txlog.DeletedFile `json:"deleted"` // stream → files
	Bytes   int64                          `json:"bytes"`
	Commits []*txlog.Commit                `json:"-"`
	// Left are objects no commit names that vacuum did not delete because
	// no table claims their folder: reported, never guessed at.
	Left []string `json:"left"`
}

// Files counts the deleted files.
func (r *Report) Files() int {
	n := 0
	for _, d := range r.Deleted {
		n += len(d)
	}
	return n
}

// Run deletes what no reader can need any more, and records it:
//   - files retired longer ago than the retention (their tombstones);
//   - orphans: objects under a table's folder that no stream's head names
//     and no tombstone keeps, older than the grace period (the uploads of
//     writers that crashed before committing, and retired files whose
//     tombstones expired);
//   - checkpoints older than the retention, except the newest of those (a
//     read as of a time within the retention starts from it);
//   - unfinished uploads (S3 multipart uploads, a local folder's temporary
//     files) older than the grace period.
//
// A file live in any stream's head is never deleted. Each stream whose
// partitions lost files gets one commit (stage "vacuum") listing them with
// sizes and hashes, written before the deletions: a crash in between
// leaves files the next vacuum finds as orphans. Commits are never deleted:
// the log is the truth.
func Run(ctx context.Context, w *txlog.Log, opts Options) (*Report, error) {
	if w.ReadOnly() {
		return nil, fmt.Errorf("vacuum: %w", txlog.ErrReadOnly)
	}
	if opts.Grace <= 0 {
		opts.Grace = txlog.DefaultGrace
	}
	now := w.Time()
	rep := &Report{DryRun: opts.DryRun, Deleted: map[string][]txlog.DeletedFile{}, Left: []string{}}

	// List the objects before reading the heads, so a file committed
	// meanwhile is either named by a head read later or younger than the
	// grace period.
	var objects []storage.ObjectInfo
	if err := w.Store.List(ctx, "", "", func(o storage.ObjectInfo) error {
		if !strings.HasPrefix(o.Key, txlog.LogPrefix) && txlog.TablePrefixOf(o.Key) != "" {
			objects = append(objects, o)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("vacuum: list %s: %w", w.Store.URL(), err)
	}
	names, err := allStreamNames(ctx, w)
	if err != nil {
		return nil, fmt.Errorf("vacuum: %w", err)
	}
	heads := map[string]*txlog.StreamState{}
	live := map[string]bool{}
	kept := map[string]bool{} // tombstones still within the retention
	for _, n := range names {
		s, err := w.Stream(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("vacuum: %w", err)
		}
		heads[n] = s
		for _, m := range s.Files {
			for k := range m {
				live[k] = true
			}
		}
	}

	// Retired files past the retention, per stream.
	plan := map[string][]txlog.DeletedFile{}
	for _, n := range names {
		s := heads[n]
		retain := s.Retention
		if opts.Retain > 0 {
			retain = opts.Retain
		}
		cutoff := now.Add(-retain)
		keys := make([]string, 0, len(s.Retired))
		for k := range s.Retired {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			r := s.Retired[k]
			if live[k] || !r.RetiredAt.Before(cutoff) {
				kept[k] = true
				continue
			}
			plan[n] = append(plan[n], txlog.DeletedFile{Table: r.Table, Key: k, Bytes: r.Bytes, SHA256: r.SHA256, Reason: "retired"})
		}
	}
	planned := map[string]bool{}
	for _, ds := range plan {
		for _, d := range ds {
			planned[d.Key] = true
		}
	}

	// Orphans older than the grace period, recorded on their owner.
	for _, o := range objects {
		if live[o.Key] || kept[o.Key] || planned[o.Key] || now.Sub(o.LastModified) < opts.Grace {
			continue
		}
		t := tableOfKey(w, o.Key)
		if t == nil {
			rep.Left = append(rep.Left, o.Key)
			continue
		}
		values, err := txlog.PartitionOfKey(t, o.Key)
		if err != nil {
			rep.Left = append(rep.Left, o.Key)
			continue
		}
		owner, err := t.OwnerStream(values)
		if err != nil {
			rep.Left = append(rep.Left, o.Key)
			continue
		}
		// No commit recorded its hash: read it, so the record of what
		// went says exactly what it was.
		sum, n, err := txlog.HashObject(ctx, w.Store, o.Key)
		if errors.Is(err, storage.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("vacuum: hash orphan %s: %w", o.Key, err)
		}
		plan[owner] = append(plan[owner], txlog.DeletedFile{Table: t.FullName(), Key: o.Key, Bytes: n, SHA256: sum, Reason: "orphan"})
	}

	// Old checkpoints, recorded on their stream.
	for _, n := range names {
		retain := heads[n].Retention
		if opts.Retain > 0 {
			retain = opts.Retain
		}
		old, err := oldCheckpoints(ctx, w, n, now.Add(-retain))
		if err != nil {
			return nil, fmt.Errorf("vacuum: %w", err)
		}
		plan[n] = append(plan[n], old...)
	}

	// Commit per stream, then delete.
	streams := make([]string, 0, len(plan))
	for n, ds := range plan {
		if len(ds) > 0 {
			streams = append(streams, n)
		}
	}
	sort.Strings(streams)
	for _, n := range streams {
		ds := plan[n]
		rep.Deleted[n] = ds
		for _, d := range ds {
			rep.Bytes += d.Bytes
		}
		if opts.DryRun {
			continue
		}
		head := heads[n]
		if head == nil {
			head = txlog.NewStreamState(n)
		}
		req := txlog.CommitRequest{
			Stream: n, Stage: "vacuum", BatchID: "vacuum-" + now.UTC().Format("20060102T150405.000000000Z"),
			Deletes: ds, ExpectSeq: head.Seq + 1, Tables: w.Tables,
		}
		if opts.Retain > 0 && opts.Retain != head.Retention {
			req.Retention = opts.Retain
		}
		c, err := w.CommitOn(ctx, head, req)
		if err != nil {
			return rep, fmt.Errorf("vacuum %s: %w", n, err)
		}
		rep.Commits = append(rep.Commits, c)
		for _, d := range ds {
			if err := ctx.Err(); err != nil {
				return rep, fmt.Errorf("vacuum %s: %w (the commit lists what was to go; the next vacuum deletes the rest)", n, err)
			}
			if err := w.Store.Delete(ctx, d.Key); err != nil {
				return rep, fmt.Errorf("vacuum %s: delete %s: %w (the next vacuum retries it)", n, d.Key, err)
			}
		}
	}

	// Unfinished uploads. They hold no committed data, so they are
	// aborted without a commit, and reported.
	if ul, ok := w.Store.(storage.UploadLister); ok {
		var stale []storage.Upload
		if err := ul.ListUploads(ctx, func(u storage.Upload) error {
			if now.Sub(u.Initiated) >= opts.Grace {
				stale = append(stale, u)
			}
			return nil
		}); err != nil {
			return rep, fmt.Errorf("vacuum: %w", err)
		}
		for _, u := range stale {
			rep.Deleted["(uploads)"] = append(rep.Deleted["(uploads)"], txlog.DeletedFile{Key: u.Key, Bytes: u.Size, Reason: "upload " + u.ID})
			rep.Bytes += u.Size
			if opts.DryRun {
				continue
			}
			if err := ul.AbortUpload(ctx, u); err != nil {
				return rep, fmt.Errorf("vacuum: %w", err)
			}
		}
	}
	return rep, nil
}

// allStreamNames is the registry plus any stream found in the log listing
// without a marker: vacuum must know every file any stream names.
func allStreamNames(ctx context.Context, w *txlog.Log) ([]string, error) {
	reg, err := w.Streams(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, n := range reg {
		seen[n] = true
	}
	err = w.Store.List(ctx, txlog.LogPrefix, "", func(o storage.ObjectInfo) error {
		if strings.HasPrefix(o.Key, txlog.RegistryPrefix) {
			return nil
		}
		rest := o.Key[len(txlog.LogPrefix):]
		if i := strings.LastIndexByte(rest, '/'); i > 0 {
			if n := rest[:i]; !seen[n] && txlog.ValidateStreamName(n) == nil {
				seen[n] = true
				reg = append(reg, n)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", txlog.LogPrefix, err)
	}
	sort.Strings(reg)
	return reg, nil
}

// oldCheckpoints returns the stream's checkpoints written before cutoff,
// except the newest of them and the newest overall.
func oldCheckpoints(ctx context.Context, w *txlog.Log, stream string, cutoff time.Time) ([]txlog.DeletedFile, error) {
	prefix := txlog.StreamPrefix(stream)
	type cp struct {
		seq int64
		o   storage.ObjectInfo
	}
	var cps []cp
	err := w.Store.List(ctx, prefix, "", func(o storage.ObjectInfo) error {
		name := o.Key[len(prefix):]
		if strings.Contains(name, "/") {
			return nil
		}
		if seq, isCP, ok := txlog.ParseLogName(name); ok && isCP {
			cps = append(cps, cp{seq, o})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	// Ascending by seq; keep the last one older than the cutoff and every
	// one after it.
	keepFrom := -1
	for i, c := range cps {
		if c.o.LastModified.Before(cutoff) {
			keepFrom = i
		}
	}
	if keepFrom >= len(cps)-1 {
		keepFrom = len(cps) - 1
	}
	var out []txlog.DeletedFile
	for _, c := range cps[:max(keepFrom, 0)] {
		out = append(out, txlog.DeletedFile{Key: c.o.Key, Bytes: c.o.Size, Reason: "checkpoint"})
	}
	return out, nil
}

// tableOfKey returns the known table whose folder holds key.
func tableOfKey(w *txlog.Log, key string) *schemas.Table {
	p := txlog.TablePrefixOf(key)
	for _, t := range w.KnownTables() {
		if t.Prefix() == p {
			return t
		}
	}
	return nil
}
