package txlog

import (
	"fmt"
	"strings"

	"archtics/schemas"
)

// Ownership: each (table, partition) belongs to exactly one stream, named
// by the table's owner template (schemas.Table.Owner) filled with the
// partition's values: a team's clone owns archtics.* for team=<team>, a
// team's realtime feed its scans, the CRM stream crm.*. A commit that adds
// or retires a file outside its own stream's partitions is refused, so a
// file can never be live in two streams, no stream retires another's
// files, and a reader of a table opens only the streams that own it.

// checkOwnership refuses a commit that touches a partition its stream
// does not own. The partition is read from the key's Hive path, the
// ground truth readers use, and must agree with the entry's own values.
func checkOwnership(c *Commit, extra []*schemas.Table) error {
	check := func(table, key string, declared map[string]string) error {
		t := lookupTable(table, extra)
		if t == nil {
			return fmt.Errorf("unknown table %q: pass its definition in CommitRequest.Tables", table)
		}
		values, err := PartitionOfKey(t, key)
		if err != nil {
			return err
		}
		for k, v := range declared {
			if values[k] != v {
				return fmt.Errorf("file %s: entry says %s=%q, its path says %q", key, k, v, values[k])
			}
		}
		owner, err := t.OwnerStream(values)
		if err != nil {
			return fmt.Errorf("file %s: %w", key, err)
		}
		if owner != c.Stream {
			return fmt.Errorf("file %s of %s is in a partition owned by stream %s, not %s: %w", key, table, owner, c.Stream, ErrNotOwner)
		}
		return nil
	}
	for _, a := range c.Adds {
		if err := check(a.Table, a.Key, a.Partition); err != nil {
			return err
		}
	}
	for _, r := range c.Retires {
		if err := check(r.Table, r.Key, nil); err != nil {
			return err
		}
	}
	for _, d := range c.Deletes {
		if d.Table == "" {
			// The stream's own log objects (old checkpoints).
			if !strings.HasPrefix(d.Key, StreamPrefix(c.Stream)) {
				return fmt.Errorf("deletes %s, which is neither a table's file nor this stream's log object: %w", d.Key, ErrNotOwner)
			}
			continue
		}
		if err := check(d.Table, d.Key, nil); err != nil {
			return err
		}
	}
	return nil
}

// PartitionOfKey reads the partition values from a data file's key:
// "<schema>/<table>/<col>=<v>/.../<file>", one level per partition column
// in order, values escaped as EscapePathValue writes them.
func PartitionOfKey(t *schemas.Table, key string) (map[string]string, error) {
	rest, ok := strings.CutPrefix(key, t.Prefix())
	if !ok {
		return nil, fmt.Errorf("file %s is not under %s's folder %s", key, t.FullName(), t.Prefix())
	}
	segs := strings.Split(rest, "/")
	if len(segs) != len(t.PartitionBy)+1 || segs[len(segs)-1] == "" {
		return nil, fmt.Errorf("file %s: want %d partition levels (%s) then a file name under %s",
			key, len(t.PartitionBy), strings.Join(t.PartitionBy, ", "), t.Prefix())
	}
	values := make(map[string]string, len(t.PartitionBy))
	for i, col := range t.PartitionBy {
		name, v, ok := strings.Cut(segs[i], "=")
		if !ok || name != EscapePathValue(col) {
			return nil, fmt.Errorf("file %s: level %d is %q, want %s=<value>", key, i+1, segs[i], col)
		}
		if v == HiveDefaultPartition {
			v = ""
		}
		u, err := unescapePathValue(v)
		if err != nil {
			return nil, fmt.Errorf("file %s: %s value %q: %w", key, col, v, err)
		}
		values[col] = u
	}
	return values, nil
}

// unescapePathValue reverses EscapePathValue.
func unescapePathValue(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			sb.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("truncated escape at byte %d", i)
		}
		var b byte
		for _, c := range []byte{s[i+1], s[i+2]} {
			b <<= 4
			switch {
			case c >= '0' && c <= '9':
				b |= c - '0'
			case c >= 'A' && c <= 'F':
				b |= c - 'A' + 10
			case c >= 'a' && c <= 'f':
				b |= c - 'a' + 10
			default:
				return "", fmt.Errorf("bad escape %q at byte %d", s[i:i+3], i)
			}
		}
		sb.WriteByte(b)
		i += 2
	}
	return sb.String(), nil
}

// OwningStreams returns, of the given streams, those that own partitions
// of any of tables (all tables when none is given).
func OwningStreams(streams []string, tables ...*schemas.Table) []string {
	if len(tables) == 0 {
		return streams
	}
	var out []string
	for _, s := range streams {
		for _, t := range tables {
			if t.OwnedBy(s) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}
