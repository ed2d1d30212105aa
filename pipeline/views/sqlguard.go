package views

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"archtics/pipeline/txlog"
	"archtics/schemas"
)

// SQL THE PRODUCT RUNS FOR SOMEONE
//
// archtics query and archtics sql are full DuckDB, like DuckDB's own
// shell: the person at the terminal may COPY anywhere, ATTACH, INSTALL,
// read any file. Two things are still guarded:
//
//   - Always, for a warehouse in a local folder: no statement may write
//     inside it. A file there that no commit names is an orphan (verify
//     reports it, vacuum may delete it). Before a statement that can
//     write a file (COPY, EXPORT, ATTACH, SET, PRAGMA, CALL, LOAD, ...)
//     every path it spells (string literals and quoted names, resolved
//     from the working folder through symlinks and '..') must lie
//     outside the warehouse, and such a statement is refused outright
//     when the working folder is inside it (a bare name is a path there);
//     after it, every setting naming a folder or file DuckDB writes to
//     (temp_directory, profiling_output, ...) must too.
//   - With ReadOnly (--read-only, and wherever the product runs SQL it did
//     not write): only SELECT statements run (SHOW, DESCRIBE, SUMMARIZE
//     and FROM-first queries are SELECTs to DuckDB), and the database is
//     locked down first (LockReadOnly): external access off except the
//     verified files the views read, no extension loading, configuration
//     locked. The statement check gives a clear message; the lock is the
//     wall, and holds even for a statement the check misjudged.

// ErrRefusedStatement is wrapped by the guard's refusals.
var ErrRefusedStatement = errors.New("statement refused")

// SQLGuard says what statements over a warehouse's views may do.
type SQLGuard struct {
	// ReadOnly allows SELECT statements only (see LockReadOnly).
	ReadOnly bool
	// Root is the warehouse's folder (resolved through symlinks), "" for
	// a warehouse on S3: no statement may write below it.
	Root string
}

// Guard is the SQLGuard for statements over w's views.
func Guard(w *txlog.Log, readOnly bool) SQLGuard {
	g := SQLGuard{ReadOnly: readOnly}
	if root := localRoot(w); root != "" {
		if abs, err := filepath.Abs(root); err == nil {
			g.Root = resolvePath(abs)
		}
	}
	return g
}

// pathSettings are DuckDB's settings that name a file or folder it writes
// to (or, for home_directory, that '~' in a path expands to).
var pathSettings = []string{"temp_directory", "profiling_output", "profile_output", "log_query_path", "secret_directory",
	"extension_directory", "extension_directories", "home_directory", "http_logging_output"}

// Checked is a statement CheckStatement allowed to run.
type Checked struct {
	guard SQLGuard
	typ   duckdb.StmtType
}

// CheckSettings is the guard's CheckSettings, after the statement ran. A
// SELECT changes no setting, so for one it queries nothing.
func (c Checked) CheckSettings(ctx context.Context, conn *sql.Conn) error {
	if c.typ == duckdb.STATEMENT_TYPE_SELECT {
		return nil
	}
	return c.guard.CheckSettings(ctx, conn)
}

// CheckStatement checks one statement before conn runs it, and returns an
// error wrapping ErrRefusedStatement that says why it may not run. It
// prepares the statement to learn its type, which runs nothing (a text
// holding several statements is refused: run them one at a time). After
// the statement ran, call the result's CheckSettings.
func (g SQLGuard) CheckStatement(ctx context.Context, conn *sql.Conn, text string) (Checked, error) {
	typ, err := statementType(conn, text)
	if err != nil {
		return Checked{}, err
	}
	ok := Checked{guard: g, typ: typ}
	if err := g.checkType(typ, text); err != nil {
		return Checked{}, err
	}
	return ok, nil
}

// checkType is CheckStatement once the statement's type is known.
func (g SQLGuard) checkType(typ duckdb.StmtType, text string) error {
	if g.ReadOnly {
		if typ != duckdb.STATEMENT_TYPE_SELECT {
			return fmt.Errorf("%w: read-only: %s statements may not run, only SELECT (and SHOW, DESCRIBE, SUMMARIZE): nothing is written, attached, installed or set",
				ErrRefusedStatement, statementTypeName(typ))
		}
		return nil
	}
	if g.Root == "" || typ == duckdb.STATEMENT_TYPE_SELECT {
		return nil
	}
	switch typ {
	case duckdb.STATEMENT_TYPE_COPY, duckdb.STATEMENT_TYPE_EXPORT, duckdb.STATEMENT_TYPE_ATTACH:
		if wd, err := os.Getwd(); err == nil && within(g.Root, resolvePath(wd)) {
			return fmt.Errorf("%w: %s writes files, and the working folder %s is inside the warehouse %s, where a file no commit names is an orphan: run archtics from another folder",
				ErrRefusedStatement, statementTypeName(typ), wd, g.Root)
		}
	}
	for _, p := range spelledPaths(text) {
		if g.inside(p) {
			return fmt.Errorf("%w: %s names %q, inside the warehouse %s: a file written there that no commit names is an orphan (verify reports it, vacuum deletes it); write it elsewhere",
				ErrRefusedStatement, statementTypeName(typ), p, g.Root)
		}
	}
	return nil
}

// CheckSettings checks, after a statement ran, that no setting names a
// place inside the warehouse that DuckDB would write to.
func (g SQLGuard) CheckSettings(ctx context.Context, conn *sql.Conn) error {
	if g.Root == "" {
		return nil
	}
	rows, err := conn.QueryContext(ctx, "SELECT name, CAST(value AS VARCHAR) FROM duckdb_settings() WHERE name IN ("+
		strings.Repeat("?, ", len(pathSettings)-1)+"?)", anySlice(pathSettings)...)
	if err != nil {
		return fmt.Errorf("check duckdb's settings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var value sql.NullString
		if err := rows.Scan(&name, &value); err != nil {
			return fmt.Errorf("check duckdb's settings: %w", err)
		}
		v := strings.TrimSpace(value.String)
		if v == "" || v == "[]" {
			continue
		}
		for _, p := range strings.Split(strings.Trim(v, "[]"), ",") {
			if p = strings.TrimSpace(p); p != "" && g.inside(p) {
				return fmt.Errorf("%w: the setting %s = %q lies inside the warehouse %s, where a file no commit names is an orphan: set it elsewhere",
					ErrRefusedStatement, name, p, g.Root)
			}
		}
	}
	return rows.Err()
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// Inside reports whether path p (a flag's file, say) lies in the
// warehouse.
func (g SQLGuard) Inside(p string) bool { return g.Root != "" && g.inside(p) }

// inside reports whether path p (as DuckDB would read it: relative to the
// working folder, '~' the home folder, maybe with a file: prefix) lies in
// the warehouse.
func (g SQLGuard) inside(p string) bool {
	p = strings.TrimPrefix(strings.TrimPrefix(p, "file://"), "file:")
	if p == "" || strings.Contains(p, "://") || p == ":memory:" {
		return false
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return false
		}
		p = filepath.Join(home, p[1:])
	}
	if !filepath.IsAbs(p) {
		// Not filepath.Abs: its lexical '..' is wrong after a symlink.
		wd, err := os.Getwd()
		if err != nil {
			return false
		}
		p = wd + string(filepath.Separator) + p
	}
	return within(g.Root, resolvePath(p))
}

// within reports whether path p is root or below it.
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// resolvePath is the absolute path abs with every symlink it passes
// through resolved and '..' applied after them, as the system does; the
// part that does not exist yet is kept as spelled.
func resolvePath(abs string) string {
	return resolveIn(string(filepath.Separator), strings.Split(filepath.ToSlash(abs), "/"), 0)
}

func resolveIn(cur string, parts []string, links int) string {
	for i, part := range parts {
		switch part {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, part)
		fi, err := os.Lstat(next)
		if err != nil {
			// Not there (yet): the rest is spelled, not resolved.
			return filepath.Join(append([]string{cur}, parts[i:]...)...)
		}
		if fi.Mode()&os.ModeSymlink != 0 && links < 40 {
			target, err := os.Readlink(next)
			if err != nil {
				return filepath.Join(append([]string{cur}, parts[i:]...)...)
			}
			base := cur
			if filepath.IsAbs(target) {
				base = string(filepath.Separator)
			}
			cur = resolveIn(base, strings.Split(filepath.ToSlash(target), "/"), links+1)
			continue
		}
		cur = next
	}
	return cur
}

// spelledPaths are the string literals and quoted names of a statement:
// whatever it could name a file with.
func spelledPaths(text string) []string {
	var out []string
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '-' && strings.HasPrefix(text[i:], "--"):
			j := strings.IndexByte(text[i:], '\n')
			if j < 0 {
				return out
			}
			i += j + 1
		case c == '/' && strings.HasPrefix(text[i:], "/*"):
			j := strings.Index(text[i+2:], "*/")
			if j < 0 {
				return out
			}
			i += j + 4
		case c == '\'' || c == '"':
			var b strings.Builder
			j := i + 1
			escapes := c == '\'' && i > 0 && (text[i-1] == 'e' || text[i-1] == 'E')
			for ; j < len(text); j++ {
				if escapes && text[j] == '\\' && j+1 < len(text) {
					j++
					b.WriteByte(text[j])
					continue
				}
				if text[j] == c {
					if j+1 < len(text) && text[j+1] == c {
						b.WriteByte(c)
						j++
						continue
					}
					break
				}
				b.WriteByte(text[j])
			}
			out = append(out, b.String())
			i = j + 1
		case c == '$':
			// $tag$...$tag$ quoting
			j := i + 1
			for j < len(text) && (text[j] == '_' || text[j] >= 'a' && text[j] <= 'z' || text[j] >= 'A' && text[j] <= 'Z' || text[j] >= '0' && text[j] <= '9') {
				j++
			}
			if j < len(text) && text[j] == '$' {
				tag := text[i : j+1]
				if k := strings.Index(text[j+1:], tag); k >= 0 {
					out = append(out, text[j+1:j+1+k])
					i = j + 1 + k + len(tag)
					continue
				}
			}
			i = j
		default:
			i++
		}
	}
	return out
}

// statementType prepares text, which must be one statement, without
// running anything, and returns its type.
func statementType(conn *sql.Conn, text string) (duckdb.StmtType, error) {
	var typ duckdb.StmtType
	err := conn.Raw(func(dc any) error {
		dconn, ok := dc.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("%w: not a DuckDB connection", ErrRefusedStatement)
		}
		// Prepare, not PrepareContext: the latter runs every statement of
		// the text but the last; this one refuses more than one.
		st, err := dconn.Prepare(text)
		if err != nil {
			if strings.TrimSpace(text) != "" && !isDuckDBError(err) {
				return fmt.Errorf("%w: give one statement at a time (%v)", ErrRefusedStatement, err)
			}
			return err
		}
		defer st.Close()
		ds, ok := st.(*duckdb.Stmt)
		if !ok {
			return fmt.Errorf("%w: not a DuckDB statement", ErrRefusedStatement)
		}
		typ, err = ds.StatementType()
		return err
	})
	return typ, err
}

func isDuckDBError(err error) bool {
	var de *duckdb.Error
	return errors.As(err, &de)
}

var statementTypeNames = map[duckdb.StmtType]string{
	duckdb.STATEMENT_TYPE_SELECT: "SELECT", duckdb.STATEMENT_TYPE_INSERT: "INSERT", duckdb.STATEMENT_TYPE_UPDATE: "UPDATE",
	duckdb.STATEMENT_TYPE_EXPLAIN: "EXPLAIN", duckdb.STATEMENT_TYPE_DELETE: "DELETE", duckdb.STATEMENT_TYPE_PREPARE: "PREPARE",
	duckdb.STATEMENT_TYPE_CREATE: "CREATE", duckdb.STATEMENT_TYPE_EXECUTE: "EXECUTE", duckdb.STATEMENT_TYPE_ALTER: "ALTER",
	duckdb.STATEMENT_TYPE_TRANSACTION: "transaction", duckdb.STATEMENT_TYPE_COPY: "COPY", duckdb.STATEMENT_TYPE_ANALYZE: "ANALYZE",
	duckdb.STATEMENT_TYPE_VARIABLE_SET: "SET", duckdb.STATEMENT_TYPE_CREATE_FUNC: "CREATE FUNCTION", duckdb.STATEMENT_TYPE_DROP: "DROP",
	duckdb.STATEMENT_TYPE_EXPORT: "EXPORT", duckdb.STATEMENT_TYPE_PRAGMA: "PRAGMA", duckdb.STATEMENT_TYPE_VACUUM: "VACUUM",
	duckdb.STATEMENT_TYPE_CALL: "CALL", duckdb.STATEMENT_TYPE_SET: "SET", duckdb.STATEMENT_TYPE_LOAD: "LOAD or INSTALL",
	duckdb.STATEMENT_TYPE_RELATION: "relation", duckdb.STATEMENT_TYPE_EXTENSION: "extension", duckdb.STATEMENT_TYPE_LOGICAL_PLAN: "logical plan",
	duckdb.STATEMENT_TYPE_ATTACH: "ATTACH", duckdb.STATEMENT_TYPE_DETACH: "DETACH", duckdb.STATEMENT_TYPE_MULTI: "multi-statement",
}

func statementTypeName(t duckdb.StmtType) string {
	if n, ok := statementTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("type %d", t)
}

// LockReadOnly locks d down for statements its caller did not write:
// file access only to the verified files its views read (and to the
// extra paths allow names, such as the file a result is written to), no
// network, no extension loading, configuration locked. It cannot be
// undone: close d to end it.
func (d *DuckDB) LockReadOnly(ctx context.Context, allow ...string) error {
	paths := append(append([]string(nil), d.Files...), allow...)
	quoted := make([]string, len(paths))
	for i, p := range paths {
		quoted[i] = schemas.QuoteString(p)
	}
	for _, stmt := range []string{
		"SET allowed_paths = [" + strings.Join(quoted, ", ") + "]",
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
		"SET enable_external_access = false",
		"SET lock_configuration = true",
	} {
		if _, err := d.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("duckdb: lock read-only: %s: %w", strings.SplitN(stmt, " = ", 2)[0], err)
		}
	}
	return nil
}
