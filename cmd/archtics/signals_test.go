package main

import (
	"bufio"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"archtics/icebergcat/publishcmd"
	"archtics/simulator"
)

// stopDeadline is how soon a command must exit after SIGINT or SIGTERM
// (the figure). A test-side deadline: past it the test fails and
// kills the process, rather than hang.
const stopDeadline = 5 * time.Second

// TestStopOnSignal runs the real binary (built once, here) on long commands
// and stops each with a signal once it is under way: it must exit within
// stopDeadline with the signal's exit code, having committed nothing and
// left nothing behind (no spool folder, no partial dump).
func TestStopOnSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and writes a 1.7 M-row dump")
	}
	bin := buildBinary(t)

	t.Run("load-dump SIGTERM", func(t *testing.T) {
		dir := t.TempDir()
		// About 1.75 M rows: several seconds of loading on an idle 2-core
		// machine, far more under load. The signal comes after the first
		// file is read, and the test fails if a commit shows up, so a load
		// that finished before it could not pass unnoticed.
		cfg := simulator.DefaultConfig()
		cfg.Accounts = 100_000
		cfg.TicketsPerEvent = 6000
		cfg.PartRows = 200_000
		dump := filepath.Join(dir, "dump")
		if _, err := simulator.WriteDump(context.Background(), cfg, simulator.DirDest(dump), nil); err != nil {
			t.Fatal(err)
		}
		wh, tmp := filepath.Join(dir, "warehouse"), filepath.Join(dir, "tmp")
		if err := os.Mkdir(tmp, 0o755); err != nil {
			t.Fatal(err)
		}
		p := startCommand(t, bin, tmp, "--warehouse", wh, "load-dump", "--dump", dump)
		p.waitFor(t, "load-dump: file read")
		code := p.stop(t, syscall.SIGTERM)
		if code != exitSIGTERM {
			t.Errorf("exit code %d after SIGTERM, want %d\n%s", code, exitSIGTERM, p.output())
		}
		if commits := filesUnder(t, filepath.Join(wh, "_log")); len(commits) > 0 {
			t.Errorf("the stopped load left commit log entries: %v", commits)
		}
		if left := filesUnder(t, tmp); len(left) > 0 {
			t.Errorf("the stopped load left spool files behind: %v", left)
		}
		if _, err := os.Stat(wh); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the stopped load left the warehouse folder it created (%v): %v", err, filesUnder(t, wh))
		}
	})

	t.Run("simulate dump SIGINT", func(t *testing.T) {
		dir := t.TempDir()
		out, tmp := filepath.Join(dir, "dump"), filepath.Join(dir, "tmp")
		if err := os.Mkdir(tmp, 0o755); err != nil {
			t.Fatal(err)
		}
		p := startCommand(t, bin, tmp, "simulate", "dump", "--accounts", "500000", "--out", out)
		// Under way once its first part file exists.
		waitUntil(t, "a dump file under "+out, func() bool { return len(filesUnder(t, out)) > 0 })
		code := p.stop(t, os.Interrupt)
		if code != exitSIGINT {
			t.Errorf("exit code %d after SIGINT, want %d\n%s", code, exitSIGINT, p.output())
		}
		if left := filesUnder(t, out); len(left) > 0 {
			t.Errorf("the stopped dump left files behind: %v", left)
		}
	})

	t.Run("simulate serve SIGTERM", func(t *testing.T) {
		p := startCommand(t, bin, t.TempDir(), "simulate", "serve", "--scale", "small", "--addr", "127.0.0.1:0")
		p.waitFor(t, "url:")
		if code := p.stop(t, syscall.SIGTERM); code != exitSIGTERM {
			t.Errorf("exit code %d after SIGTERM, want %d\n%s", code, exitSIGTERM, p.output())
		}
	})
}

// TestWatchSignals: the first signal cancels the context with the signal
// as its cause; a second one, or the grace period ending first, exits
// with the signal's code.
func TestWatchSignals(t *testing.T) {
	for _, tc := range []struct {
		name     string
		signals  []os.Signal
		wantExit int
	}{
		{"second signal exits at once", []os.Signal{syscall.SIGTERM, os.Interrupt}, exitSIGINT},
		{"grace period over", []os.Signal{syscall.SIGTERM}, exitSIGTERM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			sigs := make(chan os.Signal, 2)
			exited := make(chan int, 1)
			grace := time.Hour
			if len(tc.signals) == 1 {
				grace = time.Millisecond
			}
			var stderr strings.Builder
			go watchSignals(sigs, cancel, grace, &stderr, func(code int) { exited <- code })
			sigs <- tc.signals[0]
			<-ctx.Done()
			var intr *interrupted
			if !errors.As(context.Cause(ctx), &intr) || intr.sig != tc.signals[0] {
				t.Fatalf("context cause %v, want the first signal", context.Cause(ctx))
			}
			for _, s := range tc.signals[1:] {
				sigs <- s
			}
			if code := <-exited; code != tc.wantExit {
				t.Errorf("exit %d, want %d", code, tc.wantExit)
			}
		})
	}
}

// TestInterruptedExitCode: run reports a command stopped by a signal with
// the signal's exit code, not as a failure.
func TestInterruptedExitCode(t *testing.T) {
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(&interrupted{sig})
		args := []string{"archtics", "--log-level", "error", "simulate", "dump", "--scale", "small", "--out", filepath.Join(t.TempDir(), "dump")}
		if code, want := run(ctx, args), signalExitCode(sig); code != want {
			t.Errorf("%s: exit %d, want %d", signalName(sig), code, want)
		}
	}
}

var built struct {
	once sync.Once
	path string
	err  error
}

// buildBinary builds cmd/archtics once per test binary run, with go build,
// as make build does.
func buildBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "archtics-bin-*")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "archtics")
		out, err := exec.Command("go", "build", "-o", built.path, ".").CombinedOutput()
		if err != nil {
			built.err = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

func TestMain(m *testing.M) {
	// The test binary doubles as archtics-iceberg, which archtics runs
	// to publish (iceberg_program.go): invoked as "<binary> publish ...",
	// it is that program, so the tests need not build it.
	if len(os.Args) > 1 && os.Args[1] == "publish" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := publishcmd.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	if self, err := os.Executable(); err == nil {
		os.Setenv(icebergProgramEnv, self)
	}
	code := m.Run()
	if built.path != "" {
		os.RemoveAll(filepath.Dir(built.path))
	}
	os.Exit(code)
}

// process is a running archtics command whose stderr is collected.
type process struct {
	cmd   *exec.Cmd
	done  chan struct{} // closed when the process has exited
	mu    sync.Mutex
	lines []string
	seen  chan string // each stderr line, for waitFor
}

// startCommand starts the binary with args, TMPDIR set to tmp (where the
// spool folders go) and logs as text.
func startCommand(t *testing.T, bin, tmp string, args ...string) *process {
	t.Helper()
	return startEnv(t, bin, tmp, []string{"ARCHTICS_LOG_LEVEL=info"}, args...)
}

// startEnv is startCommand with env added to the child's environment.
func startEnv(t *testing.T, bin, tmp string, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "TMPDIR="+tmp, "ARCHTICS_LOG_FORMAT=text"), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, done: make(chan struct{}), seen: make(chan string, 1024)}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			select {
			case p.seen <- sc.Text():
			default:
			}
		}
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

// waitFor waits for a stderr line containing s, failing the test if the
// process exits first or a minute passes.
func (p *process) waitFor(t *testing.T, s string) {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case line := <-p.seen:
			if strings.Contains(line, s) {
				return
			}
		case <-p.done:
			t.Fatalf("the command exited before logging %q:\n%s", s, p.output())
		case <-timeout:
			t.Fatalf("no %q logged in a minute:\n%s", s, p.output())
		}
	}
}

// stop sends sig and returns the exit code, failing the test (and killing
// the process) if it has not exited within stopDeadline.
func (p *process) stop(t *testing.T, sig os.Signal) int {
	t.Helper()
	return p.stopWithin(t, sig, stopDeadline)
}

// stopWithin is stop with the deadline given.
func (p *process) stopWithin(t *testing.T, sig os.Signal, deadline time.Duration) int {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(deadline):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("still running %s after %v:\n%s", deadline, sig, p.output())
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// filesUnder lists the files below root (none when root does not exist).
func filesUnder(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// waitUntil polls cond until it holds, failing the test after a minute.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after a minute", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
