package storagetest

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"archtics/storage"
)

// CountingStore records the keys read through it (Get and GetRange), so a
// test can tell how many reads a reader made.
type CountingStore struct {
	storage.Store
	mu   sync.Mutex
	gets []string
}

func (c *CountingStore) Get(ctx context.Context, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	c.record(key)
	return c.Store.Get(ctx, key)
}

func (c *CountingStore) GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	c.record(key)
	return c.Store.GetRange(ctx, key, off, n)
}

func (c *CountingStore) record(key string) {
	c.mu.Lock()
	c.gets = append(c.gets, key)
	c.mu.Unlock()
}

// Reset returns the keys read since the last Reset and forgets them.
func (c *CountingStore) Reset() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.gets
	c.gets = nil
	return g
}

// RemoteStore hides a local store's folder (its URL is not a path), so a
// reader that would use a local warehouse's files in place downloads them
// as from a remote store.
type RemoteStore struct{ storage.Store }

func (RemoteStore) URL() string { return "remote://test" }

// FailingStore refuses every PutIfAbsent of a key under FailPrefix, as a
// store that lost its connection mid-upload would.
type FailingStore struct {
	storage.Store
	FailPrefix string
}

func (f *FailingStore) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) (storage.ObjectInfo, error) {
	if strings.HasPrefix(key, f.FailPrefix) {
		return storage.ObjectInfo{}, errors.New("injected upload failure")
	}
	return f.Store.PutIfAbsent(ctx, key, r, size)
}

// ReadObject returns an object's bytes or fails the test.
func ReadObject(t testing.TB, st storage.Store, key string) []byte {
	t.Helper()
	rc, _, err := st.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
