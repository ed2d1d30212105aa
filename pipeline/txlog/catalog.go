package txlog

import (
	"context"
	"fmt"

	"archtics/schemas"
)

// StoredTables returns every table the warehouse stores files for (the
// known tables and those its registered streams imply, without the
// view-only tables and macros), and the committed state they are read
// at (the head, or the warehouse's as-of point). Catalog writers list
// each table's live files from that state, so they name only committed
// files, never a prefix that would also hold retired or orphan ones.
func (w *Log) StoredTables(ctx context.Context) ([]*schemas.Table, *State, error) {
	w, err := w.WithStreamTables(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("catalog: %w", err)
	}
	all, err := schemas.ReadSet(nil, w.Tables)
	if err != nil {
		return nil, nil, fmt.Errorf("catalog: %w", err)
	}
	var stored []*schemas.Table
	for _, t := range all {
		if t.ViewSQL == "" && len(t.MacroParams) == 0 {
			stored = append(stored, t)
		}
	}
	st, err := w.StateOf(ctx, stored...)
	if err != nil {
		return nil, nil, fmt.Errorf("catalog: %w", err)
	}
	return stored, st, nil
}
