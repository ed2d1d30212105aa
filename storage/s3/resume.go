package s3

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// maxResumes bounds how many times in a row a body is re-requested
// without a byte read in between.
const maxResumes = 3

// truncatedAnswer says an answer ended before its Content-Length: the
// connection closed cleanly mid-body, which net/http reports as
// io.ErrUnexpectedEOF. The request is safe to repeat as a 5xx is.
func truncatedAnswer(err error) aws.Ternary {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
}

// cutShort says a read of a body failed the way a dropped connection
// fails, so the rest may be asked for again.
func cutShort(err error) bool {
	return truncatedAnswer(err) == aws.TrueTernary ||
		retry.RetryableConnectionError{}.IsErrorRetryable(err) == aws.TrueTernary
}

// resumingBody is a GET's body that, when the connection drops mid-body,
// asks for the rest (a Range from the offset reached) of the same version
// (If-Match its ETag) instead of failing the caller's read: the SDK
// retries a request, but a body is streamed after the request returned.
type resumingBody struct {
	ctx       context.Context
	s         *Store
	key, full string
	etag      string
	body      io.ReadCloser
	pos, end  int64 // next byte's offset in the object; one past the last wanted
	inARow    int   // resumes since the last byte read
	closed    bool
}

func (b *resumingBody) Read(p []byte) (int, error) {
	for {
		n, err := b.body.Read(p)
		b.pos += int64(n)
		if n > 0 {
			b.inARow = 0
		}
		if err == nil || errors.Is(err, io.EOF) || !cutShort(err) {
			return n, err
		}
		if b.pos >= b.end {
			// Every wanted byte arrived; only the close was lost.
			return n, io.EOF
		}
		if rerr := b.resume(); rerr != nil {
			return n, fmt.Errorf("s3 get %s: answer cut short at byte %d of %d (%v), and asking for the rest failed: %w", b.key, b.pos, b.end, err, rerr)
		}
		if n > 0 {
			return n, nil
		}
	}
}

func (b *resumingBody) resume() error {
	if b.inARow >= maxResumes {
		return fmt.Errorf("%d attempts in a row read nothing", b.inARow)
	}
	if err := b.ctx.Err(); err != nil {
		return err
	}
	b.inARow++
	b.body.Close()
	rng := fmt.Sprintf("bytes=%d-%d", b.pos, b.end-1)
	in := &awss3.GetObjectInput{Bucket: &b.s.bucket, Key: &b.full, Range: &rng}
	if b.etag != "" {
		in.IfMatch = aws.String(quote(b.etag))
	}
	out, err := b.s.client.GetObject(b.ctx, in)
	if err != nil {
		b.body = io.NopCloser(errReader{err})
		if isPreconditionFailed(err) {
			return fmt.Errorf("the object changed while it was read (etag %s): %w", b.etag, err)
		}
		return err
	}
	b.body = out.Body
	return nil
}

func (b *resumingBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	return b.body.Close()
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
