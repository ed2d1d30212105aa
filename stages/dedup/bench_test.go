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

// BenchmarkDedup deduplicates a simulator world's accounts (the dump's
// primary names, excluded types left out) against its pre-existing CRM:
// 1,000,000 accounts (BenchConfig: two teams of 500,000) against 100,000
// contacts with KORE's rules and with the evidence rules (1M-evidence), and 100,000
// accounts (two teams of 50,000) against 10,000.
// The input is generated before the timer starts. Reported:
//   - ns/account: wall time per account (noisy on a shared machine);
//   - cpu-s/op: the CPU seconds (user and system, every thread: the
//     garbage collector's included) the process spent in the run, which
//     the machine's other load does not inflate as it does the wall clock;
//   - peak-heap-MB: the peak heap while the engine runs (sampled every
//     100ms), and peak-heap-MB-over-input that less the heap before it;
//   - engine-B/account and engine-B/contact: the heap the engine retains
//     after the run (collected, the input's heap subtracted) per account
//     fed and per contact it holds.
func BenchmarkDedup(b *testing.B) {
	for _, c := range []struct {
		name     string
		accounts int // per team
		contacts int
		rules    string
	}{{"100k", 50_000, 10_000, dedup.RulesKORE}, {"1M", 500_000, 100_000, dedup.RulesKORE},
		{"1M-evidence", 500_000, 100_000, dedup.RulesEvidence}} {
		b.Run(c.name, func(b *testing.B) {
			cfg := simulator.BenchConfig()
			cfg.Accounts, cfg.CRMContacts = c.accounts, c.contacts
			w, err := simulator.NewWorldLazy(cfg)
			if err != nil {
				b.Fatal(err)
			}
			in := worldInput(w)
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			b.ResetTimer()
			var peak atomic.Uint64
			var cpu time.Duration
			var retained uint64
			var contacts int
			for range b.N {
				stop := benchproc.SampleHeap(100*time.Millisecond, benchproc.HeapAlloc, &peak)
				cpu0 := benchproc.SelfCPU()
				e, err := evaluate.Run(in, dedup.Config{Rules: c.rules})
				cpu += benchproc.SelfCPU() - cpu0
				stop()
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				runtime.GC()
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				retained = after.HeapAlloc - min(after.HeapAlloc, base.HeapAlloc)
				st := e.State()
				contacts = len(st.Contacts)
				runtime.KeepAlive(e)
				b.StartTimer()
			}
			b.StopTimer()
			b.ReportMetric(float64(contacts), "contacts")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(in.Accounts)), "ns/account")
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(len(in.Accounts)), "accounts")
			b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapAlloc))/(1<<20), "peak-heap-MB-over-input")
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(retained)/float64(len(in.Accounts)), "engine-B/account")
			b.ReportMetric(float64(retained)/float64(max(contacts, 1)), "engine-B/contact")
		})
	}
}
