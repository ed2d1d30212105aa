package realtime

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"archtics/pipeline"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/stages/clone"
)

// SelectOptions tune SelectEvents and Select.
type SelectOptions struct {
	// TimeZone overrides the client's zone the clone recorded (an IANA
	// name; "" uses the one load-dump recorded, clone.CloneLocation).
	TimeZone string
	// CacheDir is the verified local cache the warehouse's files are read
	// through (required for a warehouse on S3; "" hashes a local
	// warehouse's files in place on every call).
	CacheDir string
	// Logger receives what the selection did (default slog.Default()).
	Logger *slog.Logger
	// Criteria, when not empty, is used instead of the team's record in
	// korebi.birulesettings: `realtime criteria check FRAGMENT` tries a
	// fragment before anyone sets it. It goes through the same sandbox.
	Criteria string
}

// ErrNoCriteria is wrapped by SelectEvents and Select for a team with no
// criteria record in force at the tick. Nothing is selected until an
// admin sets some (archtics realtime criteria set --team T FRAGMENT): a
// team nobody configured fails loudly rather than silently pulling
// nothing, and a caller that wants "nothing to do" tests errors.Is.
var ErrNoCriteria = errors.New("no realtime criteria")

// SeedColumns are the columns the seed's verification query prints, in
// its order.
var SeedColumns = []string{"event_name", "event_date", "event_time", "event_day", "team",
	"major_category", "minor_category", "season_name"}

// selectionPrefix is the seed's verification query up to its criteria,
// with event_id added first (the key the ticks need).
var selectionPrefix = `SELECT event_id, ` + strings.Join(SeedColumns[:4], ", ") + `, ` + strings.Join(SeedColumns[4:], ", ") + `
FROM archtics.event
WHERE enabled = 'Y' AND event_date >= current_date
AND event_date <= current_date + 8
AND (`

// SelectionQuery is the seed's verification query with criteria in place
// of /* INSERT CRITERIA HERE */, parenthesised (a fragment's OR must not
// escape the date range), and event_id added first. Nothing follows the
// criteria, so the text whose parse tree the sandbox checks is exactly
// the text that runs; rows are ordered after.
func SelectionQuery(criteria string) string { return selectionPrefix + criteria + ")" }

// SelectionRow is one row of the seed's verification query (NULL text is
// "").
type SelectionRow struct {
	EventID       int32
	EventName     string
	EventDate     time.Time // civil date, midnight UTC
	EventTime     string
	EventDay      string
	Team          string
	MajorCategory string
	MinorCategory string
	SeasonName    string
}

// Selection is the answer of the seed's verification query for a team
// at an instant.
type Selection struct {
	Team     string
	At       time.Time
	Location *time.Location
	// Today is current_date: the local date at At in Location.
	Today time.Time
	// Criteria is the fragment that ran; Record the korebi.birulesettings
	// version it came from (nil for SelectOptions.Criteria).
	Criteria string
	Record   *CriteriaRecord
	Rows     []SelectionRow
}

// Select runs the seed's verification query for team at the instant at
// over the clone's current archtics.event, in the sandbox: current_date
// is the local date at at in the team's zone, the criteria those in force
// at at (or opts.Criteria).
func Select(ctx context.Context, w *pipeline.Warehouse, team string, at time.Time, opts SelectOptions) (*Selection, error) {
	if err := requireClone(ctx, w, team); err != nil {
		return nil, fmt.Errorf("select events of %s: %w", team, err)
	}
	loc, err := clone.CloneLocation(ctx, w, team, opts.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("select events of %s: %w", team, err)
	}
	local := at.In(loc)
	sel := &Selection{Team: team, At: at, Location: loc,
		Today: time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC), Criteria: opts.Criteria}
	db, err := views.OpenDuckDB(ctx, "", w.Log, opts.CacheDir, schemas.Current(schemas.Event), schemas.BIRuleSettingsHistory)
	if err != nil {
		return nil, fmt.Errorf("select events of %s: %w", team, err)
	}
	defer db.Close()
	if sel.Criteria == "" {
		rec, err := criteriaAt(ctx, db, team, at)
		if err != nil {
			return nil, fmt.Errorf("select events of %s: %w", team, err)
		}
		sel.Record, sel.Criteria = rec, rec.Criteria
	}
	sb, err := openSandbox(ctx, db, team, sel.Today)
	if err != nil {
		return nil, fmt.Errorf("select events of %s: %w", team, err)
	}
	defer func() {
		if sb != nil {
			sb.Close()
		}
	}()
	if err := checkCriteria(ctx, sb, sel.Criteria); err != nil {
		if sel.Record != nil {
			return nil, fmt.Errorf("select events of %s: version %d of its criteria (korebi.birulesettings): %w", team, sel.Record.Version, err)
		}
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.Debug("realtime: running the criteria", "team", team, "criteria", sel.Criteria)
	if sel.Rows, err = runCriteria(ctx, sb, sel.Criteria); err != nil {
		return nil, fmt.Errorf("select events of %s: %w", team, err)
	}
	sb = nil // runCriteria closed it
	sort.Slice(sel.Rows, func(i, j int) bool {
		a, b := sel.Rows[i], sel.Rows[j]
		if !a.EventDate.Equal(b.EventDate) {
			return a.EventDate.Before(b.EventDate)
		}
		if a.EventTime != b.EventTime {
			return a.EventTime < b.EventTime
		}
		return a.EventID < b.EventID
	})
	return sel, nil
}

// SelectEvents returns the events of team the seed's verification query
// selects at the instant at (see Select), in (Start, EventID) order, each
// with its start: event_date + event_time read in the team's zone. An
// event whose event_time does not read as HH:MM[:SS] has no window: it is
// left out with a warning naming it. A team with no criteria in force
// returns an error wrapping ErrNoCriteria.
func SelectEvents(ctx context.Context, w *pipeline.Warehouse, team string, at time.Time, opts SelectOptions) ([]SelectedEvent, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	sel, err := Select(ctx, w, team, at, opts)
	if err != nil {
		return nil, err
	}
	out := make([]SelectedEvent, 0, len(sel.Rows))
	for _, r := range sel.Rows {
		start, err := EventStart(r.EventDate, r.EventTime, sel.Location)
		if err != nil {
			logger.Warn("realtime: a selected event has no start time, so no window: left out until archtics.event gives it one",
				"team", team, "event_id", r.EventID, "event_name", r.EventName, "err", err)
			continue
		}
		out = append(out, SelectedEvent{Team: team, EventID: r.EventID, Name: r.EventName, Date: r.EventDate, Start: start})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].EventID < out[j].EventID
	})
	logger.Debug("realtime: events selected", "team", team, "at", at.UTC().Format(time.RFC3339),
		"current_date", sel.Today.Format(time.DateOnly), "criteria", sel.Criteria, "events", len(out))
	return out, nil
}

// EventStart is the instant an event starts: its event_date (a civil
// date) at its event_time (HH:MM:SS or HH:MM, local) in loc.
func EventStart(date time.Time, eventTime string, loc *time.Location) (time.Time, error) {
	s := strings.TrimSpace(eventTime)
	var tod time.Time
	var err error
	for _, layout := range []string{"15:04:05", "15:04"} {
		if tod, err = time.Parse(layout, s); err == nil {
			break
		}
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("event_time %q on %s: want HH:MM:SS", eventTime, date.Format(time.DateOnly))
	}
	return time.Date(date.Year(), date.Month(), date.Day(), tod.Hour(), tod.Minute(), tod.Second(), 0, loc), nil
}

// runCriteria runs the selection query with criteria on the sandbox sb,
// within CriteriaTimeout, and closes sb. DuckDB notices an interrupt only
// between two chunks of rows, so a cancelled context (a signal) or the
// timeout returns at once and leaves the query to be interrupted, and sb
// closed, behind it: a stopping tick does not wait for it.
func runCriteria(ctx context.Context, sb *sql.DB, criteria string) ([]SelectionRow, error) {
	qctx, cancel := context.WithTimeout(ctx, CriteriaTimeout)
	defer cancel()
	type answer struct {
		rows []SelectionRow
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		defer sb.Close()
		rows, err := querySelection(qctx, sb, criteria)
		done <- answer{rows, err}
	}()
	select {
	case a := <-done:
		if a.err != nil && ctx.Err() == nil && errors.Is(a.err, context.DeadlineExceeded) {
			return nil, timedOut(criteria)
		}
		if a.err != nil {
			return nil, fmt.Errorf("criteria %q: %w", criteria, a.err)
		}
		return a.rows, nil
	case <-qctx.Done():
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, timedOut(criteria)
	}
}

func timedOut(criteria string) error {
	return &CriteriaError{Fragment: criteria, Reason: fmt.Sprintf("selecting the events took longer than %s (over a team's events it takes milliseconds): write simpler criteria", CriteriaTimeout)}
}

func querySelection(ctx context.Context, sb *sql.DB, criteria string) ([]SelectionRow, error) {
	rows, err := sb.QueryContext(ctx, SelectionQuery(criteria))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SelectionRow
	for rows.Next() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var r SelectionRow
		var name, tm, day, tmName, major, minor, season sql.NullString
		if err := rows.Scan(&r.EventID, &name, &r.EventDate, &tm, &day, &tmName, &major, &minor, &season); err != nil {
			return nil, err
		}
		r.EventName, r.EventTime, r.EventDay, r.Team = name.String, tm.String, day.String, tmName.String
		r.MajorCategory, r.MinorCategory, r.SeasonName = major.String, minor.String, season.String
		out = append(out, r)
	}
	return out, rows.Err()
}

// openSandbox opens the second wall: a private in-memory DuckDB holding a
// copy of team's rows of archtics.event (from db, the warehouse's views)
// and, as the column current_date, the logical date today; then file and
// network access is switched off and the configuration locked, so
// nothing run on it afterwards can read anything but that table or turn
// access back on. The caller closes it.
func openSandbox(ctx context.Context, db *sql.DB, team string, today time.Time) (*sql.DB, error) {
	// The copy travels through a Parquet file (types kept exactly) that
	// only this process knows, removed once loaded.
	dir, err := os.MkdirTemp("", "archtics-criteria-")
	if err != nil {
		return nil, fmt.Errorf("criteria sandbox: %w", err)
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "event.parquet")
	cols := make([]string, len(schemas.Event.Columns))
	for i, c := range schemas.Event.Columns {
		cols[i] = schemas.QuoteIdent(c.Name)
	}
	copySQL := fmt.Sprintf("COPY (SELECT %s FROM %s WHERE team = %s) TO %s (FORMAT parquet)",
		strings.Join(cols, ", "), schemas.Current(schemas.Event).SQLName(), schemas.QuoteString(team), schemas.QuoteString(file))
	if _, err := db.ExecContext(ctx, copySQL); err != nil {
		return nil, fmt.Errorf("criteria sandbox: copy the events of %s: %w", team, err)
	}
	return newSandbox(ctx, fmt.Sprintf("CREATE TABLE archtics.event AS SELECT %s, DATE %s AS %s FROM read_parquet(%s)",
		strings.Join(cols, ", "), schemas.QuoteString(today.Format(time.DateOnly)), schemas.QuoteIdent(CurrentDateColumn), schemas.QuoteString(file)))
}

// newSandbox opens an in-memory DuckDB, runs load (which creates
// archtics.event) and puts the walls up: one thread, SandboxMemory and no
// spilling to disk, no file or network access, configuration locked.
func newSandbox(ctx context.Context, load string) (*sql.DB, error) {
	sb, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, fmt.Errorf("criteria sandbox: open duckdb: %w", err)
	}
	// One connection: every statement runs where the walls were set.
	sb.SetMaxOpenConns(1)
	for _, stmt := range []string{
		"CREATE SCHEMA archtics",
		load,
		"SET threads = 1",
		"SET memory_limit = " + schemas.QuoteString(SandboxMemory),
		"SET temp_directory = ''",
		"SET enable_external_access = false",
		"SET lock_configuration = true",
	} {
		if _, err := sb.ExecContext(ctx, stmt); err != nil {
			sb.Close()
			return nil, fmt.Errorf("criteria sandbox: %s: %w", strings.SplitN(stmt, " AS ", 2)[0], err)
		}
	}
	return sb, nil
}
