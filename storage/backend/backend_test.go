package backend

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	dir := t.TempDir()
	t.Chdir(dir)
	cases := []struct {
		location string
		wantURL  string // "" when an error is expected
		wantErr  string
	}{
		{location: "s3://bucket/some/prefix", wantURL: "s3://bucket/some/prefix"},
		{location: "s3://bucket", wantURL: "s3://bucket/"},
		{location: "S3://bucket/p/", wantURL: "s3://bucket/p"},
		{location: "file://" + filepath.Join(dir, "wh"), wantURL: filepath.Join(dir, "wh")},
		{location: "file://localhost" + filepath.Join(dir, "wh2"), wantURL: filepath.Join(dir, "wh2")},
		{location: filepath.Join(dir, "abs"), wantURL: filepath.Join(dir, "abs")},
		{location: "rel/warehouse", wantURL: filepath.Join(dir, "rel", "warehouse")},
		{location: "", wantErr: "empty location"},
		{location: "s3:///prefix", wantErr: "missing bucket"},
		{location: "gs://bucket/p", wantErr: `unsupported scheme "gs"; supported: s3://`},
		{location: "file://host/x", wantErr: "file:///absolute/path"},
	}
	for _, c := range cases {
		t.Run(c.location, func(t *testing.T) {
			s, err := Open(context.Background(), c.location)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("Open(%q) err = %v, want it to contain %q", c.location, err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", c.location, err)
			}
			if s.URL() != c.wantURL {
				t.Errorf("Open(%q).URL() = %q, want %q", c.location, s.URL(), c.wantURL)
			}
		})
	}
}
