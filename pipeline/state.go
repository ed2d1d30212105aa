package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// DefaultRetention is how long a stream remembers batch ids and retired
// files (tombstones) after the commit that made them, unless a commit sets
// another retention. Vacuum deletes retired files once they are older than
// this, so time travel reaches back this far.
const DefaultRetention = 7 * 24 * time.Hour

// ErrWatermarkBackwards is wrapped when a commit would move a stream's
// watermark to an earlier point: a stream's watermark never goes back.
var ErrWatermarkBackwards = errors.New("watermark would move backwards")

// BatchRecord is what a stream remembers of a committed batch id.
type BatchRecord struct {
	Seq    int64     `json:"seq"`
	At     time.Time `json:"at"`               // the commit's time
	Pinned bool      `json:"pinned,omitempty"` // kept past the retention (a dump load)
}

// RetiredFile is a tombstone: a file a commit retired, kept in the state
// for the retention so vacuum knows what it may delete and when.
type RetiredFile struct {
	Table      string    `json:"table"`
	Key        string    `json:"key"`
	Bytes      int64     `json:"bytes"`
	SHA256     string    `json:"sha256"`
	RetiredSeq int64     `json:"retired_seq"`
	RetiredAt  time.Time `json:"retired_at"`
}

// StreamState is a stream's state at one commit (its head, or an earlier
// one when read as of a time). It is a pure function of the commits up to
// Seq: replaying the log from commit 1 gives the same state, which is how
// verify checks every checkpoint.
type StreamState struct {
	Stream      string
	Seq         int64 // the commit this state is at; 0 for a stream without commits
	Watermark   string
	CommittedAt time.Time
	// Retention is how long batch ids and tombstones are kept.
	Retention time.Duration
	// Files holds the live files: table (schema.table) → key → entry.
	Files map[string]map[string]FileEntry
	// Batches maps the batch ids committed within the retention (and the
	// pinned ones) to their commits: a rerun of one of them is a no-op.
	Batches map[string]BatchRecord
	// Retired holds the tombstones of files retired within the retention
	// and not yet deleted by vacuum, by key.
	Retired map[string]RetiredFile
	// Cursors are the stage's resume points (a feed's last seq per event,
	// say), merged commit by commit; an empty value removes a cursor.
	Cursors map[string]string
	// Schemas holds the newest fingerprint recorded per table.
	Schemas map[string]string

	// CheckpointSeq is the seq of the newest checkpoint known to exist
	// (the one the state was opened from, or written since); it decides
	// when the next checkpoint is due. Not part of the state proper.
	CheckpointSeq int64

	batchOrder   []orderEntry // unpinned batch ids in commit order, for expiry
	retiredOrder []orderEntry // tombstones in retirement order, for expiry
}

type orderEntry struct {
	name string
	seq  int64
}

func newStreamState(name string) *StreamState {
	return &StreamState{
		Stream: name, Retention: DefaultRetention,
		Files: map[string]map[string]FileEntry{}, Batches: map[string]BatchRecord{},
		Retired: map[string]RetiredFile{}, Cursors: map[string]string{}, Schemas: map[string]string{},
	}
}

// TableFiles returns the live files of table (schema.table), sorted by key.
func (s *StreamState) TableFiles(table string) []FileEntry { return sortedEntries(s.Files[table]) }

// LiveFiles counts the live files of every table.
func (s *StreamState) LiveFiles() int {
	n := 0
	for _, m := range s.Files {
		n += len(m)
	}
	return n
}

// NextSeq is the seq the next commit on this state gets; pass it as
// CommitRequest.ExpectSeq.
func (s *StreamState) NextSeq() int64 { return s.Seq + 1 }

func (s *StreamState) clone() *StreamState {
	c := newStreamState(s.Stream)
	c.Seq, c.Watermark, c.CommittedAt, c.Retention, c.CheckpointSeq = s.Seq, s.Watermark, s.CommittedAt, s.Retention, s.CheckpointSeq
	for t, m := range s.Files {
		cm := make(map[string]FileEntry, len(m))
		for k, e := range m {
			cm[k] = e
		}
		c.Files[t] = cm
	}
	for b, r := range s.Batches {
		c.Batches[b] = r
	}
	for k, r := range s.Retired {
		c.Retired[k] = r
	}
	for k, v := range s.Cursors {
		c.Cursors[k] = v
	}
	for t, f := range s.Schemas {
		c.Schemas[t] = f
	}
	c.batchOrder = append([]orderEntry(nil), s.batchOrder...)
	c.retiredOrder = append([]orderEntry(nil), s.retiredOrder...)
	return c
}

// apply advances the state by commit c. It checks that c follows the head,
// that what it retires is live and what it adds is not, and that the
// watermark does not move back; then it expires batch ids and tombstones
// older than the retention, measured from c's commit time.
func (s *StreamState) apply(c *Commit) error {
	if c.Seq != s.Seq+1 {
		return fmt.Errorf("commit seq %d does not follow seq %d", c.Seq, s.Seq)
	}
	if c.Stream != s.Stream {
		return fmt.Errorf("commit seq %d names stream %q", c.Seq, c.Stream)
	}
	if err := checkWatermark(s.Watermark, c.Watermark.To); err != nil {
		return fmt.Errorf("commit seq %d: %w", c.Seq, err)
	}
	if c.Retention != "" {
		d, err := time.ParseDuration(c.Retention)
		if err != nil || d <= 0 {
			return fmt.Errorf("commit seq %d: retention %q is not a positive duration", c.Seq, c.Retention)
		}
		s.Retention = d
	}
	for _, r := range c.Retires {
		e, ok := s.Files[r.Table][r.Key]
		if !ok {
			return fmt.Errorf("retires %s file %s, which is not live in stream %s", r.Table, r.Key, s.Stream)
		}
		delete(s.Files[r.Table], r.Key)
		if len(s.Files[r.Table]) == 0 {
			delete(s.Files, r.Table)
		}
		s.Retired[r.Key] = RetiredFile{Table: r.Table, Key: r.Key, Bytes: e.Bytes, SHA256: e.SHA256, RetiredSeq: c.Seq, RetiredAt: c.CommittedAt}
		s.retiredOrder = append(s.retiredOrder, orderEntry{r.Key, c.Seq})
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
		// The same bytes can come back under the same content-addressed
		// name (a batch rerun after its id expired): live again, so no
		// longer a tombstone vacuum may act on.
		delete(s.Retired, a.Key)
	}
	for _, d := range c.Deletes {
		delete(s.Retired, d.Key)
	}
	for t, fp := range c.Schemas {
		s.Schemas[t] = fp
	}
	for k, v := range c.Cursors {
		if v == "" {
			delete(s.Cursors, k)
		} else {
			s.Cursors[k] = v
		}
	}
	s.Batches[c.BatchID] = BatchRecord{Seq: c.Seq, At: c.CommittedAt, Pinned: c.PinBatch}
	if !c.PinBatch {
		s.batchOrder = append(s.batchOrder, orderEntry{c.BatchID, c.Seq})
	}
	s.Seq = c.Seq
	if c.Watermark.To != "" {
		s.Watermark = c.Watermark.To
	}
	s.CommittedAt = c.CommittedAt
	s.expire()
	return nil
}

// expire drops batch ids and tombstones older than the retention, measured
// from the state's commit time. Commit times never decrease within a
// stream, so both lists are in time order and expiry pops from the front.
func (s *StreamState) expire() {
	cutoff := s.CommittedAt.Add(-s.Retention)
	for len(s.batchOrder) > 0 {
		o := s.batchOrder[0]
		r, ok := s.Batches[o.name]
		if ok && r.Seq == o.seq {
			if !r.At.Before(cutoff) {
				break
			}
			delete(s.Batches, o.name)
		}
		s.batchOrder = s.batchOrder[1:]
	}
	for len(s.retiredOrder) > 0 {
		o := s.retiredOrder[0]
		r, ok := s.Retired[o.name]
		if ok && r.RetiredSeq == o.seq {
			if !r.RetiredAt.Before(cutoff) {
				break
			}
			delete(s.Retired, o.name)
		}
		s.retiredOrder = s.retiredOrder[1:]
	}
	// Re-slicing from the front keeps the old backing array alive; copy
	// when most of it is dead so a long-lived writer does not grow.
	if cap(s.batchOrder) > 64 && len(s.batchOrder) < cap(s.batchOrder)/4 {
		s.batchOrder = append([]orderEntry(nil), s.batchOrder...)
	}
	if cap(s.retiredOrder) > 64 && len(s.retiredOrder) < cap(s.retiredOrder)/4 {
		s.retiredOrder = append([]orderEntry(nil), s.retiredOrder...)
	}
}

// checkWatermark refuses a watermark earlier than the head's. Watermarks
// are RFC 3339 instants (a cutoff, the end of a pulled interval, a tick's
// logical time); an empty one keeps the head's.
func checkWatermark(head, next string) error {
	if next == "" {
		return nil
	}
	nt, err := time.Parse(time.RFC3339Nano, next)
	if err != nil {
		return fmt.Errorf("watermark %q is not an RFC 3339 instant", next)
	}
	if head == "" {
		return nil
	}
	ht, err := time.Parse(time.RFC3339Nano, head)
	if err != nil {
		return fmt.Errorf("the stream's watermark %q is not an RFC 3339 instant", head)
	}
	if nt.Before(ht) {
		return fmt.Errorf("%w: the stream is at %s, this commit says %s", ErrWatermarkBackwards, head, next)
	}
	return nil
}

// checkpoint is the canonical form of a StreamState: its size follows the
// live state (files, tombstones and batch ids within the retention), not
// the history. It is stored inside a checkpointFile with the SHA-256 of
// its exact bytes, so a checkpoint edited by hand, or damaged, is caught
// by readers (who then use an older one or replay the log) and by verify.
type checkpoint struct {
	Stream      string            `json:"stream"`
	Seq         int64             `json:"seq"`
	CommitKey   string            `json:"commit_key"`
	CommittedAt time.Time         `json:"committed_at"`
	Watermark   string            `json:"watermark"`
	Retention   string            `json:"retention"`
	Schemas     map[string]string `json:"schemas"`
	Cursors     map[string]string `json:"cursors,omitempty"`
	Batches     []checkpointBatch `json:"batches"`
	Retired     []RetiredFile     `json:"retired"`
	Files       []FileEntry       `json:"files"`
}

// checkpointFile is a checkpoint object: the state and its checksum.
type checkpointFile struct {
	Format      int             `json:"format"`
	StateSHA256 string          `json:"state_sha256"`
	State       json.RawMessage `json:"state"`
}

type checkpointBatch struct {
	ID string `json:"id"`
	BatchRecord
}

// canonical returns the state's canonical JSON and its SHA-256.
func (s *StreamState) canonical() ([]byte, string, error) {
	cp := checkpoint{
		Stream: s.Stream, Seq: s.Seq, CommitKey: commitKey(s.Stream, s.Seq),
		CommittedAt: s.CommittedAt, Watermark: s.Watermark, Retention: s.Retention.String(),
		Schemas: s.Schemas, Batches: []checkpointBatch{}, Retired: []RetiredFile{}, Files: []FileEntry{},
	}
	if len(s.Cursors) > 0 {
		cp.Cursors = s.Cursors
	}
	for id, r := range s.Batches {
		cp.Batches = append(cp.Batches, checkpointBatch{ID: id, BatchRecord: r})
	}
	sort.Slice(cp.Batches, func(i, j int) bool {
		a, b := cp.Batches[i], cp.Batches[j]
		if a.Seq != b.Seq {
			return a.Seq < b.Seq
		}
		return a.ID < b.ID
	})
	for _, r := range s.Retired {
		cp.Retired = append(cp.Retired, r)
	}
	sort.Slice(cp.Retired, func(i, j int) bool {
		a, b := cp.Retired[i], cp.Retired[j]
		if a.RetiredSeq != b.RetiredSeq {
			return a.RetiredSeq < b.RetiredSeq
		}
		return a.Key < b.Key
	})
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
		return nil, "", err
	}
	sum := sha256.Sum256(data)
	return data, hex.EncodeToString(sum[:]), nil
}

// Checksum is the SHA-256 of the state's canonical form: equal states have
// equal checksums, whatever order they were built in.
func (s *StreamState) Checksum() (string, error) {
	_, sum, err := s.canonical()
	return sum, err
}

// encodeCheckpoint returns the checkpoint object of s.
func (s *StreamState) encodeCheckpoint() ([]byte, error) {
	data, sum, err := s.canonical()
	if err != nil {
		return nil, err
	}
	return json.Marshal(checkpointFile{Format: CommitFormat, StateSHA256: sum, State: data})
}

// decodeCheckpoint checks a checkpoint object's checksum and rebuilds its
// state.
func decodeCheckpoint(data []byte, stream, key string) (*StreamState, error) {
	var f checkpointFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("decode checkpoint %s: %w", key, err)
	}
	if f.Format < 2 {
		return nil, fmt.Errorf("checkpoint %s has format %d, which carries no checksum; the log is replayed instead", key, f.Format)
	}
	if f.Format > CommitFormat {
		return nil, fmt.Errorf("checkpoint %s has format %d; this program reads up to %d: upgrade it", key, f.Format, CommitFormat)
	}
	sum := sha256.Sum256(f.State)
	if got := hex.EncodeToString(sum[:]); got != f.StateSHA256 {
		return nil, fmt.Errorf("checkpoint %s: state sha256 %s, recorded %s: it was altered or damaged after it was written", key, got, f.StateSHA256)
	}
	var cp checkpoint
	if err := json.Unmarshal(f.State, &cp); err != nil {
		return nil, fmt.Errorf("decode checkpoint %s: %w", key, err)
	}
	return fromCheckpoint(cp, stream, key)
}

// fromCheckpoint rebuilds the state a checkpoint stores.
func fromCheckpoint(cp checkpoint, stream, key string) (*StreamState, error) {
	if cp.Stream != stream {
		return nil, fmt.Errorf("checkpoint %s names stream %q", key, cp.Stream)
	}
	s := newStreamState(stream)
	s.Seq, s.Watermark, s.CommittedAt, s.CheckpointSeq = cp.Seq, cp.Watermark, cp.CommittedAt, cp.Seq
	if cp.Retention != "" {
		d, err := time.ParseDuration(cp.Retention)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("checkpoint %s: retention %q", key, cp.Retention)
		}
		s.Retention = d
	}
	if cp.Schemas != nil {
		s.Schemas = cp.Schemas
	}
	for k, v := range cp.Cursors {
		s.Cursors[k] = v
	}
	for _, b := range cp.Batches {
		s.Batches[b.ID] = b.BatchRecord
		if !b.Pinned {
			s.batchOrder = append(s.batchOrder, orderEntry{b.ID, b.Seq})
		}
	}
	for _, r := range cp.Retired {
		s.Retired[r.Key] = r
		s.retiredOrder = append(s.retiredOrder, orderEntry{r.Key, r.RetiredSeq})
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
