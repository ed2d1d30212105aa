package schemas

import (
	"fmt"
	"strings"
)

// ReadSet returns tables (default: every known table) with the tables
// their views depend on (Table.DependsOn, transitively), each
// once, every table after its dependencies, so views can be created in
// that order. extra are definitions beyond All (a warehouse's own).
func ReadSet(tables, extra []*Table) ([]*Table, error) {
	if len(tables) == 0 {
		tables = append(append([]*Table(nil), All...), extra...)
	}
	known := append(append([]*Table(nil), tables...), extra...)
	const visiting, done = 1, 2
	state := map[string]int{}
	var out []*Table
	var visit func(t *Table, path []string) error
	visit = func(t *Table, path []string) error {
		name := t.FullName()
		switch state[name] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("the views of %s depend on each other in a cycle: fix DependsOn in schemas", strings.Join(append(path, name), " -> "))
		}
		state[name] = visiting
		for _, d := range t.DependsOn {
			dt := lookupView(d, known)
			if dt == nil {
				return fmt.Errorf("the view of %s depends on %s, which is not a known table: fix DependsOn in schemas", name, d)
			}
			if err := visit(dt, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = done
		out = append(out, t)
		return nil
	}
	for _, t := range tables {
		if err := visit(t, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// lookupView finds the table whose view SQL calls name (SQLName):
// DependsOn names what a view's SELECT reads.
func lookupView(name string, extra []*Table) *Table {
	for _, t := range append(append([]*Table(nil), extra...), All...) {
		if t.SQLName() == name {
			return t
		}
	}
	return nil
}
