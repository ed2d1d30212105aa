package pipeline

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
// commits listed after it, so the cost is two GETs, one short LIST and at
// most CheckpointEvery commit GETs however long the stream is. Without a
// usable hint the stream folder is listed once (keys only) to find the
// newest checkpoint.
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
	"net/url"
	"sort"
	"strings"
	"time"

	"archtics/schemas"
	"archtics/storage"
)

// StreamState is a stream's state at its head commit.
type StreamState struct {
	Stream      string
	Seq         int64 // head commit; 0 for a stream without commits
	Watermark   string
	CommittedAt time.Time
	// Files holds the live files: table (schema.table) → key → entry.
	Files map[string]map[string]FileEntry
	// BatchIDs maps every committed batch id to its commit's seq.
	BatchIDs map[string]int64
	// Schemas holds the newest fingerprint recorded per table.
	Schemas map[string]string
}

func newStreamState(name string) *StreamState {
	return &StreamState{
		Stream: name, Files: map[string]map[string]FileEntry{},
		BatchIDs: map[string]int64{}, Schemas: map[string]string{},
	}
}

// TableFiles returns the live files of table (schema.table), sorted by key.
func (s *StreamState) TableFiles(table string) []FileEntry { return sortedEntries(s.Files[table]) }

// NextSeq is the seq the next commit on this state gets; pass it as
// CommitRequest.ExpectSeq.
func (s *StreamState) NextSeq() int64 { return s.Seq + 1 }

func (s *StreamState) clone() *StreamState {
	c := newStreamState(s.Stream)
	c.Seq, c.Watermark, c.CommittedAt = s.Seq, s.Watermark, s.CommittedAt
	for t, m := range s.Files {
		cm := make(map[string]FileEntry, len(m))
		for k, e := range m {
			cm[k] = e
		}
		c.Files[t] = cm
	}
	for b, q := range s.BatchIDs {
		c.BatchIDs[b] = q
	}
	for t, f := range s.Schemas {
		c.Schemas[t] = f
	}
	return c
}

// apply advances the state by commit c, checking it follows the head and
// that its retires are live and its adds are not.
func (s *StreamState) apply(c *Commit) error {
	if c.Seq != s.Seq+1 {
		return fmt.Errorf("commit seq %d does not follow seq %d", c.Seq, s.Seq)
	}
	if c.Stream != s.Stream {
		return fmt.Errorf("commit seq %d names stream %q", c.Seq, c.Stream)
	}
	for _, r := range c.Retires {
		if _, ok := s.Files[r.Table][r.Key]; !ok {
			return fmt.Errorf("retires %s file %s, which is not live in stream %s", r.Table, r.Key, s.Stream)
		}
		delete(s.Files[r.Table], r.Key)
	}
	for _, a := range c.Adds {
		if a.Table == "" || a.Key == "" {
			return fmt.Errorf("adds a file without table or key (%+v)", a)
		}
		if _, ok := s.Files[a.Table][a.Key]; ok {
			return fmt.Errorf("adds %s file %s, which is already live in stream %s", a.Table, a.Key, s.Stream)
		}
		m := s.Files[a.Table]
		if m == nil {
			m = map[string]FileEntry{}
			s.Files[a.Table] = m
		}
		m[a.Key] = a
	}
	for t, fp := range c.Schemas {
		s.Schemas[t] = fp
	}
	s.BatchIDs[c.BatchID] = c.Seq
	s.Seq = c.Seq
	s.Watermark = c.Watermark.To
	s.CommittedAt = c.CommittedAt
	return nil
}

// checkpoint is the stored form of a StreamState.
type checkpoint struct {
	Format      int               `json:"format"`
	Stream      string            `json:"stream"`
	Seq         int64             `json:"seq"`
	CommitKey   string            `json:"commit_key"`
	CommittedAt time.Time         `json:"committed_at"`
	Watermark   string            `json:"watermark"`
	Schemas     map[string]string `json:"schemas"`
	BatchIDs    map[string]int64  `json:"batch_ids"`
	Files       []FileEntry       `json:"files"`
}

type checkpointHint struct {
	Seq int64  `json:"seq"`
	Key string `json:"key"`
}

func (w *Warehouse) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}

func (w *Warehouse) writeCheckpoint(ctx context.Context, s *StreamState) error {
	cp := checkpoint{
		Format: CommitFormat, Stream: s.Stream, Seq: s.Seq, CommitKey: commitKey(s.Stream, s.Seq),
		CommittedAt: s.CommittedAt, Watermark: s.Watermark, Schemas: s.Schemas, BatchIDs: s.BatchIDs,
	}
	tables := make([]string, 0, len(s.Files))
	for t := range s.Files {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	for _, t := range tables {
		cp.Files = append(cp.Files, sortedEntries(s.Files[t])...)
	}
	data, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	key := checkpointKey(s.Stream, s.Seq)
	if _, err := w.Store.PutIfAbsent(ctx, key, bytes.NewReader(data), int64(len(data))); err != nil && !errors.Is(err, storage.ErrExists) {
		return fmt.Errorf("write checkpoint %s: %w", key, err)
	}
	return w.updateHint(ctx, s.Stream, checkpointHint{Seq: s.Seq, Key: key})
}

// updateHint moves _last_checkpoint forward (never back) with
// CompareAndSwap. Losing a race to a newer hint is fine.
func (w *Warehouse) updateHint(ctx context.Context, stream string, h checkpointHint) error {
	key := streamPrefix(stream) + lastCheckpoint
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

func (w *Warehouse) readHint(ctx context.Context, stream string) (checkpointHint, storage.ObjectInfo, error) {
	var h checkpointHint
	key := streamPrefix(stream) + lastCheckpoint
	data, info, err := w.getAll(ctx, key)
	if err != nil {
		return h, info, err
	}
	if err := json.Unmarshal(data, &h); err != nil {
		return h, info, fmt.Errorf("decode %s: %w", key, err)
	}
	return h, info, nil
}

func (w *Warehouse) getAll(ctx context.Context, key string) ([]byte, storage.ObjectInfo, error) {
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

func (w *Warehouse) readCheckpoint(ctx context.Context, stream, key string) (*StreamState, error) {
	data, _, err := w.getAll(ctx, key)
	if err != nil {
		return nil, err
	}
	var cp checkpoint
	if err := json.Unmarshal(data, &cp); err != nil {
		return nil, fmt.Errorf("decode checkpoint %s: %w", key, err)
	}
	if cp.Stream != stream || cp.Format > CommitFormat {
		return nil, fmt.Errorf("checkpoint %s: stream %q format %d, want stream %q format <= %d", key, cp.Stream, cp.Format, stream, CommitFormat)
	}
	s := newStreamState(stream)
	s.Seq, s.Watermark, s.CommittedAt = cp.Seq, cp.Watermark, cp.CommittedAt
	if cp.BatchIDs != nil {
		s.BatchIDs = cp.BatchIDs
	}
	if cp.Schemas != nil {
		s.Schemas = cp.Schemas
	}
	for _, e := range cp.Files {
		m := s.Files[e.Table]
		if m == nil {
			m = map[string]FileEntry{}
			s.Files[e.Table] = m
		}
		m[e.Key] = e
	}
	return s, nil
}

func (w *Warehouse) readCommit(ctx context.Context, key string) (*Commit, error) {
	data, _, err := w.getAll(ctx, key)
	if err != nil {
		return nil, err
	}
	var c Commit
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("decode commit %s: %w", key, err)
	}
	if c.Format > CommitFormat {
		return nil, fmt.Errorf("commit %s has format %d; this program reads up to %d: upgrade it", key, c.Format, CommitFormat)
	}
	return &c, nil
}

// listStream lists the commits and checkpoints directly in the stream's
// folder with keys after startAfter, ascending.
func (w *Warehouse) listStream(ctx context.Context, stream, startAfter string) (commits, checkpoints []int64, err error) {
	prefix := streamPrefix(stream)
	err = w.Store.List(ctx, prefix, startAfter, func(o storage.ObjectInfo) error {
		name := o.Key[len(prefix):]
		if strings.Contains(name, "/") {
			return nil // a nested stream's object
		}
		seq, isCP, ok := parseLogName(name)
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

// Stream opens a stream at its head. A stream without commits has Seq 0.
func (w *Warehouse) Stream(ctx context.Context, name string) (*StreamState, error) {
	if err := ValidateStreamName(name); err != nil {
		return nil, err
	}
	var state *StreamState
	if h, _, err := w.readHint(ctx, name); err == nil {
		s, err := w.readCheckpoint(ctx, name, h.Key)
		if err == nil && s.Seq == h.Seq {
			state = s
		} else {
			w.logger().Warn("checkpoint hint unusable; listing the stream", "stream", name, "checkpoint", h.Key, "err", err)
		}
	} else if !errors.Is(err, storage.ErrNotFound) {
		w.logger().Warn("checkpoint hint unreadable; listing the stream", "stream", name, "err", err)
	}
	startAfter := ""
	if state != nil {
		startAfter = commitKey(name, state.Seq)
	}
	commits, cps, err := w.listStream(ctx, name, startAfter)
	if err != nil {
		return nil, fmt.Errorf("open stream %s: %w", name, err)
	}
	// A newer checkpoint than the one loaded (stale or missing hint):
	// load it instead of replaying the commits it covers.
	for i := len(cps) - 1; i >= 0; i-- {
		if state != nil && cps[i] <= state.Seq {
			break
		}
		s, err := w.readCheckpoint(ctx, name, checkpointKey(name, cps[i]))
		if err != nil || s.Seq != cps[i] {
			w.logger().Warn("checkpoint unusable; trying an older one", "stream", name, "checkpoint", checkpointKey(name, cps[i]), "err", err)
			continue
		}
		state = s
		break
	}
	if state == nil {
		state = newStreamState(name)
	}
	for _, seq := range commits {
		if seq <= state.Seq {
			continue
		}
		key := commitKey(name, seq)
		if seq != state.Seq+1 {
			return nil, fmt.Errorf("open stream %s: commit seq %d is missing (found %s after seq %d)", name, state.Seq+1, key, state.Seq)
		}
		c, err := w.readCommit(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("open stream %s: %w", name, err)
		}
		if err := state.apply(c); err != nil {
			return nil, fmt.Errorf("open stream %s: replay %s: %w", name, key, err)
		}
	}
	return state, nil
}

// Streams lists the registered streams, sorted.
func (w *Warehouse) Streams(ctx context.Context) ([]string, error) {
	var out []string
	err := w.Store.List(ctx, registryPrefix, "", func(o storage.ObjectInfo) error {
		name, err := url.PathUnescape(o.Key[len(registryPrefix):])
		if err != nil || ValidateStreamName(name) != nil {
			w.logger().Warn("ignoring a malformed stream marker", "key", o.Key)
			return nil
		}
		out = append(out, name)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list streams under %s: %w", registryPrefix, err)
	}
	sort.Strings(out)
	return out, nil
}

// State is the whole warehouse's committed state: every stream at its head.
type State struct {
	Streams map[string]*StreamState
}

// Files returns the live files of table (schema.table) across all streams,
// sorted by key. A key committed by two streams is listed once.
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

// State opens every registered stream.
func (w *Warehouse) State(ctx context.Context) (*State, error) {
	names, err := w.Streams(ctx)
	if err != nil {
		return nil, err
	}
	st := &State{Streams: map[string]*StreamState{}}
	for _, n := range names {
		s, err := w.Stream(ctx, n)
		if err != nil {
			return nil, err
		}
		st.Streams[n] = s
	}
	return st, nil
}

// Snapshot returns the live files of t across all streams, sorted by key.
func (w *Warehouse) Snapshot(ctx context.Context, t *schemas.Table) ([]FileEntry, error) {
	st, err := w.State(ctx)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", t.FullName(), err)
	}
	return st.Files(t.FullName()), nil
}

// LogQuery selects commits for Log.
type LogQuery struct {
	Stream string // only this stream; empty: all
	Table  string // only commits adding or retiring files of this table
	Limit  int    // at most this many; 0: all
}

// Log calls fn with commits newest first (by commit time across streams,
// by seq within one). It reads commits lazily from each stream's head
// backwards, so a small Limit costs few GETs however long the log is.
func (w *Warehouse) Log(ctx context.Context, q LogQuery, fn func(*Commit) error) error {
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
			cm, err := w.readCommit(ctx, commitKey(c.stream, seq))
			if err != nil {
				return fmt.Errorf("log %s: %w", c.stream, err)
			}
			if q.Table == "" || touches(cm, q.Table) {
				c.head = cm
				heap.Push(h, c)
				return nil
			}
		}
		return nil
	}
	for _, n := range names {
		seqs, _, err := w.listStream(ctx, n, "")
		if err != nil {
			return err
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

func touches(c *Commit, table string) bool {
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
