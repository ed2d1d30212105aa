package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestEveryNumericFlagHasBounds walks every command of the app: each
// duration, integer and float flag must have declared bounds (bounds.go)
// its default lies within, and every declared bound must name a flag that
// exists, so the table cannot go stale either.
func TestEveryNumericFlagHasBounds(t *testing.T) {
	app := newApp()
	seen := map[string]map[string]bool{}
	numeric := 0
	check := func(path string, flags []cli.Flag) {
		for _, f := range flags {
			name := f.Names()[0]
			var def float64
			switch f := f.(type) {
			case *cli.DurationFlag:
				def = float64(f.Value)
			case *cli.IntFlag:
				def = float64(f.Value)
			case *cli.Int64Flag:
				def = float64(f.Value)
			case *cli.UintFlag:
				def = float64(f.Value)
			case *cli.Uint64Flag:
				def = float64(f.Value)
			case *cli.Float64Flag:
				def = f.Value
			case *cli.IntSliceFlag, *cli.Int64SliceFlag, *cli.Float64SliceFlag, *cli.UintSliceFlag, *cli.Uint64SliceFlag:
				t.Errorf("%q --%s: a numeric slice flag; checkBounds does not read slices yet: teach it", path, name)
				continue
			default:
				continue
			}
			numeric++
			b, ok := flagBounds[path][name]
			if !ok {
				t.Errorf("%q --%s has no bounds: add them to flagBounds in bounds.go", path, name)
				continue
			}
			if seen[path] == nil {
				seen[path] = map[string]bool{}
			}
			seen[path][name] = true
			// A zero default stands for "the preset" or "the default"
			// on several flags and is not checked when unset.
			if def != 0 && !b.any && !(def >= b.min && def <= b.max) {
				t.Errorf("%q --%s: default %v outside its bounds %s", path, name, def, b.text)
			}
		}
	}
	check("", app.Flags)
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			path := strings.TrimSpace(prefix + " " + c.Name)
			check(path, c.Flags)
			walk(path, c.Subcommands)
		}
	}
	walk("", app.Commands)
	for path, flags := range flagBounds {
		for name := range flags {
			if !seen[path][name] {
				t.Errorf("flagBounds names %q --%s, which is no numeric flag of that command", path, name)
			}
		}
	}
	if numeric < 20 {
		t.Fatalf("found %d numeric flags; the walk misses commands", numeric)
	}
}

// TestFlagOutOfBoundsExit2: a value outside a flag's bounds is a usage
// error before the command does anything, and the message names the flag,
// the value and the range. The negative --overlap ran and lost versions.
func TestFlagOutOfBoundsExit2(t *testing.T) {
	wh := filepath.Join(t.TempDir(), "none")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"incremental", "--team", "nhl", "--source", "http://127.0.0.1:1", "--overlap=-24h"}, []string{"--overlap -24h", "0s..168h"}},
		{[]string{"incremental", "--team", "nhl", "--source", "http://127.0.0.1:1", "--page-size", "0"}, []string{"--page-size 0", "1..10000"}},
		{[]string{"incremental", "--team", "nhl", "--source", "http://127.0.0.1:1", "--keys-page-size=-5"}, []string{"--keys-page-size -5"}},
		{[]string{"log", "--limit=-1"}, []string{"--limit -1"}},
		{[]string{"verify", "--grace=-1s"}, []string{"--grace -1s"}},
		{[]string{"vacuum", "--grace=-1h"}, []string{"--grace -1h"}},
		{[]string{"realtime", "tick", "--team", "nhl", "--source", "x", "--concurrency", "0"}, []string{"--concurrency 0", "1..256"}},
		{[]string{"realtime", "run", "--team", "nhl", "--source", "x", "--every", "0s"}, []string{"--every 0s", "1s..24h"}},
		{[]string{"dedup", "--threshold", "1.5"}, []string{"--threshold 1.5", "0..1"}},
		{[]string{"dedup", "--threshold", "NaN"}, []string{"--threshold NaN"}},
		{[]string{"restore", "--stream", "nhl/clone", "--to=-1"}, []string{"--to -1"}},
		{[]string{"simulate", "dump", "--out", "x", "--accounts", "0"}, []string{"--accounts 0"}},
		{[]string{"--max-future=-1m", "log"}, []string{"--max-future -1m", "0s..876000h"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var code int
			stderr := captureStderr(t, func() {
				code = run(context.Background(), append([]string{"archtics", "--warehouse", wh}, tc.args...))
			})
			if code != exitUsage {
				t.Fatalf("exit %d, want %d\n%s", code, exitUsage, stderr)
			}
			for _, w := range append(tc.want, "out of range") {
				if !strings.Contains(stderr, w) {
					t.Errorf("the message lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestUnknownCommandExit2: a mistyped command, at the top or under a
// group, and a --warehouse scheme no backend opens are usage errors with a
// hint, not exit 3 (the commit-conflict code).
func TestUnknownCommandExit2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"demoo"}, `did you mean "demo"`},
		{[]string{"realtime", "tickk"}, `did you mean "tick"`},
		{[]string{"help", "verfy"}, `did you mean "verify"`},
		{[]string{"zzzzzzzzzz"}, `unknown command "zzzzzzzzzz"`},
		{[]string{"--warehouse", "ftp://x", "log"}, `unsupported scheme "ftp"`},
		{[]string{"--warehouse", "ftp://x", "vacuum"}, `unsupported scheme "ftp"`},
		{[]string{"--warehouse", "ftp://x", "restore", "--stream", "nhl/clone", "--to", "0"}, `unsupported scheme "ftp"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var code int
			stderr := captureStderr(t, func() {
				captureStdout(t, func() { code = run(context.Background(), append([]string{"archtics"}, tc.args...)) })
			})
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s", code, exitUsage, tc.want, stderr)
			}
		})
	}
	// Groups without a word still print their help.
	for _, args := range [][]string{{}, {"realtime"}, {"simulate"}} {
		var code int
		out := captureStdout(t, func() { code = run(context.Background(), append([]string{"archtics"}, args...)) })
		if code != exitOK || !strings.Contains(out, "USAGE") {
			t.Errorf("archtics %v: exit %d, want its help:\n%s", args, code, out)
		}
	}
}
