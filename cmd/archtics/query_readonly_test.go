package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"archtics/pipeline/check"
	"archtics/pipeline/views"
)

// TestQueryReadOnlyRefusesHostile runs hostile statements with
// --read-only: each is refused with a message naming why, and none leaves
// a file anywhere (its target, the cache, the warehouse).
func TestQueryReadOnlyRefusesHostile(t *testing.T) {
	wh, w, cache := demoWarehouse(t)
	ctx := context.Background()
	out := t.TempDir()
	secret := filepath.Join(out, "secret.txt")
	if err := os.WriteFile(secret, []byte("not for the query\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	q := func(s string) string { return strings.ReplaceAll(s, "OUT", out) }
	// The statement check names the statement type; DuckDB's lock, which
	// binds some statements before the check sees them, names the file.
	const refusedType, refusedAccess = "statements may not run|disabled by configuration", "disabled by configuration"
	for _, tc := range []struct{ name, sql, want string }{
		{"COPY TO a file", q("COPY (SELECT * FROM archtics.cust) TO 'OUT/cust.csv'"), refusedType},
		{"COPY TO into the cache", "COPY (SELECT 1) TO '" + filepath.Join(cache, "x.csv") + "'", refusedType},
		{"ATTACH", q("ATTACH 'OUT/other.duckdb' AS other"), refusedType},
		{"read_text of a file outside the cache", "SELECT * FROM read_text('" + secret + "')", refusedAccess},
		{"read_csv of /etc/passwd", "SELECT * FROM read_csv('/etc/passwd')", refusedAccess},
		{"glob", "SELECT * FROM glob('/etc/*')", refusedAccess},
		{"a warehouse file read directly", "SELECT count(*) FROM read_parquet('" + filepath.Join(wh, "**", "*.parquet") + "')", refusedAccess},
		{"INSTALL", "INSTALL httpfs", refusedType},
		{"LOAD", "LOAD httpfs", refusedType},
		{"SET external access back on", "SET enable_external_access = true", refusedType},
		{"SET a file to write to", q("SET profiling_output = 'OUT/profile.json'"), refusedType},
		{"PRAGMA", "PRAGMA enable_profiling", refusedType},
		{"CREATE TABLE AS", "CREATE TABLE kept AS SELECT * FROM archtics.cust", refusedType},
		{"EXPORT DATABASE", q("EXPORT DATABASE 'OUT/export'"), refusedType},
		{"a view that reads outside", "CREATE VIEW v AS SELECT * FROM read_text('" + secret + "')", refusedType},
		{"a CTE that reads outside", "WITH v AS (SELECT * FROM read_text('" + secret + "')) SELECT * FROM v", refusedAccess},
		{"a subquery that reads outside", "SELECT (SELECT content FROM read_text('" + secret + "')) AS c FROM archtics.event", refusedAccess},
		{"after a harmless statement", q("SELECT 1; COPY (SELECT 1) TO 'OUT/second.csv'"), refusedType},
		{"CALL", "CALL enable_logging(storage = 'file', storage_path = '" + out + "/log')", refusedType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := filesUnder(t, cache)
			whBefore := filesUnder(t, wh)
			var stdout, stderr bytes.Buffer
			err := runQueryOptions(ctx, &stdout, &stderr, w, queryOptions{Cache: cache, Format: "csv", ReadOnly: true}, tc.sql)
			if err == nil {
				t.Fatalf("ran with --read-only: %s\n%s", tc.sql, stdout.String())
			}
			t.Log(err)
			if !slices.ContainsFunc(strings.Split(tc.want, "|"), func(w string) bool { return strings.Contains(err.Error(), w) }) {
				t.Errorf("refused with %q, want a message with %q", err, tc.want)
			}
			var exit cli.ExitCoder
			if !errors.As(queryExit(err), &exit) || exit.ExitCode() != exitUsage {
				t.Errorf("exit code: %v, want %d (fix the SQL)", queryExit(err), exitUsage)
			}
			if strings.Contains(stdout.String(), "not for the query") {
				t.Errorf("the secret file reached the output: %s", stdout.String())
			}
			if left := filesUnder(t, out); !slices.Equal(left, []string{"secret.txt"}) {
				t.Errorf("files left in the target folder: %v", left)
			}
			if after := filesUnder(t, cache); !slices.Equal(after, before) {
				t.Errorf("the cache changed: %v, was %v", after, before)
			}
			if after := filesUnder(t, wh); !slices.Equal(after, whBefore) {
				t.Errorf("the warehouse changed: %v, was %v", after, whBefore)
			}
		})
	}
}

// TestQueryReadOnlyRunsQueries: the README's queries, the seed's example
// queries and the formats still work with --read-only, and answer what
// they answer without it.
func TestQueryReadOnlyRunsQueries(t *testing.T) {
	_, w, cache := demoWarehouse(t)
	ctx := context.Background()
	queries := []string{
		"SELECT team, count(*) FROM archtics.cust GROUP BY team ORDER BY team",
		"SELECT * FROM archtics.ticket WHERE team = 'nhl' ORDER BY ALL LIMIT 20",
		"SELECT * FROM crm.mapping_history ORDER BY ALL",
		"SHOW TABLES",
		"DESCRIBE archtics.event",
		"SUMMARIZE archtics.event",
		"FROM archtics.event SELECT count(*)",
		"SELECT team, setting, version, value FROM korebi.birulesettings ORDER BY team",
	}
	queries = append(queries, seedQueries...)
	for i, sql := range queries {
		var full, ro, stderr bytes.Buffer
		if err := runQueryOptions(ctx, &full, &stderr, w, queryOptions{Cache: cache, Format: "csv"}, sql); err != nil {
			t.Fatalf("query %d without --read-only: %v\n%s", i+1, err, sql)
		}
		if err := runQueryOptions(ctx, &ro, &stderr, w, queryOptions{Cache: cache, Format: "csv", ReadOnly: true}, sql); err != nil {
			t.Errorf("query %d with --read-only: %v\n%s", i+1, err, sql)
			continue
		}
		// SUMMARIZE's quantiles and distinct counts are approximate.
		if ro.Len() == 0 || !strings.HasPrefix(sql, "SUMMARIZE") && ro.String() != full.String() {
			t.Errorf("query %d answered %.200q with --read-only, %.200q without\n%s", i+1, ro.String(), full.String(), sql)
		}
	}
	t.Run("parquet", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "cust.parquet")
		var stdout, stderr bytes.Buffer
		opts := queryOptions{Cache: cache, Format: "parquet", Out: out, ReadOnly: true}
		if err := runQueryOptions(ctx, &stdout, &stderr, w, opts, "SELECT * FROM archtics.cust"); err != nil {
			t.Fatalf("--format parquet --read-only: %v", err)
		}
		var n, want bytes.Buffer
		if err := runQueryOptions(ctx, &n, &stderr, w, queryOptions{Cache: cache, Format: "csv"}, "SELECT count(*) FROM read_parquet('"+out+"')"); err != nil {
			t.Fatal(err)
		}
		if err := runQueryOptions(ctx, &want, &stderr, w, queryOptions{Cache: cache, Format: "csv"}, "SELECT count(*) FROM archtics.cust"); err != nil {
			t.Fatal(err)
		}
		if n.String() != want.String() {
			t.Errorf("the parquet file holds %q rows, archtics.cust %q", n.String(), want.String())
		}
	})
}

// TestQueryNeverWritesIntoTheWarehouse: even with all of DuckDB, a
// statement whose output would land inside a local warehouse (by an
// absolute or relative path, through '..' or a symlink, by a setting) is
// refused, nothing appears there, and verify stays clean; the same
// statements aimed elsewhere run.
func TestQueryNeverWritesIntoTheWarehouse(t *testing.T) {
	wh, w, cache := demoWarehouse(t)
	ctx := context.Background()
	elsewhere := t.TempDir()
	link := filepath.Join(elsewhere, "link")
	if err := os.Symlink(filepath.Join(wh, "archtics"), link); err != nil {
		t.Fatal(err)
	}
	// A folder outside whose '..' leads, through a symlink, back in.
	if err := os.Symlink(filepath.Join(wh, "archtics", "cust"), filepath.Join(elsewhere, "deep")); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(mustGetwd(t), filepath.Join(wh, "archtics"))
	if err != nil {
		t.Fatal(err)
	}
	whBefore := filesUnder(t, wh)
	for _, tc := range []struct{ name, sql string }{
		{"COPY to an absolute path", "COPY (SELECT 1 AS x) TO '" + filepath.Join(wh, "archtics", "orphan.parquet") + "' (FORMAT parquet)"},
		{"COPY to a relative path", "COPY (SELECT 1 AS x) TO '" + filepath.Join(rel, "orphan.csv") + "'"},
		{"COPY through ..", "COPY (SELECT 1 AS x) TO '" + elsewhere + "/../" + filepath.Base(elsewhere) + "/link/orphan.csv'"},
		{"COPY through a symlink", "COPY (SELECT 1 AS x) TO '" + filepath.Join(link, "orphan.csv") + "'"},
		{"COPY through a symlink then ..", "COPY (SELECT 1 AS x) TO '" + filepath.Join(elsewhere, "deep") + "/../orphan.csv'"},
		{"COPY to the root itself, partitioned", "COPY (SELECT 1 AS x, 'nhl' AS team) TO '" + wh + "' (FORMAT parquet, PARTITION_BY (team), OVERWRITE_OR_IGNORE)"},
		{"COPY to a quoted name", "COPY (SELECT 1 AS x) TO \"" + filepath.Join(wh, "orphan.csv") + "\""},
		{"COPY with a file: prefix", "COPY (SELECT 1 AS x) TO 'file://" + filepath.Join(wh, "orphan.csv") + "'"},
		{"EXPORT DATABASE", "EXPORT DATABASE '" + filepath.Join(wh, "export") + "'"},
		{"ATTACH a new database file", "ATTACH '" + filepath.Join(wh, "new.duckdb") + "' AS other"},
		{"temp_directory", "SET temp_directory = '" + filepath.Join(wh, "tmp") + "'"},
		{"temp_directory by PRAGMA", "PRAGMA temp_directory = '" + filepath.Join(wh, "tmp") + "'"},
		{"temp_directory by RESET and SET", "RESET temp_directory; SET temp_directory = '" + filepath.Join(wh, "tmp") + "'"},
		{"profiling_output", "SET profiling_output = '" + filepath.Join(link, "profile.json") + "'"},
		{"CALL enable_logging to a file", "CALL enable_logging(storage = 'file', storage_path = '" + filepath.Join(wh, "log") + "')"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			// A second statement that would spill or profile, had the
			// setting stayed.
			err := runQueryOptions(ctx, &stdout, &stderr, w, queryOptions{Cache: cache, Format: "csv"}, tc.sql+";\nSELECT count(*) FROM archtics.cust")
			if !errors.Is(err, views.ErrRefusedStatement) {
				t.Fatalf("%s: %v, want a refusal", tc.sql, err)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), "inside the warehouse") {
				t.Errorf("refused with %q, want it to say the target is inside the warehouse", err)
			}
			if after := filesUnder(t, wh); !slices.Equal(after, whBefore) {
				t.Errorf("the warehouse changed: %v", slices.DeleteFunc(after, func(f string) bool { return slices.Contains(whBefore, f) }))
			}
		})
	}
	t.Run("verify stays clean", func(t *testing.T) {
		rep, err := check.VerifyWith(ctx, w.Log, check.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			t.Errorf("verify: %+v", rep.Problems)
		}
	})
	t.Run("the same statements elsewhere run", func(t *testing.T) {
		dir := t.TempDir()
		script := strings.ReplaceAll(`COPY (SELECT * FROM archtics.cust) TO 'DIR/cust.csv';
ATTACH 'DIR/other.duckdb' AS other;
CREATE TABLE other.kept AS SELECT acct_id FROM archtics.cust;
DETACH other;
SET temp_directory = 'DIR/tmp';
SET threads = 1;
CREATE TEMP TABLE t AS SELECT 1 AS x;
BEGIN;
INSERT INTO t VALUES (2);
COMMIT;
PREPARE p AS SELECT count(*) FROM t WHERE x > ?;
EXECUTE p(0);
EXPORT DATABASE 'DIR/export';
SELECT count(*) FROM t`, "DIR", dir)
		var stdout, stderr bytes.Buffer
		if err := runQueryOptions(ctx, &stdout, &stderr, w, queryOptions{Cache: cache, Format: "csv"}, script); err != nil {
			t.Fatalf("%v\n%s", err, stderr.String())
		}
		for _, f := range []string{"cust.csv", "other.duckdb", "export"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("%s outside the warehouse: %v", f, err)
			}
		}
		if !strings.HasSuffix(stdout.String(), "count_star()\n2\n") {
			t.Errorf("the script printed %q, want the temporary table's 2 rows last", stdout.String())
		}
	})
	t.Run("--out inside the warehouse", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		err := runQueryOptions(ctx, &stdout, &stderr, w, queryOptions{Cache: cache, Format: "parquet", Out: filepath.Join(link, "x.parquet")}, "SELECT 1")
		if err == nil || !strings.Contains(err.Error(), "inside the warehouse") {
			t.Errorf("--out inside the warehouse: %v, want a refusal", err)
		}
	})
	t.Run("catalog export --out inside the warehouse", func(t *testing.T) {
		out := filepath.Join(link, "catalog.duckdb")
		if code := run(ctx, []string{"archtics", "-w", wh, "catalog", "export", "--cache", cache, "--out", out}); code != exitUsage {
			t.Errorf("catalog export --out %s: exit %d, want %d", out, code, exitUsage)
		}
		if after := filesUnder(t, wh); !slices.Equal(after, whBefore) {
			t.Errorf("the warehouse changed: %v", slices.DeleteFunc(after, func(f string) bool { return slices.Contains(whBefore, f) }))
		}
	})
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

// TestShellReadOnly: archtics sql --read-only refuses what query
// --read-only refuses, goes on after a refusal, and answers the rest.
func TestShellReadOnly(t *testing.T) {
	_, w, cache := demoWarehouse(t)
	ctx := context.Background()
	out := t.TempDir()
	var want, stdout, stderr bytes.Buffer
	if err := runQueryOptions(ctx, &want, &stderr, w, queryOptions{Cache: cache, Format: "csv"}, "SELECT count(*) AS n FROM archtics.event"); err != nil {
		t.Fatal(err)
	}
	sh := &shell{base: w, cache: cache, format: "csv", out: &stdout, errOut: &stderr, guard: views.Guard(w.Log, true)}
	if err := sh.open(ctx); err != nil {
		t.Fatal(err)
	}
	defer sh.close()
	input := "COPY (SELECT 1) TO '" + out + "/x.csv';\nSELECT count(*) AS n FROM archtics.event;\nSELECT * FROM read_text('/etc/passwd');\nSET enable_external_access = true;\n"
	err := sh.run(ctx, &plainLines{r: bufio.NewReader(strings.NewReader(input))}, false)
	if err == nil || sh.failed != 3 {
		t.Errorf("the shell: %v, %d failed; want the three hostile statements failed\n%s", err, sh.failed, stderr.String())
	}
	if stdout.String() != want.String() {
		t.Errorf("the shell printed %q, want %q", stdout.String(), want.String())
	}
	if left := filesUnder(t, out); len(left) > 0 {
		t.Errorf("the shell wrote %v", left)
	}
}
