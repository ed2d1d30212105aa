package views

import (
	"strings"

	"archtics/schemas"
)

// TablesReadBy guesses which known tables the SQL text reads, so a query
// materializes and creates views for those alone. It returns them with the
// tables their views depend on, or nil when every table must be
// materialized: the text names no known table at all (SELECT 1, SHOW
// TABLES, USE archtics; ...), or it looks at the catalog
// (information_schema, duckdb_tables(), SHOW, PRAGMA, EXPORT), whose answer
// would otherwise list only the guessed views.
//
// The guess is a scan of the text for schema.table names of known tables,
// quoted or not, in any case, with spaces or comments around the dot, and
// inside string literals too (query('...'), query_table('...')). It may
// name a table the statement does not read (in a string, a comment, a
// column alias): that costs a view, never a wrong answer. It may miss one
// (a bare table name after SET search_path, a name built at run time):
// the statement then fails with a DuckDB catalog error, and Query reruns it
// over every table, so a wrong guess is never a silently empty answer.
func TablesReadBy(sql string) []*schemas.Table { return tablesReadBy(sql, nil) }

// tablesReadBy is TablesReadBy over schemas.All and extra.
func tablesReadBy(sql string, extra []*schemas.Table) []*schemas.Table {
	known := map[string]*schemas.Table{}
	for _, t := range append(append([]*schemas.Table(nil), schemas.All...), extra...) {
		known[strings.ToLower(t.SQLName())] = t // SQL names views, not storage
	}
	var found []*schemas.Table
	seen := map[string]bool{}
	catalog := false
	for _, words := range sqlWordRuns(sql) {
		for i, w := range words {
			if isCatalogWord(w) {
				catalog = true
			}
			if i+2 < len(words) && words[i+1] == "." {
				if t, ok := known[w+"."+words[i+2]]; ok && !seen[t.FullName()] {
					seen[t.FullName()] = true
					found = append(found, t)
				}
			}
		}
	}
	if catalog || len(found) == 0 {
		return nil
	}
	out, err := schemas.ReadSet(found, extra)
	if err != nil {
		return nil // a broken DependsOn: let the full materialization report it
	}
	return out
}

// isCatalogWord reports whether an identifier makes a statement look at the
// catalog rather than at named tables.
func isCatalogWord(w string) bool {
	switch w {
	case "information_schema", "pg_catalog", "sqlite_master", "sqlite_schema", "show", "pragma", "export":
		return true
	}
	return strings.HasPrefix(w, "duckdb_")
}

// sqlWordRuns splits SQL text into runs of tokens: lower-cased identifiers
// (quoted ones unquoted) and "." for a dot. Whitespace and comments do not
// break a run, any other punctuation does (so "a, b" is not "a.b"). The
// content of every string literal is scanned as SQL too, in runs of its
// own. It is a scanner for guessing names, not a parser: it never fails.
func sqlWordRuns(sql string) [][]string {
	var runs [][]string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			runs = append(runs, cur)
			cur = nil
		}
	}
	s := sql
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '-' && strings.HasPrefix(s[i:], "--"):
			end := strings.IndexByte(s[i:], '\n')
			if end < 0 {
				end = len(s) - i
			}
			i += end
		case c == '/' && strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				i = len(s)
			} else {
				i += 2 + end + 2
			}
		case c == '\'':
			body, n := quoted(s[i:], '\'')
			i += n
			flush()
			runs = append(runs, sqlWordRuns(body)...)
		case c == '$':
			// Dollar quoting, $$...$$ or $tag$...$tag$; $1 is a parameter.
			j := strings.IndexByte(s[i+1:], '$')
			tag := ""
			if j >= 0 {
				tag = s[i+1 : i+1+j]
			}
			if j < 0 || !isWord(tag) || tag != "" && tag[0] >= '0' && tag[0] <= '9' {
				flush()
				i++
				continue
			}
			delim := "$" + tag + "$"
			body, next := s[i+len(delim):], len(s)
			if end := strings.Index(body, delim); end >= 0 {
				body, next = body[:end], i+len(delim)+end+len(delim)
			}
			flush()
			runs = append(runs, sqlWordRuns(body)...)
			i = next
		case c == '"':
			body, n := quoted(s[i:], '"')
			i += n
			cur = append(cur, strings.ToLower(body))
		case c == '.':
			cur = append(cur, ".")
			i++
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			cur = append(cur, strings.ToLower(s[i:j]))
			i = j
		default:
			flush()
			i++
		}
	}
	flush()
	return runs
}

// quoted reads a quoted token at the start of s (quote q, doubled to
// escape) and returns its unescaped body and its length in s.
func quoted(s string, q byte) (string, int) {
	var sb strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] == q {
			if i+1 < len(s) && s[i+1] == q {
				sb.WriteByte(q)
				i++
				continue
			}
			return sb.String(), i + 1
		}
		sb.WriteByte(s[i])
	}
	return sb.String(), len(s) // unterminated: DuckDB will say so
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

func isWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isWordByte(s[i]) {
			return false
		}
	}
	return true
}
