package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"archtics/schemas"
	"archtics/simulator"
	"archtics/stages/realtime"
	"archtics/storage/storagetest"
)

// tickStopDeadline is how long the test waits for a stopped tick before
// it fails and kills it: generous, as the machine may be loaded. What
// the test asserts is that the tick stopped by itself, not by the
// 10-second grace period's fallback (which says "still stopping").
const tickStopDeadline = 30 * time.Second

// gate holds the requests a predicate picks until it is released (or
// the caller hangs up), and says when the first one arrived.
type gate struct {
	mu  sync.Mutex
	cur *held
}

type held struct {
	match    func(r *http.Request, body []byte) bool
	hit      chan struct{} // closed when the first request is held
	open     chan struct{} // closed by release
	hitOnce  sync.Once
	openOnce sync.Once
}

// hold makes g hold the requests match picks from now on; the returned
// hit channel closes when the first one arrives.
func (g *gate) hold(match func(r *http.Request, body []byte) bool) <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cur = &held{match: match, hit: make(chan struct{}), open: make(chan struct{})}
	return g.cur.hit
}

// release lets the held requests (and later ones) through.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if h := g.cur; h != nil {
		h.openOnce.Do(func() { close(h.open) })
	}
	g.cur = nil
}

func (g *gate) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		g.mu.Lock()
		h := g.cur
		g.mu.Unlock()
		if h != nil && h.match(r, body) {
			h.hitOnce.Do(func() { close(h.hit) })
			select {
			case <-h.open:
			case <-r.Context().Done():
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// TestTickStopsOnSIGTERM runs a real `archtics realtime tick` and sends
// it SIGTERM while it waits at each point of its work: reading the clone
// for the selection, running a slow criteria query, pulling the feed,
// reading the holders, writing the files, committing. Each time it must
// exit 143 by itself (not by the grace period's fallback) and commit
// nothing. The points that wait on storage need S3 (a proxy in front of
// the endpoint holds the requests); the others run on a local folder
// without it.
func TestTickStopsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries")
	}
	ctx := context.Background()
	bin := buildBinary(t)
	slowBin := buildTagged(t, "archtics_unchecked_criteria")
	dir := t.TempDir()
	cfg := simulator.SmallConfig()
	loc, _ := time.LoadLocation(cfg.TimeZone)
	cfg.Cutoff = time.Date(2021, 12, 29, 12, 0, 1, 0, loc).UTC()
	if _, err := simulator.WriteDump(ctx, cfg, simulator.DirDest(filepath.Join(dir, "dump")), nil); err != nil {
		t.Fatal(err)
	}

	// Storage: S3 behind a holding proxy when there is an endpoint.
	s3 := storagetest.HaveS3()
	wh := filepath.Join(dir, "warehouse")
	storeGate := &gate{}
	var childEnv []string
	if s3 {
		wh = storagetest.S3Location(t, "tick-sigterm")
		target, err := url.Parse(os.Getenv("AWS_ENDPOINT_URL"))
		if err != nil {
			t.Fatal(err)
		}
		proxy := httptest.NewServer(storeGate.wrap(httputil.NewSingleHostReverseProxy(target)))
		t.Cleanup(proxy.Close)
		t.Cleanup(storeGate.release) // before the proxy closes: Cleanup runs last-in first-out
		childEnv = append(childEnv, "AWS_ENDPOINT_URL="+proxy.URL)
	}
	base := []string{"archtics", "-w", wh, "--log-level", "error"}
	if code := run(ctx, append(base, "load-dump", "--dump", filepath.Join(dir, "dump"))); code != exitOK {
		t.Fatalf("load-dump: exit %d", code)
	}
	const team = "nhl"
	if code := run(ctx, append(base, "realtime", "criteria", "set", "--team", team, "--effective", "2021-12-31 00:00:00",
		seedSportsConcerts)); code != exitOK {
		t.Fatalf("criteria set: exit %d", code)
	}
	// From 22:00 on, the fragment, set by the build that lets it
	// past the first wall.
	hostile := "length(replace(replace(replace(replace(event_name,'N','" + strings.Repeat("N", 96) + "'),'N','" + strings.Repeat("N", 96) +
		"'),'N','" + strings.Repeat("N", 96) + "'),'N','" + strings.Repeat("N", 96) + "')) > 0"
	set := exec.Command(slowBin, "-w", wh, "--log-level", "error", "realtime", "criteria", "set", "--team", team,
		"--effective", "2022-01-01 22:00:00", hostile)
	set.Env = append(os.Environ(), "ARCHTICS_TEST_UNCHECKED_CRITERIA=1")
	if out, err := set.CombinedOutput(); err != nil {
		t.Fatalf("criteria set (unchecked build): %v\n%s", err, out)
	}

	// The feed, behind its own holding gate.
	world, err := simulator.NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clock := simulator.NewSimClock(world.Cutoff())
	clock.Set(time.Date(2022, 1, 1, 22, 0, 0, 0, loc))
	srv, err := simulator.NewServer(world, simulator.ServerConfig{Token: "t", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	feedGate := &gate{}
	hs := httptest.NewServer(feedGate.wrap(srv))
	t.Cleanup(hs.Close)
	t.Cleanup(feedGate.release)

	w, err := openWarehouseAt(ctx, wh, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	storeKey := func(method, part string) func(*http.Request, []byte) bool {
		return func(r *http.Request, _ []byte) bool {
			return (method == "" || r.Method == method) && strings.Contains(r.URL.Path, part)
		}
	}
	written := func(r *http.Request, _ []byte) bool {
		return r.Method == http.MethodPut && strings.Contains(r.URL.Path, schemas.RTXAttendanceRaw.Prefix())
	}
	for _, tc := range []struct {
		name  string
		s3    bool   // holds a storage request: needs S3
		at    string // the tick's --at
		slow  bool   // runs the unchecked build, whose criteria at 22:00 are the hostile fragment
		gate  *gate
		match func(*http.Request, []byte) bool
		wait  string // or waits for this log line
	}{
		{name: "selection: reading archtics.event", s3: true, at: "2022-01-01 21:00:00", gate: storeGate,
			match: storeKey(http.MethodGet, schemas.Event.Prefix())},
		{name: "selection: a slow criteria query", at: "2022-01-01 22:00:00", slow: true, wait: "realtime: running the criteria"},
		{name: "pulling the feed", at: "2022-01-01 21:00:00", gate: feedGate,
			match: func(_ *http.Request, body []byte) bool { return bytes.Contains(body, []byte(`"attendance"`)) }},
		{name: "holder lookup: reading the clone", s3: true, at: "2022-01-01 21:00:00", gate: storeGate,
			match: storeKey(http.MethodGet, schemas.Cust.Prefix())},
		{name: "writing the files", s3: true, at: "2022-01-01 21:00:00", gate: storeGate, match: written},
		{name: "committing", s3: true, at: "2022-01-01 21:00:00", gate: storeGate,
			match: storeKey(http.MethodPut, "_log/"+realtime.Stream(team)+"/")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.s3 && !s3 {
				t.Skip(storagetest.S3Skip)
			}
			b, env := bin, childEnv
			if tc.slow {
				b, env = slowBin, append(env, "ARCHTICS_TEST_UNCHECKED_CRITERIA=1")
			}
			var hit <-chan struct{}
			if tc.gate != nil {
				hit = tc.gate.hold(tc.match)
				defer tc.gate.release()
			}
			tmp := t.TempDir()
			p := startEnv(t, b, tmp, env, "-w", wh, "--log-level", "debug", "realtime", "tick", "--team", team,
				"--source", hs.URL, "--token", "t", "--cache", filepath.Join(tmp, "cache"), "--at", tc.at)
			if tc.gate != nil {
				select {
				case <-hit:
				case <-p.done:
					t.Fatalf("the tick ended before the held request:\n%s", p.output())
				case <-time.After(2 * time.Minute):
					t.Fatalf("no held request in two minutes:\n%s", p.output())
				}
			} else {
				p.waitFor(t, tc.wait)
				// Let the query get deep into its rows: a signal before it
				// starts stops it before DuckDB is asked anything.
				time.Sleep(2 * time.Second)
			}
			sent := time.Now()
			code := p.stopWithin(t, syscall.SIGTERM, tickStopDeadline)
			took := time.Since(sent)
			t.Logf("stopped %v after SIGTERM", took.Round(time.Millisecond))
			if code != exitSIGTERM {
				t.Errorf("exit code %d after SIGTERM, want %d:\n%s", code, exitSIGTERM, p.output())
			}
			if strings.Contains(p.output(), "still stopping") {
				t.Errorf("the tick did not stop by itself: the grace period's fallback ended it:\n%s", p.output())
			}
			head, err := w.Stream(ctx, realtime.Stream(team))
			if err != nil {
				t.Fatal(err)
			}
			if head.Seq != 0 {
				t.Errorf("the stopped tick committed: %s is at seq %d", realtime.Stream(team), head.Seq)
			}
		})
	}
}

// buildTagged builds cmd/archtics with a build tag into a temporary
// folder removed when t ends.
func buildTagged(t *testing.T, tag string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "archtics-bin-"+tag+"-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "archtics")
	if out, err := exec.Command("go", "build", "-tags", tag, "-o", path, ".").CombinedOutput(); err != nil {
		t.Fatal(errors.New("go build -tags " + tag + ": " + err.Error() + "\n" + string(out)))
	}
	return path
}
