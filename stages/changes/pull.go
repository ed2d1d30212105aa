package changes

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"archtics/internal/wallclock"
	"archtics/schemas"
)

// DefaultOverlap is how far before the watermark a pull starts: it must be
// at least the longest a version takes to commit after its update time
// (the package doc says why 10 minutes).
const DefaultOverlap = 10 * time.Minute

// MaxPageSize is the change API's largest page.
const MaxPageSize = 10000

// Options tunes a pull.
type Options struct {
	// PageSize is the number of versions per page (1..10,000); 0 takes
	// the server's default (1,000). Memory is bounded by it.
	PageSize int
	// Overlap is how far before the watermark the pull starts; 0 takes
	// DefaultOverlap. It must cover the longest commit delay of the
	// source (package doc); a negative value pulls from the watermark
	// itself, which loses late commits (for tests that show it).
	Overlap time.Duration
	// Location is the client's time zone: rows' update times are its wall
	// clock (the manifest's and the dsns answer's zone). Required.
	Location *time.Location
}

func (o Options) overlap() time.Duration {
	switch {
	case o.Overlap == 0:
		return DefaultOverlap
	case o.Overlap < 0:
		return 0
	}
	return o.Overlap
}

// PullResult says what one pull did. AsOf is the snapshot every page
// answered for: commit it as the table's next watermark, in the same
// commit as the versions, and only once the pull returned without error.
type PullResult struct {
	Since    time.Time // the first update time asked for: watermark − overlap
	AsOf     time.Time // the pinned snapshot instant: the next watermark
	Pages    int
	Versions int64
	Probes   int // extra requests that resolved fall-back wall-clock times
}

// Pull streams every version of table t in team with update time >=
// watermark − Overlap that the source had committed at the snapshot its
// first page pins, page by page: each page's versions go to emit in the
// source's order (update instant, key), in a slice emit must not keep
// (the Versions' rows it may keep). Memory is one page. An error from
// emit or the source stops the pull: nothing is committed, and a rerun
// from the same watermark re-serves what emit already saw.
func Pull(ctx context.Context, src Source, team string, t *schemas.Table, watermark time.Time, opts Options,
	emit func([]Version) error) (PullResult, error) {
	res := PullResult{Since: watermark.Add(-opts.overlap()).UTC()}
	if opts.Location == nil {
		return res, errors.New("pull: no time zone: pass the client's zone (Options.Location) so rows' wall-clock update times can be read")
	}
	if opts.PageSize < 0 || opts.PageSize > MaxPageSize {
		return res, fmt.Errorf("pull: page size %d: want 1..%d (0: the server's default)", opts.PageSize, MaxPageSize)
	}
	var (
		lay    *layout
		sb     strings.Builder
		cursor string
		lower  = res.Since // the stream's instants never go below this
		probes = map[string]map[string]bool{}
		batch  []Version
	)
	for {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("pull %s.%s page %d: %w", team, t.Name, res.Pages+1, err)
		}
		p, err := src.Changes(ctx, team, t.Name, res.Since, cursor, opts.PageSize)
		if err != nil {
			return res, fmt.Errorf("pull %s.%s since %s page %d: %w", team, t.Name, res.Since.Format(time.RFC3339), res.Pages+1, err)
		}
		if res.Pages == 0 {
			res.AsOf = p.AsOf.UTC()
			if lay, err = newLayout(t, p.Columns, "changes"); err != nil {
				return res, err
			}
		} else if !p.AsOf.Equal(res.AsOf) {
			return res, fmt.Errorf("pull %s.%s page %d: as_of %s differs from the first page's %s: the server did not keep the snapshot pinned; rerun the pull",
				team, t.Name, res.Pages+1, p.AsOf.Format(time.RFC3339), res.AsOf.Format(time.RFC3339))
		}
		res.Pages++
		batch = batch[:0]
		for i, row := range p.Rows {
			if len(row) != len(t.Columns) {
				return res, fmt.Errorf("pull %s.%s page %d row %d: %d values, want %d", team, t.Name, res.Pages, i+1, len(row), len(t.Columns))
			}
			key := lay.key(row, &sb)
			upd, err := resolve(ctx, src, team, t, row[lay.updIdx], key, lower, res.AsOf, opts, probes, &res.Probes)
			if err != nil {
				return res, fmt.Errorf("pull %s.%s page %d row %d (key %s) %s: %w", team, t.Name, res.Pages, i+1, key, t.UpdatedAt, err)
			}
			lower = upd
			batch = append(batch, Version{Key: key, Updated: upd, Row: row, AsOf: res.AsOf})
		}
		if len(batch) > 0 {
			if err := emit(batch); err != nil {
				return res, fmt.Errorf("pull %s.%s page %d: %w", team, t.Name, res.Pages, err)
			}
			res.Versions += int64(len(batch))
		}
		if p.NextCursor == "" {
			return res, nil
		}
		cursor = p.NextCursor
	}
}

// resolve turns a row's wall-clock update time into its instant. The
// stream is ordered by instant, so the instant is at least lower (since,
// or the previous row's) and at most asOf; when both instants a fall-back
// repeats remain possible, the source is asked: changes since the later
// one serves this key at this wall-clock time if and only if the later one
// is the row's (answers cached per wall-clock second).
func resolve(ctx context.Context, src Source, team string, t *schemas.Table, wall, key string, lower, asOf time.Time,
	opts Options, probes map[string]map[string]bool, nProbes *int) (time.Time, error) {
	cands, err := wallclock.ParseInstants(wall, opts.Location)
	if err != nil {
		return time.Time{}, err
	}
	if len(cands) == 1 {
		return cands[0], nil
	}
	early, late := cands[0], cands[1]
	switch {
	case early.Before(lower):
		return late, nil
	case late.After(asOf):
		return early, nil
	}
	keys, ok := probes[wall]
	if !ok {
		keys = map[string]bool{}
		*nProbes++
		lay := (*layout)(nil)
		var sb strings.Builder
		cursor := ""
	probe:
		for {
			p, err := src.Changes(ctx, team, t.Name, late, cursor, MaxPageSize)
			if err != nil {
				return time.Time{}, fmt.Errorf("resolve the repeated wall-clock time %q: %w", wall, err)
			}
			if lay == nil {
				if lay, err = newLayout(t, p.Columns, "changes"); err != nil {
					return time.Time{}, err
				}
			}
			for _, r := range p.Rows {
				if len(r) != len(t.Columns) || r[lay.updIdx] != wall {
					break probe
				}
				keys[lay.key(r, &sb)] = true
			}
			if p.NextCursor == "" {
				break
			}
			cursor = p.NextCursor
		}
		probes[wall] = keys
	}
	if keys[key] {
		return late, nil
	}
	return early, nil
}
