package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/peterh/liner"
	"github.com/urfave/cli/v2"

	"archtics/pipeline"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
)

func sqlCommand() *cli.Command {
	return &cli.Command{
		Name:  "sql",
		Usage: "an interactive SQL shell over the warehouse (DuckDB, the same views as query)",
		Description: `sql opens DuckDB with a view over every table of the warehouse (the same
views as archtics query, over the verified cache) and reads statements:
they may span lines and end with ';'. History is kept across sessions in
--history; Tab completes dot commands, schema, table and column names.

Dot commands (at the start of a line):
   .tables          list the schemas' tables and views
   .schema T        a table's columns, types and descriptions
   .as-of [T]       read the warehouse as of T (as --as-of), "now" for the head
   .format F        print results as table or csv
   .help            this list
   .quit            leave (as does Ctrl-D)

When standard input is not a terminal, statements are read from it without
prompts or history (archtics sql < queries.sql), and the exit status says
whether every statement succeeded.

Statements run with all of DuckDB, as in DuckDB's own shell (COPY ... TO,
ATTACH, INSTALL, any file), except writing inside a warehouse that is a local
folder. --read-only runs SELECT statements only, over the verified files
alone, with no network, no extension and settings locked (see archtics query
--help).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "cache", Usage: "local cache of committed files and their verify stamps (default: the user cache folder)", EnvVars: []string{"ARCHTICS_CACHE"}},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "output format: table or csv"},
			&cli.StringFlag{Name: "history", Usage: "history `FILE` (default: archtics/sql_history in the user's state folder)", EnvVars: []string{"ARCHTICS_SQL_HISTORY"}},
			&cli.BoolFlag{Name: "read-only", Usage: "run SELECT statements only, reading no file but the warehouse's verified ones (for SQL you did not write)"},
			asOfFlag(),
			offlineFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit("sql takes no arguments: type statements at its prompt, or pipe them in (archtics query runs one statement)", exitUsage)
			}
			if err := checkShellFormat(c.String("format")); err != nil {
				return cli.Exit("--format: "+err.Error(), exitUsage)
			}
			w, cache, err := openReader(c)
			if err != nil {
				return err
			}
			if c.String("as-of") != "" {
				if _, err := txlog.ParseAsOf(c.String("as-of")); err != nil {
					return cli.Exit("--as-of: "+err.Error(), exitUsage)
				}
			}
			sh := &shell{base: w, cache: cache, format: c.String("format"), asOf: c.String("as-of"), out: os.Stdout, errOut: os.Stderr,
				guard: views.Guard(w.Log, c.Bool("read-only"))}
			if err := sh.open(c.Context); err != nil {
				return err
			}
			defer sh.close()
			if !isTerminal(os.Stdin) {
				return sh.run(c.Context, &plainLines{r: bufio.NewReader(os.Stdin)}, false)
			}
			return sh.interactive(c.Context, c.String("history"))
		},
	}
}

func checkShellFormat(f string) error {
	if f != "table" && f != "csv" {
		return fmt.Errorf("%q: want table or csv", f)
	}
	return nil
}

// lineSource is where the shell's lines come from: the line editor on a
// terminal, standard input otherwise.
type lineSource interface {
	// Prompt shows prompt (if it can) and returns the next line without
	// its newline; io.EOF at the end of input.
	Prompt(prompt string) (string, error)
}

// plainLines reads lines from a non-terminal, without prompts.
type plainLines struct{ r *bufio.Reader }

func (p *plainLines) Prompt(string) (string, error) {
	line, err := p.r.ReadString('\n')
	if err == io.EOF && line != "" {
		err = nil
	}
	return strings.TrimRight(line, "\r\n"), err
}

// shell is one session of archtics sql: the views it queries and its
// settings.
type shell struct {
	base   *pipeline.Warehouse // the warehouse at its head
	cache  string
	format string // table or csv
	asOf   string // "" for the head, else as --as-of
	out    io.Writer
	errOut io.Writer
	db     *views.DuckDB
	failed int // statements and commands that failed
	// guard checks each statement (views.SQLGuard); with ReadOnly the
	// views' database is locked down when opened.
	guard views.SQLGuard
}

// open (re)opens the views at the shell's as-of point.
func (s *shell) open(ctx context.Context) error {
	w := s.base
	if s.asOf != "" {
		a, err := txlog.ParseAsOf(s.asOf)
		if err != nil {
			return fmt.Errorf("as-of %q: %w", s.asOf, err)
		}
		w = w.At(a)
	}
	db, err := views.OpenViews(ctx, w.Log, "", s.cache)
	if err != nil {
		return err
	}
	if s.guard.ReadOnly {
		if err := db.LockReadOnly(ctx); err != nil {
			db.Close()
			return err
		}
	}
	s.close()
	s.db = db
	if db.Commits == 0 {
		fmt.Fprintf(s.errOut, "note: nothing is committed in the warehouse %s yet, so every table is empty: load a dump first (archtics load-dump --dump DIR), or try archtics demo\n", s.base.Store.URL())
	}
	return nil
}

func (s *shell) close() {
	if s.db != nil {
		s.db.Close()
		s.db = nil
	}
}

const (
	shellPrompt     = "archtics> "
	shellContinuing = "     ...> "
)

// interactive runs the shell on the terminal with line editing,
// completion and the history file.
func (s *shell) interactive(ctx context.Context, historyPath string) error {
	if historyPath == "" {
		historyPath = defaultHistoryPath()
	}
	ed := liner.NewLiner()
	defer ed.Close()
	ed.SetCtrlCAborts(true)
	ed.SetTabCompletionStyle(liner.TabPrints)
	ed.SetWordCompleter(func(line string, pos int) (string, []string, string) {
		return completeWord(s.names(), line, pos)
	})
	if f, err := os.Open(historyPath); err == nil {
		ed.ReadHistory(f)
		f.Close()
	}
	fmt.Fprintln(s.out, `archtics sql: statements end with ';', .help lists the dot commands, Ctrl-D leaves.`)
	err := s.run(ctx, &editorLines{ed: ed}, true)
	if herr := writeHistory(ed, historyPath); herr != nil {
		fmt.Fprintf(s.errOut, "warning: %v\n", herr)
	}
	return err
}

// editorLines adapts the line editor: Ctrl-C drops the statement being
// typed (an empty line), and every line entered goes to the history.
type editorLines struct{ ed *liner.State }

func (e *editorLines) Prompt(prompt string) (string, error) {
	line, err := e.ed.Prompt(prompt)
	if errors.Is(err, liner.ErrPromptAborted) {
		return "", errAborted
	}
	if err == nil && strings.TrimSpace(line) != "" {
		e.ed.AppendHistory(line)
	}
	return line, err
}

var errAborted = errors.New("aborted")

func writeHistory(ed *liner.State, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("history not saved: %w (set --history to a writable file)", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("history not saved: %w (set --history to a writable file)", err)
	}
	if _, err := ed.WriteHistory(f); err != nil {
		f.Close()
		return fmt.Errorf("history not saved to %s: %w", path, err)
	}
	return f.Close()
}

// defaultHistoryPath is archtics/sql_history in the user's state folder
// ($XDG_STATE_HOME, else ~/.local/state; the config folder where there is
// no home).
func defaultHistoryPath() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "archtics", "sql_history")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "archtics", "sql_history")
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "archtics", "sql_history")
	}
	return filepath.Join(os.TempDir(), "archtics_sql_history")
}

// run reads lines from src until the end of input or .quit, running each
// statement as soon as its ';' arrives. A failing statement is reported
// and the session goes on; when not interactive, the error returned then
// counts the failures (so a script's exit status tells).
func (s *shell) run(ctx context.Context, src lineSource, interactive bool) error {
	var pending strings.Builder
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		prompt := shellPrompt
		if pending.Len() > 0 {
			prompt = shellContinuing
		}
		line, err := src.Prompt(prompt)
		if errors.Is(err, errAborted) {
			pending.Reset()
			continue
		}
		if err == io.EOF {
			if interactive {
				fmt.Fprintln(s.out)
			}
			break
		}
		if err != nil {
			return fmt.Errorf("sql: read input: %w", err)
		}
		if pending.Len() == 0 && strings.HasPrefix(strings.TrimSpace(line), ".") {
			quit, err := s.dot(ctx, strings.TrimSpace(line))
			if err != nil {
				s.failed++
				fmt.Fprintf(s.errOut, "Error: %v\n", err)
			}
			if quit {
				break
			}
			continue
		}
		pending.WriteString(line)
		pending.WriteString("\n")
		stmts, rest := shellStatements(pending.String())
		pending.Reset()
		pending.WriteString(rest)
		if blank(rest) {
			pending.Reset()
		}
		for _, st := range stmts {
			if err := s.exec(ctx, st); err != nil {
				s.failed++
				fmt.Fprintf(s.errOut, "Error: %v\n", err)
			}
		}
	}
	if rest := strings.TrimSpace(pending.String()); !blank(rest) {
		s.failed++
		fmt.Fprintf(s.errOut, "Error: the input ended inside a statement (no closing ';'): %.60s\n", rest)
	}
	if !interactive && s.failed > 0 {
		return cli.Exit(fmt.Sprintf("sql: %d statements or commands failed (see above)", s.failed), exitFailure)
	}
	return nil
}

// exec runs one statement, checked by the guard, and prints its result.
// A statement that pointed a setting into the warehouse is undone by
// reopening the views.
func (s *shell) exec(ctx context.Context, stmt string) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	checked, err := s.guard.CheckStatement(ctx, conn, stmt)
	if err != nil {
		return err
	}
	if err := s.query(ctx, conn, stmt); err != nil {
		return err
	}
	if err := checked.CheckSettings(ctx, conn); err != nil {
		conn.Close()
		if rerr := s.open(ctx); rerr != nil {
			return fmt.Errorf("%w; reopening the views: %v", err, rerr)
		}
		return fmt.Errorf("%w (undone: the session was reopened)", err)
	}
	return nil
}

func (s *shell) query(ctx context.Context, conn *sql.Conn, stmt string) error {
	rows, err := conn.QueryContext(ctx, stmt)
	if err != nil {
		return err
	}
	defer rows.Close()
	return printRows(s.out, s.errOut, rows, s.format)
}

// dot runs a dot command; quit says the session ends.
func (s *shell) dot(ctx context.Context, line string) (quit bool, err error) {
	fields := strings.Fields(strings.TrimSuffix(line, ";"))
	arg := strings.TrimSpace(strings.TrimPrefix(strings.TrimSuffix(line, ";"), fields[0]))
	switch fields[0] {
	case ".quit", ".exit", ".q":
		return true, nil
	case ".help":
		fmt.Fprint(s.out, shellHelp)
	case ".tables":
		for _, t := range s.sortedTables() {
			fmt.Fprintln(s.out, t.SQLName())
		}
	case ".schema":
		if arg == "" {
			return false, errors.New(".schema needs a table: .schema archtics.event (.tables lists them)")
		}
		t, err := s.table(arg)
		if err != nil {
			return false, err
		}
		s.printSchema(t)
	case ".as-of":
		switch arg {
		case "":
			if s.asOf == "" {
				fmt.Fprintln(s.out, "as of now (the head of every stream)")
			} else {
				fmt.Fprintf(s.out, "as of %s\n", s.asOf)
			}
			return false, nil
		case "now", "head", "off":
			arg = ""
		}
		before := s.asOf
		s.asOf = arg
		if err := s.open(ctx); err != nil {
			s.asOf = before
			return false, fmt.Errorf(".as-of %s: %w (still as of %q)", arg, err, before)
		}
	case ".format":
		if err := checkShellFormat(arg); err != nil {
			return false, fmt.Errorf(".format %w", err)
		}
		s.format = arg
	default:
		return false, fmt.Errorf("unknown command %s: .help lists them", fields[0])
	}
	return false, nil
}

const shellHelp = `.tables          list the tables and views
.schema T        a table's columns, types and descriptions
.as-of [T]       read the warehouse as of T: an RFC 3339 time or STREAM@SEQ; "now" for the head
.format F        print results as table or csv
.help            this list
.quit            leave (as does Ctrl-D)
Statements may span lines and end with ';'. Tab completes names.
`

func (s *shell) sortedTables() []*schemas.Table {
	ts := append([]*schemas.Table(nil), s.db.Tables...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].SQLName() < ts[j].SQLName() })
	return ts
}

// table finds a table by its SQL name, or by its bare name when only one
// schema has it.
func (s *shell) table(name string) (*schemas.Table, error) {
	var byName []*schemas.Table
	for _, t := range s.db.Tables {
		if strings.EqualFold(t.SQLName(), name) {
			return t, nil
		}
		if strings.EqualFold(t.Name, name) {
			byName = append(byName, t)
		}
	}
	switch len(byName) {
	case 1:
		return byName[0], nil
	case 0:
		return nil, fmt.Errorf("no table %s: .tables lists them", name)
	}
	names := make([]string, len(byName))
	for i, t := range byName {
		names[i] = t.SQLName()
	}
	return nil, fmt.Errorf("%s is in several schemas: name one of %s", name, strings.Join(names, ", "))
}

func (s *shell) printSchema(t *schemas.Table) {
	kind := "table"
	switch {
	case len(t.MacroParams) > 0:
		kind = "table macro (" + strings.Join(t.MacroParams, ", ") + ")"
	case t.ViewSQL != "":
		kind = "view"
	}
	fmt.Fprintf(s.out, "%s: %s\n", t.SQLName(), kind)
	if t.Doc != "" {
		fmt.Fprintf(s.out, "  %s\n", oneLine(t.Doc))
	}
	tw := tabwriter.NewWriter(s.out, 0, 0, 2, ' ', 0)
	for _, c := range t.Columns {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.Name, c.Type, oneLine(c.Doc))
	}
	tw.Flush()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// names are the words Tab completes: dot commands, schemas, tables
// (schema.table and bare) and columns.
func (s *shell) names() []string {
	seen := map[string]bool{}
	var out []string
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, d := range []string{".tables", ".schema", ".as-of", ".format", ".help", ".quit"} {
		add(d)
	}
	if s.db == nil {
		return out
	}
	for _, t := range s.db.Tables {
		add(t.SQLSchema())
		add(t.SQLName())
		add(t.Name)
		for _, c := range t.Columns {
			add(c.Name)
		}
	}
	sort.Strings(out)
	return out
}

// completeWord completes the word that ends at pos in line from names
// (case-insensitively), in liner's WordCompleter form: the text before
// the word, the candidates, the text after pos.
func completeWord(names []string, line string, pos int) (head string, completions []string, tail string) {
	r := []rune(line)
	if pos > len(r) {
		pos = len(r)
	}
	start := pos
	for start > 0 && isNameRune(r[start-1]) {
		start--
	}
	head, word, tail := string(r[:start]), strings.ToLower(string(r[start:pos])), string(r[pos:])
	dotCommand := strings.HasPrefix(word, ".") && strings.TrimSpace(head) == ""
	for _, n := range names {
		if strings.HasPrefix(n, ".") != dotCommand {
			continue
		}
		if strings.HasPrefix(strings.ToLower(n), word) {
			completions = append(completions, n)
		}
	}
	return head, completions, tail
}

func isNameRune(r rune) bool {
	return r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

// blank reports whether text holds nothing but spaces and complete
// comments, which need no ';' and wait for no more lines.
func blank(text string) bool {
	// A ';' on a line of its own ends text unless text is inside a
	// string or a comment that is still open.
	stmts, rest := shellStatements(text + "\n;")
	return len(stmts) == 0 && rest == ""
}

// shellStatements cuts typed text into the statements it completes (each
// ending at a ';' outside quotes and comments, without it; statements of
// nothing but comments are left out) and the rest, which is still being
// typed. The cutting is query's (splitSQL), so the shell and query agree.
func shellStatements(text string) (stmts []string, rest string) {
	all, terminated, tail := splitSQL(text)
	for _, st := range all[:terminated] {
		stmts = append(stmts, st.SQL)
	}
	return stmts, text[tail:]
}
