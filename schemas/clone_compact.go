package schemas

import (
	"fmt"
	"strings"
)

// Compaction layers (issue 8, item 5). Hourly incrementals add change
// files for ever; a compaction (clone.Compact) folds them, in one commit
// on the team's clone stream, into two layers per source table <t>:
//
//	archtics_base.<t>     the winning version of every key at the last
//	                      compaction (tombstones included), with the _rank
//	                      and meta it won with: archtics.<t> reads it
//	                      instead of the dump and the folded changes
//	archtics_archive.<t>  every version the compactions folded (the dump's
//	                      included), once each: archtics_history.<t> reads
//	                      it instead of the retired dump and change files
//
// Why a base keeps its rows' _rank, _updated_at and _seen_at, and its
// tombstones: the current view picks per key the greatest version by
// foldOrder, and the greatest of a union is the greatest of the greatest
// of each part, so folding a set of versions into its per-key winners
// changes no answer, as long as the winner keeps what it is ranked by. A
// tombstone must stay too: a change pulled later can carry an older update
// instant than the deletion (an overlap re-pull, a late commit) and must
// still lose to it.
//
// Why an archive apart from the base: history keeps every version, while
// the current state needs only the winners; reading the winners from a
// layer of their own keeps a current-state query at the size of the
// state, not of the history.
const (
	BaseSchema    = "archtics_base"
	ArchiveSchema = "archtics_archive"
)

// foldOrder ranks the versions of one key, greatest first: a change beats
// the dump (whose rows carry no update instant), then the newest update
// instant, then the latest seen (the same version seen again after a merge
// moved its references), then the batch, so that a tie is broken the same
// way before and after a compaction.
const foldOrder = "_rank DESC, _updated_at DESC NULLS LAST, _seen_at DESC NULLS LAST, _batch DESC NULLS LAST"

// foldMeta are the columns base and archive rows carry besides the source
// table's: where the version came from and when it was seen.
var foldMeta = []Column{
	req(col("_rank", Int32, "0: the version came from the dump (it has no recorded update instant), 1: from a change pull")),
	req(str("_op", 10, "upsert, or delete for a tombstone")),
	col("_updated_at", TimestampTZ, "the version's update instant; NULL for a dump row"),
	col("_seen_at", TimestampTZ, "when the clone saw the version; NULL for a dump row (seen at the dump's cutoff)"),
	str("_batch", 200, "the incremental batch that pulled the version; NULL for a dump row"),
}

var (
	baseTables = perSource(func(t *Table) *Table {
		return foldTable(t, BaseSchema,
			"Current state of "+t.Name+" at the last compaction: the winning version of each key, tombstones included, with the rank and meta it won with.")
	})
	archiveTables = perSource(func(t *Table) *Table {
		return foldTable(t, ArchiveSchema,
			"Every version of "+t.Name+" the compactions folded (the dump's included), once each: the history the retired files held.")
	})
)

// foldTable is archtics_base.<t> or archtics_archive.<t>: every column of
// t (only the key required: a tombstone carries the key alone) and
// foldMeta, owned by the clone stream like the tables it folds.
func foldTable(t *Table, schema, doc string) *Table { return keyedCopy(t, schema, doc, foldMeta) }

// Base returns archtics_base.<t> of source table t.
func Base(t *Table) *Table { return baseTables[t] }

// Archive returns archtics_archive.<t> of source table t.
func Archive(t *Table) *Table { return archiveTables[t] }

// foldColumns lists t's columns and the fold meta, quoted, for SELECTs
// that produce base or archive rows.
func foldColumns(t *Table) string {
	return quotedList(t.Columns, "") + ", _rank, _op, _updated_at, _seen_at, _batch"
}

// teamFilter is a WHERE clause on the team partition ("" for every team).
func teamFilter(team string) string {
	if team == "" {
		return ""
	}
	return " WHERE team = " + QuoteString(team)
}

// currentWinnersSQL selects the winning version of every key of t (by
// foldOrder, tombstones included) over the dump, the base and the
// changes, restricted to team unless it is "".
//
// Only keys with a change since the last compaction are ranked: the dump
// and the base hold one version per key and never both for one team (a
// compaction folds the dump into the base and retires it in the same
// commit; load-dump refuses a team with live files unless it retires them
// all), so a key no change names has exactly one version, which wins. An
// anti-join on the changed keys passes those rows through at scan speed,
// and the window sorts the changed keys alone, so a query over a
// compacted clone costs a scan of the state, not a sort of it.
func currentWinnersSQL(t *Table, team string) string {
	cols := quotedList(t.Columns, "")
	f := teamFilter(team)
	keys := keyList(t)
	stable := fmt.Sprintf(`SELECT %s, 0 AS _rank, '%s' AS _op, CAST(NULL AS TIMESTAMPTZ) AS _updated_at, CAST(NULL AS TIMESTAMPTZ) AS _seen_at, CAST(NULL AS VARCHAR) AS _batch FROM %s%s
UNION ALL
SELECT %s FROM %s%s`, cols, OpUpsert, t.SQLName(), f, foldColumns(t), Base(t).SQLName(), f)
	changed := fmt.Sprintf("SELECT %s, 1 AS _rank, _op, _updated_at, _seen_at, _batch FROM %s%s", cols, Changes(t).SQLName(), f)
	changedKeys := fmt.Sprintf("SELECT DISTINCT %s FROM %s%s", keys, Changes(t).SQLName(), f)
	return fmt.Sprintf(`SELECT %[1]s FROM (%[2]s) AS stable ANTI JOIN (%[3]s) AS changed_keys USING (%[4]s)
UNION ALL
SELECT %[1]s FROM (SELECT %[1]s FROM (%[2]s) AS stable SEMI JOIN (%[3]s) AS changed_keys USING (%[4]s)
UNION ALL
%[5]s)
QUALIFY row_number() OVER (PARTITION BY %[4]s ORDER BY %[6]s) = 1`,
		foldColumns(t), stable, changedKeys, keys, changed, foldOrder)
}

// historyVersionsSQL selects every version the history of t is made of:
// the dump's and the changes' still live, and the archive's (folded from
// retired dump and change files), restricted to team unless "".
func historyVersionsSQL(t *Table, team string) string {
	cols := quotedList(t.Columns, "")
	f := teamFilter(team)
	return fmt.Sprintf(`SELECT %s, 0 AS _rank, '%s' AS _op, CAST(NULL AS TIMESTAMPTZ) AS _updated_at, CAST(NULL AS TIMESTAMPTZ) AS _seen_at, CAST(NULL AS VARCHAR) AS _batch FROM %s%s
UNION ALL
SELECT %s FROM %s%s
UNION ALL
SELECT %s, 1 AS _rank, _op, _updated_at, _seen_at, _batch FROM %s%s`,
		cols, OpUpsert, t.SQLName(), f,
		foldColumns(t), Archive(t).SQLName(), f,
		cols, Changes(t).SQLName(), f)
}

// distinctVersionsSQL keeps each distinct version of versions once: a
// version the overlap served again (same key, content, operation and
// update instant) counts once, at the first time it was seen.
func distinctVersionsSQL(t *Table, versions string) string {
	return fmt.Sprintf("SELECT * FROM (%s)\nQUALIFY row_number() OVER (PARTITION BY %s, _op, _updated_at ORDER BY _seen_at NULLS FIRST, _batch NULLS FIRST) = 1",
		versions, quotedList(t.Columns, ""))
}

// CompactBaseSQL is the SELECT of team's new archtics_base.<t> rows: the
// winner of every key over the dump, the base and the changes the views
// see, tombstones kept, in key order (large files sorted by key let
// DuckDB skip row groups on key filters).
func CompactBaseSQL(t *Table, team string) string {
	return fmt.Sprintf("SELECT %s FROM (%s) ORDER BY %s", foldColumns(t), currentWinnersSQL(t, team), keyList(t))
}

// CompactArchiveSQL is the SELECT of the archtics_archive.<t> rows a
// compaction of team adds: every distinct version of the live dump and
// change files it retires (the base's versions were archived when their
// files were folded), in key and then version order.
func CompactArchiveSQL(t *Table, team string) string {
	cols := quotedList(t.Columns, "")
	f := teamFilter(team)
	versions := fmt.Sprintf(`SELECT %s, 0 AS _rank, '%s' AS _op, CAST(NULL AS TIMESTAMPTZ) AS _updated_at, CAST(NULL AS TIMESTAMPTZ) AS _seen_at, CAST(NULL AS VARCHAR) AS _batch FROM %s%s
UNION ALL
SELECT %s, 1 AS _rank, _op, _updated_at, _seen_at, _batch FROM %s%s`,
		cols, OpUpsert, t.SQLName(), f, cols, Changes(t).SQLName(), f)
	return fmt.Sprintf("SELECT %s FROM (%s) ORDER BY %s, _rank, _updated_at NULLS FIRST, _seen_at NULLS FIRST, _op",
		foldColumns(t), distinctVersionsSQL(t, versions), keyList(t))
}

// CurrentDeletesSQL selects the rows of the current state's files of
// source table t that are not in its current state, as (team, _file,
// _pos): the local file (as given) and the row's position in it. dump,
// base and changes are the local paths of the live files of t, Base(t)
// and Changes(t), of one read of the log. It mirrors currentWinnersSQL:
// a key no change names keeps its stable row (dump or base) unless that
// row is a tombstone; of the versions of a key a change names, all but
// the greatest by foldOrder are out (ties, identical versions, broken by
// file and position), and the greatest too when it is a tombstone. Only
// the changed keys are ranked, so the cost follows the changes, not the
// table. An Iceberg table of those files with these rows as position
// deletes is archtics.<t>.
func CurrentDeletesSQL(t *Table, dump, base, changes []string) string {
	keys := keyList(t)
	const at = ", filename = true, file_row_number = true"
	var stable []string
	if len(dump) > 0 {
		stable = append(stable, fmt.Sprintf("SELECT %s, filename AS _file, file_row_number AS _pos, 0 AS _rank, '%s' AS _op, CAST(NULL AS TIMESTAMPTZ) AS _updated_at, CAST(NULL AS TIMESTAMPTZ) AS _seen_at, CAST(NULL AS VARCHAR) AS _batch FROM %s",
			keys, OpUpsert, t.readParquetCall(dump, at)))
	}
	if len(base) > 0 {
		stable = append(stable, fmt.Sprintf("SELECT %s, filename AS _file, file_row_number AS _pos, _rank, _op, _updated_at, _seen_at, _batch FROM %s",
			keys, Base(t).readParquetCall(base, at)))
	}
	const none = "SELECT CAST(NULL AS VARCHAR) AS team, CAST(NULL AS VARCHAR) AS _file, CAST(NULL AS BIGINT) AS _pos WHERE false"
	if len(changes) == 0 {
		if len(stable) == 0 {
			return none
		}
		return fmt.Sprintf("SELECT team, _file, CAST(_pos AS BIGINT) AS _pos FROM (%s) WHERE _op = '%s'", strings.Join(stable, "\nUNION ALL\n"), OpDelete)
	}
	changed := fmt.Sprintf("SELECT %s, filename AS _file, file_row_number AS _pos, 1 AS _rank, _op, _updated_at, _seen_at, _batch FROM %s",
		keys, Changes(t).readParquetCall(changes, at))
	if len(stable) == 0 {
		return fmt.Sprintf(`SELECT team, _file, CAST(_pos AS BIGINT) AS _pos FROM (%s)
QUALIFY row_number() OVER (PARTITION BY %s ORDER BY %s, _file, _pos) > 1 OR _op = '%s'`, changed, keys, foldOrder, OpDelete)
	}
	return fmt.Sprintf(`WITH stable AS (%[1]s), changed AS (%[2]s), changed_keys AS (SELECT DISTINCT %[3]s FROM changed)
SELECT team, _file, CAST(_pos AS BIGINT) AS _pos FROM (SELECT * FROM stable ANTI JOIN changed_keys USING (%[3]s)) WHERE _op = '%[5]s'
UNION ALL
SELECT team, _file, CAST(_pos AS BIGINT) AS _pos FROM (SELECT * FROM stable SEMI JOIN changed_keys USING (%[3]s) UNION ALL SELECT * FROM changed)
QUALIFY row_number() OVER (PARTITION BY %[3]s ORDER BY %[4]s, _file, _pos) > 1 OR _op = '%[5]s'`,
		strings.Join(stable, "\nUNION ALL\n"), changed, keys, foldOrder, OpDelete)
}
