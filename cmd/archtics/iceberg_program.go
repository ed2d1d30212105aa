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

// autoPublishHook registers on l the hook that runs archtics-iceberg on
// the tables each commit touched, when the warehouse's setting says its
// commits publish (layout.OnCommitPublish decides when).
func autoPublishHook(l *txlog.Log, getenv func(string) string) {
	layout.OnCommitPublish(l, getenv, func(ctx context.Context, req layout.PublishRequest) error {
		r := icebergRun{warehouse: l.Store.URL(), args: []string{"--quiet", "--tables", strings.Join(req.Tables, ",")}}
		if req.SQLURI != "" {
			r.sqlURI = req.SQLURI
			r.args = append(r.args, "--sql-catalog-name", req.SQLCatalogName)
		}
		return runIceberg(ctx, r)
	})
}
