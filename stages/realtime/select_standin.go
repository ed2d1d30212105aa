package realtime

// TEMPORARY stand-in for rtsel's selection (stages/realtime/select.go on
// the rtsel branch): the same names and signature, so the realtime
// commands compile and run before it is merged. It runs the seed's
// verification query with the default criteria only, without the
// sandbox or korebi.birulesettings. Delete this file when rtsel's
// select.go lands.

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"archtics/pipeline"
	"archtics/schemas"
	"archtics/stages"
)

// SelectOptions tune SelectEvents (rtsel's names).
type SelectOptions struct {
	TimeZone string
	CacheDir string
	Logger   *slog.Logger
	Criteria string
}

// standinCriteria is the only criteria the stand-in knows: the seed's
// first example, the product's default.
const standinCriteria = "total_events = 1 AND major_category IN ('SPORTS','CONCERTS')"

// SelectEvents runs the seed's verification query over team's clone at
// logical time at (current_date: at's date in the client's zone).
func SelectEvents(ctx context.Context, w *pipeline.Warehouse, team string, at time.Time, opts SelectOptions) ([]SelectedEvent, error) {
	if opts.Criteria != "" && opts.Criteria != standinCriteria {
		return nil, fmt.Errorf("select events of %s: this build knows only the default criteria %q", team, standinCriteria)
	}
	loc, err := stages.CloneLocation(ctx, w, team, opts.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("select events of %s: %w", team, err)
	}
	db, err := w.OpenViews(ctx, "", opts.CacheDir, schemas.Current(schemas.Event))
	if err != nil {
		return nil, fmt.Errorf("select events of %s: %w", team, err)
	}
	defer db.Close()
	l := at.In(loc)
	today := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
	rows, err := db.QueryContext(ctx, `SELECT event_id, event_name, strftime(event_date, '%Y-%m-%d'), event_time FROM archtics.event
WHERE team = ? AND enabled = 'Y' AND event_date >= CAST(? AS DATE) AND event_date <= CAST(? AS DATE) + 8 AND (`+standinCriteria+`)
ORDER BY event_id`, team, today.Format(time.DateOnly), today.Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("select events of %s: %w", team, err)
	}
	defer rows.Close()
	var out []SelectedEvent
	for rows.Next() {
		var e SelectedEvent
		var date, tm string
		if err := rows.Scan(&e.EventID, &e.Name, &date, &tm); err != nil {
			return nil, fmt.Errorf("select events of %s: %w", team, err)
		}
		e.Team = team
		if e.Date, err = time.Parse(time.DateOnly, date); err != nil {
			return nil, fmt.Errorf("select events of %s: event %d: event_date %q: %w", team, e.EventID, date, err)
		}
		clock, err := time.Parse("15:04:05", tm)
		if err != nil {
			return nil, fmt.Errorf("select events of %s: event %d: event_time %q: want HH:MM:SS", team, e.EventID, tm)
		}
		e.Start = time.Date(e.Date.Year(), e.Date.Month(), e.Date.Day(), clock.Hour(), clock.Minute(), clock.Second(), 0, loc)
		out = append(out, e)
	}
	return out, rows.Err()
}
