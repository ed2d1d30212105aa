package simulator

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"
)

// FaultKind is one kind of failure the API server injects.
type FaultKind string

// The fault kinds. "5xx" in a list stands for 500, 502 and 503.
const (
	FaultNone      FaultKind = ""
	Fault429       FaultKind = "429"  // rate limited, with Retry-After
	Fault500       FaultKind = "500"  // internal error
	Fault502       FaultKind = "502"  // bad gateway (what a load balancer in front of ATS returns)
	Fault503       FaultKind = "503"  // unavailable
	FaultSlow      FaultKind = "slow" // the answer comes after FaultConfig.SlowDelay
	FaultDrop      FaultKind = "drop" // the connection is closed before or in the middle of the answer
	faultKindsHelp           = "429, 500, 502, 503, 5xx, slow, drop"
)

// AllFaultKinds lists every kind, in the order ParseFaultKinds returns them.
var AllFaultKinds = []FaultKind{Fault429, Fault500, Fault502, Fault503, FaultSlow, FaultDrop}

// FaultConfig says which faults the server injects and how often.
type FaultConfig struct {
	// Rate is the probability that an /ats call faults (0: never, 1: always).
	Rate float64 `json:"rate"`
	// Kinds are drawn uniformly among when a call faults. Empty: all kinds.
	Kinds []FaultKind `json:"kinds"`
	// Seed makes the sequence of faults reproducible: the n-th /ats call
	// since the last (re)configuration always gets the same fault.
	Seed uint64 `json:"seed"`
	// SlowDelay is how long a "slow" answer is held back. 0: 2 s.
	SlowDelay time.Duration `json:"-"`
	// RetryAfter is the Retry-After a 429 carries, rounded up to whole
	// seconds as HTTP wants. 0 sends "Retry-After: 0".
	RetryAfter time.Duration `json:"-"`
}

// ParseFaultKinds parses a comma-separated list such as "429,5xx,slow,drop".
// The result is deduplicated and in AllFaultKinds order, so the same set of
// kinds always draws the same faults for a seed, however it was spelled.
func ParseFaultKinds(s string) ([]FaultKind, error) {
	set := map[FaultKind]bool{}
	for _, f := range strings.Split(s, ",") {
		switch k := FaultKind(strings.ToLower(strings.TrimSpace(f))); k {
		case "":
		case "5xx":
			set[Fault500], set[Fault502], set[Fault503] = true, true, true
		case Fault429, Fault500, Fault502, Fault503, FaultSlow, FaultDrop:
			set[k] = true
		default:
			return nil, fmt.Errorf("fault kind %q: want one of %s", f, faultKindsHelp)
		}
	}
	var out []FaultKind
	for _, k := range AllFaultKinds {
		if set[k] {
			out = append(out, k)
		}
	}
	return out, nil
}

func (c FaultConfig) validate() error {
	if c.Rate < 0 || c.Rate > 1 || math.IsNaN(c.Rate) {
		return fmt.Errorf("fault rate %g: want 0..1", c.Rate)
	}
	if c.SlowDelay < 0 || c.RetryAfter < 0 {
		return fmt.Errorf("fault delays must be >= 0 (slow %s, retry-after %s)", c.SlowDelay, c.RetryAfter)
	}
	for _, k := range c.Kinds {
		if _, err := ParseFaultKinds(string(k)); err != nil || k == "5xx" {
			return fmt.Errorf("fault kind %q: want one of 429, 500, 502, 503, slow, drop", k)
		}
	}
	return nil
}

// Fault is the decision for one call.
type Fault struct {
	Kind FaultKind
	// Early is for FaultDrop: close before writing anything (true) or after
	// half of the answer (false).
	Early bool
}

// Faults decides, call by call, whether and how a call fails. Decisions
// hash (seed, call number), not a shared random stream, so they do not
// depend on anything but the order of calls: a test that issues its calls
// one at a time sees the same faults every run.
type Faults struct {
	mu     sync.Mutex
	cfg    FaultConfig
	calls  uint64
	counts map[FaultKind]int64
}

// NewFaults validates cfg and returns a fault injector.
func NewFaults(cfg FaultConfig) (*Faults, error) {
	f := &Faults{counts: map[FaultKind]int64{}}
	if err := f.Configure(cfg); err != nil {
		return nil, err
	}
	return f, nil
}

// Configure replaces the configuration and restarts the call sequence, so
// the faults after a reconfiguration are reproducible too. Counts are kept.
func (f *Faults) Configure(cfg FaultConfig) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if len(cfg.Kinds) == 0 {
		cfg.Kinds = append([]FaultKind(nil), AllFaultKinds...)
	} else {
		cfg.Kinds = append([]FaultKind(nil), cfg.Kinds...)
	}
	if cfg.SlowDelay == 0 {
		cfg.SlowDelay = 2 * time.Second
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cfg, f.calls = cfg, 0
	return nil
}

// Config returns the current configuration.
func (f *Faults) Config() FaultConfig {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.cfg
	c.Kinds = append([]FaultKind(nil), c.Kinds...)
	return c
}

// Next draws the fault of the next call and counts it.
func (f *Faults) Next() Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.cfg.Rate <= 0 || len(f.cfg.Kinds) == 0 {
		return Fault{}
	}
	h := faultMix(f.cfg.Seed ^ faultMix(f.calls))
	if unitFloat(h) >= f.cfg.Rate {
		return Fault{}
	}
	h2 := faultMix(h)
	k := f.cfg.Kinds[h2%uint64(len(f.cfg.Kinds))]
	f.counts[k]++
	return Fault{Kind: k, Early: (h2>>32)&1 == 0}
}

// Counts returns how many faults of each kind were injected so far.
func (f *Faults) Counts() map[FaultKind]int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[FaultKind]int64, len(f.counts))
	for k, v := range f.counts {
		out[k] = v
	}
	return out
}

// Total returns the number of faults injected so far.
func (f *Faults) Total() int64 {
	var n int64
	for _, v := range f.Counts() {
		n += v
	}
	return n
}

// Calls returns the number of calls seen since the last Configure.
func (f *Faults) Calls() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// retryAfterSeconds is the Retry-After header value: whole seconds, rounded up.
func (c FaultConfig) retryAfterSeconds() int64 {
	return int64((c.RetryAfter + time.Second - 1) / time.Second)
}

// faultMix is SplitMix64's finalizer: a cheap, well-mixed hash.
func faultMix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func unitFloat(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// sortedFaultCounts renders counts in a stable order for JSON.
func sortedFaultCounts(m map[FaultKind]int64) []faultCount {
	out := make([]faultCount, 0, len(m))
	for k, v := range m {
		out = append(out, faultCount{Kind: k, Count: v})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Kind < out[b].Kind })
	return out
}

type faultCount struct {
	Kind  FaultKind `json:"kind"`
	Count int64     `json:"count"`
}
