package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"archtics/ats"
	"archtics/schemas"
	"archtics/simulator"
	"archtics/stages/realtime"
	"archtics/stages/watch"
)

// watchWarehouse is a warehouse holding the small world's clone of nhl,
// loaded through the commands, and the world.
func watchWarehouse(t *testing.T) (wh, cache string, world *simulator.World) {
	t.Helper()
	dir := t.TempDir()
	dump, wh := filepath.Join(dir, "dump"), filepath.Join(dir, "warehouse")
	for _, args := range [][]string{
		{"simulate", "dump", "--scale", "small", "--out", dump},
		{"--warehouse", wh, "load-dump", "--dump", dump, "--team", "nhl"},
	} {
		var code int
		out := captureStderr(t, func() {
			code = run(context.Background(), append([]string{"archtics", "--log-level", "error"}, args...))
		})
		if code != exitOK {
			t.Fatalf("archtics %s: exit %d\n%s", strings.Join(args, " "), code, out)
		}
	}
	world, err := simulator.NewWorld(simulator.SmallConfig())
	if err != nil {
		t.Fatal(err)
	}
	return wh, filepath.Join(dir, "cache"), world
}

// TestWatchCommands runs the watch commands as a user does: exit codes,
// what they print, and that the webhook's path, query, credentials and
// secret appear in no output, --help included.
func TestWatchCommands(t *testing.T) {
	ctx := context.Background()
	wh, cache, _ := watchWarehouse(t)
	dir := t.TempDir()
	list := filepath.Join(dir, "vips.csv")
	if err := os.WriteFile(list, []byte("acct_id,label,note\n100042,VIP,owner's box\n100043,\"Sponsor X, guests\"\n100044,\"'); DROP TABLE korebi.watch_list; --\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.csv")
	if err := os.WriteFile(huge, []byte("1,"+strings.Repeat("x", 1<<20)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const hook = "https://hooks.example.com/services/SECRETPATH?token=QTOKEN"
	secrets := []string{"SECRETPATH", "QTOKEN", "pw0rd", "s3cr3t-value"}
	t.Setenv("NHL_WATCH_SECRET", "s3cr3t-value")
	base := []string{"archtics", "--warehouse", wh, "--log-level", "error", "realtime", "watch"}
	for _, tc := range []struct {
		name string
		args []string
		want int
		out  []string // in stdout
		err  []string // in stderr
	}{
		{"help", []string{"--help"}, exitOK, []string{"deliver", "Idempotency-Key"}, nil},
		{"set --help", []string{"set", "--help"}, exitOK, []string{"--webhook URL", "--secret-env VARIABLE"}, nil},
		{"list before any", []string{"list", "--team", "nhl", "--cache", cache}, exitOK, []string{"no watch list set"}, nil},
		{"set a list and a webhook", []string{"set", "--team", "nhl", "--file", list, "--webhook", hook, "--secret-env", "NHL_WATCH_SECRET", "--by", "alice", "--note", "opening night", "--cache", cache},
			exitOK, []string{"version 1 set by alice", "3 accounts", "https://hooks.example.com/... (signed with $NHL_WATCH_SECRET)"}, nil},
		{"credentials in the URL", []string{"set", "--team", "nhl", "--webhook", "https://bob:pw0rd@hooks.example.com/x", "--cache", cache},
			exitUsage, nil, []string{"carries a user name or password", "nothing was written"}},
		{"ftp", []string{"set", "--team", "nhl", "--webhook", "ftp://hooks.example.com/SECRETPATH", "--cache", cache}, exitUsage, nil, []string{`scheme is "ftp"`}},
		{"a 1 MB label", []string{"add", "--team", "nhl", "--file", huge, "--cache", cache}, exitUsage, nil, []string{"line 1 is longer than"}},
		{"acct_id 0", []string{"add", "--team", "nhl", "--acct", "0", "--label", "VIP"}, exitUsage, nil, []string{"--acct 0"}},
		{"acct without label", []string{"add", "--team", "nhl", "--acct", "5"}, exitUsage, nil, []string{"--acct needs --label"}},
		{"add", []string{"add", "--team", "nhl", "--acct", "100045", "--label", "Season", "--cache", cache}, exitOK, []string{"version 2", "add 1", "4 accounts"}, nil},
		{"remove", []string{"remove", "--team", "nhl", "--cache", cache, "100042"}, exitOK, []string{"version 3", "remove 1", "3 accounts"}, nil},
		{"remove not a number", []string{"remove", "--team", "nhl", "abc"}, exitUsage, nil, []string{"not an acct_id"}},
		{"list", []string{"list", "--team", "nhl", "--cache", cache}, exitOK,
			[]string{"version 3", "https://hooks.example.com/...", "Sponsor X, guests", "'); DROP TABLE korebi.watch_list; --", "100045"}, nil},
		{"history", []string{"history", "--team", "nhl", "--cache", cache}, exitOK, []string{"opening night", "set 3 entries", "add 1", "remove 1"}, nil},
		{"deliver with nothing stored", []string{"deliver", "--team", "nhl", "--cache", cache}, exitOK, []string{"delivered 0 arrivals to https://hooks.example.com/..."}, nil},
		{"deliver attempts out of bounds", []string{"deliver", "--team", "nhl", "--attempts", "0"}, exitUsage, nil, []string{"--attempts 0"}},
		{"remove the webhook", []string{"set", "--team", "nhl", "--no-webhook", "--cache", cache}, exitOK, []string{"webhook none"}, nil},
		{"deliver without a webhook", []string{"deliver", "--team", "nhl", "--cache", cache}, exitUsage, nil, []string{"no webhook set"}},
		{"an unknown team", []string{"add", "--team", "nhk", "--acct", "5", "--label", "VIP", "--cache", cache}, exitFailure, nil, []string{"load-dump"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var code int
			var stdout string
			stderr := captureStderr(t, func() {
				stdout = captureStdout(t, func() { code = run(ctx, append(append([]string(nil), base...), tc.args...)) })
			})
			if code != tc.want {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.want, stdout, stderr)
			}
			for _, w := range tc.out {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tc.err {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			for _, s := range secrets {
				if strings.Contains(stdout+stderr, s) {
					t.Errorf("the output holds %q:\n%s\n%s", s, stdout, stderr)
				}
			}
		})
	}
	// The views through archtics query, which reads what they depend on.
	var code int
	out := captureStdout(t, func() {
		code = run(ctx, []string{"archtics", "--warehouse", wh, "--log-level", "error", "query", "--cache", cache, "--format", "csv",
			"SELECT (SELECT count(*) FROM korebi.watch_list WHERE team = 'nhl') AS listed, (SELECT count(*) FROM archtics.watch_arrivals) AS arrivals"})
	})
	if code != exitOK || !strings.Contains(out, "3,0") {
		t.Errorf("query over korebi.watch_list and archtics.watch_arrivals: exit %d\n%s", code, out)
	}
	// What realtime run calls after a tick: nothing to do without a webhook.
	w, err := openWarehouseAt(ctx, wh, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	head, _ := w.Stream(ctx, watch.DeliveryStream("nhl"))
	deliverWatchAfterTick(ctx, w, "nhl", cache, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if after, _ := w.Stream(ctx, watch.DeliveryStream("nhl")); after.Seq != head.Seq {
		t.Errorf("the after-tick delivery without a webhook committed (seq %d → %d)", head.Seq, after.Seq)
	}
}

// TestWatchDeliverSIGTERM runs `archtics realtime watch deliver` over a
// ticked game day and sends it SIGTERM while a request is in flight (the
// receiver has taken it and not answered): it exits 143 with what it
// delivered recorded; the rerun sends the rest, and the receiver has
// every arrival of the truth in order, only the one in flight twice.
func TestWatchDeliverSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx := context.Background()
	bin := buildBinary(t)
	wh, cache, world := watchWarehouse(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	w, err := openWarehouseAt(ctx, wh, quiet)
	if err != nil {
		t.Fatal(err)
	}
	// The day's ticks through the simulator's feed.
	clock := simulator.NewSimClock(world.Cutoff())
	srv, err := simulator.NewServer(world, simulator.ServerConfig{Token: "t", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	feed := httptest.NewServer(srv)
	defer feed.Close()
	cli := ats.New(feed.URL, "t", ats.WithSleep(func(ctx context.Context, _ time.Duration) error { return ctx.Err() }))
	loc := world.Location()
	cut := world.Cutoff().In(loc)
	day := time.Date(cut.Year(), cut.Month(), cut.Day()+3, 7, 0, 0, 0, loc)
	end := day.Add(21 * time.Hour)
	for at := day; !at.After(end); at = at.Add(time.Hour) {
		clock.Set(at)
		var sel []realtime.SelectedEvent
		for _, e := range world.SelectedEvents("nhl", at, nil) {
			l := e.Start.In(loc)
			sel = append(sel, realtime.SelectedEvent{Team: "nhl", EventID: e.EventID, Name: e.Name,
				Date: time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC), Start: e.Start})
		}
		if _, err := realtime.Tick(ctx, w, cli, "nhl", at, sel, realtime.TickOptions{Logger: quiet, CacheDir: cache}); err != nil {
			t.Fatal(err)
		}
	}
	keys, accts := truthArrivalKeys(t, world, "nhl", day, end)
	var list strings.Builder
	for _, a := range accts {
		fmt.Fprintf(&list, "%d,Season\n", a)
	}
	listFile := filepath.Join(t.TempDir(), "list.csv")
	if err := os.WriteFile(listFile, []byte(list.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	stopAt := len(keys) / 2
	var mu sync.Mutex
	var accepted, repeats []string
	seen := map[string]bool{}
	hit := make(chan struct{})
	recv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		key := r.Header.Get(watch.IdempotencyKeyHeader)
		mu.Lock()
		hold := false
		if seen[key] {
			repeats = append(repeats, key)
		} else {
			seen[key] = true
			accepted = append(accepted, key)
			hold = len(accepted) == stopAt
		}
		mu.Unlock()
		if hold {
			// Taken, not answered: the request in flight at the stop.
			close(hit)
			<-r.Context().Done()
			return
		}
		rw.WriteHeader(http.StatusOK)
	}))
	defer recv.Close()
	set := captureStdout(t, func() {
		if code := run(ctx, []string{"archtics", "--warehouse", wh, "--log-level", "error", "realtime", "watch", "set", "--team", "nhl",
			"--file", listFile, "--webhook", recv.URL + "/arrivals", "--cache", cache}); code != exitOK {
			t.Errorf("watch set: exit %d", code)
		}
	})
	if t.Failed() {
		t.Fatal(set)
	}

	p := startCommand(t, bin, t.TempDir(), "--warehouse", wh, "realtime", "watch", "deliver", "--team", "nhl", "--cache", cache)
	select {
	case <-hit:
	case <-p.done:
		t.Fatalf("deliver exited before the stop:\n%s", p.output())
	case <-time.After(2 * time.Minute):
		t.Fatalf("the receiver saw no %d-th arrival in two minutes:\n%s", stopAt, p.output())
	}
	if code := p.stop(t, syscall.SIGTERM); code != exitSIGTERM {
		t.Fatalf("exit %d after SIGTERM, want %d:\n%s", code, exitSIGTERM, p.output())
	}
	head, err := w.Stream(ctx, watch.DeliveryStream("nhl"))
	if err != nil {
		t.Fatal(err)
	}
	// The claim and one commit per arrival answered before the stop.
	if head.Seq != int64(stopAt) {
		t.Errorf("the stopped delivery left %d commits, want %d (a claim and %d arrivals)", head.Seq, stopAt, stopAt-1)
	}
	rerun := startCommand(t, bin, t.TempDir(), "--warehouse", wh, "realtime", "watch", "deliver", "--team", "nhl", "--cache", cache)
	<-rerun.done
	if code := rerun.cmd.ProcessState.ExitCode(); code != exitOK {
		t.Fatalf("the rerun exited %d:\n%s", code, rerun.output())
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(accepted, keys) {
		t.Errorf("the receiver has %d keys, the truth %d arrivals; equal in order: false", len(accepted), len(keys))
	}
	if len(repeats) != 1 || repeats[0] != accepted[stopAt-1] {
		t.Errorf("repeated %v, want only the request in flight at the stop, %s", repeats, accepted[stopAt-1])
	}
	// The delivery stream (cursors only) passes the auditor's check.
	var code int
	out := captureStdout(t, func() { code = run(ctx, []string{"archtics", "--warehouse", wh, "--log-level", "error", "verify"}) })
	if code != exitOK {
		t.Errorf("verify after the deliveries: exit %d\n%s", code, out)
	}
	t.Logf("%d arrivals; stopped with the %d-th in flight; repeated %v", len(keys), stopAt, repeats)
}

// truthArrivalKeys is the truth's arrivals of team's day (the events
// whose window opened at or after day) for a list of every account that
// holds a scanned seat (the holder as stages/realtime's tests reckon it:
// the seat's holder at the scan when the clone knows one, else the
// feed's account), in delivery order, and that list.
func truthArrivalKeys(t *testing.T, world *simulator.World, team string, day, end time.Time) ([]string, []int32) {
	t.Helper()
	starts := map[string]bool{}
	for _, e := range world.FollowedEvents(team, end, nil) {
		if !e.Start.Add(-realtime.WindowBefore).Before(day) {
			starts[strconv.Itoa(int(e.EventID))] = true
		}
	}
	holders := world.SeatHolders(team, end)
	type arrival struct {
		at    time.Time
		event int
		seq   int64
	}
	first := map[string]arrival{}
	accts := map[int32]bool{}
	sc := func(r simulator.Row, name string) string { return r[schemas.Scan.ColumnIndex(name)] }
	for _, r := range world.TrueScansDelivered(team, end, nil) {
		if !starts[sc(r, "event_id")] {
			continue
		}
		scanned, err := world.ScanInstant(r)
		if err != nil {
			t.Fatal(err)
		}
		event, _ := strconv.Atoi(sc(r, "event_id"))
		acct := sc(r, "acct_id")
		seat, seatErr := strconv.Atoi(sc(r, "seat_num"))
		h, held := simulator.HolderAt(holders, int32(event), sc(r, "section_name"), sc(r, "row_name"), int32(seat), scanned)
		switch {
		case acct != "" && seatErr == nil && held && !h.Pending, acct == "" && seatErr == nil && held:
			acct = strconv.Itoa(int(h.Acct))
		case acct == "":
			continue
		}
		n, _ := strconv.Atoi(acct)
		accts[int32(n)] = true
		seq, _ := strconv.ParseInt(sc(r, "seq_num"), 10, 64)
		k := strings.Join([]string{sc(r, "event_id"), acct, sc(r, "section_name"), sc(r, "row_name"), sc(r, "seat_num")}, "|")
		if f, ok := first[k]; !ok || seq < f.seq {
			first[k] = arrival{scanned, event, seq}
		}
	}
	var all []arrival
	for _, a := range first {
		all = append(all, a)
	}
	slices.SortFunc(all, func(a, b arrival) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		if a.event != b.event {
			return a.event - b.event
		}
		return int(a.seq - b.seq)
	})
	keys := make([]string, len(all))
	for i, a := range all {
		keys[i] = fmt.Sprintf("archtics:%s:%d:%d", team, a.event, a.seq)
	}
	var list []int32
	for a := range accts {
		list = append(list, a)
	}
	slices.Sort(list)
	if len(keys) < 10 {
		t.Fatalf("the truth has %d arrivals on the day", len(keys))
	}
	return keys, list
}
