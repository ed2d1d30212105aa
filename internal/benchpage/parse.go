package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Run is what one `go test -bench` output holds: the machine it ran on
// and the results, in the order they were printed.
type Run struct {
	GOOS, GOARCH, CPU []string // each distinct value of the configuration lines
	Results           []Result
	Failures          []Failure
}

// Result is one benchmark line: BenchmarkName[-procs] N value unit ...
type Result struct {
	Pkg     string   // the pkg: line in force
	Name    string   // without the -procs suffix
	Procs   int      // GOMAXPROCS: the -N suffix, 1 without one
	N       int64    // iterations
	Metrics []Metric // in printed order, ns/op first
}

// Metric is one value and unit of a result ("1468140866 ns/op", "272.0 archtics-p50-ms").
type Metric struct {
	Value float64
	Unit  string
}

// Failure is a benchmark that failed or was skipped (--- FAIL, --- SKIP)
// with the first line of its log, the reason.
type Failure struct {
	Pkg, Name, Kind, Reason string
}

// Metric returns the value of unit.
func (r Result) Metric(unit string) (float64, bool) {
	for _, m := range r.Metrics {
		if m.Unit == unit {
			return m.Value, true
		}
	}
	return 0, false
}

var (
	// The standard result line (golang.org/design/14313-benchmark-format):
	// the name, a tab, the iteration count, then value-unit pairs.
	resultLine = regexp.MustCompile(`^(Benchmark\S+)\s+(\d+)\s+(.+)$`)
	procsTail  = regexp.MustCompile(`^(.*)-(\d+)$`)
	statusLine = regexp.MustCompile(`^--- (FAIL|SKIP): (Benchmark\S+)`)
)

// maxProcs is the largest -N suffix read as GOMAXPROCS (see splitProcs).
const maxProcs = 1024

// Parse reads benchmark output: configuration lines (goos:, goarch:, pkg:,
// cpu:), result lines and the --- FAIL / --- SKIP lines with the log line
// under them. Everything else (test logs, --- BENCH blocks, PASS, ok) is
// ignored.
func Parse(r io.Reader) (*Run, error) {
	run := &Run{}
	var pkg string
	var pending *Failure // a failure waiting for its log line, which follows it
	// With -v the log comes first, under a line naming the benchmark.
	var verboseName, verboseLog string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimRight(sc.Text(), " \t\r")
		if strings.HasPrefix(text, "    ") {
			switch {
			case pending != nil && pending.Reason == "":
				pending.Reason = strings.TrimSpace(text)
			case verboseName != "" && verboseLog == "":
				verboseLog = strings.TrimSpace(text)
			}
			continue
		}
		pending = nil
		if strings.HasPrefix(text, "Benchmark") && !strings.ContainsAny(text, " \t") {
			verboseName, verboseLog = text, ""
			continue
		}
		if key, value, ok := configLine(text); ok {
			switch key {
			case "goos":
				run.GOOS = addDistinct(run.GOOS, value)
			case "goarch":
				run.GOARCH = addDistinct(run.GOARCH, value)
			case "cpu":
				run.CPU = addDistinct(run.CPU, value)
			case "pkg":
				pkg = value
			}
			continue
		}
		if m := statusLine.FindStringSubmatch(text); m != nil {
			name, _ := splitProcs(m[2])
			f := Failure{Pkg: pkg, Name: name, Kind: strings.ToLower(m[1])}
			if verboseName == m[2] {
				f.Reason = verboseLog
			}
			run.Failures = append(run.Failures, f)
			pending = &run.Failures[len(run.Failures)-1]
			continue
		}
		m := resultLine.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		n, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: iterations %q: %w", line, m[2], err)
		}
		fields := strings.Fields(m[3])
		if len(fields)%2 != 0 {
			return nil, fmt.Errorf("line %d: %q: values and units do not pair up", line, text)
		}
		res := Result{Pkg: pkg, N: n}
		res.Name, res.Procs = splitProcs(m[1])
		for i := 0; i < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: value %q of %s: %w", line, fields[i], fields[i+1], err)
			}
			res.Metrics = append(res.Metrics, Metric{Value: v, Unit: fields[i+1]})
		}
		run.Results = append(run.Results, res)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read benchmark output: %w", err)
	}
	return run, nil
}

// configLine matches a configuration line, "key: value" with a lower-case
// key and no space in it.
func configLine(text string) (key, value string, ok bool) {
	key, value, ok = strings.Cut(text, ": ")
	if !ok || key == "" || strings.ContainsAny(key, " \t") || strings.ToLower(key) != key {
		return "", "", false
	}
	return key, strings.TrimSpace(value), true
}

// splitProcs splits the -N GOMAXPROCS suffix off a benchmark's name. Go
// adds none at GOMAXPROCS 1, so a sub-benchmark named like "tickets-2000"
// run on one core ends in digits too: a suffix over maxProcs is taken as
// part of the name.
func splitProcs(name string) (string, int) {
	if m := procsTail.FindStringSubmatch(name); m != nil {
		if p, err := strconv.Atoi(m[2]); err == nil && p > 0 && p <= maxProcs {
			return m[1], p
		}
	}
	return name, 1
}

func addDistinct(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}
