package interop

import (
	"strings"
	"testing"
)

func s(v string) *string { return &v }

// TestCompareTable checks that the comparison finds each kind of
// difference a reader can make, names it, and accepts what is equal.
func TestCompareTable(t *testing.T) {
	query := []column{{"team", "VARCHAR"}, {"id", "BIGINT"}, {"price", "DOUBLE"}, {"paid", "DECIMAL(18,2)"}}
	reader := []column{{"team", "string"}, {"id", "long"}, {"price", "double"}, {"paid", "decimal(18, 2)"}}
	rows := func(rs ...[]*string) [][]*string { return rs }
	cases := []struct {
		name      string
		got, want [][]*string
		gotCols   []column
		// want: a substring of every problem expected, none when equal.
		problems []string
	}{
		{name: "equal in another order, floats printed apart",
			want: rows([]*string{s("nhl"), s("1"), s("1e+21"), s("409.00")}, []*string{s("arena"), s("2"), nil, nil}),
			got:  rows([]*string{s("arena"), s("2"), nil, nil}, []*string{s("nhl"), s("1"), s("1000000000000000000000"), s("409.00")})},
		{name: "partition column read as null",
			want: rows([]*string{s("nhl"), s("1"), s("0.5"), s("1.00")}, []*string{s("nhl"), s("2"), s("0.5"), s("1.00")}),
			got:  rows([]*string{nil, s("1"), s("0.5"), s("1.00")}, []*string{nil, s("2"), s("0.5"), s("1.00")}),
			problems: []string{"icebird has 2 rows, archtics query 2; 2 rows only in archtics query, 2 only in icebird",
				`column team (VARCHAR): 2 values only in archtics query (e.g. "nhl", "nhl"), 2 only in icebird (e.g. null, null)`,
				`only in archtics query: team="nhl" id="1"`, "icebird has that row with team=null",
				`only in archtics query: team="nhl" id="2"`, "icebird has that row with team=null"}},
		{name: "a duplicated row is a difference",
			want: rows([]*string{s("nhl"), s("1"), nil, nil}, []*string{s("nhl"), s("2"), nil, nil}),
			got:  rows([]*string{s("nhl"), s("1"), nil, nil}, []*string{s("nhl"), s("1"), nil, nil}),
			problems: []string{"1 rows only in archtics query, 1 only in icebird", `column id (BIGINT): 1 values only in archtics query (e.g. "2")`,
				`only in archtics query: team="nhl" id="2"`, `icebird has that row with id="1"`}},
		{name: "a row missing",
			want: rows([]*string{s("nhl"), s("1"), nil, nil}, []*string{s("nhl"), s("2"), nil, nil}),
			got:  rows([]*string{s("nhl"), s("1"), nil, nil}),
			problems: []string{"icebird has 1 rows, archtics query 2", `column team (VARCHAR): 1 values only in archtics query (e.g. "nhl"), 0 only in icebird (e.g. none)`,
				"column id", "column price", "column paid", `only in archtics query: team="nhl" id="2" price=null paid=null`}},
		{name: "a column of another type",
			gotCols:  []column{{"team", "string"}, {"id", "int"}, {"price", "double"}, {"paid", "decimal(18,2)"}},
			problems: []string{"column 2: icebird has id int, archtics query id BIGINT (long)"}},
		{name: "a column missing",
			gotCols:  reader[:3],
			problems: []string{"columns: icebird has 3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gc := reader
			if c.gotCols != nil {
				gc = c.gotCols
			}
			got := compareTable("icebird", &result{cols: gc, rows: c.got}, &result{cols: query, rows: c.want}, icebergType)
			if len(got) != len(c.problems) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(c.problems), strings.Join(got, "\n"))
			}
			for i, p := range c.problems {
				if !strings.Contains(got[i], p) {
					t.Errorf("problem %d is %q, want it to contain %q", i, got[i], p)
				}
			}
		})
	}
}

func TestTableProblems(t *testing.T) {
	ok := &result{cols: []column{{"id", "long"}}}
	cases := []struct {
		name  string
		g, w  *result
		known bool
		want  string
	}{
		{"reader failed", &result{err: "offset is out of bounds"}, ok, true, "icebird failed: offset is out of bounds"},
		{"reader silent", nil, ok, true, "icebird printed nothing for it"},
		{"unknown to query", ok, nil, false, "archtics query knows no such table"},
		{"query failed", ok, &result{err: "Binder Error: x\nmore"}, true, "archtics query failed: Binder Error: x"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := tableProblems("icebird", c.g, c.w, c.known, icebergType)
			if len(got) != 1 || got[0] != c.want {
				t.Errorf("got %q, want [%q]", got, c.want)
			}
		})
	}
}

func TestDiffSets(t *testing.T) {
	missing, extra := diffSets([]string{"a.x", "b.y", "c.z"}, []string{"b.y", "d.w"})
	if strings.Join(missing, ",") != "a.x,c.z" || strings.Join(extra, ",") != "d.w" {
		t.Errorf("diffSets: missing %v, extra %v; want [a.x c.z] and [d.w]", missing, extra)
	}
}
