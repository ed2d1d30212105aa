package icebergcat

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// TestDeleteFile: a position-delete file written a batch at a time holds
// every row in the order given, its columns carrying Iceberg's reserved
// field ids (readers find file_path and pos by them) as INT64 pos.
func TestDeleteFile(t *testing.T) {
	for _, n := range []int{1, deleteBatchRows, 2*deleteBatchRows + 17} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			d, err := newDeleteFile()
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				if err := d.add(fmt.Sprintf("s3://b/archtics/cust/team=nhl/part-%03d.parquet", i/50000), int64(i%50000)); err != nil {
					t.Fatal(err)
				}
			}
			if d.rows != int64(n) {
				t.Fatalf("%d rows counted, want %d", d.rows, n)
			}
			data, err := d.finish()
			if err != nil {
				t.Fatal(err)
			}
			pf, err := file.NewParquetReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			sc := pf.MetaData().Schema
			for i, want := range []int32{deleteFilePathID, deletePosID} {
				if got := sc.Column(i).SchemaNode().FieldID(); got != want {
					t.Errorf("column %d has field id %d, want %d", i, got, want)
				}
			}
			if typ := sc.Column(1).PhysicalType().String(); typ != "INT64" {
				t.Errorf("pos is %s, want INT64", typ)
			}
			fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
			if err != nil {
				t.Fatal(err)
			}
			tbl, err := fr.ReadTable(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer tbl.Release()
			if tbl.NumRows() != int64(n) {
				t.Fatalf("%d rows read, want %d", tbl.NumRows(), n)
			}
			i := 0
			for _, c := range tbl.Column(1).Data().Chunks() {
				for _, v := range c.(*array.Int64).Int64Values() {
					if v != int64(i%50000) {
						t.Fatalf("row %d: pos %d, want %d", i, v, i%50000)
					}
					i++
				}
			}
		})
	}
}
