package web

import (
	"context"
	"fmt"
	"log/slog"
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

	// pages holds the event pages' data read in this state: nothing
	// changes until the next commit, when a new snapshot replaces it.
	pagesMu sync.Mutex
	pages   map[string]*EventPage
}

// eventPage is the event's page data, read once per snapshot.
func (s *snapshot) eventPage(ctx context.Context, t *Team, id int32) (*EventPage, bool, error) {
	s.pagesMu.Lock()
	defer s.pagesMu.Unlock()
	key := t.Name + "/" + strconv.Itoa(int(id))
	if p, ok := s.pages[key]; ok {
		return p, true, nil
	}
	p, ok, err := eventPage(ctx, s.db.DB, t, id)
	if err != nil || !ok {
		return nil, ok, err
	}
	attrs := []any{"team", t.Name, "event_id", id}
	for _, q := range p.Took {
		attrs = append(attrs, q.Query, q.Took.Round(time.Millisecond).String())
	}
	s.logger.Debug("serve: event page read", attrs...)
	if s.pages == nil {
		s.pages = map[string]*EventPage{}
	}
	s.pages[key] = p
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
func openSnapshot(ctx context.Context, w *pipeline.Warehouse, cacheDir string, logger *slog.Logger, version string, teams map[string]*Team) (*snapshot, error) {
	d, err := views.OpenViews(ctx, w.Log, "", cacheDir, queryTables...)
	if err != nil {
		return nil, fmt.Errorf("serve: open the views: %w", err)
	}
	if err := d.LockReadOnly(ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("serve: %w", err)
	}
	s := &snapshot{version: version, db: d, w: w, cacheDir: cacheDir, logger: logger}
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
	// Read the pages of the events whose window is open before the
	// snapshot goes live, so the pages open on game day refresh from
	// memory after each tick. (Only those: a commit changes no other.)
	for _, t := range s.teams {
		for _, e := range t.Today {
			if !e.Stored || e.State != StateOpen {
				continue
			}
			if _, _, err := s.eventPage(ctx, t, e.ID); err != nil {
				s.close()
				return nil, err
			}
		}
	}
	sort.Slice(s.teams, func(i, j int) bool { return s.teams[i].Name < s.teams[j].Name })
	return s, nil
}
