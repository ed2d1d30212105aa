package main

import (
	"bufio"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/pipeline/txlog"
)

// metricsFileFlag is the global flag naming the Prometheus textfile a
// command writes after each stage it commits.
const metricsFileFlag = "metrics-file"

// stageMetrics are the figures of one stage run, for one team and stream.
type stageMetrics struct {
	Team, Stage, Stream string
	RowsIn              int64         // rows (versions, scans) read from the source
	Loaded              int64         // rows in the files the commit added
	Rejected            int64         // rows that did not convert (archtics_meta.rejects)
	Repaired            int64         // fields stored other than received (archtics_meta.repairs)
	CommittedBytes      int64         // bytes of the files the commit added
	Duration            time.Duration // the stage's run, start to commit
	WatermarkLag        time.Duration // now minus the committed watermark; <0: no watermark
	At                  time.Time     // when the stage finished
}

// metricFamilies are the metrics written, in order, with their help text.
var metricFamilies = []struct{ name, help string }{
	{"archtics_stage_rows_in", "Rows (versions, scans) the stage's last run read from its source."},
	{"archtics_stage_rows_loaded", "Rows in the files the stage's last commit added."},
	{"archtics_stage_rows_rejected", "Rows the stage's last run rejected (see archtics_meta.rejects)."},
	{"archtics_stage_fields_repaired", "Fields the stage's last run stored other than received, keeping their rows (see archtics_meta.repairs)."},
	{"archtics_stage_committed_bytes", "Bytes of the files the stage's last commit added."},
	{"archtics_stage_duration_seconds", "How long the stage's last run took."},
	{"archtics_stage_watermark_lag_seconds", "Age of the stage's committed watermark when it finished (NaN: none)."},
	{"archtics_stage_last_success_timestamp_seconds", "Unix time the stage's last run finished."},
}

func (m stageMetrics) values() []float64 {
	lag := math.NaN()
	if m.WatermarkLag >= 0 {
		lag = m.WatermarkLag.Seconds()
	}
	return []float64{float64(m.RowsIn), float64(m.Loaded), float64(m.Rejected), float64(m.Repaired), float64(m.CommittedBytes),
		m.Duration.Seconds(), lag, float64(m.At.UnixMilli()) / 1000}
}

func (m stageMetrics) labels() string {
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return fmt.Sprintf(`{team="%s",stage="%s",stream="%s"}`, esc.Replace(m.Team), esc.Replace(m.Stage), esc.Replace(m.Stream))
}

// commitMetrics are the figures of a stage that ended in commit c (nil:
// nothing committed), started at start. Loaded rows and bytes are those of
// the files the commit added; a commit found already written (a rerun)
// added nothing this run.
func commitMetrics(team, stage string, c *txlog.Commit, rowsIn, rejected int64, start time.Time) stageMetrics {
	now := time.Now()
	m := stageMetrics{Team: team, Stage: stage, RowsIn: rowsIn, Rejected: rejected, Duration: now.Sub(start), WatermarkLag: -1, At: now}
	if c == nil {
		return m
	}
	m.Stream = c.Stream
	if !c.Existing {
		for _, f := range c.Adds {
			m.Loaded += f.Rows
			m.CommittedBytes += f.Bytes
		}
	}
	if wm, err := time.Parse(time.RFC3339, c.Watermark.To); err == nil {
		m.WatermarkLag = max(now.Sub(wm), 0)
	}
	return m
}

// recordMetrics writes ms to the file --metrics-file names, if any. A
// metrics file that cannot be written fails the command: the commit is
// done, but a scheduler should see that monitoring is blind.
func recordMetrics(c *cli.Context, ms ...stageMetrics) error {
	path := c.String(metricsFileFlag)
	if path == "" || len(ms) == 0 {
		return nil
	}
	if err := writeMetricsFile(path, ms); err != nil {
		return fmt.Errorf("the stage committed, but --metrics-file %s: %w (check the folder exists and is writable)", path, err)
	}
	return nil
}

// sampleLine is a sample line of the text format: name, labels, value.
var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$`)

// writeMetricsFile merges ms into the Prometheus text file at path: the
// samples of the same team, stage and stream are replaced, the others (an
// earlier stage's) kept. The file is written to a temporary file in the
// same folder and renamed over path, so node_exporter's textfile collector
// never reads half a file. Two commands writing at the same instant may
// lose one's update until its next run: give concurrent schedules their
// own files (*.prom in the same folder) if that matters.
func writeMetricsFile(path string, ms []stageMetrics) error {
	samples := map[string]map[string]string{} // family → labels → value
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if m := sampleLine.FindStringSubmatch(sc.Text()); m != nil {
				if samples[m[1]] == nil {
					samples[m[1]] = map[string]string{}
				}
				samples[m[1]][m[2]] = m[3]
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
	} else if !os.IsNotExist(err) {
		return err
	}
	for _, m := range ms {
		for i, v := range m.values() {
			name := metricFamilies[i].name
			if samples[name] == nil {
				samples[name] = map[string]string{}
			}
			samples[name][m.labels()] = strconv.FormatFloat(v, 'g', -1, 64)
		}
	}
	var b strings.Builder
	for _, fam := range metricFamilies {
		if len(samples[fam.name]) == 0 {
			continue
		}
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", fam.name, fam.help, fam.name)
		for _, l := range slices.Sorted(maps.Keys(samples[fam.name])) {
			fmt.Fprintf(&b, "%s%s %s\n", fam.name, l, samples[fam.name][l])
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
