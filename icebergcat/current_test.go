package icebergcat

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go/table"

	"archtics/icebergcat/layout"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/stages/clone"
	"archtics/storage/storagetest"
)

// TestIcebergCurrentState: the Iceberg table archtics.<t> holds, read by
// iceberg-go's scanner with its position deletes applied, exactly the rows
// of the product's view archtics.<t> (which the clone's tests hold equal to
// the simulator's truth), after the dump load, incrementals whose sweeps
// find deletions and account merges, a compaction and more incrementals.
func TestIcebergCurrentState(t *testing.T) {
	for name, location := range testLocations(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := newSimWarehouse(t, smallWorld(), location)
			team := s.teams[0]
			opt := Options{CacheDir: s.cache}
			publish(t, s.w, opt)
			checkCurrentState(t, s, "after the dump load")

			s.incremental(t, team, 3*time.Hour)
			s.incremental(t, team, 30*time.Hour)
			publish(t, s.w, opt)
			deletes := checkCurrentState(t, s, "after two incrementals")
			if deletes == 0 {
				t.Error("two incrementals with merges and deletions left no position delete: the test checks nothing of them")
			}
			if _, err := clone.Compact(ctx, s.w, team, clone.CompactOptions{CacheDir: s.cache}); err != nil {
				t.Fatalf("compact: %v", err)
			}
			publish(t, s.w, opt)
			checkCurrentState(t, s, "after the compaction")
			s.incremental(t, team, 5*time.Hour)
			publish(t, s.w, opt)
			checkCurrentState(t, s, "after an incremental over the compaction")

			// Nothing new: no table is written again.
			for _, r := range publish(t, s.w, opt) {
				if r.Snapshots != 0 {
					t.Errorf("%s: a publish with nothing new added %d snapshots", r.Table, r.Snapshots)
				}
			}

			// A warehouse published by an older publisher has the dump's
			// table under iceberg/archtics/cust: its next version is the
			// current state, the UUID kept for engines that registered it.
			cur := schemas.Current(schemas.Cust)
			v, err := layout.CurrentVersion(ctx, s.w.Store, cur)
			if err != nil {
				t.Fatal(err)
			}
			dumpMeta := storagetest.ReadObject(t, s.w.Store, layout.MetadataKey(schemas.Cust, 1))
			if _, err := s.w.Store.PutIfAbsent(ctx, layout.MetadataKey(cur, v+1), bytes.NewReader(dumpMeta), int64(len(dumpMeta))); err != nil {
				t.Fatal(err)
			}
			legacy, _, err := Table(ctx, s.w.Store, cur)
			if err != nil || legacy.Properties()[propTable] != schemas.Cust.FullName() {
				t.Fatalf("the legacy metadata is not in place: %v", err)
			}
			publish(t, s.w, opt)
			checkCurrentState(t, s, "over the dump's metadata of an older publisher")
			now, _, err := Table(ctx, s.w.Store, cur)
			if err != nil {
				t.Fatal(err)
			}
			if now.Metadata().TableUUID() != legacy.Metadata().TableUUID() {
				t.Errorf("archtics.cust's UUID changed from %s to %s", legacy.Metadata().TableUUID(), now.Metadata().TableUUID())
			}
		})
	}
}

// checkCurrentState compares every current-state table with the product's
// view and returns how many rows the position deletes drop.
func checkCurrentState(t *testing.T, s *simWarehouse, when string) int64 {
	t.Helper()
	ctx := context.Background()
	var currents []*schemas.Table
	for _, src := range schemas.SourceTables {
		currents = append(currents, schemas.Current(src))
	}
	db, err := views.OpenDuckDB(ctx, "", s.w.Log, s.cache, currents...)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var dropped int64
	for _, cur := range currents {
		it, loc, err := Table(ctx, s.w.Store, cur)
		if err != nil {
			t.Fatalf("%s %s: %v", cur.SQLName(), when, err)
		}
		if !strings.Contains(loc, "/iceberg/archtics/"+cur.Name+"/metadata/") || it.Properties()[propTable] != cur.FullName() {
			t.Errorf("%s: published at %s for %s, want iceberg/archtics/%s for %s", cur.SQLName(), loc, it.Properties()[propTable], cur.Name, cur.FullName())
		}
		if n := len(it.Metadata().Snapshots()); n != 1 {
			t.Errorf("%s %s: %d snapshots, want the one of the last publish", cur.SQLName(), when, n)
		}
		snap := it.CurrentSnapshot()
		if snap == nil {
			t.Fatalf("%s %s: no current snapshot", cur.SQLName(), when)
		}
		if n, ok := snap.Summary.Properties["total-position-deletes"]; ok {
			var k int64
			fmt.Sscan(n, &k)
			dropped += k
		}
		path := filepath.Join(t.TempDir(), cur.Name+".parquet")
		rows := scanToParquet(t, it, path)
		var want, missing, extra int64
		q := fmt.Sprintf(`SELECT (SELECT count(*) FROM %[1]s),
			(SELECT count(*) FROM (SELECT * FROM %[1]s EXCEPT ALL SELECT * FROM read_parquet(%[2]s))),
			(SELECT count(*) FROM (SELECT * FROM read_parquet(%[2]s) EXCEPT ALL SELECT * FROM %[1]s))`, cur.SQLName(), schemas.QuoteString(path))
		if err := db.QueryRowContext(ctx, q).Scan(&want, &missing, &extra); err != nil {
			t.Fatalf("%s %s: %v", cur.SQLName(), when, err)
		}
		if want == 0 {
			t.Errorf("%s %s: the product's view is empty: nothing compared", cur.SQLName(), when)
		}
		if rows != want || missing != 0 || extra != 0 {
			t.Errorf("%s %s: Iceberg reads %d rows, the product %d: %d of the product's missing, %d extra", cur.SQLName(), when, rows, want, missing, extra)
		}
	}
	t.Logf("%s: the current-state tables equal the product's views; their position deletes drop %d rows", when, dropped)
	return dropped
}

// scanToParquet reads an Iceberg table's current snapshot with iceberg-go's
// scanner and writes its rows to a Parquet file, for DuckDB to compare.
func scanToParquet(t *testing.T, it *table.Table, path string) int64 {
	t.Helper()
	ctx := context.Background()
	sc, records, err := it.Scan().ToArrowRecords(ctx)
	if err != nil {
		t.Fatalf("scan %s: %v", path, err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fw, err := pqarrow.NewFileWriter(sc, f, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	for rec, err := range records {
		if err != nil {
			t.Fatalf("scan %s: %v", path, err)
		}
		rows += rec.NumRows()
		if err := fw.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return rows
}
