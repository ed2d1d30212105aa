package changes

import (
	"context"
	"time"

	"archtics/ats"
)

// Source is the part of the change API a pull needs: *ats.Client
// satisfies it (and retries 429, 5xx and dropped connections with backoff,
// jitter and Retry-After). Tests wrap a real client to crash between pages.
type Source interface {
	Changes(ctx context.Context, dsn, table string, since time.Time, cursor string, pageSize int) (*ats.Page, error)
	Keys(ctx context.Context, dsn, table, cursor string, pageSize int) (*ats.KeysPage, error)
	Lookup(ctx context.Context, dsn, table string, keys []string) (*ats.LookupResult, error)
}

var _ Source = (*ats.Client)(nil)
