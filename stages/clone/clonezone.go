package clone

import (
	"context"
	"errors"
	"fmt"
	"time"

	"archtics/pipeline"
)

// TimeZoneCursor is the clone stream's cursor holding the client's IANA
// zone, recorded by load-dump from the dump's manifest. Archtics writes
// every timestamp as the client's wall clock; the incremental pulls and
// the realtime windows need the zone to turn them into instants.
const TimeZoneCursor = "clone.timezone"

// ErrNoTimeZone is returned by CloneLocation when the clone does not know
// its client's zone (a dump whose manifest named none) and none was given.
var ErrNoTimeZone = errors.New("the clone does not know the client's time zone")

// CloneLocation returns the client's zone of team's clone: override when
// not empty (a --timezone flag), else the zone load-dump recorded.
func CloneLocation(ctx context.Context, w *pipeline.Warehouse, team, override string) (*time.Location, error) {
	name := override
	if name == "" {
		head, err := w.Stream(ctx, CloneStream(team))
		if err != nil {
			return nil, fmt.Errorf("time zone of %s: %w", team, err)
		}
		if head.Watermark == "" {
			return nil, fmt.Errorf("%s: %w", team, ErrNoClone)
		}
		name = head.Cursors[TimeZoneCursor]
	}
	if name == "" {
		return nil, fmt.Errorf("time zone of %s: %w: its dump's manifest named none; pass --timezone (an IANA zone such as America/New_York)", team, ErrNoTimeZone)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone of %s: %q: %w (want an IANA zone such as America/New_York)", team, name, err)
	}
	return loc, nil
}
