package pipeline

import (
	"context"
	"fmt"

	"archtics/pipeline/txlog"
	"archtics/schemas"
)

// WriteAndCommit runs fn, which writes the batch's data through the
// TableWriters add returns (one per table, created on first use), then
// closes (uploads) them and commits their files together with req's own
// Adds and Retires: several tables land in one commit or not at all.
//
// If the batch is already committed, fn is not run and the earlier commit
// is returned (Existing set). Unless req.ExpectSeq is set, the commit is
// pinned to the head seen when the batch started, so a writer that
// committed meanwhile makes this one fail with ErrCommitConflict instead of
// silently interleaving.
func (w *Warehouse) WriteAndCommit(ctx context.Context, req txlog.CommitRequest, fn func(add func(t *schemas.Table) *TableWriter) error, opts ...WriterOption) (*txlog.Commit, error) {
	if w.ReadOnly() {
		return nil, fmt.Errorf("commit %s: %w", req.Stream, txlog.ErrReadOnly)
	}
	head, err := w.Stream(ctx, req.Stream)
	if err != nil {
		return nil, err
	}
	if c, err := w.BatchCommit(ctx, head, req); c != nil || err != nil {
		return c, err
	}
	if req.ExpectSeq == 0 {
		req.ExpectSeq = head.Seq + 1
	}
	var writers []*TableWriter
	byTable := map[*schemas.Table]*TableWriter{}
	add := func(t *schemas.Table) *TableWriter {
		if tw, ok := byTable[t]; ok {
			return tw
		}
		tw, err := NewTableWriter(w, t, req.BatchID, opts...)
		if err != nil {
			// Keep add's signature simple: the error surfaces on Write
			// and Close.
			tw = &TableWriter{w: w, t: t, err: err}
		}
		byTable[t] = tw
		writers = append(writers, tw)
		return tw
	}
	abort := func() {
		for _, tw := range writers {
			tw.Abort()
		}
	}
	if err := fn(add); err != nil {
		abort()
		return nil, fmt.Errorf("commit %s batch %s: %w", req.Stream, req.BatchID, err)
	}
	for i, tw := range writers {
		files, err := tw.Close(ctx)
		if err != nil {
			for _, rest := range writers[i+1:] {
				rest.Abort()
			}
			return nil, fmt.Errorf("commit %s batch %s: %w", req.Stream, req.BatchID, err)
		}
		req.Adds = append(req.Adds, files...)
		req.Tables = append(req.Tables, tw.t)
	}
	return w.CommitOn(ctx, head, req)
}
