package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"archtics/schemas"
	"archtics/simulator"
	"archtics/stages/realtime"
	"archtics/storage/storagetest"
)

// TestRefreshAndReconcileStopOnSIGTERM runs a real `archtics realtime
// refresh`, then `archtics realtime reconcile`, over a warehouse on S3
// whose day is ticked and whose clone holds the standard attendance, and
// sends each SIGTERM while a proxy in front of the endpoint holds its
// first file's upload (event seats, a reconcile row), then its commit.
// Each time it must exit 143 by itself and commit nothing. Then two
// refreshes run at once: one commits, the other loses the race (exit 3)
// or finds nothing left to do, and every event has one seats file; a
// reconcile rerun reconciles every event.
func TestRefreshAndReconcileStopOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	if !storagetest.HaveS3() {
		t.Skip(storagetest.S3Skip)
	}
	ctx := context.Background()
	bin := buildBinary(t)
	dir := t.TempDir()
	cfg := simulator.SmallConfig()
	dump, src, clock := simulatedSource(t, cfg, dir, 0)
	world, err := simulator.NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	loc := world.Location()
	wh := storagetest.S3Location(t, "reconcile-sigterm")
	target, err := url.Parse(os.Getenv("AWS_ENDPOINT_URL"))
	if err != nil {
		t.Fatal(err)
	}
	storeGate := &gate{}
	proxy := httptest.NewServer(storeGate.wrap(httputil.NewSingleHostReverseProxy(target)))
	t.Cleanup(proxy.Close)
	t.Cleanup(storeGate.release)

	const team = "nhl"
	cache := filepath.Join(dir, "cache")
	base := []string{"archtics", "-w", wh, "--log-level", "error"}
	must := func(args ...string) {
		t.Helper()
		var code int
		out := captureStdout(t, func() { code = run(ctx, append(append([]string{}, base...), args...)) })
		if code != exitOK {
			t.Fatalf("archtics %s: exit %d\n%s", strings.Join(args, " "), code, out)
		}
	}
	must("load-dump", "--dump", dump, "--team", team)
	must("realtime", "criteria", "set", "--team", team, "--effective", world.Cutoff().In(loc).Format(time.DateTime), seedSportsConcerts)
	cut := world.Cutoff().In(loc)
	day := time.Date(cut.Year(), cut.Month(), cut.Day()+3, 7, 0, 0, 0, loc)
	end := day.Add(21 * time.Hour)
	for at := day; !at.After(end); at = at.Add(3 * time.Hour) {
		clock.Set(at)
		must("realtime", "tick", "--team", team, "--source", src, "--cache", cache, "--at", at.In(loc).Format(time.DateTime))
	}
	pulled := end.Add(realtime.DefaultPostingDelay + 6*time.Hour)
	clock.Set(pulled)
	must("incremental", "--team", team, "--source", src, "--until", pulled.UTC().Format(time.RFC3339))
	w, err := openWarehouseAt(ctx, wh, nil)
	if err != nil {
		t.Fatal(err)
	}
	head, err := w.Stream(ctx, realtime.Stream(team))
	if err != nil {
		t.Fatal(err)
	}
	stopDuring := func(command string, table *schemas.Table) {
		for _, tc := range []struct {
			name  string
			match func(*http.Request, []byte) bool
		}{
			{"writing the files", func(r *http.Request, _ []byte) bool {
				return r.Method == http.MethodPut && strings.Contains(r.URL.Path, table.Prefix())
			}},
			{"committing", func(r *http.Request, _ []byte) bool {
				return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "_log/"+realtime.Stream(team)+"/")
			}},
		} {
			t.Run(command+" "+tc.name, func(t *testing.T) {
				hit := storeGate.hold(tc.match)
				defer storeGate.release()
				tmp := t.TempDir()
				p := startEnv(t, bin, tmp, []string{"AWS_ENDPOINT_URL=" + proxy.URL}, "-w", wh, "--log-level", "debug",
					"realtime", command, "--team", team, "--cache", filepath.Join(tmp, "cache"))
				select {
				case <-hit:
				case <-p.done:
					t.Fatalf("%s ended before the held request:\n%s", command, p.output())
				case <-time.After(2 * time.Minute):
					t.Fatalf("no held request in two minutes:\n%s", p.output())
				}
				code := p.stopWithin(t, syscall.SIGTERM, tickStopDeadline)
				if code != exitSIGTERM {
					t.Errorf("exit code %d after SIGTERM, want %d:\n%s", code, exitSIGTERM, p.output())
				}
				if strings.Contains(p.output(), "still stopping") {
					t.Errorf("%s did not stop by itself:\n%s", command, p.output())
				}
				after, err := w.Stream(ctx, realtime.Stream(team))
				if err != nil {
					t.Fatal(err)
				}
				if after.Seq != head.Seq {
					t.Errorf("the stopped %s committed: %s at seq %d, was %d", command, realtime.Stream(team), after.Seq, head.Seq)
				}
			})
		}
	}
	stopDuring("refresh", schemas.RTXEventSeats)

	// Two refreshes at once, each a process of its own.
	var procs []*process
	for i := range 2 {
		tmp := t.TempDir()
		procs = append(procs, startEnv(t, bin, tmp, nil, "-w", wh, "--log-level", "error",
			"realtime", "refresh", "--team", team, "--cache", filepath.Join(tmp, "cache"+strconv.Itoa(i))))
	}
	var codes []int
	for _, p := range procs {
		select {
		case <-p.done:
		case <-time.After(3 * time.Minute):
			t.Fatalf("a refresh ran three minutes:\n%s", p.output())
		}
		codes = append(codes, p.cmd.ProcessState.ExitCode())
	}
	slices.Sort(codes)
	if codes[0] != exitOK || codes[1] != exitOK && codes[1] != exitConflict {
		t.Errorf("two refreshes at once exited %v, want one 0 and the other 0 or %d:\n%s\n%s", codes, exitConflict, procs[0].output(), procs[1].output())
	}
	after, err := w.Stream(ctx, realtime.Stream(team))
	if err != nil {
		t.Fatal(err)
	}
	if after.Seq != head.Seq+1 {
		t.Errorf("two refreshes at once moved %s from %d to %d, want one commit", realtime.Stream(team), head.Seq, after.Seq)
	}
	perEvent := map[string]int{}
	for _, e := range after.TableFiles(schemas.RTXEventSeats.FullName()) {
		perEvent[e.Partition["event_id"]]++
	}
	if len(perEvent) == 0 {
		t.Error("the refresh derived no event's seats")
	}
	for ev, n := range perEvent {
		if n != 1 {
			t.Errorf("event %s has %d seats files, want 1", ev, n)
		}
	}
	head = after

	stopDuring("reconcile", schemas.RTXReconcile)
	out := captureStdout(t, func() {
		if code := run(ctx, append(append([]string{}, base...), "realtime", "reconcile", "--team", team, "--cache", cache)); code != exitOK {
			t.Errorf("the rerun: exit %d", code)
		}
	})
	if !strings.Contains(out, ": reconciled:") || strings.Contains(out, "not reconciled") {
		t.Errorf("the rerun after the stops should reconcile every event:\n%s", out)
	}
}
