package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/simulator"
)

func simulateServeCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve a simulated client's Archtics change API and realtime scan feed over HTTP",
		Description: `serve generates the client of --seed and --scale in memory and serves it the
way Archtics Transaction Services would: POST /ats with a JSON body naming the
command (dsns, tables, changes, keys, lookup, events, attendance) and the DSN,
authenticated by a bearer token. What is visible is gated by a simulated clock:
it starts at --clock-start (default: the dump's cutoff) and runs --clock-speed
times faster than real time (0 freezes it). POST /admin/clock
{"set": "...", "advance": "3m", "speed": 600} steers it; POST /admin/faults
{"rate": 0.3, "kinds": ["429","5xx"]} changes the injected faults.

The generator flags are those of simulate dump: give both the same ones and
the server continues exactly the dump.

The URL and the token are printed to stderr on start. SIGINT or SIGTERM
shut the server down: answers in flight get 3 seconds, then the process exits
with 130 or 143, as every command does when stopped.`,
		// The generator flags are simulate dump's, read by the same
		// dumpConfig, so a server started with the flags of a dump serves
		// the changes that follow exactly that dump.
		Flags: append(worldFlags(),
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8787", Usage: "listen address (port 0: any free port)"},
			&cli.StringFlag{Name: "token", Usage: "bearer token clients must send (default: a random one, printed)", EnvVars: []string{"ARCHTICS_SIM_TOKEN"}},
			&cli.StringFlag{Name: "clock-start", Usage: "simulated start, local 'YYYY-MM-DD HH:MM:SS' (with an offset such as -05:00 in a repeated hour) or RFC 3339 (default: the cutoff)"},
			&cli.Float64Flag{Name: "clock-speed", Value: 1, Usage: "simulated seconds per real second; 0 freezes the clock, 600 replays a game day in about a minute"},
			&cli.Float64Flag{Name: "fault-rate", Usage: "share of /ats calls that fail, 0..1"},
			&cli.StringFlag{Name: "fault-kinds", Value: "429,5xx,slow,drop", Usage: "faults to draw from: 429, 500, 502, 503, 5xx, slow, drop"},
			&cli.Uint64Flag{Name: "fault-seed", Usage: "seed of the fault sequence", DefaultText: "--seed"},
			&cli.DurationFlag{Name: "slow-delay", Value: 2 * time.Second, Usage: "how long a 'slow' fault holds the answer"},
			&cli.DurationFlag{Name: "retry-after", Value: time.Second, Usage: "Retry-After of a 429 fault (whole seconds)"},
		),
		Action: func(c *cli.Context) error {
			cfg, err := dumpConfig(c)
			if err != nil {
				return cli.Exit(err.Error(), exitUsage)
			}
			kinds, err := simulator.ParseFaultKinds(c.String("fault-kinds"))
			if err != nil {
				return cli.Exit("--fault-kinds: "+err.Error(), exitUsage)
			}
			fseed := cfg.Seed
			if c.IsSet("fault-seed") {
				fseed = c.Uint64("fault-seed")
			}
			faults, err := simulator.NewFaults(simulator.FaultConfig{Rate: c.Float64("fault-rate"), Kinds: kinds, Seed: fseed,
				SlowDelay: c.Duration("slow-delay"), RetryAfter: c.Duration("retry-after")})
			if err != nil {
				return cli.Exit(err.Error(), exitUsage)
			}
			loc, err := time.LoadLocation(cfg.TimeZone)
			if err != nil {
				return cli.Exit(fmt.Sprintf("time zone %q: %v", cfg.TimeZone, err), exitUsage)
			}
			start := cfg.Cutoff
			if v := c.String("clock-start"); v != "" {
				if start, err = parseClockStart(v, loc); err != nil {
					return cli.Exit(err.Error(), exitUsage)
				}
			}
			clock := simulator.NewSimClock(start)
			if err := clock.SetSpeed(c.Float64("clock-speed")); err != nil {
				return cli.Exit("--clock-speed: "+err.Error(), exitUsage)
			}
			token := c.String("token")
			if token == "" {
				b := make([]byte, 16)
				if _, err := rand.Read(b); err != nil {
					return fmt.Errorf("generate a token: %w", err)
				}
				token = hex.EncodeToString(b)
			}

			t0 := time.Now()
			build := simulator.NewWorld
			if c.String("scale") == "league" {
				// Too big to hold whole: build each table on first use.
				build = simulator.NewWorldLazy
			}
			world, err := newWorld(c.Context, build, cfg)
			if err != nil {
				return fmt.Errorf("generate the simulated client: %w", err)
			}
			slog.Info("world generated", "scale", c.String("scale"), "seed", cfg.Seed, "teams", world.Teams(), "took", time.Since(t0).Round(time.Millisecond))
			// Restart the clock after generating, so the seconds spent
			// generating do not count as simulated time at high speeds.
			clock.Set(start)

			srv, err := simulator.NewServer(world, simulator.ServerConfig{Token: token, Clock: clock, Faults: faults, Location: loc, Logger: slog.Default()})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", c.String("addr"))
			if err != nil {
				return fmt.Errorf("listen on --addr %s: %w", c.String("addr"), err)
			}
			hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
			fmt.Fprintf(os.Stderr, "archtics simulator serving %s\n  url:   http://%s/ats\n  token: %s\n  dsns:  %v\n  clock: %s (speed %gx), cutoff %s\n",
				cfg.Client, ln.Addr(), token, world.Teams(), start.In(loc).Format(simulator.TimeLayout),
				c.Float64("clock-speed"), cfg.Cutoff.In(loc).Format(simulator.TimeLayout))

			errc := make(chan error, 1)
			go func() { errc <- hs.Serve(ln) }()
			select {
			case err := <-errc:
				return fmt.Errorf("serve: %w", err)
			case <-c.Context.Done():
			}
			fmt.Fprintln(os.Stderr, "archtics simulator: shutting down")
			// Answers in flight get a few seconds (a 'slow' fault holds one
			// for --slow-delay); then the connections are closed, well
			// inside the grace period after a signal.
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			if err := hs.Shutdown(ctx); err != nil {
				hs.Close()
				if !errors.Is(err, context.DeadlineExceeded) {
					return fmt.Errorf("shutdown: %w", err)
				}
			}
			if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("serve: %w", err)
			}
			return nil
		},
	}
}

func parseClockStart(v string, loc *time.Location) (time.Time, error) {
	t, err := simulator.ParseLocalTime(v, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("--clock-start: %w", err)
	}
	return t, nil
}

// newWorld generates the world of cfg, or gives up when ctx ends: the
// generator does not take a context, and at bench scale it runs for many
// seconds, longer than a stopped command may take. What it leaves running
// only computes in memory and ends with the process.
func newWorld(ctx context.Context, build func(simulator.Config) (*simulator.World, error), cfg simulator.Config) (*simulator.World, error) {
	type result struct {
		w   *simulator.World
		err error
	}
	done := make(chan result, 1)
	go func() {
		w, err := build(cfg)
		done <- result{w, err}
	}()
	select {
	case r := <-done:
		return r.w, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
