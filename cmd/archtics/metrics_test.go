//go:build linux

// Linux only: the atomic-replacement check reads the inode and /proc/self/fd.

package main

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"archtics/pipeline/txlog"
)

// The line grammar of the Prometheus text exposition format, as
// node_exporter's textfile collector parses it: comments (HELP, TYPE) and
// samples "name{label="value",...} value".
var (
	helpLine      = regexp.MustCompile(`^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$`)
	typeLine      = regexp.MustCompile(`^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$`)
	exposedSample = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\} (\S+)$`)
	labelPair     = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"`)
)

// parseExposition checks every line of a text-format file against the
// grammar (a sample's family declared by a TYPE line before it, each
// family's samples together, values that parse as floats) and returns the
// samples as family → labels → value.
func parseExposition(t *testing.T, text string) map[string]map[string]float64 {
	t.Helper()
	out := map[string]map[string]float64{}
	typed := map[string]bool{}
	current := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case helpLine.MatchString(line):
		case typeLine.MatchString(line):
			name := typeLine.FindStringSubmatch(line)[1]
			if typed[name] {
				t.Errorf("line %d: a second TYPE for %s", n, name)
			}
			typed[name], current = true, name
		default:
			m := exposedSample.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("line %d %q is not in the text format", n, line)
			}
			if m[1] != current {
				t.Errorf("line %d: sample of %s outside its family (TYPE %s)", n, m[1], current)
			}
			v, err := strconv.ParseFloat(m[3], 64)
			if err != nil {
				t.Errorf("line %d: value %q: %v", n, m[3], err)
			}
			var labels []string
			for _, p := range labelPair.FindAllStringSubmatch(m[2], -1) {
				labels = append(labels, p[1]+"="+p[2])
			}
			if out[m[1]] == nil {
				out[m[1]] = map[string]float64{}
			}
			out[m[1]][strings.Join(labels, ",")] = v
		}
	}
	if !strings.HasSuffix(text, "\n") {
		t.Error("the file does not end with a newline")
	}
	return out
}

func TestWriteMetricsFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "archtics.prom")
	start := time.Now().Add(-2 * time.Second)
	load := &txlog.Commit{Stream: "nhl/clone", Watermark: txlog.Watermark{To: time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)},
		Adds: []txlog.FileEntry{{Rows: 10, Bytes: 1000}, {Rows: 5, Bytes: 500}}}
	rerun := &txlog.Commit{Stream: "nhl/realtime", Existing: true, Adds: []txlog.FileEntry{{Rows: 7, Bytes: 70}}}
	tests := []struct {
		name  string
		m     stageMetrics
		check func(t *testing.T, got map[string]map[string]float64)
	}{
		{"load-dump", func() stageMetrics {
			m := commitMetrics("nhl", "load-dump", load, 17, 2, start)
			m.Repaired = 3
			return m
		}(), func(t *testing.T, got map[string]map[string]float64) {
			l := "team=nhl,stage=load-dump,stream=nhl/clone"
			want := map[string]float64{"archtics_stage_rows_in": 17, "archtics_stage_rows_loaded": 15,
				"archtics_stage_rows_rejected": 2, "archtics_stage_fields_repaired": 3, "archtics_stage_committed_bytes": 1500}
			for fam, v := range want {
				if got[fam][l] != v {
					t.Errorf("%s{%s} = %v, want %v", fam, l, got[fam][l], v)
				}
			}
			if d := got["archtics_stage_duration_seconds"][l]; d < 2 {
				t.Errorf("duration %v s, want at least the 2 s since start", d)
			}
			if lag := got["archtics_stage_watermark_lag_seconds"][l]; lag < 3600 {
				t.Errorf("watermark lag %v s, want at least an hour", lag)
			}
		}},
		{"a rerun with a quote in the team", commitMetrics(`n"h\l`, "realtime-tick", rerun, 0, 0, start), func(t *testing.T, got map[string]map[string]float64) {
			l := `team=n\"h\\l,stage=realtime-tick,stream=nhl/realtime`
			if v, ok := got["archtics_stage_rows_loaded"][l]; !ok || v != 0 {
				t.Errorf("rows loaded by a rerun = %v (present %v), want 0: the commit was written by an earlier run", v, ok)
			}
			if lag := got["archtics_stage_watermark_lag_seconds"][l]; !math.IsNaN(lag) {
				t.Errorf("watermark lag without a watermark = %v, want NaN", lag)
			}
			// The first stage's samples are kept beside this one's.
			if got["archtics_stage_rows_in"]["team=nhl,stage=load-dump,stream=nhl/clone"] != 17 {
				t.Error("writing a second stage lost the first stage's samples")
			}
		}},
		{"the same stage again replaces its samples", commitMetrics("nhl", "load-dump", load, 99, 0, start), func(t *testing.T, got map[string]map[string]float64) {
			if n := len(got["archtics_stage_rows_in"]); n != 2 {
				t.Errorf("%d rows_in samples, want 2 (one per stage)", n)
			}
			if v := got["archtics_stage_rows_in"]["team=nhl,stage=load-dump,stream=nhl/clone"]; v != 99 {
				t.Errorf("rows_in %v, want the new run's 99", v)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A reader that opened the file before the write (the
			// collector mid-scrape) keeps reading the whole old file: the
			// new one is renamed over it, never rewritten in place.
			var before *os.File
			var beforeIno uint64
			if f, err := os.Open(path); err == nil {
				before = f
				defer f.Close()
				fi, _ := f.Stat()
				beforeIno = fi.Sys().(*syscall.Stat_t).Ino
			}
			if err := writeMetricsFile(path, []stageMetrics{tt.m}); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, parseExposition(t, string(b)))
			if before != nil {
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Sys().(*syscall.Stat_t).Ino == beforeIno {
					t.Error("the file was rewritten in place, not replaced by a rename")
				}
				old, err := os.ReadFile("/proc/self/fd/" + strconv.Itoa(int(before.Fd())))
				if err != nil {
					t.Fatal(err)
				}
				parseExposition(t, string(old))
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Errorf("the folder holds %d entries, want only the metrics file (no temporary file left)", len(entries))
			}
		})
	}
}

// TestMetricsFileFlag runs load-dump with --metrics-file and checks the
// file counts the rows the warehouse committed.
func TestMetricsFileFlag(t *testing.T) {
	dir := t.TempDir()
	dump, wh, prom := filepath.Join(dir, "dump"), filepath.Join(dir, "warehouse"), filepath.Join(dir, "archtics.prom")
	base := []string{"archtics", "--log-level", "error"}
	var code int
	captureStdout(t, func() { code = run(t.Context(), append(base, "simulate", "dump", "--out", dump, "--scale", "small")) })
	if code != 0 {
		t.Fatalf("simulate dump: exit %d", code)
	}
	captureStdout(t, func() {
		code = run(t.Context(), append(base, "--warehouse", wh, "--metrics-file", prom, "load-dump", "--dump", dump))
	})
	if code != 0 {
		t.Fatalf("load-dump: exit %d", code)
	}
	b, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	got := parseExposition(t, string(b))
	w, err := openWarehouseAt(t.Context(), wh, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := w.State(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var rows, bytes float64
	for _, table := range st.Tables() {
		for _, f := range st.Files(table) {
			rows += float64(f.Rows)
			bytes += float64(f.Bytes)
		}
	}
	var gotRows, gotBytes float64
	for l, v := range got["archtics_stage_rows_loaded"] {
		if !strings.Contains(l, "stage=load-dump") {
			t.Errorf("unexpected sample %s", l)
		}
		gotRows += v
		gotBytes += got["archtics_stage_committed_bytes"][l]
	}
	if rows == 0 || gotRows != rows || gotBytes != bytes {
		t.Errorf("metrics say %v rows, %v bytes loaded; the warehouse holds %v rows, %v bytes", gotRows, gotBytes, rows, bytes)
	}
}
