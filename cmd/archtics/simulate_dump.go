package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/simulator"
	"archtics/storage"
	"archtics/storage/backend"
)

func simulateDumpCommand() *cli.Command {
	return &cli.Command{
		Name:  "dump",
		Usage: "write a simulated client's full Archtics dump, its pre-existing CRM and the ground truth",
		Description: `dump generates an Archtics client (an NHL team and its arena by default) from
--seed and writes what Ticketmaster's developer would hand over: every team's
event, cust, ticket, tex and attendance tables as of the cutoff, as gzip pipe-delimited
parts with manifest.json (written last). Beside it: crm/ (the client's CRM
before the load) and groundtruth/ (duplicate people, account merges, deleted
keys, shared emails, households, company spellings, and the CRM truth: who
each contact is, which accounts it agrees with, what the initial load must
make of it), which a real dump does not have.

The same seed and flags give the same bytes, whatever the worker count.

--out takes a local folder, file:///abs/path or s3://bucket/prefix.`,
		Flags: append(worldFlags(),
			&cli.StringFlag{Name: "out", Required: true, Usage: "where to write the dump: a folder, file:///abs/path or s3://bucket/prefix"},
			&cli.IntFlag{Name: "part-rows", Usage: "rows per dump part, roughly", DefaultText: "the preset's"},
			&cli.BoolFlag{Name: "dirty-lines", Usage: "inject a few malformed lines, listed in the manifest's injected_faults"},
			&cli.IntFlag{Name: "workers", Usage: "parallel workers; never changes the output", DefaultText: "one per CPU"},
		),
		Action: func(c *cli.Context) error {
			cfg, err := dumpConfig(c)
			if err != nil {
				return cli.Exit(err.Error(), exitUsage)
			}
			dst, err := openDumpDest(c.Context, c.String("out"))
			if err != nil {
				return err
			}
			start := time.Now()
			progress := dumpProgress(start)
			m, err := writeDump(c.Context, cfg, dst, progress)
			clearProgress()
			if err != nil {
				return err
			}
			printDumpSummary(m, c.String("out"), time.Since(start))
			return nil
		},
	}
}

// worldFlags are the generator's knobs, shared by simulate dump and
// simulate serve: the same flags give the same world.
func worldFlags() []cli.Flag {
	preset := "the preset's"
	return []cli.Flag{
		&cli.Uint64Flag{Name: "seed", Usage: "generator seed", DefaultText: preset},
		&cli.StringFlag{Name: "scale", Value: "default", Usage: "preset: small (tests), default (demo), bench (1,000,000 accounts, ~20,000,000 ticket rows) or league (16 teams, a league night whose busiest three minutes hold over 1,000,000 scans)"},
		&cli.StringFlag{Name: "teams", Usage: "Archtics databases, e.g. nhl,arena or nhl:hockey,concerts:arena", DefaultText: "nhl:hockey,arena:arena"},
		&cli.IntFlag{Name: "accounts", Usage: "accounts per team", DefaultText: preset},
		&cli.IntFlag{Name: "seasons", Usage: "seasons of events (the last one holds the cutoff)", DefaultText: preset},
		&cli.IntFlag{Name: "events", Usage: "events per season and team (home games or arena shows)", DefaultText: preset},
		&cli.IntFlag{Name: "tickets-per-event", Usage: "sold seat blocks of a full-size event", DefaultText: preset},
		&cli.Float64Flag{Name: "attendance-rate", Usage: "share of sold seats scanned in, (0, 1]", DefaultText: "0.82"},
		&cli.Float64Flag{Name: "duplicate-rate", Usage: "share of accounts belonging to a person who has another account, [0, 0.5]", DefaultText: preset},
		&cli.Float64Flag{Name: "merge-rate", Usage: "share of same-team duplicates Archtics merges into their original, [0, 1]", DefaultText: "0.25"},
		&cli.StringFlag{Name: "cutoff", Usage: "cutoff, local time 'YYYY-MM-DD HH:MM:SS' (with an offset such as -05:00 in a repeated hour) or RFC 3339", DefaultText: "2026-11-20 12:00:01"},
		&cli.StringFlag{Name: "timezone", Usage: "the client's IANA time zone", DefaultText: "America/New_York"},
		&cli.IntFlag{Name: "days-after-cutoff", Usage: "days of activity after the cutoff (served by the change API)", DefaultText: preset},
		&cli.IntFlag{Name: "league-night", Usage: "extra events per team at 19:00 the day after the cutoff, the crowd rushing in (0..64)", DefaultText: preset},
		&cli.IntFlag{Name: "league-days", Usage: "repeat the league night on that many consecutive days (0..14)", DefaultText: "1"},
	}
}

// dumpConfig is the preset of --scale with the flags that were set on top.
func dumpConfig(c *cli.Context) (simulator.Config, error) {
	cfg, err := simulator.Scale(c.String("scale"))
	if err != nil {
		return cfg, err
	}
	if c.IsSet("seed") {
		cfg.Seed = c.Uint64("seed")
	}
	if c.IsSet("teams") {
		if cfg.Teams, err = simulator.ParseTeams(c.String("teams")); err != nil {
			return cfg, err
		}
	}
	for flag, dst := range map[string]*int{
		"accounts": &cfg.Accounts, "seasons": &cfg.Seasons, "events": &cfg.EventsPerSeason,
		"tickets-per-event": &cfg.TicketsPerEvent, "days-after-cutoff": &cfg.DaysAfterCutoff,
		"part-rows": &cfg.PartRows, "workers": &cfg.Workers,
		"league-night": &cfg.LeagueNight, "league-days": &cfg.LeagueDays,
	} {
		if c.IsSet(flag) {
			*dst = c.Int(flag)
		}
	}
	for flag, dst := range map[string]*float64{
		"attendance-rate": &cfg.AttendanceRate, "duplicate-rate": &cfg.DuplicateRate, "merge-rate": &cfg.MergeRate,
	} {
		if c.IsSet(flag) {
			*dst = c.Float64(flag)
		}
	}
	if c.IsSet("timezone") {
		cfg.TimeZone = c.String("timezone")
	}
	if c.IsSet("cutoff") || c.IsSet("timezone") {
		loc, err := time.LoadLocation(cfg.TimeZone)
		if err != nil {
			return cfg, fmt.Errorf("--timezone %q: %w", cfg.TimeZone, err)
		}
		local := cfg.Cutoff.In(loc).Format(simulator.TimeLayout)
		if c.IsSet("cutoff") {
			local = c.String("cutoff")
		}
		t, err := simulator.ParseLocalTime(local, loc)
		if err != nil {
			return cfg, fmt.Errorf("--cutoff: %w", err)
		}
		cfg.Cutoff = t.UTC()
	}
	cfg.DirtyLines = c.Bool("dirty-lines")
	return cfg, cfg.Validate()
}

// openDumpDest writes to a local folder directly, and to any other store
// through storage.Store.
func openDumpDest(ctx context.Context, out string) (*dumpRun, error) {
	if !strings.Contains(out, "://") {
		run := &dumpRun{dest: simulator.DirDest(out), where: out,
			remove: func(name string) error { return os.Remove(filepath.Join(out, filepath.FromSlash(name))) }}
		run.created = firstMissing(out)
		return run, nil
	}
	st, err := backend.Open(ctx, out)
	if err != nil {
		return nil, fmt.Errorf("open --out: %w", err)
	}
	return &dumpRun{dest: storeDest{ctx: ctx, st: st}, where: st.URL(), remove: func(name string) error {
		// The command's context is over when a stopped dump cleans up.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return st.Delete(ctx, name)
	}}, nil
}

// writeDump writes the dump of cfg through run and, when that fails or is
// stopped, removes what it wrote: a dump is whole (manifest.json last) or
// not there at all, and a rerun into the same place starts clean.
func writeDump(ctx context.Context, cfg simulator.Config, run *dumpRun, progress func(string, int64)) (simulator.Manifest, error) {
	m, err := simulator.WriteDump(ctx, cfg, run, progress)
	if err == nil {
		return m, nil
	}
	if cerr := run.abandon(); cerr != nil {
		return m, fmt.Errorf("%w; removing the partial dump failed too (%v): delete %s by hand before writing there again", err, cerr, run.where)
	}
	return m, err
}

// dumpRun is a simulator.Dest that remembers the files it creates, so a
// failed run can remove them.
type dumpRun struct {
	dest    simulator.Dest
	where   string                  // for messages
	remove  func(name string) error // deletes a finished file
	created string                  // the local folder this run creates, if any

	mu    sync.Mutex
	files []*dumpRunFile
}

type dumpRunFile struct {
	io.WriteCloser
	run    *dumpRun
	name   string
	closed bool // Close was called
	placed bool // Close succeeded: the file is at its name, ours to remove
}

func (r *dumpRun) Create(name string) (io.WriteCloser, error) {
	w, err := r.dest.Create(name)
	if err != nil {
		return nil, err
	}
	f := &dumpRunFile{WriteCloser: w, run: r, name: name}
	r.mu.Lock()
	r.files = append(r.files, f)
	r.mu.Unlock()
	return f, nil
}

func (f *dumpRunFile) Close() error {
	err := f.WriteCloser.Close()
	f.run.mu.Lock()
	f.closed, f.placed = true, err == nil
	f.run.mu.Unlock()
	return err
}

// abandon removes every file the run placed and discards those it left
// unfinished; a local folder the run created goes too if nothing else is
// in it. Only the run's own files are touched: a file that existed before
// (a put refused as already there) was never placed by this run.
func (r *dumpRun) abandon() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, f := range r.files {
		switch {
		case f.placed:
			if err := r.remove(f.name); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, storage.ErrNotFound) {
				errs = append(errs, fmt.Errorf("remove %s: %w", f.name, err))
			}
		case !f.closed:
			if a, ok := f.WriteCloser.(interface{ Abort() error }); ok {
				if err := a.Abort(); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if r.created != "" {
		removeIfNoFiles(r.created)
	}
	return errors.Join(errs...)
}

// storeDest adapts a storage.Store to simulator.Dest: each file is
// spooled to a temporary file (PutIfAbsent needs its size), then put
// once, whole, on Close.
type storeDest struct {
	ctx context.Context
	st  storage.Store
}

func (d storeDest) Create(name string) (io.WriteCloser, error) {
	f, err := os.CreateTemp("", "archtics-dump-*")
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", name, err)
	}
	return &storeFile{d: d, name: name, f: f}, nil
}

type storeFile struct {
	d    storeDest
	name string
	f    *os.File
	n    int64
}

func (s *storeFile) Write(p []byte) (int, error) {
	n, err := s.f.Write(p)
	s.n += int64(n)
	return n, err
}

func (s *storeFile) Close() error {
	defer os.Remove(s.f.Name())
	defer s.f.Close()
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("spool %s: %w", s.name, err)
	}
	if _, err := s.d.st.PutIfAbsent(s.d.ctx, s.name, s.f, s.n); err != nil {
		return fmt.Errorf("put %s to %s: %w (write each dump to a new location)", s.name, s.d.st.URL(), err)
	}
	return nil
}

// Abort discards the spooled file without putting it.
func (s *storeFile) Abort() error {
	s.f.Close()
	if err := os.Remove(s.f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spool %s: %w", s.name, err)
	}
	return nil
}

// dumpProgress redraws one line per call on a terminal, at most ten times
// a second: rows per table and the overall rate. Elsewhere it is silent.
func dumpProgress(start time.Time) func(string, int64) {
	if !isTerminal(os.Stderr) {
		return nil
	}
	var mu sync.Mutex
	var last time.Time
	rows := map[string]int64{}
	return func(table string, n int64) {
		mu.Lock()
		defer mu.Unlock()
		rows[table] = n
		if time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		names := make([]string, 0, len(rows))
		var total int64
		for k, v := range rows {
			names = append(names, k)
			total += v
		}
		sort.Strings(names)
		var b strings.Builder
		for _, k := range names {
			fmt.Fprintf(&b, " %s %d", k, rows[k])
		}
		rate := float64(total) / max(time.Since(start).Seconds(), 1e-3)
		fmt.Fprintf(os.Stderr, "\r\033[Kdump:%s (%.0f rows/s)", b.String(), rate)
	}
}

func printDumpSummary(m simulator.Manifest, out string, elapsed time.Duration) {
	type tot struct{ files, rows, bytes int64 }
	per := map[string]*tot{}
	var all tot
	var keys []string
	for _, f := range m.Files {
		k := f.Team + "/" + f.Table
		if per[k] == nil {
			per[k] = &tot{}
			keys = append(keys, k)
		}
		per[k].files++
		per[k].rows += f.Rows
		per[k].bytes += f.Bytes
		all.files++
		all.rows += f.Rows
		all.bytes += f.Bytes
	}
	fmt.Printf("dump of %q cut at %s (%s) written to %s\n", m.Client, m.CutoffLocal, m.TimeZone, out)
	for _, k := range keys {
		t := per[k]
		fmt.Printf("  %-16s %4d files %12d rows %10s\n", k, t.files, t.rows, humanBytes(t.bytes))
	}
	for _, f := range m.Extras {
		fmt.Printf("  %-36s %8d rows %10s\n", f.Path, f.Rows, humanBytes(f.Bytes))
	}
	secs := max(elapsed.Seconds(), 1e-3)
	fmt.Printf("%d files, %d rows, %s in %s (%.0f rows/s, %.1f MB/s)\n", all.files, all.rows, humanBytes(all.bytes),
		elapsed.Round(time.Millisecond), float64(all.rows)/secs, float64(all.bytes)/secs/1e6)
	if len(m.InjectedFaults) > 0 {
		fmt.Printf("%d malformed lines injected (see injected_faults in %s)\n", len(m.InjectedFaults), simulator.ManifestName)
	}
}
