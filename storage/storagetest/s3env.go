package storagetest

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// S3Skip is the message of a test skipped for want of an S3 endpoint.
const S3Skip = "S3 tests need AWS_ENDPOINT_URL; run them with make test, which starts the endpoint (localstack/start)"

// HaveS3 reports whether an S3 endpoint is configured for tests. make test
// always configures one; a bare go test may not.
func HaveS3() bool { return os.Getenv("AWS_ENDPOINT_URL") != "" }

// Bucket is the bucket tests write to: ARCHTICS_TEST_BUCKET, or the one
// localstack/start creates.
func Bucket() string {
	if b := os.Getenv("ARCHTICS_TEST_BUCKET"); b != "" {
		return b
	}
	return "archtics-test"
}

var locations atomic.Int64

// S3Location returns a fresh s3://bucket/<name>-... location, unique across
// tests and processes, or skips tb when no endpoint is configured.
func S3Location(tb testing.TB, name string) string {
	tb.Helper()
	if !HaveS3() {
		tb.Skip(S3Skip)
	}
	return fmt.Sprintf("s3://%s/%s-%d-%d-%d", Bucket(), name, time.Now().UnixNano(), os.Getpid(), locations.Add(1))
}
