package realtime

import (
	"context"
	"fmt"
	"sort"
	"time"

	"archtics/pipeline"
	"archtics/pipeline/txlog"
	"archtics/schemas"
)

// Retention is how long realtime scans are kept: the seed stores them for
// seven days (the feed forgets them after a week too).
const Retention = 7 * 24 * time.Hour

// ExpireReport says what an expiry retired.
type ExpireReport struct {
	Team       string
	At         time.Time
	Partitions []string // event dates retired, YYYY-MM-DD
	Files      int
	Rows       int64
	Commit     *txlog.Commit // nil when nothing was old enough
}

// stored are the realtime tables a tick writes, raw first: rolled up
// and expired together. The reconciliation's tables (archtics_rtx.reconcile
// and reconcile_scans) are not among them: they are kept after the scans.
var stored = []*schemas.Table{schemas.RTXAttendanceRaw, schemas.RTXEnriched, schemas.RTXDelivery}

// Expire retires team's realtime data older than keep (0: Retention) at
// instant at: every partition (event date) whose newest scan (the
// enriched files' scan_at maxima) is older than at - keep, in both
// tables, in one commit on {team}/realtime (stage "realtime-expire") that
// lists what it retired and counts it in its summary. Readers stop seeing
// the scans at that commit; vacuum deletes the files once the stream's
// retention has passed. Nothing old enough: no commit. A rerun at the
// same instant is a no-op (its batch id).
func Expire(ctx context.Context, w *pipeline.Warehouse, team string, at time.Time, keep time.Duration) (*ExpireReport, error) {
	if keep <= 0 {
		keep = Retention
	}
	at = at.Truncate(time.Second)
	rep := &ExpireReport{Team: team, At: at}
	stream := Stream(team)
	head, err := w.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("expire %s: %w", team, err)
	}
	cut := at.Add(-keep)
	// The newest scan of each partition, from the enriched files' maxima.
	newest := map[string]time.Time{}
	for _, e := range head.TableFiles(schemas.RTXEnriched.FullName()) {
		d := e.Partition["event_date"]
		mx, err := time.Parse(time.RFC3339Nano, e.Max["scan_at"])
		if err != nil {
			return nil, fmt.Errorf("expire %s: file %s: scan_at maximum %q: %w", team, e.Key, e.Max["scan_at"], err)
		}
		if mx.After(newest[d]) {
			newest[d] = mx
		}
	}
	old := map[string]bool{}
	for d, mx := range newest {
		if mx.Before(cut) {
			old[d] = true
			rep.Partitions = append(rep.Partitions, d)
		}
	}
	sort.Strings(rep.Partitions)
	var retires []txlog.FileRef
	for _, t := range stored {
		for _, e := range head.TableFiles(t.FullName()) {
			if old[e.Partition["event_date"]] {
				retires = append(retires, e.Ref())
				rep.Files++
				if t == schemas.RTXAttendanceRaw {
					rep.Rows += e.Rows
				}
			}
		}
	}
	if len(retires) == 0 {
		return rep, nil
	}
	c, err := w.Commit(ctx, txlog.CommitRequest{
		Stream: stream, Stage: "realtime-expire", BatchID: "expire-" + at.UTC().Format(time.RFC3339), ExpectSeq: head.Seq + 1,
		Retires: retires,
		Summary: map[string]int64{"partitions": int64(len(rep.Partitions)), "files": int64(rep.Files), "scans": rep.Rows},
	})
	if err != nil {
		return nil, fmt.Errorf("expire %s at %s: %w", team, at.Format(time.RFC3339), err)
	}
	rep.Commit = c
	return rep, nil
}
