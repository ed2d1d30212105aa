package interop

// The comparison of a reader's rows with archtics query's, apart from the
// test that runs the readers (interop_test.go, build tag interop), so
// compare_test.go checks it in every go test run.

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// column is one column as a reader or SQL describes it.
type column struct{ Name, Type string }

// result is one table's rows as a reader printed them (read.mjs's
// canonical form: every value a string or null).
type result struct {
	cols []column
	rows [][]*string
	err  string
}

// icebergType is the Iceberg type the publisher maps a DuckDB type to
// (docs/analysts.md, Schema).
func icebergType(duck string) string {
	switch duck {
	case "VARCHAR":
		return "string"
	case "INTEGER":
		return "int"
	case "BIGINT":
		return "long"
	case "DOUBLE":
		return "double"
	case "DATE":
		return "date"
	case "TIMESTAMP":
		return "timestamp"
	case "TIMESTAMP WITH TIME ZONE":
		return "timestamptz"
	case "BOOLEAN":
		return "boolean"
	}
	if strings.HasPrefix(duck, "DECIMAL(") {
		return strings.ToLower(strings.ReplaceAll(duck, " ", ""))
	}
	return duck
}

// tableProblems is what is wrong with a table's reading: a side that
// failed or printed nothing, else compareTable's differences. known says
// whether archtics query knows the table at all.
func tableProblems(reader string, g, w *result, known bool, readerType func(string) string) []string {
	var problems []string
	switch {
	case g == nil:
		problems = append(problems, reader+" printed nothing for it")
	case g.err != "":
		problems = append(problems, reader+" failed: "+g.err)
	}
	switch {
	case !known:
		problems = append(problems, "archtics query knows no such table")
	case w == nil:
		problems = append(problems, "archtics query returned nothing for it")
	case w.err != "":
		problems = append(problems, "archtics query failed: "+firstLine(w.err))
	}
	if len(problems) > 0 {
		return problems
	}
	return compareTable(reader, g, w, readerType)
}

// compareTable compares the reader's rows with the query's as multisets,
// after the columns: names and types in order.
func compareTable(reader string, g, w *result, readerType func(string) string) []string {
	var problems []string
	if len(g.cols) != len(w.cols) {
		problems = append(problems, fmt.Sprintf("columns: %s has %d %v, archtics query %d %v", reader, len(g.cols), g.cols, len(w.cols), w.cols))
		return problems
	}
	for i := range g.cols {
		// Iceberg writers print decimal(18, 2) or decimal(18,2).
		if g.cols[i].Name != w.cols[i].Name || strings.ReplaceAll(g.cols[i].Type, " ", "") != strings.ReplaceAll(readerType(w.cols[i].Type), " ", "") {
			problems = append(problems, fmt.Sprintf("column %d: %s has %s %s, archtics query %s %s (%s)", i+1, reader, g.cols[i].Name, g.cols[i].Type, w.cols[i].Name, w.cols[i].Type, readerType(w.cols[i].Type)))
		}
	}
	if len(problems) > 0 {
		return problems
	}
	norm := func(rows [][]*string) [][]*string {
		for _, r := range rows {
			for i, v := range r {
				if v != nil && isFloat(w.cols[i].Type) {
					if f, err := strconv.ParseFloat(*v, 64); err == nil {
						s := strconv.FormatFloat(f, 'g', -1, 64)
						r[i] = &s
					}
				}
			}
		}
		return rows
	}
	gr, wr := norm(g.rows), norm(w.rows)
	onlyW, onlyG := multisetDiff(wr, gr)
	if len(onlyW)+len(onlyG) == 0 {
		return nil
	}
	problems = append(problems, fmt.Sprintf("%s has %d rows, archtics query %d; %d rows only in archtics query, %d only in %s",
		reader, len(gr), len(wr), len(onlyW), len(onlyG), reader))
	// Which columns differ: each column's values as a multiset.
	var differ []int
	for i, c := range w.cols {
		wc, gc := columnValues(wr, i), columnValues(gr, i)
		ow, og := multisetDiff(wc, gc)
		if len(ow)+len(og) > 0 {
			differ = append(differ, i)
			problems = append(problems, fmt.Sprintf("column %s (%s): %d values only in archtics query (e.g. %s), %d only in %s (e.g. %s)",
				c.Name, c.Type, len(ow), sample(ow), len(og), reader, sample(og)))
		}
	}
	// Sample rows: a query row with the reader's row that agrees with
	// it on every other column, when there is one, so the difference
	// shows; else rows from each side.
	same := func(r []*string) string {
		k := append([]*string(nil), r...)
		for _, i := range differ {
			k[i] = nil
		}
		return rowKey(k)
	}
	byRest := map[string][]*string{}
	for _, r := range onlyG {
		if _, ok := byRest[same(r)]; !ok {
			byRest[same(r)] = r
		}
	}
	shown := 0
	for _, r := range onlyW {
		if shown == 2 {
			break
		}
		shown++
		problems = append(problems, "only in archtics query: "+formatRow(w.cols, r))
		if m, ok := byRest[same(r)]; ok && len(differ) < len(w.cols) {
			var parts []string
			for _, i := range differ {
				parts = append(parts, w.cols[i].Name+"="+value(m[i]))
			}
			problems = append(problems, "  "+reader+" has that row with "+strings.Join(parts, " "))
		} else if shown <= len(onlyG) {
			problems = append(problems, "  only in "+reader+": "+formatRow(w.cols, onlyG[shown-1]))
		}
	}
	for i := shown; i < len(onlyG) && i < 2; i++ {
		problems = append(problems, "only in "+reader+": "+formatRow(w.cols, onlyG[i]))
	}
	return problems
}

func isFloat(duck string) bool { return duck == "DOUBLE" || duck == "FLOAT" || duck == "REAL" }

func columnValues(rows [][]*string, i int) [][]*string {
	out := make([][]*string, len(rows))
	for j, r := range rows {
		out[j] = []*string{r[i]}
	}
	return out
}

// multisetDiff is the rows of a missing from b and of b missing from a,
// each in its first order.
func multisetDiff(a, b [][]*string) (onlyA, onlyB [][]*string) {
	count := map[string]int{}
	for _, r := range b {
		count[rowKey(r)]++
	}
	for _, r := range a {
		k := rowKey(r)
		if count[k] > 0 {
			count[k]--
		} else {
			onlyA = append(onlyA, r)
		}
	}
	for _, r := range b {
		k := rowKey(r)
		if count[k] > 0 {
			count[k]--
			onlyB = append(onlyB, r)
		}
	}
	return onlyA, onlyB
}

func rowKey(r []*string) string {
	b, _ := json.Marshal(r)
	return string(b)
}

func sample(rows [][]*string) string {
	if len(rows) == 0 {
		return "none"
	}
	var s []string
	for i, r := range rows {
		if i == 3 {
			s = append(s, "...")
			break
		}
		s = append(s, value(r[0]))
	}
	return strings.Join(s, ", ")
}

func value(v *string) string {
	if v == nil {
		return "null"
	}
	if len(*v) > 80 {
		return strconv.Quote((*v)[:80]) + "..."
	}
	return strconv.Quote(*v)
}

func formatRow(cols []column, r []*string) string {
	var parts []string
	for i, c := range cols {
		parts = append(parts, c.Name+"="+value(r[i]))
	}
	return strings.Join(parts, " ")
}

func diffSets(want, got []string) (missing, extra []string) {
	in := func(s []string) map[string]bool {
		m := map[string]bool{}
		for _, x := range s {
			m[x] = true
		}
		return m
	}
	w, g := in(want), in(got)
	for _, x := range want {
		if !g[x] {
			missing = append(missing, x)
		}
	}
	for _, x := range got {
		if !w[x] {
			extra = append(extra, x)
		}
	}
	return missing, extra
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
