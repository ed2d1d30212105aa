package pipeline

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"

	"archtics/pipeline/check"
	"archtics/pipeline/internal/scangen"
	"archtics/pipeline/txlog"
	"archtics/schemas"
	"archtics/storage"
	"archtics/storage/storagetest"
)

// Child-process roles of the multi-process tests: the test binary re-runs
// itself with -test.run=TestHelperProcess and these variables set.
const (
	envRole = "ARCHTICS_PIPELINE_HELPER"
	envDir  = "ARCHTICS_PIPELINE_DIR"
)

func TestHelperProcess(t *testing.T) {
	role := os.Getenv(envRole)
	if role == "" {
		t.Skip("helper process for the multi-process tests")
	}
	w := fileWarehouse(t, os.Getenv(envDir))
	ctx := context.Background()
	switch role {
	case "commit":
		// Read the head, say so, wait for the go (stdin closing), commit.
		head, err := w.Stream(ctx, "race")
		if err != nil {
			fmt.Println("error", err)
			os.Exit(4)
		}
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin)
		_, err = w.Commit(ctx, txlog.CommitRequest{Stream: "race", Stage: "race", BatchID: fmt.Sprintf("p%d", os.Getpid()), Tables: tablesOf("race"),
			ExpectSeq: head.NextSeq(), Adds: putFake(t, w, fakeEntry("race", fmt.Sprintf("p%d.parquet", os.Getpid())))})
		switch {
		case err == nil:
			os.Exit(0)
		case errors.Is(err, txlog.ErrCommitConflict):
			os.Exit(3)
		}
		fmt.Println("error", err)
		os.Exit(4)
	case "spool", "upload":
		// Write a big batch; block (to be killed) while spooling or in
		// the middle of uploading the second file.
		if role == "upload" {
			w.Store = &blockingStore{Store: w.Store, after: 1}
		}
		recs := scangen.Default().Batches(60000, 5000, 0)
		_, err := w.WriteAndCommit(ctx, txlog.CommitRequest{Stream: "killed", Stage: "test", BatchID: "b1"},
			func(add func(*schemas.Table) *TableWriter) error {
				tw := add(ownedRTX("killed"))
				for i, r := range recs {
					if err := tw.Write(r); err != nil {
						return err
					}
					if role == "spool" && i == len(recs)/2 {
						fmt.Println("spooling")
						select {}
					}
				}
				return nil
			}, WithRowGroupRows(1000), WithUploadConcurrency(1))
		fmt.Println("error: finished", err)
		os.Exit(4)
	}
}

// blockingStore lets `after` uploads through, then blocks the next one
// half way through its content, announcing it on stdout.
type blockingStore struct {
	storage.Store
	mu    sync.Mutex
	after int
}

func (b *blockingStore) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) (storage.ObjectInfo, error) {
	b.mu.Lock()
	block := b.after == 0
	b.after--
	b.mu.Unlock()
	if block {
		r = &stallReader{r: r, left: size / 2}
	}
	return b.Store.PutIfAbsent(ctx, key, r, size)
}

type stallReader struct {
	r    io.Reader
	left int64
}

func (s *stallReader) Read(p []byte) (int, error) {
	if s.left <= 0 {
		fmt.Println("uploading")
		select {}
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n, err := s.r.Read(p)
	s.left -= int64(n)
	return n, err
}

func helperCmd(t *testing.T, role, dir string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envRole+"="+role, envDir+"="+dir)
	cmd.Stderr = os.Stderr
	return cmd
}

func TestCommitRaceProcesses(t *testing.T) {
	dir := t.TempDir()
	w := fileWarehouse(t, dir)
	if _, err := w.Commit(context.Background(), txlog.CommitRequest{Stream: "race", BatchID: "first"}); err != nil {
		t.Fatal(err)
	}
	const n = 4
	var cmds []*exec.Cmd
	var stdins []io.WriteCloser
	for i := 0; i < n; i++ {
		cmd := helperCmd(t, "commit", dir)
		in, _ := cmd.StdinPipe()
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		if strings.TrimSpace(line) != "ready" {
			t.Fatalf("child %d: %q", i, line)
		}
		cmds = append(cmds, cmd)
		stdins = append(stdins, in)
	}
	// Every child has read head seq 1; let them all commit seq 2.
	for _, in := range stdins {
		in.Close()
	}
	codes := map[int]int{}
	for _, cmd := range cmds {
		err := cmd.Wait()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		codes[code]++
	}
	if codes[0] != 1 || codes[3] != n-1 {
		t.Fatalf("exit codes %v: want one 0 (won) and %d 3 (conflict)", codes, n-1)
	}
	head, err := w.Stream(context.Background(), "race")
	if err != nil {
		t.Fatal(err)
	}
	if head.Seq != 2 {
		t.Fatalf("head seq %d, want 2", head.Seq)
	}
}

func TestKilledWriterLeavesNoCommittedState(t *testing.T) {
	for _, role := range []string{"spool", "upload"} {
		t.Run(role, func(t *testing.T) {
			dir := t.TempDir()
			cmd := helperCmd(t, role, dir)
			out, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, _ := bufio.NewReader(out).ReadString('\n')
			if strings.TrimSpace(line) != map[string]string{"spool": "spooling", "upload": "uploading"}[role] {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("child said %q", line)
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()

			w := fileWarehouse(t, dir)
			ctx := context.Background()
			files, err := w.Snapshot(ctx, ownedRTX("killed"))
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != 0 {
				t.Fatalf("snapshot shows %d files after the writer was killed", len(files))
			}
			rep, err := check.Verify(ctx, w.Log, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK() {
				t.Errorf("problems after a killed writer: %v", rep.Problems)
			}
			// The upload it finished is reported as in flight (younger than
			// the grace period), not as a problem.
			var orphan string
			for _, o := range rep.InFlight {
				orphan = o.Key
			}
			if role == "upload" && len(rep.InFlight) != 1 {
				t.Errorf("%d objects in flight, want the 1 uploaded before the kill: %v", len(rep.InFlight), rep.InFlight)
			}
			// A rerun of the batch completes and commits.
			recs := scangen.Default().Batches(60000, 5000, 0)
			defer scangen.ReleaseAll(recs)
			c := writeBatch(t, w, "killed", "b1", txlog.Watermark{}, recs, WithRowGroupRows(1000))
			if role == "upload" && !strings.Contains(strings.Join(keysOf(c.Adds), " "), orphan) {
				t.Errorf("the rerun did not reuse the killed attempt's upload %s (same bytes, same name): %v", orphan, keysOf(c.Adds))
			}
			if c.Existing || len(c.Adds) != 6 {
				t.Fatalf("rerun commit: existing %v, %d adds", c.Existing, len(c.Adds))
			}
			rep, err = check.Verify(ctx, w.Log, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK() {
				t.Fatalf("after the rerun: %v", rep.Problems)
			}
		})
	}
}

func TestWatermark(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *Warehouse) {
		ctx := context.Background()
		recs := scangen.Default().Batches(600, 300, 0)
		defer scangen.ReleaseAll(recs)
		writeBatch(t, w, "nhl/realtime", "t1", txlog.Watermark{From: "", To: ts(100)}, recs)
		more := scangen.Default().Batches(600, 300, 600)
		defer scangen.ReleaseAll(more)
		writeBatch(t, w, "nhl/realtime", "t2", txlog.Watermark{From: ts(100), To: ts(200)}, more)
		st, err := w.Stream(ctx, "nhl/realtime")
		if err != nil {
			t.Fatal(err)
		}
		if st.Watermark != ts(200) || st.Seq != 2 {
			t.Fatalf("watermark %q seq %d, want %s at 2", st.Watermark, st.Seq, ts(200))
		}
		// A failed data upload: no commit, the watermark stays.
		bad := New(&storagetest.FailingStore{Store: w.Store, FailPrefix: ownedRTX("nhl/realtime").Prefix()}, testLogger)
		third := scangen.Default().Batches(600, 300, 1200)
		defer scangen.ReleaseAll(third)
		_, err = bad.WriteAndCommit(ctx, txlog.CommitRequest{Stream: "nhl/realtime", BatchID: "t3", Watermark: txlog.Watermark{From: ts(200), To: ts(300)}},
			func(add func(*schemas.Table) *TableWriter) error {
				for _, r := range third {
					if err := add(ownedRTX("nhl/realtime")).Write(r); err != nil {
						return err
					}
				}
				return nil
			})
		if err == nil || !strings.Contains(err.Error(), "injected upload failure") {
			t.Fatalf("got %v", err)
		}
		st, err = w.Stream(ctx, "nhl/realtime")
		if err != nil {
			t.Fatal(err)
		}
		if st.Watermark != ts(200) || st.Seq != 2 {
			t.Fatalf("after a failed upload: watermark %q seq %d", st.Watermark, st.Seq)
		}
	})
}

// TestBatchSourceID: a rerun of a committed batch is a no-op only when it
// comes from the same input; other input is refused, not silently ignored.
func TestBatchSourceID(t *testing.T) {
	w := fileWarehouse(t, t.TempDir())
	ctx := context.Background()
	if _, err := w.Commit(ctx, txlog.CommitRequest{Stream: "s", BatchID: "dump", SourceID: "sha256:aaa", Adds: putFake(t, w, fakeEntry("s", "a")), Tables: tablesOf("s")}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		sourceID string
		changed  bool
	}{
		{"same input", "sha256:aaa", false},
		{"input not named", "", false},
		{"other input", "sha256:bbb", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, commit := range []func(txlog.CommitRequest) (*txlog.Commit, error){
				func(r txlog.CommitRequest) (*txlog.Commit, error) { return w.Commit(ctx, r) },
				func(r txlog.CommitRequest) (*txlog.Commit, error) {
					return w.WriteAndCommit(ctx, r, func(func(*schemas.Table) *TableWriter) error {
						t.Error("the batch function ran for a committed batch")
						return nil
					})
				},
			} {
				c, err := commit(txlog.CommitRequest{Stream: "s", BatchID: "dump", SourceID: tc.sourceID})
				if tc.changed {
					if !errors.Is(err, txlog.ErrBatchSourceChanged) {
						t.Fatalf("got %+v, %v; want txlog.ErrBatchSourceChanged", c, err)
					}
					continue
				}
				if err != nil || !c.Existing || c.Seq != 1 || c.SourceID != "sha256:aaa" {
					t.Fatalf("got %+v, %v; want the existing commit 1", c, err)
				}
			}
		})
	}
}
