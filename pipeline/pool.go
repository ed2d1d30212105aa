package pipeline

import (
	"context"
	"sync"
)

// eachFile runs fn on every job with up to workers goroutines and returns
// the first error. It stops handing out jobs after an error or once ctx
// is done, and waits for the running ones; the caller checks ctx.Err()
// for a cancellation that left jobs undone.
func eachFile[J any](ctx context.Context, workers int, jobs []J, fn func(J) error) error {
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	work := make(chan J)
	for n := 0; n < max(workers, 1); n++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				if err := fn(j); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, j := range jobs {
		mu.Lock()
		stop := firstErr != nil
		mu.Unlock()
		if stop || ctx.Err() != nil {
			break
		}
		work <- j
	}
	close(work)
	wg.Wait()
	return firstErr
}
