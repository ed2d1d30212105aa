// Package web is `archtics serve`: a read-only web app over the realtime
// views (archtics.arrivals, archtics.no_shows, archtics.reconcile_v, the
// stored scans) for game-day staff, and the static report the demo writes.
//
// Every query is fixed text with bound parameters, run on DuckDB views
// locked read-only (views.DuckDB.LockReadOnly) over the verified cache;
// the server never commits. The views are reopened when any stream's head
// moves, which the page learns by polling /api/head.
package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"archtics/pipeline"
)

//go:embed assets templates
var files embed.FS

// Config configures a Server.
type Config struct {
	// Warehouse is read through a read-only log: a commit is refused.
	Warehouse *pipeline.Warehouse
	// CacheDir is the verified local cache the views read.
	CacheDir string
	// Token, when set, is required by every request (a bearer token, a
	// cookie the ?token= link sets, or ?token=).
	Token  string
	Logger *slog.Logger
	// PollEvery is how often the server reads the log's heads (default 2 s).
	PollEvery time.Duration
	// Now is the wall clock (default time.Now).
	Now func() time.Time
	// NoWarm leaves the day's event pages to be read when asked for,
	// not ahead after each commit (the static report reads them anyway).
	NoWarm bool
}

// Server serves the pages.
type Server struct {
	cfg   Config
	w     *pipeline.Warehouse
	log   *slog.Logger
	mu    sync.RWMutex // held for reading while a handler uses cur
	cur   *snapshot
	syncM sync.Mutex // one sync at a time
	mux   *http.ServeMux
	token [32]byte
}

// DefaultPollEvery is how often the log's heads are read.
const DefaultPollEvery = 2 * time.Second

// New returns a server over cfg's warehouse; Sync (or Run) opens its views.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PollEvery <= 0 {
		cfg.PollEvery = DefaultPollEvery
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	w := pipeline.Of(cfg.Warehouse.Log.ReadOnlyOver(cfg.Warehouse.Store))
	s := &Server{cfg: cfg, w: w, log: cfg.Logger, mux: http.NewServeMux()}
	if cfg.Token != "" {
		s.token = sha256.Sum256([]byte(cfg.Token))
	}
	assets, _ := fs.Sub(files, "assets")
	s.mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assets)))
	s.mux.HandleFunc("GET /{$}", s.today)
	s.mux.HandleFunc("GET /event/{team}/{id}", s.event)
	s.mux.HandleFunc("GET /event/{team}/{id}/no-shows.csv", s.noShowsCSV)
	s.mux.HandleFunc("GET /api/head", s.head)
	return s
}

// Sync reopens the views when a stream's head moved since the last sync.
func (s *Server) Sync(ctx context.Context) error {
	s.syncM.Lock()
	defer s.syncM.Unlock()
	version, teams, err := headVersion(ctx, s.w)
	if err != nil {
		return fmt.Errorf("serve: read the log: %w", err)
	}
	s.mu.RLock()
	same := s.cur != nil && s.cur.version == version
	s.mu.RUnlock()
	if same {
		return nil
	}
	s.mu.RLock()
	prev := s.cur
	next, err := openSnapshot(ctx, s.w, s.cfg.CacheDir, s.log, version, teams, prev)
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	s.mu.Lock()
	old := s.cur
	s.cur = next
	s.mu.Unlock()
	old.close() // no handler holds it: they read under mu
	s.log.Debug("serve: views reopened", "version", version)
	if s.cfg.NoWarm {
		return nil
	}
	// Read the day's event pages now, in the background, so the pages
	// open on game day refresh from memory; a page asked for meanwhile is
	// read at once (a page at a time holds the snapshot's lock).
	go s.warm(context.WithoutCancel(ctx), next)
	return nil
}

// warm reads the day's event pages of snap while it is current.
func (s *Server) warm(ctx context.Context, snap *snapshot) {
	for _, e := range snap.dayEvents() {
		s.mu.RLock()
		if s.cur != snap {
			s.mu.RUnlock()
			return // replaced (or closed): its pages no longer matter
		}
		_, _, err := snap.eventPage(ctx, e.t, e.id)
		s.mu.RUnlock()
		if err != nil {
			s.log.Warn("serve: reading an event's page ahead failed; it is read when asked for", "team", e.t.Name, "event_id", e.id, "err", err)
			return
		}
	}
}

// Run syncs every PollEvery until ctx ends, then closes the views. A
// failed sync keeps the pages on the last good state and is logged.
func (s *Server) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.PollEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.Close()
			return
		case <-t.C:
			if err := s.Sync(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("serve: could not read the warehouse's new commits; the pages show the last state read", "err", err)
			}
		}
	}
}

// Close closes the views.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur.close()
	s.cur = nil
}

// ServeHTTP checks the token, sets the safety headers and routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "read-only: only GET", http.StatusMethodNotAllowed)
		return
	}
	if s.cfg.Token != "" && !s.authorized(w, r) {
		http.Error(w, "unauthorized: open the link with ?token=... or send Authorization: Bearer <token>", http.StatusUnauthorized)
		return
	}
	s.mux.ServeHTTP(w, r)
}

const tokenCookie = "archtics_serve"

// authorized compares the request's token with the server's in constant
// time (over SHA-256 digests, so lengths leak nothing either). A valid
// ?token= sets an HttpOnly cookie and redirects to the URL without it, so
// the token leaves the address bar and the browser's history.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	ok := func(t string) bool {
		d := sha256.Sum256([]byte(t))
		return t != "" && subtle.ConstantTimeCompare(d[:], s.token[:]) == 1
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && a[:7] == "Bearer " && ok(a[7:]) {
		return true
	}
	if c, err := r.Cookie(tokenCookie); err == nil && ok(c.Value) {
		return true
	}
	q := r.URL.Query()
	if t := q.Get("token"); t != "" && ok(t) {
		http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: t, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
		q.Del("token")
		u := *r.URL
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
		return false
	}
	return false
}

// snap is the current snapshot under the read lock; release unlocks.
func (s *Server) snap(w http.ResponseWriter) (*snapshot, func(), bool) {
	s.mu.RLock()
	if s.cur == nil {
		s.mu.RUnlock()
		http.Error(w, "the warehouse is not read yet: retry in a few seconds", http.StatusServiceUnavailable)
		return nil, nil, false
	}
	return s.cur, s.mu.RUnlock, true
}

// Head is /api/head: what the page polls to know when to refresh.
type Head struct {
	Version string     `json:"version"`
	Teams   []TeamHead `json:"teams"`
}

// TeamHead is one team's realtime stream head.
type TeamHead struct {
	Team        string    `json:"team"`
	Seq         int64     `json:"seq"`
	AsOf        time.Time `json:"as_of"`
	AsOfLocal   string    `json:"as_of_local"`
	CommittedAt time.Time `json:"committed_at"`
}

func (s *Server) head(w http.ResponseWriter, r *http.Request) {
	snap, release, ok := s.snap(w)
	if !ok {
		return
	}
	defer release()
	h := Head{Version: versionTag(snap.version), Teams: []TeamHead{}}
	for _, t := range snap.teams {
		h.Teams = append(h.Teams, TeamHead{Team: t.Name, Seq: t.Seq, AsOf: t.Ref, AsOfLocal: t.Ref.In(t.Loc).Format("15:04"), CommittedAt: t.Committed})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(h)
}

// versionTag is a short digest of a version (stream names stay private).
func versionTag(v string) string {
	d := sha256.Sum256([]byte(v))
	return fmt.Sprintf("%x", d[:8])
}

// eventOf resolves the {team} and {id} of a URL against the snapshot:
// anything else is a 404, before any query runs.
func eventOf(snap *snapshot, r *http.Request) (*Team, int32, bool) {
	t := snap.team(r.PathValue("team"))
	if t == nil {
		return nil, 0, false
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 32)
	if err != nil {
		return nil, 0, false
	}
	for _, e := range t.Stored {
		if e.ID == int32(id) {
			return t, int32(id), true
		}
	}
	return nil, 0, false
}

func (s *Server) today(w http.ResponseWriter, r *http.Request) {
	snap, release, ok := s.snap(w)
	if !ok {
		return
	}
	defer release()
	teams, err := snap.dayTeams(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	s.render(w, r, "today", todayData(snap, teams, s.cfg.Now()))
}

func (s *Server) event(w http.ResponseWriter, r *http.Request) {
	snap, release, ok := s.snap(w)
	if !ok {
		return
	}
	defer release()
	t, id, ok := eventOf(snap, r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	p, ok, err := snap.eventPage(r.Context(), t, id)
	if err == nil && ok {
		p, err = snap.withNoShows(r.Context(), t, p)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	s.render(w, r, "event", eventData(t, p, s.cfg.Now()))
}

func (s *Server) noShowsCSV(w http.ResponseWriter, r *http.Request) {
	snap, release, ok := s.snap(w)
	if !ok {
		return
	}
	defer release()
	t, id, ok := eventOf(snap, r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	var ev Event
	for _, e := range t.Stored {
		if e.ID == id {
			ev = e
		}
	}
	ns, err := snap.noShowsOf(r.Context(), t, ev)
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="no-shows-%s-%d.csv"`, t.Name, id))
	if err := writeNoShowsCSV(w, t.Name, id, ns); err != nil {
		s.log.Warn("serve: no-shows CSV", "err", err)
	}
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, page string, data any) {
	// Rendered whole before a byte is sent: a template that fails midway
	// answers 500, not half a page.
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, page, data); err != nil {
		s.fail(w, fmt.Errorf("render %s: %w", page, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b.Bytes())
}

func (s *Server) fail(w http.ResponseWriter, err error) {
	s.log.Error("serve: query failed", "err", err)
	http.Error(w, "the query failed; the server's log says why", http.StatusInternalServerError)
}

// IsLoopback reports whether addr (host:port) binds to loopback only.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
