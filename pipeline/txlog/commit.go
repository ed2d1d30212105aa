package txlog

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"runtime/debug"
	"sort"
	"strings"
	"time"
	"unicode"

	"golang.org/x/sync/errgroup"

	"archtics/schemas"
	"archtics/storage"
)

// ErrCommitConflict: another writer committed the sequence number this
// commit wanted. Nothing was written; rerun from the new head.
var ErrCommitConflict = errors.New("commit conflict: another writer committed first")

// ErrBatchSourceChanged is wrapped when a batch id is committed already but
// the rerun names other input (CommitRequest.SourceID): the rerun would be
// a silent no-op over data that is not what the caller now holds.
var ErrBatchSourceChanged = errors.New("batch already committed from other input")

// ErrPartitionMismatch is wrapped when an upload finds another object under
// a content-addressed name: two contents with the same name hash, which
// content addressing makes practically impossible, or a damaged object.
var ErrPartitionMismatch = errors.New("partition exists with different content")

// ErrNotOwner is wrapped when a commit adds or retires a file in a
// partition its stream does not own (schemas.Table.Owner).
var ErrNotOwner = errors.New("the partition belongs to another stream")

// ErrReadOnly is wrapped when a warehouse opened as of a past point, or an
// offline copy, is asked to commit.
var ErrReadOnly = errors.New("the warehouse is opened read-only (as of a past point, or an offline copy)")

// CommitFormat is the version of the commit and checkpoint JSON this
// program writes. Format 2 added commit ids, retention, deletes, cursors
// and checkpoint checksums; format 1 commits are still read.
const CommitFormat = 2

// RestoreFormat is the format of a restore commit (Commit.Restore): format
// 2 plus the restore and forget_batches fields, which move a watermark back
// and forget batch ids. A program that reads only format 2 would replay it
// wrongly, so it refuses the commit and asks to be upgraded instead.
const RestoreFormat = 3

// maxReadFormat is the newest commit format this program reads.
const maxReadFormat = RestoreFormat

// CheckpointEvery is how often (in commits) a stream's state is
// checkpointed, so opening a stream reads one checkpoint and at most about
// this many commits. A checkpoint that failed to be written is retried by
// the next commit.
const CheckpointEvery = 10

// buildVersion is the module version from the build info, recorded in
// commits when Log.Version is empty.
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "dev"
}

// Watermark is the range of the source a commit covers. To is an RFC 3339
// instant (a dump's cutoff, the end of a pulled interval, a tick's logical
// time); the stream's watermark is the To of its newest commit that set
// one. Since it lives in the commit that lands the data it can never run
// ahead of the data, and a commit that would move it back is refused.
type Watermark struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// DeletedFile is a file vacuum deleted, recorded in its commit for the
// auditors: what it was, and why it could go.
type DeletedFile struct {
	Table  string `json:"table,omitempty"`
	Key    string `json:"key"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256,omitempty"` // as committed, or read before deleting an orphan
	Reason string `json:"reason"`           // "retired" (past the retention), "orphan", "checkpoint", "upload"
}

// Commit is one entry of a stream's log, stored at
// _log/<stream>/<20-digit seq>.json and created only with PutIfAbsent.
type Commit struct {
	Format int    `json:"format"`
	Stream string `json:"stream"`
	Seq    int64  `json:"seq"`
	// CommitID is random per attempt: when a write's answer is lost and
	// the retry finds the object there, it tells ours from another's.
	CommitID       string            `json:"commit_id,omitempty"`
	Stage          string            `json:"stage"`
	BatchID        string            `json:"batch_id"`
	PinBatch       bool              `json:"pin_batch,omitempty"`
	SourceID       string            `json:"source_id,omitempty"`
	CommittedAt    time.Time         `json:"committed_at"`
	Watermark      Watermark         `json:"watermark"`
	Retention      string            `json:"retention,omitempty"` // a Go duration: the stream's retention from here on
	Schemas        map[string]string `json:"schemas,omitempty"`   // table → schemas fingerprint, for every table touched
	Cursors        map[string]string `json:"cursors,omitempty"`
	ProgramVersion string            `json:"program_version"`
	Adds           []FileEntry       `json:"adds"`
	Retires        []FileRef         `json:"retires"`
	Deletes        []DeletedFile     `json:"deletes,omitempty"`
	// Summary holds a stage's own counts (rows in, rejected, dropped by a
	// rule), for the log and the metrics.
	Summary map[string]int64 `json:"summary,omitempty"`
	// Restore marks a restore commit (archtics restore): it makes the
	// stream's live files, watermark, cursors and schema fingerprints
	// those of commit Restore.ToSeq. It is the one commit that may move
	// the watermark back or clear it (Watermark.To is ToSeq's watermark,
	// empty when ToSeq had none).
	Restore *RestoreInfo `json:"restore,omitempty"`
	// ForgetBatches are the batch ids committed after Restore.ToSeq that
	// the stream forgets, so that those batches can be committed again
	// (a dump load redone from a clean dump). Only a restore has them.
	ForgetBatches []string `json:"forget_batches,omitempty"`

	// Existing is set when Commit found the batch already committed and
	// returned the earlier commit without writing.
	Existing bool `json:"-"`
}

// Key returns the commit's object key.
func (c *Commit) Key() string { return CommitKey(c.Stream, c.Seq) }

// CommitRequest is what a stage asks to commit.
type CommitRequest struct {
	Stream  string // e.g. "nhl/realtime"
	Stage   string // the stage that wrote the data, e.g. "realtime"
	BatchID string // logical batch; a second commit with the same id is a no-op
	// PinBatch keeps the batch id past the retention (a dump load, whose
	// rerun must be recognised however late).
	PinBatch bool
	// SourceID, when set, names the exact input of the batch (a digest of
	// a dump's files, say). A rerun of a committed batch id whose SourceID
	// differs fails with ErrBatchSourceChanged instead of being a no-op.
	SourceID string
	// Watermark the commit advances the stream to. An empty To keeps the
	// stream's current watermark (a compaction does not move it); an
	// earlier To than the stream's is refused (ErrWatermarkBackwards).
	Watermark Watermark
	Adds      []FileEntry
	Retires   []FileRef
	Deletes   []DeletedFile
	Cursors   map[string]string
	Summary   map[string]int64
	// Retention, when set, becomes the stream's retention.
	Retention time.Duration
	// ExpectSeq, when set, is the sequence number the commit must get:
	// head.Seq+1 of the StreamState the caller based its work on. If the
	// head moved, the commit fails with ErrCommitConflict. Zero appends
	// after whatever the head is now (only safe for work that does not
	// depend on the stream's state).
	ExpectSeq int64
	// Tables lists definitions of the touched tables that are not in
	// schemas.All (their fingerprints and owners are needed). Optional.
	Tables []*schemas.Table

	restore *restoreRequest // set only by Restore (restore.go)
}

// Commit validates req against the stream's head and writes commit
// head+1. If the stream already holds a commit with req.BatchID it returns
// that commit (Existing set) without writing: rerunning a batch after a
// crash is a no-op. If another writer took the sequence number first the
// error wraps ErrCommitConflict.
func (w *Log) Commit(ctx context.Context, req CommitRequest) (*Commit, error) {
	if w.ReadOnly() {
		return nil, fmt.Errorf("commit %s: %w", req.Stream, ErrReadOnly)
	}
	head, err := w.Stream(ctx, req.Stream)
	if err != nil {
		return nil, err
	}
	return w.CommitOn(ctx, head, req)
}

// BatchCommit returns the commit of req.BatchID if head holds one
// (Existing set), nil if the batch is new. A writer checks it before doing
// a batch's work, so a rerun of a committed batch costs nothing.
func (w *Log) BatchCommit(ctx context.Context, head *StreamState, req CommitRequest) (*Commit, error) {
	b, ok := head.Batches[req.BatchID]
	if !ok {
		return nil, nil
	}
	c, err := w.ReadCommit(ctx, CommitKey(req.Stream, b.Seq))
	if err != nil {
		return nil, fmt.Errorf("commit %s: batch %s already committed as seq %d: %w", req.Stream, req.BatchID, b.Seq, err)
	}
	if req.SourceID != "" && c.SourceID != "" && req.SourceID != c.SourceID {
		return nil, fmt.Errorf("commit %s: batch %s was committed as seq %d from source %s, this run has source %s: %w",
			req.Stream, req.BatchID, b.Seq, c.SourceID, req.SourceID, ErrBatchSourceChanged)
	}
	c.Existing = true
	return c, nil
}

// CommitOn is Commit on a head the caller opened (Stream) before doing the
// batch's work: the commit gets head.Seq+1 or fails with ErrCommitConflict,
// and head advances to it.
func (w *Log) CommitOn(ctx context.Context, head *StreamState, req CommitRequest) (*Commit, error) {
	if w.ReadOnly() {
		return nil, fmt.Errorf("commit %s: %w", req.Stream, ErrReadOnly)
	}
	if req.BatchID == "" || strings.ContainsFunc(req.BatchID, unicode.IsControl) {
		return nil, fmt.Errorf("commit %s: batch id %q is empty or holds control characters", req.Stream, req.BatchID)
	}
	if c, err := w.BatchCommit(ctx, head, req); c != nil || err != nil {
		return c, err
	}
	seq := head.Seq + 1
	if req.ExpectSeq != 0 && req.ExpectSeq != seq {
		return nil, fmt.Errorf("commit %s seq %d: the stream is at seq %d, another writer committed since: %w",
			req.Stream, req.ExpectSeq, head.Seq, ErrCommitConflict)
	}
	// Commit times never decrease within a stream, so "as of a time"
	// is well defined even when writers' clocks disagree a little.
	now := w.Time().UTC()
	if now.Before(head.CommittedAt) {
		now = head.CommittedAt
	}
	c := &Commit{
		Format: CommitFormat, Stream: req.Stream, Seq: seq, CommitID: newCommitID(), Stage: req.Stage,
		BatchID: req.BatchID, PinBatch: req.PinBatch, SourceID: req.SourceID,
		CommittedAt: now, Watermark: req.Watermark, ProgramVersion: w.version(),
		Adds: req.Adds, Retires: req.Retires, Deletes: req.Deletes, Cursors: req.Cursors, Summary: req.Summary,
	}
	if req.Retention > 0 {
		c.Retention = req.Retention.String()
	}
	if c.Adds == nil {
		c.Adds = []FileEntry{}
	}
	if c.Retires == nil {
		c.Retires = []FileRef{}
	}
	extra := append(append([]*schemas.Table{}, req.Tables...), w.Tables...)
	if r := req.restore; r != nil {
		// The restored commit's watermark and fingerprints, as they were:
		// the files it brings back were written under those.
		info := r.info
		c.Format, c.Restore, c.ForgetBatches = RestoreFormat, &info, r.forget
		c.Watermark = Watermark{From: head.Watermark, To: r.watermark}
		if len(r.schemas) > 0 {
			c.Schemas = r.schemas
		}
	} else {
		if c.Watermark.To == "" {
			c.Watermark = Watermark{From: head.Watermark, To: head.Watermark}
		} else if c.Watermark.From == "" {
			c.Watermark.From = head.Watermark
		}
		fps, err := fingerprints(c, extra)
		if err != nil {
			return nil, fmt.Errorf("commit %s seq %d: %w", req.Stream, seq, err)
		}
		if len(fps) > 0 {
			c.Schemas = fps
		}
	}
	if err := checkOwnership(c, extra); err != nil {
		return nil, fmt.Errorf("commit %s seq %d: %w", req.Stream, seq, err)
	}
	// Validate against the head before writing: what is retired must be
	// live, what is added must not be, the watermark must not go back.
	if err := head.check(c); err != nil {
		return nil, fmt.Errorf("commit %s seq %d: %w", req.Stream, seq, err)
	}
	// A commit names only files that are in the store with the size it
	// says: checked here, not trusted from the caller.
	if err := w.checkUploaded(ctx, c.Adds); err != nil {
		return nil, fmt.Errorf("commit %s seq %d: %w", req.Stream, seq, err)
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("commit %s seq %d: encode: %w", req.Stream, seq, err)
	}
	if seq == 1 {
		// Register the stream before its first commit so readers find
		// it by listing the small registry rather than the whole log.
		if _, err := w.Store.PutIfAbsent(ctx, StreamMarkerKey(req.Stream), bytes.NewReader([]byte(req.Stream)), int64(len(req.Stream))); err != nil && !errors.Is(err, storage.ErrExists) {
			return nil, fmt.Errorf("commit %s seq %d: register stream at %s: %w", req.Stream, seq, StreamMarkerKey(req.Stream), err)
		}
	}
	key := CommitKey(req.Stream, seq)
	if _, err := w.Store.PutIfAbsent(ctx, key, bytes.NewReader(data), int64(len(data))); err != nil {
		got, landed := w.readBack(ctx, key, c, err)
		if landed == nil {
			return nil, fmt.Errorf("commit %s seq %d: write %s: %w", req.Stream, seq, key, err)
		}
		if !*landed {
			return nil, fmt.Errorf("commit %s seq %d: another writer committed seq %d first (%s): %w",
				req.Stream, seq, seq, key, ErrCommitConflict)
		}
		if got != c {
			return got, nil // the same batch, committed by another attempt
		}
	}
	// The head now advances to the commit (the caller's state is its
	// head no more): needed for the checkpoint, and it lets a caller
	// that keeps its state commit again without reopening the stream.
	if err := head.Apply(c); err != nil {
		return nil, fmt.Errorf("commit %s seq %d landed, but its state cannot be built: %w", req.Stream, seq, err)
	}
	if seq-head.CheckpointSeq >= CheckpointEvery {
		// The checkpoint is an optimisation: the commit above is the
		// truth, so failing to write it only costs later opens some
		// GETs, and the next commit tries again.
		if err := w.writeCheckpoint(ctx, head); err != nil {
			w.logger().Warn("checkpoint not written; the commit stands and the next commit retries", "stream", req.Stream, "seq", seq, "err", err)
		} else {
			head.CheckpointSeq = seq
		}
	}
	w.runHooks(ctx, c)
	return c, nil
}

// readBack decides, after a failed commit write, whether the commit landed
// anyway: S3 clients retry a PUT whose answer was lost, and the retry then
// finds the object the first attempt created. It returns (c, true) when
// the object is this very attempt, (earlier, true) when it is another
// attempt's commit of the same batch (Existing set), (nil, false) when it
// is another batch (a conflict), and a nil flag when nothing can be said
// (the object is absent or unreadable: the original error stands).
func (w *Log) readBack(ctx context.Context, key string, c *Commit, werr error) (*Commit, *bool) {
	yes, no := true, false
	got, err := w.ReadCommit(ctx, key)
	if err != nil {
		if errors.Is(werr, storage.ErrExists) && !errors.Is(err, storage.ErrNotFound) {
			// It exists but cannot be read: not ours to claim.
			return nil, &no
		}
		return nil, nil
	}
	switch {
	case got.CommitID != "" && got.CommitID == c.CommitID:
		return c, &yes
	case got.BatchID == c.BatchID && got.SourceID == c.SourceID:
		got.Existing = true
		return got, &yes
	}
	return nil, &no
}

// checkUploaded checks, with one HEAD each (a few at a time), that every
// file a commit adds is in the store with the committed size.
func (w *Log) checkUploaded(ctx context.Context, adds []FileEntry) error {
	var g errgroup.Group
	g.SetLimit(8)
	errs := make([]error, len(adds))
	for i, a := range adds {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			info, err := w.Store.Stat(ctx, a.Key)
			switch {
			case errors.Is(err, storage.ErrNotFound):
				errs[i] = fmt.Errorf("file %s is not in the store: upload it before committing", a.Key)
			case err != nil:
				errs[i] = fmt.Errorf("check %s: %w", a.Key, err)
			case info.Size != a.Bytes:
				errs[i] = fmt.Errorf("file %s is %d bytes in the store, the commit says %d", a.Key, info.Size, a.Bytes)
			}
			return nil // every file's problem is reported, not the first's
		})
	}
	g.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

func newCommitID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// fingerprints returns the schema fingerprint of every table c touches.
func fingerprints(c *Commit, extra []*schemas.Table) (map[string]string, error) {
	out := map[string]string{}
	names := map[string]bool{}
	for _, a := range c.Adds {
		names[a.Table] = true
	}
	for _, r := range c.Retires {
		names[r.Table] = true
	}
	for name := range names {
		t := lookupTable(name, extra)
		if t == nil {
			return nil, fmt.Errorf("unknown table %q: pass its definition in CommitRequest.Tables", name)
		}
		out[name] = t.Fingerprint()
	}
	return out, nil
}

func lookupTable(name string, extra []*schemas.Table) *schemas.Table {
	for _, t := range extra {
		if t.FullName() == name {
			return t
		}
	}
	for _, t := range KnownTables() {
		if t.FullName() == name {
			return t
		}
	}
	return nil
}

// KnownTables are the definitions the pipeline knows without being told
// (schemas.All, rejects included).
func KnownTables() []*schemas.Table {
	return append([]*schemas.Table{}, schemas.All...)
}

// Key layout of the log.
const (
	LogPrefix      = "_log/"
	RegistryPrefix = "_log/_streams/"
	LastCheckpoint = "_last_checkpoint"
)

func StreamPrefix(stream string) string { return LogPrefix + stream + "/" }

func CommitKey(stream string, seq int64) string {
	return fmt.Sprintf("%s%020d.json", StreamPrefix(stream), seq)
}

func CheckpointKey(stream string, seq int64) string {
	return fmt.Sprintf("%s%020d.checkpoint.json", StreamPrefix(stream), seq)
}

func StreamMarkerKey(stream string) string { return RegistryPrefix + url.PathEscape(stream) }

// ParseLogName classifies a key's last element within a stream folder:
// a commit "<seq>.json" or a checkpoint "<seq>.checkpoint.json".
func ParseLogName(name string) (seq int64, checkpoint, ok bool) {
	base, isCP := strings.CutSuffix(name, ".checkpoint.json")
	if !isCP {
		var isCommit bool
		if base, isCommit = strings.CutSuffix(name, ".json"); !isCommit {
			return 0, false, false
		}
	}
	if len(base) != 20 {
		return 0, false, false
	}
	var n int64
	for i := 0; i < len(base); i++ {
		c := base[i]
		if c < '0' || c > '9' {
			return 0, false, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, isCP, n > 0
}

// ValidateStreamName checks a stream name: slash-separated segments of
// letters, digits, '.', '_' and '-', none empty or starting with '_' or
// '.' (names beginning with '_' are reserved for the log's own objects).
func ValidateStreamName(name string) error {
	if name == "" {
		return errors.New("empty stream name")
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg[0] == '_' || seg[0] == '.' {
			return fmt.Errorf("stream name %q: empty segment or segment starting with '_' or '.'", name)
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return fmt.Errorf("stream name %q: character %q not allowed", name, c)
			}
		}
	}
	return nil
}

func sortedEntries(m map[string]FileEntry) []FileEntry {
	out := make([]FileEntry, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
