package txlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"archtics/storage"
)

// CopyStream copies stream s's log up to s.Seq into mirror: the registry
// marker, every commit and checkpoint not yet there, and a hint naming
// the newest checkpoint copied. Commits and checkpoints are immutable, so
// one already in the copy with the same size is the same object.
func (w *Log) CopyStream(ctx context.Context, mirror storage.Store, s *StreamState) (int, error) {
	copied := 0
	put := func(key string) error {
		if info, err := mirror.Stat(ctx, key); err == nil {
			src, err := w.Store.Stat(ctx, key)
			if err == nil && src.Size == info.Size {
				return nil
			}
			return fmt.Errorf("%s differs between the warehouse and the copy; log objects never change, so the copy is of another warehouse: sync into an empty folder", key)
		}
		data, _, err := w.GetAll(ctx, key)
		if err != nil {
			return fmt.Errorf("read %s: %w", key, err)
		}
		if _, err := mirror.PutIfAbsent(ctx, key, bytes.NewReader(data), int64(len(data))); err != nil && !errors.Is(err, storage.ErrExists) {
			return fmt.Errorf("copy %s: %w", key, err)
		}
		copied++
		return nil
	}
	if err := put(StreamMarkerKey(s.Stream)); err != nil {
		return copied, err
	}
	commits, cps, err := w.ListStream(ctx, s.Stream)
	if err != nil {
		return copied, err
	}
	for _, seq := range commits {
		if err := ctx.Err(); err != nil {
			return copied, err
		}
		if seq <= s.Seq {
			if err := put(CommitKey(s.Stream, seq)); err != nil {
				return copied, err
			}
		}
	}
	var newest int64
	for _, seq := range cps {
		if err := ctx.Err(); err != nil {
			return copied, err
		}
		if seq <= s.Seq {
			if err := put(CheckpointKey(s.Stream, seq)); err != nil {
				return copied, err
			}
			newest = max(newest, seq)
		}
	}
	if newest > 0 {
		// The copy's own hint, never the warehouse's: that one may name
		// a checkpoint past the synced point.
		key := StreamPrefix(s.Stream) + LastCheckpoint
		data, _ := json.Marshal(checkpointHint{Seq: newest, Key: CheckpointKey(s.Stream, newest)})
		cur, info, err := mirror.Get(ctx, key)
		etag := ""
		if err == nil {
			old := new(bytes.Buffer)
			_, _ = old.ReadFrom(cur)
			cur.Close()
			if bytes.Equal(old.Bytes(), data) {
				return copied, nil
			}
			etag = info.ETag
		}
		if _, err := mirror.CompareAndSwap(ctx, key, data, etag); err != nil {
			return copied, fmt.Errorf("write %s: %w", key, err)
		}
		copied++
	}
	return copied, nil
}
