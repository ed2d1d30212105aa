package txlog

import (
	"context"

	"archtics/schemas"
)

// WithStreamTables returns w with the table definitions its registered
// streams imply added to Tables (schemas.StreamTables: a team's realtime
// stream brings its archtics_<team>_rtx schema), so queries and views see
// per-team schemas without the caller knowing the teams.
func (w *Log) WithStreamTables(ctx context.Context) (*Log, error) {
	names, err := w.Streams(ctx)
	if err != nil {
		return nil, err
	}
	extra := schemas.StreamTables(names)
	if len(extra) == 0 {
		return w, nil
	}
	c := *w
	c.Tables = append(append([]*schemas.Table(nil), w.Tables...), extra...)
	return &c, nil
}
