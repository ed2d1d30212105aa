//go:build interop

package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"archtics/schemas"
	"archtics/storage"
	"archtics/storage/backend"
)

// demoHours is the demo's hourly incrementals: enough for the game day's
// realtime ticks, and its last hour compacts every clone (a daily
// compaction), so retired files exist before the expiry retires more.
const demoHours = "12"

// TestInteropReaders runs the demo on a fresh warehouse, publishes it as
// Iceberg tables and reads every one with icebird, on a local folder and on
// S3, before and after a realtime expiry, and on a second warehouse whose
// change files are live (no compaction); and reads every view of the
// exported DuckDB file with DuckDB's Node client. Each must equal
// `archtics query` of the same name, as multisets of rows, every column.
func TestInteropReaders(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	wh := filepath.Join(dir, "warehouse")
	h.archtics(t, "", "demo", "--scale", "small", "--dir", dir, "--hours", demoHours)
	h.archtics(t, wh, "catalog", "iceberg")

	// Before the expiry the realtime tables hold the game day's scans.
	mustHaveRows := append(cloneTables(), "archtics_rtx.attendance_raw")
	t.Run("iceberg local", func(t *testing.T) {
		h.compareIceberg(t, wh, localIcebergTables(t, wh), func(name string) string {
			return "file://" + filepath.Join(wh, "iceberg", filepath.FromSlash(strings.Replace(name, ".", "/", 1)))
		}, mustHaveRows)
	})
	t.Run("duckdb export", func(t *testing.T) {
		out := filepath.Join(dir, "export.duckdb")
		h.archtics(t, wh, "catalog", "export", "--out", out, "--cache", filepath.Join(dir, "cache"))
		h.compareDuckDB(t, wh, out)
	})
	t.Run("iceberg s3", func(t *testing.T) {
		s3wh := copyToS3(t, wh)
		h.archtics(t, s3wh, "catalog", "iceberg")
		h.compareIceberg(t, s3wh, s3IcebergTables(t, s3wh), func(name string) string {
			return s3wh + "/iceberg/" + strings.Replace(name, ".", "/", 1)
		}, mustHaveRows)
	})
	t.Run("iceberg local with live changes", func(t *testing.T) {
		// The demo's last hour compacted every clone, so its current
		// state is the base alone. A demo with the large incremental
		// only leaves the dump and its change files live: the current
		// state's position deletes drop the dump's superseded rows.
		dir := t.TempDir()
		wh := filepath.Join(dir, "warehouse")
		h.archtics(t, "", "demo", "--scale", "small", "--dir", dir, "--hours", "0")
		h.archtics(t, wh, "catalog", "iceberg")
		deletes, err := filepath.Glob(filepath.Join(wh, "iceberg", "archtics", "*", "data", "delete-*.parquet"))
		if err != nil || len(deletes) == 0 {
			t.Fatalf("no position-delete file under iceberg/archtics/*/data (%v): the current state drops nothing, and the comparison proves nothing of it", err)
		}
		var must []string
		for _, src := range []*schemas.Table{schemas.Cust, schemas.Ticket, schemas.Attendance} {
			must = append(must, schemas.Current(src).SQLName(), schemas.Changes(src).SQLName(), src.SQLName())
		}
		h.compareIceberg(t, wh, localIcebergTables(t, wh), func(name string) string {
			return "file://" + filepath.Join(wh, "iceberg", filepath.FromSlash(strings.Replace(name, ".", "/", 1)))
		}, must)
	})
	t.Run("iceberg local after expiry", func(t *testing.T) {
		// Nine days after the last scanned event date, more than seven
		// after its last scan in any zone: the expiry retires the game
		// day's realtime files in an overwrite snapshot, whatever the
		// clock says (hence --max-future).
		q := h.archtics(t, wh, "query", "--format", "json",
			`SELECT strftime(max(event_date) + INTERVAL 9 DAY, '%Y-%m-%dT00:00:00Z') AS at FROM archtics_rtx.attendance_raw WHERE team = 'nhl'`)
		var at []struct{ At string }
		if err := json.Unmarshal([]byte(q), &at); err != nil || len(at) != 1 || at[0].At == "" {
			t.Fatalf("the last scanned event date: %v %s", err, q)
		}
		out := h.archtics(t, wh, "--max-future", "8760h", "realtime", "expire", "--team", "nhl", "--at", at[0].At)
		if !regexp.MustCompile(`retired [1-9][0-9]* scans`).MatchString(out) {
			t.Fatalf("realtime expire retired nothing, so no retired files are read: %s", out)
		}
		h.archtics(t, wh, "catalog", "iceberg")
		h.compareIceberg(t, wh, localIcebergTables(t, wh), func(name string) string {
			return "file://" + filepath.Join(wh, "iceberg", filepath.FromSlash(strings.Replace(name, ".", "/", 1)))
		}, cloneTables())
	})
}

// TestInteropWarehouse compares icebird's reading of an existing
// warehouse's Iceberg tables (ARCHTICS_INTEROP_WAREHOUSE, a folder or
// s3://bucket/prefix, already published) with archtics query, without the
// demo, for a quick rerun while changing the publisher; it requires no
// table to have rows.
func TestInteropWarehouse(t *testing.T) {
	wh := os.Getenv("ARCHTICS_INTEROP_WAREHOUSE")
	if wh == "" {
		t.Skip("ARCHTICS_INTEROP_WAREHOUSE is unset: TestInteropReaders builds its own warehouse")
	}
	h := newHarness(t)
	if strings.HasPrefix(wh, "s3://") {
		h.compareIceberg(t, wh, s3IcebergTables(t, wh), func(name string) string {
			return strings.TrimSuffix(wh, "/") + "/iceberg/" + strings.Replace(name, ".", "/", 1)
		}, nil)
		return
	}
	wh, err := filepath.Abs(wh)
	if err != nil {
		t.Fatal(err)
	}
	h.compareIceberg(t, wh, localIcebergTables(t, wh), func(name string) string {
		return "file://" + filepath.Join(wh, "iceberg", filepath.FromSlash(strings.Replace(name, ".", "/", 1)))
	}, nil)
}

// cloneTables are the tables a demo's warehouse must hold rows in: the
// current state of each source table and the compacted clone under it.
func cloneTables() []string {
	var names []string
	for _, src := range []*schemas.Table{schemas.Event, schemas.Cust, schemas.Ticket, schemas.Tex, schemas.Attendance} {
		names = append(names, schemas.Current(src).SQLName(), schemas.Base(src).SQLName())
	}
	return names
}

// expectedIcebergTables is every stored table by the name SQL gives it, and
// the current state of each source table (archtics.<t>).
func expectedIcebergTables() []string {
	seen := map[string]bool{}
	for _, t := range schemas.All {
		if t.ViewSQL == "" && len(t.MacroParams) == 0 {
			seen[t.SQLName()] = true
		}
	}
	for _, src := range []*schemas.Table{schemas.Event, schemas.Cust, schemas.Ticket, schemas.Tex, schemas.Attendance} {
		seen[schemas.Current(src).SQLName()] = true
	}
	return sortedKeys(seen)
}

type harness struct {
	root, bin, nodeBin string
	// caches holds one query cache per warehouse, never the user's.
	caches string
}

// newHarness finds node and the pinned npm packages and builds the
// binaries (or takes them from ARCHTICS_INTEROP_BIN, which make interop
// sets to bin/ after make build).
func newHarness(t *testing.T) *harness {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{root: root, caches: t.TempDir()}
	if h.nodeBin, err = exec.LookPath("node"); err != nil {
		t.Fatalf("node is not on PATH: install Node.js 20 or later to run the interop test")
	}
	for _, pkg := range []string{"icebird", "@duckdb/node-api"} {
		if _, err := os.Stat(filepath.Join(root, "interop", "node_modules", filepath.FromSlash(pkg), "package.json")); err != nil {
			t.Fatalf("npm package %s is not installed in interop/node_modules: run make interop (it runs npm ci in interop/)", pkg)
		}
	}
	if dir := os.Getenv("ARCHTICS_INTEROP_BIN"); dir != "" {
		h.bin = dir
	} else {
		h.bin = t.TempDir()
		for _, p := range []string{"archtics", "archtics-iceberg"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(h.bin, p), "./cmd/"+p)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build ./cmd/%s: %v\n%s", p, err, out)
			}
		}
	}
	for _, p := range []string{"archtics", "archtics-iceberg"} {
		if _, err := os.Stat(filepath.Join(h.bin, p)); err != nil {
			t.Fatalf("%s: %v (make build writes bin/archtics and bin/archtics-iceberg)", p, err)
		}
	}
	return h
}

// archtics runs the binary on warehouse wh (none when empty) and returns
// its stdout; it fails the test with stderr when the command fails.
func (h *harness) archtics(t *testing.T, wh string, args ...string) string {
	t.Helper()
	out, err := h.archticsErr(wh, nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (h *harness) archticsErr(wh string, stdin io.Reader, args ...string) (string, error) {
	if wh != "" {
		args = append([]string{"--warehouse", wh}, args...)
	}
	cmd := exec.Command(filepath.Join(h.bin, "archtics"), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.Stdin = &stdout, &stderr, stdin
	cmd.Env = append(os.Environ(), "ARCHTICS_CACHE="+filepath.Join(h.caches, regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(wh, "_")))
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("archtics %s: %v after %s\n%s", strings.Join(args, " "), err, time.Since(start).Round(time.Millisecond), tail(stderr.String(), 3000))
	}
	return stdout.String(), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// node runs read.mjs and gathers its lines per table.
func (h *harness) node(t *testing.T, args ...string) map[string]*result {
	t.Helper()
	cmd := exec.Command(h.nodeBin, append([]string{filepath.Join(h.root, "interop", "read.mjs")}, args...)...)
	cmd.Dir = filepath.Join(h.root, "interop")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	res := map[string]*result{}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var line struct {
			Table   string    `json:"table"`
			Columns []column  `json:"columns"`
			Row     []*string `json:"row"`
			Error   *string   `json:"error"`
			View    string    `json:"view"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("read.mjs printed %q: %v", tail(sc.Text(), 300), err)
		}
		if line.View != "" {
			res[line.View] = &result{}
			continue
		}
		r := res[line.Table]
		if r == nil {
			r = &result{}
			res[line.Table] = r
		}
		switch {
		case line.Error != nil:
			r.err = *line.Error
		case line.Columns != nil:
			r.cols = line.Columns
		default:
			r.rows = append(r.rows, line.Row)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("node read.mjs %s: %v\n%s", strings.Join(args[:1], " "), err, tail(stderr.String(), 3000))
	}
	return res
}

// sqlColumns is every column of every table and view `archtics query`
// knows, in order, by "schema.table".
func (h *harness) sqlColumns(t *testing.T, wh string) map[string][]column {
	t.Helper()
	out, err := h.archticsErr(wh, nil, "query", "--format", "json",
		`SELECT table_schema || '.' || table_name AS t, column_name AS c, data_type AS ty
		 FROM information_schema.columns ORDER BY table_schema, table_name, ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct{ T, C, Ty string }
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("archtics query --format json: %v", err)
	}
	cols := map[string][]column{}
	for _, r := range rows {
		cols[r.T] = append(cols[r.T], column{r.C, r.Ty})
	}
	return cols
}

// canonicalSQL selects a table's columns as read.mjs prints them, aliased
// c0, c1, ... so order survives JSON objects. Timestamps are cut to the
// reader's precision: icebird returns JavaScript Dates (hyparquet's
// default parsers, milliseconds), DuckDB's client microseconds.
func canonicalSQL(name string, cols []column, millis bool) string {
	frac := "%f"
	if millis {
		frac = "%g"
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		q := schemas.QuoteIdent(c.Name)
		switch c.Type {
		case "VARCHAR":
			b.WriteString(q)
		case "TIMESTAMP":
			fmt.Fprintf(&b, "strftime(%s, '%%Y-%%m-%%dT%%H:%%M:%%S.%s')", q, frac)
		case "TIMESTAMP WITH TIME ZONE":
			fmt.Fprintf(&b, "strftime(make_timestamp(epoch_us(%s)), '%%Y-%%m-%%dT%%H:%%M:%%S.%sZ')", q, frac)
		default:
			fmt.Fprintf(&b, "CAST(%s AS VARCHAR)", q)
		}
		fmt.Fprintf(&b, " AS c%d", i)
	}
	schema, table, _ := strings.Cut(name, ".")
	fmt.Fprintf(&b, " FROM %s.%s", schemas.QuoteIdent(schema), schemas.QuoteIdent(table))
	return b.String()
}

// queryTables reads each named table through `archtics query` in canonical
// form: all in one run, or one run per table when a statement fails, so
// the failing one is named.
func (h *harness) queryTables(t *testing.T, wh string, names []string, cols map[string][]column, millis bool) map[string]*result {
	t.Helper()
	res := map[string]*result{}
	var sql []string
	for _, n := range names {
		sql = append(sql, canonicalSQL(n, cols[n], millis)+";")
	}
	if out, err := h.archticsErr(wh, strings.NewReader(strings.Join(sql, "\n")), "query", "--format", "json", "-f", "-"); err == nil {
		if err := decodeQuery(out, names, cols, res); err == nil {
			return res
		}
	}
	for i, n := range names {
		out, err := h.archticsErr(wh, strings.NewReader(sql[i]), "query", "--format", "json", "-f", "-")
		if err == nil {
			err = decodeQuery(out, names[i:i+1], cols, res)
		}
		if err != nil {
			res[n] = &result{err: err.Error()}
		}
	}
	return res
}

func decodeQuery(out string, names []string, cols map[string][]column, res map[string]*result) error {
	dec := json.NewDecoder(strings.NewReader(out))
	for _, n := range names {
		var rows []map[string]*string
		if err := dec.Decode(&rows); err != nil {
			return fmt.Errorf("decode archtics query's JSON for %s: %w", n, err)
		}
		r := &result{cols: cols[n]}
		for _, m := range rows {
			row := make([]*string, len(cols[n]))
			for i := range row {
				row[i] = m["c"+strconv.Itoa(i)]
			}
			r.rows = append(r.rows, row)
		}
		res[n] = r
	}
	return nil
}

func localIcebergTables(t *testing.T, wh string) []string {
	t.Helper()
	var names []string
	root := filepath.Join(wh, "iceberg")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == "version-hint.text" {
			rel, _ := filepath.Rel(root, filepath.Dir(filepath.Dir(p)))
			names = append(names, strings.Replace(filepath.ToSlash(rel), "/", ".", 1))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list the Iceberg tables: %v", err)
	}
	sort.Strings(names)
	return names
}

func s3IcebergTables(t *testing.T, wh string) []string {
	t.Helper()
	ctx := context.Background()
	st, err := backend.Open(ctx, wh)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	err = st.List(ctx, "iceberg/", "", func(o storage.ObjectInfo) error {
		if rest, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, "iceberg/"), "/metadata/version-hint.text"); ok {
			names = append(names, strings.Replace(rest, "/", ".", 1))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list the Iceberg tables on %s: %v", wh, err)
	}
	sort.Strings(names)
	return names
}

// copyToS3 copies the local warehouse's log and data (not its Iceberg
// metadata, which names local files) under a fresh prefix of the test
// bucket, and returns its URL.
func copyToS3(t *testing.T, wh string) string {
	t.Helper()
	bucket := os.Getenv("ARCHTICS_TEST_BUCKET")
	if os.Getenv("AWS_ENDPOINT_URL") == "" || bucket == "" {
		t.Skip("AWS_ENDPOINT_URL and ARCHTICS_TEST_BUCKET are unset: start an endpoint with ./localstack/start (make interop does)")
	}
	ctx := context.Background()
	url := fmt.Sprintf("s3://%s/interop-%d", bucket, time.Now().UnixNano())
	src, err := backend.Open(ctx, wh)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := backend.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = src.List(ctx, "", "", func(o storage.ObjectInfo) error {
		if strings.HasPrefix(o.Key, "iceberg/") {
			return nil
		}
		r, _, err := src.Get(ctx, o.Key)
		if err != nil {
			return err
		}
		defer r.Close()
		n++
		_, err = dst.PutIfAbsent(ctx, o.Key, r, o.Size)
		return err
	})
	if err != nil {
		t.Fatalf("copy the warehouse to %s: %v", url, err)
	}
	t.Logf("copied %d objects of the warehouse to %s", n, url)
	return url
}

// compareIceberg reads every Iceberg table with icebird and compares it
// with archtics query of the same name.
func (h *harness) compareIceberg(t *testing.T, wh string, found []string, tableURL func(string) string, mustHaveRows []string) {
	t.Helper()
	want := expectedIcebergTables()
	if missing, extra := diffSets(want, found); len(missing)+len(extra) > 0 {
		t.Errorf("the Iceberg tables under %s/iceberg are not the stored tables plus the current state:\n  missing (stored, not published): %v\n  extra (published, not a stored table): %v", wh, missing, extra)
	}
	if out, err := h.archticsErr(wh, nil, "tables"); err == nil {
		for _, n := range want {
			if !regexp.MustCompile(`(^|\W)` + regexp.QuoteMeta(n) + `(\W|$)`).MatchString(out) {
				t.Errorf("archtics tables does not list %s", n)
			}
		}
	} else {
		t.Logf("archtics tables is not available (%v): the expected tables come from the schemas package", firstLine(err.Error()))
	}
	args := []string{"iceberg"}
	for _, n := range found {
		args = append(args, n+"="+tableURL(n))
	}
	got := h.node(t, args...)
	cols := h.sqlColumns(t, wh)
	var known []string
	for _, n := range found {
		if cols[n] != nil {
			known = append(known, n)
		}
	}
	wantRows := h.queryTables(t, wh, known, cols, true)
	h.report(t, "icebird", found, got, wantRows, cols, func(duck string) string { return icebergType(duck) }, mustHaveRows)
}

// compareDuckDB reads every view of the exported file with DuckDB's Node
// client and compares it with archtics query.
func (h *harness) compareDuckDB(t *testing.T, wh, file string) {
	t.Helper()
	views := sortedKeys(h.node(t, "duckdb-views", file))
	cols := h.sqlColumns(t, wh)
	if missing, extra := diffSets(sortedKeys(cols), views); len(missing)+len(extra) > 0 {
		t.Errorf("the exported DuckDB file's views are not what archtics query knows:\n  missing from the file: %v\n  only in the file: %v", missing, extra)
	}
	got := h.node(t, append([]string{"duckdb", file}, views...)...)
	var known []string
	for _, n := range views {
		if cols[n] != nil {
			known = append(known, n)
		}
	}
	want := h.queryTables(t, wh, known, cols, false)
	h.report(t, "duckdb-node", views, got, want, cols, func(duck string) string { return duck }, cloneTables())
}

// report compares each table and logs the row counts of all of them.
func (h *harness) report(t *testing.T, reader string, names []string, got, want map[string]*result, cols map[string][]column, readerType func(string) string, mustHaveRows []string) {
	t.Helper()
	var counts strings.Builder
	fmt.Fprintf(&counts, "%-50s %12s %12s  %s\n", "table", "query rows", reader+" rows", "")
	failed := 0
	for _, n := range names {
		g, w := got[n], want[n]
		status := "equal"
		problems := tableProblems(reader, g, w, cols[n] != nil, readerType)
		gn, wn := "-", "-"
		if g != nil && g.err == "" {
			gn = strconv.Itoa(len(g.rows))
		}
		if w != nil && w.err == "" {
			wn = strconv.Itoa(len(w.rows))
		}
		if len(problems) > 0 {
			failed++
			status = "DIFFERS"
			t.Errorf("%s: %s", n, strings.Join(problems, "\n  "))
		}
		fmt.Fprintf(&counts, "%-50s %12s %12s  %s\n", n, wn, gn, status)
	}
	for _, n := range mustHaveRows {
		if w := want[n]; w == nil || w.err != "" || len(w.rows) == 0 {
			t.Errorf("%s: archtics query has no rows in it: the demo's warehouse must, or the comparison proves nothing", n)
		}
	}
	t.Logf("%s: %d of %d tables differ\n%s", reader, failed, len(names), counts.String())
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
