package reliability

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"archtics/simulator"
)

// The suite's knobs, all from the environment so `make` can set them.
const (
	// modeEnv = full runs the full form (make reliability); anything else,
	// the short form that make test runs.
	modeEnv = "ARCHTICS_RELIABILITY"
	// seedEnv fixes the base seed every random choice derives from.
	seedEnv = "ARCHTICS_RELIABILITY_SEED"
	// trialEnv runs a single crash trial of each selected stage, with
	// this trial seed (as a failure prints it).
	trialEnv = "ARCHTICS_RELIABILITY_TRIAL"
)

// token is the source's bearer token in every test but the secrets one.
const token = "reliability-token"

func full() bool { return os.Getenv(modeEnv) == "full" }

// baseSeed is the seed of this run: the environment's, else a fixed one
// in the short form (make test stays repeatable) and the clock in the full
// form (each run explores new points). It is printed either way.
var baseSeed = sync.OnceValue(func() uint64 {
	if s := os.Getenv(seedEnv); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			panic(fmt.Sprintf("%s=%q: want an unsigned integer", seedEnv, s))
		}
		return v
	}
	if full() {
		return uint64(time.Now().UnixNano() % 1_000_000_000)
	}
	return 17
})

// subSeed derives a seed for one part of the suite from the base seed.
func subSeed(parts ...any) uint64 {
	h := fnv.New64a()
	fmt.Fprint(h, baseSeed())
	for _, p := range parts {
		fmt.Fprint(h, "/", p)
	}
	return h.Sum64()
}

// progress prints a line as the suite goes (go test -v streams stdout).
func progress(format string, args ...any) {
	fmt.Printf("reliability: "+format+"\n", args...)
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
	// scratch holds what the shared setup builds (the binary, the dump,
	// the snapshots): several tests use it, so it outlives any one test.
	scratch string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "archtics-reliability-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	scratch = dir
	code := m.Run()
	printTable(os.Stdout)
	os.RemoveAll(scratch)
	os.Exit(code)
}

// binary builds cmd/archtics once, with go build, as make build does, and
// archtics-iceberg beside it (archtics runs it to publish Iceberg tables).
func binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binPath = filepath.Join(scratch, "archtics")
		for _, b := range [][2]string{{binPath, "../cmd/archtics"}, {filepath.Join(scratch, "archtics-iceberg"), "../cmd/archtics-iceberg"}} {
			out, err := exec.Command("go", "build", "-o", b[0], b[1]).CombinedOutput()
			if err != nil {
				binErr = fmt.Errorf("go build %s: %v\n%s", b[1], err, out)
				return
			}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// run is one archtics process.
type run struct {
	cmd    *exec.Cmd
	out    bytes.Buffer // stdout and stderr
	done   chan struct{}
	err    error
	start  time.Time
	exited time.Duration
}

// runSpec says how to start archtics: its arguments after the global
// flags, the warehouse, where its temporary files and cache go, and extra
// environment.
type runSpec struct {
	wh, tmp, cache string
	args           []string
	env            []string
}

func (s runSpec) command(bin string) *exec.Cmd {
	cmd := exec.Command(bin, append([]string{"--warehouse", s.wh}, s.args...)...)
	env := append(os.Environ(),
		"TMPDIR="+s.tmp, "ARCHTICS_CACHE="+s.cache, "ARCHTICS_LOG_FORMAT=text", "ARCHTICS_LOG_LEVEL=warn",
		"ARCHTICS_SOURCE_TOKEN="+token)
	cmd.Env = append(env, s.env...)
	// Its own process group, so a kill reaches anything it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

func start(t testing.TB, s runSpec) *run {
	t.Helper()
	for _, d := range []string{s.tmp, s.cache} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r := &run{cmd: s.command(binary(t)), done: make(chan struct{}), start: time.Now()}
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r.err = r.cmd.Wait()
		r.exited = time.Since(r.start)
		close(r.done)
	}()
	return r
}

// code is the exit code of a finished run (-1: killed by a signal).
func (r *run) code() int { return r.cmd.ProcessState.ExitCode() }

func (r *run) kill() {
	syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	<-r.done
}

// runToEnd runs s to its end and returns its exit code and output.
func runToEnd(t testing.TB, s runSpec) (int, string) {
	t.Helper()
	r := start(t, s)
	select {
	case <-r.done:
	case <-time.After(5 * time.Minute):
		r.kill()
		t.Fatalf("archtics %s ran past 5 minutes:\n%s", strings.Join(s.args, " "), r.out.String())
	}
	return r.code(), r.out.String()
}

// copyTree copies a warehouse snapshot (a missing src copies to nothing).
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
		return
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a %s %s: %v\n%s", src, dst, err, out)
	}
}

// world is the tiny simulated client every case shares: the dump, its CRM
// files, and the source served twice (faultless, and failing a share of
// calls), each on its own simulated clock.
type world struct {
	cfg    simulator.Config
	sim    *simulator.World
	loc    *time.Location
	dump   string
	crm    string
	url    string
	clock  *simulator.SimClock
	faulty struct {
		url    string
		clock  *simulator.SimClock
		faults *simulator.Faults
	}
}

// tinyConfig is the smallest world that still has every stage's work: a
// few hundred accounts, a handful of events, merges and duplicates to
// sweep and dedup, and the doubleheader three days after a cutoff of
// 2021-12-29 for the realtime ticks.
func tinyConfig() simulator.Config {
	cfg := simulator.SmallConfig()
	cfg.Accounts = 200
	cfg.Seasons = 1
	cfg.EventsPerSeason = 6
	cfg.TicketsPerEvent = 40
	cfg.MergeRate = 0.5
	cfg.DuplicateRate = 0.2
	cfg.DaysAfterCutoff = 12
	cfg.PartRows = 200
	loc, _ := time.LoadLocation(cfg.TimeZone)
	cfg.Cutoff = time.Date(2021, 12, 29, 12, 0, 1, 0, loc).UTC()
	return cfg
}

var (
	worldOnce sync.Once
	theWorld  *world
	worldErr  error
)

func sharedWorld(t testing.TB) *world {
	t.Helper()
	worldOnce.Do(func() { theWorld, worldErr = newWorld() })
	if worldErr != nil {
		t.Fatal(worldErr)
	}
	return theWorld
}

func newWorld() (*world, error) {
	w := &world{cfg: tinyConfig()}
	w.loc, _ = time.LoadLocation(w.cfg.TimeZone)
	w.dump = filepath.Join(scratch, "dump")
	w.crm = filepath.Join(w.dump, "crm")
	if _, err := simulator.WriteDump(context.Background(), w.cfg, simulator.DirDest(w.dump), nil); err != nil {
		return nil, err
	}
	sim, err := simulator.NewWorld(w.cfg)
	if err != nil {
		return nil, err
	}
	w.sim = sim
	w.clock = simulator.NewSimClock(sim.Cutoff())
	srv, err := simulator.NewServer(sim, simulator.ServerConfig{Token: token, Clock: w.clock})
	if err != nil {
		return nil, err
	}
	w.url = httptest.NewServer(srv).URL
	// The faulty source: every kind but "slow" (which only waits), at the
	// rate the issue names.
	w.faulty.faults, err = simulator.NewFaults(simulator.FaultConfig{})
	if err != nil {
		return nil, err
	}
	w.faulty.clock = simulator.NewSimClock(sim.Cutoff())
	fsrv, err := simulator.NewServer(sim, simulator.ServerConfig{Token: token, Clock: w.faulty.clock, Faults: w.faulty.faults})
	if err != nil {
		return nil, err
	}
	w.faulty.url = httptest.NewServer(fsrv).URL
	return w, nil
}

// local formats an instant as the client's wall clock, as the commands
// take it.
func (w *world) local(t time.Time) string { return t.In(w.loc).Format(time.DateTime) }
