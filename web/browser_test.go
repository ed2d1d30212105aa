package web

import (
	"context"
	"encoding/csv"
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"archtics/schemas"
	"archtics/stages/realtime"
	"archtics/stages/watch"
)

// findChromium is the browser the tests drive: ARCHTICS_CHROMIUM, else the
// first of chromium, chromium-browser, google-chrome on PATH.
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ARCHTICS_CHROMIUM"); p != "" {
		return p
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Skip("no headless browser: install Debian's chromium (apt-get install chromium), or set ARCHTICS_CHROMIUM to a Chromium or Chrome binary")
	return ""
}

// browser starts a headless Chromium for the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(findChromium(t)), chromedp.NoSandbox,
		chromedp.WindowSize(1100, 900), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	// The first run starts the browser for the context's life (no timeout
	// on it); later steps get a generous one: the machine may be loaded,
	// and nothing is asserted on time.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start the browser %s: %v", findChromium(t), err)
	}
	ctx, cancel3 := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(cancel3)
	return ctx
}

// shown is what the event page shows, read from its DOM.
type shown struct {
	Sold, Scanned, Scans, Late string
	State                      string
	Arrivals                   map[string]int64 // gate|minutes → scans
	Bars                       int              // rects in the arrivals chart
	ShareLines                 int              // non-empty paths in the share chart
	NoShows                    string
	Updated                    string
}

const readEventJS = `(() => {
  const txt = s => { const e = document.querySelector(s); return e ? e.textContent.trim() : ""; };
  const out = {Sold: txt("#sold"), Scanned: txt("#scanned"), Scans: txt("#scans"), Late: txt("#late"),
    State: txt(".meta .state"), NoShows: txt("#noshows-count"), Updated: document.querySelector("main").dataset.updated || "0",
    Arrivals: {}, Bars: document.querySelectorAll("#arrivals-chart rect").length,
    ShareLines: [...document.querySelectorAll("#share-chart path")].filter(p => (p.getAttribute("d") || "").length > 0).length};
  const t = document.querySelector("table.arrivals");
  if (t) {
    const cells = [...t.tHead.rows[0].cells].map(c => c.textContent.trim());
    const gates = cells.slice(2, cells.length - 3);
    for (const r of t.tBodies[0].rows) {
      gates.forEach((g, i) => { const v = Number(r.cells[2 + i].textContent); if (v) out.Arrivals[g + "|" + r.dataset.minutes] = v; });
    }
  }
  return out;
})()`

// checkEvent compares the page with the truth.
func checkEvent(t *testing.T, when string, got shown, want truth) {
	t.Helper()
	for _, c := range []struct {
		what string
		got  string
		want int64
	}{{"sold seats", got.Sold, want.sold}, {"seats scanned", got.Scanned, want.seats}, {"scans", got.Scans, want.scans}, {"late arrivals", got.Late, want.late}} {
		if c.got != strconv.FormatInt(c.want, 10) {
			t.Errorf("%s: the page shows %s %s, the truth has %d", when, c.what, c.got, c.want)
		}
	}
	var diff []string
	for k, v := range want.perBucket {
		if got.Arrivals[k] != v {
			diff = append(diff, fmt.Sprintf("%s: page %d, truth %d", k, got.Arrivals[k], v))
		}
	}
	for k, v := range got.Arrivals {
		if _, ok := want.perBucket[k]; !ok {
			diff = append(diff, fmt.Sprintf("%s: page %d, truth none", k, v))
		}
	}
	sort.Strings(diff)
	if len(diff) > 0 {
		t.Errorf("%s: arrivals per gate per tick differ from the truth (%d buckets):\n%s", when, len(diff), strings.Join(diff[:min(len(diff), 10)], "\n"))
	}
	if got.Bars == 0 || got.ShareLines == 0 {
		t.Errorf("%s: the charts are empty: %d bars, %d share lines", when, got.Bars, got.ShareLines)
	}
}

// TestLivePage drives a headless Chromium over a simulated game day: the
// numbers the pages show equal counts from the simulator's truth, the
// charts render, a tick committed while the page is open appears without
// a reload, and the no-shows CSV downloads with the truth's rows.
// ARCHTICS_SCREENSHOTS=DIR also writes the event page during the game and
// after it (serve-during.png, serve-after.png), and on a phone
// (serve-phone.png), into DIR.
func TestLivePage(t *testing.T) {
	ctx := browser(t)
	g := newGameDay(t, "", "")
	t.Cleanup(g.closeFeed)
	team := g.world.Teams()[0]
	evs := g.dayEvents(team, g.day.Add(21*time.Hour))
	if len(evs) == 0 {
		t.Fatalf("%s has no event on %s", team, g.day)
	}
	ev := evs[0]
	t1 := ev.Start.Add(-30 * time.Minute).Truncate(30 * time.Minute)
	g.tickUntil(t, g.day, t1)

	s := New(Config{Warehouse: g.w, CacheDir: t.TempDir(), Logger: quietLogger, PollEvery: 100 * time.Millisecond})
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(rctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)

	// Today: the event's row.
	want := g.truth(t, team, ev, t1)
	sel := fmt.Sprintf(`[...document.querySelectorAll("#team-%s ~ .scroll tr[data-event='%d'] td")].map(td => td.textContent.trim())`, team, ev.EventID)
	if err := chromedp.Do(ctx, chromedp.Navigate(hs.URL+"/"), chromedp.WaitVisible(chromedp.CSS("table.events"))); err != nil {
		t.Fatal(err)
	}
	row, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](sel))
	if err != nil {
		t.Fatal(err)
	}
	if len(row) != 5 || row[1] != StateOpen || row[2] != strconv.FormatInt(want.sold, 10) || row[3] != strconv.FormatInt(want.seats, 10) {
		t.Errorf("today's row of event %d: %q; the truth: open, %d sold, %d scanned", ev.EventID, row, want.sold, want.seats)
	}

	// The event page during the game.
	evURL := fmt.Sprintf("%s/event/%s/%d", hs.URL, team, ev.EventID)
	if err := chromedp.Do(ctx, chromedp.Navigate(evURL), chromedp.WaitVisible(chromedp.CSS("#arrivals-chart"))); err != nil {
		t.Fatal(err)
	}
	got := readEvent(t, ctx)
	checkEvent(t, "at "+t1.Format(time.Kitchen), got, want)
	if len(want.perBucket) == 0 {
		t.Fatalf("the truth has no scan of event %d by %s: nothing to compare", ev.EventID, t1)
	}
	shot(t, ctx, "serve-during.png")
	checkAccessible(t, ctx)

	// A tick while the page is open: it appears without a reload.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.__notReloaded = 1`)); err != nil {
		t.Fatal(err)
	}
	t2 := t1.Add(30 * time.Minute)
	g.tick(t, t2)
	waitFor(t, ctx, `Number(document.querySelector("main").dataset.updated || 0) >= 1`, "the page to update after the tick at "+t2.Format(time.Kitchen))
	got = readEvent(t, ctx)
	mark, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__notReloaded || 0`))
	if err != nil {
		t.Fatal(err)
	}
	if mark != 1 {
		t.Error("the page reloaded to show the tick: want it updated in place")
	}
	checkEvent(t, "after the tick at "+t2.Format(time.Kitchen), got, g.truth(t, team, ev, t2))

	// After the window: no-shows, and their CSV.
	end := ev.Start.Add(7 * time.Hour)
	g.tickUntil(t, t2.Add(30*time.Minute), end)
	waitFor(t, ctx, `document.querySelector("#noshows-count") !== null`, "the no-shows after the window")
	got = readEvent(t, ctx)
	want = g.truth(t, team, ev, end)
	checkEvent(t, "after the window", got, want)
	if got.State != StateClosed || got.NoShows != strconv.Itoa(len(want.noShows)) {
		t.Errorf("after the window: state %q, %s no-shows; want %q and the truth's %d", got.State, got.NoShows, StateClosed, len(want.noShows))
	}
	if len(want.noShows) == 0 {
		t.Fatal("the truth has no no-shows to compare")
	}
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(document.querySelector("#noshows-csv").href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse: %v\n%s", err, body)
	}
	gotRows := map[string]string{}
	for _, r := range recs[1:] {
		gotRows[r[2]+"|"+r[3]+"|"+r[4]] = strings.Join(r[5:], "|")
	}
	for k, v := range want.noShows {
		if gotRows[k] != v {
			t.Errorf("no-show %s: CSV %q, truth %q", k, gotRows[k], v)
		}
	}
	if len(gotRows) != len(want.noShows) {
		t.Errorf("the CSV has %d no-shows, the truth %d", len(gotRows), len(want.noShows))
	}

	// A watch list set while the page is open: who of it has arrived, as
	// the truth's delivered scans say. Three accounts that scanned and
	// two that held only seats nobody scanned; none touched by a merge.
	merged := map[string]bool{}
	for _, m := range g.world.Merges() {
		if m.Team == team {
			merged[strconv.Itoa(int(m.Loser))], merged[strconv.Itoa(int(m.Winner))] = true, true
		}
	}
	scanners := map[string]bool{}
	for _, r := range g.world.TrueScansDelivered(team, end, nil) {
		if r[schemas.Scan.ColumnIndex("event_id")] == strconv.Itoa(int(ev.EventID)) {
			scanners[r[schemas.Scan.ColumnIndex("acct_id")]] = true
		}
	}
	var arrived, absent []string
	for a := range scanners {
		if a != "" && !merged[a] {
			arrived = append(arrived, a)
		}
	}
	for _, v := range want.noShows {
		if a := strings.SplitN(v, "|", 2)[0]; !scanners[a] && !merged[a] && !slices.Contains(absent, a) {
			absent = append(absent, a)
		}
	}
	slices.Sort(arrived)
	slices.Sort(absent)
	if len(arrived) < 3 || len(absent) < 2 {
		t.Fatalf("the truth has %d scanning and %d absent accounts: too few for a watch list", len(arrived), len(absent))
	}
	arrived, absent = arrived[:3], absent[:2]
	var entries []watch.Entry
	for i, a := range append(append([]string{}, arrived...), absent...) {
		n, _ := strconv.Atoi(a)
		entries = append(entries, watch.Entry{AcctID: int32(n), Label: fmt.Sprintf("VIP %d", i)})
	}
	if _, _, err := watch.Apply(context.Background(), g.w, team, watch.Change{Replace: true, Entries: entries}, watch.SetOptions{By: "test"}, g.cache); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, fmt.Sprintf(`document.querySelector("#watch-listed-%d") !== null`, ev.EventID), "the watch list")
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries([...document.querySelectorAll("table.watch tbody tr")].map(tr => [tr.dataset.acct, tr.dataset.arrived]))`))
	if err != nil {
		t.Fatal(err)
	}
	wantRows := map[string]string{}
	for _, a := range arrived {
		wantRows[a] = "true"
	}
	for _, a := range absent {
		wantRows[a] = "false"
	}
	if !maps.Equal(rows, wantRows) {
		t.Errorf("the watch list shows %v (account: arrived); the truth %v", rows, wantRows)
	}
	count, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector("#watch-arrived-%d").textContent`, ev.EventID)))
	if err != nil {
		t.Fatal(err)
	}
	if count != "3" {
		t.Errorf("the watch list says %s arrived, the truth 3", count)
	}

	// Once Archtics posts the standard attendance and the clone has it:
	// the reconciliation, against the truth's final initial entries.
	posted, ok := g.world.AttendancePosted(team, ev.EventID)
	if !ok {
		t.Fatalf("the world never posts event %d's attendance", ev.EventID)
	}
	// Reconcile waits until the clone is past the window's close plus
	// the posting delay.
	synced := ev.Start.Add(realtime.WindowAfter + realtime.DefaultPostingDelay + time.Minute)
	if synced.Before(posted) {
		synced = posted
	}
	g.pullClone(t, synced)
	rep, err := realtime.Reconcile(context.Background(), g.w, team, realtime.ReconcileOptions{EventID: ev.EventID, CacheDir: g.cache, Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Events) != 1 || rep.Events[0].Outcome != realtime.ReconcileCommitted {
		t.Fatalf("the reconciliation did not commit: %+v", rep.Events)
	}
	waitFor(t, ctx, `document.querySelector("#rec-final") !== null`, "the reconciliation")
	rec, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries(["rec-final", "rec-delivered", "rec-missed", "rec-extra"].map(id => [id, document.getElementById(id).textContent.trim()]))`))
	if err != nil {
		t.Fatal(err)
	}
	final, delivered, missed, extra := g.finalEntries(t, team, ev, end, synced)
	if rec["rec-final"] != strconv.Itoa(final) || rec["rec-delivered"] != strconv.Itoa(delivered) ||
		rec["rec-missed"] != strconv.Itoa(missed) || rec["rec-extra"] != strconv.Itoa(extra) {
		t.Errorf("the reconciliation shows %v; the truth: %d final initial entries, %d delivered, %d missed, %d extra", rec, final, delivered, missed, extra)
	}
	if got := readEvent(t, ctx); got.State != StateReconciled {
		t.Errorf("after the reconciliation the state is %q, want %q", got.State, StateReconciled)
	}
	shot(t, ctx, "serve-after.png")
}

// shot writes a full-page screenshot into ARCHTICS_SCREENSHOTS when set.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("ARCHTICS_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readEvent reads the event page's numbers and charts from the DOM.
func readEvent(t *testing.T, ctx context.Context) shown {
	t.Helper()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[shown](readEventJS))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// waitFor waits until the page's predicate holds (the context's deadline
// bounds it; the duration is not what the test checks).
func waitFor(t *testing.T, ctx context.Context, predicate, what string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](predicate, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(0))); err != nil {
		page, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("waiting for %s: %v; the page shows:\n%.3000s", what, err, page)
	}
}

// checkAccessible checks what the page promises beyond its numbers: each
// chart is an image with a title and a description screen readers read,
// every control is reachable by keyboard, and on a phone's width nothing
// but the tables' own scrollers overflows.
func checkAccessible(t *testing.T, ctx context.Context) {
	t.Helper()
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
  const out = [];
  for (const svg of document.querySelectorAll("svg.chart")) {
    const ids = (svg.getAttribute("aria-labelledby") || "").split(" ").filter(Boolean);
    if (svg.getAttribute("role") !== "img" || ids.length < 2 || ids.some(id => !(document.getElementById(id) || {}).textContent)) {
      out.push("chart " + svg.id + " has no role img with a title and a description");
    }
  }
  for (const el of document.querySelectorAll("a, summary, button")) {
    if (el.tabIndex < 0) { out.push("not reachable by keyboard: " + el.outerHTML.slice(0, 80)); }
  }
  for (const table of document.querySelectorAll("table")) {
    if (!table.caption || !table.caption.textContent.trim()) { out.push("a table without a caption"); }
  }
  return out;
})()`))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS("#arrivals-chart"))); err != nil {
		t.Fatal(err)
	}
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if wide > 0 {
		t.Errorf("on a phone's width (390 px) the page is %d px too wide", wide)
	}
	shot(t, ctx, "serve-phone.png")
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1100, 900), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#arrivals-chart"))); err != nil {
		t.Fatal(err)
	}
}
