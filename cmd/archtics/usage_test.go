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
	"archtics/storage"
	"archtics/storage/backend"
	"archtics/storage/storagetest"
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

// TestWriteDumpRemovesPartialDump: a dump stopped half way removes every
// file it wrote, finished or not, and the local folder it created; a
// folder that existed before stays. On S3 the objects it put are deleted,
// so a rerun into the same prefix is not refused.
func TestWriteDumpRemovesPartialDump(t *testing.T) {
	for _, tc := range []struct {
		name    string
		out     func(t *testing.T) string
		existed bool
	}{
		{"new folder", func(t *testing.T) string { return filepath.Join(t.TempDir(), "dump") }, false},
		{"existing folder", func(t *testing.T) string { return t.TempDir() }, true},
		{"s3", func(t *testing.T) string { return storagetest.S3Location(t, "cmd-stopped-dump") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := tc.out(t)
			run, err := openDumpDest(context.Background(), out)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// Stop once some rows are written: some parts are finished by
			// then, others open.
			_, err = writeDump(ctx, simulator.SmallConfig(), run, func(string, int64) { cancel() })
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("stopped dump: %v, want context.Canceled", err)
			}
			placed, open := 0, 0
			for _, f := range run.files {
				if f.placed {
					placed++
				} else if !f.closed {
					open++
				}
			}
			if placed == 0 {
				t.Fatalf("the dump was stopped before it finished a file (%d open): the test tests too little", open)
			}
			if strings.HasPrefix(out, "s3://") {
				st, err := backend.Open(context.Background(), out)
				if err != nil {
					t.Fatal(err)
				}
				var left []string
				if err := st.List(context.Background(), "", "", func(o storage.ObjectInfo) error {
					left = append(left, o.Key)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if len(left) > 0 {
					t.Errorf("the stopped dump left %v", left)
				}
				return
			}
			if left := filesUnder(t, out); len(left) > 0 {
				t.Errorf("the stopped dump left %v", left)
			}
			if _, err := os.Stat(out); tc.existed != (err == nil) {
				t.Errorf("folder existed before: %v; after: %v", tc.existed, err)
			}
		})
	}
}
