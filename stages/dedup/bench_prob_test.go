package dedup_test

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"archtics/internal/benchproc"
	"archtics/simulator"
	"archtics/stages/dedup"
	"archtics/stages/dedup/evaluate"
)

// BenchmarkProbabilistic fits the probabilistic model on a world's
// accounts and runs the engine with it: the default world (about 37,000
// accounts) and BenchConfig's (1,000,000 accounts against 100,000
// contacts, and a tenth of it), feeding as the CRM stage does (Feed, the
// fields normalised ahead on another goroutine). The input is generated
// before the timer starts. Reported:
// accounts/s (fit and match together, wall clock), fit-s and match-s
// (wall), cpu-s/op (CPU seconds of the process, every thread), and the
// peak heap over the input's (sampled every 100ms).
func BenchmarkProbabilistic(b *testing.B) {
	for _, c := range []struct {
		name               string
		accounts, contacts int // BenchConfig's, per team; 0: the default world
	}{{"default", 0, 0}, {"100k", 50_000, 10_000}, {"1M", 500_000, 100_000}} {
		b.Run(c.name, func(b *testing.B) {
			cfg := simulator.DefaultConfig()
			if c.accounts > 0 {
				cfg = simulator.BenchConfig()
				cfg.Accounts, cfg.CRMContacts = c.accounts, c.contacts
			}
			w, err := simulator.NewWorldLazy(cfg)
			if err != nil {
				b.Fatal(err)
			}
			in := worldInput(w)
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			b.ResetTimer()
			var cpu, fit, match time.Duration
			var peak atomic.Uint64
			for range b.N {
				stop := benchproc.SampleHeap(100*time.Millisecond, benchproc.HeapAlloc, &peak)
				cpu0, t0 := benchproc.SelfCPU(), time.Now()
				f := dedup.NewModelFitter()
				for i := range in.Accounts {
					f.Add(&in.Accounts[i])
				}
				m, err := f.Fit()
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := feedAhead(in, dedup.Config{Rules: dedup.RulesProbabilistic, Model: m, Now: evaluate.Fixed}); err != nil {
					b.Fatal(err)
				}
				fit += t1.Sub(t0)
				match += time.Since(t1)
				cpu += benchproc.SelfCPU() - cpu0
				stop()
			}
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(float64(len(in.Accounts))*n/(fit+match).Seconds(), "accounts/s")
			b.ReportMetric(fit.Seconds()/n, "fit-s")
			b.ReportMetric(match.Seconds()/n, "match-s")
			b.ReportMetric(cpu.Seconds()/n, "cpu-s/op")
			b.ReportMetric(float64(len(in.Accounts)), "accounts")
			b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapAlloc))/(1<<20), "peak-heap-MB-over-input")
		})
	}
}

// feedAhead runs an engine over the input as the CRM stage does: one
// goroutine normalises the accounts (Engine.Normalize) in batches, the engine
// feeds them (Feed).
func feedAhead(in evaluate.Input, cfg dedup.Config) error {
	e, err := dedup.New(cfg, in.CRM)
	if err != nil {
		return err
	}
	const batch = 1024
	ch := make(chan []dedup.Normalized, 4)
	go func() {
		defer close(ch)
		for i := 0; i < len(in.Accounts); i += batch {
			ns := make([]dedup.Normalized, 0, batch)
			for j := i; j < min(i+batch, len(in.Accounts)); j++ {
				ns = append(ns, e.Normalize(&in.Accounts[j]))
			}
			ch <- ns
		}
	}()
	i := 0
	for ns := range ch {
		for k := range ns {
			if err == nil {
				err = e.Feed(&in.Accounts[i], &ns[k])
			}
			i++
		}
	}
	return err
}
