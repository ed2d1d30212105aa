package txlog

// The commit log.
//
// Layout, all under the store root:
//
//	_log/<stream>/<seq:020d>.json             commit seq (PutIfAbsent only)
//	_log/<stream>/<seq:020d>.checkpoint.json  state after commit seq, every CheckpointEvery commits
//	_log/<stream>/_last_checkpoint            hint: newest checkpoint (CompareAndSwap; may be stale)
//	_log/_streams/<url-escaped stream>        registry: one marker per stream, written before its first commit
//
// A stream is opened from the newest checkpoint the hint names plus the
// commits after it, found by GETs (see probeForward), so the cost is a few
// GETs and at most about CheckpointEvery commit GETs however long the
// stream is. Without a usable hint the stream folder is listed once (keys
// only) to find the newest checkpoint.
//
// The warehouse's state is the union of its streams' states: Snapshot lists
// the registry (one small object per stream) rather than the whole log.

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"sort"
	"strings"
	"time"

	"archtics/schemas"
	"archtics/storage"
)

type checkpointHint struct {
	Seq int64  `json:"seq"`
	Key string `json:"key"`
}

func (w *Log) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}

func (w *Log) writeCheckpoint(ctx context.Context, s *StreamState) error {
	data, err := s.EncodeCheckpoint()
	if err != nil {
		return fmt.Errorf("encode checkpoint of %s seq %d: %w", s.Stream, s.Seq, err)
	}
	key := CheckpointKey(s.Stream, s.Seq)
	if _, err := w.Store.PutIfAbsent(ctx, key, bytes.NewReader(data), int64(len(data))); err != nil && !errors.Is(err, storage.ErrExists) {
		return fmt.Errorf("write checkpoint %s: %w", key, err)
	}
	return w.updateHint(ctx, s.Stream, checkpointHint{Seq: s.Seq, Key: key})
}

// updateHint moves _last_checkpoint forward (never back) with
// CompareAndSwap. Losing a race to a newer hint is fine.
func (w *Log) updateHint(ctx context.Context, stream string, h checkpointHint) error {
	key := StreamPrefix(stream) + LastCheckpoint
	data, _ := json.Marshal(h)
	for attempt := 0; attempt < 3; attempt++ {
		cur, info, err := w.readHint(ctx, stream)
		etag := ""
		switch {
		case err == nil:
			if cur.Seq >= h.Seq {
				return nil
			}
			etag = info.ETag
		case errors.Is(err, storage.ErrNotFound):
		default:
			// An unreadable hint is replaced only if it is absent; a
			// broken one is left to the fallback listing.
			return fmt.Errorf("read %s: %w", key, err)
		}
		_, err = w.Store.CompareAndSwap(ctx, key, data, etag)
		if err == nil {
			return nil
		}
		if !errors.Is(err, storage.ErrConflict) && !errors.Is(err, storage.ErrExists) {
			return fmt.Errorf("update %s: %w", key, err)
		}
	}
	return fmt.Errorf("update %s: lost the race three times", key)
}

func (w *Log) readHint(ctx context.Context, stream string) (checkpointHint, storage.ObjectInfo, error) {
	var h checkpointHint
	key := StreamPrefix(stream) + LastCheckpoint
	data, info, err := w.GetAll(ctx, key)
	if err != nil {
		return h, info, err
	}
	if err := json.Unmarshal(data, &h); err != nil {
		return h, info, fmt.Errorf("decode %s: %w", key, err)
	}
	return h, info, nil
}

func (w *Log) GetAll(ctx context.Context, key string) ([]byte, storage.ObjectInfo, error) {
	rc, info, err := w.Store.Get(ctx, key)
	if err != nil {
		return nil, info, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, info, fmt.Errorf("read %s: %w", key, err)
	}
	return data, info, nil
}

func (w *Log) ReadCheckpoint(ctx context.Context, stream, key string) (*StreamState, error) {
	data, _, err := w.GetAll(ctx, key)
	if err != nil {
		return nil, err
	}
	return DecodeCheckpoint(data, stream, key)
}

func (w *Log) ReadCommit(ctx context.Context, key string) (*Commit, error) {
	data, _, err := w.GetAll(ctx, key)
	if err != nil {
		return nil, err
	}
	var c Commit
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("decode commit %s: %w", key, err)
	}
	if c.Format > maxReadFormat {
		return nil, fmt.Errorf("commit %s has format %d; this program reads up to %d: upgrade it", key, c.Format, maxReadFormat)
	}
	return &c, nil
}

// ListStream lists the commits and checkpoints directly in the stream's
// folder, ascending.
func (w *Log) ListStream(ctx context.Context, stream string) (commits, checkpoints []int64, err error) {
	prefix := StreamPrefix(stream)
	err = w.Store.List(ctx, prefix, "", func(o storage.ObjectInfo) error {
		name := o.Key[len(prefix):]
		if strings.Contains(name, "/") {
			return nil // a nested stream's object
		}
		seq, isCP, ok := ParseLogName(name)
		switch {
		case !ok:
		case isCP:
			checkpoints = append(checkpoints, seq)
		default:
			commits = append(commits, seq)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	return commits, checkpoints, nil
}

// Stream opens a stream: at its head, or as of the warehouse's as-of point
// (see At). A stream without commits (or without commits by then) has
// Seq 0.
func (w *Log) Stream(ctx context.Context, name string) (*StreamState, error) {
	if err := ValidateStreamName(name); err != nil {
		return nil, err
	}
	at, seq, head := w.asOf.target(name)
	var (
		s   *StreamState
		err error
	)
	switch {
	case head:
		s, err = w.openHead(ctx, name)
	case !at.IsZero():
		s, err = w.openAtTime(ctx, name, at)
	default:
		s, err = w.openAtSeq(ctx, name, seq, nil, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("open stream %s: %w", name, err)
	}
	return s, nil
}

// openHead reads the newest checkpoint (through the hint) and replays the
// few commits after it: two GETs, one short LIST and at most about
// CheckpointEvery commit GETs, however long the stream.
func (w *Log) openHead(ctx context.Context, name string) (*StreamState, error) {
	var state *StreamState
	if h, _, err := w.readHint(ctx, name); err == nil {
		s, err := w.ReadCheckpoint(ctx, name, h.Key)
		if err == nil && s.Seq == h.Seq {
			state = s
		} else {
			w.logger().Warn("checkpoint hint unusable; listing the stream", "stream", name, "checkpoint", h.Key, "err", err)
		}
	} else if !errors.Is(err, storage.ErrNotFound) {
		w.logger().Warn("checkpoint hint unreadable; listing the stream", "stream", name, "err", err)
	}
	if state != nil {
		return w.probeForward(ctx, state)
	}
	commits, cps, err := w.ListStream(ctx, name)
	if err != nil {
		return nil, err
	}
	// A newer checkpoint than the one loaded (stale or missing hint):
	// load it instead of replaying the commits it covers.
	if s := w.newestCheckpoint(ctx, name, cps, math.MaxInt64, state); s != nil {
		state = s
	}
	if state == nil {
		state = NewStreamState(name)
	}
	if err := w.replay(ctx, state, commits, math.MaxInt64); err != nil {
		return nil, err
	}
	return state, nil
}

// probeForward advances a state loaded from the hinted checkpoint to the
// head by GETs instead of a LIST: newer checkpoints at CheckpointEvery
// steps (a stale hint), then each following commit until one is absent.
// A LIST of a long stream costs O(commits) on a local folder, where the
// directory is read whole; these GETs cost O(1) on every backend. A
// missing commit followed by a present one is a gap, reported as such.
func (w *Log) probeForward(ctx context.Context, state *StreamState) (*StreamState, error) {
	name := state.Stream
	for {
		s, err := w.ReadCheckpoint(ctx, name, CheckpointKey(name, state.Seq+CheckpointEvery))
		if err != nil {
			if !errors.Is(err, storage.ErrNotFound) {
				w.logger().Warn("checkpoint unusable; replaying the commits it covers", "stream", name, "seq", state.Seq+CheckpointEvery, "err", err)
			}
			break
		}
		state = s
	}
	for {
		key := CommitKey(name, state.Seq+1)
		c, err := w.ReadCommit(ctx, key)
		if errors.Is(err, storage.ErrNotFound) {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := state.Apply(c); err != nil {
			return nil, fmt.Errorf("replay %s: %w", key, err)
		}
	}
	if _, err := w.Store.Stat(ctx, CommitKey(name, state.Seq+2)); err == nil {
		return nil, fmt.Errorf("commit seq %d is missing (found %s after seq %d)", state.Seq+1, CommitKey(name, state.Seq+2), state.Seq)
	} else if !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	return state, nil
}

// newestCheckpoint loads the newest checkpoint of cps (ascending) at or
// below maxSeq and newer than have, skipping damaged ones with a warning.
// It returns nil when none is better than have.
func (w *Log) newestCheckpoint(ctx context.Context, name string, cps []int64, maxSeq int64, have *StreamState) *StreamState {
	for i := len(cps) - 1; i >= 0; i-- {
		if cps[i] > maxSeq {
			continue
		}
		if have != nil && cps[i] <= have.Seq {
			return nil
		}
		key := CheckpointKey(name, cps[i])
		s, err := w.ReadCheckpoint(ctx, name, key)
		if err != nil || s.Seq != cps[i] {
			if err == nil {
				err = fmt.Errorf("it holds seq %d", s.Seq)
			}
			w.logger().Warn("checkpoint unusable; trying an older one", "stream", name, "checkpoint", key, "err", err)
			continue
		}
		return s
	}
	return nil
}

// replay applies the listed commits after state.Seq, up to maxSeq.
func (w *Log) replay(ctx context.Context, state *StreamState, commits []int64, maxSeq int64) error {
	for _, seq := range commits {
		if seq <= state.Seq {
			continue
		}
		if seq > maxSeq {
			break
		}
		key := CommitKey(state.Stream, seq)
		if seq != state.Seq+1 {
			return fmt.Errorf("commit seq %d is missing (found %s after seq %d)", state.Seq+1, key, state.Seq)
		}
		c, err := w.ReadCommit(ctx, key)
		if err != nil {
			return err
		}
		if err := state.Apply(c); err != nil {
			return fmt.Errorf("replay %s: %w", key, err)
		}
	}
	return nil
}

// openAtSeq opens a stream as of commit seq from the newest checkpoint at
// or before it. commits and cps are the stream's listing, or nil to list.
func (w *Log) openAtSeq(ctx context.Context, name string, seq int64, commits, cps []int64) (*StreamState, error) {
	if commits == nil {
		var err error
		if commits, cps, err = w.ListStream(ctx, name); err != nil {
			return nil, err
		}
	}
	if seq == 0 {
		return NewStreamState(name), nil
	}
	if len(commits) == 0 || commits[len(commits)-1] < seq {
		last := int64(0)
		if len(commits) > 0 {
			last = commits[len(commits)-1]
		}
		return nil, fmt.Errorf("no commit seq %d (the head is seq %d)", seq, last)
	}
	state := w.newestCheckpoint(ctx, name, cps, seq, nil)
	if state == nil {
		state = NewStreamState(name)
	}
	if err := w.replay(ctx, state, commits, seq); err != nil {
		return nil, err
	}
	return state, nil
}

// openAtTime opens a stream as of its last commit at or before t.
func (w *Log) openAtTime(ctx context.Context, name string, t time.Time) (*StreamState, error) {
	commits, cps, err := w.ListStream(ctx, name)
	if err != nil {
		return nil, err
	}
	seq, err := w.seqAtTime(ctx, name, commits, t)
	if err != nil {
		return nil, err
	}
	return w.openAtSeq(ctx, name, seq, commits, cps)
}

// seqAtTime returns the last of commits (ascending) committed at or before
// t, 0 if none. Commit times never decrease within a stream (Commit makes
// sure), so a binary search finds it in O(log n) small GETs.
func (w *Log) seqAtTime(ctx context.Context, name string, commits []int64, t time.Time) (int64, error) {
	var searchErr error
	n := sort.Search(len(commits), func(i int) bool {
		if searchErr != nil {
			return true
		}
		c, err := w.ReadCommit(ctx, CommitKey(name, commits[i]))
		if err != nil {
			searchErr = err
			return true
		}
		return c.CommittedAt.After(t)
	})
	if searchErr != nil {
		return 0, searchErr
	}
	if n == 0 {
		return 0, nil
	}
	return commits[n-1], nil
}

// SeqAsOf returns the seq the warehouse's as-of point selects for a
// stream whose commits (ascending) are listed.
func (w *Log) SeqAsOf(ctx context.Context, name string, commits []int64) (int64, error) {
	at, seq, head := w.asOf.target(name)
	switch {
	case head:
		if len(commits) == 0 {
			return 0, nil
		}
		return commits[len(commits)-1], nil
	case !at.IsZero():
		return w.seqAtTime(ctx, name, commits, at)
	}
	return seq, nil
}

// FirstCommitTime returns the time of the warehouse's first commit (the
// earliest commit 1 of its streams) and whether there is one: the
// earliest point a read as of a time can see anything.
func (w *Log) FirstCommitTime(ctx context.Context) (time.Time, bool, error) {
	names, err := w.Streams(ctx)
	if err != nil {
		return time.Time{}, false, err
	}
	var first time.Time
	found := false
	for _, n := range names {
		c, err := w.ReadCommit(ctx, CommitKey(n, 1))
		if errors.Is(err, storage.ErrNotFound) {
			continue // registered, no commit yet
		}
		if err != nil {
			return time.Time{}, false, err
		}
		if !found || c.CommittedAt.Before(first) {
			first, found = c.CommittedAt, true
		}
	}
	return first, found, nil
}

// Streams lists the registered streams, sorted.
func (w *Log) Streams(ctx context.Context) ([]string, error) {
	var out []string
	err := w.Store.List(ctx, RegistryPrefix, "", func(o storage.ObjectInfo) error {
		name, err := url.PathUnescape(o.Key[len(RegistryPrefix):])
		if err != nil || ValidateStreamName(name) != nil {
			w.logger().Warn("ignoring a malformed stream marker", "key", o.Key)
			return nil
		}
		out = append(out, name)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list streams under %s: %w", RegistryPrefix, err)
	}
	sort.Strings(out)
	return out, nil
}

// State is a set of streams' committed states.
type State struct {
	Streams map[string]*StreamState
}

// Files returns the live files of table (schema.table) across the
// streams, sorted by key. Ownership makes each file live in one stream.
func (s *State) Files(table string) []FileEntry {
	all := map[string]FileEntry{}
	for _, st := range s.Streams {
		for k, e := range st.Files[table] {
			all[k] = e
		}
	}
	return sortedEntries(all)
}

// Tables returns the names of the tables with live files, sorted.
func (s *State) Tables() []string {
	seen := map[string]bool{}
	for _, st := range s.Streams {
		for t, m := range st.Files {
			if len(m) > 0 {
				seen[t] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for t := range seen {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// State opens every registered stream (as of the warehouse's as-of point).
func (w *Log) State(ctx context.Context) (*State, error) { return w.StateOf(ctx) }

// StateOf opens only the streams that own partitions of tables (every
// stream when none is given), so a damaged stream fails only the readers
// of its own tables, and the error names the stream and the key.
func (w *Log) StateOf(ctx context.Context, tables ...*schemas.Table) (*State, error) {
	names, err := w.Streams(ctx)
	if err != nil {
		return nil, err
	}
	st := &State{Streams: map[string]*StreamState{}}
	for _, n := range OwningStreams(names, tables...) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s, err := w.Stream(ctx, n)
		if err != nil {
			return nil, err
		}
		st.Streams[n] = s
	}
	return st, nil
}

// Snapshot returns the live files of t, sorted by key.
func (w *Log) Snapshot(ctx context.Context, t *schemas.Table) ([]FileEntry, error) {
	st, err := w.StateOf(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", t.FullName(), err)
	}
	return st.Files(t.FullName()), nil
}

// LogQuery selects commits for Commits.
type LogQuery struct {
	Stream string // only this stream; empty: all
	Table  string // only commits adding or retiring files of this table
	Limit  int    // at most this many; 0: all
}

// Commits calls fn with commits newest first (by commit time across streams,
// by seq within one). It reads commits lazily from each stream's head
// backwards, so a small Limit costs few GETs however long the log is.
func (w *Log) Commits(ctx context.Context, q LogQuery, fn func(*Commit) error) error {
	var names []string
	if q.Stream != "" {
		if err := ValidateStreamName(q.Stream); err != nil {
			return err
		}
		names = []string{q.Stream}
	} else {
		var err error
		if names, err = w.Streams(ctx); err != nil {
			return err
		}
	}
	h := &logHeap{}
	next := func(c *logCursor) error {
		for len(c.seqs) > 0 {
			seq := c.seqs[len(c.seqs)-1]
			c.seqs = c.seqs[:len(c.seqs)-1]
			cm, err := w.ReadCommit(ctx, CommitKey(c.stream, seq))
			if err != nil {
				return fmt.Errorf("log %s: %w", c.stream, err)
			}
			if q.Table == "" || cm.Touches(q.Table) {
				c.head = cm
				heap.Push(h, c)
				return nil
			}
		}
		return nil
	}
	for _, n := range names {
		seqs, _, err := w.ListStream(ctx, n)
		if err != nil {
			return err
		}
		last, err := w.SeqAsOf(ctx, n, seqs)
		if err != nil {
			return fmt.Errorf("log %s: %w", n, err)
		}
		for len(seqs) > 0 && seqs[len(seqs)-1] > last {
			seqs = seqs[:len(seqs)-1]
		}
		if err := next(&logCursor{stream: n, seqs: seqs}); err != nil {
			return err
		}
	}
	for count := 0; h.Len() > 0 && (q.Limit <= 0 || count < q.Limit); count++ {
		c := heap.Pop(h).(*logCursor)
		if err := fn(c.head); err != nil {
			return err
		}
		if err := next(c); err != nil {
			return err
		}
	}
	return nil
}

// Touches reports whether c adds or retires a file of table.
func (c *Commit) Touches(table string) bool {
	for _, a := range c.Adds {
		if a.Table == table {
			return true
		}
	}
	for _, r := range c.Retires {
		if r.Table == table {
			return true
		}
	}
	return false
}

type logCursor struct {
	stream string
	seqs   []int64 // remaining, ascending; consumed from the end
	head   *Commit
}

type logHeap []*logCursor

func (h logHeap) Len() int { return len(h) }
func (h logHeap) Less(i, j int) bool {
	a, b := h[i].head, h[j].head
	if !a.CommittedAt.Equal(b.CommittedAt) {
		return a.CommittedAt.After(b.CommittedAt)
	}
	if a.Stream != b.Stream {
		return a.Stream < b.Stream
	}
	return a.Seq > b.Seq
}
func (h logHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *logHeap) Push(x any)   { *h = append(*h, x.(*logCursor)) }
func (h *logHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
