package hostile

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The golden dump the corpus is made from, and the corpus. The tests only
// read them: make testdata writes them, through simulator/cmd/tinydump and
// internal/hostile/cmd/hostile.
const (
	golden = "../../testdata/dump-tiny"
	corpus = "../../testdata/hostile"
)

// TestCorpusIsGenerated: the committed corpus is this package's output,
// byte for byte, so what a case holds is read in the code above.
func TestCorpusIsGenerated(t *testing.T) {
	dir := t.TempDir()
	if err := Generate(golden, dir); err != nil {
		t.Fatal(err)
	}
	want, err := Paths(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Paths(corpus)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range got {
		if !slices.Contains(want, p) {
			t.Errorf("testdata/hostile/%s: committed, no longer generated: after an intended change, run make testdata", p)
		}
	}
	for _, p := range want {
		if !slices.Contains(got, p) {
			t.Errorf("testdata/hostile/%s: generated, not committed: after an intended change, run make testdata", p)
		}
	}
	if t.Failed() {
		return
	}
	for _, p := range want {
		a, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(corpus, p))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("testdata/hostile/%s differs from the generator's: after an intended change, run make testdata", p)
		}
	}
}
