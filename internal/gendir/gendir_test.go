package gendir

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestReplace: Replace leaves either the new output alone in dir (files of
// the old one gone) or, when it refuses or write fails, the old folder as
// it was; never a temporary folder beside it.
func TestReplace(t *testing.T) {
	errWrite := errors.New("write failed")
	output := func(files ...string) func(string) error {
		return func(tmp string) error {
			for _, f := range files {
				p := filepath.Join(tmp, filepath.FromSlash(f))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					return err
				}
				if err := os.WriteFile(p, []byte("# "+filepath.Base(f)+"\nnew\n"), 0o644); err != nil {
					return err
				}
			}
			return nil
		}
	}
	tests := []struct {
		name    string
		old     map[string]string // the folder before; nil: absent
		write   func(string) error
		wantErr bool
		want    []string // the files of dir after, with "new" content when replaced
	}{
		{"absent folder", nil, output("mark", "a/b"), false, []string{"a/b", "mark"}},
		{"earlier output", map[string]string{"mark": "# mark\nold\n", "stale": "x"}, output("mark", "a/b"), false, []string{"a/b", "mark"}},
		{"no marker", map[string]string{"README.md": "# mark\n"}, output("mark"), true, []string{"README.md"}},
		{"another marker", map[string]string{"mark": "# something else\n"}, output("mark"), true, []string{"mark"}},
		{"write fails", map[string]string{"mark": "# mark\nold\n"}, func(string) error { return errWrite }, true, []string{"mark"}},
		{"write leaves no marker", map[string]string{"mark": "# mark\nold\n"}, output("a"), true, []string{"mark"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "corpus")
			for name, text := range tt.old {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := Replace(dir, "mark", tt.write)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Replace: %v, want an error: %v", err, tt.wantErr)
			}
			entries, _ := os.ReadDir(parent)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if !slices.Equal(names, []string{"corpus"}) {
				t.Errorf("%s holds %v, want only corpus", parent, names)
			}
			var got []string
			filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(dir, p)
				got = append(got, filepath.ToSlash(rel))
				b, _ := os.ReadFile(p)
				if old, ok := tt.old[rel]; tt.wantErr && ok && string(b) != old {
					t.Errorf("%s changed to %q though Replace failed", rel, b)
				}
				if !tt.wantErr && string(b) != "# "+filepath.Base(rel)+"\nnew\n" {
					t.Errorf("%s holds %q, not the new output", rel, b)
				}
				return nil
			})
			if !slices.Equal(got, tt.want) {
				t.Errorf("corpus holds %v, want %v", got, tt.want)
			}
			if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm() != 0o755 {
				t.Errorf("corpus has mode %v, want 0755", fi.Mode().Perm())
			}
		})
	}
}
