package txlog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"

	"archtics/schemas"
	"archtics/storage"
)

// ErrRestoreTarget is wrapped when a restore names a commit the stream
// does not have (negative, or after the head).
var ErrRestoreTarget = errors.New("no such commit to restore to")

// ErrRestoreFileGone is wrapped when a file live at the commit to restore
// is no longer in the store as committed: vacuum deleted it once the
// retention had passed since it was retired, or it was damaged.
var ErrRestoreFileGone = errors.New("a file to restore is no longer in the store as committed")

// restoreConcurrency is how many files a restore reads at once to check them.
const restoreConcurrency = 4

// RestoreInfo is what a restore commit records of itself.
type RestoreInfo struct {
	FromSeq int64  `json:"from_seq"` // the head it was made on (its own seq is FromSeq+1)
	ToSeq   int64  `json:"to_seq"`   // the commit whose state it restores; 0: the empty stream
	By      string `json:"by,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// restoreBatchPrefix starts the batch id of every restore commit:
// "restore-<head seq>-to-<target seq>". A later restore does not forget
// these (they can never be committed again: each names its head).
const restoreBatchPrefix = "restore-"

// restoreRequest is the part of a CommitRequest only Restore sets.
type restoreRequest struct {
	info      RestoreInfo
	watermark string
	forget    []string
	schemas   map[string]string
}

// RestoreOptions tunes Restore.
type RestoreOptions struct {
	By, Reason string // recorded in the commit: who restored, and why
	// DryRun plans and checks the restore (the files to bring back are
	// read and checked) without committing.
	DryRun bool
	// Tables are definitions of touched tables beyond schemas.All and the
	// warehouse's own (CommitRequest.Tables).
	Tables []*schemas.Table
}

// RestoreReport says what a restore did, or would do.
type RestoreReport struct {
	Stream  string
	FromSeq int64 // the head
	ToSeq   int64
	// Adds are the files live at ToSeq but not at the head; Retires the
	// files live at the head but not at ToSeq.
	Adds, Retires []FileEntry
	Watermark     Watermark // From: the head's, To: ToSeq's
	// Cursors maps each cursor that changes to its value at ToSeq ("":
	// removed); CursorsBefore holds the head's values of the same keys.
	Cursors, CursorsBefore map[string]string
	// ForgetBatches are the batch ids committed after ToSeq.
	ForgetBatches []string
	// NoOp: the head's files, watermark, cursors and fingerprints are
	// those of ToSeq already (a rerun after a successful restore).
	NoOp   bool
	Commit *Commit // nil on a dry run or a no-op; Existing when another run committed it
}

// Restore makes stream's live files, watermark, cursors and schema
// fingerprints those of commit toSeq (0: the empty stream) with one new
// commit (stage "restore") that adds back the files live then, retires
// the files added since, and forgets the batch ids committed since. The
// log keeps every commit: the restored-over ones stay readable with
// --as-of, and the restore itself is audited like any commit.
//
// Every file to bring back is read and checked against its commit (size
// and SHA-256) first; a file vacuum deleted fails the restore with
// ErrRestoreFileGone. The commit expects the head it was planned on, so a
// writer that committed meanwhile makes it fail with ErrCommitConflict. A
// rerun after success finds the state already restored (NoOp).
func (w *Log) Restore(ctx context.Context, stream string, toSeq int64, opts RestoreOptions) (*RestoreReport, error) {
	if w.ReadOnly() {
		return nil, fmt.Errorf("restore %s: %w", stream, ErrReadOnly)
	}
	if err := ValidateStreamName(stream); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if toSeq < 0 {
		return nil, fmt.Errorf("restore %s to seq %d: %w (0 is the empty stream)", stream, toSeq, ErrRestoreTarget)
	}
	head, err := w.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", stream, err)
	}
	return w.RestoreOn(ctx, head, toSeq, opts)
}

// RestoreOn restores head's stream, planned on head, which must still be
// the head when the commit is written.
func (w *Log) RestoreOn(ctx context.Context, head *StreamState, toSeq int64, opts RestoreOptions) (*RestoreReport, error) {
	stream := head.Stream
	if toSeq > head.Seq {
		return nil, fmt.Errorf("restore %s to seq %d: %w: the head is seq %d", stream, toSeq, ErrRestoreTarget, head.Seq)
	}
	target := NewStreamState(stream)
	if toSeq > 0 {
		var err error
		if target, err = w.openAtSeq(ctx, stream, toSeq, nil, nil); err != nil {
			return nil, fmt.Errorf("restore %s: open seq %d: %w", stream, toSeq, err)
		}
	}
	rep, schemaChanges := planRestore(head, target)
	if rep.NoOp {
		return rep, nil
	}
	if err := w.checkRestorable(ctx, stream, toSeq, head, rep.Adds); err != nil {
		return rep, err
	}
	if opts.DryRun {
		return rep, nil
	}
	req := CommitRequest{
		Stream: stream, Stage: "restore",
		BatchID:   fmt.Sprintf("%s%d-to-%d", restoreBatchPrefix, head.Seq, toSeq),
		ExpectSeq: head.NextSeq(),
		Adds:      rep.Adds, Cursors: rep.Cursors, Tables: opts.Tables,
		Summary: map[string]int64{"files_added": int64(len(rep.Adds)), "files_retired": int64(len(rep.Retires)),
			"rows_added": rowsOf(rep.Adds), "rows_retired": rowsOf(rep.Retires), "batches_forgotten": int64(len(rep.ForgetBatches))},
		restore: &restoreRequest{
			info:      RestoreInfo{FromSeq: head.Seq, ToSeq: toSeq, By: opts.By, Reason: opts.Reason},
			watermark: rep.Watermark.To, forget: rep.ForgetBatches, schemas: schemaChanges,
		},
	}
	for _, e := range rep.Retires {
		req.Retires = append(req.Retires, e.Ref())
	}
	c, err := w.CommitOn(ctx, head, req)
	if err != nil {
		return rep, fmt.Errorf("restore %s to seq %d: %w", stream, toSeq, err)
	}
	rep.Commit = c
	return rep, nil
}

// planRestore compares the head with the target state. It returns the
// report (NoOp when nothing differs) and the fingerprint changes (""
// removes a table's).
func planRestore(head, target *StreamState) (*RestoreReport, map[string]string) {
	rep := &RestoreReport{Stream: head.Stream, FromSeq: head.Seq, ToSeq: target.Seq,
		Watermark: Watermark{From: head.Watermark, To: target.Watermark},
		Cursors:   map[string]string{}, CursorsBefore: map[string]string{}}
	for t, m := range target.Files {
		for k, e := range m {
			if h, ok := head.Files[t][k]; !ok || h.SHA256 != e.SHA256 || h.Bytes != e.Bytes {
				rep.Adds = append(rep.Adds, e)
			}
		}
	}
	for t, m := range head.Files {
		for k, e := range m {
			if g, ok := target.Files[t][k]; !ok || g.SHA256 != e.SHA256 || g.Bytes != e.Bytes {
				rep.Retires = append(rep.Retires, e)
			}
		}
	}
	sort.Slice(rep.Adds, func(i, j int) bool { return rep.Adds[i].Key < rep.Adds[j].Key })
	sort.Slice(rep.Retires, func(i, j int) bool { return rep.Retires[i].Key < rep.Retires[j].Key })
	for k, v := range head.Cursors {
		if target.Cursors[k] != v {
			rep.Cursors[k], rep.CursorsBefore[k] = target.Cursors[k], v
		}
	}
	for k, v := range target.Cursors {
		if _, ok := head.Cursors[k]; !ok {
			rep.Cursors[k], rep.CursorsBefore[k] = v, ""
		}
	}
	schemaChanges := map[string]string{}
	for t, fp := range head.Schemas {
		if target.Schemas[t] != fp {
			schemaChanges[t] = target.Schemas[t]
		}
	}
	for t, fp := range target.Schemas {
		if _, ok := head.Schemas[t]; !ok {
			schemaChanges[t] = fp
		}
	}
	type batch struct {
		id  string
		seq int64
	}
	var forget []batch
	for id, b := range head.Batches {
		if b.Seq > target.Seq && !strings.HasPrefix(id, restoreBatchPrefix) {
			forget = append(forget, batch{id, b.Seq})
		}
	}
	sort.Slice(forget, func(i, j int) bool { return forget[i].seq < forget[j].seq })
	for _, b := range forget {
		rep.ForgetBatches = append(rep.ForgetBatches, b.id)
	}
	rep.NoOp = len(rep.Adds) == 0 && len(rep.Retires) == 0 && len(rep.Cursors) == 0 && len(schemaChanges) == 0 &&
		len(rep.ForgetBatches) == 0 && head.Watermark == target.Watermark
	return rep, schemaChanges
}

// checkRestorable reads each file to bring back and checks its size and
// SHA-256 against its commit, a few at a time.
func (w *Log) checkRestorable(ctx context.Context, stream string, toSeq int64, head *StreamState, adds []FileEntry) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(restoreConcurrency)
	errs := make([]error, len(adds))
	for i, e := range adds {
		g.Go(func() error {
			err := w.checkContent(gctx, e)
			if err == nil {
				return nil
			}
			if gctx.Err() != nil {
				return gctx.Err()
			}
			when := "its tombstone has expired too"
			if r, ok := head.Retired[e.Key]; ok {
				when = fmt.Sprintf("retired by seq %d at %s", r.RetiredSeq, r.RetiredAt.UTC().Format("2006-01-02T15:04:05Z"))
			}
			errs[i] = fmt.Errorf("file %s (%s, live at seq %d; %s): %w", e.Key, e.Table, toSeq, when, err)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("restore %s to seq %d: %w", stream, toSeq, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("restore %s to seq %d: the stream's retention (%s) keeps retired files only that long after their retirement, "+
			"and vacuum has deleted what is past it: restore to a later commit, or reload the data: %w", stream, toSeq, head.Retention, err)
	}
	return nil
}

// checkContent reads a committed file and compares its size and SHA-256
// with the entry's.
func (w *Log) checkContent(ctx context.Context, e FileEntry) error {
	rc, _, err := w.Store.Get(ctx, e.Key)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("not in the store: %w", ErrRestoreFileGone)
	}
	if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return fmt.Errorf("read after %d bytes: %w", n, err)
	}
	if n != e.Bytes {
		return fmt.Errorf("%d bytes in the store, committed as %d: %w", n, e.Bytes, ErrRestoreFileGone)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != e.SHA256 {
		return fmt.Errorf("sha256 %s in the store, committed as %s: %w", sum, e.SHA256, ErrRestoreFileGone)
	}
	return nil
}

func rowsOf(es []FileEntry) int64 {
	var n int64
	for _, e := range es {
		n += e.Rows
	}
	return n
}
