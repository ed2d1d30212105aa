// Package simtest serves the simulated Archtics (change API and scan feed)
// on loopback for tests: the world, the clock that drives it and a client
// that never sleeps between retries.
package simtest

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"archtics/ats"
	"archtics/simulator"
)

// Token is the bearer token the test server accepts.
const Token = "test-token"

// Source is a simulated Archtics served for one test.
type Source struct {
	World  *simulator.World
	Clock  *simulator.SimClock // starts at the world's cutoff
	Client *ats.Client
	URL    string
}

// Serve builds cfg's world and serves it until the test ends.
func Serve(tb testing.TB, cfg simulator.Config) *Source {
	tb.Helper()
	world, err := simulator.NewWorld(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	clock := simulator.NewSimClock(world.Cutoff())
	srv, err := simulator.NewServer(world, simulator.ServerConfig{Token: Token, Clock: clock})
	if err != nil {
		tb.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	tb.Cleanup(hs.Close)
	cli := ats.New(hs.URL, Token, ats.WithSleep(func(ctx context.Context, _ time.Duration) error { return ctx.Err() }))
	return &Source{World: world, Clock: clock, Client: cli, URL: hs.URL}
}
