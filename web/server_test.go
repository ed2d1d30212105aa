package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"archtics/simulator"
	"archtics/storage/storagetest"
)

// tickedDay is a game day ticked from an hour before one event's start
// to half an hour after it.
func tickedDay(t *testing.T) (*gameDay, string, simulator.EventStart, time.Time) {
	return tickedDayAt(t, "")
}

// tickedDayAt is tickedDay with the warehouse at location.
func tickedDayAt(t *testing.T, location string) (*gameDay, string, simulator.EventStart, time.Time) {
	t.Helper()
	g := newGameDay(t, "", location)
	t.Cleanup(g.closeFeed)
	team := g.world.Teams()[0]
	evs := g.dayEvents(team, g.day.Add(21*time.Hour))
	if len(evs) == 0 {
		t.Fatalf("%s has no event on %s", team, g.day)
	}
	ev := evs[0]
	at := ev.Start.Add(30 * time.Minute).Truncate(30 * time.Minute)
	g.tickUntil(t, ev.Start.Add(-time.Hour).Truncate(30*time.Minute), at)
	return g, team, ev, at
}

func newTestServer(t *testing.T, g *gameDay, token string) *Server {
	t.Helper()
	s := New(Config{Warehouse: g.w, CacheDir: t.TempDir(), Token: token, Logger: quietLogger})
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func get(t *testing.T, h http.Handler, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// TestHandlersSafety checks the token, the safety headers, hostile URLs
// and unknown events, over a real warehouse with a ticked event.
func TestHandlersSafety(t *testing.T) {
	g, team, ev, _ := tickedDay(t)
	const token = "s3cret-token"
	s := newTestServer(t, g, token)
	bearer := map[string]string{"Authorization": "Bearer " + token}
	evPath := fmt.Sprintf("/event/%s/%d", team, ev.EventID)
	for _, tc := range []struct {
		name   string
		target string
		hdr    map[string]string
		want   int
	}{
		{"no token", "/", nil, http.StatusUnauthorized},
		{"wrong token", "/", map[string]string{"Authorization": "Bearer nope"}, http.StatusUnauthorized},
		{"token of another length", evPath, map[string]string{"Authorization": "Bearer " + token + "x"}, http.StatusUnauthorized},
		{"wrong token in the link", "/?token=nope", nil, http.StatusUnauthorized},
		{"bearer token", "/", bearer, http.StatusOK},
		{"cookie", evPath, map[string]string{"Cookie": tokenCookie + "=" + token}, http.StatusOK},
		{"token in the link", evPath + "?token=" + token, nil, http.StatusSeeOther},
		{"event page", evPath, bearer, http.StatusOK},
		{"head", "/api/head", bearer, http.StatusOK},
		{"asset", "/assets/live.js", bearer, http.StatusOK},
		{"unknown event", fmt.Sprintf("/event/%s/999999", team), bearer, http.StatusNotFound},
		{"unknown team", fmt.Sprintf("/event/nobody/%d", ev.EventID), bearer, http.StatusNotFound},
		{"statement in the id", "/event/" + team + "/" + url.PathEscape("1; DROP TABLE x"), bearer, http.StatusNotFound},
		{"OR 1=1 in the id", "/event/" + team + "/" + url.PathEscape("' OR 1=1"), bearer, http.StatusNotFound},
		{"OR 1=1 in the team", "/event/" + url.PathEscape("' OR 1=1 --") + fmt.Sprintf("/%d", ev.EventID), bearer, http.StatusNotFound},
		{"escaped ../ in the team", "/event/" + url.PathEscape("../../etc") + fmt.Sprintf("/%d", ev.EventID), bearer, http.StatusNotFound},
		{"../ in the path", "/event/" + team + "/../../../etc/passwd", bearer, http.StatusTemporaryRedirect},
		{"CSV of an unknown event", fmt.Sprintf("/event/%s/1%%3B%%20DROP/no-shows.csv", team), bearer, http.StatusNotFound},
		{"unknown asset", "/assets/../server.go", bearer, http.StatusTemporaryRedirect},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(t, s, tc.target, tc.hdr)
			if rec.Code != tc.want {
				t.Fatalf("GET %s: status %d, want %d: %s", tc.target, rec.Code, tc.want, rec.Body.String())
			}
			h := rec.Header()
			if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("Content-Security-Policy %q: want script-src 'self' and nothing inline", csp)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("headers %v: want X-Content-Type-Options nosniff and Referrer-Policy no-referrer", h)
			}
			if body := rec.Body.String(); strings.Contains(body, "Error:") || strings.Contains(body, token) {
				t.Errorf("the answer shows a database error or the token: %s", body)
			}
			if tc.want == http.StatusOK && strings.HasPrefix(h.Get("Content-Type"), "text/html") && !strings.HasSuffix(strings.TrimSpace(rec.Body.String()), "</html>") {
				t.Errorf("GET %s: the page is cut short", tc.target)
			}
			if tc.want == http.StatusSeeOther {
				loc := h.Get("Location")
				if strings.Contains(loc, token) || loc != evPath {
					t.Errorf("redirect to %q, want %q without the token", loc, evPath)
				}
				if c := h.Get("Set-Cookie"); !strings.Contains(c, "HttpOnly") {
					t.Errorf("Set-Cookie %q: want an HttpOnly cookie", c)
				}
			}
		})
	}
	t.Run("only GET", func(t *testing.T) {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
			r := httptest.NewRequest(m, evPath, strings.NewReader("x"))
			r.Header.Set("Authorization", "Bearer "+token)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, r)
			if rec.Code != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: status %d, want 405", m, evPath, rec.Code)
			}
		}
	})
	t.Run("no token set: open on loopback", func(t *testing.T) {
		open := newTestServer(t, g, "")
		if rec := get(t, open, evPath, nil); rec.Code != http.StatusOK {
			t.Fatalf("GET %s: status %d, want 200", evPath, rec.Code)
		}
	})
}

// TestNoWrites checks that serving every page leaves the log as it was.
func TestNoWrites(t *testing.T) {
	g, team, ev, _ := tickedDay(t)
	ctx := context.Background()
	before, _, err := headVersion(ctx, g.w)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, g, "")
	for _, p := range []string{"/", fmt.Sprintf("/event/%s/%d", team, ev.EventID), fmt.Sprintf("/event/%s/%d/no-shows.csv", team, ev.EventID), "/api/head"} {
		rec := get(t, s, p, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", p, rec.Code, rec.Body.String())
		}
		io.Copy(io.Discard, rec.Body)
	}
	if s.w.Log.ReadOnly() != true {
		t.Error("the server's log accepts commits: want a read-only log")
	}
	after, _, err := headVersion(ctx, g.w)
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("the log moved while serving: %s → %s", before, after)
	}
}

func TestIsLoopback(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8080", true}, {"localhost:8080", true}, {"[::1]:8080", true}, {"127.0.0.2:80", true},
		{"0.0.0.0:8080", false}, {":8080", false}, {"192.168.1.10:8080", false}, {"[::]:8080", false}, {"example.com:80", false}, {"nonsense", false},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			if got := IsLoopback(tc.addr); got != tc.want {
				t.Errorf("IsLoopback(%q) = %v, want %v", tc.addr, got, tc.want)
			}
		})
	}
}

// TestServeOverS3 serves a warehouse on S3 (through the verified cache):
// the event page's counts equal the truth's.
func TestServeOverS3(t *testing.T) {
	location := storagetest.S3Location(t, "web-serve")
	g, team, ev, at := tickedDayAt(t, location)
	s := newTestServer(t, g, "")
	rec := get(t, s, fmt.Sprintf("/event/%s/%d", team, ev.EventID), nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("event page: %d %s", rec.Code, rec.Body.String())
	}
	want := g.truth(t, team, ev, at)
	for id, n := range map[string]int64{"scans": want.scans, "scanned": want.seats, "sold": want.sold} {
		m := regexp.MustCompile(`<dd id="` + id + `">(\d+)</dd>`).FindStringSubmatch(rec.Body.String())
		if m == nil || m[1] != strconv.FormatInt(n, 10) {
			t.Errorf("%s: the page shows %v, the truth has %d", id, m, n)
		}
	}
}
