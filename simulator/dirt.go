package simulator

import "strings"

// Dirt: the small ways one person's data differs between records typed by
// different people at different times. Each function is deterministic in
// its rng.

// typo transposes two adjacent letters, drops one or doubles one.
func typo(r *rng, s string) string {
	if len(s) < 4 {
		return s + s[len(s)-1:]
	}
	i := 1 + r.intn(len(s)-2) // keep the first letter: people rarely get it wrong
	switch r.intn(3) {
	case 0:
		if s[i] == s[i+1] {
			return s[:i] + s[i+1:]
		}
		return s[:i] + string(s[i+1]) + string(s[i]) + s[i+2:]
	case 1:
		return s[:i] + s[i+1:]
	default:
		return s[:i] + string(s[i]) + s[i:]
	}
}

// nickname returns a short form of first, or first when it has none.
func nickname(r *rng, first string) string {
	if n, ok := nicknames[first]; ok {
		return pick(r, n)
	}
	return first
}

// Phone formats seen in box-office data.
const (
	phDigits = iota // 6175551234
	phDashes        // 617-555-1234
	phParens        // (617) 555-1234
	phDots          // 617.555.1234
	phIntl          // +1 617 555 1234
	phFormats
)

var phoneWeights = []float64{30, 35, 20, 10, 5}

func formatPhone(digits string, f int) string {
	if len(digits) != 10 {
		return digits
	}
	a, b, c := digits[:3], digits[3:6], digits[6:]
	switch f {
	case phDashes:
		return a + "-" + b + "-" + c
	case phParens:
		return "(" + a + ") " + b + "-" + c
	case phDots:
		return a + "." + b + "." + c
	case phIntl:
		return "+1 " + a + " " + b + " " + c
	}
	return digits
}

// mixCase capitalises an email's local part the way people type it
// ("Gabriel.Tremblay@...", "JSMITH@AOL.COM").
func mixCase(r *rng, email string) string {
	if r.chance(0.3) {
		return strings.ToUpper(email)
	}
	local, domain, ok := strings.Cut(email, "@")
	if !ok {
		return email
	}
	parts := strings.Split(local, ".")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, ".") + "@" + domain
}

// emailLocal strips what cannot be in an email's local part.
func emailLocal(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteByte(c)
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		}
	}
	return b.String()
}
