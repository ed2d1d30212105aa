package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"archtics/storage"
	"archtics/storage/storagetest"
)

func testBucket() string { return storagetest.Bucket() }

func needEndpoint(t *testing.T) {
	t.Helper()
	if !storagetest.HaveS3() {
		t.Skip(storagetest.S3Skip)
	}
}

func uniquePrefix(t *testing.T) string {
	var b [6]byte
	rand.Read(b[:])
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	return fmt.Sprintf("test/%s-%s", name, hex.EncodeToString(b[:]))
}

// newStore returns a store under a fresh prefix, emptied after the test so
// a shared bucket does not fill up.
func newStore(t *testing.T) *Store {
	t.Helper()
	needEndpoint(t)
	s, err := New(context.Background(), testBucket(), uniquePrefix(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cleanup(t, s) })
	return s
}

func cleanup(t *testing.T, s *Store) {
	ctx := context.Background()
	var batch []types.ObjectIdentifier
	flush := func() {
		if len(batch) == 0 {
			return
		}
		_, err := s.client.DeleteObjects(ctx, &awss3.DeleteObjectsInput{
			Bucket: &s.bucket,
			Delete: &types.Delete{Objects: batch, Quiet: aws.Bool(true)},
		})
		if err != nil {
			t.Logf("cleanup %s: %v", s.URL(), err)
		}
		batch = batch[:0]
	}
	s.List(ctx, "", "", func(o storage.ObjectInfo) error {
		batch = append(batch, types.ObjectIdentifier{Key: aws.String(s.prefix + o.Key)})
		if len(batch) == 1000 {
			flush()
		}
		return nil
	})
	flush()
}

func TestConformance(t *testing.T) {
	needEndpoint(t)
	storagetest.RunConformance(t, func(t *testing.T) storage.Store { return newStore(t) })
}

func TestURL(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	for _, c := range []struct{ prefix, want string }{
		{"", "s3://b/"},
		{"wh", "s3://b/wh"},
		{"/wh/x/", "s3://b/wh/x"},
	} {
		t.Run(c.prefix, func(t *testing.T) {
			s, err := New(context.Background(), "b", c.prefix)
			if err != nil {
				t.Fatal(err)
			}
			if s.URL() != c.want {
				t.Errorf("New(b, %q).URL() = %q, want %q", c.prefix, s.URL(), c.want)
			}
		})
	}
}

func TestEndpointUsesPathStyle(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	s, err := New(context.Background(), "b", "p")
	if err != nil {
		t.Fatal(err)
	}
	o := s.client.Options()
	if aws.ToString(o.BaseEndpoint) != "http://127.0.0.1:1" || !o.UsePathStyle {
		t.Errorf("BaseEndpoint %q, UsePathStyle %v; want the env endpoint, path style", aws.ToString(o.BaseEndpoint), o.UsePathStyle)
	}
	if o.Region != "us-east-1" {
		t.Errorf("Region = %q, want the us-east-1 default", o.Region)
	}
}

func TestInvalidKeys(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	s, err := New(context.Background(), "b", "p")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"", "/abs", "a/../b", "a\\b", ".tmp/x", "a//b"} {
		if _, err := s.Stat(context.Background(), key); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", key)) {
			t.Errorf("Stat(%q): err = %v, want an invalid-key error naming it", key, err)
		}
	}
}

// TestCompleteHonoursIfNoneMatch checks the endpoint itself, because
// PutIfAbsent's multipart path relies on Complete's precondition (its
// HeadObject pre-check is only an optimisation).
func TestCompleteHonoursIfNoneMatch(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	c, key := s.client, s.prefix+"mpu"
	for i := range 2 {
		cr, err := c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &key})
		if err != nil {
			t.Fatal(err)
		}
		data := bytes.Repeat([]byte{byte(i)}, 5<<20)
		up, err := c.UploadPart(ctx, &awss3.UploadPartInput{
			Bucket: &s.bucket, Key: &key, UploadId: cr.UploadId, PartNumber: aws.Int32(1),
			Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{
			Bucket: &s.bucket, Key: &key, UploadId: cr.UploadId, IfNoneMatch: aws.String("*"),
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{ETag: up.ETag, PartNumber: aws.Int32(1)}}},
		})
		if i == 0 && err != nil {
			t.Fatalf("first Complete: %v", err)
		}
		if i == 1 {
			if !isPreconditionFailed(err) {
				t.Fatalf("second Complete with If-None-Match: err = %v, want 412 PreconditionFailed", err)
			}
			c.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &key, UploadId: cr.UploadId})
		}
	}
	rc, err := s.GetRange(ctx, "mpu", 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(b, []byte{0}) {
		t.Errorf("object was replaced: first byte %v", b)
	}
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("source broke")
	}
	n := min(len(p), f.n)
	clear(p[:n])
	f.n -= n
	return n, nil
}

// A reader failing after some parts must abort the upload: no object, no
// parts left behind.
func TestFailedMultipartLeavesNothing(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	_, err := s.PutIfAbsent(ctx, "broken", &failingReader{n: partSize + 1<<20}, -1)
	if err == nil || !strings.Contains(err.Error(), "source broke") || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("PutIfAbsent from a failing reader: err = %v", err)
	}
	if _, err := s.Stat(ctx, "broken"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat after failed put: %v, want ErrNotFound", err)
	}
	ups, err := s.client.ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: aws.String(s.prefix)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ups.Uploads) != 0 {
		t.Errorf("%d multipart uploads left after a failed put", len(ups.Uploads))
	}
	// A size that does not match the content fails the same way.
	_, err = s.PutIfAbsent(ctx, "short", bytes.NewReader(make([]byte, partSize+10)), partSize+20)
	if err == nil {
		t.Fatal("PutIfAbsent with a wrong size succeeded")
	}
	if _, err := s.Stat(ctx, "short"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat after short put: %v, want ErrNotFound", err)
	}
}

// TestChild is the body of the re-executed test binary for the
// cross-process race; it does nothing in a normal run.
func TestChild(t *testing.T) {
	prefix := os.Getenv("ARCHTICS_S3_TEST_PREFIX")
	if prefix == "" {
		t.Skip("helper for TestCrossProcessRace")
	}
	s, err := New(context.Background(), testBucket(), prefix)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	var start int64
	fmt.Sscan(os.Getenv("ARCHTICS_S3_TEST_START"), &start)
	time.Sleep(time.Until(time.Unix(0, start)))
	arg := os.Getenv("ARCHTICS_S3_TEST_ARG")
	_, perr := s.PutIfAbsent(context.Background(), "race/put", strings.NewReader(arg), int64(len(arg)))
	_, cerr := s.CompareAndSwap(context.Background(), "race/cas", []byte(arg), os.Getenv("ARCHTICS_S3_TEST_ETAG"))
	for _, r := range []struct {
		err, lose error
	}{{perr, storage.ErrExists}, {cerr, storage.ErrConflict}} {
		switch {
		case r.err == nil:
			fmt.Print("WIN ")
		case errors.Is(r.err, r.lose):
			fmt.Print("LOSE ")
		default:
			fmt.Print("ERR ", r.err, " ")
		}
	}
	fmt.Println()
	os.Exit(0)
}

func TestCrossProcessRace(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	s := newStore(t)
	ctx := context.Background()
	base, err := s.CompareAndSwap(ctx, "race/cas", []byte("base"), "")
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	start := time.Now().Add(time.Second).UnixNano()
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	for i := range n {
		cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.count=1")
		cmd.Env = append(os.Environ(),
			"ARCHTICS_S3_TEST_PREFIX="+strings.TrimSuffix(s.prefix, "/"),
			fmt.Sprintf("ARCHTICS_S3_TEST_START=%d", start),
			fmt.Sprintf("ARCHTICS_S3_TEST_ARG=child %d", i),
			"ARCHTICS_S3_TEST_ETAG="+base.ETag)
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	putWins, casWins := 0, 0
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("child %d: %v\n%s", i, err, outs[i])
			continue
		}
		f := strings.Fields(outs[i].String())
		if len(f) < 2 || strings.Contains(outs[i].String(), "ERR") {
			t.Errorf("child %d: %s", i, outs[i])
			continue
		}
		if f[0] == "WIN" {
			putWins++
		}
		if f[1] == "WIN" {
			casWins++
		}
	}
	if putWins != 1 || casWins != 1 {
		t.Errorf("winners: PutIfAbsent %d, CompareAndSwap %d; want exactly 1 each", putWins, casWins)
	}
}
