package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"archtics/internal/faultproxy"
	"archtics/storage"
)

// proxiedStore is a Store on the same bucket and prefix as s, reached
// through a fault proxy in front of the real endpoint.
func proxiedStore(t *testing.T, s *Store, cfg faultproxy.Config) (*Store, *faultproxy.Proxy) {
	t.Helper()
	endpoint := os.Getenv("AWS_ENDPOINT_URL_S3")
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	p, err := faultproxy.New(endpoint, cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(p)
	t.Cleanup(hs.Close)
	t.Setenv("AWS_ENDPOINT_URL", hs.URL)
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	ps, err := New(context.Background(), s.bucket, s.prefix)
	if err != nil {
		t.Fatal(err)
	}
	return ps, p
}

// firstOfEach accepts the first request of each distinct method, path and
// query, so every operation meets exactly one fault and its retry none.
func firstOfEach(method string) func(*http.Request) bool {
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(r *http.Request) bool {
		if r.Method != method {
			return false
		}
		k := r.URL.Path + "?" + r.URL.RawQuery + r.Header.Get("Range")
		mu.Lock()
		defer mu.Unlock()
		if seen[k] {
			return false
		}
		seen[k] = true
		return true
	}
}

// TestTruncatedAnswersAreRetried: a 200 whose body ends early (the
// connection closes after half of it) is retried, for a LIST (the SDK
// reads the whole answer) and for a GET, whose body the caller streams
// after Get returned: the rest is asked for again from where it stopped.
// Every first answer to each request is cut, so a store that does not
// retry fails every case.
func TestTruncatedAnswersAreRetried(t *testing.T) {
	direct := newStore(t)
	ctx := context.Background()
	want := map[string][]byte{}
	for i, size := range []int{2, 1000, 3 << 20} {
		data := make([]byte, size)
		rand.Read(data)
		key := fmt.Sprintf("obj/%d", i)
		if _, err := direct.PutIfAbsent(ctx, key, bytes.NewReader(data), int64(size)); err != nil {
			t.Fatal(err)
		}
		want[key] = data
	}
	s, proxy := proxiedStore(t, direct, faultproxy.Config{Rate: 1, Kinds: []faultproxy.Kind{faultproxy.Truncate}, Only: firstOfEach(http.MethodGet)})

	t.Run("list", func(t *testing.T) {
		var keys []string
		if err := s.List(ctx, "obj/", "", func(o storage.ObjectInfo) error { keys = append(keys, o.Key); return nil }); err != nil {
			t.Fatalf("list after a truncated answer: %v", err)
		}
		if len(keys) != len(want) {
			t.Fatalf("listed %v, want %d keys", keys, len(want))
		}
	})
	for key, data := range want {
		t.Run("get "+key, func(t *testing.T) {
			r, info, err := s.Get(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				t.Fatalf("reading a body cut short: %v", err)
			}
			if !bytes.Equal(got, data) || info.Size != int64(len(data)) {
				t.Fatalf("read %d bytes (size %d), want the %d stored", len(got), info.Size, len(data))
			}
		})
		t.Run("get range "+key, func(t *testing.T) {
			off := int64(len(data) / 3)
			r, err := s.GetRange(ctx, key, off, -1)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				t.Fatalf("reading a range cut short: %v", err)
			}
			if !bytes.Equal(got, data[off:]) {
				t.Fatalf("read %d bytes, want %d", len(got), len(data)-int(off))
			}
		})
	}
	if n := proxy.Injected()[faultproxy.Truncate]; n < int64(1+2*len(want)) {
		t.Fatalf("the proxy cut %d answers, want at least one per request: the test proved nothing", n)
	}
}

// TestChangedObjectIsNotSpliced: when the object is replaced between a
// body cut short and the request for the rest, the read fails rather than
// join two versions.
func TestChangedObjectIsNotSpliced(t *testing.T) {
	direct := newStore(t)
	ctx := context.Background()
	old := bytes.Repeat([]byte("a"), 4096)
	if _, err := direct.CompareAndSwap(ctx, "hint", old, ""); err != nil {
		t.Fatal(err)
	}
	s, _ := proxiedStore(t, direct, faultproxy.Config{Rate: 1, Kinds: []faultproxy.Kind{faultproxy.Truncate}, Only: firstOfEach(http.MethodGet)})
	r, info, err := s.Get(ctx, "hint")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// The first Read returns what arrived before the cut.
	first := make([]byte, len(old))
	n, err := r.Read(first)
	if err != nil || n == 0 {
		t.Fatalf("first read: %d bytes, %v", n, err)
	}
	if _, err := direct.CompareAndSwap(ctx, "hint", bytes.Repeat([]byte("b"), 4096), info.ETag); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	if err == nil {
		t.Fatalf("read %d+%d bytes of a replaced object without an error", n, len(rest))
	}
}
