package benchproc

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// HeapAlloc and HeapInuse are what SampleHeap can record: the bytes of
// live and not yet collected objects, or of the spans holding them.
func HeapAlloc(ms *runtime.MemStats) uint64 { return ms.HeapAlloc }
func HeapInuse(ms *runtime.MemStats) uint64 { return ms.HeapInuse }

// SampleHeap records into peak the largest value of metric every period,
// until stop is called (stop waits for the sampler to end).
func SampleHeap(every time.Duration, metric func(*runtime.MemStats) uint64, peak *atomic.Uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				if v := metric(&ms); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
