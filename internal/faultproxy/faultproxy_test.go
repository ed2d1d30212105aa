package faultproxy

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// backend answers every request with a fixed body and counts what reached it.
func backend(t *testing.T, body string) (*httptest.Server, *atomic.Int64) {
	var reached atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		io.WriteString(w, body)
	}))
	t.Cleanup(hs.Close)
	return hs, &reached
}

// TestKinds: each kind fails a request the way its name says, and says
// whether the request reached the server.
func TestKinds(t *testing.T) {
	const body = "0123456789abcdef"
	for _, tc := range []struct {
		kind        Kind
		reached     int64
		status      int    // 0: the client sees a transport or read error
		wantInError string // part of the body or error the client sees
	}{
		{InternalError, 0, 500, "<Code>InternalError</Code>"},
		{SlowDown, 0, 503, "<Code>SlowDown</Code>"},
		{Reset, 0, 0, ""},
		{Truncate, 1, 200, io.ErrUnexpectedEOF.Error()},
		{LostAnswer, 1, 0, ""},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			hs, reached := backend(t, body)
			p, err := New(hs.URL, Config{Rate: 1, Kinds: []Kind{tc.kind}})
			if err != nil {
				t.Fatal(err)
			}
			ps := httptest.NewServer(p)
			defer ps.Close()
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			resp, err := client.Get(ps.URL + "/bucket/key")
			if tc.status == 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("status %d, want a transport error", resp.StatusCode)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				got, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				seen := string(got)
				if rerr != nil {
					seen += rerr.Error()
				}
				if resp.StatusCode != tc.status || !strings.Contains(seen, tc.wantInError) {
					t.Fatalf("status %d, body+error %q; want %d with %q", resp.StatusCode, seen, tc.status, tc.wantInError)
				}
				if tc.kind == Truncate && (!errors.Is(rerr, io.ErrUnexpectedEOF) || len(got) != len(body)/2) {
					t.Fatalf("read %q then %v; want half the body then an unexpected EOF", got, rerr)
				}
			}
			if reached.Load() != tc.reached {
				t.Errorf("%d requests reached the server, want %d", reached.Load(), tc.reached)
			}
			if p.Injected()[tc.kind] != 1 || p.Total() != 1 {
				t.Errorf("injected %v, want one %s", p.Injected(), tc.kind)
			}
		})
	}
}

// TestSeededSequence: the same seed faults the same requests; rate 0
// passes everything through unharmed.
func TestSeededSequence(t *testing.T) {
	hs, _ := backend(t, "ok")
	pattern := func(cfg Config) string {
		p, err := New(hs.URL, cfg)
		if err != nil {
			t.Fatal(err)
		}
		ps := httptest.NewServer(p)
		defer ps.Close()
		var b strings.Builder
		for range 60 {
			resp, err := http.Get(ps.URL + "/x")
			if err != nil {
				b.WriteByte('!')
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				b.WriteByte('.')
			} else {
				b.WriteByte('5')
			}
		}
		return b.String()
	}
	cfg := Config{Rate: 0.3, Kinds: []Kind{InternalError, SlowDown}, Seed: 7}
	a, b := pattern(cfg), pattern(cfg)
	if a != b || !strings.Contains(a, "5") || !strings.Contains(a, ".") {
		t.Fatalf("two runs with one seed: %s and %s; want the same mix of faults and successes", a, b)
	}
	if clean := pattern(Config{}); strings.ContainsAny(clean, "5!") {
		t.Fatalf("rate 0 faulted: %s", clean)
	}
}
