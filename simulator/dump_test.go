package simulator

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"archtics/schemas"
)

// readPart parses one dump part with the DUMP_FORMAT rules.
func readPart(t *testing.T, path string) (header []string, rows []Row) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var fields []string
		var b strings.Builder
		for i := 0; i < len(line); i++ {
			switch c := line[i]; c {
			case '|':
				fields = append(fields, b.String())
				b.Reset()
			case '\\':
				i++
				switch line[i] {
				case 'n':
					b.WriteByte('\n')
				case 'r':
					b.WriteByte('\r')
				default:
					b.WriteByte(line[i])
				}
			default:
				b.WriteByte(c)
			}
		}
		fields = append(fields, b.String())
		if header == nil {
			header = fields
			continue
		}
		rows = append(rows, fields)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return header, rows
}

func writeDump(t *testing.T, cfg Config) (string, Manifest) {
	t.Helper()
	dir := t.TempDir()
	m, err := WriteDump(context.Background(), cfg, DirDest(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	return dir, m
}

func sortRows(rows []Row) {
	sort.Slice(rows, func(a, b int) bool { return strings.Join(rows[a], "|") < strings.Join(rows[b], "|") })
}

func TestDumpDeterministic(t *testing.T) {
	cfg := SmallConfig()
	cfg.Workers = 1
	dir1, m1 := writeDump(t, cfg)
	cfg.Workers = 5
	_, m2 := writeDump(t, cfg)
	if !reflect.DeepEqual(m1, m2) {
		t.Fatalf("same seed, different manifests with 1 and 5 workers")
	}
	raw, err := os.ReadFile(filepath.Join(dir1, ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var back Manifest
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatalf("manifest.json does not parse: %v", err)
	}
	if !back.Cutoff.Equal(cfg.Cutoff) || back.CutoffLocal != "2026-11-20 12:00:01" || back.TimeZone != DefaultTimeZone {
		t.Errorf("manifest cutoff %v / %q / %q", back.Cutoff, back.CutoffLocal, back.TimeZone)
	}
	cfg.Seed++
	_, m3 := writeDump(t, cfg)
	if reflect.DeepEqual(m1.Files, m3.Files) {
		t.Errorf("a different seed wrote the same files")
	}
}

// TestDumpIsStateBeforeCutoff: the dump holds exactly the versions
// committed before the cutoff, which is StateAt(cutoff - 1ns), for the
// test preset and for configurations at the edges.
func TestDumpIsStateBeforeCutoff(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
	}{
		{"small", func(*Config) {}},
		{"no activity after the cutoff", func(c *Config) { c.DaysAfterCutoff = 0 }},
		{"one arena team", func(c *Config) { c.Teams = []TeamSpec{{"arena", KindArena}} }},
		{"three teams, one season", func(c *Config) {
			c.Teams = append(DefaultTeams(), TeamSpec{"ahl", KindHockey})
			c.Seasons = 1
		}},
		{"west coast, spring cutoff", func(c *Config) {
			c.TimeZone = "America/Los_Angeles"
			c.Cutoff = time.Date(2027, 3, 14, 12, 0, 1, 0, time.UTC) // a DST change day
			c.Accounts = 300
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := SmallConfig()
			tc.change(&cfg)
			got := checkDumpIsState(t, cfg)
			if tc.name != "small" {
				return
			}
			// The dirt a bulk export must carry: escapes survive the round trip.
			var sep, newline bool
			for _, rows := range got {
				for _, r := range rows {
					for _, f := range r {
						sep = sep || strings.Contains(f, "|")
						newline = newline || strings.Contains(f, "\n")
					}
				}
			}
			if !sep || !newline {
				t.Errorf("no value with a '|' (%v) or a line break (%v): escaping is not exercised", sep, newline)
			}
		})
	}
}

func checkDumpIsState(t *testing.T, cfg Config) map[string][]Row {
	dir, m := writeDump(t, cfg)
	w, err := NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]Row{}
	for _, f := range m.Files {
		header, rows := readPart(t, filepath.Join(dir, filepath.FromSlash(f.Path)))
		tab, _ := schemas.Lookup("archtics." + f.Table)
		for i, c := range tab.Columns {
			if header[i] != c.Name {
				t.Fatalf("%s: header column %d is %q, want %q", f.Path, i, header[i], c.Name)
			}
		}
		if int64(len(rows)) != f.Rows {
			t.Errorf("%s: %d rows, manifest says %d", f.Path, len(rows), f.Rows)
		}
		for _, r := range rows {
			if len(r) != len(tab.Columns) {
				t.Fatalf("%s: row with %d fields: %q", f.Path, len(r), r)
			}
		}
		got[f.Team+"/"+f.Table] = append(got[f.Team+"/"+f.Table], rows...)
	}
	before := cfg.Cutoff.Add(-time.Nanosecond)
	for _, team := range w.Teams() {
		for _, tab := range schemas.SourceTables {
			want := w.StateAt(team, tab, before)
			have := got[team+"/"+tab.Name]
			sortRows(want)
			sortRows(have)
			if len(want) == 0 {
				t.Errorf("%s/%s: empty at the cutoff", team, tab.Name)
			}
			if !reflect.DeepEqual(want, have) {
				t.Errorf("%s/%s: dump has %d rows, StateAt(cutoff-1ns) %d, or they differ", team, tab.Name, len(have), len(want))
				for i := range min(len(want), len(have)) {
					if !reflect.DeepEqual(want[i], have[i]) {
						t.Logf("first difference:\n want %q\n have %q", want[i], have[i])
						break
					}
				}
			}
		}
	}
	return got
}

func TestDumpDirtyLines(t *testing.T) {
	cfg := SmallConfig()
	cfg.DirtyLines = true
	dir, m := writeDump(t, cfg)
	if len(m.InjectedFaults) != 3*2*len(cfg.Teams) {
		t.Fatalf("%d injected faults, want 3 per cust and ticket first part: %+v", len(m.InjectedFaults), m.InjectedFaults)
	}
	for _, f := range m.InjectedFaults {
		path := filepath.Join(dir, filepath.FromSlash(f.Path))
		_, rows := readPart(t, path)
		line := rows[f.Line-2] // line 1 is the header
		tab := schemas.Cust
		if strings.Contains(f.Path, "ticket") {
			tab = schemas.Ticket
		}
		bad := len(line) != len(tab.Columns) || strings.Contains(strings.Join(line, "|"), "2026-13-45") ||
			strings.Contains(strings.Join(line, "|"), "A")
		if !bad {
			t.Errorf("%s line %d (%s) looks fine: %q", f.Path, f.Line, f.Reason, line)
		}
	}
}
