package clone

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"archtics/schemas"
	"archtics/storage/file"
)

func TestOpenDump(t *testing.T) {
	ctx := context.Background()
	st, err := file.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := dumpFileOf(t, "nhl", schemas.Event, []string{eventLine("1", "2026-11-21", "2026-11-01 10:00:00")})
	rc, _ := f.Open()
	data, _ := io.ReadAll(rc)
	if _, err := st.PutIfAbsent(ctx, f.Name, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	cutoff := time.Date(2026, 11, 20, 12, 0, 1, 0, time.UTC)
	manifest := func(table string) []byte {
		b, _ := json.Marshal(map[string]any{
			"client": "demo", "cutoff": cutoff,
			"files": []map[string]any{{"team": "nhl", "table": table, "path": f.Name, "rows": 1, "sha256": f.SHA256}},
		})
		return b
	}

	t.Run("loads", func(t *testing.T) {
		if _, err := st.CompareAndSwap(ctx, ManifestName, manifest("event"), ""); err != nil {
			t.Fatal(err)
		}
		d, err := OpenDump(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		if !d.Cutoff.Equal(cutoff) || len(d.Files) != 1 || d.Files[0].Table != schemas.Event || strings.Join(d.Teams(), ",") != "nhl" {
			t.Fatalf("dump = %+v", d)
		}
		rep, err := LoadDump(ctx, openLocalWarehouse(t), d, "nhl", nil)
		if err != nil {
			t.Fatal(err)
		}
		if in, loaded, _ := rep.Totals(); in != 1 || loaded != 1 {
			t.Fatalf("in %d loaded %d", in, loaded)
		}
	})
	t.Run("unknown table", func(t *testing.T) {
		info, _ := st.Stat(ctx, ManifestName)
		if _, err := st.CompareAndSwap(ctx, ManifestName, manifest("seats"), info.ETag); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenDump(ctx, st); err == nil || !strings.Contains(err.Error(), `unknown table "seats"`) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no manifest", func(t *testing.T) {
		empty, _ := file.New(t.TempDir())
		if _, err := OpenDump(ctx, empty); err == nil || !strings.Contains(err.Error(), "manifest.json") {
			t.Fatalf("err = %v", err)
		}
	})
}
