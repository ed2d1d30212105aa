package main

import "strings"

// sqlStatement is one statement of a query's text and the line of the text
// it starts on, so an error can point into the file or stdin it came from.
type sqlStatement struct {
	SQL  string
	Line int
}

// splitStatements splits SQL text into statements at the semicolons that
// end them, the way DuckDB's own tokenizer does: a semicolon inside a
// string ('it”s;'), an escape string (E'\';'), a quoted identifier
// ("a;b"), a dollar-quoted string ($$a;b$$, $tag$...$tag$), a line comment
// or a block comment does not end a statement. Statements holding only
// blanks and comments are dropped.
//
// Why not DuckDB itself: duckdb-go v2 keeps the C API's
// duckdb_extract_statements unexported, and json_serialize_sql accepts
// SELECT statements only. DuckDB still parses every statement this
// returns, so a statement split wrongly fails with DuckDB's message.
func splitStatements(text string) []sqlStatement {
	out, _, _ := splitSQL(text)
	return out
}

// splitSQL is splitStatements, also telling how many of the statements
// a ';' ended (the others, at most one, run to the end of text) and where
// the text after the last such ';' begins: what the shell holds as still
// being typed.
func splitSQL(text string) (out []sqlStatement, terminated, tail int) {
	start, startLine, line := 0, 1, 1
	hasCode := false
	emit := func(end int) {
		if hasCode {
			out = append(out, sqlStatement{SQL: strings.TrimSpace(text[start:end]), Line: startLine})
		}
		hasCode = false
	}
	n := len(text)
	for i := 0; i < n; i++ {
		c := text[i]
		switch {
		case c == '\n':
			line++
		case c == ' ' || c == '\t' || c == '\r':
		case c == '-' && i+1 < n && text[i+1] == '-':
			for i < n && text[i] != '\n' {
				i++
			}
			if i < n {
				line++
			}
		case c == '/' && i+1 < n && text[i+1] == '*':
			i += 2
			for i < n && !(text[i] == '*' && i+1 < n && text[i+1] == '/') {
				if text[i] == '\n' {
					line++
				}
				i++
			}
			i++ // the '/' of "*/"
		case c == ';':
			emit(i)
			start = i + 1
			terminated, tail = len(out), i+1
		default:
			if !hasCode {
				// The statement starts at its first code, so its
				// recorded line is the one DuckDB's "LINE n" counts from.
				start, startLine, hasCode = i, line, true
			}
			switch {
			case c == '\'' || c == '"':
				backslash := c == '\'' && i > 0 && (text[i-1] == 'E' || text[i-1] == 'e') && (i < 2 || !isIdentByte(text[i-2]))
				i, line = skipQuoted(text, i, c, backslash, line)
			case c == '$':
				if tag, ok := dollarTag(text, i); ok {
					end := strings.Index(text[i+len(tag):], tag)
					if end < 0 {
						end = n - i - len(tag)
					} else {
						end += len(tag)
					}
					line += strings.Count(text[i:min(n, i+len(tag)+end)], "\n")
					i = min(n, i+len(tag)+end) - 1
				}
			}
		}
	}
	emit(n)
	return out, terminated, tail
}

// skipQuoted returns the index of the quote closing the one at i (a
// doubled quote is an escaped one) and the line reached.
func skipQuoted(text string, i int, quote byte, backslash bool, line int) (int, int) {
	for j := i + 1; j < len(text); j++ {
		switch text[j] {
		case '\n':
			line++
		case '\\':
			if backslash {
				j++
			}
		case quote:
			if j+1 < len(text) && text[j+1] == quote {
				j++
				continue
			}
			return j, line
		}
	}
	return len(text) - 1, line
}

// dollarTag is the opening tag of a dollar-quoted string at i ("$$" or
// "$name$"); a parameter such as $1 is not one.
func dollarTag(text string, i int) (string, bool) {
	if i > 0 && isIdentByte(text[i-1]) {
		return "", false
	}
	for j := i + 1; j < len(text); j++ {
		c := text[j]
		if c == '$' {
			return text[i : j+1], true
		}
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > i+1 && c >= '0' && c <= '9') {
			return "", false
		}
	}
	return "", false
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
