package txlog

import (
	"fmt"
	"strings"
)

// HiveDefaultPartition is the path value of a NULL or empty partition value,
// as Hive (and DuckDB's reader) spell it.
const HiveDefaultPartition = "__HIVE_DEFAULT_PARTITION__"

// EscapePathValue escapes a partition name or value the way Hive's
// FileUtils.escapePathName does: control characters and
// " # % ' * / : = ? \ { [ ] ^ DEL become %XX, so a value can never add a
// path level or an '=' and DuckDB's hive reader decodes it back.
func EscapePathValue(s string) string {
	need := false
	for i := 0; i < len(s); i++ {
		if hiveEscape(s[i]) {
			need = true
			break
		}
	}
	if !need {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if hiveEscape(c) {
			fmt.Fprintf(&sb, "%%%02X", c)
			continue
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

func hiveEscape(c byte) bool {
	if c < 0x20 || c == 0x7F {
		return true
	}
	switch c {
	case '"', '#', '%', '\'', '*', '/', ':', '=', '?', '\\', '{', '[', ']', '^':
		return true
	}
	return false
}

// TablePrefixOf returns "<schema>/<table>/" of a data key.
func TablePrefixOf(key string) string {
	if strings.HasPrefix(key, IcebergPrefix) {
		// The Iceberg metadata over the committed files (icebergcat):
		// derived from the log, neither a table file nor an orphan.
		return ""
	}
	parts := strings.SplitN(key, "/", 3)
	if len(parts) < 3 {
		return ""
	}
	return parts[0] + "/" + parts[1] + "/"
}
