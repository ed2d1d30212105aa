package reliability

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"archtics/internal/faultproxy"
	"archtics/simulator"
	"archtics/storage"
	"archtics/storage/backend"
)

// s3Endpoint is the real S3 endpoint the tests use, or skips.
func s3Endpoint(t *testing.T) (endpoint, bucket string) {
	t.Helper()
	endpoint = os.Getenv("AWS_ENDPOINT_URL")
	bucket = os.Getenv("ARCHTICS_TEST_BUCKET")
	if endpoint == "" || bucket == "" {
		t.Skip("AWS_ENDPOINT_URL and ARCHTICS_TEST_BUCKET are unset: start an endpoint with ./localstack/start (make test and make reliability do)")
	}
	return endpoint, bucket
}

// uploadSnapshot copies a local warehouse to a fresh prefix of the bucket,
// object for object, straight to the endpoint, and returns its URL.
func uploadSnapshot(t *testing.T, bucket, local, name string) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	url := fmt.Sprintf("s3://%s/reliability/%s-%s", bucket, slug(name), hex.EncodeToString(b[:]))
	if local == "" {
		return url
	}
	ctx := context.Background()
	src, err := backend.Open(ctx, local)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := backend.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	err = eachObject(ctx, src, func(key string, data []byte) error {
		_, err := dst.PutIfAbsent(ctx, key, bytes.NewReader(data), int64(len(data)))
		return err
	})
	if err != nil {
		t.Fatalf("uploading %s to %s: %v", local, url, err)
	}
	return url
}

// faultRunsPerStage: how many runs of each stage go through the failing
// S3 endpoint; the short form runs one stage once.
func faultRunsPerStage() int {
	if full() {
		return 2
	}
	return 1
}

// cleanFailure is what a failed run must print: one "archtics:" line
// saying what failed, no panic, no Go stack.
var panicked = regexp.MustCompile(`(?m)^(panic:|goroutine \d+ \[|fatal error:)`)

// TestStorageFaults runs each stage on an S3 warehouse through a proxy
// that fails one request in ten (500, 503 SlowDown, resets, answers cut
// short, answers lost after the write). A run either completes with the
// uninterrupted run's rows or fails with a clear error, leaving a
// warehouse that verifies; the stage is then rerun through the proxy with
// faults still on, up to four times, then once with them off, and must
// end equal to the uninterrupted run.
func TestStorageFaults(t *testing.T) {
	endpoint, bucket := s3Endpoint(t)
	snaps := snapshots(t)
	w := sharedWorld(t)
	proxy, err := faultproxy.New(endpoint, faultproxy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(proxy)
	defer hs.Close()
	todo := stages()
	if !full() {
		todo = todo[:1]
	}
	for _, s := range todo {
		t.Run(s.name, func(t *testing.T) {
			res := record("s3 faults", s.name)
			begun := time.Now()
			w.setClock(s)
			for i := range faultRunsPerStage() {
				seed := subSeed("s3", s.name, i)
				var base string
				if s.base != "" {
					base = snaps[s.base].dir
				}
				wh := uploadSnapshot(t, bucket, base, s.name)
				dir := trialDir(t, "s3-", slug(s.name), "-", i)
				spec := runSpec{wh: wh, tmp: filepath.Join(dir, "tmp"), cache: filepath.Join(dir, "cache"), args: s.args(w, w.url),
					env: []string{"AWS_ENDPOINT_URL=" + hs.URL}}
				injected := proxy.Total()
				proxy.Configure(faultproxy.Config{Rate: 0.1, Seed: seed})
				runs, done := 0, false
				var o outcome
				for attempt := 0; attempt < 5 && !done; attempt++ {
					if attempt == 4 {
						proxy.Configure(faultproxy.Config{})
					}
					code, out := runToEnd(t, spec)
					runs++
					switch {
					case code == 0:
						done = true
					case code != 4 && code != 3:
						o.problems = append(o.problems, fmt.Sprintf("run %d exited %d (want 0, or 4 for a failure):\n%s", runs, code, out))
					case panicked.MatchString(out) || !strings.Contains(out, "archtics:"):
						o.problems = append(o.problems, fmt.Sprintf("run %d failed without a clear error:\n%s", runs, out))
					default:
						// Failed cleanly: whatever it committed must verify.
						if st, err := readState(wh); err != nil {
							o.problems = append(o.problems, fmt.Sprintf("reading the warehouse after failed run %d: %v", runs, err))
						} else if len(st.verify) > 0 {
							o.problems = append(o.problems, fmt.Sprintf("after failed run %d (%s): verify: %s", runs, firstLine(out), strings.Join(st.verify, "; ")))
						}
					}
				}
				proxy.Configure(faultproxy.Config{})
				faults := proxy.Total() - injected
				o = settle(o, done, "no run completed, even with the faults off", wh, snaps[s.name].state)
				res.count(runs, 0, faults)
				res.add(o)
				if !o.ok() {
					t.Errorf("%s on S3 through the fault proxy (seed %d, %d faults injected): %s", s.name, seed, faults, strings.Join(o.problems, "\n  "))
				}
			}
			progress("s3 faults %-16s %d runs, %d faults injected (%v)", s.name, res.runs, res.faults, time.Since(begun).Round(time.Second))
		})
	}
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "archtics:") {
			return l
		}
	}
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// TestSourceFaults runs the stages that read the source (incrementals and
// ticks) against a source that fails one call in five (429, 5xx, slow
// answers, connections dropped): each must end with the rows of a
// faultless run, rerunning after a clean failure as a scheduler would.
func TestSourceFaults(t *testing.T) {
	snaps := snapshots(t)
	w := sharedWorld(t)
	runsPer := 1
	if full() {
		runsPer = 3
	}
	for _, s := range stages() {
		if !s.source {
			continue
		}
		t.Run(s.name, func(t *testing.T) {
			res := record("source faults", s.name)
			begun := time.Now()
			w.setClock(s)
			// A stage that makes few calls may draw no fault in a run:
			// keep going (up to three times as many runs) until one did.
			for i := 0; i < runsPer || (res.faults == 0 && i < 3*runsPer+3); i++ {
				seed := subSeed("source", s.name, i)
				dir := trialDir(t, "source-", slug(s.name), "-", i)
				wh := filepath.Join(dir, "wh")
				copyTree(t, snaps[s.base].dir, wh)
				spec := runSpec{wh: wh, tmp: filepath.Join(dir, "tmp"), cache: filepath.Join(dir, "cache"), args: s.args(w, w.faulty.url)}
				before := w.faulty.faults.Total()
				cfg := simulator.FaultConfig{Rate: 0.2, Seed: seed, SlowDelay: 200 * time.Millisecond}
				if err := w.faulty.faults.Configure(cfg); err != nil {
					t.Fatal(err)
				}
				var o outcome
				runs, done := 0, false
				for attempt := 0; attempt < 4 && !done; attempt++ {
					code, out := runToEnd(t, spec)
					runs++
					if code == 0 {
						done = true
					} else if code != 4 || panicked.MatchString(out) {
						o.problems = append(o.problems, fmt.Sprintf("run %d exited %d:\n%s", runs, code, out))
					}
				}
				w.faulty.faults.Configure(simulator.FaultConfig{})
				faults := w.faulty.faults.Total() - before
				o = settle(o, done, "four runs in a row failed at a 20% fault rate", wh, snaps[s.name].state)
				res.count(runs, 0, faults)
				res.add(o)
				if !o.ok() {
					t.Errorf("%s against a failing source (seed %d, %d faults): %s", s.name, seed, faults, strings.Join(o.problems, "\n  "))
				}
			}
			progress("source faults %-16s %d runs, %d faults injected (%v)", s.name, res.runs, res.faults, time.Since(begun).Round(time.Second))
			if res.faults == 0 {
				t.Errorf("%s: no fault was injected in %d runs: the test proved nothing", s.name, res.runs)
			}
		})
	}
}

// eachObject calls fn with every object of st and its bytes.
func eachObject(ctx context.Context, st storage.Store, fn func(key string, data []byte) error) error {
	return st.List(ctx, "", "", func(o storage.ObjectInfo) error {
		r, _, err := st.Get(ctx, o.Key)
		if err != nil {
			return err
		}
		defer r.Close()
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		return fn(o.Key, data)
	})
}
