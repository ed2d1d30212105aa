package icebergcat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/apache/iceberg-go"

	"archtics/pipeline/txlog"
	"archtics/schemas"
)

// The current state of each source table of the clone, archtics.<t>, is
// published as an Iceberg table of its own, the way change-data-capture
// writers publish: merge-on-read. Its data files are the live files the
// product's view archtics.<t> reads (the dump's, the compacted base's and
// the changes', as committed: nothing is copied), and position-delete
// files drop every row that is not the current version of its key (an
// older version, a duplicate, a tombstone), computed by DuckDB with the
// view's own ranking (schemas.CurrentDeletesSQL). Position deletes are
// what every engine that reads Iceberg v2 applies (Spark, Trino, Athena,
// Snowflake, icebird), where equality deletes are not.
//
// Each publish writes the table afresh, as the next metadata version
// (the table's UUID kept), with one snapshot: the state at the log's
// heads when it ran. A table whose files did not change since (the
// snapshot's archtics.files digest) is left as it is. Time travel over
// the clone's past is the stored tables' (one snapshot per commit) and
// the product's own (archtics query --as-of).

// publishCurrent brings archtics.<src> (t = schemas.Current(src)) up to
// the log.
func publishCurrent(ctx context.Context, w *txlog.Log, t, src *schemas.Table, opt Options) (TableResult, error) {
	res := TableResult{Table: t.SQLName()}
	cat := newFileCatalog(ctx, w.Store)
	st, err := cat.load(ctx, t)
	if err != nil {
		return res, err
	}
	if opt.CurrentStateOut == nil {
		return res, fmt.Errorf("iceberg %s: Options.CurrentStateOut is not set: the publisher cannot find the rows the current state leaves out", t.SQLName())
	}
	parts := schemas.CurrentParts(src)
	state, err := w.StateOf(ctx, parts...)
	if err != nil {
		return res, fmt.Errorf("iceberg %s: %w", t.SQLName(), err)
	}
	var entries []txlog.FileEntry
	for _, p := range parts {
		entries = append(entries, state.Files(p.FullName())...)
	}
	digest := filesDigest(entries)
	positions := map[string]int64{}
	var last *txlog.StreamState
	for name, ss := range state.Streams {
		positions[name] = ss.Seq
		if last == nil || ss.CommittedAt.After(last.CommittedAt) || ss.CommittedAt.Equal(last.CommittedAt) && name > last.Stream {
			last = ss
		}
	}
	res.Positions = positions
	if !opt.Rebuild && st.stored != nil && ownMetadata(st) {
		if cur := st.meta.CurrentSnapshot(); cur != nil && cur.Summary != nil && cur.Summary.Properties[SummaryFiles] == digest {
			res.Version, res.MetadataLocation = st.version, st.location
			return res, nil
		}
	}
	if err := cat.fresh(st); err != nil {
		return res, err
	}
	spec := st.meta.PartitionSpec()
	var adds []iceberg.DataFile
	for _, e := range entries {
		df, err := dataFile(cat, t, spec, e)
		if err != nil {
			return res, fmt.Errorf("iceberg %s: %w", t.SQLName(), err)
		}
		adds = append(adds, df)
	}
	deletes, err := currentDeletes(ctx, w, cat, t, src, spec, state, opt)
	if err != nil {
		return res, fmt.Errorf("iceberg %s: %w", t.SQLName(), err)
	}
	pos, err := json.Marshal(positions)
	if err != nil {
		return res, err
	}
	props := iceberg.Properties{SummaryPositions: string(pos), SummaryFiles: digest}
	if last != nil {
		props[SummaryStream] = last.Stream
		props[SummarySeq] = strconv.FormatInt(last.Seq, 10)
		props[SummaryCommittedAt] = last.CommittedAt.UTC().Format(time.RFC3339Nano)
	}
	if len(adds) == 0 {
		df, key, err := emptyDataFile(ctx, cat, t, spec)
		if err != nil {
			return res, err
		}
		adds, props[SummaryEmptyFile] = []iceberg.DataFile{df}, key
	}
	txn := cat.icebergTable(st).NewTransaction()
	if err := txn.NewRowDelta(props).AddRows(adds...).AddDeletes(deletes...).Commit(ctx); err != nil {
		return res, fmt.Errorf("iceberg %s: %d data files, %d delete files: %w", t.SQLName(), len(adds), len(deletes), err)
	}
	if _, err := txn.Commit(ctx); err != nil {
		return res, fmt.Errorf("iceberg %s: %w", t.SQLName(), err)
	}
	res.Snapshots = 1
	if err := cat.flush(ctx, st); err != nil {
		return res, err
	}
	res.Version, res.MetadataLocation = st.version, st.location
	return res, nil
}

// filesDigest is the SHA-256 of the sorted keys of files.
func filesDigest(files []txlog.FileEntry) string {
	keys := make([]string, len(files))
	for i, f := range files {
		keys[i] = f.Key
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// currentDeletes finds the rows of the current state's files that are
// not in it (opt.CurrentStateOut) and writes them as one position-delete
// file per team (a delete file belongs to the partition of the data files
// it names).
func currentDeletes(ctx context.Context, w *txlog.Log, cat *fileCatalog, t, src *schemas.Table, spec iceberg.PartitionSpec, state *txlog.State, opt Options) ([]iceberg.DataFile, error) {
	var (
		out  []iceberg.DataFile
		team string
		file *deleteFile
		uris = map[string]string{} // key → URI, one string per file
	)
	flush := func() error {
		if file == nil {
			return nil
		}
		part := map[int]any{}
		for _, f := range spec.Fields() {
			v, err := partitionValue(t, f.Name, team)
			if err != nil {
				return err
			}
			part[f.FieldID] = v
		}
		df, err := storeDeletes(ctx, cat, t, spec, part, file)
		file = nil
		if err != nil {
			return err
		}
		out = append(out, df)
		return nil
	}
	err := opt.CurrentStateOut(ctx, w, opt.CacheDir, state, src, func(rowTeam, key string, p int64) error {
		if file != nil && rowTeam != team {
			if err := flush(); err != nil {
				return err
			}
		}
		if file == nil {
			var err error
			if file, err = newDeleteFile(); err != nil {
				return err
			}
			team = rowTeam
		}
		uri, ok := uris[key]
		if !ok {
			uri = cat.uri(key)
			uris[key] = uri
		}
		return file.add(uri, p)
	})
	if err == nil {
		err = flush()
	}
	if file != nil {
		file.release()
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}
