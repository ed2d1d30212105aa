package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/parquet/metadata"

	"archtics/storage"
)

// Problem kinds Verify reports.
const (
	ProblemMissing     = "missing"     // a committed file is not in the store
	ProblemSize        = "size"        // its size differs from the commit's
	ProblemChecksum    = "checksum"    // its SHA-256 differs from the commit's
	ProblemRows        = "rows"        // its Parquet footer's row count differs
	ProblemUnreadable  = "unreadable"  // it could not be read or its footer parsed
	ProblemUncommitted = "uncommitted" // an object under a table prefix no commit names
	ProblemGap         = "gap"         // a stream's commit sequence has a hole
	ProblemLog         = "log"         // a stream could not be opened or a log object is malformed
)

// Problem is one finding of Verify.
type Problem struct {
	Kind   string `json:"kind"`
	Key    string `json:"key"`
	Detail string `json:"detail"`
}

func (p Problem) String() string { return fmt.Sprintf("%s %s: %s", p.Kind, p.Key, p.Detail) }

// VerifyReport is the result of Verify.
type VerifyReport struct {
	Streams  int       `json:"streams"`
	Commits  int64     `json:"commits"`
	Files    int       `json:"files"` // live committed files checked
	Bytes    int64     `json:"bytes"`
	Rows     int64     `json:"rows"`
	Problems []Problem `json:"problems"`
}

// OK reports whether Verify found nothing wrong.
func (r *VerifyReport) OK() bool { return len(r.Problems) == 0 }

// VerifyProgress is passed to the progress callback after each file.
type VerifyProgress struct {
	FilesDone, FilesTotal int
	BytesDone, BytesTotal int64
}

// VerifyConcurrency is how many files Verify reads at once.
var VerifyConcurrency = 4

// Verify re-reads every live committed file and checks it exists with the
// committed size, SHA-256 and Parquet row count; lists objects under the
// table prefixes that no commit ever named (left by a writer that crashed
// before committing: invisible to readers, but worth knowing about); and
// checks each stream's commit sequence has no gaps. progress may be nil.
// Verify returns an error only when it cannot do its job (for example the
// store is unreachable); what it finds is in the report.
func (w *Warehouse) Verify(ctx context.Context, progress func(VerifyProgress)) (*VerifyReport, error) {
	rep := &VerifyReport{Problems: []Problem{}}

	// One listing of the whole log: stream discovery independent of the
	// registry, sequence gaps, and the commit count.
	seqs := map[string][]int64{}
	err := w.Store.List(ctx, logPrefix, "", func(o storage.ObjectInfo) error {
		if strings.HasPrefix(o.Key, registryPrefix) {
			return nil
		}
		rest := o.Key[len(logPrefix):]
		i := strings.LastIndexByte(rest, '/')
		if i < 0 {
			rep.Problems = append(rep.Problems, Problem{ProblemLog, o.Key, "object directly under _log/"})
			return nil
		}
		stream, name := rest[:i], rest[i+1:]
		if name == lastCheckpoint {
			return nil
		}
		seq, isCP, ok := parseLogName(name)
		if !ok {
			rep.Problems = append(rep.Problems, Problem{ProblemLog, o.Key, "not a commit or checkpoint name"})
			return nil
		}
		if !isCP {
			seqs[stream] = append(seqs[stream], seq)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify: list %s: %w", logPrefix, err)
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
			rep.Problems = append(rep.Problems, Problem{ProblemLog, streamMarkerKey(n),
				fmt.Sprintf("stream %s has commits but no registry marker; Snapshot does not see it", n)})
			names[n] = true
		}
	}
	streamNames := make([]string, 0, len(names))
	for n := range names {
		streamNames = append(streamNames, n)
	}
	sort.Strings(streamNames)

	// Named: every key any commit ever added (live or retired), so a
	// retired file still present is not called uncommitted.
	named := map[string]bool{}
	live := map[string]FileEntry{}
	history := map[string][]int64{} // streams whose retired files may still be in the store
	for _, n := range streamNames {
		s := seqs[n]
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		gap := false
		for i, q := range s {
			if q != int64(i+1) {
				rep.Problems = append(rep.Problems, Problem{ProblemGap, commitKey(n, int64(i+1)),
					fmt.Sprintf("stream %s: commit seq %d is missing (next present is %d)", n, i+1, q)})
				gap = true
				break
			}
		}
		rep.Streams++
		rep.Commits += int64(len(s))
		if gap {
			// Name what the surviving commits add, so their files are
			// not reported as uncommitted on top of the gap.
			for _, q := range s {
				if c, err := w.readCommit(ctx, commitKey(n, q)); err == nil {
					for _, a := range c.Adds {
						named[a.Key] = true
					}
				}
			}
			continue
		}
		st, err := w.Stream(ctx, n)
		if err != nil {
			rep.Problems = append(rep.Problems, Problem{ProblemLog, streamPrefix(n), err.Error()})
			continue
		}
		for _, m := range st.Files {
			for k, e := range m {
				live[k] = e
				named[k] = true
			}
		}
		history[n] = s
	}

	// Uncommitted objects under the table prefixes.
	prefixes := map[string]bool{}
	for _, t := range knownTables() {
		prefixes[t.Prefix()] = true
	}
	for k := range named {
		if p := tablePrefixOf(k); p != "" {
			prefixes[p] = true
		}
	}
	var plist []string
	for p := range prefixes {
		plist = append(plist, p)
	}
	sort.Strings(plist)
	var unnamed []storage.ObjectInfo
	for _, p := range plist {
		err := w.Store.List(ctx, p, "", func(o storage.ObjectInfo) error {
			if !named[o.Key] {
				unnamed = append(unnamed, o)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("verify: list %s: %w", p, err)
		}
	}
	if len(unnamed) > 0 {
		// A file retired but not yet deleted is named only by an older
		// commit, which checkpoints do not keep. Reading the whole history
		// costs a GET per commit, so it happens only when there is
		// something to explain.
		for _, n := range streamNames {
			if s, ok := history[n]; ok {
				if err := w.nameHistory(ctx, n, s, named); err != nil {
					rep.Problems = append(rep.Problems, Problem{ProblemLog, streamPrefix(n), err.Error()})
				}
			}
		}
	}
	for _, o := range unnamed {
		if !named[o.Key] {
			rep.Problems = append(rep.Problems, Problem{ProblemUncommitted, o.Key,
				fmt.Sprintf("%d bytes no commit names (left by a writer that did not commit); invisible to readers", o.Size)})
		}
	}

	// Re-read the live files.
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
		wg       sync.WaitGroup
		fatal    error
	)
	work := make(chan FileEntry)
	n := VerifyConcurrency
	if n < 1 {
		n = 1
	}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range work {
				p, err := w.verifyFile(ctx, e)
				mu.Lock()
				if err != nil && fatal == nil {
					fatal = err
				}
				if p != nil {
					problems = append(problems, *p)
				}
				done++
				doneB += e.Bytes
				rep.Rows += e.Rows
				if progress != nil {
					progress(VerifyProgress{done, len(files), doneB, total})
				}
				mu.Unlock()
			}
		}()
	}
	for _, e := range files {
		if ctx.Err() != nil {
			break
		}
		work <- e
	}
	close(work)
	wg.Wait()
	if fatal != nil {
		return nil, fatal
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	rep.Bytes = total
	sort.Slice(problems, func(i, j int) bool { return problems[i].Key < problems[j].Key })
	rep.Problems = append(rep.Problems, problems...)
	return rep, nil
}

// nameHistory adds every key the stream's commits ever added to named.
func (w *Warehouse) nameHistory(ctx context.Context, stream string, seqs []int64, named map[string]bool) error {
	for _, q := range seqs {
		c, err := w.readCommit(ctx, commitKey(stream, q))
		if err != nil {
			return err
		}
		for _, a := range c.Adds {
			named[a.Key] = true
		}
	}
	return nil
}

// tablePrefixOf returns "<schema>/<table>/" of a data key.
func tablePrefixOf(key string) string {
	parts := strings.SplitN(key, "/", 3)
	if len(parts) < 3 {
		return ""
	}
	return parts[0] + "/" + parts[1] + "/"
}

// verifyFile checks one committed file. It returns a problem for what is
// wrong with the file and an error only when the context ended.
func (w *Warehouse) verifyFile(ctx context.Context, e FileEntry) (*Problem, error) {
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
	rows, err := w.parquetRows(ctx, e.Key, n, tail.bytes())
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
func (w *Warehouse) parquetRows(ctx context.Context, key string, size int64, tail []byte) (int64, error) {
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
