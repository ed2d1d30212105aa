package views

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestGuardPaths(t *testing.T) {
	dir := t.TempDir()
	wh, other := filepath.Join(dir, "wh"), filepath.Join(dir, "other")
	for _, d := range []string{filepath.Join(wh, "a", "b"), other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(wh, "a", "b"), filepath.Join(other, "in")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(wh, filepath.Join(dir, "whlink")); err != nil {
		t.Fatal(err)
	}
	g := SQLGuard{Root: resolvePath(filepath.Join(dir, "whlink"))}
	for _, tc := range []struct {
		path   string
		inside bool
	}{
		{filepath.Join(wh, "x.csv"), true},
		{wh, true},
		{filepath.Join(other, "x.csv"), false},
		{filepath.Join(other, "in", "x.csv"), true},
		{other + "/in/../x.csv", true},          // in/.. is wh/a
		{other + "/in/../../../other/x", false}, // back out
		{other + "/../wh/new/dir/x", true},
		{wh + "x/y", false}, // a sibling whose name starts like it
		{"file://" + wh + "/x", true},
		{"s3://bucket/x", false},
		{":memory:", false},
	} {
		if got := g.inside(tc.path); got != tc.inside {
			t.Errorf("inside(%q) = %v, want %v", tc.path, got, tc.inside)
		}
	}
	for _, tc := range []struct {
		sql  string
		want []string
	}{
		{"COPY t TO 'a.csv' (FORMAT csv)", []string{"a.csv"}},
		{`COPY t TO "b c.csv"`, []string{"b c.csv"}},
		{"COPY t TO 'it''s.csv'", []string{"it's.csv"}},
		{"COPY t TO E'x\\'y'", []string{"x'y"}},
		{"COPY t TO $$d.csv$$ -- 'not this'\n", []string{"d.csv"}},
		{"COPY t /* 'nor this' */ TO $q$e.csv$q$", []string{"e.csv"}},
	} {
		if got := spelledPaths(tc.sql); !slices.Equal(got, tc.want) {
			t.Errorf("spelledPaths(%q) = %q, want %q", tc.sql, got, tc.want)
		}
	}
}
