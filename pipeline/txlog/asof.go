package txlog

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AsOf is a point of the past to read the warehouse at: every stream as of
// its last commit at or before Time, or one stream at commit Seq (the
// other streams at their heads). The zero value means the heads.
type AsOf struct {
	Time   time.Time
	Stream string
	Seq    int64
}

// Set reports whether a point is given.
func (a AsOf) Set() bool { return !a.Time.IsZero() || a.Stream != "" }

func (a AsOf) String() string {
	switch {
	case a.Stream != "":
		return fmt.Sprintf("%s@%d", a.Stream, a.Seq)
	case !a.Time.IsZero():
		return a.Time.UTC().Format(time.RFC3339Nano)
	}
	return "head"
}

// ParseAsOf reads "<RFC 3339 time>" or "<stream>@<seq>".
func ParseAsOf(s string) (AsOf, error) {
	if i := strings.LastIndexByte(s, '@'); i > 0 {
		stream, seqText := s[:i], s[i+1:]
		if err := ValidateStreamName(stream); err != nil {
			return AsOf{}, fmt.Errorf("as-of %q: %w", s, err)
		}
		seq, err := strconv.ParseInt(seqText, 10, 64)
		if err != nil || seq < 0 {
			return AsOf{}, fmt.Errorf("as-of %q: %q is not a commit number", s, seqText)
		}
		return AsOf{Stream: stream, Seq: seq}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return AsOf{}, fmt.Errorf("as-of %q: want an RFC 3339 time with its zone (2026-11-20T17:00:00Z) or <stream>@<seq> (nhl/clone@3)", s)
	}
	return AsOf{Time: t}, nil
}

// target returns how stream is to be read under a: at a time, at a seq,
// or at its head (neither).
func (a AsOf) target(stream string) (at time.Time, seq int64, head bool) {
	switch {
	case a.Stream != "":
		if a.Stream == stream {
			return time.Time{}, a.Seq, false
		}
		return time.Time{}, 0, true
	case !a.Time.IsZero():
		return a.Time, 0, false
	}
	return time.Time{}, 0, true
}
