package clone

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"

	"archtics/internal/rowbuild"
	"archtics/internal/textenc"
	"archtics/pipeline"
	"archtics/pipeline/txlog"
	"archtics/schemas"
)

// DumpFile is one file of Ticketmaster's full dump, as its manifest lists it.
type DumpFile struct {
	Team   string
	Table  *schemas.Table
	Name   string // path within the dump, for messages and reject records
	Rows   int64  // data rows the manifest promises (header excluded)
	SHA256 string // hex of the compressed file, as the manifest lists it
	Open   func() (io.ReadCloser, error)
	// Charset is the encoding the manifest declares (nil: UTF-8).
	Charset *textenc.Charset
}

// Dump is a full dump cut at Cutoff: every row entered before it.
type Dump struct {
	Cutoff time.Time
	// Location is the client's zone from the manifest (nil when it names
	// none); load-dump records it on the clone stream (CloneLocation).
	Location *time.Location
	Files    []DumpFile
}

// FileLoad is what loading one dump file did: In = Loaded + Rejected.
// Repaired counts the fields of its rows stored other than received
// (archtics_meta.repairs).
type FileLoad struct {
	File     string
	Table    string
	In       int64
	Loaded   int64
	Rejected int64
	Repaired int64
}

// LoadReport summarises a LoadDump run.
type LoadReport struct {
	Team     string
	Commit   *txlog.Commit
	Files    []FileLoad
	Replaced int // files of an earlier clone retired by this load (LoadOptions.Replace)
}

// Repaired sums the fields the load repaired.
func (r *LoadReport) Repaired() (n int64) {
	for _, f := range r.Files {
		n += f.Repaired
	}
	return n
}

// Totals sums the report's files.
func (r *LoadReport) Totals() (in, loaded, rejected int64) {
	for _, f := range r.Files {
		in += f.In
		loaded += f.Loaded
		rejected += f.Rejected
	}
	return
}

// CloneStream is the commit stream of a team's clone of its Archtics
// database; its watermark is the source timestamp the clone is complete up to.
func CloneStream(team string) string { return team + "/clone" }

// dumpBatchID names the logical batch of a dump load: one per team and
// cutoff, so a rerun of the same dump is recognised and a newer dump is not.
func dumpBatchID(cutoff time.Time) string {
	return "dump-" + cutoff.UTC().Format("20060102T150405Z")
}

// dumpSourceID digests a team's dump files (names, row counts and SHA-256
// from the manifest), so loading another dump cut at the same instant into
// the same warehouse is refused rather than taken for a rerun.
func dumpSourceID(files []DumpFile) string {
	lines := make([]string, 0, len(files))
	for _, f := range files {
		lines = append(lines, fmt.Sprintf("%s %d %s", f.Name, f.Rows, strings.ToLower(f.SHA256)))
	}
	sort.Strings(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// recordRows is how many rows a record batch holds before it goes to the
// writer; it bounds the loader's own memory.
const recordRows = 64 * 1024

// dumpCursor is the clone stream's cursor naming the batch of the dump the
// clone rests on: a rerun of that dump is a no-op, an earlier dump it
// replaced is not loaded again.
const dumpCursor = "load-dump.batch"

// ErrCloneExists is wrapped when a dump is loaded into a team that already
// has a clone from another dump: both would be live, every row doubled.
var ErrCloneExists = errors.New("the team already has a clone")

// LoadOptions tunes LoadDumpWith.
type LoadOptions struct {
	// Replace retires every file of the team's existing clone in the same
	// commit that adds the new dump's, instead of refusing the load.
	Replace bool
	// Progress, when set, is called with rows read so far per file.
	Progress func(file string, rows int64)
}

// LoadDump loads one team's files with the default options.
func LoadDump(ctx context.Context, w *pipeline.Warehouse, dump Dump, team string, progress func(file string, rows int64)) (*LoadReport, error) {
	return LoadDumpWith(ctx, w, dump, team, LoadOptions{Progress: progress})
}

// LoadDumpWith loads one team's files of a full dump into the clone tables
// and the rejects table, in one commit on the team's clone stream whose
// watermark is the dump's cutoff: the change pulls start from there.
//
// Every file's SHA-256 and row count are checked against the manifest
// (a truncated or corrupt download fails the load and commits nothing).
// Rows whose key or a required field does not convert are kept in
// archtics_meta.rejects with file, line, field and reason, so in = loaded
// + rejected for every file; so is every line of a key that is on more
// than one line of a table (loadDumpTable). A row whose optional field
// does not convert loads with it NULL, and text that is not UTF-8 is read
// as Windows-1252 (or the whole file as the manifest's encoding); each
// such field is recorded in archtics_meta.repairs.
// Rerunning the same dump is a no-op; a crash before the commit leaves
// only invisible files, which the rerun writes again byte for byte. A team
// that already has a clone from another dump is refused (ErrCloneExists)
// unless opts.Replace; a dump cut before the clone's watermark is refused
// either way, since a stream's watermark never goes back.
func LoadDumpWith(ctx context.Context, w *pipeline.Warehouse, dump Dump, team string, opts LoadOptions) (*LoadReport, error) {
	progress := opts.Progress
	if err := ValidateTeam(team); err != nil {
		return nil, fmt.Errorf("load dump: %w", err)
	}
	report := &LoadReport{Team: team}
	var files []DumpFile
	for _, f := range dump.Files {
		if f.Team == team {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("load dump: no files for team %q in the manifest", team)
	}
	batch := dumpBatchID(dump.Cutoff)
	req := txlog.CommitRequest{
		Stream:    CloneStream(team),
		Stage:     "load-dump",
		BatchID:   batch,
		PinBatch:  true, // a rerun of this dump is recognised however late
		SourceID:  dumpSourceID(files),
		Watermark: txlog.Watermark{To: dump.Cutoff.UTC().Format(time.RFC3339)},
		Cursors:   map[string]string{dumpCursor: batch},
	}
	if dump.Location != nil {
		req.Cursors[TimeZoneCursor] = dump.Location.String()
	}
	head, err := w.Stream(ctx, req.Stream)
	if err != nil {
		return nil, fmt.Errorf("load dump for %s: %w", team, err)
	}
	loaded, seen := head.Batches[batch]
	switch {
	case head.Cursors[dumpCursor] == batch:
		// A rerun of the dump the clone rests on: WriteAndCommit returns
		// the earlier commit.
	case seen:
		return nil, fmt.Errorf("load dump for %s: the dump cut at %s was loaded as commit %d of %s and has since been replaced by %s: %w",
			team, dump.Cutoff.UTC().Format(time.RFC3339), loaded.Seq, req.Stream, head.Cursors[dumpCursor], ErrCloneExists)
	case head.LiveFiles() > 0:
		if !opts.Replace {
			return nil, fmt.Errorf("load dump for %s: %w (commit %d of %s, watermark %s): loading a second dump would double every row; "+
				"rerun with --replace to retire the old clone in the same commit as the new one", team, ErrCloneExists, head.Seq, req.Stream, head.Watermark)
		}
		for _, table := range head.Files {
			for _, e := range table {
				req.Retires = append(req.Retires, e.Ref())
			}
		}
		req.ExpectSeq = head.NextSeq()
	}
	logger := w.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if _, done := head.Batches[batch]; done {
		// A rerun: the commit is there (Commit returns it) or the batch
		// came from other files (Commit refuses).
		c, err := w.Commit(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("load dump for %s: %w", team, err)
		}
		report.Commit = c
		return report, nil
	}
	if req.ExpectSeq == 0 {
		// Pinned to the head seen here: a writer committing meanwhile
		// makes this load fail with a conflict, not interleave.
		req.ExpectSeq = head.Seq + 1
	}
	ws := &writerSet{ctx: ctx, w: w, batch: batch}
	defer ws.abort()
	rejectsTW, err := ws.open(schemas.Rejects)
	if err != nil {
		return nil, fmt.Errorf("load dump for %s: %w", team, err)
	}
	repairsTW, err := ws.open(schemas.Repairs)
	if err != nil {
		return nil, fmt.Errorf("load dump for %s: %w", team, err)
	}
	rejects := newRejectSink(rejectsTW, batch, team, "clone")
	defer rejects.release()
	repairs := newRepairSink(repairsTW, batch, team, "clone")
	defer repairs.release()
	logger.Info("load-dump: loading", "team", team, "files", len(files), "batch", batch)
	for _, group := range byTable(files) {
		fls, err := loadDumpTable(ctx, ws, group, rejects, repairs, progress, logger)
		if err != nil {
			return nil, fmt.Errorf("load dump for %s: %w", team, err)
		}
		report.Files = append(report.Files, fls...)
	}
	if err := rejects.flush(); err != nil {
		return nil, fmt.Errorf("load dump for %s: %w", team, err)
	}
	if err := repairs.flush(); err != nil {
		return nil, fmt.Errorf("load dump for %s: %w", team, err)
	}
	if req.Adds, req.Tables, err = ws.close(ctx); err != nil {
		return nil, fmt.Errorf("load dump for %s: commit %s batch %s: %w", team, req.Stream, batch, err)
	}
	in, kept, rejected := report.Totals()
	req.Summary = map[string]int64{"rows_in": in, "loaded": kept, "rejected": rejected, "repaired": report.Repaired()}
	c, err := w.Commit(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("load dump for %s: %w", team, err)
	}
	report.Commit = c
	report.Replaced = len(req.Retires)
	if c.Existing {
		// The batch was committed meanwhile: the numbers are in the
		// commit, not in this run.
		report.Files = nil
		report.Replaced = 0
	}
	return report, nil
}

// byTable groups a team's files by table, tables in the order of their
// first file, files in manifest order: a key is unique across all the
// parts of its table.
func byTable(files []DumpFile) [][]DumpFile {
	var groups [][]DumpFile
	at := map[*schemas.Table]int{}
	for _, f := range files {
		i, ok := at[f.Table]
		if !ok {
			i = len(groups)
			at[f.Table] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], f)
	}
	return groups
}

// writerSet holds a load's table writers: closed together for the
// commit, or all aborted. A table's rows go through a pipe (piped): its
// encoder runs on while the load reads the next tables, and only the
// commit waits for it.
type writerSet struct {
	ctx     context.Context
	w       *pipeline.Warehouse
	batch   string
	writers []setWriter
}

type setWriter struct {
	tw   *pipeline.TableWriter
	pipe *pipedWriter // nil: written to directly
}

func (s *writerSet) open(t *schemas.Table) (*pipeline.TableWriter, error) {
	tw, err := pipeline.NewTableWriter(s.w, t, s.batch)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", t.FullName(), err)
	}
	s.writers = append(s.writers, setWriter{tw: tw})
	return tw, nil
}

// piped opens a writer of t whose record batches are encoded by their
// own goroutine.
func (s *writerSet) piped(t *schemas.Table) (*pipeline.TableWriter, *pipedWriter, error) {
	tw, err := s.open(t)
	if err != nil {
		return nil, nil, err
	}
	pw := newPipedWriter(s.ctx, tw)
	s.writers[len(s.writers)-1].pipe = pw
	return tw, pw, nil
}

// drop aborts tw and forgets it (its table is written again).
func (s *writerSet) drop(tw *pipeline.TableWriter) {
	for i, o := range s.writers {
		if o.tw == tw {
			o.abort()
			s.writers = append(s.writers[:i], s.writers[i+1:]...)
			return
		}
	}
}

func (o setWriter) abort() {
	if o.pipe != nil {
		o.pipe.Close() // the table writer is not safe for concurrent use
	}
	o.tw.Abort()
}

// close finishes and uploads every table's files, the tables at once:
// each waits for its encoder, then writes its last row group and
// uploads, and one table's wait need not hold up another's work. The
// files are returned in the order the tables were opened.
func (s *writerSet) close(ctx context.Context) ([]txlog.FileEntry, []*schemas.Table, error) {
	fss := make([][]txlog.FileEntry, len(s.writers))
	errs := make([]error, len(s.writers))
	var wg sync.WaitGroup
	for i, o := range s.writers {
		wg.Go(func() {
			if o.pipe != nil {
				errs[i] = o.pipe.Close()
			}
			if errs[i] == nil {
				fss[i], errs[i] = o.tw.Close(ctx)
			}
			if errs[i] != nil {
				o.tw.Abort()
			}
		})
	}
	wg.Wait()
	writers := s.writers
	s.writers = nil
	for _, err := range errs {
		if err != nil {
			// The first table's that failed; the files of those that did
			// not are uploaded but never committed, as after a crash.
			return nil, nil, err
		}
	}
	var files []txlog.FileEntry
	var tables []*schemas.Table
	for i, o := range writers {
		files = append(files, fss[i]...)
		tables = append(tables, o.tw.Table())
	}
	return files, tables, nil
}

// abort drops every writer not closed (safe after close).
func (s *writerSet) abort() {
	for _, o := range s.writers {
		o.abort()
	}
	s.writers = nil
}

// loadDumpTable loads every part of one table. Keys must be unique
// across the parts: the first pass keeps a 64-bit hash of each row's key
// (8 bytes a row); only when two hashes are equal does a second pass
// find the rows of the keys really doubled and a third write the table
// again without them, each of their lines a reject naming the others.
func loadDumpTable(ctx context.Context, ws *writerSet, files []DumpFile, rejects *rejectSink, repairs *repairSink,
	progress func(string, int64), logger *slog.Logger) ([]FileLoad, error) {
	t := files[0].Table
	tw, pipe, err := ws.piped(t)
	if err != nil {
		return nil, err
	}
	seed := maphash.MakeSeed()
	var rows int64
	for _, f := range files {
		rows += max(f.Rows, 0)
	}
	// Sized by the manifest's count (no regrowth), within reason: a
	// manifest may lie, and the rows' count is checked only at the end.
	hashes, free := allocHashes(min(rows, 1<<27))
	defer free()
	var buf []byte
	hashKey := func(rb *rowbuild.Builder) uint64 {
		buf = rb.AppendKey(buf[:0])
		return maphash.Bytes(seed, buf)
	}
	fls := make([]FileLoad, len(files))
	for i, f := range files {
		start := time.Now()
		scan := fileScan{pipe: pipe, rejects: rejects, repairs: repairs, record: true, progress: progress,
			key: func(_ int64, rb *rowbuild.Builder) string {
				hashes = append(hashes, hashKey(rb))
				return ""
			}}
		if fls[i], err = loadDumpFile(ctx, f, scan); err != nil {
			return nil, err
		}
		logger.Info("load-dump: file read", "file", f.Name, "rows", fls[i].In, "rejected", fls[i].Rejected, "repaired", fls[i].Repaired,
			"took", time.Since(start).Round(time.Millisecond))
	}
	slices.Sort(hashes)
	var suspects []uint64 // sorted: a map would cost five times as much
	for i := 1; i < len(hashes); i++ {
		if hashes[i] == hashes[i-1] && (len(suspects) == 0 || suspects[len(suspects)-1] != hashes[i]) {
			suspects = append(suspects, hashes[i])
		}
	}
	hashes = nil
	free()
	if len(suspects) == 0 {
		return fls, nil
	}

	// Rare: find the keys really doubled (equal hashes may be a
	// collision). What is kept is per suspect line, not per row.
	groupOf := map[string]int32{} // key → index in groups
	var groups []dupGroup
	for i, f := range files {
		scan := fileScan{key: func(line int64, rb *rowbuild.Builder) string {
			if _, ok := slices.BinarySearch(suspects, hashKey(rb)); !ok {
				return ""
			}
			k := rb.AppendKey(nil)
			g, ok := groupOf[string(k)]
			if !ok {
				g = int32(len(groups))
				groupOf[string(k)] = g
				groups = append(groups, dupGroup{})
			}
			if len(groups[g].lines) == 1 {
				groups[g].key = rb.KeyText() // only for keys really doubled
			}
			groups[g].lines = append(groups[g].lines, dupLine{int32(i), line})
			return ""
		}}
		if _, err := readDumpFile(ctx, f, scan); err != nil {
			return nil, err
		}
	}
	groupOf = nil
	drop := make([]map[int64]int32, len(files)) // file → line → group
	doubled := 0
	for g, grp := range groups {
		if len(grp.lines) < 2 {
			continue
		}
		doubled++
		for _, l := range grp.lines {
			if drop[l.file] == nil {
				drop[l.file] = map[int64]int32{}
			}
			drop[l.file][l.line] = int32(g)
		}
	}
	if doubled == 0 {
		return fls, nil
	}
	logger.Warn("load-dump: keys on more than one line are rejected; writing the table again without them", "table", t.FullName(), "keys", doubled)
	ws.drop(tw)
	if _, pipe, err = ws.piped(t); err != nil {
		return nil, err
	}
	for i, f := range files {
		// The first pass recorded the rejects and repairs of the other
		// lines: this one records only the doubled keys'.
		scan := fileScan{pipe: pipe, rejects: rejects, repairs: repairs, key: func(line int64, _ *rowbuild.Builder) string {
			g, ok := drop[i][line]
			if !ok {
				return ""
			}
			return groups[g].reason(files, int32(i), line)
		}}
		if fls[i], err = loadDumpFile(ctx, f, scan); err != nil {
			return nil, err
		}
	}
	return fls, nil
}

// dupGroup is the lines of one key that is, or may be, on more than one
// line of a table.
type dupGroup struct {
	key   string // the key shown, once there are two lines
	lines []dupLine
}

type dupLine struct {
	file int32
	line int64
}

// reason is the reject reason of one line of a doubled key: the key and
// (up to five of) the other lines.
func (g dupGroup) reason(files []DumpFile, file int32, line int64) string {
	var others []string
	for _, o := range g.lines {
		if o != (dupLine{file, line}) && len(others) < 5 {
			others = append(others, fmt.Sprintf("%s line %d", files[o.file].Name, o.line))
		}
	}
	if n := len(g.lines) - 1 - len(others); n > 0 {
		others = append(others, fmt.Sprintf("%d more", n))
	}
	return fmt.Sprintf("key %s is on %d lines of the dump, also on %s: a source error, no line of it is loaded",
		g.key, len(g.lines), strings.Join(others, ", "))
}

// fileScan is what one read of a dump file does with its rows.
type fileScan struct {
	tw       recordWriter // the rows that load; nil: convert only, write nothing
	pipe     *pipedWriter // for loadDumpFile: the table's pipe, tw for readDumpFile
	rejects  *rejectSink
	repairs  *repairSink
	record   bool // record rejects and repairs (false: an earlier pass did)
	progress func(string, int64)
	// key hears each row that converted, before it is written; a
	// non-empty answer rejects the row with that reason (always recorded).
	key func(line int64, rb *rowbuild.Builder) string
}

// loadDumpFile reads f into scan.pipe. A failure to write is reported
// here if it stopped the read, else when the pipe is closed.
func loadDumpFile(ctx context.Context, f DumpFile, scan fileScan) (FileLoad, error) {
	scan.tw = scan.pipe.From(fmt.Sprintf("%s: write %s", f.Name, f.Table.FullName()))
	fl, err := readDumpFile(ctx, f, scan)
	// The reader's error comes first (it names the line), unless it only
	// says the writer stopped it: then the writer's error is the cause.
	if errors.Is(err, errWriterFailed) {
		if werr := scan.pipe.Close(); werr != nil {
			return fl, werr
		}
	}
	if err != nil {
		return fl, err
	}
	if scan.progress != nil {
		scan.progress(f.Name, fl.In)
	}
	return fl, nil
}

// readDumpFile parses, checks and converts one dump file, sending record
// batches to scan.tw, the rows that do not convert to scan.rejects and
// the fields repaired to scan.repairs.
func readDumpFile(ctx context.Context, f DumpFile, scan fileScan) (FileLoad, error) {
	fl := FileLoad{File: f.Name, Table: f.Table.FullName()}
	tw, progress := scan.tw, scan.progress
	reject := func(line int64, field, reason, raw string) error {
		fl.Rejected++
		if !scan.record || scan.rejects == nil {
			return nil
		}
		return scan.rejects.add(f, line, field, reason, raw)
	}
	rc, err := f.Open()
	if err != nil {
		return fl, fmt.Errorf("open %s: %w", f.Name, err)
	}
	defer rc.Close()
	hasher := sha256.New()
	src := &sourceReader{ctx: ctx, r: rc}
	var dr *DelimitedReader
	// fatal explains a failure to read the file's bytes: the damage and
	// where it showed, or that the load was stopped. Either way the file
	// ends there and nothing of the load is committed.
	fatal := func(err error) error {
		var line int64
		if dr != nil {
			dr.Close() // its read-ahead no longer moves src
			line = dr.Line()
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: stopped after line %d: %w", f.Name, line, ctx.Err())
		}
		return fmt.Errorf("%s: damaged after line %d (%d compressed bytes read): %s (%w); download the file again (manifest.json lists its SHA-256) and rerun",
			f.Name, line, src.n, damage(err), err)
	}
	zr, err := gzip.NewReader(io.TeeReader(src, hasher))
	if err != nil {
		if ctx.Err() != nil {
			return fl, fatal(err)
		}
		return fl, fmt.Errorf("%s: not a gzip file (%w): re-download it from the dump", f.Name, err)
	}
	var text io.Reader = zr
	if f.Charset != nil {
		text = f.Charset.Reader(zr)
	}
	if dr, err = NewDelimitedReader(f.Name, text, f.Table); err != nil {
		var re *ReadError
		if errors.As(err, &re) {
			return fl, fatal(re.Err)
		}
		return fl, err
	}
	defer dr.Close()
	rb := rowbuild.New(memory.DefaultAllocator, f.Table)
	rb.Lossless = true
	defer rb.Release()
	teamCol := f.Table.ColumnIndex("team")
	flushRows := func() error {
		if rb.Len() == 0 {
			return nil
		}
		rec := rb.NewRecord()
		defer rec.Release()
		if err := tw.Write(rec); err != nil {
			if ctx.Err() != nil {
				return fatal(err)
			}
			return err
		}
		return nil
	}
	for {
		fields, raw, err := dr.Next()
		if err == io.EOF {
			break
		}
		var re *ReadError
		if errors.As(err, &re) {
			// The file's bytes, not a line, are bad: counting it as a
			// reject would hide the damage (and loop, as the reader
			// answers the same error again).
			return fl, fatal(re.Err)
		}
		fl.In++
		if err != nil {
			// A line the reader cannot split is still a row in: keep it.
			if rerr := reject(dr.Line(), "", err.Error(), raw); rerr != nil {
				return fl, rerr
			}
			continue
		}
		if teamCol >= 0 && len(fields) == len(f.Table.Columns) && fields[teamCol] != f.Team {
			reason := fmt.Sprintf("field team %q, but the manifest lists the file under team %q", fields[teamCol], f.Team)
			if rerr := reject(dr.Line(), "team", reason, raw); rerr != nil {
				return fl, rerr
			}
			continue
		}
		if err := rb.Parse(fields); err != nil {
			var fe *rowbuild.FieldError
			if !errors.As(err, &fe) {
				return fl, fmt.Errorf("%s line %d: %w", f.Name, dr.Line(), err)
			}
			if rerr := reject(dr.Line(), fe.Column, fe.Error(), raw); rerr != nil {
				return fl, rerr
			}
			continue
		}
		fixed := rb.Repairs()
		fl.Repaired += int64(len(fixed))
		if scan.record && scan.repairs != nil {
			for _, r := range fixed {
				if err := scan.repairs.add(f, dr.Line(), r); err != nil {
					return fl, err
				}
			}
		}
		if scan.key != nil {
			if reason := scan.key(dr.Line(), rb); reason != "" {
				fl.Rejected++
				if err := scan.rejects.add(f, dr.Line(), "", reason, raw); err != nil {
					return fl, err
				}
				continue
			}
		}
		fl.Loaded++
		if tw == nil {
			continue
		}
		rb.AppendParsed()
		if rb.Len() >= recordRows {
			if err := flushRows(); err != nil {
				return fl, err
			}
			if progress != nil {
				progress(f.Name, fl.In)
			}
			if err := ctx.Err(); err != nil {
				return fl, err
			}
		}
	}
	if tw != nil {
		if err := flushRows(); err != nil {
			return fl, err
		}
	}
	// Drain so the hash covers the whole file, gzip trailer included.
	dr.Close()
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return fl, fatal(err)
	}
	if got := hex.EncodeToString(hasher.Sum(nil)); f.SHA256 != "" && !strings.EqualFold(got, f.SHA256) {
		return fl, fmt.Errorf("%s: SHA-256 %s, manifest says %s: the file is corrupt or truncated; download it again", f.Name, got, f.SHA256)
	}
	if f.Rows >= 0 && fl.In != f.Rows {
		return fl, fmt.Errorf("%s: %d rows read, manifest says %d: the file is truncated or the manifest is wrong", f.Name, fl.In, f.Rows)
	}
	return fl, nil
}

// damage says in words what a read error means for a dump file.
func damage(err error) string {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the file ends before its gzip stream does, so it is truncated"
	case errors.Is(err, gzip.ErrChecksum):
		return "the decompressed bytes do not match the gzip checksum, so bytes in the file are damaged"
	case errors.As(err, &corrupt), errors.Is(err, gzip.ErrHeader):
		return "the gzip stream is corrupt"
	}
	return "the file cannot be read"
}
