package clone

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/klauspost/compress/gzip"

	"archtics/schemas"
)

// rowCounter is a recordWriter that counts rows and, like the partition
// writer, refuses a string that is not UTF-8.
type rowCounter struct{ rows int64 }

func (c *rowCounter) Write(rec arrow.RecordBatch) error {
	for i, col := range rec.Columns() {
		if a, ok := col.(*array.String); ok {
			for r := 0; r < a.Len(); r++ {
				if !utf8.ValidString(a.Value(r)) {
					return fmt.Errorf("column %s row %d: %q is not UTF-8", rec.ColumnName(i), r, a.Value(r))
				}
			}
		}
	}
	c.rows += rec.NumRows()
	return nil
}

// FuzzLoadDumpFile feeds arbitrary bytes as the body of a dump file of
// archtics.event and checks the loader's promise: it never panics, and
// every line it reads is loaded or rejected, never lost or doubled.
// make test runs the seeds; go test -fuzz FuzzLoadDumpFile ./stages
// searches further.
func FuzzLoadDumpFile(f *testing.F) {
	good := strings.Join(eventRow(nil), "|")
	for _, seed := range []string{
		good + "\n",
		good + "\n" + good,                      // no final newline
		"nhl|x|too|few\n",                       // wrong field count
		strings.Replace(good, "42", "4x2", 1),   // bad integer
		strings.Replace(good, "|Y|", "|\\|", 1), // escape eats a separator
		good + "\\",                             // dangling backslash at the end
		"\n\n\r\n",                              // empty lines
		good + "\r\n" + strings.Replace(good, "nhl", "arena", 1) + "\n", // CRLF and another team
		"\x00\xff|\xfe\n",
		strings.Replace(good, "Hawks", "H\xe4wks", 1), // Latin-1: repaired
		strings.Replace(good, "Hawks", "H\\awks", 1),  // unknown escape: rejected
	} {
		f.Add([]byte(seed))
	}
	header := strings.Join(columnNames(schemas.Event), "|") + "\n"
	f.Fuzz(func(t *testing.T, body []byte) {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write([]byte(header))
		zw.Write(body)
		zw.Close()
		data := gz.Bytes()
		file := DumpFile{
			Team: "nhl", Table: schemas.Event, Name: "nhl/event/event_part-00000.txt.gz", Rows: -1,
			Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		}
		loaded, rejected := &rowCounter{}, &rowCounter{}
		sink := newRejectSink(rejected, "batch", "nhl", "clone")
		defer sink.release()
		fl, err := readDumpFile(context.Background(), file, fileScan{tw: loaded, rejects: sink, record: true})
		if err != nil {
			t.Fatalf("a body the reader can split must load or reject, not fail: %v", err)
		}
		if err := sink.flush(); err != nil {
			t.Fatal(err)
		}
		if fl.In != fl.Loaded+fl.Rejected {
			t.Fatalf("in %d != loaded %d + rejected %d", fl.In, fl.Loaded, fl.Rejected)
		}
		if loaded.rows != fl.Loaded || rejected.rows != fl.Rejected {
			t.Fatalf("counted loaded %d rejected %d, wrote %d and %d rows", fl.Loaded, fl.Rejected, loaded.rows, rejected.rows)
		}
	})
}

// FuzzLoadDumpFileDamaged damages a well-formed dump file (cuts its end,
// overwrites bytes anywhere) and checks the loader's other promise: a file
// whose bytes are not the manifest's fails with an error naming it, never
// loads, never panics, and never hangs (the reader used to spin on a
// truncated gzip stream).
func FuzzLoadDumpFileDamaged(f *testing.F) {
	good := strings.Join(eventRow(nil), "|") + "\n"
	body := strings.Repeat(good, 200)
	for _, seed := range []struct {
		at, cut uint16
		patch   []byte
	}{
		{0, 1, nil},    // the last byte of the trailer gone
		{0, 8, nil},    // the whole trailer gone
		{0, 2000, nil}, // cut mid-stream
		{0, 9, nil},    // trailer and the last deflate byte
		{10, 0, []byte{0xff}},
		{200, 0, []byte{0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x55, 0xaa}},
		{3, 0, []byte{0x00}}, // the gzip header's flags
	} {
		f.Add(seed.at, seed.cut, seed.patch)
	}
	header := strings.Join(columnNames(schemas.Event), "|") + "\n"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(header + body))
	zw.Close()
	orig := gz.Bytes()
	sum := sha256.Sum256(orig)
	f.Fuzz(func(t *testing.T, at, cut uint16, patch []byte) {
		data := append([]byte(nil), orig...)
		data = data[:len(data)-int(cut)%len(data)]
		if len(data) > 0 {
			pos := int(at) % len(data)
			copy(data[pos:], patch)
		}
		file := DumpFile{
			Team: "nhl", Table: schemas.Event, Name: "nhl/event/event_part-00000.txt.gz", Rows: 200,
			SHA256: hex.EncodeToString(sum[:]),
			Open:   func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		}
		sink := newRejectSink(&rowCounter{}, "batch", "nhl", "clone")
		defer sink.release()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() {
			_, err := readDumpFile(ctx, file, fileScan{tw: &rowCounter{}, rejects: sink, record: true})
			done <- err
		}()
		var err error
		select {
		case err = <-done:
		case <-time.After(time.Minute):
			t.Fatal("still reading a damaged file a minute on")
		}
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("read until the deadline instead of failing on the damage: %v", err)
		}
		if bytes.Equal(data, orig) {
			if err != nil {
				t.Fatalf("the undamaged file failed: %v", err)
			}
			return
		}
		if err == nil {
			t.Fatal("a damaged file loaded without error")
		}
		if !strings.Contains(err.Error(), file.Name) {
			t.Fatalf("error %q does not name the file", err)
		}
	})
}
