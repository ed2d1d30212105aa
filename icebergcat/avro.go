package icebergcat

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/twmb/avro"
	"github.com/twmb/avro/ocf"
)

// Manifests and manifest lists are stored uncompressed (the Avro null
// codec). iceberg-go writes them deflated, and Go's deflate ends a stream
// with an empty stored block, which some readers' inflaters refuse
// (icebird 0.3.1 decodes one compressed block and stops); every Iceberg
// reader reads the null codec. A manifest is a few kilobytes per
// hundred files, so compression buys little.

// isAvroMetadata says whether an object the publisher writes is a
// manifest or a manifest list (Avro object container files).
func isAvroMetadata(key string) bool { return strings.HasSuffix(key, ".avro") }

// toNullCodec rewrites an Avro object container file with the null codec:
// the same schema (verbatim, with its Iceberg field ids), the same file
// metadata and the same records. A manifest list's records name their
// manifests' byte lengths, which iceberg-go counted as it wrote them
// deflated: lengths gives the stored length of each manifest rewritten
// by this publisher, and the records are corrected to it.
func toNullCodec(data []byte, lengths map[string]int64) ([]byte, error) {
	rd, err := ocf.NewReader(bytes.NewReader(data), ocf.WithDecodeOpts(avro.TaggedUnions()))
	if err != nil {
		return nil, fmt.Errorf("read Avro container: %w", err)
	}
	defer rd.Close()
	var body []byte
	var count int64
	for {
		var rec any
		err := rd.Decode(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read Avro record: %w", err)
		}
		if m, ok := rec.(map[string]any); ok {
			if path, ok := m["manifest_path"].(string); ok {
				if n, ok := lengths[path]; ok {
					m["manifest_length"] = n
				}
			}
		}
		if body, err = rd.Schema().AppendEncode(body, rec); err != nil {
			return nil, fmt.Errorf("write Avro record: %w", err)
		}
		count++
	}
	// The codec is named although the spec lets a null-codec file leave
	// it out (the encoder we use does): some readers (icebird) require
	// the key. So the container is framed here: the header (magic, the
	// metadata map, the sync marker) and one block of every record.
	meta := map[string][]byte{"avro.codec": []byte("null")}
	for k, v := range rd.Metadata() {
		if k != "avro.codec" {
			meta[k] = v
		}
	}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	sum := sha256.Sum256(body)
	sync := sum[:16]
	out := append([]byte(nil), 'O', 'b', 'j', 1)
	out = appendLong(out, int64(len(keys)))
	for _, k := range keys {
		out = appendBytes(out, []byte(k))
		out = appendBytes(out, meta[k])
	}
	out = appendLong(out, 0)
	out = append(out, sync...)
	if count > 0 {
		out = appendLong(out, count)
		out = appendBytes(out, body)
		out = append(out, sync...)
	}
	return out, nil
}

// appendLong appends an Avro long (zig-zag, variable length).
func appendLong(b []byte, n int64) []byte {
	return binary.AppendUvarint(b, uint64((n<<1)^(n>>63)))
}

// appendBytes appends Avro bytes (or a string): the length, then them.
func appendBytes(b, p []byte) []byte { return append(appendLong(b, int64(len(p))), p...) }
