package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"archtics/schemas"
	"archtics/storage/backend"
)

func TestShellStatements(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		stmts []string
		rest  string
	}{
		{"one line", "SELECT 1;\n", []string{"SELECT 1"}, "\n"},
		{"unfinished", "SELECT 1\nFROM t\n", nil, "SELECT 1\nFROM t\n"},
		{"two on a line", "SELECT 1; SELECT 2;", []string{"SELECT 1", "SELECT 2"}, ""},
		{"semicolon in a string", "SELECT ';' AS s;", []string{"SELECT ';' AS s"}, ""},
		{"doubled quote", "SELECT 'it''s;';", []string{"SELECT 'it''s;'"}, ""},
		{"quoted name", `SELECT 1 AS "a;b";`, []string{`SELECT 1 AS "a;b"`}, ""},
		{"line comment", "SELECT 1 -- not; the end\n;", []string{"SELECT 1 -- not; the end"}, ""},
		{"block comment", "SELECT /* ; */ 1;", []string{"SELECT /* ; */ 1"}, ""},
		{"open string", "SELECT 'a;", nil, "SELECT 'a;"},
		{"empty statements", ";;", nil, ""},
		{"comment-only statement", "-- x\n; SELECT 1;", []string{"SELECT 1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stmts, rest := shellStatements(tt.text)
			if fmt.Sprint(stmts) != fmt.Sprint(tt.stmts) || rest != tt.rest {
				t.Errorf("shellStatements(%q) = %q, %q; want %q, %q", tt.text, stmts, rest, tt.stmts, tt.rest)
			}
		})
	}
}

func TestBlank(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"", true},
		{"  \n", true},
		{"-- a comment; still\n", true},
		{"-- a comment", true},
		{"/* done */", true},
		{"/* still open", false},
		{"SELECT 1", false},
		{"SELECT 'open", false},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if got := blank(tt.text); got != tt.want {
				t.Errorf("blank(%q) = %v, want %v", tt.text, got, tt.want)
			}
		})
	}
}

func TestCompleteWord(t *testing.T) {
	names := []string{".schema", ".tables", "archtics", "archtics.event", "archtics_rtx", "archtics_rtx.attendance", "event", "event_id", "section_name"}
	tests := []struct {
		line       string
		pos        int
		head, tail string
		want       []string
	}{
		{"SELECT * FROM arch", 18, "SELECT * FROM ", "", []string{"archtics", "archtics.event", "archtics_rtx", "archtics_rtx.attendance"}},
		{"SELECT * FROM archtics_rtx.", 27, "SELECT * FROM ", "", []string{"archtics_rtx.attendance"}},
		{"SELECT SEC FROM x", 10, "SELECT ", " FROM x", []string{"section_name"}},
		{"SELECT ev", 9, "SELECT ", "", []string{"event", "event_id"}},
		{".sch", 4, "", "", []string{".schema"}},
		{"SELECT .t", 9, "SELECT ", "", nil}, // dot commands only start a line
		{"SELECT zz", 9, "SELECT ", "", nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s@%d", tt.line, tt.pos), func(t *testing.T) {
			head, got, tail := completeWord(names, tt.line, tt.pos)
			if head != tt.head || tail != tt.tail || fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("completeWord(%q, %d) = %q, %q, %q; want %q, %q, %q", tt.line, tt.pos, head, got, tail, tt.head, tt.want, tt.tail)
			}
		})
	}
}

// shellScript is the input that runs the seed's six queries verbatim in
// archtics sql, each after a marker statement that tells its result apart,
// then extra.
func shellScript(extra string) string {
	var sb strings.Builder
	sb.WriteString(".format csv\n.tables\n.schema archtics.attendance_realtime_v\n")
	for i, q := range seedQueries {
		fmt.Fprintf(&sb, "SELECT 'seed query %d' AS marker;\n%s\n", i+1, q)
	}
	sb.WriteString(extra)
	sb.WriteString(".quit\n")
	return sb.String()
}

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// shellAnswers cuts the shell's output into the answer of each seed query
// (its CSV rows without the header), leaving out the terminal's echo of the
// typed lines (those that carry a prompt).
func shellAnswers(t *testing.T, output string) []string {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(output, "\r\n", "\n"), "\n") {
		l = strings.TrimRight(ansiEscape.ReplaceAllString(l, ""), "\r")
		if strings.Contains(l, strings.TrimSpace(shellPrompt)) || strings.Contains(l, strings.TrimSpace(shellContinuing)) {
			continue
		}
		lines = append(lines, l)
	}
	answers := make([]string, len(seedQueries))
	found := 0
	for i := 0; i+1 < len(lines); i++ {
		var n int
		if lines[i] != "marker" || !strings.HasPrefix(lines[i+1], "seed query ") {
			continue
		}
		fmt.Sscanf(lines[i+1], "seed query %d", &n)
		var rows []string
		j := i + 3 // the marker's header and row, then the query's header
		for ; j < len(lines) && lines[j] != "marker" && lines[j] != ""; j++ {
			rows = append(rows, lines[j])
		}
		answers[n-1] = strings.Join(rows, "\n")
		found++
		i = j - 1
	}
	if found != len(seedQueries) {
		t.Fatalf("the shell answered %d of the %d seed queries; its output:\n%s", found, len(seedQueries), output)
	}
	return answers
}

// TestSQLShellProcess is not a test: TestSeedQueriesThroughShellAndExport
// runs the test binary as archtics on a pseudo-terminal through it.
func TestSQLShellProcess(t *testing.T) {
	args := os.Getenv("ARCHTICS_TEST_RUN_ARGS")
	if args == "" {
		t.Skip("runs only as the child process of TestSeedQueriesThroughShellAndExport")
	}
	os.Exit(run(context.Background(), strings.Split(args, "\x1f")))
}

// TestSeedQueriesThroughShellAndExport runs the seed's six queries
// verbatim on the game-day warehouse of TestSeedQueriesOnAGameDay through
// archtics sql on a pseudo-terminal (line editing on) and on a pipe, and
// through the DuckDB file catalog export writes, opened from a fresh
// connection; each answer is compared with the simulator's truth. It also
// checks the Redshift DDL lists exactly the live files.
func TestSeedQueriesThroughShellAndExport(t *testing.T) {
	ctx := context.Background()
	wh, cache, want := seedGameDay(t)
	dir := t.TempDir()

	t.Run("sql on a pseudo-terminal", func(t *testing.T) {
		history := filepath.Join(dir, "state", "sql_history")
		args := []string{"archtics", "-w", wh, "--log-level", "error", "sql", "--cache", cache, "--history", history}
		cmd := exec.Command(os.Args[0], "-test.run=^TestSQLShellProcess$")
		cmd.Env = append(os.Environ(), "ARCHTICS_TEST_RUN_ARGS="+strings.Join(args, "\x1f"), "TERM=xterm")
		term, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 200})
		if err != nil {
			t.Fatalf("start archtics sql on a pseudo-terminal: %v", err)
		}
		defer term.Close()
		var mu sync.Mutex
		var out bytes.Buffer
		prompted := make(chan struct{})
		readDone := make(chan error, 1)
		go func() {
			buf := make([]byte, 4096)
			once := sync.Once{}
			for {
				n, err := term.Read(buf)
				mu.Lock()
				out.Write(buf[:n])
				if strings.Contains(out.String(), shellPrompt) {
					once.Do(func() { close(prompted) })
				}
				mu.Unlock()
				if err != nil {
					readDone <- err
					return
				}
			}
		}()
		output := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
		// A guard against a hang, not a timing assertion: the shell's
		// answers are checked below whatever they take.
		guard := time.AfterFunc(5*time.Minute, func() { cmd.Process.Kill() })
		defer guard.Stop()
		select {
		case <-prompted:
		case err := <-readDone:
			t.Fatalf("archtics sql ended before its prompt (%v):\n%s", err, output())
		}
		// The line editor keeps the terminal raw from its start, so the
		// whole input can be typed at once; Enter is a carriage return.
		// The last statement is the fourth seed query again, its table
		// name typed in part and completed by Tab.
		completed := "SELECT 'completed' AS marker;\nSELECT COUNT(*) FROM archtics_rtx.dwa_archtics_realtime_att\t WHERE section_name = '308';\n"
		if _, err := io.WriteString(term, strings.ReplaceAll(shellScript(completed), "\n", "\r")); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("archtics sql: %v\n%s", err, output())
		}
		if err := <-readDone; err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, syscall.EIO) {
			t.Fatal(err)
		}
		got := shellAnswers(t, output())
		for i := range seedQueries {
			if got[i] != want[i] {
				t.Errorf("seed query %d answered %q in the shell, the truth says %q:\n%s", i+1, got[i], want[i], seedQueries[i])
			}
		}
		if !regexp.MustCompile(`(?m)^completed\r?\n[^\n]*realtime_att\x1b[^\n]*realtime_attendance_view[^\n]*\n` + `count_star\(\)\r?\n` + want[3] + `\r?$`).MatchString(output()) {
			t.Errorf("the statement completed by Tab did not answer %s:\n%s", want[3], output())
		}
		for _, shown := range []string{`(?m)^archtics\.attendance_realtime_v\r?$`, `section_name +VARCHAR`} {
			if !regexp.MustCompile(shown).MatchString(output()) {
				t.Errorf(".tables and .schema did not show %q:\n%s", shown, output())
			}
		}
		kept, err := os.ReadFile(history)
		if err != nil {
			t.Fatalf("the history was not kept: %v", err)
		}
		if !strings.Contains(string(kept), "WHERE section_name = '308';") {
			t.Errorf("the history %s lacks the typed lines:\n%s", history, kept)
		}
	})

	w, err := openWarehouseAt(ctx, wh, nil)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("sql on a pipe", func(t *testing.T) {
		var out, errOut bytes.Buffer
		sh := &shell{base: w, cache: cache, format: "table", out: &out, errOut: &errOut}
		if err := sh.open(ctx); err != nil {
			t.Fatal(err)
		}
		defer sh.close()
		if err := sh.run(ctx, &plainLines{r: bufio.NewReader(strings.NewReader(shellScript("")))}, false); err != nil {
			t.Fatalf("%v\n%s", err, errOut.String())
		}
		got := shellAnswers(t, out.String())
		for i := range seedQueries {
			if got[i] != want[i] {
				t.Errorf("seed query %d answered %q in the shell, the truth says %q", i+1, got[i], want[i])
			}
		}
		// A failing statement is reported, and the script's status says so.
		out.Reset()
		errOut.Reset()
		err := sh.run(ctx, &plainLines{r: bufio.NewReader(strings.NewReader("SELECT nope FROM archtics.event;\nSELECT 1;\n"))}, false)
		if err == nil || !strings.Contains(errOut.String(), "nope") || !strings.Contains(out.String(), "1") {
			t.Errorf("a bad statement: err %v, stderr %q, stdout %q; want a failure naming it and the next statement run", err, errOut.String(), out.String())
		}
	})

	t.Run("catalog export", func(t *testing.T) {
		file := filepath.Join(dir, "warehouse.duckdb")
		if code := run(ctx, []string{"archtics", "-w", wh, "--log-level", "error", "catalog", "export", "--cache", cache, "--out", file}); code != exitOK {
			t.Fatalf("catalog export: exit %d", code)
		}
		if _, err := os.Stat(file + ".wal"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s.wal exists (%v): the file is not checkpointed", file, err)
		}
		db, err := sql.Open("duckdb", file+"?access_mode=read_only")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for i, q := range seedQueries {
			var out bytes.Buffer
			if err := printQuery(ctx, &out, db, q, "csv"); err != nil {
				t.Fatalf("seed query %d in %s: %v", i+1, file, err)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if got := strings.Join(lines[1:], "\n"); got != want[i] {
				t.Errorf("seed query %d answered %q in %s, the truth says %q", i+1, got, file, want[i])
			}
		}
		rows, err := db.QueryContext(ctx, "SELECT schema_name, table_name, column_name, coalesce(comment, '') FROM duckdb_columns()")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		comments := map[string]string{}
		for rows.Next() {
			var s, tb, c, comment string
			if err := rows.Scan(&s, &tb, &c, &comment); err != nil {
				t.Fatal(err)
			}
			comments[s+"."+tb+"."+c] = comment
		}
		checked := 0
		for _, tb := range schemas.All {
			if len(tb.MacroParams) > 0 {
				continue
			}
			for _, c := range tb.Columns {
				got, ok := comments[tb.SQLName()+"."+c.Name]
				if !ok {
					t.Errorf("%s has no column %s in %s", tb.SQLName(), c.Name, file)
					continue
				}
				if got != oneLine(c.Doc) {
					t.Errorf("%s.%s: comment %q, the definition says %q", tb.SQLName(), c.Name, got, oneLine(c.Doc))
				}
				checked++
			}
		}
		var viewComment string
		if err := db.QueryRowContext(ctx, "SELECT coalesce(comment, '') FROM duckdb_views() WHERE schema_name = 'archtics' AND view_name = 'attendance_realtime_v'").Scan(&viewComment); err != nil {
			t.Fatal(err)
		}
		if tb, _ := schemas.Lookup("archtics.attendance_realtime_v"); tb == nil || viewComment != oneLine(tb.Doc) {
			t.Errorf("the view archtics.attendance_realtime_v: comment %q, want its definition's doc", viewComment)
		}
		if checked == 0 {
			t.Error("no column was checked")
		}
	})

	t.Run("catalog ddl redshift", func(t *testing.T) {
		manifests := filepath.Join(dir, "manifests")
		var out bytes.Buffer
		dest, err := backend.Open(ctx, manifests)
		if err != nil {
			t.Fatal(err)
		}
		if err := redshiftDDL(ctx, &out, w, dest, "spectrum"); err != nil {
			t.Fatal(err)
		}
		ddl := out.String()
		tables, st, err := w.StoredTables(ctx)
		if err != nil {
			t.Fatal(err)
		}
		locations := regexp.MustCompile(`LOCATION '([^']+\.manifest)'`).FindAllStringSubmatch(ddl, -1)
		listed := map[string][]string{} // table → files its manifests list
		for _, m := range locations {
			rel, err := filepath.Rel(manifests, m[1])
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(m[1])
			if err != nil {
				t.Fatalf("a LOCATION names a manifest that was not written: %v", err)
			}
			var mf spectrumManifest
			if err := json.Unmarshal(data, &mf); err != nil {
				t.Fatalf("manifest %s: %v", m[1], err)
			}
			table := strings.SplitN(filepath.ToSlash(rel), "/", 2)[0]
			for _, e := range mf.Entries {
				if !e.Mandatory || e.Meta.ContentLength <= 0 {
					t.Errorf("manifest %s: entry %+v needs mandatory and its content length", m[1], e)
				}
				listed[table] = append(listed[table], e.URL)
			}
		}
		withFiles := 0
		for _, tb := range tables {
			var live []string
			for _, f := range st.Files(tb.FullName()) {
				live = append(live, w.Store.URL()+"/"+f.Key)
			}
			got := listed[tb.FullName()]
			sort.Strings(live)
			sort.Strings(got)
			if fmt.Sprint(got) != fmt.Sprint(live) {
				t.Errorf("%s: the manifests list %d files, the committed state %d", tb.FullName(), len(got), len(live))
			}
			if !strings.Contains(ddl, fmt.Sprintf("CREATE EXTERNAL TABLE \"spectrum\".%q (", tb.SQLSchema()+"__"+tb.Name)) {
				t.Errorf("no CREATE EXTERNAL TABLE for %s", tb.SQLName())
			}
			if len(live) > 0 {
				withFiles++
			}
		}
		if withFiles == 0 {
			t.Fatal("no table has files: the check compared nothing")
		}
		if strings.Contains(ddl, "LOCATION '"+w.Store.URL()) {
			t.Error("a LOCATION is a prefix of the warehouse, which would read retired and orphan files")
		}
		// Rerun with nothing new: the same manifests, never overwritten.
		var again bytes.Buffer
		if err := redshiftDDL(ctx, &again, w, dest, "spectrum"); err != nil {
			t.Fatal(err)
		}
		if again.String() != ddl {
			t.Error("the DDL changed with no new commit")
		}
	})

	// catalog ddl --dialect athena|trino: TestCatalogIcebergCLI (catalog_iceberg_test.go).
}
