package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"archtics/pipeline"
	"archtics/pipeline/views"
	"archtics/stages/clone"
	"archtics/stages/realtime"
)

// Team is a team with a realtime stream, as of the snapshot.
type Team struct {
	Name string
	// Seq is the realtime stream's head; Ref its watermark, the logical
	// time of the latest tick (what "data as of" says); Committed when
	// that commit was written.
	Seq       int64
	Ref       time.Time
	Committed time.Time
	// Loc is the team's preferred zone (the realtime stream's setting,
	// else the client's): the zone of every time the pages show.
	Loc *time.Location
	// Today is the team's day at Ref (see todays); Stored every event
	// with stored scans.
	Today  []Event
	Stored []Event
}

// snapshot is the warehouse as the pages show it: DuckDB views over the
// verified files of one state of the log, locked read-only.
type snapshot struct {
	version  string // every stream's head seq: a new commit anywhere changes it
	teams    []*Team
	db       *views.DuckDB
	w        *pipeline.Warehouse
	cacheDir string
	logger   *slog.Logger

	// files says which files the views read (see fileIndex).
	files fileIndex
	// pages holds the event pages' data, each with what it was read
	// from: a page carries over to the next snapshot while its event's
	// files are the same (the commit was another event's tick).
	pagesMu  sync.Mutex
	pages    map[string]*cachedPage
	arrivals map[string]*cachedRows[arrivalsRows] // an event's arrivals, also drawn beside the next comparable event
	noShows  map[string]*cachedRows[[]NoShow]
}

// cachedRows are a query's rows for one event and the key of the files
// they were read from (the clone's, the reconciliation's and the event's
// partition of scans).
type cachedRows[T any] struct {
	key  string
	rows T
}

type arrivalsRows struct {
	buckets []GateBucket
	curve   []SharePoint
}

// rowsKey is what an event's arrivals and no-shows depend on.
func (s *snapshot) rowsKey(team, date string) string {
	return s.files.base + "|" + s.files.byDate[team+"/"+date]
}

// arrivalsOf reads an event's arrivals once per state of its files;
// pagesMu is held.
func (s *snapshot) arrivalsOf(team string) arrivalsFunc {
	return func(ctx context.Context, id int32, date string) ([]GateBucket, []SharePoint, error) {
		name, key := team+"/"+strconv.Itoa(int(id)), s.rowsKey(team, date)
		if c, ok := s.arrivals[name]; ok && c.key == key {
			return c.rows.buckets, c.rows.curve, nil
		}
		b, curve, err := gateBuckets(ctx, s.db.DB, team, id)
		if err != nil {
			return nil, nil, err
		}
		s.arrivals[name] = &cachedRows[arrivalsRows]{key, arrivalsRows{b, curve}}
		return b, curve, nil
	}
}

// noShowsOf reads an event's no-shows (archtics.no_shows) once per state
// of its files.
func (s *snapshot) noShowsOf(ctx context.Context, t *Team, e Event) ([]NoShow, error) {
	s.pagesMu.Lock()
	defer s.pagesMu.Unlock()
	name, key := t.Name+"/"+strconv.Itoa(int(e.ID)), s.rowsKey(t.Name, e.Date)
	if c, ok := s.noShows[name]; ok && c.key == key {
		return c.rows, nil
	}
	start := time.Now()
	ns, err := noShows(ctx, s.db.DB, t.Name, e.ID)
	if err != nil {
		return nil, fmt.Errorf("event %d of %s: archtics.no_shows: %w", e.ID, t.Name, err)
	}
	s.logger.Debug("serve: no-shows read", "team", t.Name, "event_id", e.ID, "no_shows", time.Since(start).Round(time.Millisecond).String())
	s.noShows[name] = &cachedRows[[]NoShow]{key, ns}
	return ns, nil
}

// withNoShows is the page with its no-shows when it shows them (a copy:
// cached pages are shared by snapshots and requests).
func (s *snapshot) withNoShows(ctx context.Context, t *Team, p *EventPage) (*EventPage, error) {
	if !p.ShowsNoShows() {
		return p, nil
	}
	ns, err := s.noShowsOf(ctx, t, p.Event)
	if err != nil {
		return nil, err
	}
	c := *p
	c.NoShows = ns
	return &c, nil
}

// cachedPage is an event page's data and the files it was read from.
type cachedPage struct {
	key      string // the event's own files and state (pageKey)
	prevDate string // the previous comparable event's partition, and its files
	prevKey  string
	page     *EventPage
}

// fileIndex digests the files the views read: those of the clone and of
// the reconciliation together (base), the stored scans per partition
// (team/event_date) apart, so a tick's commit changes only the pages of
// the events whose partition it wrote.
type fileIndex struct {
	base   string
	byDate map[string]string
}

const enrichedDir = "/archtics_rtx/attendance_enriched/"

func indexFiles(files []string) fileIndex {
	var base []string
	parts := map[string][]string{}
	for _, f := range files {
		p := filepath.ToSlash(f)
		i := strings.Index(p, enrichedDir)
		if i < 0 {
			base = append(base, p)
			continue
		}
		segs := strings.Split(p[i+len(enrichedDir):], "/")
		var team, date string
		for _, s := range segs {
			if v, ok := strings.CutPrefix(s, "team="); ok {
				team = v
			}
			if v, ok := strings.CutPrefix(s, "event_date="); ok {
				date = v
			}
		}
		parts[team+"/"+date] = append(parts[team+"/"+date], p)
	}
	digest := func(ps []string) string {
		sort.Strings(ps)
		d := sha256.Sum256([]byte(strings.Join(ps, "\n")))
		return hex.EncodeToString(d[:12])
	}
	ix := fileIndex{base: digest(base), byDate: map[string]string{}}
	for k, ps := range parts {
		ix.byDate[k] = digest(ps)
	}
	return ix
}

// pageKey is what an event page depends on: the clone's and the
// reconciliation's files, the event's partition's and its state.
func (s *snapshot) pageKey(t *Team, e Event) string {
	return s.files.base + "|" + s.files.byDate[t.Name+"/"+e.Date] + "|" + e.State
}

// eventPage is the event's page data, read once per state of its files.
func (s *snapshot) eventPage(ctx context.Context, t *Team, id int32) (*EventPage, bool, error) {
	s.pagesMu.Lock()
	defer s.pagesMu.Unlock()
	var ev *Event
	for i := range t.Stored {
		if t.Stored[i].ID == id {
			ev = &t.Stored[i]
		}
	}
	if ev == nil {
		return nil, false, nil
	}
	name := t.Name + "/" + strconv.Itoa(int(id))
	key := s.pageKey(t, *ev)
	if c, ok := s.pages[name]; ok && c.key == key && s.files.byDate[t.Name+"/"+c.prevDate] == c.prevKey {
		return c.page, true, nil
	}
	p, ok, err := eventPage(ctx, s.db.DB, t, id, s.arrivalsOf(t.Name))
	if err != nil || !ok {
		return nil, ok, err
	}
	attrs := []any{"team", t.Name, "event_id", id}
	for _, q := range p.Took {
		attrs = append(attrs, q.Query, q.Took.Round(time.Millisecond).String())
	}
	s.logger.Debug("serve: event page read", attrs...)
	c := &cachedPage{key: key, page: p}
	if p.Previous != nil {
		c.prevDate = p.Previous.Date
		c.prevKey = s.files.byDate[t.Name+"/"+c.prevDate]
	}
	s.pages[name] = c
	return p, true, nil
}

func (s *snapshot) team(name string) *Team {
	for _, t := range s.teams {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// newest is the team with the latest tick (nil without teams).
func (s *snapshot) newest() *Team {
	var best *Team
	for _, t := range s.teams {
		if best == nil || t.Committed.After(best.Committed) {
			best = t
		}
	}
	return best
}

func (s *snapshot) close() {
	if s != nil && s.db != nil {
		s.db.Close()
	}
}

// headVersion reads every stream's head: the version that says whether the
// snapshot is current, and the realtime streams' heads.
func headVersion(ctx context.Context, w *pipeline.Warehouse) (string, map[string]*Team, error) {
	names, err := w.Streams(ctx)
	if err != nil {
		return "", nil, err
	}
	var b strings.Builder
	teams := map[string]*Team{}
	for _, n := range names {
		head, err := w.Stream(ctx, n)
		if err != nil {
			return "", nil, fmt.Errorf("stream %s: %w", n, err)
		}
		b.WriteString(n + "=" + strconv.FormatInt(head.Seq, 10) + ";")
		team, ok := strings.CutSuffix(n, "/realtime")
		if !ok || head.Seq == 0 {
			continue
		}
		t := &Team{Name: team, Seq: head.Seq, Committed: head.CommittedAt}
		if head.Watermark != "" {
			if t.Ref, err = time.Parse(time.RFC3339Nano, head.Watermark); err != nil {
				return "", nil, fmt.Errorf("stream %s: watermark %q: %w", n, head.Watermark, err)
			}
		}
		if z := head.Cursors[realtime.PreferredTimeZoneCursor]; z != "" {
			if loc, err := time.LoadLocation(z); err == nil {
				t.Loc = loc
			}
		}
		teams[team] = t
	}
	return b.String(), teams, nil
}

// openSnapshot opens the views over the state at version and reads each
// team's events.
func openSnapshot(ctx context.Context, w *pipeline.Warehouse, cacheDir string, logger *slog.Logger, version string, teams map[string]*Team, prev *snapshot) (*snapshot, error) {
	d, err := views.OpenViews(ctx, w.Log, "", cacheDir, queryTables...)
	if err != nil {
		return nil, fmt.Errorf("serve: open the views: %w", err)
	}
	if err := d.LockReadOnly(ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("serve: %w", err)
	}
	s := &snapshot{version: version, db: d, w: w, cacheDir: cacheDir, logger: logger, files: indexFiles(d.Files),
		pages: map[string]*cachedPage{}, arrivals: map[string]*cachedRows[arrivalsRows]{}, noShows: map[string]*cachedRows[[]NoShow]{}}
	if prev != nil {
		// Kept while their keys hold, checked on use.
		prev.pagesMu.Lock()
		maps.Copy(s.pages, prev.pages)
		maps.Copy(s.arrivals, prev.arrivals)
		maps.Copy(s.noShows, prev.noShows)
		prev.pagesMu.Unlock()
	}
	for _, t := range teams {
		if t.Loc == nil {
			if t.Loc, err = clone.CloneLocation(ctx, w, t.Name, ""); err != nil {
				t.Loc = time.UTC
				logger.Warn("serve: no time zone for the team: times show in UTC", "team", t.Name, "err", err)
			}
		}
		if t.Stored, err = storedEvents(ctx, d.DB, t); err != nil {
			s.close()
			return nil, err
		}
		t.Today = todays(selected(ctx, s, t, t.Stored), t.Ref, t.Loc)
		s.teams = append(s.teams, t)
	}
	// Forget the events no longer stored (expired).
	gone := func(k string) bool {
		team, id, _ := strings.Cut(k, "/")
		t := s.team(team)
		return t == nil || !t.stores(id)
	}
	maps.DeleteFunc(s.pages, func(k string, _ *cachedPage) bool { return gone(k) })
	maps.DeleteFunc(s.arrivals, func(k string, _ *cachedRows[arrivalsRows]) bool { return gone(k) })
	maps.DeleteFunc(s.noShows, func(k string, _ *cachedRows[[]NoShow]) bool { return gone(k) })
	sort.Slice(s.teams, func(i, j int) bool { return s.teams[i].Name < s.teams[j].Name })
	return s, nil
}

// stores reports whether the team has stored scans of the event id (text).
func (t *Team) stores(id string) bool {
	for _, e := range t.Stored {
		if strconv.Itoa(int(e.ID)) == id {
			return true
		}
	}
	return false
}

// dayTeams are the teams with the counts of their day's events, read
// from the events' pages (cached, or read now).
func (s *snapshot) dayTeams(ctx context.Context) ([]*Team, error) {
	out := make([]*Team, len(s.teams))
	for i, t := range s.teams {
		c := *t
		c.Today = append([]Event(nil), t.Today...)
		for j, e := range c.Today {
			if !e.Stored {
				continue
			}
			p, _, err := s.eventPage(ctx, t, e.ID)
			if err != nil {
				return nil, err
			}
			if p != nil {
				c.Today[j].Scanned, c.Today[j].Sold = p.Scanned, p.Sold
			}
		}
		out[i] = &c
	}
	return out, nil
}

// dayEvent is one of the day's events with stored scans.
type dayEvent struct {
	t  *Team
	id int32
}

// dayEvents lists the day's events with stored scans, open ones first
// (the pages staff watch during a game).
func (s *snapshot) dayEvents() []dayEvent {
	var open, other []dayEvent
	for _, t := range s.teams {
		for _, e := range t.Today {
			switch {
			case !e.Stored:
			case e.State == StateOpen:
				open = append(open, dayEvent{t, e.ID})
			default:
				other = append(other, dayEvent{t, e.ID})
			}
		}
	}
	return append(open, other...)
}
