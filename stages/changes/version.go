package changes

import (
	"fmt"
	"strings"
	"time"

	"archtics/schemas"
)

// Version is one version of one row as the change API served it.
//
// Identity is (Key, Updated): Archtics update times strictly increase per
// key, so a re-served version has the same pair. Per key, the version with
// the newest Updated is current; an equal Updated is the same version,
// possibly with account references moved by a merge since (take the later
// copy's row).
type Version struct {
	Key     string    // the table's key columns joined by "|", as the API's keys
	Updated time.Time // the update-time column as an instant (UTC), resolved exactly (see package doc)
	Row     []string  // values in the table's column order, "" is NULL
	// AsOf is the snapshot of the pull that served the version (when it
	// was seen).
	AsOf time.Time
}

// Newer reports whether v supersedes a held version updated at held: it
// is newer, or the same version seen later (whose references may have
// moved to a merge's winner).
func (v *Version) Newer(held time.Time) bool { return !v.Updated.Before(held) }

// layout maps the columns of a page onto a table.
type layout struct {
	table  *schemas.Table
	keyIdx []int // key column indexes in the page's rows
	updIdx int   // the update-time column's index
}

// newLayout checks that the server's columns are the table's, in order,
// so rows can be stored as they come.
func newLayout(t *schemas.Table, columns []string, what string) (*layout, error) {
	if len(columns) != len(t.Columns) {
		return nil, fmt.Errorf("%s of %s: the server sent %d columns, the schema has %d: the source's schema changed; update schemas/ before pulling",
			what, t.Name, len(columns), len(t.Columns))
	}
	for i, c := range t.Columns {
		if columns[i] != c.Name {
			return nil, fmt.Errorf("%s of %s: column %d is %q, the schema says %q: the source's schema changed; update schemas/ before pulling",
				what, t.Name, i+1, columns[i], c.Name)
		}
	}
	l := &layout{table: t, updIdx: t.ColumnIndex(t.UpdatedAt)}
	if l.updIdx < 0 {
		return nil, fmt.Errorf("table %s has no update-time column %q", t.Name, t.UpdatedAt)
	}
	for _, k := range t.Key {
		l.keyIdx = append(l.keyIdx, t.ColumnIndex(k))
	}
	return l, nil
}

// key joins the row's key columns with "|", as the API's keys do.
func (l *layout) key(row []string, sb *strings.Builder) string {
	if len(l.keyIdx) == 1 {
		return row[l.keyIdx[0]]
	}
	sb.Reset()
	for i, ci := range l.keyIdx {
		if i > 0 {
			sb.WriteByte('|')
		}
		sb.WriteString(row[ci])
	}
	return sb.String()
}
