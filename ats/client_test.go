package ats

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseRows(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want [][]string
		err  bool
	}{
		{`[]`, nil, false},
		{`null`, nil, false},
		{` [ [ "a" , null ,"c"] , [] ,["x"]] `, [][]string{{"a", "", "c"}, {}, {"x"}}, false},
		{`[["q\"uote","back\\slash","nl\n","\u00e9\u2028","😀"]]`, [][]string{{`q"uote`, `back\slash`, "nl\n", "é\u2028", "😀"}}, false},
		{`[["\ud83d\ude00"]]`, [][]string{{"😀"}}, false},
		{`[[12,true]]`, [][]string{{"12", "true"}}, false},
		{`[["a"`, nil, true},
		{`[["a"]`, nil, true},
		{`[["a]]`, nil, true},
		{`{"a":1}`, nil, true},
		{`[["a" "b"]]`, nil, true},
		{`[["bad\x"]]`, nil, true},
	} {
		got, err := parseRows([]byte(tc.in))
		if (err != nil) != tc.err || (!tc.err && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("parseRows(%s) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// TestDecodeScanPage: the attendance answer's fast decoder gives what
// encoding/json gives, and refuses what it refuses.
func TestDecodeScanPage(t *testing.T) {
	asOf := time.Date(2026, 11, 20, 19, 0, 0, 0, time.FixedZone("", -5*3600))
	for _, tc := range []struct {
		in   string
		want ScanPage
		err  bool
	}{
		{`{"command":"attendance","dsn":"nhl","event_id":1,"columns":["a","b"],"rows":[["x",null],["q\"y","z"]],"last_seq":7,"more":true,"as_of":"2026-11-20T19:00:00-05:00"}`,
			ScanPage{Columns: []string{"a", "b"}, Rows: Rows{{"x", ""}, {`q"y`, "z"}}, LastSeq: 7, More: true, AsOf: asOf}, false},
		{`{"columns":["a"],"rows":[],"last_seq":3,"more":false,"as_of":"2026-11-20T19:00:00-05:00"}`,
			ScanPage{Columns: []string{"a"}, LastSeq: 3, AsOf: asOf}, false},
		{`{"columns":["a"],"rows":null,"last_seq":3}`, ScanPage{Columns: []string{"a"}, LastSeq: 3}, false},
		{`{"columns":["a"],"last_seq":3}`, ScanPage{Columns: []string{"a"}, LastSeq: 3}, false},
		// "rows": inside another key or a string is not the rows.
		{`{"\"rows":[["x"]],"columns":["a"],"last_seq":3}`, ScanPage{Columns: []string{"a"}, LastSeq: 3}, false},
		{`{"columns":["b\",\"rows\":[[\"x\"]]"],"rows":[["y"]],"last_seq":3}`,
			ScanPage{Columns: []string{`b","rows":[["x"]]`}, Rows: Rows{{"y"}}, LastSeq: 3}, false},
		// Spelled with an escape, the key is still the rows.
		{`{"columns":["a"],"r\u006fws":[["x"]],"last_seq":3}`, ScanPage{Columns: []string{"a"}, Rows: Rows{{"x"}}, LastSeq: 3}, false},
		{`{"columns":["a"],"rows":[["x"]],"last_seq":}`, ScanPage{}, true},
		{`{"columns":["a"],"rows":[["x"],"last_seq":3}`, ScanPage{}, true},
		{`{"columns":["a"],"rows":[["x"]]`, ScanPage{}, true},
	} {
		got, err := decodeScanPage([]byte(tc.in))
		if (err != nil) != tc.err {
			t.Errorf("%s: error %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if !tc.err && (!reflect.DeepEqual(got.Columns, tc.want.Columns) || !reflect.DeepEqual(got.Rows, tc.want.Rows) ||
			got.LastSeq != tc.want.LastSeq || got.More != tc.want.More || !got.AsOf.Equal(tc.want.AsOf)) {
			t.Errorf("%s: got %+v, want %+v", tc.in, *got, tc.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	for in, want := range map[string]time.Duration{"": -1, "0": 0, "3": 3 * time.Second, " 120 ": 2 * time.Minute, "soon": -1, "-1": -1,
		"Mon, 02 Jan 2006 15:04:05 GMT": 0} {
		if got := parseRetryAfter(in); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestBackoffCappedWithJitter(t *testing.T) {
	c := New("http://x", "", WithBackoff(100*time.Millisecond, time.Second), WithJitterSeed(1))
	for attempt := 1; attempt <= 12; attempt++ {
		d := min(100*time.Millisecond<<(attempt-1), time.Second)
		for i := 0; i < 50; i++ {
			if got := c.backoff(attempt); got < d/2 || got > d {
				t.Fatalf("backoff(%d) = %s, want in [%s, %s]", attempt, got, d/2, d)
			}
		}
	}
}

// TestRetriesThenSucceeds: 503, 502, a 200 with a truncated body, then a
// good answer: four attempts, three backoffs.
func TestRetriesThenSucceeds(t *testing.T) {
	var n atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			return
		}
		switch n.Add(1) {
		case 1:
			w.WriteHeader(503)
		case 2:
			w.WriteHeader(502)
		case 3:
			_, _ = w.Write([]byte(`{"columns":["a"],"rows":[["x"`))
		default:
			_, _ = w.Write([]byte(`{"columns":["a"],"rows":[["x"],[null]],"last_seq":7,"more":true,"as_of":"2026-11-20T12:00:01-05:00"}`))
		}
	}))
	defer hs.Close()
	var waits []time.Duration
	c := New(hs.URL, "tok", WithSleep(func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil }))
	p, err := c.Attendance(context.Background(), "nhl", 1, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(waits) != 3 || n.Load() != 4 {
		t.Fatalf("%d calls, waits %v", n.Load(), waits)
	}
	if !reflect.DeepEqual(p.Rows, Rows{{"x"}, {""}}) || p.LastSeq != 7 || !p.More || p.AsOf.Unix() != time.Date(2026, 11, 20, 17, 0, 1, 0, time.UTC).Unix() {
		t.Fatalf("page %+v", p)
	}
}

func TestErrorNamesCallAndStopsAtDeadline(t *testing.T) {
	var n atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(500)
		_, _ = w.Write([]byte(`{"error":"boom","code":"server_error"}`))
	}))
	defer hs.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The sleep cancels the context on the second wait: the call must stop
	// there, not run to its max attempts.
	waits := 0
	c := New(hs.URL, "", WithMaxAttempts(100), WithSleep(func(ctx context.Context, d time.Duration) error {
		if waits++; waits == 2 {
			cancel()
		}
		return ctx.Err()
	}))
	_, err := c.Changes(ctx, "arena", "ticket", time.Now(), "", 0)
	var ce *Error
	if !errors.As(err, &ce) || ce.Attempts != 2 || !errors.Is(err, context.Canceled) || ce.Code != "server_error" {
		t.Fatalf("err %v", err)
	}
	for _, want := range []string{"ats changes", "dsn arena", "after 2 attempts", "HTTP 500 server_error: boom"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if n.Load() != 2 {
		t.Fatalf("%d calls, want 2", n.Load())
	}
}

func TestNoRetryOnClientError(t *testing.T) {
	var n atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"error":"unknown table \"x\"","code":"unknown_table","field":"table"}`))
	}))
	defer hs.Close()
	_, err := New(hs.URL, "").Keys(context.Background(), "nhl", "x", "", 0)
	var ce *Error
	if !errors.As(err, &ce) || ce.Field != "table" || ce.Retryable() || n.Load() != 1 {
		t.Fatalf("err %v after %d calls", err, n.Load())
	}
}
