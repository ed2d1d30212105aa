package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rule is one arrow the module forbids. Patterns are go list's: "x/..."
// is x and every package below it, anything else one package.
type rule struct {
	name      string
	importers []string // module packages the rule applies to
	except    []string // importers it does not apply to
	forbid    []string // what they must not depend on
	allow     []string // within forbid, what they may depend on
	// tests checks the importers' test files' own imports instead of the
	// packages' dependencies (what their non-test files link).
	tests bool
	// onlyWith names a package the rule waits for: while the module has
	// no such package the rule reports nothing (the test logs that it did
	// not apply), so a rule can be written before the change that makes
	// it hold lands.
	onlyWith string
	reason   string
}

var rules = []rule{
	{
		name:      "product-without-simulator",
		importers: []string{"archtics/..."},
		except:    []string{"archtics/simulator/...", "archtics/cmd/archtics", "archtics/internal/gamedaytest"},
		forbid:    []string{"archtics/simulator/..."},
		reason: "the product never depends on the simulator outside tests; cmd/archtics alone may, " +
			"as it runs the demo and archtics simulate; internal/gamedaytest is test support (next rule)",
	},
	{
		name:      "gamedaytest-only-in-tests",
		importers: []string{"archtics/..."},
		forbid:    []string{"archtics/internal/gamedaytest"},
		reason:    "internal/gamedaytest builds a simulated game day for tests: no package may import it outside its tests",
	},
	{
		name:      "simulator-without-product",
		importers: []string{"archtics/simulator/..."},
		forbid:    []string{"archtics/..."},
		allow:     []string{"archtics/simulator/...", "archtics/ats", "archtics/schemas", "archtics/internal/..."},
		reason: "the simulator stands in for Archtics: it shares the client of its API (ats), the table " +
			"definitions (schemas) and internal helpers, nothing else of the product",
	},
	{
		name:      "simulator-tests-without-product",
		importers: []string{"archtics/simulator/..."},
		forbid:    []string{"archtics/..."},
		allow:     []string{"archtics/simulator/...", "archtics/ats", "archtics/schemas", "archtics/internal/..."},
		tests:     true,
		reason: "the simulator's tests use the client as the stages do; a test that runs a stage " +
			"against the simulator belongs beside the stage",
	},
	{
		name:      "client-stands-alone",
		importers: []string{"archtics/ats"},
		forbid:    []string{"archtics/..."},
		allow:     []string{"archtics/ats", "archtics/internal/..."},
		reason:    "the stages and the simulator's tests both use the client: it may depend on neither",
	},
	{
		name:      "log-without-engine-or-cloud",
		importers: []string{"archtics/pipeline/txlog"},
		forbid:    []string{"github.com/duckdb/...", "github.com/aws/...", "archtics/..."},
		allow:     []string{"archtics/pipeline/txlog", "archtics/storage", "archtics/schemas"},
		reason: "the commit log reads and writes through storage.Store alone and knows tables through " +
			"schemas: the backends, the writer and DuckDB sit around it",
	},
	{
		name:      "writer-without-engine-or-backend",
		importers: []string{"archtics/pipeline", "archtics/pipeline/check", "archtics/pipeline/vacuum", "archtics/icebergcat"},
		forbid:    []string{"github.com/duckdb/...", "github.com/aws/...", "archtics/storage/backend", "archtics/pipeline/views"},
		reason: "every stage that commits imports pipeline: only pipeline/views links DuckDB, and the " +
			"backend is chosen in cmd",
	},
	{
		name:      "stages-without-backend",
		importers: []string{"archtics/stages/..."},
		forbid:    []string{"github.com/aws/...", "archtics/storage/backend"},
		reason:    "a stage works on the warehouse it is given; cmd chooses where it lives",
	},
	{
		name:      "archtics-without-iceberg-library",
		importers: []string{"archtics/cmd/archtics", "archtics/icebergcat/layout"},
		forbid:    []string{"github.com/apache/iceberg-go/...", "archtics/icebergcat", "archtics/icebergcat/publishcmd"},
		reason: "the Iceberg library's package initialisation costs every process that links it a long " +
			"start: archtics runs archtics-iceberg to publish and links only icebergcat/layout",
	},
	{
		name:      "sql-free-stages-without-engine",
		importers: []string{"archtics/stages/changes", "archtics/stages/dedup/...", "archtics/ats"},
		forbid:    []string{"github.com/duckdb/..."},
		reason:    "a stage that reads no SQL does not link DuckDB's cgo driver",
	},
}

// pkg is what the rules read of go list -json's output.
type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
	DepOnly      bool
	Module       *struct{ Main bool }
	Error        *struct{ Err string }
}

// graph is a module's packages with every package they depend on.
type graph struct {
	pkgs   map[string]*pkg
	module []string // the main module's packages, sorted
}

// match reports whether path is matched by pattern, as go list matches
// it: "x/..." is x and everything below it.
func match(pattern, path string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pattern
}

func matchAny(patterns []string, path string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return match(p, path) })
}

// check returns one line per offending dependency of r, and whether r
// applied (false when its onlyWith package does not exist).
func (g *graph) check(r rule) (offences []string, applied bool) {
	if r.onlyWith != "" && !slices.Contains(g.module, r.onlyWith) {
		return nil, false
	}
	forbidden := func(path string) bool { return matchAny(r.forbid, path) && !matchAny(r.allow, path) }
	for _, imp := range g.module {
		if !matchAny(r.importers, imp) || matchAny(r.except, imp) {
			continue
		}
		p := g.pkgs[imp]
		if r.tests {
			// Direct imports suffice: what those packages link is
			// checked by the rules on them.
			seen := map[string]bool{}
			for _, dep := range slices.Concat(p.TestImports, p.XTestImports) {
				if forbidden(dep) && !seen[dep] {
					seen[dep] = true
					offences = append(offences, fmt.Sprintf("%s: a test imports %s", imp, dep))
				}
			}
			continue
		}
		// Breadth first over the imports, so that each offence comes with
		// the shortest chain that brings it in; a forbidden package is
		// reported, not entered, so a library's own packages are not
		// listed one by one.
		from := map[string]string{imp: ""}
		queue := []string{imp}
		for len(queue) > 0 {
			cur := queue[0]
			queue = queue[1:]
			q := g.pkgs[cur]
			if q == nil {
				continue
			}
			for _, dep := range q.Imports {
				if _, ok := from[dep]; ok {
					continue
				}
				from[dep] = cur
				if forbidden(dep) {
					chain := []string{dep}
					for at := cur; at != ""; at = from[at] {
						chain = append(chain, at)
					}
					slices.Reverse(chain)
					offences = append(offences, strings.Join(chain, " -> "))
					continue
				}
				queue = append(queue, dep)
			}
		}
	}
	return offences, true
}

// loadGraph runs go list over the module. "go" is the go command that
// runs the test: go test puts its own GOROOT/bin first on PATH.
func loadGraph(t *testing.T) *graph {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	cmd := exec.Command("go", "list", "-e", "-deps", "-json=ImportPath,Imports,TestImports,XTestImports,DepOnly,Module,Error", "./...")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list in %s: %v\n%s", cmd.Dir, err, stderr.String())
	}
	g := &graph{pkgs: map[string]*pkg{}}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(pkg)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list's output: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list: %s: %s (the module must build for its imports to be checked)", p.ImportPath, p.Error.Err)
		}
		g.pkgs[p.ImportPath] = p
		if !p.DepOnly && p.Module != nil && p.Module.Main {
			g.module = append(g.module, p.ImportPath)
		}
	}
	slices.Sort(g.module)
	return g
}

// TestArchitecture checks every rule against the module's imports and
// reports each offending dependency with the chain that brings it in.
func TestArchitecture(t *testing.T) {
	g := loadGraph(t)
	if !slices.Contains(g.module, "archtics/internal/archtest") {
		t.Fatalf("go list found %d packages of the main module, not this one: it ran in the wrong folder", len(g.module))
	}
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			if r.onlyWith == "" && !slices.ContainsFunc(g.module, func(p string) bool { return matchAny(r.importers, p) }) {
				t.Fatalf("no package matches %v: the rule checks nothing (a package moved?)", r.importers)
			}
			offences, applied := g.check(r)
			if !applied {
				t.Logf("not applied: %s does not exist yet", r.onlyWith)
				return
			}
			for _, o := range offences {
				t.Errorf("%s: %s", o, r.reason)
			}
		})
	}
}

// TestCheck runs the checker over a small made-up module, one arrow per
// case, so that a rule that passes is known to be able to fail.
func TestCheck(t *testing.T) {
	g := &graph{pkgs: map[string]*pkg{}}
	add := func(path string, main bool, imports ...string) *pkg {
		p := &pkg{ImportPath: path, Imports: imports}
		if main {
			p.Module = &struct{ Main bool }{true}
			g.module = append(g.module, path)
		}
		g.pkgs[path] = p
		return p
	}
	add("m/stages", true, "m/internal/help", "m/pipeline")
	add("m/internal/help", true, "m/sim")
	add("m/pipeline", true, "ext/duck")
	add("m/sim", true, "m/schemas")
	add("m/schemas", true)
	add("m/cmd", true, "m/sim", "m/stages")
	add("ext/duck", false, "ext/duck/internal")
	add("ext/duck/internal", false)
	add("m/simtests", true).XTestImports = []string{"m/stages", "m/schemas"}
	slices.Sort(g.module)

	for _, tc := range []struct {
		name    string
		r       rule
		applied bool
		want    []string
	}{
		{"transitive, with its chain",
			rule{importers: []string{"m/..."}, except: []string{"m/sim/...", "m/cmd"}, forbid: []string{"m/sim/..."}},
			true, []string{"m/internal/help -> m/sim", "m/stages -> m/internal/help -> m/sim"}},
		{"exempt importer",
			rule{importers: []string{"m/cmd"}, except: []string{"m/cmd"}, forbid: []string{"m/sim"}},
			true, nil},
		{"allowed within forbidden",
			rule{importers: []string{"m/sim"}, forbid: []string{"m/..."}, allow: []string{"m/schemas"}},
			true, nil},
		{"a library reported once, not its packages",
			rule{importers: []string{"m/stages"}, forbid: []string{"ext/duck/..."}},
			true, []string{"m/stages -> m/pipeline -> ext/duck"}},
		{"tests' direct imports",
			rule{importers: []string{"m/simtests"}, forbid: []string{"m/..."}, allow: []string{"m/schemas"}, tests: true},
			true, []string{"m/simtests: a test imports m/stages"}},
		{"waits for a package",
			rule{importers: []string{"m/pipeline"}, forbid: []string{"ext/duck/..."}, onlyWith: "m/pipeline/log"},
			false, nil},
		{"applies once the package exists",
			rule{importers: []string{"m/pipeline"}, forbid: []string{"ext/duck/..."}, onlyWith: "m/pipeline"},
			true, []string{"m/pipeline -> ext/duck"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, applied := g.check(tc.r)
			if applied != tc.applied || !slices.Equal(got, tc.want) {
				t.Errorf("check = %q, applied %t; want %q, applied %t", got, applied, tc.want, tc.applied)
			}
		})
	}
}
