package txlog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"archtics/storage"
)

// FileEntry describes one committed data file. Commits list them; readers
// take partition values and time ranges from here without opening the file.
type FileEntry struct {
	Table     string            `json:"table"` // schema.table
	Key       string            `json:"key"`   // object key, under the table's Prefix()
	Rows      int64             `json:"rows"`
	Bytes     int64             `json:"bytes"`
	SHA256    string            `json:"sha256"`              // hex of the whole object
	Partition map[string]string `json:"partition,omitempty"` // partition column → value as in the path (unescaped)
	// Min and Max hold, per time column of the table, the smallest and largest
	// non-null value in the file: YYYY-MM-DD for dates, RFC 3339 for
	// timestamps with a zone, and "YYYY-MM-DD HH:MM:SS[.fff]" with no zone
	// for wall-clock timestamps (Archtics' own, in the client's local
	// time), as DuckDB prints a TIMESTAMP. Absent when the column is all null.
	Min map[string]string `json:"min,omitempty"`
	Max map[string]string `json:"max,omitempty"`
}

// FileRef names a file of a table; commits retire files by reference.
type FileRef struct {
	Table string `json:"table"`
	Key   string `json:"key"`
}

// Ref returns the entry's reference.
func (e FileEntry) Ref() FileRef { return FileRef{Table: e.Table, Key: e.Key} }

// HashObject returns the hex SHA-256 and the length of an object.
func HashObject(ctx context.Context, st storage.Store, key string) (string, int64, error) {
	rc, _, err := st.Get(ctx, key)
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return "", n, fmt.Errorf("read %s: %w", key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
