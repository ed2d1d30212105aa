package simulator

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// goldenDir holds a tiny dump checked into the repository: a regression
// test of the generator (same seed, same bytes, release after release) and
// a fixture other packages load without generating anything. The tests
// only read it: make testdata writes it, through simulator/cmd/tinydump.
const goldenDir = "../testdata/dump-tiny"

// TestGoldenDump generates the tiny dump (TinyConfig) into a temporary
// folder and compares it, file by file and byte for byte, with
// testdata/dump-tiny. If a generator change is meant to change the
// output, run `make testdata` and review the diff.
func TestGoldenDump(t *testing.T) {
	dir := t.TempDir()
	if _, err := WriteDump(context.Background(), TinyConfig(), DirDest(dir), nil); err != nil {
		t.Fatal(err)
	}
	want, got := treeFiles(t, goldenDir), treeFiles(t, dir)
	for name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("%s: in testdata, no longer generated", name)
		}
	}
	for name, g := range got {
		w, ok := want[name]
		switch {
		case !ok:
			t.Errorf("%s: generated, not in testdata", name)
		case !bytes.Equal(w, g):
			t.Errorf("%s: differs from testdata%s", name, firstDiff(w, g, strings.HasSuffix(name, ".gz")))
		}
	}
	if t.Failed() {
		t.Log("testdata/dump-tiny is not what the simulator writes: if the change is intended, run make testdata, then review git diff testdata/")
	}
}

func treeFiles(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatalf("%v (regenerate with make testdata)", err)
	}
	return out
}

// firstDiff names the first line that differs, after gunzip if gz.
func firstDiff(want, got []byte, gz bool) string {
	text := func(b []byte) []string {
		var r io.Reader = bytes.NewReader(b)
		if gz {
			zr, err := gzip.NewReader(r)
			if err != nil {
				return nil
			}
			r = zr
		}
		var lines []string
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		return lines
	}
	w, g := text(want), text(got)
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "; first at line " + strconv.Itoa(i+1) + ":\n  testdata:  " + a + "\n  generated: " + b
		}
	}
	return " (same text, other bytes: the compressor changed?)"
}
