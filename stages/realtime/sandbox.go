package realtime

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	// The DuckDB driver, registered as "duckdb".
	_ "github.com/duckdb/duckdb-go/v2"

	"archtics/schemas"
)

// THE CRITERIA SANDBOX
//
// An admin's criteria fragment is SQL that ends up inside the seed's
// verification query, `... AND (<fragment>)`. Two walls keep it an
// expression over archtics.event:
//
//  1. CheckCriteria: a lexical pass refuses statement separators,
//     comments, dollar quoting and statement keywords (COPY, ATTACH,
//     PRAGMA, SET, DDL) by name, for a clear message; then DuckDB's own
//     parser (json_serialize_sql) parses the very text that will run,
//     SelectionQuery(fragment), and the tree must be that query with
//     nothing changed but the criteria: the same select list and table,
//     no modifier, and a WHERE clause that is an AND of the seed's three
//     guards (enabled, the date range) and the criteria. A fragment that
//     closes its parenthesis to escape them (`1=1) OR (SELECT count(*)
//     FROM archtics.cust) > 0 OR (1=1`) turns that AND into an OR and is
//     refused; so is its subquery. Every node of the criteria must be on
//     an allow-list: columns of archtics.event, constants, comparison and
//     boolean operators, IN, BETWEEN, LIKE/ILIKE, IS [NOT] NULL, CAST,
//     CASE and a short list of plain functions (allowedFunctions). The
//     lexical pass is for messages only: the tree is the wall, and what
//     runs is the text whose tree was checked.
//     The check also bounds what the fragment can cost: at most
//     MaxCriteriaLength bytes, expressions nested at most MaxCriteriaDepth
//     deep, and text that can grow at most MaxCriteriaGrowth times the
//     longest value it is made of (replace with a longer replacement
//     multiplies a value's length, and nested replaces multiply again:
//     four of them made every event name gigabytes long).
//  2. The selection runs on a private in-memory DuckDB holding only the
//     team's events (copied in first), after `SET enable_external_access
//     = false` and `SET lock_configuration = true`: even a fragment that
//     got past the first wall could read no file, reach no network and
//     change no setting, and it has no other table to read. It runs on
//     one thread, within SandboxMemory and within CriteriaTimeout, and a
//     cancelled context (SIGTERM) abandons it at once rather than wait
//     for DuckDB to notice the interrupt between two chunks of rows.

// CriteriaError is a refused criteria fragment: Reason names what was
// refused, Pos is its 1-based character position in the fragment (0 when
// the refusal is about the whole fragment).
type CriteriaError struct {
	Fragment string
	Reason   string
	Pos      int
}

func (e *CriteriaError) Error() string {
	shown := e.Fragment
	if len(shown) > 200 {
		shown = shown[:200] + "..."
	}
	if e.Pos > 0 {
		return fmt.Sprintf("criteria refused: %s (at character %d of %q)", e.Reason, e.Pos, shown)
	}
	return fmt.Sprintf("criteria refused: %s (criteria %q)", e.Reason, shown)
}

// allowedFunctions are the plain functions and operators a fragment may
// call: pure functions of their arguments, none reading a file, the
// network, a setting, another table or the clock (current_date is the
// tick's logical date: see SelectEvents). Operators are listed by the
// names DuckDB's parser gives them (~~ is LIKE, ~~* ILIKE, !~~ NOT LIKE).
var allowedFunctions = map[string]bool{
	// arithmetic, concatenation, LIKE and ILIKE
	"+": true, "-": true, "*": true, "/": true, "//": true, "%": true, "||": true,
	"~~": true, "!~~": true, "~~*": true, "!~~*": true,
	// text
	"lower": true, "upper": true, "lcase": true, "ucase": true, "trim": true, "ltrim": true, "rtrim": true,
	"substr": true, "substring": true, "length": true, "left": true, "right": true, "concat": true,
	"replace": true, "starts_with": true, "ends_with": true, "contains": true, "prefix": true, "suffix": true,
	"strpos": true, "instr": true, "position": true,
	// null handling and choice
	"coalesce": true, "ifnull": true, "nullif": true, "least": true, "greatest": true,
	// dates (intervals such as INTERVAL 1 DAY parse into to_days(trunc(...)))
	"date_part": true, "datepart": true, "year": true, "month": true, "day": true, "dayofweek": true,
	"isodow": true, "dayname": true, "monthname": true, "date_trunc": true, "datetrunc": true, "date_diff": true,
	"datediff": true, "to_days": true, "to_months": true, "to_years": true, "to_hours": true, "to_minutes": true,
	"trunc": true,
	// numbers
	"abs": true, "round": true, "floor": true, "ceil": true,
}

// outsideFunctions are functions refused with a reason of their own: they
// read files, the network, other tables, settings or the clock.
var outsideFunctions = []string{
	"read_", "glob", "_scan", "query", "query_table", "getenv", "current_setting", "duckdb_", "sniff_",
	"parquet_", "json_", "load", "install", "http", "s3", "now", "today", "current_", "get_current",
	"random", "uuid", "setseed", "nextval", "currval", "pragma_", "sql_", "export", "import",
}

// statementKeywords are words that only statements use, refused by name
// wherever they stand outside a string: a fragment is an expression.
// SELECT, FROM, WITH and UNION are not among them (FROM belongs to IS
// DISTINCT FROM and EXTRACT): the parse tree shows a subquery or a set
// operation for what it is.
var statementKeywords = map[string]bool{
	"copy": true, "attach": true, "detach": true, "pragma": true, "set": true, "reset": true, "use": true,
	"create": true, "drop": true, "alter": true, "insert": true, "update": true, "delete": true,
	"truncate": true, "install": true, "load": true, "export": true, "import": true, "call": true,
	"checkpoint": true, "vacuum": true, "grant": true, "revoke": true, "begin": true, "commit": true,
	"rollback": true, "summarize": true, "describe": true, "explain": true, "merge": true,
}

// castTypes are the types a fragment may CAST to: plain scalars.
var castTypes = map[string]bool{
	"VARCHAR": true, "INTEGER": true, "BIGINT": true, "SMALLINT": true, "TINYINT": true, "HUGEINT": true,
	"DOUBLE": true, "FLOAT": true, "DECIMAL": true, "BOOLEAN": true, "DATE": true, "TIME": true,
	"TIMESTAMP": true, "TIMESTAMP WITH TIME ZONE": true, "INTERVAL": true,
}

// CurrentDateColumn is the name that means the tick's logical date (the
// local date at the tick in the team's zone) in the seed's query and in a
// fragment: DuckDB parses a bare current_date as a column reference, and
// the sandbox's archtics.event carries a column of that name, which
// DuckDB binds before its own clock.
const CurrentDateColumn = "current_date"

// Limits of a fragment, each refused with a CriteriaError when set.
const (
	// MaxCriteriaLength bounds a fragment's size in bytes.
	MaxCriteriaLength = 4000
	// MaxCriteriaDepth bounds how deep a fragment's expressions (and its
	// parentheses) nest: the seed's examples nest three deep.
	MaxCriteriaDepth = 32
	// MaxCriteriaGrowth bounds how many times longer than the values it
	// is made of (columns, constants) a text the fragment computes can
	// be: concatenation adds lengths, a replace by a longer text
	// multiplies them.
	MaxCriteriaGrowth = 64
)

// The second wall's limits on the sandbox's DuckDB.
const (
	// SandboxMemory is the sandbox's DuckDB memory_limit: a team's events
	// take a few megabytes.
	SandboxMemory = "256MB"
	// CriteriaTimeout bounds the selection query: over a team's events it
	// takes milliseconds.
	CriteriaTimeout = 5 * time.Second
)

// referenceQuery is SelectionQuery with criteria that are a constant:
// its tree is what every checked query must match but for the criteria.
var referenceQuery = SelectionQuery("true")

// CheckCriteria checks that fragment is an expression the sandbox allows
// (see THE CRITERIA SANDBOX) and returns a *CriteriaError naming what was
// refused if it is not. It opens a scratch in-memory DuckDB to parse.
func CheckCriteria(ctx context.Context, fragment string) error {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return fmt.Errorf("criteria check: open duckdb: %w", err)
	}
	defer db.Close()
	return checkCriteria(ctx, db, fragment)
}

func checkCriteria(ctx context.Context, db *sql.DB, fragment string) error {
	refuse := func(pos int, format string, args ...any) error {
		return &CriteriaError{Fragment: fragment, Reason: fmt.Sprintf(format, args...), Pos: pos}
	}
	if len(fragment) > MaxCriteriaLength {
		return refuse(0, "the criteria are %d bytes long, more than %d: an expression over an event's columns is short", len(fragment), MaxCriteriaLength)
	}
	if strings.TrimSpace(fragment) == "" {
		return refuse(0, "the criteria are empty: give an expression over archtics.event's columns, such as major_category = 'SPORTS'")
	}
	if err := lexCheck(fragment, refuse); err != nil {
		return err
	}
	tree, err := parseTree(ctx, db, SelectionQuery(fragment))
	if err != nil {
		return err
	}
	if tree.Error {
		pos := 0
		if n, err := tree.Position.Int64(); err == nil {
			pos = fragmentPos(n)
		}
		return refuse(pos, "not an SQL expression DuckDB can parse: %s", tree.ErrorMessage)
	}
	if len(tree.Statements) != 1 {
		return refuse(0, "statement separator: the criteria make %d statements, want one expression", len(tree.Statements))
	}
	ref, err := parseTree(ctx, db, referenceQuery)
	if err != nil {
		return err
	}
	if ref.Error || len(ref.Statements) != 1 {
		return fmt.Errorf("criteria check: the reference query does not parse into one statement: %s", ref.ErrorMessage)
	}
	// A subquery is named as such wherever it stands, before the shape
	// check would call it an escape from the parentheses.
	if pos, ok := findSubquery(tree.Statements[0]["node"]); ok {
		return refuse(pos, "a subquery: criteria are an expression over one event's columns and may not read any table")
	}
	node, _ := tree.Statements[0]["node"].(map[string]any)
	refNode, _ := ref.Statements[0]["node"].(map[string]any)
	criteria, err := checkShape(node, refNode, refuse)
	if err != nil {
		return err
	}
	for _, c := range criteria {
		if err := walkExpr(c, 1, refuse); err != nil {
			return err
		}
	}
	for _, c := range criteria {
		if g, n := growth(c); g > MaxCriteriaGrowth && !uncheckedCriteria {
			return refuse(nodePos(n), "this text can grow to %.0f times the length of the values it is made of, more than %d (a replace by a longer text multiplies a value's length, nested replaces multiply again): "+
				"the criteria would make each event's text much longer, which costs memory and time for nothing", g, MaxCriteriaGrowth)
		}
	}
	return nil
}

// growth bounds how many times longer than the longest value it reads
// (a column's, or a constant's per started 256 bytes) the text an
// expression computes can be, and names the node that makes it so. Only
// concatenation and replace grow text; every other allowed function
// returns a value no longer than its longest argument's, within a small
// factor that nesting cannot compound past MaxCriteriaDepth.
func growth(v any) (float64, map[string]any) {
	n, _ := v.(map[string]any)
	if n == nil {
		return 1, nil
	}
	var kids []any
	for _, k := range []string{"children", "left", "right", "input", "lower", "upper", "child", "else_expr"} {
		switch c := n[k].(type) {
		case []any:
			kids = append(kids, c...)
		case map[string]any:
			kids = append(kids, c)
		}
	}
	if checks, ok := n["case_checks"].([]any); ok {
		for _, c := range checks {
			if m, ok := c.(map[string]any); ok {
				kids = append(kids, m["when_expr"], m["then_expr"])
			}
		}
	}
	if n["class"] == "CONSTANT" {
		if s, ok := constantString(n); ok {
			return max(1, float64((len(s)+255)/256)), n
		}
		return 1, n
	}
	name, _ := n["function_name"].(string)
	switch strings.ToLower(name) {
	case "||", "concat":
		sum, at := 0.0, n
		for _, k := range kids {
			g, _ := growth(k)
			sum += g
		}
		return sum, at
	case "replace":
		g, at := growth(kids[0])
		search, _ := constantString(kids[1].(map[string]any))
		repl, _ := constantString(kids[2].(map[string]any))
		if len(search) > 0 && len(repl) > len(search) {
			g, at = g*float64(len(repl))/float64(len(search)), n
		}
		return g, at
	}
	best, at := 1.0, n
	for _, k := range kids {
		if g, a := growth(k); g > best {
			best, at = g, a
		}
	}
	return best, at
}

// constantString is a constant node's text, if it is a string constant.
func constantString(n map[string]any) (string, bool) {
	if n == nil || n["class"] != "CONSTANT" {
		return "", false
	}
	val, _ := n["value"].(map[string]any)
	typ, _ := val["type"].(map[string]any)
	if typ["id"] != "VARCHAR" {
		return "", false
	}
	s, ok := val["value"].(string)
	return s, ok
}

// findSubquery reports whether the tree holds a subquery, and where.
func findSubquery(v any) (int, bool) {
	switch x := v.(type) {
	case map[string]any:
		if x["class"] == "SUBQUERY" {
			return nodePos(x), true
		}
		for _, e := range x {
			if p, ok := findSubquery(e); ok {
				return p, true
			}
		}
	case []any:
		for _, e := range x {
			if p, ok := findSubquery(e); ok {
				return p, true
			}
		}
	}
	return 0, false
}

// nodePos is the 1-based position in the fragment of a parse tree node
// (0 when unknown or outside it).
func nodePos(n map[string]any) int {
	if q, ok := n["query_location"].(json.Number); ok {
		if p, err := q.Int64(); err == nil {
			return fragmentPos(p)
		}
	}
	return 0
}

// parseResult is json_serialize_sql's answer.
type parseResult struct {
	Error        bool             `json:"error"`
	ErrorType    string           `json:"error_type"`
	ErrorMessage string           `json:"error_message"`
	Position     json.Number      `json:"position"`
	Statements   []map[string]any `json:"statements"`
}

// parseTree parses sqlText with DuckDB's parser (nothing is bound or run).
func parseTree(ctx context.Context, db *sql.DB, sqlText string) (*parseResult, error) {
	var text string
	q := "SELECT CAST(json_serialize_sql(?::VARCHAR) AS VARCHAR)"
	if err := db.QueryRowContext(ctx, q, sqlText).Scan(&text); err != nil {
		return nil, fmt.Errorf("criteria check: parse with duckdb: %w", err)
	}
	var tree parseResult
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("criteria check: read duckdb's parse tree: %w", err)
	}
	return &tree, nil
}

// fragmentPos turns a position in the parsed text (0-based, bytes) into
// a 1-based position in the fragment (0 when outside it).
func fragmentPos(n int64) int {
	p := int(n) - len(selectionPrefix) + 1
	if p < 1 || n < 0 {
		return 0
	}
	return p
}

type refuseFunc func(pos int, format string, args ...any) error

// lexCheck scans the fragment outside string literals and quoted
// identifiers for what has no place in an expression and would otherwise
// surface as a bare syntax error (or, for a comment, hide code).
func lexCheck(s string, refuse refuseFunc) error {
	depth := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						j++
						continue
					}
					break
				}
			}
			if j >= len(s) {
				what := "string"
				if c == '"' {
					what = "quoted identifier"
				}
				return refuse(i+1, "unterminated %s", what)
			}
			i = j + 1
		case c == '(':
			if depth++; depth > MaxCriteriaDepth {
				return refuse(i+1, "parentheses nested more than %d deep: write the criteria flatter", MaxCriteriaDepth)
			}
			i++
		case c == ')':
			depth--
			i++
		case c == ';':
			return refuse(i+1, "statement separator ';': the criteria are one expression, not statements")
		case c == '-' && strings.HasPrefix(s[i:], "--"), c == '/' && strings.HasPrefix(s[i:], "/*"):
			return refuse(i+1, "comment %q: comments can hide code, write the criteria without them", s[i:i+2])
		case c == '$':
			return refuse(i+1, "'$' (dollar quoting or a parameter): use 'single quotes' for strings")
		case c == '?':
			return refuse(i+1, "'?' (a parameter): write the value itself")
		case isWordStart(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			if w := strings.ToLower(s[i:j]); statementKeywords[w] {
				return refuse(i+1, "statement keyword %s: the criteria are one expression over archtics.event's columns", strings.ToUpper(w))
			}
			i = j
		default:
			i++
		}
	}
	return nil
}

func isWordStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isWordByte(c byte) bool { return isWordStart(c) || c >= '0' && c <= '9' }

// checkShape checks the statement is the reference query but for its
// criteria, and returns the criteria's expressions: the WHERE clause is an
// AND whose first children are the reference's guards, unchanged, and
// whose others are the criteria (DuckDB flattens the criteria's own top
// AND into it). A fragment that escaped its parentheses changes the
// statement type, adds a modifier, a clause or a table, or turns the
// AND into an OR.
func checkShape(node, ref map[string]any, refuse refuseFunc) ([]any, error) {
	escaped := func(what string) ([]any, error) {
		return nil, refuse(0, "the criteria reach outside their parentheses (%s): write one expression", what)
	}
	if node == nil || node["type"] != "SELECT_NODE" {
		return escaped(fmt.Sprintf("the statement became %v", node["type"]))
	}
	for key := range node {
		if _, ok := ref[key]; !ok {
			return escaped(key)
		}
	}
	for key, want := range ref {
		if key == "where_clause" {
			continue
		}
		if !sameTree(node[key], want) {
			what := strings.ReplaceAll(key, "_", " ")
			switch key {
			case "modifiers":
				what = "ORDER BY, LIMIT or DISTINCT"
			case "cte_map":
				what = "a WITH clause"
			case "group_expressions", "group_sets":
				what = "GROUP BY"
			case "from_table":
				what = "the FROM clause"
			}
			return escaped(what)
		}
	}
	where, _ := node["where_clause"].(map[string]any)
	refWhere, _ := ref["where_clause"].(map[string]any)
	refGuards, _ := refWhere["children"].([]any)
	if len(refGuards) < 2 {
		return nil, fmt.Errorf("criteria check: the reference query's WHERE clause is not an AND of guards and criteria")
	}
	refGuards = refGuards[:len(refGuards)-1] // the last is the constant criteria
	if where == nil || where["type"] != refWhere["type"] {
		return escaped("the WHERE clause is no longer an AND of the seed's conditions and the criteria")
	}
	children, _ := where["children"].([]any)
	if len(children) <= len(refGuards) {
		return escaped("the seed's conditions changed")
	}
	for i, g := range refGuards {
		if !sameTree(children[i], g) {
			return escaped("the seed's conditions changed")
		}
	}
	return children[len(refGuards):], nil
}

// sameTree compares two parse trees ignoring where their text stands.
func sameTree(a, b any) bool {
	return reflect.DeepEqual(withoutLocations(a), withoutLocations(b))
}

func withoutLocations(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if k != "query_location" {
				out[k] = withoutLocations(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = withoutLocations(e)
		}
		return out
	}
	return v
}

// eventColumns are archtics.event's column names (the clone's).
var eventColumns = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range schemas.Event.Columns {
		m[c.Name] = true
	}
	return m
}()

// walkExpr checks one expression node, at depth in the criteria, and its
// children.
func walkExpr(v any, depth int, refuse refuseFunc) error {
	n, ok := v.(map[string]any)
	if !ok {
		return refuse(0, "unexpected parse tree node %T", v)
	}
	class, _ := n["class"].(string)
	typ, _ := n["type"].(string)
	pos := nodePos(n)
	if depth > MaxCriteriaDepth {
		return refuse(pos, "expressions nested more than %d deep: write the criteria flatter", MaxCriteriaDepth)
	}
	children := func(keys ...string) error {
		for _, k := range keys {
			if n[k] == nil {
				continue
			}
			if err := walkExpr(n[k], depth+1, refuse); err != nil {
				return err
			}
		}
		return nil
	}
	list := func(key string) error {
		l, _ := n[key].([]any)
		for _, c := range l {
			if err := walkExpr(c, depth+1, refuse); err != nil {
				return err
			}
		}
		return nil
	}
	if a, _ := n["alias"].(string); a != "" {
		return refuse(pos, "an alias (%s) inside the criteria", a)
	}
	switch class {
	case "CONSTANT":
		return nil
	case "COLUMN_REF":
		return checkColumn(n, pos, refuse)
	case "CONJUNCTION":
		return list("children")
	case "COMPARISON":
		return children("left", "right")
	case "BETWEEN":
		return children("input", "lower", "upper")
	case "OPERATOR":
		switch typ {
		case "OPERATOR_NOT", "OPERATOR_IS_NULL", "OPERATOR_IS_NOT_NULL", "COMPARE_IN", "COMPARE_NOT_IN",
			"OPERATOR_COALESCE", "OPERATOR_NULLIF":
			return list("children")
		}
		return refuse(pos, "operator %s is not allowed in criteria", typ)
	case "CAST":
		ct, _ := n["cast_type"].(map[string]any)
		id, _ := ct["id"].(string)
		if !castTypes[id] {
			return refuse(pos, "CAST to %s: criteria may cast to plain types only (VARCHAR, INTEGER, DATE, TIMESTAMP, ...)", id)
		}
		return children("child")
	case "CASE":
		checks, _ := n["case_checks"].([]any)
		for _, c := range checks {
			m, _ := c.(map[string]any)
			if err := walkExpr(m["when_expr"], depth+1, refuse); err != nil {
				return err
			}
			if err := walkExpr(m["then_expr"], depth+1, refuse); err != nil {
				return err
			}
		}
		return children("else_expr")
	case "FUNCTION":
		return checkFunction(n, pos, refuse, list)
	case "SUBQUERY":
		return refuse(pos, "a subquery: criteria are an expression over one event's columns and may not read any table")
	case "WINDOW":
		return refuse(pos, "a window function")
	case "PARAMETER":
		return refuse(pos, "a parameter: write the value itself")
	case "STAR":
		return refuse(pos, "* or COLUMNS(): name the columns")
	case "LAMBDA":
		return refuse(pos, "a lambda")
	}
	return refuse(pos, "%s (%s) is not allowed in criteria: use columns, constants, comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, IS NULL, CAST and plain functions", strings.ToLower(class), typ)
}

func checkColumn(n map[string]any, pos int, refuse refuseFunc) error {
	raw, _ := n["column_names"].([]any)
	names := make([]string, len(raw))
	for i, r := range raw {
		names[i], _ = r.(string)
	}
	col := ""
	switch {
	case len(names) == 1:
		col = names[0]
	case len(names) == 2 && strings.EqualFold(names[0], "event"):
		col = names[1]
	case len(names) == 3 && strings.EqualFold(names[0], "archtics") && strings.EqualFold(names[1], "event"):
		col = names[2]
	default:
		return refuse(pos, "%s refers to another table: criteria may use archtics.event's columns only", strings.Join(names, "."))
	}
	lc := strings.ToLower(col)
	if eventColumns[lc] || (len(names) == 1 && lc == CurrentDateColumn) {
		return nil
	}
	return refuse(pos, "%q is not a column of archtics.event (its columns: %s)", col, strings.Join(sortedKeys(eventColumns), ", "))
}

func checkFunction(n map[string]any, pos int, refuse refuseFunc, list func(string) error) error {
	name, _ := n["function_name"].(string)
	lname := strings.ToLower(name)
	schema, _ := n["schema"].(string)
	catalog, _ := n["catalog"].(string)
	if catalog != "" || (schema != "" && schema != "main") {
		return refuse(pos, "function %s.%s: criteria may call built-in functions only", schema, name)
	}
	if !allowedFunctions[lname] {
		for _, bad := range outsideFunctions {
			if strings.Contains(lname, bad) {
				return refuse(pos, "function %s reads files, the network, other tables, settings or the clock: criteria may not call it", name)
			}
		}
		return refuse(pos, "function %s is not allowed in criteria (allowed: %s)", name, strings.Join(sortedKeys(allowedFunctions), ", "))
	}
	if d, _ := n["distinct"].(bool); d {
		return refuse(pos, "DISTINCT inside %s", name)
	}
	if n["filter"] != nil {
		return refuse(pos, "FILTER on %s", name)
	}
	if ob, _ := n["order_bys"].(map[string]any); ob != nil {
		if l, _ := ob["orders"].([]any); len(l) > 0 {
			return refuse(pos, "ORDER BY inside %s", name)
		}
	}
	if e, _ := n["export_state"].(bool); e {
		return refuse(pos, "EXPORT_STATE on %s", name)
	}
	if lname == "replace" {
		// growth bounds what a replace can make only when it knows both
		// texts.
		args, _ := n["children"].([]any)
		if len(args) != 3 {
			return refuse(pos, "replace takes three arguments: replace(text, 'search', 'replacement')")
		}
		for _, a := range args[1:] {
			if m, _ := a.(map[string]any); m == nil {
				return refuse(pos, "replace's search and replacement must be string constants")
			} else if _, ok := constantString(m); !ok {
				return refuse(nodePos(m), "replace's search and replacement must be string constants, such as replace(event_name, '-', ' ')")
			}
		}
	}
	return list("children")
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// IsCriteriaError reports whether err is (or wraps) a refused fragment.
func IsCriteriaError(err error) bool {
	var ce *CriteriaError
	return errors.As(err, &ce)
}
