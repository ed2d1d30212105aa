package realtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"archtics/internal/ctxtime"
	"archtics/pipeline"
	"archtics/pipeline/txlog"
)

// DefaultEvery is the tick interval: the seed ingests every three minutes.
const DefaultEvery = 3 * time.Minute

// MaxCatchUp bounds how far back a run catches up missed ticks: the feed
// forgets an event a week after its start, so older ticks could not be
// pulled anyway.
const MaxCatchUp = Retention

// RunOptions configure Run.
type RunOptions struct {
	Every time.Duration // default DefaultEvery
	// Select returns the events the team's criteria select at a tick's
	// logical time (realtime.SelectEvents in the command).
	Select func(ctx context.Context, at time.Time) ([]SelectedEvent, error)
	Tick   TickOptions
	// RollupFiles: after a tick, partitions holding this many files are
	// rolled up into one (0: DefaultRollupFiles; negative: never).
	RollupFiles int
	// Expire: after each tick, retire data older than the retention.
	Expire bool
	// Reconcile: after each tick, reconcile the events whose late
	// deliveries are over and whose standard attendance has arrived
	// (PendingReconciles, with PostingDelay), each once.
	Reconcile    bool
	PostingDelay time.Duration
	// Now and Sleep are the clock (default the wall clock); tests drive
	// a simulated one.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// AfterTick, when set, is called after each tick's commit with its
	// report and when the tick started (the command writes its metrics).
	// An error stops the run.
	AfterTick func(rep *TickReport, started time.Time) error
	// Ticks, when positive, stops the run after that many ticks.
	Ticks  int
	Logger *slog.Logger
}

// RunReport counts what a run did.
type RunReport struct {
	Ticks, CaughtUp, Rollups, Expiries int
	// Refreshes counts the refreshes that committed (the clone had moved).
	Refreshes int
	// Reconciled counts the events reconciled.
	Reconciled int
	Last       *TickReport
}

// Run ticks team's realtime stream every opts.Every until ctx is done: at
// each multiple of the interval (logical times on a fixed grid, so a
// restart lands on the same batch ids), one tick and one commit; after
// it, a roll-up of partitions with many files, the reconciliation of the
// events whose standard attendance has arrived (opts.Reconcile), a Refresh
// when the clone has committed since the last or an event is new or just
// reconciled, and the expiry. On start
// it catches up the ticks missed since the stream's watermark (at most
// MaxCatchUp back), oldest first. A cancelled context (SIGTERM) stops it
// between ticks or abandons the current one uncommitted; Run then returns
// nil with what it did, so a stop is not a failure.
func Run(ctx context.Context, w *pipeline.Warehouse, src Source, team string, opts RunOptions) (*RunReport, error) {
	if opts.Every <= 0 {
		opts.Every = DefaultEvery
	}
	if opts.Select == nil {
		return nil, errors.New("realtime run: no event selection given")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = ctxtime.Sleep
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if opts.Tick.Logger == nil {
		opts.Tick.Logger = logger
	}
	rep := &RunReport{}
	head, err := w.Stream(ctx, Stream(team))
	if err != nil {
		return nil, fmt.Errorf("realtime run %s: %w", team, err)
	}
	now := opts.Now()
	next := now.Truncate(opts.Every)
	if head.Watermark != "" {
		wm, err := time.Parse(time.RFC3339Nano, head.Watermark)
		if err != nil {
			return nil, fmt.Errorf("realtime run %s: watermark %q: %w", team, head.Watermark, err)
		}
		next = wm.Truncate(opts.Every).Add(opts.Every)
		if oldest := now.Add(-MaxCatchUp).Truncate(opts.Every); next.Before(oldest) {
			logger.Warn("realtime run: missed ticks older than the feed keeps are skipped", "team", team, "from", next, "to", oldest)
			next = oldest
		}
	}
	for {
		if ctx.Err() != nil {
			return rep, nil
		}
		if wait := next.Sub(opts.Now()); wait > 0 {
			if err := opts.Sleep(ctx, wait); err != nil {
				return rep, nil // stopped while waiting
			}
			continue
		}
		caughtUp := opts.Now().Sub(next) >= opts.Every
		started := time.Now()
		events, err := opts.Select(ctx, next)
		if err == nil {
			rep.Last, err = Tick(ctx, w, src, team, next, events, opts.Tick)
		}
		if err != nil {
			if ctx.Err() != nil {
				return rep, nil
			}
			return rep, fmt.Errorf("realtime run %s: %w", team, err)
		}
		rep.Ticks++
		if opts.AfterTick != nil {
			if err := opts.AfterTick(rep.Last, started); err != nil {
				return rep, fmt.Errorf("realtime run %s: %w", team, err)
			}
		}
		if caughtUp {
			rep.CaughtUp++
		}
		if opts.RollupFiles >= 0 {
			r, err := Rollup(ctx, w, team, opts.RollupFiles, opts.Tick.CacheDir, opts.Tick.Writer...)
			if err != nil {
				if ctx.Err() != nil {
					return rep, nil
				}
				return rep, fmt.Errorf("realtime run %s: %w", team, err)
			}
			if r.Commit != nil {
				rep.Rollups++
			}
		}
		// Before the expiry: an event is reconciled hours after its
		// window, days before its scans expire; before the refresh, which
		// then reads the standard attendance into its seats.
		if opts.Reconcile {
			n, err := reconcilePending(ctx, w, team, opts, logger)
			rep.Reconciled += n
			if err != nil {
				if ctx.Err() != nil {
					return rep, nil
				}
				return rep, fmt.Errorf("realtime run %s: %w", team, err)
			}
		}
		// The clone committed since the stored holders were derived, an
		// event is new or was just reconciled: bring the holders and the
		// events' seats up to it (Refresh reads two stream heads when
		// nothing is to do).
		if f, err := Refresh(ctx, w, team, opts.Tick.CacheDir, opts.Tick.Writer...); err != nil {
			if ctx.Err() != nil {
				return rep, nil
			}
			if !errors.Is(err, txlog.ErrCommitConflict) {
				return rep, fmt.Errorf("realtime run %s: %w", team, err)
			}
			// Another writer committed on the stream meanwhile (a
			// scheduler's `realtime refresh` after its incremental): the
			// next tick's refresh starts from its head.
			logger.Warn("realtime run: the refresh lost a commit race; it runs again after the next tick", "team", team, "err", err)
		} else if f.Commit != nil {
			rep.Refreshes++
			logger.Info("realtime run: holders refreshed from the clone", "team", team, "clone_seq", f.CloneSeq,
				"scans", f.Rows, "changed", f.Changed, "partitions", f.Partitions, "seats", f.Seats, "seat_events", f.SeatEvents, "standard", f.Standard)
		}
		if opts.Expire {
			e, err := Expire(ctx, w, team, next, 0)
			if err != nil {
				if ctx.Err() != nil {
					return rep, nil
				}
				return rep, fmt.Errorf("realtime run %s: %w", team, err)
			}
			if e.Commit != nil {
				rep.Expiries++
			}
		}
		if opts.Ticks > 0 && rep.Ticks >= opts.Ticks {
			return rep, nil
		}
		next = next.Add(opts.Every)
	}
}

// reconcilePending reconciles the events waiting for it whose standard
// attendance has arrived; asking costs only the two stream heads, so it
// runs after every tick.
func reconcilePending(ctx context.Context, w *pipeline.Warehouse, team string, opts RunOptions, logger *slog.Logger) (int, error) {
	pend, err := PendingReconciles(ctx, w, team, opts.PostingDelay)
	if err != nil || !slices.ContainsFunc(pend, func(p Pending) bool { return p.Arrived }) {
		return 0, err
	}
	r, err := Reconcile(ctx, w, team, ReconcileOptions{PostingDelay: opts.PostingDelay, TimeZone: opts.Tick.TimeZone,
		CacheDir: opts.Tick.CacheDir, Logger: logger, Writer: opts.Tick.Writer})
	n := 0
	if r != nil {
		for _, e := range r.Events {
			if e.Outcome == ReconcileWaiting {
				continue
			}
			n++
			logger.Info("realtime run: "+e.Summary(), "team", team)
		}
	}
	return n, err
}
