package schemas

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// notInAll names the exported *Table variables deliberately left out of
// All, each with the reason. None today.
var notInAll = map[string]string{}

// TestAllListsEveryTable: All holds each definition once (no nil, no two
// with the same name), the derived clone tables of every source table, and
// every exported *Table variable of the package, read from the source so
// that a new table added without a line in All fails here.
func TestAllListsEveryTable(t *testing.T) {
	seen := map[string]bool{}
	for i, tb := range All {
		if tb == nil {
			t.Fatalf("All[%d] is nil", i)
		}
		if seen[tb.FullName()] {
			t.Errorf("%s is twice in All", tb.FullName())
		}
		seen[tb.FullName()] = true
	}
	for _, src := range SourceTables {
		for _, tb := range []*Table{src, Changes(src), Base(src), Archive(src), Current(src), History(src)} {
			if tb == nil || !slices.Contains(All, tb) {
				t.Errorf("a clone table of %s is not in All", src.FullName())
			}
		}
	}

	vars, listed := tableVars(t)
	if len(vars) == 0 {
		t.Fatal("found no exported *Table variable in the package's source")
	}
	for name := range vars {
		_, excepted := notInAll[name]
		switch {
		case listed[name] && excepted:
			t.Errorf("%s is in All and in notInAll: remove it from one", name)
		case !listed[name] && !excepted:
			t.Errorf("%s is an exported *Table but not in All: add it to All (all.go), or to notInAll with the reason", name)
		}
	}
	// The converse keeps the source reading honest: every variable All
	// names must have been recognized as a table above.
	for name := range listed {
		if !vars[name] {
			t.Errorf("All names %s, which the source reading did not find as an exported *Table variable", name)
		}
	}
}

// tableVars reads the package's non-test Go files and returns the names
// of its exported package-level *Table variables (declared *Table, or set
// to &Table{...} or to a call of a package function returning *Table) and
// the variables named as elements of All's literal.
func tableVars(t *testing.T) (vars, listed map[string]bool) {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var parsed []*ast.File
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
	}
	isTablePtr := func(e ast.Expr) bool {
		star, ok := e.(*ast.StarExpr)
		if !ok {
			return false
		}
		id, ok := star.X.(*ast.Ident)
		return ok && id.Name == "Table"
	}
	returnsTable := map[string]bool{}
	for _, f := range parsed {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if ok && fn.Recv == nil && fn.Type.Results != nil && len(fn.Type.Results.List) == 1 &&
				isTablePtr(fn.Type.Results.List[0].Type) {
				returnsTable[fn.Name.Name] = true
			}
		}
	}
	isTableValue := func(e ast.Expr) bool {
		switch v := e.(type) {
		case *ast.UnaryExpr:
			lit, ok := v.X.(*ast.CompositeLit)
			if !ok || v.Op != token.AND {
				return false
			}
			id, ok := lit.Type.(*ast.Ident)
			return ok && id.Name == "Table"
		case *ast.CallExpr:
			id, ok := v.Fun.(*ast.Ident)
			return ok && returnsTable[id.Name]
		}
		return false
	}
	vars, listed = map[string]bool{}, map[string]bool{}
	foundAll := false
	for _, f := range parsed {
		for _, d := range f.Decls {
			gen, ok := d.(*ast.GenDecl)
			if !ok || gen.Tok != token.VAR {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if name.Name == "All" {
						foundAll = true
						lit, ok := vs.Values[i].(*ast.CompositeLit)
						if !ok {
							t.Fatal("All is not a composite literal: list the tables in it (all.go)")
						}
						for _, el := range lit.Elts {
							if id, ok := el.(*ast.Ident); ok {
								listed[id.Name] = true
							}
						}
						continue
					}
					if !name.IsExported() {
						continue
					}
					if (vs.Type != nil && isTablePtr(vs.Type)) || (i < len(vs.Values) && isTableValue(vs.Values[i])) {
						vars[name.Name] = true
					}
				}
			}
		}
	}
	if !foundAll {
		t.Fatal("no var All in the package's source")
	}
	return vars, listed
}
