package main

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The testdata files are captured `go test -bench` output (see
// testdata/README.md for the commands): make-bench.txt four of the
// repository's benchmarks appended as make bench does, pairs.txt sibling
// sub-benchmarks on 1 and 2 cores, fail-skip.txt and verbose.txt a failing
// and a skipped benchmark without and with -v.

type wantMetric struct {
	name  string
	procs int
	unit  string
	value float64
}

type wantRatio struct {
	name     string
	procs    int
	unit     string
	baseName string
	ratio    float64
}

func TestParse(t *testing.T) {
	const cpu = "Oxide Virtual Turin-like Processor"
	for _, tc := range []struct {
		file     string
		results  int
		cpu      []string
		metrics  []wantMetric
		ratios   []wantRatio
		failures []Failure
	}{
		{
			file: "make-bench.txt", results: 5, cpu: []string{cpu},
			metrics: []wantMetric{
				{"BenchmarkUTF8Guard", 1, "ns/op", 875009},
				{"BenchmarkUTF8Guard", 2, "ns/op", 831777},
				{"BenchmarkTick/small", 2, "scans/s", 910},
				{"BenchmarkQueryVsDuckDB", 2, "duckdb-p50-ms", 84.40},
				{"BenchmarkQueryVsDuckDB", 2, "x-duckdb", 3.222},
				{"BenchmarkDedup/100k", 2, "peak-heap-MB-over-input", 106.9},
			},
			ratios: []wantRatio{{"BenchmarkQueryVsDuckDB", 2, "archtics-p50-ms", "", 272.0 / 84.40}},
		},
		{
			file: "load-dump.txt", results: 1, cpu: []string{cpu},
			metrics: []wantMetric{
				{"BenchmarkLoadDump", 2, "rows/s", 162268},
				{"BenchmarkLoadDump", 2, "duckdb-rows/s", 124378},
			},
			ratios: []wantRatio{
				{"BenchmarkLoadDump", 2, "rows/s", "", 162268.0 / 124378},
				{"BenchmarkLoadDump", 2, "cpu-s/op", "", 9.848 / 12.81},
			},
		},
		{
			file: "pairs.txt", results: 6, cpu: []string{cpu},
			metrics: []wantMetric{
				{"BenchmarkPair/tickets-2000", 1, "ns/op", 680.2},
				{"BenchmarkPair/tickets-2000", 2, "ns/op", 718.5},
			},
			ratios: []wantRatio{
				{"BenchmarkPair/archtics", 1, "ns/op", "BenchmarkPair/duckdb", 145735 / 2230.0},
				{"BenchmarkPair/archtics", 2, "ns/op", "BenchmarkPair/duckdb", 280700 / 690.7},
			},
		},
		{
			file: "tickscans.txt", results: 1, cpu: []string{cpu},
			metrics: []wantMetric{{"BenchmarkTickScans/10k", 2, "write-pqarrow-s", 0.02839}},
			ratios:  []wantRatio{{"BenchmarkTickScans/10k", 2, "write-archtics-s", "", 0.1276 / 0.02839}},
		},
		{
			file: "fail-skip.txt", results: 1, cpu: []string{cpu},
			metrics:  []wantMetric{{"BenchmarkPrints", 2, "things/op", 3}},
			failures: []Failure{{Pkg: "example", Name: "BenchmarkFails", Kind: "fail", Reason: "example_test.go:12: broken"}},
		},
		{
			file: "verbose.txt", results: 1, cpu: []string{cpu},
			metrics: []wantMetric{{"BenchmarkPrints", 2, "things/op", 3}},
			failures: []Failure{
				{Pkg: "example", Name: "BenchmarkFails", Kind: "fail", Reason: "example_test.go:12: broken"},
				{Pkg: "example", Name: "BenchmarkSkips", Kind: "skip", Reason: "example_test.go:13: not here"},
			},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			run := parseFile(t, tc.file)
			if len(run.Results) != tc.results {
				t.Errorf("%d results, want %d: %+v", len(run.Results), tc.results, run.Results)
			}
			if strings.Join(run.GOOS, ",") != "linux" || strings.Join(run.GOARCH, ",") != "amd64" || strings.Join(run.CPU, ",") != strings.Join(tc.cpu, ",") {
				t.Errorf("machine %v/%v %q, want linux/amd64 %q", run.GOOS, run.GOARCH, run.CPU, tc.cpu)
			}
			for _, w := range tc.metrics {
				r, ok := find(run, w.name, w.procs)
				if !ok {
					t.Errorf("no result %s on %d cores", w.name, w.procs)
					continue
				}
				if v, ok := r.Metric(w.unit); !ok || v != w.value {
					t.Errorf("%s-%d %s = %v (found %t), want %v", w.name, w.procs, w.unit, v, ok, w.value)
				}
			}
			for _, w := range tc.ratios {
				r, _ := find(run, w.name, w.procs)
				found := false
				for _, c := range Comparisons(run, r) {
					if c.Unit == w.unit && c.BaseName == w.baseName {
						found = true
						if math.Abs(c.Ratio-w.ratio) > 1e-9 {
							t.Errorf("%s-%d %s ratio %v, want %v", w.name, w.procs, w.unit, c.Ratio, w.ratio)
						}
					}
				}
				if !found {
					t.Errorf("%s-%d: no comparison of %s with %q", w.name, w.procs, w.unit, w.baseName)
				}
			}
			// Only the product's figures are compared, each with one the
			// run measured for the baseline.
			for _, r := range run.Results {
				for _, c := range Comparisons(run, r) {
					if slices.ContainsFunc(strings.Split(c.Unit, "-"), isBaseline) {
						t.Errorf("%s: %s, a baseline figure, is compared as the product's", r.Name, c.Unit)
					}
					if c.BaseName == "" && !slices.ContainsFunc(strings.Split(c.BaseUnit, "-"), isBaseline) || c.BaseName != "" && !isBaseline(c.BaseName[strings.LastIndex(c.BaseName, "/")+1:]) {
						t.Errorf("%s: %s compared with %s %s, not a baseline", r.Name, c.Unit, c.BaseName, c.BaseUnit)
					}
				}
			}
			if len(run.Failures) != len(tc.failures) {
				t.Fatalf("failures %+v, want %+v", run.Failures, tc.failures)
			}
			for i, f := range run.Failures {
				if f != tc.failures[i] {
					t.Errorf("failure %d: %+v, want %+v", i, f, tc.failures[i])
				}
			}
		})
	}
}

// TestSection: the generated section names every result and failure of
// each sample, with its figures and comparisons, and splicing it keeps the
// prose around the markers byte for byte.
func TestSection(t *testing.T) {
	const before = "# Benchmarks\n\nProse before.\n\n"
	const after = "<!-- bench:end -->\n\nProse after, with `make bench`.\n"
	page := before + "<!-- bench:begin -->\nan old table\n" + after
	for _, tc := range []struct {
		file string
		host Host
		want []string
	}{
		{"make-bench.txt", Host{Cores: 2, LoadAvg: "1.72 2.34 2.63"}, []string{
			"| `BenchmarkUTF8Guard` | `archtics/pipeline` | 1 | 875 µs |",
			"| `BenchmarkUTF8Guard` | `archtics/pipeline` | 2 | 832 µs |",
			"| `BenchmarkQueryVsDuckDB` | `archtics/cmd/archtics` | 2 | 1.47 s | 272 archtics-p50-ms, 84.4 duckdb-p50-ms, 296 first-ms, 3.22 x-duckdb | archtics-p50-ms / duckdb-p50-ms = 3.22 |",
			"92,784 accounts", "16,798 ns/account",
			"Machine: linux/amd64, Oxide Virtual Turin-like Processor, 2 cores, load average 1.72 2.34 2.63 (1, 5, 15 minutes) as the run ended.",
		}},
		{"load-dump.txt", Host{}, []string{
			"| `BenchmarkLoadDump` | `archtics/stages/clone` | 2 | 10.7 s | 9.85 cpu-s/op, 12.8 duckdb-cpu-s/op, 124,378 duckdb-rows/s, 1,730,551 rows, 162,268 rows/s, 0.766 x-duckdb |",
			"rows/s / duckdb-rows/s = 1.30",
			"cpu-s/op / duckdb-cpu-s/op = 0.77",
		}},
		{"pairs.txt", Host{}, []string{
			"| `BenchmarkPair/archtics` | `example` | 2 | 281 µs |  | 406.40 × `BenchmarkPair/duckdb` |",
			"| `BenchmarkPair/tickets-2000` | `example` | 1 | 680 ns |",
			"Machine: linux/amd64, Oxide Virtual Turin-like Processor.",
		}},
		{"verbose.txt", Host{}, []string{
			"- `BenchmarkFails` (`example`) failed: example_test.go:12: broken",
			"- `BenchmarkSkips` (`example`) skipped: example_test.go:13: not here",
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			run := parseFile(t, tc.file)
			sec := Section(run, tc.host, tc.file)
			for _, r := range run.Results {
				if !strings.Contains(sec, "`"+r.Name+"`") {
					t.Errorf("the section lacks %s", r.Name)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(sec, w) {
					t.Errorf("the section lacks %q:\n%s", w, sec)
				}
			}
			if tc.host.LoadAvg == "" && strings.Contains(sec, "load average") {
				t.Errorf("a load average without -loadavg:\n%s", sec)
			}
			out, err := Splice(page, sec)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out, before+"<!-- bench:begin -->\n") || !strings.HasSuffix(out, after) {
				t.Errorf("the prose around the markers changed:\n%s", out)
			}
			if strings.Contains(out, "an old table") {
				t.Error("the old section is still there")
			}
			again, err := Splice(out, sec)
			if err != nil || again != out {
				t.Errorf("splicing the same section again changed the page (err %v)", err)
			}
		})
	}
}

func TestSpliceRefusesBadMarkers(t *testing.T) {
	for _, tc := range []struct{ name, page, want string }{
		{"none", "# Benchmarks\n", "lacks the markers"},
		{"no end", "<!-- bench:begin -->\n", "lacks the markers"},
		{"twice", "<!-- bench:begin -->\n<!-- bench:end -->\n<!-- bench:begin -->\n<!-- bench:end -->\n", "more than one"},
		{"reversed", "<!-- bench:end -->\n<!-- bench:begin -->\n", "comes before"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Splice(tc.page, "x\n"); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  string
		want string
	}{
		{"seconds", formatDuration(1468140866), "1.47 s"},
		{"milliseconds", formatDuration(918735600), "919 ms"},
		{"microseconds", formatDuration(875009), "875 µs"},
		{"nanoseconds", formatDuration(690.7), "691 ns"},
		{"small nanoseconds", formatDuration(12.34), "12.3 ns"},
		{"whole", formatValue(92784), "92,784"},
		{"millions", formatValue(1234567.8), "1,234,568"},
		{"hundreds", formatValue(864.1), "864"},
		{"fraction", formatValue(3.222), "3.22"},
		{"negative", formatValue(-1500), "-1,500"},
		{"ratio", formatRatio(272.0 / 84.40), "3.22"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

// TestRun: the command reads a file, rewrites the page's section and
// reports a missing file or marker as an error that says what to do.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "benchmarks.md")
	if err := os.WriteFile(page, []byte("intro\n<!-- bench:begin -->\n<!-- bench:end -->\nend\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	loadavg := filepath.Join(dir, "loadavg")
	if err := os.WriteFile(loadavg, []byte("0.50 0.40 0.30 1/90 123\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(filepath.Join("testdata", "make-bench.txt"), page, loadavg); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"intro\n<!-- bench:begin -->\n", "\n<!-- bench:end -->\nend\n", "`BenchmarkDedup/100k`", "load average 0.50 0.40 0.30"} {
		if !strings.Contains(string(b), w) {
			t.Errorf("the page lacks %q:\n%s", w, b)
		}
	}
	for _, tc := range []struct{ name, in, page, want string }{
		{"no output", filepath.Join(dir, "missing.out"), page, "run make bench first"},
		{"no markers", filepath.Join("testdata", "make-bench.txt"), loadavg, "lacks the markers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := run(tc.in, tc.page, ""); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func parseFile(t *testing.T, name string) *Run {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	run, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func find(run *Run, name string, procs int) (Result, bool) {
	for _, r := range run.Results {
		if r.Name == name && r.Procs == procs {
			return r, true
		}
	}
	return Result{}, false
}

// isBaseline says whether name is one of the baselines' names.
func isBaseline(name string) bool {
	for _, bases := range baselines {
		if slices.Contains(bases, name) {
			return true
		}
	}
	return false
}
