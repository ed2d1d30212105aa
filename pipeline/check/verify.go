// Package check verifies a warehouse without trusting it: it replays every
// stream's log, compares checkpoints with the replay, and reads each live
// file against its commit (size, SHA-256, Parquet row count). Like
// restic's checker it only reads; what it finds is a report, not a fix.
package check

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/parquet/metadata"
	"golang.org/x/sync/errgroup"

	"archtics/pipeline/txlog"
	"archtics/storage"
)

// Problem kinds Verify reports.
const (
	ProblemMissing     = "missing"     // a committed file is not in the store
	ProblemSize        = "size"        // its size differs from the commit's
	ProblemChecksum    = "checksum"    // its SHA-256 differs from the commit's
	ProblemRows        = "rows"        // its Parquet footer's row count differs
	ProblemUnreadable  = "unreadable"  // it could not be read or its footer parsed
	ProblemUncommitted = "uncommitted" // an object under a table prefix no commit names, older than the grace period
	ProblemGap         = "gap"         // a stream's commit sequence has a hole
	ProblemLog         = "log"         // a stream could not be replayed or a log object is malformed
	ProblemCheckpoint  = "checkpoint"  // a checkpoint disagrees with the replay of the commits before it
)

// Problem is one finding of Verify.
type Problem struct {
	Kind   string `json:"kind"`
	Key    string `json:"key"`
	Detail string `json:"detail"`
}

func (p Problem) String() string { return fmt.Sprintf("%s %s: %s", p.Kind, p.Key, p.Detail) }

// InFlight is an object no commit names yet, younger than the grace
// period: most likely a writer's upload whose commit is on its way.
type InFlight struct {
	Key          string    `json:"key"`
	Size         int64     `json:"size"`
	LastModified time.Time `json:"last_modified"`
}

// Report is the result of Verify.
type Report struct {
	AsOf        string     `json:"as_of"`
	Streams     int        `json:"streams"`
	Commits     int64      `json:"commits"`
	Checkpoints int        `json:"checkpoints"` // checkpoints compared with the replay
	Files       int        `json:"files"`       // live committed files checked
	Bytes       int64      `json:"bytes"`
	Rows        int64      `json:"rows"`
	Problems    []Problem  `json:"problems"`
	InFlight    []InFlight `json:"in_flight"`
	// Restores lists the restore commits found in the replay: audited
	// repairs, not problems.
	Restores []RestoreRecord `json:"restores"`
}

// RestoreRecord is a restore commit as verify reports it.
type RestoreRecord struct {
	Stream      string    `json:"stream"`
	Seq         int64     `json:"seq"`
	CommittedAt time.Time `json:"committed_at"`
	txlog.RestoreInfo
}

// OK reports whether Verify found nothing wrong.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Progress is passed to the progress callback after each file.
type Progress struct {
	FilesDone, FilesTotal int
	BytesDone, BytesTotal int64
}

// Options tunes Verify.
type Options struct {
	// Grace: an object no commit names that is younger than this is
	// reported as in flight, not as a problem (default txlog.DefaultGrace).
	Grace    time.Duration
	Progress func(Progress)
}

// Concurrency is how many files Verify reads at once.
var Concurrency = 4

// Verify runs VerifyWith with the default grace period.
func Verify(ctx context.Context, w *txlog.Log, progress func(Progress)) (*Report, error) {
	return VerifyWith(ctx, w, Options{Progress: progress})
}

// VerifyWith is the auditor's check. It
//   - replays every stream from commit 1 and compares each checkpoint with
//     the replayed state (a checkpoint edited by hand is caught here);
//   - re-reads every file live at the warehouse's as-of point (the heads by
//     default) and checks its size, SHA-256 and Parquet row count;
//   - lists objects under the table prefixes that no commit ever named:
//     older than the grace period they are problems (left by a writer that
//     crashed before committing: invisible to readers, but worth knowing),
//     younger they are in flight;
//   - checks each stream's commit sequence has no gaps;
//   - lists the restore commits (Restores), which are not problems.
//
// The data objects are listed before the log is read, so a commit landing
// meanwhile cannot make its files look uncommitted. VerifyWith returns an
// error only when it cannot do its job (the store is unreachable, the
// context ended); what it finds is in the report.
func VerifyWith(ctx context.Context, w *txlog.Log, opts Options) (*Report, error) {
	if opts.Grace == 0 {
		opts.Grace = txlog.DefaultGrace
	}
	rep := &Report{AsOf: w.AsOfPoint().String(), Problems: []Problem{}, InFlight: []InFlight{}, Restores: []RestoreRecord{}}
	started := w.Time()

	// 1. The data objects, first.
	var objects []storage.ObjectInfo
	err := w.Store.List(ctx, "", "", func(o storage.ObjectInfo) error {
		if !strings.HasPrefix(o.Key, txlog.LogPrefix) && txlog.TablePrefixOf(o.Key) != "" {
			objects = append(objects, o)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify: list %s: %w", w.Store.URL(), err)
	}

	// 2. The log: stream discovery independent of the registry, gaps.
	seqs := map[string][]int64{}
	cps := map[string][]int64{}
	err = w.Store.List(ctx, txlog.LogPrefix, "", func(o storage.ObjectInfo) error {
		if strings.HasPrefix(o.Key, txlog.RegistryPrefix) {
			return nil
		}
		rest := o.Key[len(txlog.LogPrefix):]
		i := strings.LastIndexByte(rest, '/')
		if i < 0 {
			rep.Problems = append(rep.Problems, Problem{ProblemLog, o.Key, "object directly under _log/"})
			return nil
		}
		stream, name := rest[:i], rest[i+1:]
		if name == txlog.LastCheckpoint {
			return nil
		}
		seq, isCP, ok := txlog.ParseLogName(name)
		switch {
		case !ok:
			rep.Problems = append(rep.Problems, Problem{ProblemLog, o.Key, "not a commit or checkpoint name"})
		case isCP:
			cps[stream] = append(cps[stream], seq)
		default:
			seqs[stream] = append(seqs[stream], seq)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify: list %s: %w", txlog.LogPrefix, err)
	}
	registered, err := w.Streams(ctx)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	names := map[string]bool{}
	for _, n := range registered {
		names[n] = true
	}
	for n := range seqs {
		if !names[n] {
			rep.Problems = append(rep.Problems, Problem{ProblemLog, txlog.StreamMarkerKey(n),
				fmt.Sprintf("stream %s has commits but no registry marker; readers do not see it", n)})
			names[n] = true
		}
	}
	streamNames := make([]string, 0, len(names))
	for n := range names {
		streamNames = append(streamNames, n)
	}
	sort.Strings(streamNames)

	// 3. Replay each stream from commit 1: every key ever added is named
	// (a retired file not yet vacuumed is not "uncommitted"), and every
	// checkpoint is compared with the replay.
	named := map[string]bool{}
	live := map[string]txlog.FileEntry{}
	for _, n := range streamNames {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		s := seqs[n]
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		rep.Streams++
		rep.Commits += int64(len(s))
		gap := false
		for i, q := range s {
			if q != int64(i+1) {
				rep.Problems = append(rep.Problems, Problem{ProblemGap, txlog.CommitKey(n, int64(i+1)),
					fmt.Sprintf("stream %s: commit seq %d is missing (next present is %d)", n, i+1, q)})
				gap = true
				break
			}
		}
		if gap {
			// Name what the surviving commits add, so their files are
			// not reported as uncommitted on top of the gap.
			for _, q := range s {
				if c, err := w.ReadCommit(ctx, txlog.CommitKey(n, q)); err == nil {
					for _, a := range c.Adds {
						named[a.Key] = true
					}
				}
			}
			continue
		}
		asOf, err := w.SeqAsOf(ctx, n, s)
		if err != nil {
			rep.Problems = append(rep.Problems, Problem{ProblemLog, txlog.StreamPrefix(n), err.Error()})
			continue
		}
		checked, err := replayAndCompare(ctx, w, n, s, cps[n], asOf, named, live, rep)
		rep.Checkpoints += checked
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("verify: %w", ctx.Err())
			}
			rep.Problems = append(rep.Problems, Problem{ProblemLog, txlog.StreamPrefix(n), err.Error()})
		}
	}

	// 4. Objects no commit names.
	for _, o := range objects {
		if named[o.Key] {
			continue
		}
		if started.Sub(o.LastModified) < opts.Grace {
			rep.InFlight = append(rep.InFlight, InFlight{Key: o.Key, Size: o.Size, LastModified: o.LastModified})
			continue
		}
		rep.Problems = append(rep.Problems, Problem{ProblemUncommitted, o.Key,
			fmt.Sprintf("%d bytes no commit names, written %s (left by a writer that did not commit; invisible to readers; archtics vacuum deletes it)",
				o.Size, o.LastModified.UTC().Format(time.RFC3339))})
	}

	// 5. Re-read the live files.
	files := sortedEntries(live)
	var total int64
	for _, e := range files {
		total += e.Bytes
	}
	rep.Files = len(files)
	var (
		mu       sync.Mutex
		done     int
		doneB    int64
		problems []Problem
	)
	// A file that cannot be read at all (not a damaged one: that is a
	// problem) fails the check, and stops the others.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(Concurrency, 1))
	for _, e := range files {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			p, err := verifyFile(gctx, w, e)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if p != nil {
				problems = append(problems, *p)
			}
			done++
			doneB += e.Bytes
			rep.Rows += e.Rows
			if opts.Progress != nil {
				opts.Progress(Progress{done, len(files), doneB, total})
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil && ctx.Err() == nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	rep.Bytes = total
	sort.Slice(problems, func(i, j int) bool { return problems[i].Key < problems[j].Key })
	rep.Problems = append(rep.Problems, problems...)
	return rep, nil
}

// replayAndCompare replays stream n from commit 1 through its listed
// commits, naming every key ever added, comparing every listed checkpoint
// with the replayed state at its seq, and adding the files live at seq
// asOf to live. It returns how many checkpoints it compared.
func replayAndCompare(ctx context.Context, w *txlog.Log, n string, commits, cps []int64, asOf int64,
	named map[string]bool, live map[string]txlog.FileEntry, rep *Report) (int, error) {
	isCP := map[int64]bool{}
	for _, q := range cps {
		isCP[q] = true
	}
	state := txlog.NewStreamState(n)
	checked := 0 // asOf 0 (before the first commit) adds no live file
	for c, err := range commitsInOrder(ctx, w, n, commits) {
		if err != nil {
			return checked, err
		}
		if err := state.Apply(c); err != nil {
			return checked, fmt.Errorf("replay %s: %w", c.Key(), err)
		}
		for _, a := range c.Adds {
			named[a.Key] = true
		}
		if c.Restore != nil && c.Seq <= asOf {
			rep.Restores = append(rep.Restores, RestoreRecord{Stream: n, Seq: c.Seq, CommittedAt: c.CommittedAt, RestoreInfo: *c.Restore})
		}
		if c.Seq == asOf {
			for _, m := range state.Files {
				for k, e := range m {
					live[k] = e
				}
			}
		}
		if !isCP[c.Seq] {
			continue
		}
		checked++
		key := txlog.CheckpointKey(n, c.Seq)
		cp, err := w.ReadCheckpoint(ctx, n, key)
		if err != nil {
			if strings.Contains(err.Error(), "carries no checksum") {
				checked--
				continue // a format 1 checkpoint: readers ignore it too
			}
			rep.Problems = append(rep.Problems, Problem{ProblemCheckpoint, key, err.Error()})
			continue
		}
		want, err := state.Checksum()
		if err != nil {
			return checked, err
		}
		if got, _ := cp.Checksum(); got != want {
			rep.Problems = append(rep.Problems, Problem{ProblemCheckpoint, key,
				fmt.Sprintf("state sha256 %s, the replay of commits 1..%d gives %s (%d live files there, %d in the replay): readers that trust it see the wrong files",
					got, c.Seq, want, cp.LiveFiles(), state.LiveFiles())})
		}
	}
	return checked, nil
}

// commitsInOrder yields the stream's commits in seq order, reading a few
// ahead concurrently so a long log replays at the store's throughput, not
// its latency.
func commitsInOrder(ctx context.Context, w *txlog.Log, stream string, seqs []int64) iter.Seq2[*txlog.Commit, error] {
	return func(yield func(*txlog.Commit, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		type result struct {
			c   *txlog.Commit
			err error
		}
		const ahead = 16
		slots := make(chan chan result, ahead)
		go func() {
			defer close(slots)
			for _, q := range seqs {
				ch := make(chan result, 1)
				select {
				case slots <- ch:
				case <-ctx.Done():
					return
				}
				go func(q int64) {
					c, err := w.ReadCommit(ctx, txlog.CommitKey(stream, q))
					ch <- result{c, err}
				}(q)
			}
		}()
		for ch := range slots {
			r := <-ch
			if !yield(r.c, r.err) || r.err != nil {
				return
			}
		}
		if err := ctx.Err(); err != nil {
			yield(nil, err)
		}
	}
}

// verifyFile checks one committed file. It returns a problem for what is
// wrong with the file and an error only when the context ended.
func verifyFile(ctx context.Context, w *txlog.Log, e txlog.FileEntry) (*Problem, error) {
	rc, info, err := w.Store.Get(ctx, e.Key)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("verify %s: %w", e.Key, ctx.Err())
		}
		if errors.Is(err, storage.ErrNotFound) {
			return &Problem{ProblemMissing, e.Key, fmt.Sprintf("committed file (%s, %d rows) is not in the store", e.Table, e.Rows)}, nil
		}
		return &Problem{ProblemUnreadable, e.Key, err.Error()}, nil
	}
	defer rc.Close()
	h := sha256.New()
	tail := &tailWriter{max: 1 << 20}
	n, err := io.Copy(io.MultiWriter(h, tail), rc)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("verify %s: %w", e.Key, ctx.Err())
		}
		return &Problem{ProblemUnreadable, e.Key, fmt.Sprintf("read after %d bytes: %v", n, err)}, nil
	}
	if n != e.Bytes || (info.Size > 0 && info.Size != e.Bytes) {
		return &Problem{ProblemSize, e.Key, fmt.Sprintf("%d bytes, commit says %d", n, e.Bytes)}, nil
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != e.SHA256 {
		return &Problem{ProblemChecksum, e.Key, fmt.Sprintf("sha256 %s, commit says %s", sum, e.SHA256)}, nil
	}
	rows, err := parquetRows(ctx, w, e.Key, n, tail.bytes())
	if err != nil {
		return &Problem{ProblemUnreadable, e.Key, err.Error()}, nil
	}
	if rows != e.Rows {
		return &Problem{ProblemRows, e.Key, fmt.Sprintf("footer says %d rows, commit says %d", rows, e.Rows)}, nil
	}
	return nil, nil
}

// parquetRows reads the row count from the Parquet footer, from the tail
// already read when it holds the whole footer, else with a range read.
func parquetRows(ctx context.Context, w *txlog.Log, key string, size int64, tail []byte) (int64, error) {
	if size < 12 || len(tail) < 8 {
		return 0, fmt.Errorf("parquet %s: %d bytes is too short", key, size)
	}
	end := tail[len(tail)-8:]
	if !bytes.Equal(end[4:], []byte("PAR1")) {
		return 0, fmt.Errorf("parquet %s: no PAR1 magic at the end", key)
	}
	flen := int64(binary.LittleEndian.Uint32(end[:4]))
	if flen+12 > size {
		return 0, fmt.Errorf("parquet %s: footer length %d exceeds the file", key, flen)
	}
	var footer []byte
	if int64(len(tail)) >= flen+8 {
		footer = tail[int64(len(tail))-8-flen : len(tail)-8]
	} else {
		rc, err := w.Store.GetRange(ctx, key, size-8-flen, flen)
		if err != nil {
			return 0, fmt.Errorf("parquet %s: read footer: %w", key, err)
		}
		footer, err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return 0, fmt.Errorf("parquet %s: read footer: %w", key, err)
		}
	}
	md, err := metadata.NewFileMetaData(footer, nil)
	if err != nil {
		return 0, fmt.Errorf("parquet %s: parse footer: %w", key, err)
	}
	return md.NumRows, nil
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	max int
	buf []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return n, nil
}

func (t *tailWriter) bytes() []byte {
	if len(t.buf) > t.max {
		return t.buf[len(t.buf)-t.max:]
	}
	return t.buf
}

func sortedEntries(m map[string]txlog.FileEntry) []txlog.FileEntry {
	out := make([]txlog.FileEntry, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
