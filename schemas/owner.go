package schemas

import (
	"fmt"
	"strings"
)

// Owner templates of the product's streams. A team's clone owns its
// archtics.* partitions; a team's realtime feed owns its scans; the CRM
// stream owns crm.*.
const (
	CloneOwner    = "{team}/clone"
	RealtimeOwner = "{team}/realtime"
	CRMOwner      = "crm"
)

// SettingsOwner is a team's settings stream: it owns the team's admin
// settings (korebi.birulesettings_history), apart from {team}/realtime so
// an admin's `realtime criteria set` never conflicts with a tick.
const SettingsOwner = "{team}/settings"

// ownerSegments splits the owner template; a placeholder segment is
// returned as its column name with isVar set.
func (t *Table) ownerSegments() (segs []string, isVar []bool) {
	for _, s := range strings.Split(t.Owner, "/") {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			segs, isVar = append(segs, s[1:len(s)-1]), append(isVar, true)
			continue
		}
		segs, isVar = append(segs, s), append(isVar, false)
	}
	return segs, isVar
}

// validateOwner checks the owner template. A table without one (a view,
// a file written outside the warehouse) is valid but cannot be committed.
func (t *Table) validateOwner() error {
	if t.Owner == "" {
		return nil
	}
	segs, isVar := t.ownerSegments()
	for i, s := range segs {
		switch {
		case s == "":
			return fmt.Errorf("schemas: %s: owner %q has an empty segment", t.FullName(), t.Owner)
		case isVar[i] && !t.IsPartition(s):
			return fmt.Errorf("schemas: %s: owner %q names {%s}, which is not a partition column", t.FullName(), t.Owner, s)
		case !isVar[i] && strings.ContainsAny(s, "{}"):
			return fmt.Errorf("schemas: %s: owner %q: a placeholder must be a whole segment", t.FullName(), t.Owner)
		}
	}
	return nil
}

// OwnerStream returns the stream that owns the partition with the given
// values (partition column → value, as in the file's Hive path).
func (t *Table) OwnerStream(partition map[string]string) (string, error) {
	if t.Owner == "" {
		return "", fmt.Errorf("%s has no owner stream (schemas.Table.Owner): it is not a table the warehouse commits", t.FullName())
	}
	segs, isVar := t.ownerSegments()
	out := make([]string, len(segs))
	for i, s := range segs {
		if !isVar[i] {
			out[i] = s
			continue
		}
		v := partition[s]
		if v == "" || strings.Contains(v, "/") {
			return "", fmt.Errorf("%s: partition value %s=%q cannot name an owner stream (%s)", t.FullName(), s, v, t.Owner)
		}
		out[i] = v
	}
	return strings.Join(out, "/"), nil
}

// OwnedBy reports whether stream can own partitions of t: it matches the
// owner template, a placeholder standing for one segment.
func (t *Table) OwnedBy(stream string) bool {
	if t.Owner == "" {
		return false
	}
	segs, isVar := t.ownerSegments()
	parts := strings.Split(stream, "/")
	if len(parts) != len(segs) {
		return false
	}
	for i, s := range segs {
		if parts[i] == "" || (!isVar[i] && parts[i] != s) {
			return false
		}
	}
	return true
}
