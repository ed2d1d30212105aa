package storage

import (
	"errors"
	"fmt"
	"strings"
)

// ValidKey reports why key cannot be stored, or nil. Keys are relative,
// slash-separated, without empty, "." or ".." segments or backslashes; the
// first segment may not start with "." because the root's dot-folders are
// the local backend's own. Both backends apply the same rule, so a
// warehouse can move between them.
func ValidKey(key string) error {
	switch {
	case key == "":
		return errors.New("invalid key \"\": empty")
	case strings.HasPrefix(key, "/"):
		return fmt.Errorf("invalid key %q: absolute", key)
	case strings.ContainsRune(key, '\\'):
		return fmt.Errorf("invalid key %q: contains a backslash", key)
	case strings.ContainsRune(key, 0):
		return fmt.Errorf("invalid key %q: contains a NUL byte", key)
	case strings.HasPrefix(key, "."):
		return fmt.Errorf("invalid key %q: names starting with \".\" at the root are reserved", key)
	}
	for _, seg := range strings.Split(key, "/") {
		switch seg {
		case "":
			return fmt.Errorf("invalid key %q: empty path segment", key)
		case ".", "..":
			return fmt.Errorf("invalid key %q: contains %q", key, seg)
		}
	}
	return nil
}
