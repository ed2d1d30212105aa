package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// shipped is where package schemas keeps the files it embeds. The test
// only reads them: make samples writes them, through this program.
var shipped = filepath.Join("..", "..", "..", "schemas", "samples")

// TestShippedSamplesAreTheSimulators: what the program writes (into a
// temporary folder) from the simulator's truth for the sample game is,
// file for file and byte for byte, what schemas ships.
func TestShippedSamplesAreTheSimulators(t *testing.T) {
	dir := t.TempDir()
	if err := write(dir); err != nil {
		t.Fatal(err)
	}
	names := func(dir string) []string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	written := names(dir)
	if want := []string{reportFile, rawFile}; !slices.Equal(written, want) {
		t.Fatalf("wrote %v, want %v", written, want)
	}
	if got := names(shipped); !slices.Equal(got, written) {
		t.Errorf("%s holds %v, the program writes %v", shipped, got, written)
	}
	for _, name := range written {
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(shipped, name)
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the simulator's truth for %s: after an intended change to the simulator, run make samples", path, sampleEvent)
			}
		})
	}
}
