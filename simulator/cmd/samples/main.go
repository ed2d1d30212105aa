// Command samples writes the korebi realtime sample tables' rows
// (schemas/samples/*.csv, which package schemas embeds) from the
// simulator's truth: one game's scans of the demo-size world. make
// samples runs it after an intended change to the simulator; the
// package's test checks that the shipped files are what it writes.
//
//	go run ./simulator/cmd/samples [-out schemas/samples]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

func main() {
	out := flag.String("out", filepath.Join("schemas", "samples"), "the folder to write the sample CSV files into")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "samples: unexpected argument %q; usage: samples [-out DIR]\n", flag.Arg(0))
		os.Exit(2)
	}
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "samples:", err)
		os.Exit(4)
	}
}

// write generates the sample files and writes them into dir.
func write(dir string) error {
	files, err := generate()
	if err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return fmt.Errorf("write %s: %w (run from the module's root, or pass -out)", path, err)
		}
		fmt.Println("samples: wrote", path)
	}
	return nil
}
