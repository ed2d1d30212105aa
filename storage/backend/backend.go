// Package backend opens a storage.Store from a location string, so commands
// and config take one "warehouse" setting for every backend.
package backend

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/kore-oss/archtics/storage"
	"github.com/kore-oss/archtics/storage/file"
	"github.com/kore-oss/archtics/storage/s3"
)

// Open returns the store at location:
//
//	s3://bucket/prefix   S3 (prefix optional)
//	file:///abs/path     local folder
//	path/to/dir          local folder (relative or absolute path, no scheme)
func Open(ctx context.Context, location string) (storage.Store, error) {
	if location == "" {
		return nil, fmt.Errorf("open store: empty location; want s3://bucket/prefix, file:///abs/path or a folder path")
	}
	scheme, rest, hasScheme := strings.Cut(location, "://")
	// A bare path may contain "://" only after a slash (dir/x://y); a
	// scheme never contains one.
	if !hasScheme || strings.ContainsAny(scheme, `/\`) {
		return openFile(location, location)
	}
	switch strings.ToLower(scheme) {
	case "s3":
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return nil, fmt.Errorf("open store %q: missing bucket, want s3://bucket/prefix", location)
		}
		s, err := s3.New(ctx, bucket, prefix)
		if err != nil {
			return nil, fmt.Errorf("open store %q: %w", location, err)
		}
		return s, nil
	case "file":
		u, err := url.Parse(location)
		if err != nil {
			return nil, fmt.Errorf("open store %q: %w", location, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("open store %q: file URLs must be file:///absolute/path (host %q is not supported)", location, u.Host)
		}
		if u.Path == "" {
			return nil, fmt.Errorf("open store %q: missing path, want file:///absolute/path", location)
		}
		return openFile(location, u.Path)
	default:
		return nil, fmt.Errorf("open store %q: unsupported scheme %q; supported: s3://bucket/prefix, file:///abs/path, or a plain folder path", location, scheme)
	}
}

func openFile(location, path string) (storage.Store, error) {
	s, err := file.New(path)
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", location, err)
	}
	return s, nil
}
