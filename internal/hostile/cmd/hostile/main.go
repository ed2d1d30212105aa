// Command hostile writes the hostile-input corpus (testdata/hostile) from
// the golden tiny dump: the damaged dumps and CRM files package hostile
// describes, and their README. make testdata runs it after writing the
// golden dump; the folder is replaced whole (hostile.TestCorpusIsGenerated
// checks the checked-in copy).
//
//	go run ./internal/hostile/cmd/hostile [-dump testdata/dump-tiny] [-out testdata/hostile]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"archtics/internal/gendir"
	"archtics/internal/hostile"
)

func main() {
	dump := flag.String("dump", filepath.Join("testdata", "dump-tiny"), "the golden tiny dump the cases damage")
	out := flag.String("out", filepath.Join("testdata", "hostile"), "the folder to write the corpus into (replaced whole)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "hostile: unexpected argument %q; usage: hostile [-dump DIR] [-out DIR]\n", flag.Arg(0))
		os.Exit(2)
	}
	err := gendir.Replace(*out, "README.md", func(dir string) error {
		return hostile.Generate(*dump, dir)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		os.Exit(4)
	}
	fmt.Println("hostile: wrote", *out)
}
