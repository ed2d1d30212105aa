package icebergcat

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/storage/file"
)

// BenchmarkCurrentStateDeletes times what publishing a current-state
// table costs beyond its metadata: DuckDB ranking every version of every
// key over the table's files to find the rows the position deletes drop
// (deletes), beside DuckDB answering count(*) over the product's view of
// the same files (view, the baseline: what a query of archtics.<t> costs),
// on the bench-scale warehouse (ARCHTICS_BENCH_WAREHOUSE).
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
		b.Run(t.Name+"/view", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := countView(ctx, db, t); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows), "rows")
		})
		db.Close()
	}
}

func countView(ctx context.Context, db *sql.DB, t *schemas.Table) error {
	var n int64
	return db.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT * FROM "+schemas.Current(t).SQLName()+")").Scan(&n)
}
