package simulator

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// TeamKind says what kind of Archtics database a team is: it decides the
// event schedule (home games or arena shows), the venue and the categories.
type TeamKind string

const (
	// KindHockey is an NHL team: home games Oct-Apr, SPORTS / NHL PRO HOCKEY,
	// season plans (total_events > 1).
	KindHockey TeamKind = "hockey"
	// KindArena is the arena's own database: concerts, family shows and
	// parking (a category the realtime feed does not cover).
	KindArena TeamKind = "arena"
)

// TeamSpec names one Archtics database (DSN) of the client.
type TeamSpec struct {
	Name string   // the team column's value, e.g. "nhl"
	Kind TeamKind // hockey or arena
}

// Config holds every knob of a simulated client. Same Config, same bytes:
// everything is derived from Seed and the knobs, never from the clock, the
// worker count or map order.
type Config struct {
	Seed     uint64
	Client   string // client name written in the manifest
	TimeZone string // IANA zone of the client's Archtics (row timestamps are local wall clock)
	Teams    []TeamSpec

	Seasons         int     // seasons of events, the last one holds the cutoff
	EventsPerSeason int     // per team: home games (hockey) or shows (arena), plan rows excluded
	Accounts        int     // accounts per team
	TicketsPerEvent int     // sold seat blocks (ticket rows) of a full-size event
	AttendanceRate  float64 // share of sold seats scanned in
	DuplicateRate   float64 // share of accounts that belong to a person who already has another account
	MergeRate       float64 // share of same-team duplicate accounts Archtics merges into their original

	// Cutoff is the instant the dump was cut at: it holds every version
	// committed strictly before it ("before 12:00:01").
	Cutoff time.Time
	// HistoryStart is the oldest add_date of any row (accounts created long
	// before the first simulated season). Zero: six years before the first season.
	HistoryStart time.Time
	// DaysAfterCutoff is how long activity continues after the cutoff: the
	// change API and the scan feed serve it.
	DaysAfterCutoff int

	// LeagueNight adds that many events per team at 19:00 the day after the
	// cutoff, with a rush when the gates open: the realtime benchmark's
	// busiest tick (LeagueConfig). 0: none.
	LeagueNight int
	// LeagueDays repeats the league night on that many consecutive days
	// from the day after the cutoff (0 or 1: one night): the seven-day
	// realtime query benchmark's week of crowds. Days past the simulated
	// end get none.
	LeagueDays int

	PartRows    int  // rows per dump part, roughly (parts split on entity ranges)
	CRMContacts int  // contacts in the pre-existing CRM file; 0: Accounts/8
	DirtyLines  bool // inject a few malformed lines in the dump, listed in the manifest
	Workers     int  // dump parallelism; 0: runtime.GOMAXPROCS(0). Never changes the output.
}

// DefaultTeams is the usual client: an NHL team and its arena.
func DefaultTeams() []TeamSpec {
	return []TeamSpec{{Name: "nhl", Kind: KindHockey}, {Name: "arena", Kind: KindArena}}
}

// DefaultTimeZone is the client's zone: the realtime integration is US-only.
const DefaultTimeZone = "America/New_York"

func defaultCutoff(tz string) time.Time {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	// "all data entered before 12:00:01 (one second after noon)".
	return time.Date(2026, 11, 20, 12, 0, 1, 0, loc).UTC()
}

// DefaultConfig is the demo size: a few seconds to generate and dump.
func DefaultConfig() Config {
	return Config{
		Seed:            20261120,
		Client:          "Harbor City Sports & Entertainment",
		TimeZone:        DefaultTimeZone,
		Teams:           DefaultTeams(),
		Seasons:         3,
		EventsPerSeason: 44,
		Accounts:        20000,
		TicketsPerEvent: 600,
		AttendanceRate:  0.82,
		DuplicateRate:   0.06,
		MergeRate:       0.25,
		Cutoff:          defaultCutoff(DefaultTimeZone),
		DaysAfterCutoff: 14,
		PartRows:        1_000_000,
	}
}

// SmallConfig is for tests: ~2,000 accounts and ~40 events, well under a second.
func SmallConfig() Config {
	c := DefaultConfig()
	c.Seasons = 2
	c.EventsPerSeason = 9
	c.Accounts = 1000
	c.TicketsPerEvent = 150
	c.DuplicateRate = 0.08
	c.PartRows = 500 // several parts even at this size, so splitting is exercised
	return c
}

// TinyConfig is the golden dump's (testdata/dump-tiny, written by
// simulator/cmd/tinydump): the smallest world that still holds every
// special case, with malformed lines injected.
func TinyConfig() Config {
	c := SmallConfig()
	c.Accounts = 200
	c.Seasons = 1
	c.EventsPerSeason = 3
	c.TicketsPerEvent = 10
	c.PartRows = 100
	c.DirtyLines = true
	return c
}

// BenchConfig is the benchmark size: 1,000,000 accounts and about
// 20,000,000 ticket rows in the dump (two teams, 500,000 accounts each).
func BenchConfig() Config {
	c := DefaultConfig()
	c.Accounts = 500_000
	c.Seasons = 10
	c.EventsPerSeason = 100
	c.TicketsPerEvent = 12_000
	return c
}

// Scale returns the preset of that name: small, default, bench or league.
func Scale(name string) (Config, error) {
	switch name {
	case "small":
		return SmallConfig(), nil
	case "default", "":
		return DefaultConfig(), nil
	case "bench":
		return BenchConfig(), nil
	case "league":
		return LeagueConfig(), nil
	}
	return Config{}, fmt.Errorf("simulator: unknown scale %q: want small, default, bench or league", name)
}

// ParseTeams parses "nhl,arena" or "nhl:hockey,concerts:arena". A name
// without a kind is hockey if it is the first team, arena otherwise, unless
// the name itself is a kind.
func ParseTeams(s string) ([]TeamSpec, error) {
	var out []TeamSpec
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, kind, found := strings.Cut(part, ":")
		t := TeamSpec{Name: name, Kind: TeamKind(kind)}
		if !found {
			switch {
			case name == string(KindArena):
				t.Kind = KindArena
			case name == string(KindHockey) || i == 0:
				t.Kind = KindHockey
			default:
				t.Kind = KindArena
			}
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, errors.New("simulator: --teams is empty")
	}
	return out, nil
}

var teamNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,49}$`)

// Validate checks the knobs, with messages that say which knob and why.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if _, err := time.LoadLocation(c.TimeZone); err != nil || c.TimeZone == "" {
		bad("time zone %q: not an IANA zone name (e.g. America/New_York)", c.TimeZone)
	}
	if len(c.Teams) == 0 {
		bad("no teams: want at least one Archtics database")
	}
	if len(c.Teams) > 16 {
		bad("%d teams: at most 16", len(c.Teams))
	}
	seen := map[string]bool{}
	for _, t := range c.Teams {
		if !teamNameRE.MatchString(t.Name) {
			bad("team name %q: want lower-case letters, digits, '-' or '_', starting with a letter", t.Name)
		}
		if seen[t.Name] {
			bad("team %q listed twice", t.Name)
		}
		seen[t.Name] = true
		if t.Kind != KindHockey && t.Kind != KindArena {
			bad("team %q: kind %q, want hockey or arena", t.Name, t.Kind)
		}
	}
	if c.Seasons < 1 || c.Seasons > 30 {
		bad("seasons = %d: want 1..30", c.Seasons)
	}
	if c.EventsPerSeason < 3 || c.EventsPerSeason > 2000 {
		bad("events per season = %d: want 3..2000", c.EventsPerSeason)
	}
	if c.Accounts < 200 || c.Accounts > 20_000_000 {
		bad("accounts = %d: want 200..20,000,000 per team (the simulator needs a few hundred to place its special cases)", c.Accounts)
	}
	if c.TicketsPerEvent < 10 || c.TicketsPerEvent > 200_000 {
		bad("tickets per event = %d: want 10..200,000 seat blocks", c.TicketsPerEvent)
	}
	if c.AttendanceRate <= 0 || c.AttendanceRate > 1 {
		bad("attendance rate = %g: want a share in (0, 1]", c.AttendanceRate)
	}
	if c.DuplicateRate < 0 || c.DuplicateRate > 0.5 {
		bad("duplicate rate = %g: want 0..0.5", c.DuplicateRate)
	}
	if c.MergeRate < 0 || c.MergeRate > 1 {
		bad("merge rate = %g: want 0..1", c.MergeRate)
	}
	if c.Cutoff.IsZero() {
		bad("no cutoff: the dump needs the instant it was cut at")
	}
	if c.DaysAfterCutoff < 0 || c.DaysAfterCutoff > 366 {
		bad("days after cutoff = %d: want 0..366", c.DaysAfterCutoff)
	}
	if !c.HistoryStart.IsZero() && !c.Cutoff.IsZero() {
		first := c.firstSeasonStart()
		if !c.HistoryStart.Before(first) {
			bad("history start %s: must be before the first season's on-sale %s (accounts exist before tickets are sold)",
				c.HistoryStart.Format(time.RFC3339), first.Format(time.RFC3339))
		}
	}
	if c.LeagueNight < 0 || c.LeagueNight > 64 {
		bad("league night = %d: want 0..64 extra events per team", c.LeagueNight)
	}
	if c.LeagueDays < 0 || c.LeagueDays > 14 {
		bad("league days = %d: want 0..14 nights", c.LeagueDays)
	}
	if c.PartRows < 100 {
		bad("part rows = %d: want at least 100", c.PartRows)
	}
	if c.CRMContacts < 0 {
		bad("CRM contacts = %d: want >= 0", c.CRMContacts)
	}
	if c.Workers < 0 {
		bad("workers = %d: want >= 0", c.Workers)
	}
	if len(errs) > 0 {
		return fmt.Errorf("simulator config: %w", errors.Join(errs...))
	}
	return nil
}

func (c Config) location() *time.Location {
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// seasonYear is the year the season holding t starts in (seasons run Aug-Jul).
func seasonYear(t time.Time) int {
	if t.Month() >= time.August {
		return t.Year()
	}
	return t.Year() - 1
}

// firstSeasonStart is the on-sale of the oldest season: May 1 before it.
func (c Config) firstSeasonStart() time.Time {
	loc := c.location()
	y := seasonYear(c.Cutoff.In(loc)) - c.Seasons + 1
	return time.Date(y, time.May, 1, 10, 0, 0, 0, loc)
}

func (c Config) historyStart() time.Time {
	if !c.HistoryStart.IsZero() {
		return c.HistoryStart
	}
	loc := c.location()
	y := seasonYear(c.Cutoff.In(loc)) - c.Seasons + 1 - 6
	return time.Date(y, time.January, 2, 9, 0, 0, 0, loc)
}

// End is the last instant of simulated activity: Cutoff + DaysAfterCutoff.
func (c Config) End() time.Time {
	return c.Cutoff.Add(time.Duration(c.DaysAfterCutoff) * 24 * time.Hour)
}
