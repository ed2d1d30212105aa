package hostile

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "write testdata/hostile again")

const (
	golden = "../../testdata/dump-tiny"
	corpus = "../../testdata/hostile"
)

// TestCorpusIsGenerated: the committed corpus is this package's output,
// byte for byte, so what a case holds is read in the code above.
func TestCorpusIsGenerated(t *testing.T) {
	if *update {
		if err := os.RemoveAll(corpus); err != nil {
			t.Fatal(err)
		}
		if err := Generate(golden, corpus); err != nil {
			t.Fatal(err)
		}
	}
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
	if !slices.Equal(got, want) {
		t.Fatalf("testdata/hostile holds %v,\nthe generator writes %v: run go test ./internal/hostile -update", got, want)
	}
	for _, p := range want {
		a, _ := os.ReadFile(filepath.Join(dir, p))
		b, _ := os.ReadFile(filepath.Join(corpus, p))
		if !bytes.Equal(a, b) {
			t.Errorf("testdata/hostile/%s differs from the generator's: run go test ./internal/hostile -update", p)
		}
	}
}
