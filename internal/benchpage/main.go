// Command benchpage writes the figures of docs/benchmarks.md from the
// output of `go test -bench` (make bench's bench.out), between the page's
// markers <!-- bench:begin --> and <!-- bench:end -->, so the page shows
// what was measured and nothing else. The prose around the markers is
// left as it is.
//
//	go run ./internal/benchpage -in bench.out -page docs/benchmarks.md -loadavg /proc/loadavg
//
// -loadavg adds the load average and the core count of the machine the
// generator runs on: pass it only right after the benchmarks ran there
// (make bench does).
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
)

func main() {
	in := flag.String("in", "bench.out", "the benchmark output to read (go test -bench's standard format)")
	page := flag.String("page", "docs/benchmarks.md", "the page whose marked section to replace")
	loadavg := flag.String("loadavg", "", "a /proc/loadavg to record the load average (and this machine's cores) from; empty: neither")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "benchpage: unexpected argument %q (see -h)\n", flag.Arg(0))
		os.Exit(2)
	}
	if err := run(*in, *page, *loadavg); err != nil {
		fmt.Fprintln(os.Stderr, "benchpage:", err)
		os.Exit(1)
	}
}

func run(in, page, loadavg string) error {
	f, err := os.Open(in)
	if err != nil {
		return fmt.Errorf("open the benchmark output: %w (run make bench first)", err)
	}
	defer f.Close()
	r, err := Parse(f)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	var host Host
	if loadavg != "" {
		if host.LoadAvg, err = readLoadAvg(loadavg); err != nil {
			return err
		}
		host.Cores = runtime.NumCPU()
	}
	old, err := os.ReadFile(page)
	if err != nil {
		return fmt.Errorf("read the page: %w", err)
	}
	out, err := Splice(string(old), Section(r, host, in))
	if err != nil {
		return fmt.Errorf("%s: %w", page, err)
	}
	if err := os.WriteFile(page, []byte(out), 0o644); err != nil {
		return fmt.Errorf("write the page: %w", err)
	}
	fmt.Printf("benchpage: %d results, %d not measured, written to %s\n", len(r.Results), len(r.Failures), page)
	return nil
}

// readLoadAvg returns the 1, 5 and 15 minute load averages of a
// /proc/loadavg file.
func readLoadAvg(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read the load average: %w (omit -loadavg where there is no /proc)", err)
	}
	fields := strings.Fields(string(b))
	if len(fields) < 3 {
		return "", fmt.Errorf("%s: %q is not a load average line", path, strings.TrimSpace(string(b)))
	}
	return strings.Join(fields[:3], " "), nil
}
