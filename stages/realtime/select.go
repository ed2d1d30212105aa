package realtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"archtics/pipeline"
)

// SelectOptions tune SelectEvents.
type SelectOptions struct {
	// TimeZone overrides the client's zone the clone recorded (an IANA
	// name; "" uses stages.CloneLocation's).
	TimeZone string
	// CacheDir is the verified local cache the clone's files are read
	// through ("" for the warehouse's default).
	CacheDir string
	// Logger receives what the selection did (default slog.Default()).
	Logger *slog.Logger
	// Criteria, when not empty, is used instead of the team's record in
	// korebi.birulesettings: `criteria check FRAGMENT` tries a fragment
	// before anyone sets it.
	Criteria string
}

// ErrNoCriteria is returned (wrapped) by SelectEvents for a team that has
// no criteria record in force at the tick: nothing is selected until an
// admin runs `archtics realtime criteria set --team T FRAGMENT`.
var ErrNoCriteria = errors.New("no realtime criteria")

// SelectEvents returns the events of team the seed's verification query
// selects at the instant at, in (Start, EventID) order.
func SelectEvents(ctx context.Context, w *pipeline.Warehouse, team string, at time.Time, opts SelectOptions) ([]SelectedEvent, error) {
	return nil, fmt.Errorf("select events of %s at %s: not implemented yet", team, at.Format(time.RFC3339))
}
