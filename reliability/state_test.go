package reliability

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strings"

	"archtics/pipeline/check"
	"archtics/pipeline/pipelinetest"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
)

// wallClock are columns that hold when a command ran (the wall clock, not
// the source's simulated one): two correct runs differ there, so rows are
// compared without them.
var wallClock = map[string]bool{
	"created": true, "updated": true, "first_matched": true, "last_changed": true,
	"changed_at": true, "set_at": true, "committed_at": true,
}

// currentTables are the current-state tables whose keys must be unique.
var currentTables = schemas.SourceTables

// state is what a warehouse has committed, as readers see it.
type state struct {
	rows    map[string]map[string]int // table -> row (JSON) -> how many times
	dupKeys map[string]int            // current-state table -> keys held by more than one row
	commits map[string]int            // "stream stage" -> commits
	verify  []string                  // verify's problems
}

// readState reads every table and view of the warehouse at wh through
// DuckDB, its commit log, and verifies it.
func readState(wh string) (*state, error) {
	ctx := context.Background()
	w, err := pipelinetest.Open(ctx, wh, nil)
	if err != nil {
		return nil, err
	}
	cache, err := os.MkdirTemp(scratch, "read-cache-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(cache)
	db, err := views.OpenDuckDB(ctx, "", w.Log, cache)
	if err != nil {
		return nil, fmt.Errorf("open the warehouse in DuckDB: %w", err)
	}
	defer db.Close()
	st := &state{rows: map[string]map[string]int{}, dupKeys: map[string]int{}, commits: map[string]int{}}

	tables, err := strings2(db, `SELECT table_schema, table_name FROM information_schema.tables
		WHERE table_schema NOT IN ('main', 'information_schema', 'pg_catalog') ORDER BY 1, 2`)
	if err != nil {
		return nil, err
	}
	for _, tn := range tables {
		cols, err := strings1(db, `SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?`, tn[0], tn[1])
		if err != nil {
			return nil, err
		}
		var skip []string
		for _, c := range cols {
			if wallClock[c] {
				skip = append(skip, schemas.QuoteIdent(c))
			}
		}
		name := schemas.QuoteIdent(tn[0]) + "." + schemas.QuoteIdent(tn[1])
		from := name
		if len(skip) > 0 {
			from = fmt.Sprintf("(SELECT * EXCLUDE (%s) FROM %s)", strings.Join(skip, ", "), name)
		}
		rows, err := strings1(db, fmt.Sprintf("SELECT CAST(to_json(x) AS VARCHAR) FROM %s x", from))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		m := map[string]int{}
		for _, r := range rows {
			m[r]++
		}
		st.rows[tn[0]+"."+tn[1]] = m
	}
	for _, t := range currentTables {
		keys := make([]string, len(t.Key))
		for i, k := range t.Key {
			keys[i] = schemas.QuoteIdent(k)
		}
		q := fmt.Sprintf("SELECT CAST(count(*) AS VARCHAR) FROM (SELECT %s FROM %s GROUP BY ALL HAVING count(*) > 1)", strings.Join(keys, ", "), t.SQLName())
		n, err := strings1(db, q)
		if err != nil {
			return nil, fmt.Errorf("duplicate keys of %s: %w", t.SQLName(), err)
		}
		if n[0] != "0" {
			var v int
			fmt.Sscan(n[0], &v)
			st.dupKeys[t.SQLName()] = v
		}
	}
	err = w.Commits(ctx, txlog.LogQuery{}, func(c *txlog.Commit) error {
		st.commits[c.Stream+" "+c.Stage]++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the log: %w", err)
	}
	rep, err := check.Verify(ctx, w.Log, nil)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	for _, p := range rep.Problems {
		st.verify = append(st.verify, fmt.Sprintf("%+v", p))
	}
	return st, nil
}

func strings1(db *sql.DB, q string, args ...any) ([]string, error) {
	rows, err := db.Query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s sql.NullString
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s.String)
	}
	return out, rows.Err()
}

func strings2(db *sql.DB, q string) ([][2]string, error) {
	rows, err := db.Query(q)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", q, err)
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			return nil, err
		}
		out = append(out, [2]string{a, b})
	}
	return out, rows.Err()
}

// outcome is how one warehouse compares with the uninterrupted run's.
type outcome struct {
	expected, found int // rows, over every table
	duplicates      int // rows beyond the expected count, plus keys held twice
	lost            int // expected rows missing
	problems        []string
}

func (o outcome) ok() bool { return len(o.problems) == 0 }

// settle judges a stage's runs under faults: the problems seen on the
// way, then, when one run finished (done), the warehouse at wh against
// the uninterrupted run's state; notDone says why none did.
func settle(o outcome, done bool, notDone, wh string, want *state) outcome {
	if !done {
		o.problems = append(o.problems, notDone)
		return o
	}
	st, err := readState(wh)
	if err != nil {
		o.problems = append(o.problems, "reading the warehouse: "+err.Error())
		return o
	}
	c := compare(want, st, false)
	c.problems = append(o.problems, c.problems...)
	return c
}

// compare says how got differs from want, table by table; commits
// compares the number of commits per stream and stage too (a batch
// committed twice, or a stage that committed nothing).
func compare(want, got *state, commits bool) outcome {
	var o outcome
	var names []string
	for n := range want.rows {
		names = append(names, n)
	}
	for n := range got.rows {
		if _, ok := want.rows[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		w, g := want.rows[n], got.rows[n]
		var lost, extra []string
		for r, c := range w {
			o.expected += c
			if d := c - g[r]; d > 0 {
				o.lost += d
				lost = append(lost, r)
			}
		}
		for r, c := range g {
			o.found += c
			if d := c - w[r]; d > 0 {
				o.duplicates += d
				extra = append(extra, r)
			}
		}
		if len(lost)+len(extra) > 0 {
			slices.Sort(lost)
			slices.Sort(extra)
			o.problems = append(o.problems, fmt.Sprintf("%s: %d rows missing (e.g. %s), %d rows too many (e.g. %s)",
				n, len(lost), first(lost), len(extra), first(extra)))
		}
	}
	for t, n := range got.dupKeys {
		o.duplicates += n
		o.problems = append(o.problems, fmt.Sprintf("%s: %d keys held by more than one row", t, n))
	}
	if len(got.verify) > 0 {
		o.problems = append(o.problems, "verify: "+strings.Join(got.verify, "; "))
	}
	if commits {
		for k, n := range want.commits {
			if got.commits[k] != n {
				o.problems = append(o.problems, fmt.Sprintf("commits of %s: %d, the uninterrupted run has %d", k, got.commits[k], n))
			}
		}
		for k, n := range got.commits {
			if _, ok := want.commits[k]; !ok {
				o.problems = append(o.problems, fmt.Sprintf("commits of %s: %d, the uninterrupted run has none", k, n))
			}
		}
	}
	return o
}

func first(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	if len(s[0]) > 300 {
		return s[0][:300] + "..."
	}
	return s[0]
}
