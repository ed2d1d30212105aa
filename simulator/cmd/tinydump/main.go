// Command tinydump writes the golden tiny dump (testdata/dump-tiny): the
// simulator's dump of simulator.TinyConfig, a regression fixture the
// tests compare with the simulator's output and load. make testdata runs
// it after an intended change to the simulator; the folder is replaced
// whole (simulator.TestGoldenDump checks the checked-in copy).
//
//	go run ./simulator/cmd/tinydump [-out testdata/dump-tiny]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"archtics/internal/gendir"
	"archtics/simulator"
)

func main() {
	out := flag.String("out", filepath.Join("testdata", "dump-tiny"), "the folder to write the dump into (replaced whole)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "tinydump: unexpected argument %q; usage: tinydump [-out DIR]\n", flag.Arg(0))
		os.Exit(2)
	}
	err := gendir.Replace(*out, "manifest.json", func(dir string) error {
		_, err := simulator.WriteDump(context.Background(), simulator.TinyConfig(), simulator.DirDest(dir), nil)
		return err
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "tinydump:", err)
		os.Exit(4)
	}
	fmt.Println("tinydump: wrote", *out)
}
