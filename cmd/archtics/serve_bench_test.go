package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"archtics/internal/benchproc"
	"archtics/web"
)

// BenchmarkServeEventPage7Days times `archtics serve`'s event page over
// the week BenchmarkSeedQueries7Days builds (seven nights of a league
// hockey team, over 5,000,000 stored scans; ARCHTICS_BENCH_WEEK_DIR
// reuses a week built there): the sync that opens the views (what follows
// every commit), the first day's list (it reads the day's event pages, as
// the server does behind each commit), an event page read cold (the first
// request for an event whose files changed: its queries run, the no-shows
// too after the window) and warm (later requests until its files change).
// Target: the event page's p50 <= 200 ms. Each cold page's queries and
// their times are logged, so a slow view is named.
//
// The sub-benchmark warehouse runs the same over ARCHTICS_BENCH_SERVE_WAREHOUSE
// (any warehouse with realtime scans, say the demo's), skipped when unset.
func BenchmarkServeEventPage7Days(b *testing.B) {
	runs := benchRuns(b)
	b.Run("week", func(b *testing.B) {
		dir := os.Getenv("ARCHTICS_BENCH_WEEK_DIR")
		var wh, cache string
		if dir != "" {
			if _, err := os.Stat(filepath.Join(dir, ".built")); err == nil {
				wh, cache = filepath.Join(dir, "warehouse"), filepath.Join(dir, "cache")
			} else if err := os.MkdirAll(dir, 0o755); err != nil {
				b.Fatal(err)
			}
		} else {
			dir = b.TempDir()
		}
		if wh == "" {
			wh, cache = buildRealtimeWeek(b, buildBenchBinaries(b), dir)
			if err := os.WriteFile(filepath.Join(dir, ".built"), nil, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		for range b.N {
			timeServePages(b, wh, cache, runs)
		}
	})
	b.Run("warehouse", func(b *testing.B) {
		wh := os.Getenv("ARCHTICS_BENCH_SERVE_WAREHOUSE")
		if wh == "" {
			b.Skip("set ARCHTICS_BENCH_SERVE_WAREHOUSE to a warehouse with realtime scans (make run leaves ./demo/warehouse)")
		}
		cache := b.TempDir()
		for range b.N {
			timeServePages(b, wh, cache, runs)
		}
	})
}

// syncBuffer collects the server's debug log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines(contains string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range strings.Split(s.b.String(), "\n") {
		if strings.Contains(l, contains) {
			out = append(out, l)
		}
	}
	return out
}

var (
	todayRowRE   = regexp.MustCompile(`<tr data-event="(\d+)">`)
	eventLinkRE  = regexp.MustCompile(`href="/event/([^/"]+)/(\d+)"`)
	benchClients = &http.Client{}
)

func timeServePages(b *testing.B, wh, cache string, runs int) {
	ctx := context.Background()
	w, err := openWarehouseAt(ctx, wh, nil)
	if err != nil {
		b.Fatal(err)
	}
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := web.New(web.Config{Warehouse: w, CacheDir: cache, Logger: logger, NoWarm: true})
	start, cpu0 := time.Now(), benchproc.SelfCPU()
	if err := s.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	syncTook, syncCPU := time.Since(start), benchproc.SelfCPU()-cpu0
	defer s.Close()
	hs := httptest.NewServer(s)
	defer hs.Close()
	get := func(path string) time.Duration {
		start := time.Now()
		resp, err := benchClients.Get(hs.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %s\n%s", path, resp.Status, body)
		}
		return time.Since(start)
	}
	start, cpu0 = time.Now(), benchproc.SelfCPU()
	resp, err := benchClients.Get(hs.URL + "/")
	if err != nil {
		b.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	dayTook, dayCPU := time.Since(start), benchproc.SelfCPU()-cpu0
	today := map[string]bool{}
	for _, m := range todayRowRE.FindAllStringSubmatch(string(page), -1) {
		today[m[1]] = true
	}
	var warm, cold []string
	seen := map[string]bool{}
	for _, m := range eventLinkRE.FindAllStringSubmatch(string(page), -1) {
		path := "/event/" + m[1] + "/" + m[2]
		if seen[path] {
			continue
		}
		seen[path] = true
		if today[m[2]] {
			warm = append(warm, path)
		} else {
			cold = append(cold, path)
		}
	}
	if len(warm)+len(cold) == 0 {
		b.Fatalf("the warehouse %s has no event with realtime scans", wh)
	}
	// The newest events first: the ones staff open.
	sort.Sort(sort.Reverse(sort.StringSlice(cold)))
	var coldTimes, warmTimes []time.Duration
	cpu0 = benchproc.SelfCPU()
	for _, p := range cold[:min(len(cold), runs)] {
		coldTimes = append(coldTimes, get(p))
	}
	coldCPU := benchproc.SelfCPU() - cpu0
	targets := warm
	if len(targets) == 0 {
		targets = cold[:min(len(cold), 1)]
	}
	cpu0 = benchproc.SelfCPU()
	for i := range runs {
		warmTimes = append(warmTimes, get(targets[i%len(targets)]))
	}
	warmCPU := benchproc.SelfCPU() - cpu0
	b.ReportMetric(syncTook.Seconds(), "sync-s")
	b.ReportMetric(syncCPU.Seconds(), "sync-cpu-s")
	b.ReportMetric(dayTook.Seconds(), "day-list-s")
	b.ReportMetric(dayCPU.Seconds(), "day-list-cpu-s")
	b.ReportMetric(ms(p50(warmTimes)), "event-page-p50-ms")
	if len(coldTimes) > 0 {
		b.ReportMetric(ms(p50(coldTimes)), "event-page-cold-p50-ms")
	}
	coldP50 := "none (every event is the day's)"
	if len(coldTimes) > 0 {
		coldP50 = p50(coldTimes).Round(time.Millisecond).String()
	}
	b.Logf("serve over %s: sync %v (%.1f CPU-s); the day's list, its %d events' pages read, %v (%.1f CPU-s); event page warm p50 %v over %d requests (%.2f CPU-s), cold p50 %s over %d events (%.1f CPU-s)",
		wh, syncTook.Round(time.Millisecond), syncCPU.Seconds(), len(warm), dayTook.Round(time.Millisecond), dayCPU.Seconds(), p50(warmTimes).Round(time.Millisecond), len(warmTimes), warmCPU.Seconds(),
		coldP50, len(coldTimes), coldCPU.Seconds())
	reads := logs.lines("serve: event page read")
	for _, l := range reads[:min(len(reads), 5)] {
		b.Log(l)
	}
}
