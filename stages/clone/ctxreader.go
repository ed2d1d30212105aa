package clone

import (
	"context"
	"io"
)

// sourceReader is how the loader reads a dump file's compressed bytes: it
// stops at the first Read after ctx ends, so a cancelled load stops within
// one buffer of input however long the file, and it counts the bytes read,
// so a damaged file's error can say how far in the damage showed.
type sourceReader struct {
	ctx context.Context
	r   io.Reader
	n   int64
}

func (s *sourceReader) Read(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := s.r.Read(p)
	s.n += int64(n)
	return n, err
}
