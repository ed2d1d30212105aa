package icebergcat

import (
	"context"
	"errors"
	"io/fs"
	"testing"
)

// TestStoreIOKey maps the URIs iceberg-go hands the file IO back to store
// keys: raw, escaped by iceberg-go (a warehouse folder with a space), the
// one-slash file: spelling, and refuses what is outside the warehouse.
func TestStoreIOKey(t *testing.T) {
	s := &storeIO{ctx: context.Background(), root: "file:///tmp/a b/wh"}
	cases := []struct {
		name, want string
	}{
		{"file:///tmp/a b/wh/iceberg/archtics/cust/metadata/v1.metadata.json", "iceberg/archtics/cust/metadata/v1.metadata.json"},
		{"file:///tmp/a%20b/wh/iceberg/archtics/cust/metadata/snap-1.avro", "iceberg/archtics/cust/metadata/snap-1.avro"},
		{"file:/tmp/a b/wh/iceberg/x.avro", "iceberg/x.avro"},
		{"file:///tmp/a b/wh/archtics/cust/team=a%20b/part-1.parquet", "archtics/cust/team=a%20b/part-1.parquet"},
		{"file:///tmp/other/wh/iceberg/x.avro", ""},
		{"file:///tmp/a%20b/wh/../../etc/passwd", ""},
		{"s3://bucket/wh/iceberg/x.avro", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.key(tc.name)
			if tc.want == "" {
				if err == nil || !errors.Is(err, fs.ErrInvalid) {
					t.Fatalf("key(%q) = %q, %v; want refused", tc.name, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("key(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
			}
		})
	}
}
