package schemas

import (
	"fmt"
	"strings"
)

// The living clone (issue 8). A team's clone is the dump (one commit at
// the cutoff) plus change partitions (one per incremental pull), all owned
// by {team}/clone. SQL sees four layers per source table <t>:
//
//	archtics_dump.<t>     the dump's rows as loaded (storage archtics/<t>/)
//	archtics_changes.<t>  every version pulled since, and delete tombstones
//	archtics.<t>          the current state: the latest live version per key
//	archtics_history.<t>  every version, dump and changes, with when seen
//
// and, once a compaction has run (clone_compact.go), archtics_base.<t>
// (the state it folded) and archtics_archive.<t> (the versions it folded),
// which the two views read in place of the retired dump and change files.
const (
	DumpSchema    = "archtics_dump"
	ChangesSchema = "archtics_changes"
	HistorySchema = "archtics_history"
	// currentSchema is the identity (not the SQL schema) of the
	// current-state views: archtics.<t> is already the dump tables'
	// identity, which their files are committed under.
	currentSchema = "archtics_current"
)

// Change operations (the _op column of archtics_changes.<t>).
const (
	OpUpsert = "upsert"
	OpDelete = "delete"
)

// Columns the change tables add to their source table's.
var changeMeta = []Column{
	req(str("_op", 10, "upsert (a version pulled, or rewritten by a merge) or delete (a sweep found the key gone)")),
	req(col("_updated_at", TimestampTZ, "the version's update instant (upd_date resolved in the client's zone); for a delete, the sweep's detection instant")),
	req(col("_seen_at", TimestampTZ, "the as_of of the pull (or sweep, or merge lookup) that saw the version")),
	req(str("_batch", 200, "the incremental batch that wrote the row")),
}

// AcctMerge is archtics.acct_merge: the accounts merged away, each with its
// winner (CRM deduplication and the ticket holder follow them).
var AcctMerge = &Table{
	Schema: "archtics", Name: "acct_merge",
	Doc: "Account merges detected by the incremental sweeps: every reference to the loser now names the winner.",
	Columns: []Column{
		teamColumn,
		req(col("loser_acct_id", Int32, "the account merged away")),
		req(col("winner_acct_id", Int32, "the account its references moved to")),
		req(col("detected_at", TimestampTZ, "the as_of of the lookups that showed the merge: merged by then")),
	},
	Key:         []string{"team", "loser_acct_id"},
	PartitionBy: []string{"team"},
	Owner:       CloneOwner,
	TimeColumns: []string{"detected_at"},
}

// The clone's tables derived from each source table, built as the package
// is initialized (Go orders these before All, which lists them).
var (
	changeTables = perSource(changeTable)
	currentViews = perSource(currentView)
	historyViews = perSource(historyView)
)

// perSource maps each source table to f of it.
func perSource(f func(*Table) *Table) map[*Table]*Table {
	m := make(map[*Table]*Table, len(SourceTables))
	for _, t := range SourceTables {
		m[t] = f(t)
	}
	return m
}

// currentView is archtics.<t>: the current state of source table t.
func currentView(t *Table) *Table {
	return &Table{
		Schema: currentSchema, ViewSchema: t.Schema, Name: t.Name,
		Doc:       "Current state of " + t.Name + ": the latest live version of each key across the dump, the compacted base and the changes.",
		Columns:   t.Columns,
		Key:       t.Key,
		UpdatedAt: t.UpdatedAt,
		ViewSQL:   currentSQL(t, false),
		DependsOn: []string{t.SQLName(), Base(t).SQLName(), Changes(t).SQLName()},
	}
}

// historyView is archtics_history.<t>: every version of source table t.
func historyView(t *Table) *Table {
	ch := Changes(t)
	return &Table{
		Schema: HistorySchema, Name: t.Name,
		Doc:       "Every version of " + t.Name + " the clone has seen: the dump's (no _updated_at, _seen_at: they were seen at the dump's cutoff) and the changes', deletions included, whether compacted into the archive or not.",
		Columns:   append(append([]Column(nil), ch.Columns...), col("_source", String, "dump or changes")),
		Key:       t.Key,
		UpdatedAt: t.UpdatedAt,
		ViewSQL:   historySQL(t),
		DependsOn: []string{t.SQLName(), Archive(t).SQLName(), ch.SQLName()},
	}
}

// Changes returns archtics_changes.<t> of source table t.
func Changes(t *Table) *Table { return changeTables[t] }

// Current returns the view-only table archtics.<t> of source table t.
func Current(t *Table) *Table { return currentViews[t] }

// CurrentOf returns the source table whose current state v is, when v is
// one of the views archtics.<t> (Current).
func CurrentOf(v *Table) (*Table, bool) {
	for t, cur := range currentViews {
		if cur == v {
			return t, true
		}
	}
	return nil, false
}

// CurrentParts are the stored tables the current state of source table t
// is folded from: the dump's, the compacted base and the changes.
func CurrentParts(t *Table) []*Table { return []*Table{t, Base(t), Changes(t)} }

// History returns the view-only table archtics_history.<t>.
func History(t *Table) *Table { return historyViews[t] }

// changeTable is archtics_changes.<t>: every column of t (only the key
// required: a tombstone carries the key alone) and the change columns.
func changeTable(t *Table) *Table {
	return keyedCopy(t, ChangesSchema, "Versions of "+t.Name+" pulled by the incrementals since the dump, and tombstones of deleted keys.", changeMeta)
}

// keyedCopy is a clone table of the same rows as source table t: t's
// columns, only the key required (a tombstone carries the key alone), then
// meta; partitioned by team and owned by the clone stream.
func keyedCopy(t *Table, schema, doc string, meta []Column) *Table {
	ch := &Table{
		Schema: schema, Name: t.Name,
		Doc:         doc,
		Key:         t.Key,
		PartitionBy: []string{"team"},
		Owner:       CloneOwner,
		TimeColumns: []string{"_updated_at"},
		UpdatedAt:   t.UpdatedAt,
	}
	key := map[string]bool{}
	for _, k := range t.Key {
		key[k] = true
	}
	for _, c := range t.Columns {
		c.Nullable = !key[c.Name]
		ch.Columns = append(ch.Columns, c)
	}
	ch.Columns = append(ch.Columns, meta...)
	return ch
}

func quotedList(cols []Column, prefix string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = prefix + QuoteIdent(c.Name)
	}
	return strings.Join(parts, ", ")
}

func keyList(t *Table) string {
	parts := make([]string, len(t.Key))
	for i, k := range t.Key {
		parts[i] = QuoteIdent(k)
	}
	return strings.Join(parts, ", ")
}

// currentSQL is the current state of t: per key the greatest version by
// foldOrder (a change beats the dump, then the newest update instant, then
// the latest seen), dropped if it is a tombstone. meta keeps _rank,
// _updated_at and _seen_at.
func currentSQL(t *Table, meta bool) string {
	out := quotedList(t.Columns, "")
	if meta {
		out += ", _rank, _updated_at, _seen_at"
	}
	return fmt.Sprintf("SELECT %s FROM (%s) WHERE _op <> '%s'", out, currentWinnersSQL(t, ""), OpDelete)
}

// CurrentSQL is the SELECT of archtics.<t> with the version's _rank (0:
// from the dump), _updated_at and _seen_at added, for the incremental
// stage, which needs them to rewrite rows a merge moved. It reads the
// views of schemas.Current(t).DependsOn.
func CurrentSQL(t *Table) string { return currentSQL(t, true) }

// historySQL is every distinct version of t: a version the overlap served
// again (same key, content, operation and update instant) counts once,
// at the first time it was seen.
func historySQL(t *Table) string {
	return fmt.Sprintf(`SELECT %s, _op, _updated_at, _seen_at, _batch, CASE _rank WHEN 0 THEN 'dump' ELSE 'changes' END AS _source FROM (%s)`,
		quotedList(t.Columns, ""), distinctVersionsSQL(t, historyVersionsSQL(t, "")))
}
