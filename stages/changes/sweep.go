package changes

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"time"

	"archtics/schemas"
)

// DefaultKeysPageSize is the keys page a sweep asks for (the API allows up
// to 100,000): memory is one page of keys.
const DefaultKeysPageSize = 10000

// Deletion is a key the clone holds that the source no longer has: a row
// Archtics deleted (or an account's names merged away) with no change
// record. DetectedAt is the sweep's snapshot: the row was gone by then.
type Deletion struct {
	Key        string
	DetectedAt time.Time
}

// SweepResult says what one sweep found.
type SweepResult struct {
	AsOf    time.Time // the keys snapshot the sweep compared with
	Present int64     // keys the source holds
	Deleted int64     // held keys it no longer holds (emitted)
	// GoneAccounts lists, for cust only, the acct_ids of which the clone
	// held names and the source holds none: merged away (Merges finds the
	// winner) or deleted.
	GoneAccounts []string
}

// Sweep compares every key of table t the source holds now with held, the
// keys the clone holds, ascending in byte order (Go string order, the
// API's order), in one merge pass, and emits the held keys the source no
// longer has in batches of at most pageSize. Keys the source has and the
// clone does not are not its business (changes bring them). pageSize 0 is
// DefaultKeysPageSize. Run it after a pull whose as_of is at or before the
// sweep's, so no key is both pulled and swept away in the wrong order.
func Sweep(ctx context.Context, src Source, team string, t *schemas.Table, held iter.Seq2[string, error], pageSize int,
	emit func([]Deletion) error) (SweepResult, error) {
	var res SweepResult
	if pageSize == 0 {
		pageSize = DefaultKeysPageSize
	}
	next, stop := iter.Pull2(held)
	defer stop()
	var (
		hk, prevHeld string
		hok          bool
	)
	advance := func() error {
		k, err, ok := next()
		if err != nil {
			return fmt.Errorf("sweep %s.%s: the clone's keys: %w", team, t.Name, err)
		}
		if ok && hok && k <= prevHeld {
			return fmt.Errorf("sweep %s.%s: the clone's keys are not strictly ascending (%q after %q): they must come sorted in byte order, once each", team, t.Name, k, prevHeld)
		}
		hk, hok, prevHeld = k, ok, k
		return nil
	}
	if err := advance(); err != nil {
		return res, err
	}
	accts := newAccountTracker(t == schemas.Cust)
	var batch []Deletion
	flush := func(force bool) error {
		if len(batch) == 0 || (!force && len(batch) < pageSize) {
			return nil
		}
		res.Deleted += int64(len(batch))
		err := emit(batch)
		batch = batch[:0]
		return err
	}
	gone := func(k string) error {
		accts.vanished(k)
		batch = append(batch, Deletion{Key: k, DetectedAt: res.AsOf})
		return flush(false)
	}
	cursor, prev, pages := "", "", 0
	for {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("sweep %s.%s page %d: %w", team, t.Name, pages+1, err)
		}
		p, err := src.Keys(ctx, team, t.Name, cursor, pageSize)
		if err != nil {
			return res, fmt.Errorf("sweep %s.%s page %d: %w", team, t.Name, pages+1, err)
		}
		if pages == 0 {
			res.AsOf = p.AsOf.UTC()
		} else if !p.AsOf.Equal(res.AsOf) {
			return res, fmt.Errorf("sweep %s.%s page %d: as_of %s differs from the first page's %s: the snapshot was not kept; rerun the sweep",
				team, t.Name, pages+1, p.AsOf.Format(time.RFC3339), res.AsOf.Format(time.RFC3339))
		}
		pages++
		for _, k := range p.Keys {
			if res.Present > 0 && k <= prev {
				return res, fmt.Errorf("sweep %s.%s page %d: the source's keys are not strictly ascending (%q after %q)", team, t.Name, pages, k, prev)
			}
			prev = k
			res.Present++
			for hok && hk < k {
				if err := gone(hk); err != nil {
					return res, err
				}
				if err := advance(); err != nil {
					return res, err
				}
			}
			accts.present(k)
			if hok && hk == k {
				if err := advance(); err != nil {
					return res, err
				}
			}
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	for hok {
		if err := gone(hk); err != nil {
			return res, err
		}
		if err := advance(); err != nil {
			return res, err
		}
	}
	if err := flush(true); err != nil {
		return res, err
	}
	res.GoneAccounts = accts.finish()
	return res, nil
}

// accountTracker finds, during a cust sweep, the accounts with vanished
// names and no present one. Keys are team|acct_id|cust_name_id, so all the
// keys of one account are contiguous in the sweep's order: one account is
// open at a time, and memory is the list of gone accounts.
type accountTracker struct {
	on             bool
	acct           string
	vanish, exists bool
	gone           []string
}

func newAccountTracker(on bool) *accountTracker { return &accountTracker{on: on} }

func acctOf(key string) string {
	_, rest, _ := strings.Cut(key, "|")
	acct, _, _ := strings.Cut(rest, "|")
	return acct
}

func (a *accountTracker) see(key string) {
	if acct := acctOf(key); acct != a.acct {
		a.close()
		a.acct = acct
	}
}

func (a *accountTracker) close() {
	if a.vanish && !a.exists {
		a.gone = append(a.gone, a.acct)
	}
	a.vanish, a.exists = false, false
}

func (a *accountTracker) vanished(key string) {
	if a.on {
		a.see(key)
		a.vanish = true
	}
}

func (a *accountTracker) present(key string) {
	if a.on {
		a.see(key)
		a.exists = true
	}
}

func (a *accountTracker) finish() []string {
	if a.on {
		a.close()
	}
	return a.gone
}
