package icebergcat

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog/hadoop"
	"github.com/apache/iceberg-go/table"

	"archtics/ats"
	"archtics/icebergcat/layout"
	"archtics/pipeline"
	"archtics/pipeline/pipelinetest"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/simulator"
	"archtics/simulator/simtest"
	"archtics/stages/changes"
	"archtics/stages/clone"
	"archtics/stages/realtime"
	"archtics/storage"
	"archtics/storage/file"
	"archtics/storage/storagetest"
)

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// simWarehouse is a simulated client's warehouse with its change API and
// scan feed on a drivable clock.
type simWarehouse struct {
	w     *pipeline.Warehouse
	world *simulator.World
	clock *simulator.SimClock
	cli   *ats.Client
	cache string
	teams []string
}

func smallWorld() simulator.Config {
	cfg := simulator.SmallConfig()
	cfg.Accounts = 300
	cfg.EventsPerSeason = 4
	cfg.TicketsPerEvent = 40
	cfg.MergeRate = 0.6
	cfg.DuplicateRate = 0.2
	cfg.DaysAfterCutoff = 4
	return cfg
}

// newSimWarehouse writes cfg's dump and loads every team into a warehouse
// at location ("" a temporary folder).
func newSimWarehouse(t *testing.T, cfg simulator.Config, location string) *simWarehouse {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := simulator.WriteDump(ctx, cfg, simulator.DirDest(filepath.Join(dir, "dump")), nil); err != nil {
		t.Fatal(err)
	}
	src, err := file.New(filepath.Join(dir, "dump"))
	if err != nil {
		t.Fatal(err)
	}
	dump, err := clone.OpenDump(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if location == "" {
		location = filepath.Join(dir, "warehouse")
	}
	w, err := pipelinetest.Open(ctx, location, quietLogger)
	if err != nil {
		t.Fatal(err)
	}
	for _, team := range dump.Teams() {
		if _, err := clone.LoadDump(ctx, w, dump, team, nil); err != nil {
			t.Fatalf("load %s: %v", team, err)
		}
	}
	s := simtest.Serve(t, cfg)
	return &simWarehouse{w: w, world: s.World, clock: s.Clock, cli: s.Client, cache: filepath.Join(dir, "cache"), teams: dump.Teams()}
}

func (s *simWarehouse) incremental(t *testing.T, team string, step time.Duration) {
	t.Helper()
	s.clock.Set(s.clock.Now().Add(step))
	opts := clone.IncrementalOptions{Pull: changes.Options{Location: s.world.Location(), PageSize: 97}, Logger: quietLogger}
	if _, err := clone.Incremental(context.Background(), s.w, s.cli, team, opts); err != nil {
		t.Fatalf("incremental %s: %v", team, err)
	}
}

func (s *simWarehouse) tick(t *testing.T, team string, at time.Time) {
	t.Helper()
	s.clock.Set(at)
	var events []realtime.SelectedEvent
	loc := s.world.Location()
	for _, e := range s.world.SelectedEvents(team, at, nil) {
		l := e.Start.In(loc)
		events = append(events, realtime.SelectedEvent{Team: team, EventID: e.EventID, Name: e.Name,
			Date: time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC), Start: e.Start})
	}
	if len(events) == 0 {
		t.Fatalf("no event selected for %s at %s", team, at)
	}
	opts := realtime.TickOptions{Logger: quietLogger, CacheDir: s.cache}
	rep, err := realtime.Tick(context.Background(), s.w, s.cli, team, at, events, opts)
	if err != nil {
		t.Fatalf("tick %s at %s: %v", team, at, err)
	}
	t.Logf("tick %s at %s: %d events (first at %s), %d pulled, %d kept", team, at, len(events), events[0].Start, rep.Pulled, rep.Kept)
}

func publish(t *testing.T, w *pipeline.Warehouse, opt Options) []TableResult {
	t.Helper()
	opt = withViews(opt)
	if opt.CacheDir == "" {
		opt.CacheDir = t.TempDir()
	}
	res, err := Publish(context.Background(), w.Log, opt)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return res
}

// withViews gives opt the DuckDB reader of the current state's rows, as
// archtics-iceberg does.
func withViews(opt Options) Options {
	if opt.CurrentStateOut == nil {
		opt.CurrentStateOut = views.CurrentStateOut
	}
	return opt
}

// testLocations is a fresh local folder, and a fresh S3 prefix when an
// endpoint is configured (make test always configures one).
func testLocations(t *testing.T) map[string]string {
	locs := map[string]string{"file": ""}
	if storagetest.HaveS3() {
		locs["s3"] = storagetest.S3Location(t, "iceberg")
	} else {
		t.Log("S3 case skipped: " + storagetest.S3Skip)
	}
	return locs
}

// TestIcebergRoundTrip builds a warehouse through a dump load, two
// incrementals, a compaction, realtime ticks and an expiry, publishing
// after each, then reads every snapshot of every table back with
// iceberg-go's scanner and compares it with our state at the commit it
// records: the same files and rows. Deleting iceberg/ and rebuilding gives
// the same snapshots.
func TestIcebergRoundTrip(t *testing.T) {
	for name, location := range testLocations(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testIcebergRoundTrip(t, location)
		})
	}
}

func testIcebergRoundTrip(t *testing.T, location string) {
	ctx := context.Background()
	s := newSimWarehouse(t, smallWorld(), location)
	team := s.teams[0]
	publish(t, s.w, Options{}) // after the dump load

	s.incremental(t, team, 3*time.Hour)
	publish(t, s.w, Options{Tables: []string{schemas.Ticket.FullName()}}) // one table only: the others catch up later
	s.incremental(t, team, 30*time.Hour)
	if _, err := clone.Compact(ctx, s.w, team, clone.CompactOptions{CacheDir: s.cache}); err != nil {
		t.Fatalf("compact: %v", err)
	}
	publish(t, s.w, Options{FlushEvery: 1})

	loc := s.world.Location()
	cut := s.world.Cutoff().In(loc)
	sel := s.world.SelectedEvents(team, time.Date(cut.Year(), cut.Month(), cut.Day()+3, 12, 0, 0, 0, loc), nil)
	if len(sel) == 0 {
		t.Fatal("no game selected three days after the cutoff")
	}
	day := sel[0].Start
	for i := 0; i < 3; i++ {
		s.tick(t, team, day.Add(time.Duration(i)*15*time.Minute))
	}
	publish(t, s.w, Options{})
	e, err := realtime.Expire(ctx, s.w, team, day.Add(9*24*time.Hour), 0)
	if err != nil || e.Commit == nil {
		t.Fatalf("expire: %+v, %v; want the game day retired", e, err)
	}
	res := publish(t, s.w, Options{})
	// The expiry retired every scan: the snapshot that publishes it lists
	// the empty file, so readers that want a data file read no rows.
	raw, _, err := Table(ctx, s.w.Store, schemas.RTXAttendanceRaw)
	if err != nil {
		t.Fatal(err)
	}
	if cur := raw.CurrentSnapshot(); cur == nil || cur.Summary.Properties[SummaryEmptyFile] == "" || cur.Summary.Properties[SummaryStage] == "" {
		t.Errorf("archtics_rtx.attendance_raw after the expiry of its only day: current snapshot %+v, want the expiry's, listing the empty file", cur)
	}

	published := map[string]bool{}
	for _, r := range res {
		published[r.Table] = true
		if _, ok := schemas.CurrentOf(mustLookupSQL(t, r.Table)); ok {
			continue // checked in TestIcebergCurrentState
		}
		if r.Snapshots != 0 && !strings.HasPrefix(r.Table, "archtics_rtx.") {
			t.Errorf("%s: %d snapshots added by the last publish, which only follows the expiry", r.Table, r.Snapshots)
		}
	}
	streams, err := s.w.Streams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tables := layout.StoredTables(s.w.Tables, streams)
	for _, tbl := range tables {
		if !published[tbl.SQLName()] {
			t.Errorf("%s: not published", tbl.SQLName())
		}
	}
	// The scanner reads every snapshot's rows from a local folder; on S3
	// (moto is slow) the files and counts of every snapshot's manifests.
	local := location == ""
	before := checkEverySnapshot(t, s.w, tables, local, true)
	for _, want := range []string{schemas.Ticket.FullName(), "archtics_changes.ticket", "archtics_rtx.attendance_raw"} {
		if before[want] < 2 {
			t.Errorf("%s: %d snapshots, want the whole history", want, before[want])
		}
	}

	if local {
		checkDuckDBReadsPlannedFiles(t, s.w, tables)
		checkHadoopCatalogReads(t, s.w, tables, before)
	}

	// A publish with nothing new writes nothing (the current-state
	// tables included: their files did not change).
	for _, r := range publish(t, s.w, Options{}) {
		if r.Snapshots != 0 {
			t.Errorf("%s: a second publish added %d snapshots", r.Table, r.Snapshots)
		}
	}

	// Rebuild after losing every Iceberg object: the same snapshots.
	deletePrefix(t, s.w, layout.Prefix)
	publish(t, s.w, Options{Rebuild: true})
	if after := checkEverySnapshot(t, s.w, tables, false, true); !equalCounts(before, after) {
		t.Errorf("snapshots per table after the rebuild %v, before %v", after, before)
	}
	if !local {
		return
	}
	// Rebuild over existing metadata: the next version, same snapshots.
	publish(t, s.w, Options{Rebuild: true})
	if after := checkEverySnapshot(t, s.w, tables, false, true); !equalCounts(before, after) {
		t.Errorf("snapshots per table after the second rebuild %v, before %v", after, before)
	}
}

// mustLookupSQL finds a published table by its SQL name.
func mustLookupSQL(t *testing.T, name string) *schemas.Table {
	t.Helper()
	for _, tbl := range layout.PublishedTables(nil, nil) {
		if tbl.SQLName() == name {
			return tbl
		}
	}
	for _, tbl := range schemas.All {
		if tbl.SQLName() == name {
			return tbl
		}
	}
	t.Fatalf("no published table is named %s", name)
	return nil
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func deletePrefix(t *testing.T, w *pipeline.Warehouse, prefix string) {
	t.Helper()
	ctx := context.Background()
	var keys []string
	if err := w.Store.List(ctx, prefix, "", func(o storage.ObjectInfo) error { keys = append(keys, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		t.Fatalf("nothing under %s to delete", prefix)
	}
	for _, k := range keys {
		if err := w.Store.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
}

// checkEverySnapshot compares every snapshot of every table with our
// state at the commits it records and returns the snapshots per table.
// No commit is published twice; when complete, every commit that touched
// a table is exactly one snapshot; scan reads every snapshot's rows through
// iceberg-go's scanner.
func checkEverySnapshot(t *testing.T, w *pipeline.Warehouse, tables []*schemas.Table, scan, complete bool) map[string]int {
	t.Helper()
	ctx := context.Background()
	root := layout.RootURI(w.Store)
	counts := map[string]int{}
	// Our commits per table, oldest first per stream.
	touching := map[string]map[string]bool{} // table → "stream@seq"
	ids := map[string]string{}               // "stream@seq" → commit id
	if err := w.Commits(ctx, txlog.LogQuery{}, func(c *txlog.Commit) error {
		at := c.Stream + "@" + strconv.FormatInt(c.Seq, 10)
		ids[at] = c.CommitID
		for _, tbl := range tables {
			if c.Touches(tbl.FullName()) {
				if touching[tbl.FullName()] == nil {
					touching[tbl.FullName()] = map[string]bool{}
				}
				touching[tbl.FullName()][at] = true
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	states := map[string]*txlog.StreamState{}
	stateAt := func(stream string, seq int64) *txlog.StreamState {
		at := stream + "@" + strconv.FormatInt(seq, 10)
		if st, ok := states[at]; ok {
			return st
		}
		st, err := w.At(txlog.AsOf{Stream: stream, Seq: seq}).Stream(ctx, stream)
		if err != nil {
			t.Fatalf("open %s: %v", at, err)
		}
		states[at] = st
		return st
	}
	for _, tbl := range tables {
		name := tbl.FullName()
		it, _, err := Table(ctx, w.Store, tbl)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		snaps := it.Metadata().Snapshots()
		counts[name] = commitSnapshots(snaps)
		seen := map[string]bool{}
		for i, snap := range snaps {
			props := snap.Summary.Properties
			if isPlaceholder(snap) {
				// An empty table's snapshot: the empty file alone.
				checkEmptySnapshot(t, it, snap, name, i)
				continue
			}
			at := props[SummaryStream] + "@" + props[SummarySeq]
			if !touching[name][at] || seen[at] {
				t.Errorf("%s snapshot %d names commit %s, which did not touch the table or is published twice", name, i, at)
			}
			seen[at] = true
			if ids[at] != props[SummaryCommitID] {
				t.Errorf("%s snapshot %d: commit id %s, the log says %s for %s", name, i, props[SummaryCommitID], ids[at], at)
			}
			if i > 0 && (snap.ParentSnapshotID == nil || *snap.ParentSnapshotID != snaps[i-1].SnapshotID) {
				t.Errorf("%s snapshot %d does not follow snapshot %d", name, i, i-1)
			}
			positions, err := PositionsOf(&snap)
			if err != nil {
				t.Fatal(err)
			}
			// Our state at that point: every owning stream at its position.
			want := map[string]int64{}
			wantPart := map[string]string{}
			for stream, seq := range positions {
				for _, e := range stateAt(stream, seq).TableFiles(name) {
					want[root+"/"+e.Key] = e.Rows
					wantPart[root+"/"+e.Key] = partitionText(tbl, e.Partition)
				}
			}
			sc := it.Scan(table.WithSnapshotID(snap.SnapshotID))
			tasks, err := sc.PlanFiles(ctx)
			if err != nil {
				t.Fatalf("%s snapshot %d: plan: %v", name, i, err)
			}
			got := map[string]int64{}
			var wantRows int64
			for _, r := range want {
				wantRows += r
			}
			for _, task := range tasks {
				got[task.File.FilePath()] = task.File.Count()
				if p := taskPartition(tbl, it, task); p != wantPart[task.File.FilePath()] {
					t.Errorf("%s snapshot %d: %s has partition %s, its path says %s", name, i, task.File.FilePath(), p, wantPart[task.File.FilePath()])
				}
			}
			if diff := diffFiles(want, got); diff != "" {
				t.Errorf("%s snapshot %d (%s): files differ from our state at %v:\n%s", name, i, at, positions, diff)
			}
			if !scan {
				continue
			}
			_, records, err := sc.ToArrowRecords(ctx)
			if err != nil {
				t.Fatalf("%s snapshot %d: scan: %v", name, i, err)
			}
			var rows int64
			for rec, err := range records {
				if err != nil {
					t.Fatalf("%s snapshot %d: scan: %v", name, i, err)
				}
				rows += rec.NumRows()
				rec.Release()
			}
			if rows != wantRows {
				t.Errorf("%s snapshot %d (%s): the scanner reads %d rows, our state at %v holds %d", name, i, at, rows, positions, wantRows)
			}
		}
		if complete && len(seen) != len(touching[name]) {
			t.Errorf("%s: %d snapshots for %d commits that touched it", name, len(seen), len(touching[name]))
		}
	}
	return counts
}

// commitSnapshots counts the snapshots that publish a commit (not an
// empty table's).
func commitSnapshots(snaps []table.Snapshot) int {
	n := 0
	for _, s := range snaps {
		if !isPlaceholder(s) {
			n++
		}
	}
	return n
}

// isPlaceholder says whether a snapshot is an empty table's, which
// publishes no commit (a commit that retires a table's last files also
// lists the empty file, and names its commit).
func isPlaceholder(s table.Snapshot) bool {
	return s.Summary != nil && s.Summary.Properties[SummaryEmptyFile] != "" && s.Summary.Properties[SummaryStream] == ""
}

// checkEmptySnapshot: an empty table's snapshot lists one file, of no rows,
// which the scanner reads as none.
func checkEmptySnapshot(t *testing.T, it *table.Table, snap table.Snapshot, name string, i int) {
	t.Helper()
	ctx := context.Background()
	sc := it.Scan(table.WithSnapshotID(snap.SnapshotID))
	tasks, err := sc.PlanFiles(ctx)
	if err != nil {
		t.Fatalf("%s snapshot %d: plan: %v", name, i, err)
	}
	// iceberg-go plans no task for a file of no rows; other readers read it.
	for _, task := range tasks {
		if task.File.Count() != 0 || !strings.HasSuffix(task.File.FilePath(), snap.Summary.Properties[SummaryEmptyFile]) {
			t.Fatalf("%s snapshot %d: an empty table's snapshot plans %s (%d rows), want only its empty file %s", name, i, task.File.FilePath(), task.File.Count(), snap.Summary.Properties[SummaryEmptyFile])
		}
	}
	_, records, err := sc.ToArrowRecords(ctx)
	if err != nil {
		t.Fatalf("%s snapshot %d: scan: %v", name, i, err)
	}
	for rec, err := range records {
		if err != nil {
			t.Fatalf("%s snapshot %d: scan: %v", name, i, err)
		}
		if rec.NumRows() != 0 {
			t.Errorf("%s snapshot %d: the empty file has %d rows", name, i, rec.NumRows())
		}
		rec.Release()
	}
}

func diffFiles(want, got map[string]int64) string {
	var out []string
	for k, r := range want {
		if g, ok := got[k]; !ok {
			out = append(out, "  missing "+k)
		} else if g != r {
			out = append(out, "  "+k+": rows "+strconv.FormatInt(g, 10)+", want "+strconv.FormatInt(r, 10))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			out = append(out, "  extra   "+k)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// partitionText renders a committed file's partition values in the
// table's partition order.
func partitionText(tbl *schemas.Table, p map[string]string) string {
	var out []string
	for _, c := range tbl.PartitionBy {
		out = append(out, c+"="+p[c])
	}
	return strings.Join(out, "/")
}

// taskPartition renders a planned file's Iceberg partition tuple the same
// way (dates as YYYY-MM-DD).
func taskPartition(_ *schemas.Table, it *table.Table, task table.FileScanTask) string {
	part := task.File.Partition()
	var out []string
	spec := it.Spec()
	for _, f := range spec.Fields() {
		v := part[f.FieldID]
		text := fmt.Sprint(v)
		if d, ok := v.(iceberg.Date); ok {
			text = time.Unix(int64(d)*86400, 0).UTC().Format(time.DateOnly)
		}
		out = append(out, f.Name+"="+text)
	}
	return strings.Join(out, "/")
}

// checkDuckDBReadsPlannedFiles: an engine without Iceberg support (this
// DuckDB has no iceberg extension, so no iceberg_scan) reads the current
// snapshot's planned files with plain read_parquet and finds every row
// the manifests count: the file list is all a reader needs.
func checkDuckDBReadsPlannedFiles(t *testing.T, w *pipeline.Warehouse, tables []*schemas.Table) {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checked := 0
	for _, tbl := range tables {
		it, _, err := Table(ctx, w.Store, tbl)
		if err != nil {
			t.Fatal(err)
		}
		tasks, err := it.Scan().PlanFiles(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(tasks) == 0 {
			continue
		}
		var paths []string
		var want int64
		for _, task := range tasks {
			p, ok := strings.CutPrefix(task.File.FilePath(), "file://")
			if !ok {
				t.Fatalf("%s: %s is not a local file URI", tbl.FullName(), task.File.FilePath())
			}
			paths = append(paths, schemas.QuoteString(p))
			want += task.File.Count()
		}
		var got int64
		q := "SELECT count(*) FROM read_parquet([" + strings.Join(paths, ", ") + "])"
		if err := db.QueryRowContext(ctx, q).Scan(&got); err != nil {
			t.Fatalf("%s: %v", tbl.FullName(), err)
		}
		if got != want {
			t.Errorf("%s: DuckDB reads %d rows from the current snapshot's files, the manifests count %d", tbl.FullName(), got, want)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no table has files: DuckDB compared nothing")
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM duckdb_functions() WHERE function_name = 'iceberg_scan'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	t.Logf("DuckDB read %d tables' current snapshots by file list (iceberg_scan available: %v)", checked, n > 0)
}

// checkHadoopCatalogReads: iceberg-go's own Hadoop catalog, pointed at
// <warehouse>/iceberg, finds every table at its newest version with every
// snapshot (the layout Spark's hadoop catalog reads).
func checkHadoopCatalogReads(t *testing.T, w *pipeline.Warehouse, tables []*schemas.Table, snapshots map[string]int) {
	t.Helper()
	ctx := context.Background()
	cat, err := hadoop.NewCatalog("archtics", layout.RootURI(w.Store)+"/iceberg", iceberg.Properties{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tbl := range tables {
		ht, err := cat.LoadTable(ctx, table.Identifier{tbl.SQLSchema(), tbl.Name})
		if err != nil {
			t.Fatalf("the Hadoop catalog cannot load %s: %v", tbl.FullName(), err)
		}
		_, loc, err := Table(ctx, w.Store, tbl)
		if err != nil {
			t.Fatal(err)
		}
		if got := commitSnapshots(ht.Metadata().Snapshots()); got != snapshots[tbl.FullName()] || !strings.HasSuffix(loc, strings.TrimPrefix(ht.MetadataLocation(), "file://")) {
			t.Errorf("the Hadoop catalog reads %s at %s with %d snapshots; published: %s with %d", tbl.FullName(), ht.MetadataLocation(), got, loc, snapshots[tbl.FullName()])
		}
	}
}
