// Package s3 is the S3 backend of storage.Store.
//
// Create-if-absent and compare-and-swap use S3 conditional writes
// (If-None-Match: * and If-Match: <etag>), which S3 has supported since
// 2024; S3-compatible stores without them cannot back the warehouse.
//
// ETags are S3's own, quoted as S3 returns them ("\"abc\""). For multipart
// objects they are not content hashes, which is fine: callers only compare
// them and pass them back to CompareAndSwap.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	"golang.org/x/sync/errgroup"

	"archtics/storage"
)

const (
	// partSize is both the single-PUT limit and the multipart part size.
	// Each in-flight part is buffered in memory so the request can be
	// signed and retried, which caps memory at partSize*partWorkers.
	partSize    = 16 << 20
	partWorkers = 4
	maxParts    = 10000
	// conflictRetries bounds retries of 409 ConditionalRequestConflict,
	// which S3 returns while another conditional write on the key is in
	// flight; the outcome is unknown until that one finishes.
	conflictRetries = 5
)

// Store is a storage.Store on an S3 bucket under a key prefix.
type Store struct {
	client *awss3.Client
	bucket string
	prefix string // "" or ending in "/"
}

var _ storage.Store = (*Store)(nil)

// New opens bucket/prefix with the standard AWS configuration chain
// (environment, shared config, instance role). AWS_ENDPOINT_URL (or
// AWS_ENDPOINT_URL_S3) points it at an S3-compatible endpoint such as
// LocalStack or moto, and then path-style addressing is used because such
// endpoints rarely resolve bucket subdomains.
func New(ctx context.Context, bucket, prefix string) (*Store, error) {
	if bucket == "" {
		return nil, errors.New("s3 store: empty bucket name")
	}
	// The SDK's own log lines (such as its fallback to IMDSv1 on a machine
	// without an instance role) go to slog at debug level, not to stderr.
	sdkLog := logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		slog.Debug(fmt.Sprintf(format, v...), "source", "aws-sdk", "class", string(c))
	})
	cfg, err := config.LoadDefaultConfig(ctx, config.WithLogger(sdkLog))
	if err != nil {
		return nil, fmt.Errorf("s3 store %s: load AWS config: %w", bucket, err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	// Conditional writes and partial reads are incompatible with the
	// default "when supported" checksums on many S3-compatible stores, and
	// a trailing checksum forces chunked uploads they often reject.
	cfg.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	cfg.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired

	// Parallel part uploads and concurrent callers need more idle
	// connections than net/http's default of 2 per host. The client is set
	// on the S3 options, not through config.WithHTTPClient: LoadDefaultConfig
	// refuses a custom client together with AWS_CA_BUNDLE. Deriving it
	// from cfg.HTTPClient keeps the CA bundle LoadDefaultConfig installed.
	tune := func(tr *http.Transport) { tr.MaxIdleConnsPerHost = 64 }
	var httpClient *awshttp.BuildableClient
	if bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient); ok {
		httpClient = bc.WithTransportOptions(tune)
	} else {
		httpClient = awshttp.NewBuildableClient().WithTransportOptions(tune)
	}

	// A 200 whose body ends early (a LIST cut short) is retried like a
	// 5xx; the standard retryer only knows resets and statuses.
	maxAttempts := cfg.RetryMaxAttempts
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			if maxAttempts > 0 {
				o.MaxAttempts = maxAttempts
			}
			o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(truncatedAnswer)}, o.Retryables...)
		})
	}

	client := awss3.NewFromConfig(cfg, func(o *awss3.Options) {
		o.HTTPClient = httpClient
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		if o.BaseEndpoint != nil || os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != "" {
			o.UsePathStyle = true
		}
	})
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	return &Store{client: client, bucket: bucket, prefix: prefix}, nil
}

// URL returns "s3://bucket/prefix".
func (s *Store) URL() string {
	return "s3://" + s.bucket + "/" + strings.TrimSuffix(s.prefix, "/")
}

// Client exposes the SDK client, for tools that need more than the contract.
func (s *Store) Client() *awss3.Client { return s.client }

func (s *Store) full(key string) (string, error) {
	if err := storage.ValidKey(key); err != nil {
		return "", err
	}
	return s.prefix + key, nil
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	return errors.As(err, &nsk) || errors.As(err, &nf) || httpStatus(err) == http.StatusNotFound
}

func isPreconditionFailed(err error) bool {
	return httpStatus(err) == http.StatusPreconditionFailed || errorCode(err) == "PreconditionFailed"
}

func isConditionalConflict(err error) bool {
	return errorCode(err) == "ConditionalRequestConflict" ||
		(httpStatus(err) == http.StatusConflict && errorCode(err) != "BucketAlreadyOwnedByYou")
}

// retryConflicts repeats a conditional write while S3 reports a concurrent
// conditional write in flight (409), since only after it settles is the
// answer (written, or precondition failed) meaningful.
func retryConflicts(ctx context.Context, op func() error) error {
	delay := 50 * time.Millisecond
	for i := 0; ; i++ {
		err := op()
		if err == nil || !isConditionalConflict(err) || i == conflictRetries {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay *= 2
	}
}

func quote(etag string) string {
	if strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, `W/"`) {
		return etag
	}
	return `"` + etag + `"`
}

// PutIfAbsent implements storage.Store. Content up to 16 MiB goes in one
// PUT; larger or unknown-size content that turns out larger than that is
// uploaded in parts.
func (s *Store) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) (storage.ObjectInfo, error) {
	full, err := s.full(key)
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("s3 put: %w", err)
	}
	if size >= 0 && size <= partSize {
		buf := make([]byte, size)
		if _, err := io.ReadFull(r, buf); err != nil {
			return storage.ObjectInfo{}, fmt.Errorf("s3 put %s: read content (%d bytes expected): %w", key, size, err)
		}
		if n, _ := r.Read(make([]byte, 1)); n > 0 {
			return storage.ObjectInfo{}, fmt.Errorf("s3 put %s: content is longer than the %d bytes given", key, size)
		}
		return s.putSmall(ctx, key, full, buf)
	}
	// Unknown size: peek one part; small content still takes a single PUT
	// (a multipart upload costs three requests and has a 5 MiB minimum part
	// size anyway).
	first := make([]byte, partSize)
	n, err := io.ReadFull(r, first)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		if size >= 0 {
			return storage.ObjectInfo{}, fmt.Errorf("s3 put %s: content is %d bytes, caller said %d", key, n, size)
		}
		return s.putSmall(ctx, key, full, first[:n])
	case err != nil:
		return storage.ObjectInfo{}, fmt.Errorf("s3 put %s: read content: %w", key, err)
	}
	return s.putMultipart(ctx, key, full, first, r, size)
}

func (s *Store) putSmall(ctx context.Context, key, full string, data []byte) (storage.ObjectInfo, error) {
	var out *awss3.PutObjectOutput
	err := retryConflicts(ctx, func() (err error) {
		out, err = s.client.PutObject(ctx, &awss3.PutObjectInput{
			Bucket:        &s.bucket,
			Key:           &full,
			Body:          bytes.NewReader(data),
			ContentLength: aws.Int64(int64(len(data))),
			IfNoneMatch:   aws.String("*"),
		})
		return err
	})
	if err != nil {
		if isPreconditionFailed(err) || isConditionalConflict(err) {
			return storage.ObjectInfo{}, fmt.Errorf("s3 put %s: %w", key, storage.ErrExists)
		}
		return storage.ObjectInfo{}, fmt.Errorf("s3 put %s: %w", key, err)
	}
	// LastModified is the client's clock: reading the server's would cost
	// a HEAD per write. Stat reports the server's.
	return storage.ObjectInfo{Key: key, Size: int64(len(data)), ETag: aws.ToString(out.ETag), LastModified: time.Now()}, nil
}

// putMultipart uploads first and the rest of r as a multipart upload
// completed with If-None-Match: *, so the object appears atomically and only
// if absent. Any failure aborts the upload so no parts are left billed.
func (s *Store) putMultipart(ctx context.Context, key, full string, first []byte, r io.Reader, size int64) (storage.ObjectInfo, error) {
	// Don't upload gigabytes only to lose at Complete; this check is an
	// optimisation, Complete's precondition is the guarantee.
	if _, err := s.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &s.bucket, Key: &full}); err == nil {
		return storage.ObjectInfo{}, fmt.Errorf("s3 put %s: %w", key, storage.ErrExists)
	} else if !isNotFound(err) {
		return storage.ObjectInfo{}, fmt.Errorf("s3 put %s: head: %w", key, err)
	}

	ps := int64(partSize)
	if size > 0 {
		// Stay within S3's 10,000-part limit for very large known sizes.
		ps = max(ps, (size+maxParts-1)/maxParts)
	}
	created, err := s.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &full})
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("s3 put %s: create multipart upload: %w", key, err)
	}
	uploadID := created.UploadId
	abort := func(cause error) (storage.ObjectInfo, error) {
		// The caller's context may be what failed; abort regardless.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if _, err := s.client.AbortMultipartUpload(actx, &awss3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &full, UploadId: uploadID}); err != nil {
			cause = fmt.Errorf("%w (and aborting upload %s failed: %v)", cause, aws.ToString(uploadID), err)
		}
		return storage.ObjectInfo{}, cause
	}

	// A read error cancels the uploads in flight through cancel; an upload
	// error, through the group's context.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, uctx := errgroup.WithContext(cctx)
	g.SetLimit(partWorkers)
	var (
		mu      sync.Mutex
		parts   []types.CompletedPart
		total   int64
		readErr error
	)
	readFailed := func(err error) {
		readErr = err
		cancel()
	}
	upload := func(num int32, data []byte) error {
		out, err := s.client.UploadPart(uctx, &awss3.UploadPartInput{
			Bucket:        &s.bucket,
			Key:           &full,
			UploadId:      uploadID,
			PartNumber:    aws.Int32(num),
			Body:          bytes.NewReader(data),
			ContentLength: aws.Int64(int64(len(data))),
		})
		if err != nil {
			return fmt.Errorf("upload part %d: %w", num, err)
		}
		mu.Lock()
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
		mu.Unlock()
		return nil
	}

	next := first
	if int64(len(first)) < ps {
		// first holds partSize bytes; top it up to the larger part size.
		next = make([]byte, ps)
		copy(next, first)
		n, err := io.ReadFull(r, next[len(first):])
		next = next[:len(first)+n]
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			readFailed(fmt.Errorf("read content: %w", err))
		}
	}
	for num := int32(1); len(next) > 0 && uctx.Err() == nil; num++ {
		if num > maxParts {
			readFailed(fmt.Errorf("content exceeds %d parts of %d bytes", maxParts, ps))
			break
		}
		total += int64(len(next))
		data := next
		g.Go(func() error { return upload(num, data) })
		buf := make([]byte, ps)
		n, err := io.ReadFull(r, buf)
		next = buf[:n]
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = nil
		}
		if err != nil {
			readFailed(fmt.Errorf("read content: %w", err))
		}
	}
	firstErr := g.Wait()
	if readErr != nil {
		firstErr = readErr // the uploads only stopped because of it
	}
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr == nil && size >= 0 && total != size {
		firstErr = fmt.Errorf("content is %d bytes, caller said %d", total, size)
	}
	if firstErr != nil {
		return abort(fmt.Errorf("s3 put %s: %w", key, firstErr))
	}
	// Parts finished out of order; Complete wants them ascending.
	sortParts(parts)

	var out *awss3.CompleteMultipartUploadOutput
	err = retryConflicts(ctx, func() (err error) {
		out, err = s.client.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{
			Bucket:          &s.bucket,
			Key:             &full,
			UploadId:        uploadID,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
			IfNoneMatch:     aws.String("*"),
		})
		return err
	})
	if err != nil {
		if isPreconditionFailed(err) || isConditionalConflict(err) {
			return abort(fmt.Errorf("s3 put %s: %w", key, storage.ErrExists))
		}
		return abort(fmt.Errorf("s3 put %s: complete multipart upload: %w", key, err))
	}
	return storage.ObjectInfo{Key: key, Size: total, ETag: aws.ToString(out.ETag), LastModified: time.Now()}, nil
}

func sortParts(p []types.CompletedPart) {
	// Insertion sort: parts arrive nearly ordered.
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && *p[j].PartNumber < *p[j-1].PartNumber; j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}

// CompareAndSwap implements storage.Store. ETags may be given with or
// without S3's quotes.
func (s *Store) CompareAndSwap(ctx context.Context, key string, data []byte, etag string) (storage.ObjectInfo, error) {
	full, err := s.full(key)
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("s3 cas: %w", err)
	}
	in := &awss3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           &full,
		ContentLength: aws.Int64(int64(len(data))),
	}
	if etag == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(quote(etag))
	}
	var out *awss3.PutObjectOutput
	err = retryConflicts(ctx, func() (err error) {
		in.Body = bytes.NewReader(data)
		out, err = s.client.PutObject(ctx, in)
		return err
	})
	switch {
	case err == nil:
		return storage.ObjectInfo{Key: key, Size: int64(len(data)), ETag: aws.ToString(out.ETag), LastModified: time.Now()}, nil
	case etag == "" && (isPreconditionFailed(err) || isConditionalConflict(err)):
		return storage.ObjectInfo{}, fmt.Errorf("s3 cas %s: %w", key, storage.ErrExists)
	case isPreconditionFailed(err) || isConditionalConflict(err):
		return storage.ObjectInfo{}, fmt.Errorf("s3 cas %s: expected etag %s: %w", key, etag, storage.ErrConflict)
	case etag != "" && isNotFound(err):
		// If-Match on a missing key: the expected version is gone.
		return storage.ObjectInfo{}, fmt.Errorf("s3 cas %s: expected etag %s, object is missing: %w", key, etag, storage.ErrConflict)
	default:
		return storage.ObjectInfo{}, fmt.Errorf("s3 cas %s: %w", key, err)
	}
}

// Get implements storage.Store.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	full, err := s.full(key)
	if err != nil {
		return nil, storage.ObjectInfo{}, fmt.Errorf("s3 get: %w", err)
	}
	out, err := s.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: &s.bucket, Key: &full})
	if err != nil {
		if isNotFound(err) {
			err = storage.ErrNotFound
		}
		return nil, storage.ObjectInfo{}, fmt.Errorf("s3 get %s: %w", key, err)
	}
	size := aws.ToInt64(out.ContentLength)
	body := &resumingBody{ctx: ctx, s: s, key: key, full: full, etag: aws.ToString(out.ETag), body: out.Body, end: size}
	return body, storage.ObjectInfo{
		Key:          key,
		Size:         size,
		ETag:         aws.ToString(out.ETag),
		LastModified: aws.ToTime(out.LastModified),
	}, nil
}

// GetRange implements storage.Store.
func (s *Store) GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	full, err := s.full(key)
	if err != nil {
		return nil, fmt.Errorf("s3 get range: %w", err)
	}
	if offset < 0 || length < -1 {
		return nil, fmt.Errorf("s3 get range %s: invalid range offset %d length %d", key, offset, length)
	}
	if length == 0 {
		// HTTP cannot express an empty range; still report a missing key.
		if _, err := s.Stat(ctx, key); err != nil {
			return nil, err
		}
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	rng := fmt.Sprintf("bytes=%d-", offset)
	if length > 0 {
		rng += fmt.Sprint(offset + length - 1)
	}
	out, err := s.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: &s.bucket, Key: &full, Range: &rng})
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("s3 get range %s: %w", key, storage.ErrNotFound)
		}
		if httpStatus(err) == http.StatusRequestedRangeNotSatisfiable {
			// Offset at or past the end: nothing to read, like a file.
			return io.NopCloser(bytes.NewReader(nil)), nil
		}
		return nil, fmt.Errorf("s3 get range %s %s: %w", key, rng, err)
	}
	return &resumingBody{ctx: ctx, s: s, key: key, full: full, etag: aws.ToString(out.ETag), body: out.Body,
		pos: offset, end: offset + aws.ToInt64(out.ContentLength)}, nil
}

// Stat implements storage.Store.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	full, err := s.full(key)
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("s3 stat: %w", err)
	}
	out, err := s.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &s.bucket, Key: &full})
	if err != nil {
		if isNotFound(err) {
			err = storage.ErrNotFound
		}
		return storage.ObjectInfo{}, fmt.Errorf("s3 stat %s: %w", key, err)
	}
	return storage.ObjectInfo{
		Key:          key,
		Size:         aws.ToInt64(out.ContentLength),
		ETag:         aws.ToString(out.ETag),
		LastModified: aws.ToTime(out.LastModified),
	}, nil
}

// List implements storage.Store.
func (s *Store) List(ctx context.Context, prefix, startAfter string, fn func(storage.ObjectInfo) error) error {
	in := &awss3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(s.prefix + prefix)}
	if startAfter != "" {
		in.StartAfter = aws.String(s.prefix + startAfter)
	}
	p := awss3.NewListObjectsV2Paginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("s3 list %s (prefix %q): %w", s.URL(), prefix, err)
		}
		for _, o := range page.Contents {
			key := strings.TrimPrefix(aws.ToString(o.Key), s.prefix)
			if err := fn(storage.ObjectInfo{
				Key:          key,
				Size:         aws.ToInt64(o.Size),
				ETag:         aws.ToString(o.ETag),
				LastModified: aws.ToTime(o.LastModified),
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Delete implements storage.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	full, err := s.full(key)
	if err != nil {
		return fmt.Errorf("s3 delete: %w", err)
	}
	if _, err := s.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &s.bucket, Key: &full}); err != nil && !isNotFound(err) {
		return fmt.Errorf("s3 delete %s: %w", key, err)
	}
	return nil
}
