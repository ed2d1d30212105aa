package watch

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSendRetries: what a request's failures make of it. The receiver
// answers a script of statuses; the backoff between attempts doubles up
// to its cap, a status a retry cannot change stops at once, running out
// of attempts stops, a cancelled context stops mid-backoff; no message
// holds the URL's path or query (the receiver's token).
func TestSendRetries(t *testing.T) {
	const token = "T0123-B0456-tokenXYZ"
	for _, tc := range []struct {
		name     string
		script   []int // statuses answered in turn; 0 drops the connection
		attempts int
		cancelAt int // cancel the context at this wait (1-based); 0 never
		want     string
		calls    int
		waits    []time.Duration
	}{
		{name: "success at once", script: []int{200}, attempts: 5, calls: 1},
		{name: "5xx then success", script: []int{500, 503, 502, 204}, attempts: 5, calls: 4,
			waits: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}},
		{name: "429 and 408 are retried", script: []int{429, 408, 200}, attempts: 5, calls: 3,
			waits: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}},
		{name: "a dropped connection is retried", script: []int{0, 200}, attempts: 5, calls: 1,
			waits: []time.Duration{100 * time.Millisecond}},
		{name: "400 stops at once", script: []int{400}, attempts: 5, calls: 1, want: "answered HTTP 400, which a retry would not change"},
		{name: "a redirect is not followed", script: []int{302}, attempts: 5, calls: 1, want: "answered HTTP 302"},
		{name: "out of attempts", script: []int{500, 500, 500}, attempts: 3, calls: 3, want: "3 attempts failed, the last with HTTP 500",
			waits: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}},
		{name: "stopped mid-backoff", script: []int{500, 500, 500}, attempts: 5, cancelAt: 2, calls: 2, want: "stopped: context canceled",
			waits: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			calls, dropped := 0, 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				i := calls + dropped
				status := tc.script[min(i, len(tc.script)-1)]
				if status == 0 {
					dropped++
				} else {
					calls++
				}
				mu.Unlock()
				if status == 0 {
					// net/http's client resends a request with an
					// Idempotency-Key by itself after such a drop; the
					// second drop is the one the sender sees.
					if hj, ok := w.(http.Hijacker); ok {
						if conn, _, err := hj.Hijack(); err == nil {
							conn.Close()
							return
						}
					}
				}
				if status == 302 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(status)
			}))
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var waits []time.Duration
			opts := DeliverOptions{Attempts: tc.attempts, BaseBackoff: 100 * time.Millisecond, MaxBackoff: 300 * time.Millisecond,
				Sleep: func(ctx context.Context, d time.Duration) error {
					waits = append(waits, d)
					if len(waits) == tc.cancelAt {
						cancel()
					}
					return ctx.Err()
				}}
			opts.defaults()
			d := &delivery{team: "nhl", hook: Webhook{URL: srv.URL + "/hooks/" + token + "?sig=" + token}, opts: opts,
				rep: &Report{Webhook: redactedURL(srv.URL + "/x")}}
			a := &Arrival{Team: "nhl", EventID: 7, Seq: 7000001, Label: "VIP", ScanAt: time.Unix(1_800_000_000, 0)}
			err := d.send(ctx, a)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("send: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("send returned %v, want %q", err, tc.want)
			case err != nil && strings.Contains(err.Error(), token):
				t.Fatalf("the error holds the URL's token: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if calls != tc.calls {
				t.Errorf("the receiver answered %d calls, want %d", calls, tc.calls)
			}
			if !slices.Equal(waits, tc.waits) {
				t.Errorf("waits %v, want %v", waits, tc.waits)
			}
		})
	}
}

// TestSendUnreachable: a receiver that is gone fails with the host in
// the message, never the path or query.
func TestSendUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	opts := DeliverOptions{Attempts: 2, Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}
	opts.defaults()
	d := &delivery{team: "nhl", hook: Webhook{URL: url + "/hooks/SECRETPATH?token=SECRETQUERY"}, opts: opts, rep: &Report{Webhook: redactedURL(url + "/x")}}
	err := d.send(context.Background(), &Arrival{Team: "nhl", EventID: 1, Seq: 1})
	if err == nil || !strings.Contains(err.Error(), "2 attempts failed") {
		t.Fatalf("send to a closed port: %v", err)
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("the error holds the URL's path or query: %v", err)
	}
	if !strings.Contains(err.Error(), strings.TrimPrefix(url, "http://")) {
		t.Errorf("the error does not name the host: %v", err)
	}
}
