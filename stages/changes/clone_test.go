package changes

import (
	"fmt"
	"iter"
	"sort"
	"time"

	"archtics/schemas"
	"archtics/simulator"
)

// refClone is the tests' in-memory reference clone of one team: per table
// and key the newest version (by update instant) pulled, deleted keys
// dropped, merged-away accounts' references moved to the winner. Not
// production storage: the warehouse does this with change partitions.
type refClone struct {
	tables  map[string]map[string]heldRow
	seen    map[string]map[string]int // table -> key@instant -> times served (doubles are fine, losses are not)
	winners map[string]string         // loser -> winner acct_id
	stats   streamStats
}

// streamStats says what a stream exercised, so the tests can require it.
type streamStats struct {
	rounds, pulls, crashes, probes int
	versions, deleted              int64
	merges                         []Merge
	boundaryTies                   int // pages whose last version shares its update time with the next page's first
}

type heldRow struct {
	upd time.Time
	row []string
}

func newRefClone() *refClone {
	c := &refClone{tables: map[string]map[string]heldRow{}, seen: map[string]map[string]int{}, winners: map[string]string{}}
	for _, t := range schemas.SourceTables {
		c.tables[t.Name] = map[string]heldRow{}
		c.seen[t.Name] = map[string]int{}
	}
	return c
}

// seed loads the dump's content: the newest version committed by cutoff
// of every key present then, read from the world directly.
func (c *refClone) seed(w *simulator.World, team string, cutoff time.Time) {
	for _, t := range schemas.SourceTables {
		for _, ch := range w.Changes(team, t, time.Unix(0, 0), cutoff) {
			c.tables[t.Name][ch.Key] = heldRow{upd: ch.Updated, row: ch.Row}
		}
	}
}

// apply keeps per key the newest version; the same version seen again
// replaces the row (its references may have moved).
func (c *refClone) apply(t *schemas.Table, batch []Version) {
	m := c.tables[t.Name]
	for i := range batch {
		v := &batch[i]
		c.seen[t.Name][v.Key+"@"+v.Updated.Format(time.RFC3339)]++
		c.stats.versions++
		if h, ok := m[v.Key]; !ok || v.Newer(h.upd) {
			m[v.Key] = heldRow{upd: v.Updated, row: c.remapRow(t, v.Row)}
		}
	}
}

func (c *refClone) delete(t *schemas.Table, ds []Deletion) {
	c.stats.deleted += int64(len(ds))
	for _, d := range ds {
		delete(c.tables[t.Name], d.Key)
	}
}

// merge records the pairs and moves every held reference to the winner.
func (c *refClone) merge(ms []Merge) {
	c.stats.merges = append(c.stats.merges, ms...)
	for _, m := range ms {
		c.winners[m.Loser] = m.Winner
	}
	for _, ref := range AccountRefs {
		for k, h := range c.tables[ref.Table.Name] {
			c.tables[ref.Table.Name][k] = heldRow{upd: h.upd, row: c.remapRow(ref.Table, h.row)}
		}
	}
}

func (c *refClone) resolve(acct string) string {
	for i := 0; i < 100; i++ {
		w, ok := c.winners[acct]
		if !ok {
			return acct
		}
		acct = w
	}
	panic("merge cycle at " + acct)
}

func (c *refClone) remapRow(t *schemas.Table, row []string) []string {
	if len(c.winners) == 0 {
		return row
	}
	out := row
	for _, ref := range AccountRefs {
		if ref.Table != t {
			continue
		}
		ci := t.ColumnIndex(ref.Column)
		if w := c.resolve(row[ci]); w != row[ci] {
			if &out[0] == &row[0] {
				out = append([]string(nil), row...)
			}
			out[ci] = w
		}
	}
	return out
}

// Keys yields the held keys in byte order, as Sweep wants them.
func (c *refClone) keys(t *schemas.Table) iter.Seq2[string, error] {
	ks := make([]string, 0, len(c.tables[t.Name]))
	for k := range c.tables[t.Name] {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return func(yield func(string, error) bool) {
		for _, k := range ks {
			if !yield(k, nil) {
				return
			}
		}
	}
}

// Referencing: see References.
func (c *refClone) Referencing(t *schemas.Table, column string, accts []string) (map[string]string, error) {
	want := map[string]bool{}
	for _, a := range accts {
		want[a] = true
	}
	ci := t.ColumnIndex(column)
	out := map[string]string{}
	for k, h := range c.tables[t.Name] {
		if want[h.row[ci]] {
			out[k] = h.row[ci]
		}
	}
	return out, nil
}

// diff compares the clone's table with the truth, row for row, and
// describes the first few differences ("" when equal).
func (c *refClone) diff(t *schemas.Table, truth []simulator.Row) string {
	m := c.tables[t.Name]
	keyIdx := make([]int, len(t.Key))
	for i, k := range t.Key {
		keyIdx[i] = t.ColumnIndex(k)
	}
	keyOf := func(r []string) string {
		k := r[keyIdx[0]]
		for _, ci := range keyIdx[1:] {
			k += "|" + r[ci]
		}
		return k
	}
	var out []string
	add := func(s string) {
		if len(out) < 5 {
			out = append(out, s)
		}
	}
	n := 0
	want := map[string]bool{}
	for _, r := range truth {
		k := keyOf(r)
		want[k] = true
		h, ok := m[k]
		switch {
		case !ok:
			n++
			add(fmt.Sprintf("missing %s (truth %v)", k, []string(r)))
		case fmt.Sprint(h.row) != fmt.Sprint([]string(r)):
			n++
			add(fmt.Sprintf("differs %s:\n  clone %v\n  truth %v", k, h.row, []string(r)))
		}
	}
	for k, h := range m {
		if !want[k] {
			n++
			add(fmt.Sprintf("extra %s %v", k, h.row))
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d rows differ; first: %v", n, out)
}
