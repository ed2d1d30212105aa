package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"archtics/schemas"
	"archtics/simulator"
	"archtics/stages/realtime"
	"archtics/storage/storagetest"
)

// TestReconcileStopsOnSIGTERM runs a real `archtics realtime reconcile`
// over a warehouse on S3 whose day is ticked and whose clone holds the
// standard attendance, and sends it SIGTERM while a proxy in front of the
// endpoint holds its first reconcile file's upload, then its commit. Each
// time it must exit 143 by itself and commit nothing; a rerun then
// reconciles every event.
func TestReconcileStopsOnSIGTERM(t *testing.T) {
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
	for _, tc := range []struct {
		name  string
		match func(*http.Request, []byte) bool
	}{
		{"writing the files", func(r *http.Request, _ []byte) bool {
			return r.Method == http.MethodPut && strings.Contains(r.URL.Path, schemas.RTXReconcile.Prefix())
		}},
		{"committing", func(r *http.Request, _ []byte) bool {
			return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "_log/"+realtime.Stream(team)+"/")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hit := storeGate.hold(tc.match)
			defer storeGate.release()
			tmp := t.TempDir()
			p := startEnv(t, bin, tmp, []string{"AWS_ENDPOINT_URL=" + proxy.URL}, "-w", wh, "--log-level", "debug",
				"realtime", "reconcile", "--team", team, "--cache", filepath.Join(tmp, "cache"))
			select {
			case <-hit:
			case <-p.done:
				t.Fatalf("reconcile ended before the held request:\n%s", p.output())
			case <-time.After(2 * time.Minute):
				t.Fatalf("no held request in two minutes:\n%s", p.output())
			}
			code := p.stopWithin(t, syscall.SIGTERM, tickStopDeadline)
			if code != exitSIGTERM {
				t.Errorf("exit code %d after SIGTERM, want %d:\n%s", code, exitSIGTERM, p.output())
			}
			if strings.Contains(p.output(), "still stopping") {
				t.Errorf("reconcile did not stop by itself:\n%s", p.output())
			}
			after, err := w.Stream(ctx, realtime.Stream(team))
			if err != nil {
				t.Fatal(err)
			}
			if after.Seq != head.Seq {
				t.Errorf("the stopped reconcile committed: %s at seq %d, was %d", realtime.Stream(team), after.Seq, head.Seq)
			}
		})
	}
	out := captureStdout(t, func() {
		if code := run(ctx, append(append([]string{}, base...), "realtime", "reconcile", "--team", team, "--cache", cache)); code != exitOK {
			t.Errorf("the rerun: exit %d", code)
		}
	})
	if !strings.Contains(out, ": reconciled:") || strings.Contains(out, "not reconciled") {
		t.Errorf("the rerun after the stops should reconcile every event:\n%s", out)
	}
}
