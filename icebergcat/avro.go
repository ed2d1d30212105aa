package icebergcat

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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
	meta := map[string][]byte{}
	for k, v := range rd.Metadata() {
		if k != "avro.codec" && k != "avro.schema" {
			meta[k] = v
		}
	}
	var out bytes.Buffer
	wr, err := ocf.NewWriter(&out, rd.Schema(), ocf.WithSchema(string(rd.Metadata()["avro.schema"])), ocf.WithMetadata(meta))
	if err != nil {
		return nil, fmt.Errorf("write Avro container: %w", err)
	}
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
		if err := wr.Encode(rec); err != nil {
			return nil, fmt.Errorf("write Avro record: %w", err)
		}
	}
	if err := wr.Close(); err != nil {
		return nil, fmt.Errorf("write Avro container: %w", err)
	}
	return out.Bytes(), nil
}
