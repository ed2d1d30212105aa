package changes

import (
	"context"
	"time"

	"archtics/simulator/client"
)

// Source is the part of the change API a pull needs: *client.Client
// satisfies it (and retries 429, 5xx and dropped connections with backoff,
// jitter and Retry-After). Tests wrap a real client to crash between pages.
type Source interface {
	Changes(ctx context.Context, dsn, table string, since time.Time, cursor string, pageSize int) (*client.Page, error)
	Keys(ctx context.Context, dsn, table, cursor string, pageSize int) (*client.KeysPage, error)
	Lookup(ctx context.Context, dsn, table string, keys []string) (*client.LookupResult, error)
}

var _ Source = (*client.Client)(nil)
