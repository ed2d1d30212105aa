// Package ctxtime waits on the clock the way every long command must: a
// wait ends early, with the context's error, once the context is done, so
// SIGINT and SIGTERM stop a command within moments even mid-backoff.
package ctxtime

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx is done, and returns ctx's error then. A d
// of zero or less does not wait.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
