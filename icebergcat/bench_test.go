package icebergcat

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/storage/file"
)

// BenchmarkCurrentStateDeletes times what publishing a current-state
// table costs beyond its metadata: DuckDB finding the rows of the table's
// files that the position deletes drop (deletes: the files cached, the
// changed keys ranked), beside DuckDB alone reading the key columns of the
// same files once (scan, the baseline), on the bench-scale warehouse
// (ARCHTICS_BENCH_WAREHOUSE; any warehouse folder, one with changes too).
func BenchmarkCurrentStateDeletes(b *testing.B) {
	src := os.Getenv("ARCHTICS_BENCH_WAREHOUSE")
	if src == "" {
		b.Skip("set ARCHTICS_BENCH_WAREHOUSE to a bench-scale warehouse (make bench-data builds ./bench-data/warehouse; make bench sets it)")
	}
	if _, err := os.Stat(filepath.Join(src, "_log")); err != nil {
		b.Skipf("ARCHTICS_BENCH_WAREHOUSE=%s is not a warehouse folder (no _log): run make bench-data", src)
	}
	ctx := context.Background()
	store, err := file.New(src)
	if err != nil {
		b.Fatal(err)
	}
	w := txlog.New(store, quietLogger)
	cache := b.TempDir()
	for _, t := range []*schemas.Table{schemas.Cust, schemas.Ticket} {
		st, err := w.StateOf(ctx, schemas.CurrentParts(t)...)
		if err != nil {
			b.Fatal(err)
		}
		db, err := views.OpenDuckDB(ctx, "", w, cache, schemas.Current(t))
		if err != nil {
			b.Fatal(err)
		}
		var rows int64
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+schemas.Current(t).SQLName()).Scan(&rows); err != nil {
			b.Fatal(err)
		}
		b.Run(t.Name+"/deletes", func(b *testing.B) {
			var out int64
			for i := 0; i < b.N; i++ {
				out = 0
				err := views.CurrentStateOut(ctx, w, cache, st, t, func(string, string, int64) error { out++; return nil })
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows), "rows")
			b.ReportMetric(float64(out), "rows-out")
		})
		local, err := views.MaterializeAt(ctx, w, cache, st, schemas.CurrentParts(t)...)
		if err != nil {
			b.Fatal(err)
		}
		var scans []string
		for _, p := range schemas.CurrentParts(t) {
			if files := local[p.FullName()]; len(files) > 0 {
				scans = append(scans, "SELECT "+strings.Join(t.Key, ", ")+" FROM ("+p.ReadParquetSQL(files)+")")
			}
		}
		scan := "SELECT count(*), sum(hash(" + strings.Join(t.Key, ", ") + ")) FROM (" + strings.Join(scans, " UNION ALL ") + ")"
		b.Run(t.Name+"/scan", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var n, h any
				if err := db.QueryRowContext(ctx, scan).Scan(&n, &h); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows), "rows")
		})
		db.Close()
	}
}
