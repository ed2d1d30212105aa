package dedup

// packedRec is a contact's normalised fields (a rec) as the engine keeps
// them: back to back in one string, with their ends. One allocation per
// contact instead of one per field, two words of pointers for the
// collector to scan instead of eleven, and a candidate's fields read from
// one place in memory when a block is compared (the fields of a rec
// unpacked are substrings, not copies).
type packedRec struct {
	s   string
	end [nRecFields]uint32
}

const nRecFields = 11

// pack copies r's fields into one string.
func pack(r *rec) packedRec {
	fields := [nRecFields]string{r.email, r.last, r.first, r.postal, r.phone,
		r.company.norm, r.company.initials, r.company.initialsAll, r.addr.Number, r.addr.Street, r.addr.Unit}
	var p packedRec
	n := 0
	for i, f := range fields {
		n += len(f)
		p.end[i] = uint32(n)
	}
	if n == 0 {
		return p
	}
	var stack [256]byte
	b := stack[:0]
	for _, f := range fields {
		b = append(b, f...)
	}
	p.s = string(b)
	return p
}

// rec unpacks the fields (substrings of p.s: no copy).
func (p *packedRec) rec() rec {
	var f [nRecFields]string
	start := uint32(0)
	for i, end := range p.end {
		f[i] = p.s[start:end]
		start = end
	}
	return rec{email: f[0], last: f[1], first: f[2], postal: f[3], phone: f[4],
		company: companyKey{norm: f[5], initials: f[6], initialsAll: f[7]}, addr: Address{Number: f[8], Street: f[9], Unit: f[10]}}
}
