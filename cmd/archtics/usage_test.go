package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"archtics/simulator"
)

// TestMissingRequiredFlagExits2: every command with a required flag,
// run without it, is a usage error (exit 2, as the README says), not a
// failure (urfave/cli's own check made it exit 4).
func TestMissingRequiredFlagExits2(t *testing.T) {
	found := 0
	var walk func(prefix []string, cmds []*cli.Command)
	walk = func(prefix []string, cmds []*cli.Command) {
		for _, c := range cmds {
			args := append(append([]string{}, prefix...), c.Name)
			for _, f := range c.Flags {
				df, ok := f.(cli.DocGenerationFlag)
				if !ok || !strings.HasSuffix(df.GetUsage(), "(required)") {
					continue
				}
				found++
				argv := append([]string{"archtics", "--warehouse", filepath.Join(t.TempDir(), "w")}, args...)
				if code := run(context.Background(), argv); code != exitUsage {
					t.Errorf("%s without --%s: exit %d, want %d", strings.Join(args, " "), f.Names()[0], code, exitUsage)
				}
			}
			walk(args, c.Subcommands)
		}
	}
	walk(nil, newApp().Commands)
	if found < 2 {
		t.Fatalf("found %d required flags, want at least load-dump --dump and simulate dump --out", found)
	}
}

// TestLoadDumpLeavesNoEmptyWarehouse: a load that fails before committing
// (a damaged part, a --dump that is a file) exits with an error and does
// not leave behind the warehouse folders it created.
func TestLoadDumpLeavesNoEmptyWarehouse(t *testing.T) {
	dir := t.TempDir()
	dump := filepath.Join(dir, "dump")
	if _, err := simulator.WriteDump(context.Background(), simulator.SmallConfig(), simulator.DirDest(dump), nil); err != nil {
		t.Fatal(err)
	}
	// A part of the first team loaded: nothing is committed before it.
	m := readManifest(t, dump)
	part := filepath.Join(dump, filepath.FromSlash(m.Files[len(m.Files)/4].Path))
	if m.Files[len(m.Files)/4].Team != m.Files[0].Team {
		t.Fatalf("the manifest lists %s before %s's files end", m.Files[len(m.Files)/4].Path, m.Files[0].Team)
	}
	data, err := os.ReadFile(part)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(part, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dump string
		want       int
	}{
		{"damaged part", dump, exitFailure},
		{"--dump names a file", filepath.Join(dump, simulator.ManifestName), exitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top := filepath.Join(t.TempDir(), "new")
			wh := filepath.Join(top, "warehouses", "w")
			code := run(context.Background(), []string{"archtics", "--log-level", "error", "--warehouse", wh, "load-dump", "--dump", tc.dump})
			if code != tc.want {
				t.Errorf("exit %d, want %d", code, tc.want)
			}
			if _, err := os.Stat(top); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the failed load left %s behind (%v)", top, err)
			}
		})
	}
	// A warehouse folder that existed before is the user's: kept.
	wh := t.TempDir()
	if code := run(context.Background(), []string{"archtics", "--log-level", "error", "--warehouse", wh, "load-dump", "--dump", dump}); code != exitFailure {
		t.Errorf("damaged part into an existing folder: exit %d, want %d", code, exitFailure)
	}
	if _, err := os.Stat(wh); err != nil {
		t.Errorf("the failed load removed the existing warehouse folder: %v", err)
	}
}
