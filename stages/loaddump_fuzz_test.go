package stages

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/klauspost/compress/gzip"

	"archtics/schemas"
)

// rowCounter is a recordWriter that counts rows.
type rowCounter struct{ rows int64 }

func (c *rowCounter) Write(rec arrow.RecordBatch) error {
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
		fl, err := readDumpFile(context.Background(), file, loaded, sink, nil)
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
