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

var (
	changeTables  = map[*Table]*Table{}
	currentViews  = map[*Table]*Table{}
	historyViews  = map[*Table]*Table{}
	cloneTableSet []*Table
)

func initClone() {
	for _, t := range SourceTables {
		ch := changeTable(t)
		changeTables[t] = ch
		currentViews[t] = &Table{
			Schema: currentSchema, ViewSchema: t.Schema, Name: t.Name,
			Doc:       "Current state of " + t.Name + ": the latest live version of each key across the dump and the changes.",
			Columns:   t.Columns,
			Key:       t.Key,
			UpdatedAt: t.UpdatedAt,
			ViewSQL:   currentSQL(t, ch, false),
			DependsOn: []string{t.SQLName(), ch.SQLName()},
		}
		historyViews[t] = &Table{
			Schema: HistorySchema, Name: t.Name,
			Doc:       "Every version of " + t.Name + " the clone has seen: the dump's (no _updated_at, _seen_at: they were seen at the dump's cutoff) and the changes', deletions included.",
			Columns:   append(append([]Column(nil), ch.Columns...), col("_source", String, "dump or changes")),
			Key:       t.Key,
			UpdatedAt: t.UpdatedAt,
			ViewSQL:   historySQL(t, ch),
			DependsOn: []string{t.SQLName(), ch.SQLName()},
		}
	}
	for _, t := range SourceTables {
		cloneTableSet = append(cloneTableSet, changeTables[t])
	}
	cloneTableSet = append(cloneTableSet, AcctMerge)
	for _, t := range SourceTables {
		cloneTableSet = append(cloneTableSet, currentViews[t], historyViews[t])
	}
}

// cloneTables lists the tables and views of the living clone (for All).
func cloneTables() []*Table {
	// All is a package variable, initialized before any init function.
	if cloneTableSet == nil {
		initClone()
	}
	return cloneTableSet
}

// Changes returns archtics_changes.<t> of source table t.
func Changes(t *Table) *Table { return changeTables[t] }

// Current returns the view-only table archtics.<t> of source table t.
func Current(t *Table) *Table { return currentViews[t] }

// History returns the view-only table archtics_history.<t>.
func History(t *Table) *Table { return historyViews[t] }

// changeTable is archtics_changes.<t>: every column of t (only the key
// required: a tombstone carries the key alone) and the change columns.
func changeTable(t *Table) *Table {
	ch := &Table{
		Schema: ChangesSchema, Name: t.Name,
		Doc:         "Versions of " + t.Name + " pulled by the incrementals since the dump, and tombstones of deleted keys.",
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
	ch.Columns = append(ch.Columns, changeMeta...)
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

// versionsSQL selects every version of t, the dump's ranked below the
// changes', with _rank, _op, _updated_at, _seen_at and _batch.
func versionsSQL(t, ch *Table) string {
	cols := quotedList(t.Columns, "")
	return fmt.Sprintf(`SELECT %s, 0 AS _rank, '%s' AS _op, CAST(NULL AS TIMESTAMPTZ) AS _updated_at, CAST(NULL AS TIMESTAMPTZ) AS _seen_at, CAST(NULL AS VARCHAR) AS _batch FROM %s
UNION ALL
SELECT %s, 1 AS _rank, _op, _updated_at, _seen_at, _batch FROM %s`,
		cols, OpUpsert, t.SQLName(), cols, ch.SQLName())
}

// currentSQL is the current state of t: per key the version of highest
// rank (a change beats the dump), then newest update instant, then latest
// seen (the same version seen again after a merge moved its references),
// dropped if it is a tombstone. meta keeps _updated_at and _seen_at.
func currentSQL(t, ch *Table, meta bool) string {
	out := quotedList(t.Columns, "")
	if meta {
		out += ", _rank, _updated_at, _seen_at"
	}
	return fmt.Sprintf(`SELECT %s FROM (SELECT * FROM (%s)
QUALIFY row_number() OVER (PARTITION BY %s ORDER BY _rank DESC, _updated_at DESC NULLS LAST, _seen_at DESC NULLS LAST) = 1) WHERE _op <> '%s'`,
		out, versionsSQL(t, ch), keyList(t), OpDelete)
}

// CurrentSQL is the SELECT of archtics.<t> with the version's _rank (0:
// from the dump), _updated_at and _seen_at added, for the incremental
// stage, which needs them to rewrite rows a merge moved.
func CurrentSQL(t *Table) string { return currentSQL(t, changeTables[t], true) }

// historySQL is every distinct version of t: a version the overlap served
// again (same key, content, operation and update instant) counts once,
// at the first time it was seen.
func historySQL(t, ch *Table) string {
	return fmt.Sprintf(`SELECT %s, _op, _updated_at, _seen_at, _batch, CASE _rank WHEN 0 THEN 'dump' ELSE 'changes' END AS _source FROM (%s)
QUALIFY row_number() OVER (PARTITION BY %s, _op, _updated_at ORDER BY _seen_at NULLS FIRST) = 1`,
		quotedList(t.Columns, ""), versionsSQL(t, ch), quotedList(t.Columns, ""))
}
