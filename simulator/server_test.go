package simulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"archtics/ats"
	"archtics/schemas"
	"archtics/simulator"
)

const testToken = "test-token"

type testServer struct {
	src   simulator.Source
	clock *simulator.SimClock
	srv   *simulator.Server
	hs    *httptest.Server
}

func startServer(t testing.TB, src simulator.Source, now time.Time, fc simulator.FaultConfig) *testServer {
	t.Helper()
	clock := simulator.NewSimClock(now)
	faults, err := simulator.NewFaults(fc)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simulator.NewServer(src, simulator.ServerConfig{Token: testToken, Clock: clock, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &testServer{src: src, clock: clock, srv: srv, hs: hs}
}

// sleeps records the client's waits instead of spending them, so retry
// tests are fast and can check the waits asked for.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (ts *testServer) client(opts ...ats.Option) *ats.Client {
	return ats.New(ts.hs.URL, testToken, opts...)
}

// post sends a raw /ats call and returns the status and body.
func (ts *testServer) post(t testing.TB, path, token, body string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.hs.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := ts.hs.Client().Do(req)
	if err != nil {
		t.Fatalf("POST %s %s: %v", path, body, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s %s: read: %v", path, body, err)
	}
	return resp.StatusCode, b, resp.Header
}

// pullChanges pages through a whole changes pull.
func pullChanges(ctx context.Context, c *ats.Client, dsn, table string, since time.Time, pageSize int) ([][]string, int, error) {
	var rows [][]string
	cursor, pages := "", 0
	for {
		p, err := c.Changes(ctx, dsn, table, since, cursor, pageSize)
		if err != nil {
			return nil, pages, err
		}
		pages++
		if pageSize > 0 && len(p.Rows) > pageSize {
			return nil, pages, fmt.Errorf("page of %d rows > page size %d", len(p.Rows), pageSize)
		}
		rows = append(rows, p.Rows...)
		if p.NextCursor == "" {
			return rows, pages, nil
		}
		cursor = p.NextCursor
	}
}

func pullScans(ctx context.Context, c *ats.Client, dsn string, event int32, pageSize int) ([][]string, error) {
	var rows [][]string
	var after int64
	for {
		p, err := c.Attendance(ctx, dsn, event, after, pageSize)
		if err != nil {
			return nil, err
		}
		rows = append(rows, p.Rows...)
		if len(p.Rows) == 0 {
			if p.More {
				return nil, errors.New("empty page with more = true")
			}
			return rows, nil
		}
		after = p.LastSeq
	}
}

func TestChangesPagingAcrossTie(t *testing.T) {
	f := newFixture()
	ts := startServer(t, f, fixEnd, simulator.FaultConfig{})
	c := ts.client()
	since := fixCutoff
	want := f.Changes("nhl", schemas.Cust, since, fixEnd)
	if len(want) < tieCount {
		t.Fatalf("fixture: %d changes, want the tie of %d in them", len(want), tieCount)
	}
	for _, size := range []int{1, 2, 7, 100, 999, 1000, 2499, 2500, 2501, 10000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			got, pages, err := pullChanges(context.Background(), c, "nhl", "cust", since, size)
			if err != nil {
				t.Fatal(err)
			}
			if i, ok := rowsEqual(got, changeRows(want)); !ok {
				t.Fatalf("page size %d: %d rows in %d pages, want %d; first difference at row %d", size, len(got), pages, len(want), i)
			}
			seen := map[string]bool{}
			for _, r := range got {
				k := strings.Join(r, "\x00")
				if seen[k] {
					t.Fatalf("page size %d: row served twice: %q", size, r)
				}
				seen[k] = true
			}
		})
	}
}

func TestChangesSnapshotPinnedByCursor(t *testing.T) {
	f := newFixture()
	ts := startServer(t, f, tieAt, simulator.FaultConfig{})
	c := ts.client()
	p, err := c.Changes(context.Background(), "nhl", "cust", fixCutoff, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	// The clock moves on while the pull pages: the pull still answers for
	// its first page's instant.
	ts.clock.Set(fixEnd)
	rows := p.Rows
	for p.NextCursor != "" {
		if p, err = c.Changes(context.Background(), "nhl", "cust", time.Time{}, p.NextCursor, 500); err != nil {
			t.Fatal(err)
		}
		if !p.AsOf.Equal(tieAt) {
			t.Fatalf("as_of %s on a later page, want the pinned %s", p.AsOf, tieAt)
		}
		rows = append(rows, p.Rows...)
	}
	if i, ok := rowsEqual(rows, changeRows(f.Changes("nhl", schemas.Cust, fixCutoff, tieAt))); !ok {
		t.Fatalf("pinned pull differs from Source.Changes at row %d", i)
	}
}

func TestClockGating(t *testing.T) {
	f := newFixture()
	ts := startServer(t, f, futureAt.Add(-time.Second), simulator.FaultConfig{})
	c := ts.client()
	ctx := context.Background()
	has := func(rows [][]string, first string) bool {
		for _, r := range rows {
			if r[schemas.Cust.ColumnIndex("name_first")] == first {
				return true
			}
		}
		return false
	}
	rows, _, err := pullChanges(ctx, c, "nhl", "cust", futureAt.Add(-time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if has(rows, "Future") {
		t.Fatal("row committed at T served one second before T")
	}
	ts.clock.Advance(time.Second)
	if rows, _, err = pullChanges(ctx, c, "nhl", "cust", futureAt.Add(-time.Hour), 0); err != nil {
		t.Fatal(err)
	}
	if !has(rows, "Future") {
		t.Fatal("row committed at T not served at T")
	}

	// A late commit: pulled by cursor up to the tie before it was
	// committed, it is missed; only a re-pull reaching back over its update
	// time sees it. The server does not hide this.
	ts.clock.Set(tieAt)
	first, _, err := pullChanges(ctx, c, "nhl", "cust", fixCutoff, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if has(first, "Late") {
		t.Fatal("late row served before its commit")
	}
	ts.clock.Set(lateCommit)
	next, _, err := pullChanges(ctx, c, "nhl", "cust", tieAt, 1000) // resumes at the last update seen
	if err != nil {
		t.Fatal(err)
	}
	if has(next, "Late") {
		t.Fatal("late row (updated before since) served by a pull since a later instant")
	}
	overlap, _, err := pullChanges(ctx, c, "nhl", "cust", tieAt.Add(-time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !has(overlap, "Late") {
		t.Fatal("late row not served by a re-pull with an overlap")
	}

	// The scan feed is gated too: no scan before its delivery.
	ts.clock.Set(eventStart.Add(-90*time.Minute + 19*time.Second))
	p, err := c.Attendance(ctx, "nhl", fixEventID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rows) != 0 || p.More || p.LastSeq != 0 {
		t.Fatalf("before the first delivery: %d rows, more %v, last_seq %d", len(p.Rows), p.More, p.LastSeq)
	}
	ts.clock.Advance(time.Second)
	if p, err = c.Attendance(ctx, "nhl", fixEventID, 0, 0); err != nil {
		t.Fatal(err)
	}
	if len(p.Rows) != 1 || p.LastSeq != 1 {
		t.Fatalf("at the first delivery: %d rows, last_seq %d; want 1, 1", len(p.Rows), p.LastSeq)
	}
}

func TestAuth(t *testing.T) {
	ts := startServer(t, newFixture(), fixEnd, simulator.FaultConfig{})
	body := `{"command":"dsns"}`
	for _, tc := range []struct {
		name, header string
		status       int
		msg          string
	}{
		{"missing", "", 401, "missing Authorization"},
		{"wrong", "Bearer nope", 401, "wrong bearer token"},
		{"not bearer", "Basic dXNlcjpwYXNz", 401, "not a bearer token"},
		{"right", "Bearer " + testToken, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/ats", "/admin/clock"} {
				reqBody := body
				if path == "/admin/clock" {
					reqBody = "{}"
				}
				req, _ := http.NewRequest(http.MethodPost, ts.hs.URL+path, strings.NewReader(reqBody))
				if tc.header != "" {
					req.Header.Set("Authorization", tc.header)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.status {
					t.Fatalf("%s: status %d, want %d: %s", path, resp.StatusCode, tc.status, b)
				}
				if tc.status != 200 {
					var e struct{ Error, Code, Field string }
					if err := json.Unmarshal(b, &e); err != nil || e.Code != "unauthorized" || e.Field != "Authorization" || !strings.Contains(e.Error, tc.msg) {
						t.Fatalf("%s: error body %s, want code unauthorized naming %q", path, b, tc.msg)
					}
				}
			}
		})
	}
	_, err := ats.New(ts.hs.URL, "wrong").Tables(context.Background())
	var ce *ats.Error
	if !errors.As(err, &ce) || ce.Status != 401 || ce.Attempts != 1 || !strings.Contains(err.Error(), "tables") {
		t.Fatalf("client with a wrong token: %v; want one attempt and a 401 naming the command", err)
	}
}

func TestBadRequests(t *testing.T) {
	ts := startServer(t, newFixture(), fixEnd, simulator.FaultConfig{})
	c := ts.client()
	p, err := c.Changes(context.Background(), "nhl", "cust", fixCutoff, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	keysPage, err := c.Keys(context.Background(), "nhl", "cust", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, body  string
		status      int
		code, field string
	}{
		{"no command", `{"dsn":"nhl"}`, 400, "bad_request", "command"},
		{"unknown command", `{"command":"changez","dsn":"nhl"}`, 400, "unknown_command", "command"},
		{"unknown dsn", `{"command":"changes","dsn":"nba","table":"cust","since":"2026-11-20 12:00:01"}`, 400, "unknown_dsn", "dsn"},
		{"no dsn", `{"command":"changes","table":"cust","since":"2026-11-20 12:00:01"}`, 400, "bad_request", "dsn"},
		{"unknown table", `{"command":"changes","dsn":"nhl","table":"orders","since":"2026-11-20 12:00:01"}`, 400, "unknown_table", "table"},
		{"feed is not a change table", `{"command":"keys","dsn":"nhl","table":"attendance_feed"}`, 400, "unknown_table", "table"},
		{"no since", `{"command":"changes","dsn":"nhl","table":"cust"}`, 400, "bad_request", "since"},
		{"bad since", `{"command":"changes","dsn":"nhl","table":"cust","since":"yesterday"}`, 400, "bad_request", "since"},
		{"bad cursor", `{"command":"changes","dsn":"nhl","table":"cust","cursor":"abc"}`, 400, "bad_cursor", "cursor"},
		{"cursor of another table", `{"command":"changes","dsn":"nhl","table":"ticket","cursor":"` + p.NextCursor + `"}`, 400, "bad_cursor", "cursor"},
		{"cursor of another dsn", `{"command":"changes","dsn":"arena","table":"cust","cursor":"` + p.NextCursor + `"}`, 400, "bad_cursor", "cursor"},
		{"cursor of another command", `{"command":"changes","dsn":"nhl","table":"cust","cursor":"` + keysPage.NextCursor + `"}`, 400, "bad_cursor", "cursor"},
		{"tampered cursor", `{"command":"changes","dsn":"nhl","table":"cust","cursor":"` + tamper(p.NextCursor) + `"}`, 400, "bad_cursor", "cursor"},
		{"cursor with another since", `{"command":"changes","dsn":"nhl","table":"cust","since":"2020-01-01 00:00:00","cursor":"` + p.NextCursor + `"}`, 400, "bad_cursor", "since"},
		{"changes page too big", `{"command":"changes","dsn":"nhl","table":"cust","since":"2026-11-20 12:00:01","page_size":10001}`, 400, "bad_page_size", "page_size"},
		{"negative page", `{"command":"changes","dsn":"nhl","table":"cust","since":"2026-11-20 12:00:01","page_size":-1}`, 400, "bad_page_size", "page_size"},
		{"unknown field", `{"command":"changes","dsn":"nhl","table":"cust","since":"2026-11-20 12:00:01","pagesize":10}`, 400, "bad_json", "body"},
		{"not json", `command=changes`, 400, "bad_json", "body"},
		{"attendance without event", `{"command":"attendance","dsn":"nhl"}`, 400, "bad_request", "event_id"},
		{"attendance page too big", `{"command":"attendance","dsn":"nhl","event_id":1001,"page_size":10001}`, 400, "bad_page_size", "page_size"},
		{"lookup too many keys", `{"command":"lookup","dsn":"nhl","table":"cust","keys":[` + strings.Repeat(`"k",`, 10000) + `"k"]}`, 400, "bad_request", "keys"},
		{"bad admin advance", `{"advance":"soon"}`, 400, "bad_request", "advance"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/ats"
			if strings.HasPrefix(tc.name, "bad admin") {
				path = "/admin/clock"
			}
			status, b, _ := ts.post(t, path, testToken, tc.body)
			var e struct{ Error, Code, Field string }
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatalf("error body is not JSON: %s", b)
			}
			if status != tc.status || e.Code != tc.code || e.Field != tc.field || e.Error == "" {
				t.Fatalf("status %d code %q field %q (%s), want %d %q %q", status, e.Code, e.Field, e.Error, tc.status, tc.code, tc.field)
			}
		})
	}
	req, _ := http.NewRequest(http.MethodGet, ts.hs.URL+"/ats", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /ats: %d, want 405", resp.StatusCode)
	}
	// Client-side: a 400 is not retried and names command, dsn and attempts.
	_, err = c.Changes(context.Background(), "nba", "cust", fixCutoff, "", 0)
	var ce *ats.Error
	if !errors.As(err, &ce) || ce.Attempts != 1 || ce.Code != "unknown_dsn" || !strings.Contains(err.Error(), "changes dsn nba: after 1 attempt") {
		t.Fatalf("client error %v: want 1 attempt, unknown_dsn, naming command and dsn", err)
	}
}

func tamper(cur string) string {
	b := []byte(cur)
	if b[10] == 'A' {
		b[10] = 'B'
	} else {
		b[10] = 'A'
	}
	return string(b)
}

func TestPageSizeBounds(t *testing.T) {
	ts := startServer(t, newFixture(), fixEnd, simulator.FaultConfig{})
	c := ts.client()
	ctx := context.Background()
	for _, tc := range []struct{ ask, want int }{{0, 1000}, {1, 1}, {2500, 2500}, {10000, fixScans + fixScans/97}} {
		t.Run(fmt.Sprint("page_size=", tc.ask), func(t *testing.T) {
			p, err := c.Attendance(ctx, "nhl", fixEventID, 0, tc.ask)
			if err != nil {
				t.Fatal(err)
			}
			// A page may stop one row short rather than split a redelivered seq_num.
			if len(p.Rows) != tc.want && len(p.Rows) != tc.want-1 {
				t.Fatalf("page_size %d: %d rows, want %d", tc.ask, len(p.Rows), tc.want)
			}
		})
	}
	_, err := c.Attendance(ctx, "nhl", fixEventID, 0, 10001)
	var ce *ats.Error
	if !errors.As(err, &ce) || ce.Status != 400 || ce.Code != "bad_page_size" || !strings.Contains(ce.Message, "10000") {
		t.Fatalf("page_size 10001: %v, want a 400 bad_page_size naming the maximum", err)
	}
}

func TestAttendancePaging(t *testing.T) {
	f := newFixture()
	ts := startServer(t, f, fixEnd, simulator.FaultConfig{})
	c := ts.client()
	want := plainRows(f.Scans("nhl", fixEventID, 0, fixEnd, 0))
	// 97 and 98 put a redelivered seq_num right on page boundaries.
	for _, size := range []int{1, 96, 97, 98, 1000, 10000} {
		got, err := pullScans(context.Background(), c, "nhl", fixEventID, size)
		if err != nil {
			t.Fatal(err)
		}
		if i, ok := rowsEqual(got, want); !ok {
			t.Fatalf("page size %d: %d rows, want %d; first difference at %d", size, len(got), len(want), i)
		}
	}
	evs, err := c.Events(context.Background(), "nhl", eventStart.Add(-time.Hour), eventStart.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].EventID != fixEventID || !evs[0].Start.Equal(eventStart) {
		t.Fatalf("events in a window around the start: %+v", evs)
	}
}

func TestKeysAndLookup(t *testing.T) {
	f := newFixture()
	ts := startServer(t, f, fixEnd, simulator.FaultConfig{})
	c := ts.client()
	ctx := context.Background()
	var keys []string
	cursor := ""
	for {
		p, err := c.Keys(ctx, "nhl", "cust", cursor, 333)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, p.Keys...)
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	want := f.Keys("nhl", schemas.Cust, fixEnd)
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Fatalf("keys: %d, want %d", len(keys), len(want))
	}
	for _, k := range keys {
		if k == goneKey {
			t.Fatalf("merged-away key %s still listed", goneKey)
		}
	}
	res, err := c.Lookup(ctx, "nhl", "cust", []string{"nhl|500|1", goneKey, "nhl|999999|1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || res.Rows[0][schemas.Cust.ColumnIndex("name_first")] != "Late" ||
		strings.Join(res.Missing, ",") != goneKey+",nhl|999999|1" {
		t.Fatalf("lookup: rows %q missing %q", res.Rows, res.Missing)
	}
	// Before the merge the key is there.
	ts.clock.Set(goneAt.Add(-time.Second))
	if res, err = c.Lookup(ctx, "nhl", "cust", []string{goneKey}); err != nil || len(res.Rows) != 1 {
		t.Fatalf("lookup before the merge: %v, %d rows", err, len(res.Rows))
	}
	dsns, cutoff, err := c.DSNs(ctx)
	if err != nil || strings.Join(dsns, ",") != "nhl,arena" || !cutoff.Equal(fixCutoff) {
		t.Fatalf("dsns: %v %v %v", dsns, cutoff, err)
	}
	tables, err := c.Tables(ctx)
	if err != nil || len(tables) != len(schemas.SourceTables) || tables[1].Name != "cust" || tables[1].UpdatedAt != "upd_date" {
		t.Fatalf("tables: %+v %v", tables, err)
	}
}

func TestFaultsClientStillGetsExactAnswer(t *testing.T) {
	f := newFixture()
	ts := startServer(t, f, fixEnd, simulator.FaultConfig{Rate: 0.3, Seed: 42, SlowDelay: 5 * time.Millisecond})
	var sl sleeps
	c := ts.client(ats.WithMaxAttempts(30), ats.WithSleep(sl.sleep), ats.WithJitterSeed(1))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, dsn := range []string{"nhl", "arena"} {
		got, _, err := pullChanges(ctx, c, dsn, "cust", fixCutoff.Add(-24*time.Hour), 97)
		if err != nil {
			t.Fatal(err)
		}
		if i, ok := rowsEqual(got, changeRows(f.Changes(dsn, schemas.Cust, fixCutoff.Add(-24*time.Hour), fixEnd))); !ok {
			t.Fatalf("%s changes under faults differ at row %d", dsn, i)
		}
		scans, err := pullScans(ctx, c, dsn, fixEventID, 100)
		if err != nil {
			t.Fatal(err)
		}
		if i, ok := rowsEqual(scans, plainRows(f.Scans(dsn, fixEventID, 0, fixEnd, 0))); !ok {
			t.Fatalf("%s scans under faults differ at row %d", dsn, i)
		}
	}
	counts := ts.srv.Faults().Counts()
	t.Logf("calls %d, faults %v, client waits %d", ts.srv.Faults().Calls(), counts, len(sl.d))
	for _, k := range simulator.AllFaultKinds {
		if counts[k] == 0 {
			t.Errorf("no %s fault injected", k)
		}
	}
	// Every fault but "slow" costs the client one retry, hence one wait.
	retried := ts.srv.Faults().Total() - counts[simulator.FaultSlow]
	if int64(len(sl.d)) != retried {
		t.Errorf("client waited %d times, want one per retryable fault (%d)", len(sl.d), retried)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	f := newFixture()
	// Find a seed whose first call is a 429 and second is clean, so the
	// client must wait once and then succeed.
	var seed uint64
	for ; ; seed++ {
		fs, _ := simulator.NewFaults(simulator.FaultConfig{Rate: 0.5, Kinds: []simulator.FaultKind{simulator.Fault429}, Seed: seed})
		if fs.Next().Kind == simulator.Fault429 && fs.Next().Kind == simulator.FaultNone {
			break
		}
	}
	ts := startServer(t, f, fixEnd, simulator.FaultConfig{Rate: 0.5, Kinds: []simulator.FaultKind{simulator.Fault429}, Seed: seed, RetryAfter: 3 * time.Second})
	var sl sleeps
	c := ts.client(ats.WithSleep(sl.sleep), ats.WithBackoff(10*time.Millisecond, 50*time.Millisecond))
	if _, err := c.Tables(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(sl.d) != 1 || sl.d[0] < 3*time.Second {
		t.Fatalf("waits %v: want one wait of at least the Retry-After of 3s", sl.d)
	}

	// Always throttled: the client gives up after its attempts, and says so.
	status, _, _ := ts.post(t, "/admin/faults", testToken, `{"rate":1,"retry_after":"2s"}`)
	if status != 200 {
		t.Fatalf("admin faults: %d", status)
	}
	sl.d = nil
	c = ts.client(ats.WithSleep(sl.sleep), ats.WithMaxAttempts(3))
	_, err := c.Attendance(context.Background(), "nhl", fixEventID, 0, 0)
	var ce *ats.Error
	if !errors.As(err, &ce) || ce.Attempts != 3 || ce.Status != 429 || ce.Command != "attendance" || ce.DSN != "nhl" {
		t.Fatalf("always 429: %v", err)
	}
	if !strings.Contains(err.Error(), "attendance dsn nhl: after 3 attempts: HTTP 429 rate_limited") {
		t.Fatalf("error message %q does not name command, dsn and attempts", err)
	}
	if len(sl.d) != 2 || sl.d[0] < 2*time.Second || sl.d[1] < 2*time.Second {
		t.Fatalf("waits %v: want two of at least 2s", sl.d)
	}
}

func TestAdminNeverFaulted(t *testing.T) {
	ts := startServer(t, newFixture(), fixCutoff, simulator.FaultConfig{Rate: 1, Kinds: []simulator.FaultKind{simulator.FaultDrop}})
	for i := 0; i < 20; i++ {
		status, b, _ := ts.post(t, "/admin/clock", testToken, `{"advance":"3m"}`)
		if status != 200 {
			t.Fatalf("admin call %d: %d %s", i, status, b)
		}
	}
	if got, want := ts.clock.Now(), fixCutoff.Add(60*time.Minute); !got.Equal(want) {
		t.Fatalf("clock %s after 20 advances of 3m, want %s", got, want)
	}
	status, b, _ := ts.post(t, "/admin/clock", testToken, `{"set":"2026-11-21 19:00:00","speed":600}`)
	var st struct {
		Now   string  `json:"now"`
		Speed float64 `json:"speed"`
	}
	if status != 200 || json.Unmarshal(b, &st) != nil || st.Speed != 600 || !strings.HasPrefix(st.Now, "2026-11-21 19:") {
		t.Fatalf("set clock: %d %s", status, b)
	}
	status, b, _ = ts.post(t, "/admin/faults", testToken, `{"rate":0}`)
	if status != 200 || !strings.Contains(string(b), `"kinds":["drop"]`) {
		t.Fatalf("admin faults: %d %s", status, b)
	}
	if status, b, _ = ts.post(t, "/ats", testToken, `{"command":"dsns"}`); status != 200 {
		t.Fatalf("after turning faults off: %d %s", status, b)
	}
}

func TestDeterministicResponses(t *testing.T) {
	calls := []string{
		`{"command":"dsns"}`,
		`{"command":"tables"}`,
		`{"command":"changes","dsn":"nhl","table":"cust","since":"2026-11-20 12:00:01","page_size":1000}`,
		`{"command":"changes","dsn":"arena","table":"cust","since":"2026-11-20T17:00:01Z","page_size":10}`,
		`{"command":"keys","dsn":"nhl","table":"cust","page_size":100}`,
		`{"command":"lookup","dsn":"nhl","table":"cust","keys":["nhl|502|1","nhl|503|1","nope"]}`,
		`{"command":"events","dsn":"nhl"}`,
		`{"command":"attendance","dsn":"nhl","event_id":1001,"after_seq":100,"page_size":500}`,
	}
	run := func() []string {
		ts := startServer(t, newFixture(), fixEnd, simulator.FaultConfig{Rate: 0.3, Seed: 9,
			Kinds: []simulator.FaultKind{simulator.Fault429, simulator.Fault500, simulator.Fault503}})
		var out []string
		for round := 0; round < 3; round++ {
			for _, body := range calls {
				status, b, h := ts.post(t, "/ats", testToken, body)
				out = append(out, fmt.Sprintf("%d %s %s", status, h.Get("Retry-After"), b))
			}
		}
		return out
	}
	a, b := run(), run()
	faulted := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("call %d differs between two runs:\n%.300s\n%.300s", i, a[i], b[i])
		}
		if !strings.HasPrefix(a[i], "200 ") {
			faulted++
		}
	}
	if faulted == 0 {
		t.Fatal("no call faulted: the test does not cover fault determinism")
	}
}

func TestWorldChangesThroughClient(t *testing.T) {
	w, err := simulator.NewWorld(simulator.SmallConfig())
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, w, w.End(), simulator.FaultConfig{Rate: 0.2, Seed: 3, SlowDelay: time.Millisecond})
	var sl sleeps
	c := ts.client(ats.WithSleep(sl.sleep), ats.WithMaxAttempts(30))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	total := 0
	for _, team := range w.Teams() {
		for _, tab := range schemas.SourceTables {
			got, _, err := pullChanges(ctx, c, team, tab.Name, w.Cutoff(), 37)
			if err != nil {
				t.Fatal(err)
			}
			want := w.Changes(team, tab, w.Cutoff(), w.End())
			if i, ok := rowsEqual(got, changeRows(want)); !ok {
				t.Fatalf("%s.%s: %d rows, want %d; first difference at %d", team, tab.Name, len(got), len(want), i)
			}
			total += len(got)
			var keys []string
			for cursor := ""; ; {
				p, err := c.Keys(ctx, team, tab.Name, cursor, 500)
				if err != nil {
					t.Fatal(err)
				}
				keys = append(keys, p.Keys...)
				if cursor = p.NextCursor; cursor == "" {
					break
				}
			}
			if strings.Join(keys, ",") != strings.Join(w.Keys(team, tab, w.End()), ",") {
				t.Fatalf("%s.%s: keys differ from World.Keys", team, tab.Name)
			}
		}
		// The feed keeps a week: look at it three days after the cutoff.
		feedAt := w.Cutoff().Add(72 * time.Hour)
		ts.clock.Set(feedAt)
		evs, err := c.Events(ctx, team, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			t.Fatalf("%s: no feed events", team)
		}
		scans, err := pullScans(ctx, c, team, evs[0].EventID, 10000)
		ts.clock.Set(w.End())
		if err != nil {
			t.Fatal(err)
		}
		if i, ok := rowsEqual(scans, plainRows(w.Scans(team, evs[0].EventID, 0, feedAt, 0))); !ok {
			t.Fatalf("%s event %d scans differ at %d", team, evs[0].EventID, i)
		}
	}
	if total == 0 {
		t.Fatal("no changes after the cutoff in the small world")
	}
	t.Logf("%d changes pulled through %d calls with %d faults", total, ts.srv.Faults().Calls(), ts.srv.Faults().Total())
}

// TestDroppedConnectionIsRetried checks both drop variants against the
// client: before any byte, and half an answer under a full Content-Length.
func TestDroppedConnectionIsRetried(t *testing.T) {
	ts := startServer(t, newFixture(), fixEnd, simulator.FaultConfig{Rate: 1, Kinds: []simulator.FaultKind{simulator.FaultDrop}})
	var sl sleeps
	c := ts.client(ats.WithSleep(sl.sleep), ats.WithMaxAttempts(4))
	_, err := c.Attendance(context.Background(), "nhl", fixEventID, 0, 0)
	var ce *ats.Error
	if !errors.As(err, &ce) || ce.Attempts != 4 || ce.Status != 0 || ce.Err == nil {
		t.Fatalf("always dropped: %v; want 4 attempts ending in a transport error", err)
	}
	// Raw: the early variant gives no response at all, the late one a
	// truncated body.
	var early, late int
	for i := 0; i < 20; i++ {
		req, _ := http.NewRequest(http.MethodPost, ts.hs.URL+"/ats", bytes.NewReader([]byte(`{"command":"tables"}`)))
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := ts.hs.Client().Do(req)
		if err != nil {
			early++
			continue
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			late++
		} else {
			t.Fatalf("drop fault: read %v, want an unexpected EOF", err)
		}
	}
	if early == 0 || late == 0 {
		t.Fatalf("drop variants: %d early, %d late; want both", early, late)
	}
}
