package file_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"archtics/storage"
	"archtics/storage/file"
	"archtics/storage/storagetest"
)

func newStore(t *testing.T) *file.Store {
	t.Helper()
	s, err := file.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storagetest.RunConformance(t, func(t *testing.T) storage.Store { return newStore(t) })
}

func TestNewCreatesRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "a", "b")
	s, err := file.New(root)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		t.Fatalf("root not created: %v", err)
	}
	if s.URL() != root {
		t.Errorf("URL() = %q, want %q", s.URL(), root)
	}
	t.Chdir(filepath.Dir(root))
	rel, err := file.New("b")
	if err != nil {
		t.Fatal(err)
	}
	if rel.URL() != root {
		t.Errorf("URL() of relative root = %q, want %q", rel.URL(), root)
	}
}

func TestInvalidKeys(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for _, key := range []string{"", "/abs", "a/../b", "..", "a\\b", ".tmp/x", ".locks/y", "a//b", "a/./b", "a/", "./a"} {
		t.Run(key, func(t *testing.T) {
			_, err := s.PutIfAbsent(ctx, key, strings.NewReader("x"), 1)
			if err == nil {
				t.Fatalf("PutIfAbsent(%q) succeeded", key)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", key)) {
				t.Errorf("error %q does not name the key", err)
			}
			if _, err := s.CompareAndSwap(ctx, key, []byte("x"), ""); err == nil {
				t.Errorf("CompareAndSwap(%q) succeeded", key)
			}
			if _, err := s.Stat(ctx, key); err == nil || errors.Is(err, storage.ErrNotFound) {
				t.Errorf("Stat(%q) err = %v, want a key error", key, err)
			}
		})
	}
	// Dot names below the root are ordinary keys.
	if _, err := s.PutIfAbsent(ctx, "a/.hidden", strings.NewReader("x"), 1); err != nil {
		t.Errorf("PutIfAbsent(a/.hidden): %v", err)
	}
}

func TestListSkipsInternals(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if _, err := s.CompareAndSwap(ctx, "p", []byte("1"), ""); err != nil {
		t.Fatal(err)
	}
	// A crashed writer's leftover.
	os.WriteFile(filepath.Join(s.URL(), ".tmp", "obj-123"), []byte("partial"), 0o644)
	var keys []string
	s.List(ctx, "", "", func(o storage.ObjectInfo) error { keys = append(keys, o.Key); return nil })
	if len(keys) != 1 || keys[0] != "p" {
		t.Errorf("List = %v, want [p]", keys)
	}
}

func TestKeyUnderExistingKey(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if _, err := s.PutIfAbsent(ctx, "a/b", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	// The filesystem cannot hold "a" as both object and folder; that must
	// be a plain error, not ErrExists, and name the key.
	_, err := s.PutIfAbsent(ctx, "a", strings.NewReader("x"), 1)
	if err == nil || errors.Is(err, storage.ErrExists) || !strings.Contains(err.Error(), "a") {
		t.Errorf("PutIfAbsent(a) over folder: %v", err)
	}
}

func TestShortBody(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if _, err := s.PutIfAbsent(ctx, "k", strings.NewReader("abc"), 10); err == nil {
		t.Fatal("PutIfAbsent with size larger than content succeeded")
	}
	if _, err := s.Stat(ctx, "k"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat after failed put: %v, want ErrNotFound", err)
	}
	ents, _ := os.ReadDir(filepath.Join(s.URL(), ".tmp"))
	if len(ents) != 0 {
		t.Errorf("temp files left: %d", len(ents))
	}
}

func TestLargeObjectETagStable(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	data := strings.Repeat("x", 2<<20)
	info, err := s.PutIfAbsent(ctx, "big", strings.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Stat(ctx, "big")
	if err != nil || st.ETag != info.ETag {
		t.Fatalf("Stat etag %q, %v; want %q", st.ETag, err, info.ETag)
	}
	if _, err := s.CompareAndSwap(ctx, "big", []byte("small"), st.ETag); err != nil {
		t.Errorf("CAS over large object with its etag: %v", err)
	}
}

// Child-process modes, selected by env, for the cross-process tests.
const (
	envMode = "ARCHTICS_FILE_TEST_CHILD"
	envDir  = "ARCHTICS_FILE_TEST_DIR"
	envArg  = "ARCHTICS_FILE_TEST_ARG"
)

// TestChild is the body of the re-executed test binary; it does nothing in
// a normal run.
func TestChild(t *testing.T) {
	mode := os.Getenv(envMode)
	if mode == "" {
		t.Skip("helper for the cross-process tests")
	}
	s, err := file.New(os.Getenv(envDir))
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	ctx := context.Background()
	arg := os.Getenv(envArg)
	// Children wait for a shared start time so they really overlap.
	var start int64
	fmt.Sscan(os.Getenv("ARCHTICS_FILE_TEST_START"), &start)
	time.Sleep(time.Until(time.Unix(0, start)))
	switch mode {
	case "put":
		_, err = s.PutIfAbsent(ctx, "race/put", strings.NewReader(arg), int64(len(arg)))
		report(err, storage.ErrExists)
	case "cas":
		etag := os.Getenv("ARCHTICS_FILE_TEST_ETAG")
		_, err = s.CompareAndSwap(ctx, "race/cas", []byte(arg), etag)
		report(err, storage.ErrConflict)
	case "slow":
		fmt.Println("STARTED")
		_, err = s.PutIfAbsent(ctx, "slow/obj", &slowReader{}, -1)
		fmt.Println("ERR", err) // not reached: the parent kills us
	}
	os.Exit(0)
}

func report(err, lose error) {
	switch {
	case err == nil:
		fmt.Println("WIN")
	case errors.Is(err, lose):
		fmt.Println("LOSE")
	default:
		fmt.Println("ERR", err)
	}
}

// slowReader produces data forever, slowly, so the writer is mid-copy when
// killed.
type slowReader struct{}

func (slowReader) Read(p []byte) (int, error) {
	time.Sleep(10 * time.Millisecond)
	n := min(len(p), 4096)
	for i := range n {
		p[i] = 'x'
	}
	return n, nil
}

func child(t *testing.T, dir, mode, arg string, extra ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envMode+"="+mode, envDir+"="+dir, envArg+"="+arg)
	cmd.Env = append(cmd.Env, extra...)
	return cmd
}

func TestCrossProcessRace(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	const n = 6
	s := newStore(t)
	ctx := context.Background()
	base, err := s.CompareAndSwap(ctx, "race/cas", []byte("base"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"put", "cas"} {
		t.Run(mode, func(t *testing.T) {
			start := fmt.Sprintf("ARCHTICS_FILE_TEST_START=%d", time.Now().Add(500*time.Millisecond).UnixNano())
			var cmds []*exec.Cmd
			var outs []*strings.Builder
			for i := range n {
				cmd := child(t, s.URL(), mode, fmt.Sprintf("%s by %d", mode, i), start, "ARCHTICS_FILE_TEST_ETAG="+base.ETag)
				out := &strings.Builder{}
				cmd.Stdout, cmd.Stderr = out, out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				cmds, outs = append(cmds, cmd), append(outs, out)
			}
			winner := -1
			for i, cmd := range cmds {
				if err := cmd.Wait(); err != nil {
					t.Errorf("child %d: %v\n%s", i, err, outs[i])
				}
				switch o := outs[i].String(); {
				case strings.Contains(o, "WIN"):
					if winner >= 0 {
						t.Errorf("children %d and %d both won", winner, i)
					}
					winner = i
				case strings.Contains(o, "LOSE"):
				default:
					t.Errorf("child %d: %s", i, o)
				}
			}
			if winner < 0 {
				t.Fatal("no child won")
			}
			key := "race/" + mode
			rc, _, err := s.Get(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if want := fmt.Sprintf("%s by %d", mode, winner); string(got) != want {
				t.Errorf("%s = %q, want winner's %q", key, got, want)
			}
		})
	}
}

func TestKilledWriterLeavesNoObject(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process")
	}
	s := newStore(t)
	cmd := child(t, s.URL(), "slow", "")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || sc.Text() != "STARTED" {
		t.Fatalf("child did not start: %q", sc.Text())
	}
	// Wait until the temp file has data, so the kill lands mid-write.
	tmp := filepath.Join(s.URL(), ".tmp")
	deadline := time.Now().Add(10 * time.Second)
	for {
		ents, _ := os.ReadDir(tmp)
		if len(ents) == 1 {
			if fi, err := ents[0].Info(); err == nil && fi.Size() > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("child never began writing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	ctx := context.Background()
	var keys []string
	if err := s.List(ctx, "", "", func(o storage.ObjectInfo) error { keys = append(keys, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Errorf("List after killed write = %v, want nothing", keys)
	}
	if _, err := s.Stat(ctx, "slow/obj"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat after killed write: %v, want ErrNotFound", err)
	}
	// The key is still free.
	if _, err := s.PutIfAbsent(ctx, "slow/obj", strings.NewReader("ok"), 2); err != nil {
		t.Errorf("PutIfAbsent after killed write: %v", err)
	}
}

// TestListOpensNoFile: listing and Stat describe objects from metadata and
// never open one (Defect 9 of issue 6: they used to read every file under
// 1 MiB to hash it). The kernel's own account (inotify) is the witness; a
// Get is seen opening its file, so the witness is not blind.
func TestListOpensNoFile(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	var keys []string
	for i := range 20 {
		key := fmt.Sprintf("archtics/cust/team=t%d/part-%05d.parquet", i%3, i)
		body := strings.Repeat("x", 1000+i) // small: the old code hashed these
		if _, err := s.PutIfAbsent(ctx, key, strings.NewReader(body), int64(len(body))); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key)
	}
	if _, err := s.CompareAndSwap(ctx, "_log/nhl/clone/_last_checkpoint", []byte(`{"seq":10}`), ""); err != nil {
		t.Fatal(err)
	}
	watch := watchOpens(t, s.URL())
	listed := 0
	if err := s.List(ctx, "", "", func(o storage.ObjectInfo) error {
		listed++
		if o.ETag == "" || o.Size == 0 {
			t.Errorf("listed %+v", o)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if listed != len(keys)+1 {
		t.Fatalf("listed %d objects, want %d", listed, len(keys)+1)
	}
	for _, k := range keys[:3] {
		if _, err := s.Stat(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if got := watch.opened(t); len(got) != 0 {
		t.Fatalf("List and Stat opened or read files %d times, first %v", len(got), got[:min(len(got), 4)])
	}
	rc, _, err := s.Get(ctx, keys[0])
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, rc)
	rc.Close()
	if got := watch.opened(t); len(got) == 0 {
		t.Fatal("a Get was not seen opening its file: the watch sees nothing")
	}
}

// TestETagsNeverRepeat: an ETag names one version of a key's content. With
// ETags made from size, modification time and inode, that rests on two
// rules (package comment), each exercised here where it matters: versions
// of equal size swapped faster than timestamps tick, a current version
// whose time lies ahead of the clock, and delete-then-create at one key.
func TestETagsNeverRepeat(t *testing.T) {
	ctx := context.Background()
	t.Run("swaps", func(t *testing.T) {
		s := newStore(t)
		const key = "_log/nhl/clone/_last_checkpoint"
		cur, err := s.CompareAndSwap(ctx, key, []byte("v0000"), "")
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{cur.ETag: 0}
		first := cur.ETag
		for i := 1; i <= 300; i++ {
			next, err := s.CompareAndSwap(ctx, key, fmt.Appendf(nil, "v%04d", i), cur.ETag)
			if err != nil {
				t.Fatalf("swap %d: %v", i, err)
			}
			if j, dup := seen[next.ETag]; dup {
				t.Fatalf("version %d has the ETag of version %d: %s", i, j, next.ETag)
			}
			seen[next.ETag] = i
			cur = next
		}
		if _, err := s.CompareAndSwap(ctx, key, []byte("late!"), first); !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("CAS with the first version's ETag after 300 swaps: %v, want ErrConflict", err)
		}
	})
	t.Run("current version ahead of the clock", func(t *testing.T) {
		s := newStore(t)
		const key = "p"
		v1, err := s.CompareAndSwap(ctx, key, []byte("one"), "")
		if err != nil {
			t.Fatal(err)
		}
		ahead := time.Now().Add(time.Hour)
		if err := os.Chtimes(filepath.Join(s.URL(), key), ahead, ahead); err != nil {
			t.Fatal(err)
		}
		st, err := s.Stat(ctx, key)
		if err != nil || st.ETag == v1.ETag {
			t.Fatalf("Stat after a new modification time: %+v, %v (etag must change)", st, err)
		}
		v2, err := s.CompareAndSwap(ctx, key, []byte("two"), st.ETag)
		if err != nil {
			t.Fatal(err)
		}
		if !v2.LastModified.After(ahead) || v2.ETag == st.ETag {
			t.Fatalf("new version modified %v, etag %s; want after %v and a new etag", v2.LastModified, v2.ETag, ahead)
		}
	})
	t.Run("delete and create again", func(t *testing.T) {
		s := newStore(t)
		const key = "k"
		tick := time.Now().Truncate(time.Second)
		seen := map[string]bool{}
		var stale []string
		for i := range 100 {
			body := fmt.Sprintf("body %03d", i) // same size every time
			if _, err := s.PutIfAbsent(ctx, key, strings.NewReader(body), int64(len(body))); err != nil {
				t.Fatal(err)
			}
			// As a filesystem with coarse times would store it: every
			// version written within one tick, the same modification time.
			if err := os.Chtimes(filepath.Join(s.URL(), key), tick, tick); err != nil {
				t.Fatal(err)
			}
			info, err := s.Stat(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if seen[info.ETag] {
				t.Fatalf("creation %d repeats an earlier version's ETag %s", i, info.ETag)
			}
			seen[info.ETag] = true
			for _, e := range stale {
				if _, err := s.CompareAndSwap(ctx, key, []byte("stale!!!"), e); !errors.Is(err, storage.ErrConflict) {
					t.Fatalf("creation %d: CAS with a deleted version's ETag %s: %v, want ErrConflict", i, e, err)
				}
			}
			stale = append(stale[max(0, len(stale)-4):], info.ETag)
			if err := s.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestDeleteGraves: a deleted object leaves the key at once, stays
// readable to whoever has it open, and its grave is swept after graveHold.
func TestDeleteGraves(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if _, err := s.PutIfAbsent(ctx, "a/b", strings.NewReader("payload"), 7); err != nil {
		t.Fatal(err)
	}
	rc, _, err := s.Get(ctx, "a/b")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if err := s.Delete(ctx, "a/b"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "a/b"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Stat after Delete: %v", err)
	}
	if b, err := io.ReadAll(rc); err != nil || string(b) != "payload" {
		t.Fatalf("a reader of the deleted object got %q, %v", b, err)
	}
	graves := filepath.Join(s.URL(), ".graves")
	if ents, _ := os.ReadDir(graves); len(ents) != 1 {
		t.Fatalf("%d graves after one Delete, want 1", len(ents))
	}
	file.SetGraveHold(t, 0)
	if _, err := file.New(s.URL()); err != nil { // opening a store sweeps
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(graves); len(ents) != 0 {
		t.Fatalf("%d graves left after their hold", len(ents))
	}
}
