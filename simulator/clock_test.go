package simulator_test

import (
	"sync"
	"testing"
	"time"

	"archtics/simulator"
)

// fakeWall is a wall clock the test moves by hand.
type fakeWall struct {
	mu sync.Mutex
	t  time.Time
}

func (w *fakeWall) now() time.Time { w.mu.Lock(); defer w.mu.Unlock(); return w.t }
func (w *fakeWall) add(d time.Duration) {
	w.mu.Lock()
	w.t = w.t.Add(d)
	w.mu.Unlock()
}

func TestSimClock(t *testing.T) {
	start := time.Date(2026, 11, 20, 17, 0, 1, 0, time.UTC)
	wall := &fakeWall{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := simulator.NewSimClockWall(start, wall.now)

	steps := []struct {
		name string
		do   func()
		want time.Time
	}{
		{"frozen by default", func() { wall.add(time.Hour) }, start},
		{"advance", func() { c.Advance(3 * time.Minute) }, start.Add(3 * time.Minute)},
		{"set", func() { c.Set(start.Add(time.Hour)) }, start.Add(time.Hour)},
		{"set takes any zone", func() { c.Set(start.In(time.FixedZone("x", 3600))) }, start},
		{"speed 600 does not jump", func() {
			if err := c.SetSpeed(600); err != nil {
				t.Fatal(err)
			}
		}, start},
		{"runs at 600x", func() { wall.add(6 * time.Second) }, start.Add(time.Hour)},
		{"advance while running", func() { c.Advance(time.Minute) }, start.Add(61 * time.Minute)},
		{"keeps running", func() { wall.add(time.Second) }, start.Add(71 * time.Minute)},
		{"set while running", func() { c.Set(start) }, start},
		{"runs from the new instant", func() { wall.add(time.Second) }, start.Add(10 * time.Minute)},
		{"freeze", func() { _ = c.SetSpeed(0); wall.add(time.Hour) }, start.Add(10 * time.Minute)},
		{"advance back", func() { c.Advance(-10 * time.Minute) }, start},
	}
	for _, s := range steps {
		s.do()
		if got := c.Now(); !got.Equal(s.want) {
			t.Fatalf("%s: now %s, want %s", s.name, got, s.want)
		}
		if c.Now().Location() != time.UTC {
			t.Fatalf("%s: now not in UTC", s.name)
		}
	}
	for _, bad := range []float64{-1, -0.5} {
		if err := c.SetSpeed(bad); err == nil {
			t.Fatalf("speed %g accepted", bad)
		}
	}
}

// TestSimClockConcurrent is for the race detector: readers and writers at once.
func TestSimClockConcurrent(t *testing.T) {
	c := simulator.NewSimClock(time.Unix(0, 0))
	_ = c.SetSpeed(1000)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				switch i % 4 {
				case 0:
					c.Advance(time.Second)
				case 1:
					_ = c.SetSpeed(float64(i))
				default:
					_ = c.Now()
				}
			}
		}()
	}
	wg.Wait()
	if c.Now().Before(time.Unix(1000, 0)) {
		t.Fatalf("clock at %s after 1000 one-second advances at speed > 0", c.Now())
	}
}
