// Package backend opens a storage.Store from a location string, so commands
// and config take one "warehouse" setting for every backend.
package backend

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"archtics/storage"
	"archtics/storage/file"
	"archtics/storage/s3"
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
	if path, ok, err := LocalPath(location); ok || err != nil {
		if err != nil {
			return nil, err
		}
		return openFile(location, path)
	}
	scheme, rest, _ := strings.Cut(location, "://")
	switch strings.ToLower(scheme) {
	case "s3":
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return nil, fmt.Errorf("open store %q: missing bucket, want s3://bucket/prefix", storage.Redact(location))
		}
		s, err := s3.New(ctx, bucket, prefix)
		if err != nil {
			return nil, fmt.Errorf("open store %q: %w", storage.Redact(location), err)
		}
		return s, nil
	default:
		return nil, fmt.Errorf("open store %q: unsupported scheme %q; supported: s3://bucket/prefix, file:///abs/path, or a plain folder path", storage.Redact(location), scheme)
	}
}

// LocalPath reports whether location names a local folder (a plain path
// or file:///abs/path) and returns its path. Commands that only read use it
// to refuse a folder that does not exist instead of creating it.
func LocalPath(location string) (path string, ok bool, err error) {
	scheme, _, hasScheme := strings.Cut(location, "://")
	// A bare path may contain "://" only after a slash (dir/x://y); a
	// scheme never contains one.
	if !hasScheme || strings.ContainsAny(scheme, `/\`) {
		return location, true, nil
	}
	if !strings.EqualFold(scheme, "file") {
		return "", false, nil
	}
	u, err := url.Parse(location)
	if err != nil {
		return "", true, fmt.Errorf("open store %q: %w", storage.Redact(location), err)
	}
	if u.Host != "" && u.Host != "localhost" {
		return "", true, fmt.Errorf("open store %q: file URLs must be file:///absolute/path (host %q is not supported)", storage.Redact(location), u.Host)
	}
	if u.Path == "" {
		return "", true, fmt.Errorf("open store %q: missing path, want file:///absolute/path", storage.Redact(location))
	}
	return u.Path, true, nil
}

func openFile(location, path string) (storage.Store, error) {
	s, err := file.New(path)
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", storage.Redact(location), err)
	}
	return s, nil
}
