package txlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
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

func NewStreamState(name string) *StreamState {
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

// check validates commit c against the state without changing it: c must
// follow the head, retire only live files (each once), add only files that
// are not live (each once), and not move the watermark back. It costs
// O(size of c), not O(size of the state), so a writer validates a commit
// without copying a week of tombstones.
func (s *StreamState) check(c *Commit) error {
	if c.Seq != s.Seq+1 {
		return fmt.Errorf("commit seq %d does not follow seq %d", c.Seq, s.Seq)
	}
	if c.Stream != s.Stream {
		return fmt.Errorf("commit seq %d names stream %q", c.Seq, c.Stream)
	}
	if c.Restore != nil {
		if err := s.checkRestore(c); err != nil {
			return fmt.Errorf("commit seq %d: %w", c.Seq, err)
		}
	} else {
		if len(c.ForgetBatches) > 0 {
			return fmt.Errorf("commit seq %d forgets batch ids, which only a restore does", c.Seq)
		}
		if err := checkWatermark(s.Watermark, c.Watermark.To); err != nil {
			return fmt.Errorf("commit seq %d: %w", c.Seq, err)
		}
	}
	if c.Retention != "" {
		if d, err := time.ParseDuration(c.Retention); err != nil || d <= 0 {
			return fmt.Errorf("commit seq %d: retention %q is not a positive duration", c.Seq, c.Retention)
		}
	}
	retired := make(map[string]bool, len(c.Retires))
	for _, r := range c.Retires {
		if _, ok := s.Files[r.Table][r.Key]; !ok || retired[r.Key] {
			return fmt.Errorf("retires %s file %s, which is not live in stream %s", r.Table, r.Key, s.Stream)
		}
		retired[r.Key] = true
	}
	added := make(map[string]bool, len(c.Adds))
	for _, a := range c.Adds {
		if a.Table == "" || a.Key == "" {
			return fmt.Errorf("adds a file without table or key (%+v)", a)
		}
		if _, ok := s.Files[a.Table][a.Key]; (ok && !retired[a.Key]) || added[a.Key] {
			return fmt.Errorf("adds %s file %s, which is already live in stream %s", a.Table, a.Key, s.Stream)
		}
		added[a.Key] = true
	}
	return nil
}

// apply advances the state by commit c, after check; then it expires batch
// ids and tombstones older than the retention, measured from c's commit
// time.
func (s *StreamState) Apply(c *Commit) error {
	if err := s.check(c); err != nil {
		return err
	}
	if c.Retention != "" {
		s.Retention, _ = time.ParseDuration(c.Retention)
	}
	for _, r := range c.Retires {
		e := s.Files[r.Table][r.Key]
		delete(s.Files[r.Table], r.Key)
		if len(s.Files[r.Table]) == 0 {
			delete(s.Files, r.Table)
		}
		s.Retired[r.Key] = RetiredFile{Table: r.Table, Key: r.Key, Bytes: e.Bytes, SHA256: e.SHA256, RetiredSeq: c.Seq, RetiredAt: c.CommittedAt}
		s.retiredOrder = append(s.retiredOrder, orderEntry{r.Key, c.Seq})
	}
	for _, a := range c.Adds {
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
		if fp == "" {
			delete(s.Schemas, t) // a restore to before the table's first commit
		} else {
			s.Schemas[t] = fp
		}
	}
	for k, v := range c.Cursors {
		if v == "" {
			delete(s.Cursors, k)
		} else {
			s.Cursors[k] = v
		}
	}
	for _, id := range c.ForgetBatches {
		delete(s.Batches, id) // its batchOrder entry is skipped by expire
	}
	s.Batches[c.BatchID] = BatchRecord{Seq: c.Seq, At: c.CommittedAt, Pinned: c.PinBatch}
	if !c.PinBatch {
		s.batchOrder = append(s.batchOrder, orderEntry{c.BatchID, c.Seq})
	}
	s.Seq = c.Seq
	if c.Watermark.To != "" || c.Restore != nil {
		// A restore sets the watermark of the commit it restores, which
		// may be earlier or none at all.
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

// checkRestore validates a restore commit (restore.go): it restores from
// the head to an earlier commit, its watermark is an instant or empty, and
// it forgets only batch ids the stream remembers from after that commit.
func (s *StreamState) checkRestore(c *Commit) error {
	r := c.Restore
	if r.FromSeq != s.Seq || r.ToSeq < 0 || r.ToSeq >= s.Seq {
		return fmt.Errorf("restore from seq %d to seq %d does not go back from the head, seq %d", r.FromSeq, r.ToSeq, s.Seq)
	}
	if c.Watermark.To != "" {
		if _, err := time.Parse(time.RFC3339Nano, c.Watermark.To); err != nil {
			return fmt.Errorf("watermark %q is not an RFC 3339 instant", c.Watermark.To)
		}
	}
	for _, id := range c.ForgetBatches {
		if b, ok := s.Batches[id]; !ok || b.Seq <= r.ToSeq {
			return fmt.Errorf("restore forgets batch %q, which stream %s does not remember from after seq %d", id, s.Stream, r.ToSeq)
		}
	}
	return nil
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
	Files       []FileEntry       `json:"files"`
	// Batches and Retired follow the JSON as text sections, one line
	// each, tab-separated: a week of three-minute ticks leaves thousands
	// of them, and every commit and reader parses a checkpoint, which
	// text does several times faster than JSON. Batches: id, seq, commit
	// time (Unix ns), pinned (0/1), by seq. Retired: retired seq, retired
	// at (Unix ns), bytes, sha256, table, key, by seq then key.
	Batches string `json:"-"`
	Retired string `json:"-"`
}

// A checkpoint object is a header line, {"format":2,"state_sha256":...},
// then the state's canonical form: the checkpoint's JSON on one line, a
// "[batches]" line and its lines, a "[retired]" line and its lines. The
// checksum covers every byte after the header line. Section lines always
// hold tabs, so a section marker cannot be mistaken for one.
type checkpointHeader struct {
	Format      int    `json:"format"`
	StateSHA256 string `json:"state_sha256"`
}

const (
	batchesSection = "[batches]\n"
	retiredSection = "[retired]\n"
)

// canonical returns the state's canonical JSON and its SHA-256.
func (s *StreamState) canonical() ([]byte, string, error) {
	cp := checkpoint{
		Stream: s.Stream, Seq: s.Seq, CommitKey: CommitKey(s.Stream, s.Seq),
		CommittedAt: s.CommittedAt, Watermark: s.Watermark, Retention: s.Retention.String(),
		Schemas: s.Schemas, Files: []FileEntry{},
	}
	if len(s.Cursors) > 0 {
		cp.Cursors = s.Cursors
	}
	type batch struct {
		id string
		BatchRecord
	}
	batches := make([]batch, 0, len(s.Batches))
	for id, r := range s.Batches {
		batches = append(batches, batch{id, r})
	}
	sort.Slice(batches, func(i, j int) bool {
		a, b := batches[i], batches[j]
		if a.Seq != b.Seq {
			return a.Seq < b.Seq
		}
		return a.id < b.id
	})
	var sb strings.Builder
	for _, b := range batches {
		pinned := "0"
		if b.Pinned {
			pinned = "1"
		}
		fmt.Fprintf(&sb, "%s\t%d\t%d\t%s\n", b.id, b.Seq, b.At.UnixNano(), pinned)
	}
	cp.Batches = sb.String()
	retired := make([]RetiredFile, 0, len(s.Retired))
	for _, r := range s.Retired {
		retired = append(retired, r)
	}
	sort.Slice(retired, func(i, j int) bool {
		a, b := retired[i], retired[j]
		if a.RetiredSeq != b.RetiredSeq {
			return a.RetiredSeq < b.RetiredSeq
		}
		return a.Key < b.Key
	})
	sb.Reset()
	for _, r := range retired {
		fmt.Fprintf(&sb, "%d\t%d\t%d\t%s\t%s\t%s\n", r.RetiredSeq, r.RetiredAt.UnixNano(), r.Bytes, r.SHA256, r.Table, r.Key)
	}
	cp.Retired = sb.String()
	tables := make([]string, 0, len(s.Files))
	for t := range s.Files {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	for _, t := range tables {
		cp.Files = append(cp.Files, sortedEntries(s.Files[t])...)
	}
	head, err := json.Marshal(cp)
	if err != nil {
		return nil, "", err
	}
	data := make([]byte, 0, len(head)+len(cp.Batches)+len(cp.Retired)+32)
	data = append(append(data, head...), '\n')
	data = append(append(data, batchesSection...), cp.Batches...)
	data = append(append(data, retiredSection...), cp.Retired...)
	sum := sha256.Sum256(data)
	return data, hex.EncodeToString(sum[:]), nil
}

// Checksum is the SHA-256 of the state's canonical form: equal states have
// equal checksums, whatever order they were built in.
func (s *StreamState) Checksum() (string, error) {
	_, sum, err := s.canonical()
	return sum, err
}

// EncodeCheckpoint returns the checkpoint object of s.
func (s *StreamState) EncodeCheckpoint() ([]byte, error) {
	data, sum, err := s.canonical()
	if err != nil {
		return nil, err
	}
	head, err := json.Marshal(checkpointHeader{Format: CommitFormat, StateSHA256: sum})
	if err != nil {
		return nil, err
	}
	return append(append(head, '\n'), data...), nil
}

// DecodeCheckpoint checks a checkpoint object's checksum and rebuilds its
// state.
func DecodeCheckpoint(data []byte, stream, key string) (*StreamState, error) {
	headLine, body, _ := bytes.Cut(data, []byte("\n"))
	var h checkpointHeader
	if err := json.Unmarshal(headLine, &h); err != nil {
		return nil, fmt.Errorf("decode checkpoint %s: header: %w", key, err)
	}
	if h.Format < 2 {
		return nil, fmt.Errorf("checkpoint %s has format %d, which carries no checksum; the log is replayed instead", key, h.Format)
	}
	if h.Format > CommitFormat {
		return nil, fmt.Errorf("checkpoint %s has format %d; this program reads up to %d: upgrade it", key, h.Format, CommitFormat)
	}
	sum := sha256.Sum256(body)
	if got := hex.EncodeToString(sum[:]); got != h.StateSHA256 {
		return nil, fmt.Errorf("checkpoint %s: state sha256 %s, recorded %s: it was altered or damaged after it was written", key, got, h.StateSHA256)
	}
	stateLine, rest, _ := bytes.Cut(body, []byte("\n"))
	var cp checkpoint
	if err := json.Unmarshal(stateLine, &cp); err != nil {
		return nil, fmt.Errorf("decode checkpoint %s: %w", key, err)
	}
	text := string(rest)
	var ok bool
	if text, ok = strings.CutPrefix(text, batchesSection); !ok {
		return nil, fmt.Errorf("checkpoint %s: no %q section", key, strings.TrimSpace(batchesSection))
	}
	if cp.Batches, cp.Retired, ok = strings.Cut(text, retiredSection); !ok {
		return nil, fmt.Errorf("checkpoint %s: no %q section", key, strings.TrimSpace(retiredSection))
	}
	return fromCheckpoint(cp, stream, key)
}

// fromCheckpoint rebuilds the state a checkpoint stores.
func fromCheckpoint(cp checkpoint, stream, key string) (*StreamState, error) {
	if cp.Stream != stream {
		return nil, fmt.Errorf("checkpoint %s names stream %q", key, cp.Stream)
	}
	s := NewStreamState(stream)
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
	if err := eachLine(cp.Batches, 4, func(f []string) error {
		seq, err1 := strconv.ParseInt(f[1], 10, 64)
		at, err2 := strconv.ParseInt(f[2], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		r := BatchRecord{Seq: seq, At: time.Unix(0, at).UTC(), Pinned: f[3] == "1"}
		s.Batches[f[0]] = r
		if !r.Pinned {
			s.batchOrder = append(s.batchOrder, orderEntry{f[0], seq})
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("checkpoint %s: batches: %w", key, err)
	}
	if err := eachLine(cp.Retired, 6, func(f []string) error {
		seq, err1 := strconv.ParseInt(f[0], 10, 64)
		at, err2 := strconv.ParseInt(f[1], 10, 64)
		n, err3 := strconv.ParseInt(f[2], 10, 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			return err
		}
		s.Retired[f[5]] = RetiredFile{Table: f[4], Key: f[5], Bytes: n, SHA256: f[3], RetiredSeq: seq, RetiredAt: time.Unix(0, at).UTC()}
		s.retiredOrder = append(s.retiredOrder, orderEntry{f[5], seq})
		return nil
	}); err != nil {
		return nil, fmt.Errorf("checkpoint %s: retired: %w", key, err)
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

// eachLine calls fn with the n tab-separated fields of each line of text.
func eachLine(text string, n int, fn func([]string) error) error {
	fields := make([]string, n)
	for line := 1; text != ""; line++ {
		l, rest, _ := strings.Cut(text, "\n")
		text = rest
		for i := 0; i < n; i++ {
			var ok bool
			if i == n-1 {
				fields[i], ok = l, !strings.Contains(l, "\t")
			} else {
				fields[i], l, ok = strings.Cut(l, "\t")
			}
			if !ok {
				return fmt.Errorf("line %d: want %d tab-separated fields", line, n)
			}
		}
		if err := fn(fields); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
	}
	return nil
}
