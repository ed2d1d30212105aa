// Package storagetest is the conformance suite every storage.Store backend
// must pass, so the warehouse can switch backends without behaving
// differently.
package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"archtics/storage"
)

// RunConformance runs the suite. newStore must return a fresh, empty store
// on every call; each subtest takes its own.
func RunConformance(t *testing.T, newStore func(t *testing.T) storage.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store)
	}{
		{"PutGetRoundtrip", testRoundtrip},
		{"PutIfAbsentTwice", testPutTwice},
		{"LargeUnknownSize", testLarge},
		{"GetRange", testGetRange},
		{"Missing", testMissing},
		{"CompareAndSwap", testCAS},
		{"RacePutIfAbsent", testRacePut},
		{"RaceCompareAndSwap", testRaceCAS},
		{"List", testList},
		{"Delete", testDelete},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

func get(t *testing.T, s storage.Store, key string) ([]byte, storage.ObjectInfo) {
	t.Helper()
	rc, info, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q): read: %v", key, err)
	}
	return b, info
}

func put(t *testing.T, s storage.Store, key string, data []byte) storage.ObjectInfo {
	t.Helper()
	info, err := s.PutIfAbsent(context.Background(), key, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("PutIfAbsent(%q): %v", key, err)
	}
	return info
}

func testRoundtrip(t *testing.T, s storage.Store) {
	ctx := context.Background()
	cases := []struct{ key, data string }{
		{"a.txt", "hello"},
		{"data/nhl/2024/part-0001.parquet", "PAR1 not really PAR1"},
		{"empty", ""},
	}
	for _, c := range cases {
		info := put(t, s, c.key, []byte(c.data))
		if info.Key != c.key || info.Size != int64(len(c.data)) || info.ETag == "" {
			t.Errorf("PutIfAbsent(%q) info = %+v", c.key, info)
		}
		got, ginfo := get(t, s, c.key)
		if string(got) != c.data {
			t.Errorf("Get(%q) = %q, want %q", c.key, got, c.data)
		}
		st, err := s.Stat(ctx, c.key)
		if err != nil {
			t.Fatalf("Stat(%q): %v", c.key, err)
		}
		if st.Key != c.key || st.Size != int64(len(c.data)) || st.ETag != info.ETag || ginfo.ETag != info.ETag {
			t.Errorf("Stat(%q) = %+v, Get info %+v, put info %+v", c.key, st, ginfo, info)
		}
		if st.LastModified.IsZero() {
			t.Errorf("Stat(%q): zero LastModified", c.key)
		}
	}
}

func testPutTwice(t *testing.T, s storage.Store) {
	ctx := context.Background()
	first := put(t, s, "k", []byte("first"))
	_, err := s.PutIfAbsent(ctx, "k", strings.NewReader("second!"), 7)
	if !errors.Is(err, storage.ErrExists) {
		t.Fatalf("second PutIfAbsent: err = %v, want ErrExists", err)
	}
	if !strings.Contains(err.Error(), "k") {
		t.Errorf("error %q does not name the key", err)
	}
	got, info := get(t, s, "k")
	if string(got) != "first" || info.ETag != first.ETag {
		t.Errorf("after losing put: %q etag %s, want %q etag %s", got, info.ETag, "first", first.ETag)
	}
	// Unknown size takes the multipart path on S3; it must refuse as well.
	_, err = s.PutIfAbsent(ctx, "k", strings.NewReader("third"), -1)
	if !errors.Is(err, storage.ErrExists) {
		t.Fatalf("PutIfAbsent(size -1) on existing key: err = %v, want ErrExists", err)
	}
	if got, _ := get(t, s, "k"); string(got) != "first" {
		t.Errorf("content changed to %q", got)
	}
}

// randReader yields n deterministic pseudo-random bytes without holding them.
type randReader struct {
	r *rand.ChaCha8
	n int64
}

func (r *randReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	n, _ := r.r.Read(p)
	r.n -= int64(n)
	return n, nil
}

func newRand(seed byte, n int64) io.Reader {
	var s [32]byte
	s[0] = seed
	return &randReader{rand.NewChaCha8(s), n}
}

func testLarge(t *testing.T, s storage.Store) {
	if testing.Short() {
		t.Skip("large upload skipped in -short mode")
	}
	ctx := context.Background()
	const size = 40 << 20
	want := sha256.New()
	io.Copy(want, newRand(7, size))
	// Hide the size behind a plain reader so the backend cannot peek at it.
	info, err := s.PutIfAbsent(ctx, "big/blob.bin", io.LimitReader(newRand(7, size), size), -1)
	if err != nil {
		t.Fatalf("PutIfAbsent large: %v", err)
	}
	if info.Size != size {
		t.Errorf("put info size = %d, want %d", info.Size, size)
	}
	rc, ginfo, err := s.Get(ctx, "big/blob.bin")
	if err != nil {
		t.Fatalf("Get large: %v", err)
	}
	h := sha256.New()
	n, err := io.Copy(h, rc)
	rc.Close()
	if err != nil {
		t.Fatalf("read large: %v", err)
	}
	if n != size || ginfo.Size != size || !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
		t.Fatalf("large roundtrip: read %d bytes (info %d), hash match %v", n, ginfo.Size, bytes.Equal(h.Sum(nil), want.Sum(nil)))
	}
	// A second large write must lose without disturbing the first.
	_, err = s.PutIfAbsent(ctx, "big/blob.bin", io.LimitReader(newRand(8, size), size), -1)
	if !errors.Is(err, storage.ErrExists) {
		t.Fatalf("second large PutIfAbsent: err = %v, want ErrExists", err)
	}
	st, err := s.Stat(ctx, "big/blob.bin")
	if err != nil || st.ETag != ginfo.ETag || st.Size != size {
		t.Fatalf("after losing large put: Stat = %+v, %v; want etag %s", st, err, ginfo.ETag)
	}
	// The loser must leave nothing visible behind (parts, temp files).
	var keys []string
	s.List(ctx, "", "", func(o storage.ObjectInfo) error { keys = append(keys, o.Key); return nil })
	if !slices.Equal(keys, []string{"big/blob.bin"}) {
		t.Errorf("List after large puts = %v", keys)
	}
}

func testGetRange(t *testing.T, s storage.Store) {
	ctx := context.Background()
	data := []byte("0123456789abcdefghij")
	put(t, s, "r", data)
	cases := []struct {
		name           string
		offset, length int64
		want           string
	}{
		{"middle", 5, 4, "5678"},
		{"start", 0, 3, "012"},
		{"to end", 15, -1, "fghij"},
		{"whole", 0, -1, string(data)},
		{"last byte", 19, 1, "j"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc, err := s.GetRange(ctx, "r", c.offset, c.length)
			if err != nil {
				t.Fatalf("GetRange(%d, %d): %v", c.offset, c.length, err)
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if err != nil || string(got) != c.want {
				t.Fatalf("GetRange(%d, %d) = %q, %v; want %q", c.offset, c.length, got, err, c.want)
			}
		})
	}
	if _, err := s.GetRange(ctx, "nope", 0, 1); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GetRange missing: err = %v, want ErrNotFound", err)
	}
}

func testMissing(t *testing.T, s storage.Store) {
	ctx := context.Background()
	if _, err := s.Stat(ctx, "no/such/key"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat missing: err = %v, want ErrNotFound", err)
	} else if !strings.Contains(err.Error(), "no/such/key") {
		t.Errorf("Stat error %q does not name the key", err)
	}
	if _, _, err := s.Get(ctx, "no/such/key"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get missing: err = %v, want ErrNotFound", err)
	}
	// A key that is only a prefix of other keys is not an object.
	put(t, s, "dir/child", []byte("x"))
	if _, err := s.Stat(ctx, "dir"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat of a key prefix: err = %v, want ErrNotFound", err)
	}
}

func testCAS(t *testing.T, s storage.Store) {
	ctx := context.Background()
	const key = "_meta/latest"
	v1, err := s.CompareAndSwap(ctx, key, []byte("v1"), "")
	if err != nil {
		t.Fatalf("CAS create: %v", err)
	}
	if _, err := s.CompareAndSwap(ctx, key, []byte("v1 again"), ""); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("CAS create on existing: err = %v, want ErrExists", err)
	}
	v2, err := s.CompareAndSwap(ctx, key, []byte("v2"), v1.ETag)
	if err != nil {
		t.Fatalf("CAS swap with current etag: %v", err)
	}
	if v2.ETag == v1.ETag {
		t.Errorf("etag did not change across a swap: %s", v2.ETag)
	}
	_, err = s.CompareAndSwap(ctx, key, []byte("v3"), v1.ETag)
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("CAS with stale etag: err = %v, want ErrConflict", err)
	}
	got, info := get(t, s, key)
	if string(got) != "v2" || info.ETag != v2.ETag {
		t.Errorf("after CAS: %q etag %s, want v2 etag %s", got, info.ETag, v2.ETag)
	}
	// The etag from Stat and List must be usable for CAS as well.
	st, err := s.Stat(ctx, key)
	if err != nil || st.ETag != v2.ETag {
		t.Fatalf("Stat etag = %q, %v; want %s", st.ETag, err, v2.ETag)
	}
	var listed string
	s.List(ctx, "_meta/", "", func(o storage.ObjectInfo) error { listed = o.ETag; return nil })
	if listed != v2.ETag {
		t.Errorf("List etag = %q, want %s", listed, v2.ETag)
	}
	if _, err := s.CompareAndSwap(ctx, key, []byte("v3"), listed); err != nil {
		t.Fatalf("CAS with listed etag: %v", err)
	}
	// Swapping a missing key is a conflict: the expected version is gone.
	if _, err := s.CompareAndSwap(ctx, "_meta/missing", []byte("x"), v1.ETag); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("CAS on missing key with etag: err = %v, want ErrConflict", err)
	}
	// CAS may also replace an object created by PutIfAbsent.
	p := put(t, s, "_meta/put", []byte("p1"))
	if _, err := s.CompareAndSwap(ctx, "_meta/put", []byte("p2"), p.ETag); err != nil {
		t.Errorf("CAS over PutIfAbsent object: %v", err)
	}
}

const racers = 16

// race runs fn on racers goroutines released together and returns how many
// succeeded; every failure must satisfy loseOK.
func race(t *testing.T, fn func(i int) error, loseOK func(error) bool) (winners []int) {
	t.Helper()
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := fn(i)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				winners = append(winners, i)
			case !loseOK(err):
				t.Errorf("racer %d: unexpected error %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	return winners
}

func testRacePut(t *testing.T, s storage.Store) {
	ctx := context.Background()
	winners := race(t, func(i int) error {
		data := fmt.Sprintf("writer %d", i)
		_, err := s.PutIfAbsent(ctx, "race/put", strings.NewReader(data), int64(len(data)))
		return err
	}, func(err error) bool { return errors.Is(err, storage.ErrExists) })
	if len(winners) != 1 {
		t.Fatalf("PutIfAbsent race: %d winners %v, want exactly 1", len(winners), winners)
	}
	if got, _ := get(t, s, "race/put"); string(got) != fmt.Sprintf("writer %d", winners[0]) {
		t.Errorf("content %q is not the winner's (%d)", got, winners[0])
	}
}

func testRaceCAS(t *testing.T, s storage.Store) {
	ctx := context.Background()
	base, err := s.CompareAndSwap(ctx, "race/cas", []byte("base"), "")
	if err != nil {
		t.Fatalf("CAS create: %v", err)
	}
	winners := race(t, func(i int) error {
		_, err := s.CompareAndSwap(ctx, "race/cas", fmt.Appendf(nil, "swapper %d", i), base.ETag)
		return err
	}, func(err error) bool { return errors.Is(err, storage.ErrConflict) })
	if len(winners) != 1 {
		t.Fatalf("CompareAndSwap race: %d winners %v, want exactly 1", len(winners), winners)
	}
	if got, _ := get(t, s, "race/cas"); string(got) != fmt.Sprintf("swapper %d", winners[0]) {
		t.Errorf("content %q is not the winner's (%d)", got, winners[0])
	}
	// Racing creates from "absent" have exactly one winner too.
	winners = race(t, func(i int) error {
		_, err := s.CompareAndSwap(ctx, "race/cas-new", fmt.Appendf(nil, "creator %d", i), "")
		return err
	}, func(err error) bool { return errors.Is(err, storage.ErrExists) })
	if len(winners) != 1 {
		t.Fatalf("CompareAndSwap create race: %d winners %v, want exactly 1", len(winners), winners)
	}
}

func list(t *testing.T, s storage.Store, prefix, startAfter string) []string {
	t.Helper()
	var keys []string
	err := s.List(context.Background(), prefix, startAfter, func(o storage.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q, %q): %v", prefix, startAfter, err)
	}
	return keys
}

func testList(t *testing.T, s storage.Store) {
	ctx := context.Background()
	const n = 1100 // past S3's 1,000-key page
	var keys []string
	for i := range n {
		keys = append(keys, fmt.Sprintf("_log/nhl/%06d.json", i))
	}
	// Byte order, not path order: '-' < '.' < '/' < '_'.
	keys = append(keys, "_log/nhl-x", "_log/nhl.y", "_log/nhl_z", "_log/nhl/sub/a", "a", "b/c", "b-c")
	work := make(chan string)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				if _, err := s.PutIfAbsent(ctx, k, strings.NewReader(k), int64(len(k))); err != nil {
					t.Errorf("PutIfAbsent(%q): %v", k, err)
				}
			}
		}()
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	sorted := slices.Sorted(slices.Values(keys))

	filter := func(prefix, after string) []string {
		var out []string
		for _, k := range sorted {
			if strings.HasPrefix(k, prefix) && k > after {
				out = append(out, k)
			}
		}
		return out
	}
	cases := []struct{ prefix, startAfter string }{
		{"", ""},
		{"_log/nhl/", ""},
		{"_log/nhl/000", ""}, // prefix ending mid-name
		{"_log/nhl/0010", ""},
		{"_log/nhl", ""},
		{"_log/nhl/", "_log/nhl/000999.json"},
		{"_log/nhl/", "_log/nhl/000999"}, // startAfter that is not a key
		{"", "_log/nhl/001099.json"},
		{"", "_log/nhl/sub"},
		{"b", ""},
		{"zzz", ""},
		{"", "zzz"},
	}
	for _, c := range cases {
		got := list(t, s, c.prefix, c.startAfter)
		if want := filter(c.prefix, c.startAfter); !slices.Equal(got, want) {
			t.Errorf("List(%q, %q): got %d keys, want %d\n got %v\nwant %v", c.prefix, c.startAfter, len(got), len(want), head(got), head(want))
		}
	}

	// Stopping early returns fn's error and calls fn no more.
	stop := errors.New("stop")
	calls := 0
	err := s.List(ctx, "", "", func(o storage.ObjectInfo) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Errorf("List stopped by fn: err = %v after %d calls, want stop after 3", err, calls)
	}
	// Listed info matches Stat.
	err = s.List(ctx, "b", "", func(o storage.ObjectInfo) error {
		st, err := s.Stat(ctx, o.Key)
		if err != nil || st.Size != o.Size || st.ETag != o.ETag || o.Size != int64(len(o.Key)) {
			t.Errorf("List info %+v vs Stat %+v, %v", o, st, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func head(s []string) []string {
	if len(s) > 8 {
		return append(slices.Clip(s[:4]), append([]string{"..."}, s[len(s)-4:]...)...)
	}
	return s
}

func testDelete(t *testing.T, s storage.Store) {
	ctx := context.Background()
	put(t, s, "d/x/y", []byte("1"))
	put(t, s, "d/z", []byte("2"))
	if err := s.Delete(ctx, "d/x/y"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Stat(ctx, "d/x/y"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat after Delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "d/x/y"); err != nil {
		t.Errorf("Delete missing: %v", err)
	}
	if got := list(t, s, "", ""); !slices.Equal(got, []string{"d/z"}) {
		t.Errorf("List after Delete = %v, want [d/z]", got)
	}
	// The key is free again.
	put(t, s, "d/x/y", []byte("3"))
	if got, _ := get(t, s, "d/x/y"); string(got) != "3" {
		t.Errorf("re-put after Delete: %q", got)
	}
}
