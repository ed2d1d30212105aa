package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"archtics/icebergcat/layout"
	"archtics/pipeline/txlog"
	"archtics/storage"
)

// Iceberg publishing runs in its own program, archtics-iceberg
// (cmd/archtics-iceberg): the Iceberg library's package initialisation
// costs every process that links it a long start, and most commands never
// publish. archtics checks the request, records the setting, and runs the
// program for the publish itself, passing the warehouse and the SQL
// catalog's URI in its environment so that neither shows in a process
// list.

// icebergProgramEnv names the program to run instead of looking for it.
const icebergProgramEnv = "ARCHTICS_ICEBERG_PROGRAM"

// icebergProgramName is the program's file name beside archtics.
const icebergProgramName = "archtics-iceberg"

// icebergProgram finds archtics-iceberg: ARCHTICS_ICEBERG_PROGRAM, else
// beside this binary, else on PATH.
func icebergProgram() (string, error) {
	if p := os.Getenv(icebergProgramEnv); p != "" {
		return p, nil
	}
	self, err := os.Executable()
	if err == nil {
		if p := filepath.Join(filepath.Dir(self), icebergProgramName); isExecutable(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath(icebergProgramName); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("iceberg publishing runs in the program %s, found neither beside %s nor on PATH: build it (make build puts it in bin/; or go build -o bin/%s ./cmd/%s) or set %s",
		icebergProgramName, self, icebergProgramName, icebergProgramName, icebergProgramEnv)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// icebergRun is one run of archtics-iceberg publish.
type icebergRun struct {
	warehouse string   // the store's URL
	args      []string // after "publish"
	sqlURI    string   // the SQL catalog's URI, if the publish points it
	stdout    io.Writer
	stderr    io.Writer
}

// errIcebergExit carries the program's exit code.
type errIcebergExit struct {
	code   int
	stderr string // its last lines, when they were captured
}

func (e *errIcebergExit) Error() string {
	if e.stderr != "" {
		return e.stderr
	}
	return fmt.Sprintf("%s exited with code %d", icebergProgramName, e.code)
}

// runIceberg runs archtics-iceberg publish and waits for it. A cancelled
// ctx sends it SIGTERM (it stops within moments, leaving nothing
// partial) and, if it is still running ten seconds later, SIGKILL.
func runIceberg(ctx context.Context, r icebergRun) error {
	prog, err := icebergProgram()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, prog, append([]string{"publish"}, r.args...)...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	env := append(os.Environ(), layout.WarehouseEnv+"="+r.warehouse)
	if r.sqlURI != "" {
		env = append(env, layout.SQLURIEnv+"="+r.sqlURI)
	}
	cmd.Env = env
	cmd.Stdout = r.stdout
	var tail bytes.Buffer
	if r.stderr != nil {
		cmd.Stderr = r.stderr
	} else {
		cmd.Stderr = &tail
	}
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return &errIcebergExit{code: exit.ExitCode(), stderr: strings.TrimSpace(storage.Redact(lastLines(tail.String(), 5)))}
	}
	if err != nil {
		return fmt.Errorf("run %s: %w", prog, err)
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// autoPublishHook is the commit hook of a warehouse whose setting says
// its commits publish (catalog iceberg): after each commit it runs
// archtics-iceberg on the tables the commit touched. The setting is read
// once, at the first commit: a command that commits nothing costs nothing,
// one that does costs a GET when Iceberg is off. ARCHTICS_ICEBERG=0 turns
// the hook off for the process.
func autoPublishHook(l *txlog.Log, getenv func(string) string) {
	if getenv(layout.DisableEnv) == "0" {
		return
	}
	var (
		read     bool
		settings layout.Settings
		readErr  error
	)
	l.OnCommit(func(ctx context.Context, c *txlog.Commit) error {
		if !read {
			settings, _, _, readErr = layout.ReadSettings(ctx, l.Store)
			read = true
		}
		if readErr != nil {
			return fmt.Errorf("iceberg: %w", readErr)
		}
		if !settings.Enabled {
			return nil
		}
		tables := layout.TouchedTables(c)
		if len(tables) == 0 {
			return nil
		}
		r := icebergRun{warehouse: l.Store.URL(), args: []string{"--quiet", "--tables", strings.Join(tables, ",")}}
		var noPointer error
		if settings.Catalog == layout.CatalogSQL {
			if uri := getenv(layout.SQLURIEnv); uri == "" {
				noPointer = fmt.Errorf("iceberg: the warehouse publishes to a SQL catalog but %s is not set: the metadata files are published, the SQL catalog still points at the previous ones (set it, or run archtics catalog iceberg --catalog file)", layout.SQLURIEnv)
			} else {
				r.sqlURI = uri
				r.args = append(r.args, "--sql-catalog-name", settings.SQLCatalogName)
			}
		}
		if err := runIceberg(ctx, r); err != nil {
			return fmt.Errorf("iceberg: publish after %s seq %d (the commit stands; archtics catalog iceberg catches up): %w", c.Stream, c.Seq, err)
		}
		return noPointer
	})
}
