package realtime

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"archtics/pipeline/txlog"
	"archtics/schemas"
)

// TestPlanSeats checks which events Refresh derives seats for: every
// followed or reconcile-pending event when the clone moved, else only
// those without seats; a reconciled event with the standard attendance
// once per reconciliation (its start from its reconcile row when no
// cursor has it), then never; and a broken cursor is an error, not a
// skip.
func TestPlanSeats(t *testing.T) {
	const start = "2026-01-10T00:00:00Z"
	followed := func(id int) (string, string) {
		return fmt.Sprintf("%s%d", eventCursorPrefix, id), start + "|12|E" + fmt.Sprint(id) + "|2026-01-09"
	}
	file := func(tbl *schemas.Table, id int) txlog.FileEntry {
		return txlog.FileEntry{Table: tbl.FullName(), Key: fmt.Sprintf("%s/team=t/event_id=%d/part.parquet", tbl.Name, id),
			Partition: map[string]string{"team": "t", "event_id": fmt.Sprint(id)}, SHA256: fmt.Sprintf("sum%d", id)}
	}
	state := func(cursors map[string]string, files ...txlog.FileEntry) *txlog.StreamState {
		s := &txlog.StreamState{Cursors: cursors, Files: map[string]map[string]txlog.FileEntry{}}
		for _, f := range files {
			if s.Files[f.Table] == nil {
				s.Files[f.Table] = map[string]txlog.FileEntry{}
			}
			s.Files[f.Table][f.Key] = f
		}
		return s
	}
	k1, v1 := followed(1)
	k2, v2 := followed(2)
	base := map[string]string{k1: v1, k2: v2, reconcileCursorPrefix + "3": start, HoldersCursor: "7"}
	for _, tc := range []struct {
		name       string
		head       *txlog.StreamState
		cloneMoved bool
		derive     []int32
		fromRec    []int32
		standard   []int32
		err        string
	}{
		{"nothing stored, clone still", state(base), false, []int32{1, 2, 3}, nil, nil, ""},
		{"all stored, clone still", state(base, file(schemas.RTXEventSeats, 1), file(schemas.RTXEventSeats, 2), file(schemas.RTXEventSeats, 3)), false, nil, nil, nil, ""},
		{"all stored, clone moved", state(base, file(schemas.RTXEventSeats, 1), file(schemas.RTXEventSeats, 2), file(schemas.RTXEventSeats, 3)), true, []int32{1, 2, 3}, nil, nil, ""},
		{"a new event", state(base, file(schemas.RTXEventSeats, 1), file(schemas.RTXEventSeats, 3)), false, []int32{2}, nil, nil, ""},
		{"just reconciled, clone still", state(base, file(schemas.RTXEventSeats, 1), file(schemas.RTXEventSeats, 2), file(schemas.RTXEventSeats, 3),
			file(schemas.RTXEventSeats, 9), file(schemas.RTXReconcile, 9), file(schemas.RTXReconcile, 3)), false, []int32{3, 9}, []int32{9}, []int32{3, 9}, ""},
		{"reconciled, standard read: final", state(map[string]string{seatsStandardCursorPrefix + "9": "sum9"}, file(schemas.RTXEventSeats, 9),
			file(schemas.RTXReconcile, 9)), true, nil, nil, nil, ""},
		{"reconciled again", state(map[string]string{seatsStandardCursorPrefix + "9": "sum8"}, file(schemas.RTXEventSeats, 9),
			file(schemas.RTXReconcile, 9)), false, []int32{9}, []int32{9}, []int32{9}, ""},
		{"broken event cursor", state(map[string]string{eventCursorPrefix + "4": "garbage"}), false, nil, nil, nil, "cursor"},
		{"broken reconcile cursor", state(map[string]string{reconcileCursorPrefix + "4": "yesterday"}), false, nil, nil, nil, "cursor"},
		{"hostile partition", state(base, txlog.FileEntry{Table: schemas.RTXEventSeats.FullName(), Key: "k",
			Partition: map[string]string{"event_id": "1; DROP TABLE x"}}), false, nil, nil, nil, "partition event_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := planSeats(tc.head, tc.cloneMoved)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var standard []int32
			for id := range p.standard {
				standard = append(standard, id)
			}
			slices.Sort(standard)
			if !slices.Equal(p.derive, tc.derive) || !slices.Equal(p.fromRec, tc.fromRec) || !slices.Equal(standard, tc.standard) {
				t.Errorf("derive %v (from reconcile %v, standard %v), want %v (%v, %v)", p.derive, p.fromRec, standard, tc.derive, tc.fromRec, tc.standard)
			}
		})
	}
}
