package pipeline

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"golang.org/x/sync/errgroup"

	"archtics/pipeline/txlog"
	"archtics/schemas"
	"archtics/storage"
)

// CreatedBy is the Parquet footer's created_by. It is a fixed string, not
// the program version, so that a rerun of the same batch by a newer build
// still produces byte-identical files (partitions are immutable and a rerun
// must be recognised as the same content).
const CreatedBy = "archtics"

// ContentHashDigits is how many hex digits of a file's SHA-256 its name
// carries (64 bits): enough that two contents of one batch and partition
// never share a name.
const ContentHashDigits = 16

// WriterOption configures a TableWriter.
type WriterOption func(*writerOptions)

type writerOptions struct {
	rowGroupRows      int64
	maxFileRows       int64
	spoolDir          string
	uploadConcurrency int
	compressionLevel  int
}

// WithRowGroupRows sets the Parquet row-group length (default 131072). A
// writer buffers at most one row group per open partition, so this bounds
// its memory.
func WithRowGroupRows(n int64) WriterOption {
	return func(o *writerOptions) {
		if n > 0 {
			o.rowGroupRows = n
		}
	}
}

// WithMaxFileRows starts a new file in a partition after n rows (default
// 8Mi rows), keeping single objects a manageable size.
func WithMaxFileRows(n int64) WriterOption {
	return func(o *writerOptions) {
		if n > 0 {
			o.maxFileRows = n
		}
	}
}

// WithSpoolDir sets the local folder the spool files are written to before
// upload (default os.TempDir()).
func WithSpoolDir(dir string) WriterOption { return func(o *writerOptions) { o.spoolDir = dir } }

// WithUploadConcurrency sets how many files Close uploads at once (default 4).
func WithUploadConcurrency(n int) WriterOption {
	return func(o *writerOptions) {
		if n > 0 {
			o.uploadConcurrency = n
		}
	}
}

// WithCompressionLevel sets the zstd level (default 1: the files are written
// once per batch on the hot path; level 1 keeps the writer well above the
// throughput target at a small size cost).
func WithCompressionLevel(level int) WriterOption {
	return func(o *writerOptions) { o.compressionLevel = level }
}

// TableWriter writes Arrow record batches of one table as Hive-partitioned
// zstd Parquet files, spooled locally and uploaded with PutIfAbsent on Close.
//
// Files are named part-<batch>-<n>-<hash>.parquet, n counting per
// partition and hash the first 16 hex digits of the file's SHA-256: a rerun
// of the same batch with the same input writes the same keys with the same
// bytes (an idempotent success), while a rerun whose bytes differ (a feed
// that grew meanwhile, another library version) writes other keys, so the
// orphan of a crashed attempt never blocks it. Whether a batch is already
// done is decided by its id in the log, never by the files. A TableWriter
// is not safe for concurrent use.
type TableWriter struct {
	w       *Warehouse
	t       *schemas.Table
	batch   string
	opts    writerOptions
	err     error // sticky: the first failure, returned by every later call
	closed  bool
	schema  *arrow.Schema // t.ArrowSchema()
	fschema *arrow.Schema // t.FileSchema()
	fileCol []int         // positions in schema of the file columns, in file order
	partCol []int         // positions in schema of the partition columns
	timeCol []int         // positions in fschema of the time columns
	props   *parquet.WriterProperties
	aprops  pqarrow.ArrowWriterProperties
	dir     string // spool folder, created on first write
	parts   map[string]*partWriter
	order   []*partWriter // creation order, for deterministic Close
	done    []*spoolFile  // finished spool files, in order
	files   int           // spool files created, names them
	rows    int64
}

type partWriter struct {
	path   string            // "col=v/col=v/" escaped
	values map[string]string // unescaped values
	seq    int               // next file number in this partition
	cur    *spoolFile
}

type spoolFile struct {
	key      string // final key, set when the file is finished and its hash known
	stem     string // key without the hash: <prefix><partition path>part-<batch>-<n>
	path     string
	values   map[string]string
	f        *os.File
	buf      *bufio.Writer
	hash     hash.Hash
	count    int64
	fw       *pqarrow.FileWriter
	rows     int64
	min, max []int64 // per time column
	has      []bool
	entry    txlog.FileEntry
}

func (s *spoolFile) Write(p []byte) (int, error) {
	n, err := s.buf.Write(p)
	s.hash.Write(p[:n])
	s.count += int64(n)
	return n, err
}

// NewTableWriter returns a writer for t in the logical batch batchID. The
// batch id is sanitized into the file names; it should be the same on a
// rerun of the same work (the stage's batch id, not a timestamp).
func NewTableWriter(w *Warehouse, t *schemas.Table, batchID string, opts ...WriterOption) (*TableWriter, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("table writer %s: %w", t.FullName(), err)
	}
	if batchID == "" {
		return nil, fmt.Errorf("table writer %s: empty batch id", t.FullName())
	}
	o := writerOptions{rowGroupRows: 128 * 1024, maxFileRows: 8 << 20, uploadConcurrency: 4, compressionLevel: 1}
	for _, opt := range opts {
		opt(&o)
	}
	tw := &TableWriter{
		w: w, t: t, batch: SanitizeBatchID(batchID), opts: o,
		schema: t.ArrowSchema(), fschema: t.FileSchema(),
		parts: map[string]*partWriter{},
	}
	tw.fileCol = t.FileColumnOrder()
	for _, p := range t.PartitionBy {
		tw.partCol = append(tw.partCol, t.ColumnIndex(p))
	}
	for _, tc := range t.TimeColumns {
		if t.IsPartition(tc) {
			continue // a partition column as time column: its value is in the path
		}
		idx := tw.fschema.FieldIndices(tc)
		switch tw.fschema.Field(idx[0]).Type.ID() {
		case arrow.TIMESTAMP, arrow.DATE32:
			tw.timeCol = append(tw.timeCol, idx[0])
		default:
			return nil, fmt.Errorf("table writer %s: time column %s is neither a timestamp nor a date", t.FullName(), tc)
		}
	}
	props := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithCompressionLevel(o.compressionLevel),
		parquet.WithCreatedBy(CreatedBy),
		parquet.WithMaxRowGroupLength(o.rowGroupRows),
		parquet.WithStats(true),
		// Dictionaries for text only: numbers and times compress as well
		// or better plain under zstd, without hashing every value.
		parquet.WithDictionaryDefault(false),
		// A dictionary never falls back to plain encoding within a column
		// chunk: arrow-go records a chunk's two page encodings in map
		// order, so a file with a fallback would not be the same bytes
		// twice, and a rerun must write the same bytes. A chunk holds at
		// most rowGroupRows values, which bounds the dictionary.
		parquet.WithDictionaryPageSizeLimit(1 << 30),
	}
	// The last key column is the most specific (a sequence id, a ticket
	// id): nearly unique per row, so a dictionary would only cost hashing
	// every value; so would one of a column marked NoDictionary.
	lastKey := ""
	if n := len(t.Key); n > 0 {
		lastKey = t.Key[n-1]
	}
	for _, c := range t.Columns {
		if c.Type == schemas.String && !c.NoDictionary && c.Name != lastKey {
			props = append(props, parquet.WithDictionaryFor(c.Name, true))
		}
	}
	// Each filter sized for the row group: the adaptive filter keeps the
	// smallest of its candidates that holds the false-positive rate for
	// the values the chunk really has.
	for _, name := range t.Bloom {
		props = append(props, parquet.WithBloomFilterEnabledFor(name, true), parquet.WithAdaptiveBloomFilterEnabledFor(name, true),
			parquet.WithBloomFilterNDVFor(name, o.rowGroupRows))
	}
	tw.props = parquet.NewWriterProperties(props...)
	tw.aprops = pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())
	return tw, nil
}

// Table returns the table the writer writes.
func (tw *TableWriter) Table() *schemas.Table { return tw.t }

// Rows returns the rows written so far.
func (tw *TableWriter) Rows() int64 { return tw.rows }

// Write routes the rows of rec (schema t.ArrowSchema()) to their partitions.
// The caller keeps ownership of rec.
func (tw *TableWriter) Write(rec arrow.RecordBatch) error {
	if tw.err != nil {
		return tw.err
	}
	if tw.closed {
		return fmt.Errorf("table writer %s: write after close", tw.t.FullName())
	}
	if !rec.Schema().Equal(tw.schema) {
		return tw.fail(fmt.Errorf("table writer %s: record schema %s does not match the table's %s",
			tw.t.FullName(), rec.Schema(), tw.schema))
	}
	n := int(rec.NumRows())
	if n == 0 {
		return nil
	}
	if err := checkUTF8(tw.t, rec); err != nil {
		return tw.fail(err)
	}
	if tw.dir == "" {
		dir, err := os.MkdirTemp(tw.opts.spoolDir, "archtics-spool-*")
		if err != nil {
			return tw.fail(fmt.Errorf("table writer %s: spool folder: %w", tw.t.FullName(), err))
		}
		tw.dir = dir
	}

	// Find runs of rows with the same partition. Inputs usually arrive
	// grouped (a feed page for one event, a dump sorted by team), so
	// comparing with the previous row avoids formatting a key per row.
	type run struct {
		start, end int
		p          *partWriter
	}
	var runs []run
	pcols := make([]arrow.Array, len(tw.partCol))
	for i, c := range tw.partCol {
		pcols[i] = rec.Column(c)
	}
	for i := 0; i < n; i++ {
		if i > 0 && samePartition(pcols, i-1, i) {
			runs[len(runs)-1].end = i + 1
			continue
		}
		p, err := tw.partition(pcols, i)
		if err != nil {
			return tw.fail(err)
		}
		if len(runs) > 0 && runs[len(runs)-1].p == p {
			runs[len(runs)-1].end = i + 1
			continue
		}
		runs = append(runs, run{i, i + 1, p})
	}

	// Group the runs per partition, keeping input order within each.
	byPart := map[*partWriter][]run{}
	var seen []*partWriter
	for _, r := range runs {
		if _, ok := byPart[r.p]; !ok {
			seen = append(seen, r.p)
		}
		byPart[r.p] = append(byPart[r.p], r)
	}
	for _, p := range seen {
		rs := byPart[p]
		total := 0
		for _, r := range rs {
			total += r.end - r.start
		}
		// Few long runs: write zero-copy slices. Many short runs (rows of
		// partitions interleaved): gather them with one Take per column.
		if len(rs) <= 4 || total/len(rs) >= 256 {
			for _, r := range rs {
				if err := tw.writeRange(p, rec, r.start, r.end); err != nil {
					return tw.fail(err)
				}
			}
			continue
		}
		if err := tw.writeTake(p, rec, func(add func(int)) {
			for _, r := range rs {
				for i := r.start; i < r.end; i++ {
					add(i)
				}
			}
		}, total); err != nil {
			return tw.fail(err)
		}
	}
	tw.rows += int64(n)
	return nil
}

// ErrInvalidUTF8 is wrapped when a record holds a string that is not
// UTF-8: DuckDB would refuse every later query of the table.
var ErrInvalidUTF8 = errors.New("a string is not valid UTF-8")

// checkUTF8 is the last line of defence against text that would poison a
// table: the stages repair such values before they get here. Whole
// columns are checked at once (ASCII is checked 8 bytes at a time); only
// a column that fails is walked value by value, to name the row.
func checkUTF8(t *schemas.Table, rec arrow.RecordBatch) error {
	for c, col := range rec.Columns() {
		a, ok := col.(*array.String)
		if !ok {
			continue
		}
		buf, offs := a.ValueBytes(), a.ValueOffsets()
		if utf8.Valid(buf) && boundariesAtRuneStarts(buf, offs) {
			continue
		}
		for i := 0; i < a.Len(); i++ {
			if a.IsValid(i) && !utf8.ValidString(a.Value(i)) {
				return fmt.Errorf("table writer %s: column %s row %d of the batch (%q): %w; the stage must repair it before writing",
					t.FullName(), rec.ColumnName(c), i, truncateBytes(a.Value(i), 60), ErrInvalidUTF8)
			}
		}
	}
	return nil
}

// boundariesAtRuneStarts reports whether every value of a valid UTF-8
// buffer starts on a rune: then every value is valid UTF-8 too.
func boundariesAtRuneStarts(buf []byte, offs []int32) bool {
	if len(offs) == 0 {
		return true
	}
	base := offs[0]
	for _, o := range offs[1 : len(offs)-1] {
		if i := int(o - base); i < len(buf) && !utf8.RuneStart(buf[i]) {
			return false
		}
	}
	return true
}

func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func (tw *TableWriter) fail(err error) error {
	if tw.err == nil {
		tw.err = err
	}
	return err
}

func (tw *TableWriter) writeRange(p *partWriter, rec arrow.RecordBatch, start, end int) error {
	cols := make([]arrow.Array, len(tw.fileCol))
	for i, c := range tw.fileCol {
		cols[i] = array.NewSlice(rec.Column(c), int64(start), int64(end))
	}
	sub := array.NewRecordBatch(tw.fschema, cols, int64(end-start))
	for _, c := range cols {
		c.Release()
	}
	defer sub.Release()
	return tw.writeFile(p, sub)
}

func (tw *TableWriter) writeTake(p *partWriter, rec arrow.RecordBatch, each func(func(int)), total int) error {
	ib := array.NewInt32Builder(memory.DefaultAllocator)
	ib.Reserve(total)
	each(func(i int) { ib.UnsafeAppend(int32(i)) })
	idx := ib.NewArray()
	ib.Release()
	defer idx.Release()
	cols := make([]arrow.Array, len(tw.fileCol))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, c := range tw.fileCol {
		a, err := compute.TakeArray(context.Background(), rec.Column(c), idx)
		if err != nil {
			return fmt.Errorf("table writer %s: gather rows of partition %s: %w", tw.t.FullName(), p.path, err)
		}
		cols[i] = a
	}
	sub := array.NewRecordBatch(tw.fschema, cols, int64(total))
	defer sub.Release()
	return tw.writeFile(p, sub)
}

// writeFile appends sub to the partition's current file, rolling over to a
// new file at maxFileRows.
func (tw *TableWriter) writeFile(p *partWriter, sub arrow.RecordBatch) error {
	for off := int64(0); off < sub.NumRows(); {
		if p.cur == nil {
			sf, err := tw.openFile(p)
			if err != nil {
				return err
			}
			p.cur = sf
		}
		room := tw.opts.maxFileRows - p.cur.rows
		n := sub.NumRows() - off
		if n > room {
			n = room
		}
		part := sub
		if off != 0 || n != sub.NumRows() {
			part = sub.NewSlice(off, off+n)
		}
		err := p.cur.fw.WriteBuffered(part)
		if err == nil {
			tw.trackTimes(p.cur, part)
			p.cur.rows += n
		}
		if part != sub {
			part.Release()
		}
		if err != nil {
			return fmt.Errorf("table writer %s: write %s: %w", tw.t.FullName(), p.cur.key, err)
		}
		off += n
		if p.cur.rows >= tw.opts.maxFileRows {
			if err := tw.finish(p.cur); err != nil {
				return err
			}
			p.cur = nil
		}
	}
	return nil
}

func (tw *TableWriter) trackTimes(sf *spoolFile, rec arrow.RecordBatch) {
	for j, c := range tw.timeCol {
		col := rec.Column(c)
		var vals func(i int) int64
		switch a := col.(type) {
		case *array.Timestamp:
			raw := a.TimestampValues()
			vals = func(i int) int64 { return int64(raw[i]) }
		case *array.Date32:
			raw := a.Date32Values()
			vals = func(i int) int64 { return int64(raw[i]) }
		default:
			continue
		}
		for i := 0; i < col.Len(); i++ {
			if col.IsNull(i) {
				continue
			}
			v := vals(i)
			if !sf.has[j] {
				sf.min[j], sf.max[j], sf.has[j] = v, v, true
				continue
			}
			if v < sf.min[j] {
				sf.min[j] = v
			}
			if v > sf.max[j] {
				sf.max[j] = v
			}
		}
	}
}

func (tw *TableWriter) openFile(p *partWriter) (*spoolFile, error) {
	stem := fmt.Sprintf("%s%spart-%s-%05d", tw.t.Prefix(), p.path, tw.batch, p.seq)
	p.seq++
	key := stem + ".parquet" // provisional, for messages until the hash is known
	path := filepath.Join(tw.dir, fmt.Sprintf("%06d.parquet", tw.files))
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("table writer %s: spool %s: %w", tw.t.FullName(), key, err)
	}
	sf := &spoolFile{
		key: key, stem: stem, path: path, values: p.values, f: f,
		buf:  bufio.NewWriterSize(f, 1<<20),
		hash: sha256.New(),
		min:  make([]int64, len(tw.timeCol)), max: make([]int64, len(tw.timeCol)), has: make([]bool, len(tw.timeCol)),
	}
	fw, err := pqarrow.NewFileWriter(tw.fschema, sf, tw.props, tw.aprops)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("table writer %s: parquet writer for %s: %w", tw.t.FullName(), key, err)
	}
	sf.fw = fw
	tw.files++
	return sf, nil
}

// finish writes the footer, flushes the spool file and records its entry.
func (tw *TableWriter) finish(sf *spoolFile) error {
	if err := sf.fw.Close(); err != nil {
		sf.f.Close()
		return fmt.Errorf("table writer %s: finish %s: %w", tw.t.FullName(), sf.key, err)
	}
	if err := sf.buf.Flush(); err != nil {
		sf.f.Close()
		return fmt.Errorf("table writer %s: flush %s: %w", tw.t.FullName(), sf.key, err)
	}
	if err := sf.f.Close(); err != nil {
		return fmt.Errorf("table writer %s: close spool of %s: %w", tw.t.FullName(), sf.key, err)
	}
	sum := hex.EncodeToString(sf.hash.Sum(nil))
	sf.key = sf.stem + "-" + sum[:ContentHashDigits] + ".parquet"
	e := txlog.FileEntry{
		Table: tw.t.FullName(), Key: sf.key, Rows: sf.rows, Bytes: sf.count,
		SHA256: sum,
	}
	if len(sf.values) > 0 {
		e.Partition = sf.values
	}
	for j, c := range tw.timeCol {
		if !sf.has[j] {
			continue
		}
		if e.Min == nil {
			e.Min, e.Max = map[string]string{}, map[string]string{}
		}
		f := tw.fschema.Field(c)
		e.Min[f.Name] = formatTime(f.Type, sf.min[j])
		e.Max[f.Name] = formatTime(f.Type, sf.max[j])
	}
	sf.entry = e
	tw.done = append(tw.done, sf)
	return nil
}

func formatTime(dt arrow.DataType, v int64) string {
	if dt.ID() == arrow.DATE32 {
		return arrow.Date32(v).ToTime().Format(time.DateOnly)
	}
	ts := dt.(*arrow.TimestampType)
	t := arrow.Timestamp(v).ToTime(ts.Unit).UTC()
	if ts.TimeZone == "" {
		// A wall-clock value: printing it with a zone would claim an
		// instant it does not name.
		return t.Format("2006-01-02 15:04:05.999999999")
	}
	return t.Format(time.RFC3339Nano)
}

// Close finishes every file and uploads them with PutIfAbsent, returning
// their entries sorted by key. Nothing is visible to readers until the
// entries are committed. The spool folder is removed either way.
func (tw *TableWriter) Close(ctx context.Context) ([]txlog.FileEntry, error) {
	if tw.closed {
		return nil, fmt.Errorf("table writer %s: closed twice", tw.t.FullName())
	}
	tw.closed = true
	defer tw.cleanup()
	if tw.err != nil {
		return nil, tw.err
	}
	for _, p := range tw.order {
		if p.cur != nil {
			if err := tw.finish(p.cur); err != nil {
				return nil, tw.fail(err)
			}
			p.cur = nil
		}
	}
	sort.Slice(tw.done, func(i, j int) bool { return tw.done[i].key < tw.done[j].key })

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(tw.opts.uploadConcurrency, 1))
	for _, sf := range tw.done {
		g.Go(func() error { return tw.upload(gctx, sf) })
	}
	if err := g.Wait(); err != nil {
		return nil, tw.fail(err)
	}
	out := make([]txlog.FileEntry, len(tw.done))
	for i, sf := range tw.done {
		out[i] = sf.entry
	}
	return out, nil
}

// Abort discards everything written; nothing is uploaded.
func (tw *TableWriter) Abort() {
	if tw.closed {
		return
	}
	tw.closed = true
	tw.fail(errors.New("table writer aborted"))
	for _, p := range tw.order {
		if p.cur != nil {
			p.cur.f.Close()
		}
	}
	tw.cleanup()
}

func (tw *TableWriter) cleanup() {
	if tw.dir != "" {
		os.RemoveAll(tw.dir)
	}
}

// upload stores one finished file. If the key exists the existing object
// must be the very same bytes (a rerun of the batch, or the orphan of an
// attempt that crashed before its commit): the name carries the content's
// hash, so anything else is a damaged object, reported, never replaced.
func (tw *TableWriter) upload(ctx context.Context, sf *spoolFile) error {
	f, err := os.Open(sf.path)
	if err != nil {
		return fmt.Errorf("upload %s: open spool: %w", sf.key, err)
	}
	defer f.Close()
	_, err = tw.w.Store.PutIfAbsent(ctx, sf.key, f, sf.entry.Bytes)
	if err == nil {
		return nil
	}
	if !errors.Is(err, storage.ErrExists) {
		return fmt.Errorf("upload %s to %s: %w", sf.key, tw.w.Store.URL(), err)
	}
	sum, _, herr := txlog.HashObject(ctx, tw.w.Store, sf.key)
	if herr != nil {
		return fmt.Errorf("upload %s: exists; hashing the existing object: %w", sf.key, herr)
	}
	if sum != sf.entry.SHA256 {
		return fmt.Errorf("partition %s: %w (sha256 %s, new %s): partitions are immutable",
			sf.key, txlog.ErrPartitionMismatch, sum, sf.entry.SHA256)
	}
	return nil
}

// partition returns the writer of row i's partition, creating it.
func (tw *TableWriter) partition(pcols []arrow.Array, i int) (*partWriter, error) {
	var sb strings.Builder
	values := make(map[string]string, len(pcols))
	for j, col := range pcols {
		name := tw.t.PartitionBy[j]
		v, null, err := partitionValue(col, i)
		if err != nil {
			return nil, fmt.Errorf("table writer %s: partition column %s: %w", tw.t.FullName(), name, err)
		}
		sb.WriteString(txlog.EscapePathValue(name))
		sb.WriteByte('=')
		if null || v == "" {
			sb.WriteString(txlog.HiveDefaultPartition)
		} else {
			sb.WriteString(txlog.EscapePathValue(v))
		}
		sb.WriteByte('/')
		values[name] = v
	}
	path := sb.String()
	if p, ok := tw.parts[path]; ok {
		return p, nil
	}
	p := &partWriter{path: path, values: values}
	tw.parts[path] = p
	tw.order = append(tw.order, p)
	return p, nil
}

func partitionValue(col arrow.Array, i int) (string, bool, error) {
	if col.IsNull(i) {
		return "", true, nil
	}
	switch a := col.(type) {
	case *array.String:
		return a.Value(i), false, nil
	case *array.LargeString:
		return a.Value(i), false, nil
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10), false, nil
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10), false, nil
	case *array.Date32:
		return a.Value(i).ToTime().Format(time.DateOnly), false, nil
	}
	return "", false, fmt.Errorf("unsupported partition type %s", col.DataType())
}

// samePartition reports whether rows i and j have equal partition values.
func samePartition(pcols []arrow.Array, i, j int) bool {
	for _, col := range pcols {
		ni, nj := col.IsNull(i), col.IsNull(j)
		if ni || nj {
			if ni != nj {
				return false
			}
			continue
		}
		switch a := col.(type) {
		case *array.String:
			if a.Value(i) != a.Value(j) {
				return false
			}
		case *array.Int32:
			if a.Value(i) != a.Value(j) {
				return false
			}
		case *array.Int64:
			if a.Value(i) != a.Value(j) {
				return false
			}
		case *array.Date32:
			if a.Value(i) != a.Value(j) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// SanitizeBatchID turns a batch id into a file-name-safe token: letters,
// digits, '.', '_' and '-' are kept, anything else becomes '_'. When that
// changes the id (or it is longer than 80 bytes) a short hash of the
// original is appended, so distinct ids never map to the same name.
func SanitizeBatchID(id string) string {
	var sb strings.Builder
	changed := false
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
			sb.WriteByte(c)
		default:
			sb.WriteByte('_')
			changed = true
		}
	}
	out := sb.String()
	if len(out) > 80 {
		out, changed = out[:80], true
	}
	if changed {
		sum := sha256.Sum256([]byte(id))
		out += "-" + hex.EncodeToString(sum[:4])
	}
	return out
}
