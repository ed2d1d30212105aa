package simulator

import (
	"fmt"
	"sync"
	"time"
)

// Clock is the simulated "now" of the API server: what Archtics has
// committed and what the scan feed has delivered are both gated by it.
type Clock interface {
	Now() time.Time
}

// SimClock is a settable, thread-safe simulated clock. It is frozen by
// default (speed 0): tests drive it with Set and Advance and get the same
// answers every run. With a speed > 0 it runs: simulated time advances
// speed times faster than the wall clock, so a game day (5 h before to 6 h
// after the start) replays in about a minute at 600x.
//
// Internally it keeps an anchor pair (simulated instant, wall instant) and
// re-anchors on every change, so changing the speed never makes time jump.
type SimClock struct {
	mu    sync.Mutex
	base  time.Time // simulated instant at the anchor
	wall  time.Time // wall instant of the anchor
	speed float64
	now   func() time.Time // wall clock; replaceable so tests need no sleeps
}

// NewSimClock returns a frozen clock at start.
func NewSimClock(start time.Time) *SimClock {
	return &SimClock{base: start.UTC(), now: time.Now, wall: time.Now()}
}

// NewSimClockWall is NewSimClock with an injected wall clock, for tests of
// the run mode that must not depend on real elapsed time.
func NewSimClockWall(start time.Time, wall func() time.Time) *SimClock {
	return &SimClock{base: start.UTC(), now: wall, wall: wall()}
}

// nowLocked is the simulated instant; mu must be held.
func (c *SimClock) nowLocked() time.Time {
	if c.speed == 0 {
		return c.base
	}
	elapsed := c.now().Sub(c.wall)
	return c.base.Add(time.Duration(float64(elapsed) * c.speed))
}

// Now returns the simulated instant (UTC).
func (c *SimClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked()
}

// Set moves the clock to t (backwards too: it is the operator's call).
func (c *SimClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.wall = t.UTC(), c.now()
}

// Advance moves the clock forward by d (d < 0 moves it back).
func (c *SimClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.wall = c.nowLocked().Add(d), c.now()
}

// SetSpeed sets how many simulated seconds pass per wall second; 0 freezes
// the clock. Negative speeds are refused: the feed and the change log only
// move forward in a run.
func (c *SimClock) SetSpeed(speed float64) error {
	if speed < 0 || speed != speed { // speed != speed: NaN
		return fmt.Errorf("clock speed %g: want >= 0 (0 freezes the clock)", speed)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.wall = c.nowLocked(), c.now()
	c.speed = speed
	return nil
}

// Speed returns the current speed factor (0: frozen).
func (c *SimClock) Speed() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.speed
}
