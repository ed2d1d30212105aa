package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// Every number a flag takes (durations, counts, rates) has declared bounds,
// here, in one table by command and flag: a value outside them is a usage
// error (exit 2) naming the flag, the value and the range, checked before
// the command runs. A negative --overlap once made incremental skip
// versions silently; TestEveryNumericFlagHasBounds fails for a numeric
// flag without an entry, so a new flag cannot forget them.

// flagBound is the range of one flag's values, inclusive.
type flagBound struct {
	min, max float64
	any      bool   // every value of the type is meaningful (a seed)
	text     string // the range as the message says it
}

func durations(min, max time.Duration) flagBound {
	return flagBound{min: float64(min), max: float64(max), text: durationText(min) + ".." + durationText(max)}
}

// neverOr is a duration whose negative values mean "never".
func neverOr(max time.Duration) flagBound {
	return flagBound{min: math.Inf(-1), max: float64(max), text: "negative (never) or 0s.." + durationText(max)}
}

func ints(min, max int64) flagBound {
	return flagBound{min: float64(min), max: float64(max), text: strconv.FormatInt(min, 10) + ".." + strconv.FormatInt(max, 10)}
}

func floats(min, max float64) flagBound {
	return flagBound{min: min, max: max, text: strconv.FormatFloat(min, 'g', -1, 64) + ".." + strconv.FormatFloat(max, 'g', -1, 64)}
}

// positiveUpTo is a float above 0, at most max.
func positiveUpTo(max float64) flagBound {
	return flagBound{min: math.SmallestNonzeroFloat64, max: max, text: "(0, " + strconv.FormatFloat(max, 'g', -1, 64) + "]"}
}

// anyValue is for flags every value of whose type is meaningful.
var anyValue = flagBound{any: true}

// durationText prints a duration without the zero units Go adds (24h, not 24h0m0s).
func durationText(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

const (
	day  = 24 * time.Hour
	year = 365 * day
)

// flagBounds maps a command path without the program name ("" for the
// global flags, "realtime tick") to its numeric flags' bounds.
var flagBounds = map[string]map[string]flagBound{
	"": {
		maxFutureFlag: durations(0, 100*year),
	},
	"crm export": {"since": ints(0, math.MaxInt64)},
	"dedup": {
		"max-rejects": ints(0, math.MaxInt32),
		"threshold":   floats(0, 1),
	},
	"dedup report":      {"min-weight": floats(-100, 100), "limit": ints(0, math.MaxInt32)},
	"dedup set-primary": {"acct": ints(1, math.MaxInt32)},
	"demo": {
		"hours": ints(demoGameDay, 24*366),
		"seed":  anyValue,
	},
	"incremental": {
		// Negative would start the pull after the watermark and skip
		// the versions in between; 0 means the default.
		"overlap":        durations(0, 7*day),
		"page-size":      ints(1, 10_000),
		"sweep-every":    neverOr(366 * day),
		"keys-page-size": ints(1, 100_000),
	},
	"log":           {"limit": ints(0, math.MaxInt32)},
	"realtime tick": {"page-size": ints(1, 100_000), "concurrency": ints(1, 256)},
	"realtime run": {"page-size": ints(1, 100_000), "concurrency": ints(1, 256), "every": durations(time.Second, day), "rollup-files": ints(-1, 100_000),
		"posting-delay": durations(time.Minute, 6*day)},
	"realtime reconcile":     {"event": ints(1, math.MaxInt32), "posting-delay": durations(time.Minute, 6*day)},
	"realtime rollup":        {"min-files": ints(1, 100_000)},
	"realtime watch add":     {"acct": ints(1, math.MaxInt32)},
	"realtime watch deliver": {"attempts": ints(1, 100), "timeout": durations(time.Second, 10*time.Minute)},
	"restore":                {"to": ints(0, math.MaxInt64)},
	"serve":                  {"poll": durations(100*time.Millisecond, time.Minute)},
	"simulate dump": {
		"part-rows": ints(1, math.MaxInt32), "workers": ints(1, 1024), "seed": anyValue,
		"accounts": ints(1, 100_000_000), "seasons": ints(1, 100), "events": ints(1, 10_000), "tickets-per-event": ints(1, 1_000_000),
		"attendance-rate": positiveUpTo(1), "duplicate-rate": floats(0, 0.5), "merge-rate": floats(0, 1),
		"days-after-cutoff": ints(0, 3660), "league-night": ints(0, 64), "league-days": ints(0, 14),
	},
	"simulate truth": {"seed": anyValue, "accounts": ints(1, 100_000_000), "seasons": ints(1, 100), "events": ints(1, 10_000),
		"tickets-per-event": ints(1, 1_000_000), "attendance-rate": positiveUpTo(1), "duplicate-rate": floats(0, 0.5),
		"merge-rate": floats(0, 1), "days-after-cutoff": ints(0, 3660), "league-night": ints(0, 64), "league-days": ints(0, 14)},
	"simulate serve": {"seed": anyValue, "accounts": ints(1, 100_000_000), "seasons": ints(1, 100), "events": ints(1, 10_000),
		"tickets-per-event": ints(1, 1_000_000), "attendance-rate": positiveUpTo(1), "duplicate-rate": floats(0, 0.5),
		"merge-rate": floats(0, 1), "days-after-cutoff": ints(0, 3660), "league-night": ints(0, 64), "league-days": ints(0, 14),
		"clock-speed": floats(0, 1e6), "fault-rate": floats(0, 1), "fault-seed": anyValue,
		"slow-delay": durations(0, time.Hour), "retry-after": durations(0, time.Hour)},
	"vacuum": {"grace": durations(0, year)},
	"verify": {"grace": durations(0, year)},
}

// numericValue returns the value of a numeric flag as c holds it, and
// whether f is a numeric flag.
func numericValue(c *cli.Context, f cli.Flag) (float64, string, bool) {
	name := f.Names()[0]
	switch f.(type) {
	case *cli.DurationFlag:
		d := c.Duration(name)
		return float64(d), durationText(d), true
	case *cli.IntFlag:
		return float64(c.Int(name)), strconv.Itoa(c.Int(name)), true
	case *cli.Int64Flag:
		return float64(c.Int64(name)), strconv.FormatInt(c.Int64(name), 10), true
	case *cli.UintFlag:
		return float64(c.Uint(name)), strconv.FormatUint(uint64(c.Uint(name)), 10), true
	case *cli.Uint64Flag:
		return float64(c.Uint64(name)), strconv.FormatUint(c.Uint64(name), 10), true
	case *cli.Float64Flag:
		return c.Float64(name), strconv.FormatFloat(c.Float64(name), 'g', -1, 64), true
	}
	return 0, "", false
}

// checkBounds checks the numeric flags of the command at path that are
// set (on the command line or through their environment variable); an
// unset flag holds its default, or a zero that stands for a preset.
func checkBounds(c *cli.Context, path string, flags []cli.Flag) error {
	for _, f := range flags {
		name := f.Names()[0]
		if !c.IsSet(name) {
			continue
		}
		v, text, ok := numericValue(c, f)
		if !ok {
			continue
		}
		b, declared := flagBounds[path][name]
		if !declared {
			// TestEveryNumericFlagHasBounds keeps this from happening.
			return cli.Exit(fmt.Sprintf("--%s has no declared bounds (a bug: add it to flagBounds in bounds.go)", name), exitUsage)
		}
		if b.any || (v >= b.min && v <= b.max) { // NaN fails both
			continue
		}
		where := "archtics --help"
		if path != "" {
			where = "archtics " + path + " --help"
		}
		return cli.Exit(fmt.Sprintf("--%s %s is out of range: allowed %s (see %s)", name, text, b.text, where), exitUsage)
	}
	return nil
}

// enforceBounds makes the app and every command check their numeric flags
// first thing, before their own Before and Action.
func enforceBounds(app *cli.App) {
	before := app.Before
	app.Before = func(c *cli.Context) error {
		if err := checkBounds(c, "", app.Flags); err != nil {
			return err
		}
		if before != nil {
			return before(c)
		}
		return nil
	}
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, cmd := range cmds {
			path := strings.TrimSpace(prefix + " " + cmd.Name)
			if len(cmd.Flags) > 0 {
				before, flags := cmd.Before, cmd.Flags
				cmd.Before = func(c *cli.Context) error {
					if err := checkBounds(c, path, flags); err != nil {
						return err
					}
					if before != nil {
						return before(c)
					}
					return nil
				}
			}
			walk(path, cmd.Subcommands)
		}
	}
	walk("", app.Commands)
}

// maxFutureFlag bounds the logical times a command commits at (--at,
// --until): a time beyond now plus this is a usage error, since a
// stream's watermark set in the future would refuse every later run.
const maxFutureFlag = "max-future"

// defaultMaxFuture is the clock skew a scheduler's logical time may have.
const defaultMaxFuture = 5 * time.Minute

func maxFutureCLIFlag() cli.Flag {
	return &cli.DurationFlag{
		Name:    maxFutureFlag,
		Value:   defaultMaxFuture,
		EnvVars: []string{"ARCHTICS_MAX_FUTURE"},
		Usage: "the latest a logical time to commit at (--at, --until) may be after now: a stream's watermark never goes back, " +
			"so a time in the future would make every later run fail (widen it for simulated times ahead of the clock)",
	}
}

// notFuture refuses a logical time to commit at that is later than now
// plus --max-future.
func notFuture(c *cli.Context, flag string, t time.Time) error {
	max := c.Duration(maxFutureFlag)
	now := time.Now()
	if t.After(now.Add(max)) {
		return cli.Exit(fmt.Sprintf("--%s %s is %s in the future (now is %s; allowed up to --%s %s ahead): "+
			"a commit there would set the stream's watermark past every later run's; pass --%s with a wider duration if the time is meant",
			flag, t.UTC().Format(time.RFC3339), durationText(t.Sub(now).Round(time.Second)), now.UTC().Format(time.RFC3339),
			maxFutureFlag, durationText(max), maxFutureFlag), exitUsage)
	}
	return nil
}
