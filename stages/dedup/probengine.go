package dedup

// The probabilistic rule set in the engine (RulesProbabilistic; the
// model: probabilistic.go). KORE's non-negotiables stay: accounts are
// matched to contacts in the found-first order, the first mapped is the
// primary and overwrites the contact, later ones are secondary.
//
// An account is weighed against each candidate contact's own fields (a
// pre-existing contact: name, email, one phone, address; no birth date)
// and against every account already mapped to it; its weight with the
// contact is the highest of those, so a new account can match a person
// through any of their accounts (as the evidence rule's index does). It
// goes to the contact of the highest weight at or above the model's
// threshold (ties: ContactBefore), else makes a new contact.
//
// KORE's rules 1 to 3 are not tried first: rule 1 joins whoever shares
// an email (a household's, a company's inbox), which is what the model's
// first name and birth date weigh against; rules 2 and 3 hold only where
// the model's weight is already high (names, address or phone equal).
//
// Candidates come from blocking keys, each walked for at most
// maxProbWalk entries, the latest first: the birth date; the first name,
// the surname's initial and the birth year (a mistyped date); each
// surname word, the house number and the postal code (a mistyped
// street); the email; each phone; the address (the last three unless
// many accounts hold them: maxKeyShare). A pair that shares none of them
// shares no identifier the model could weigh, or only a name.

// maxProbWalk bounds the entries read per blocking key, and the records
// read per candidate contact: a key thousands share (a placeholder date,
// a company inbox) says nothing the model could use.
const maxProbWalk = 64

// probRule is what the engine keeps for the probabilistic rule set.
type probRule struct {
	s      *scorer
	recs   chunked[pRec] // by mapping index; known false: none
	heads  map[uint64]int32
	owner  chunked[int32] // entry -> mapping index (>= 0) or -(contact index + 1)
	next   chunked[int32] // entry -> previous entry of the same key, -1 none
	keyBuf []uint64
	seen   []uint32 // per contact: the round that last saw it
	round  uint32
	cand   []int32
	// contactIndexed marks pre-existing contacts whose own fields are
	// indexed; own is those fields as they are now, by contact index.
	contactIndexed []bool
	own            []pRec
}

func newProbRule(m *Model) *probRule {
	return &probRule{s: newScorer(m), heads: map[uint64]int32{}}
}

// maxKeyShare: an email, phone or address more accounts than this hold
// (a company's office, switchboard or inbox) is no blocking key: its
// walk would read strangers, and a person's accounts there share a
// name and house number (the surname key) or their own identifiers.
const maxKeyShare = 16

// common reports whether more than maxKeyShare fitted accounts hold value
// v of field f.
func (x *probRule) common(f int, v uint64) bool {
	return x.s.m.Fields[f].TF[v] > maxKeyShare
}

// keys appends record p's blocking keys to dst.
func (x *probRule) keys(p *pRec, dst []uint64) []uint64 {
	if p.birth != 0 {
		dst = append(dst, valueHash('b')^mix64(uint64(p.birth)))
		if p.first != "" && p.last != "" {
			dst = append(dst, keyHash('y', p.first, p.last[:1])^mix64(uint64(p.birth/10000)))
		}
	}
	if p.postal != 0 {
		for i := 0; ; {
			s, e := nextField(p.last, i)
			if s == e {
				break
			}
			dst = append(dst, keyHash('l', p.last[s:e], p.num)^mix64(p.postal))
			i = e
		}
	}
	if p.email != 0 && !x.common(fEmail, p.email) {
		dst = append(dst, mix64(p.email^'e'))
	}
	for _, ph := range p.phones {
		if ph != 0 && !x.common(fPhone, uint64(ph)) {
			dst = append(dst, valueHash('p')^mix64(uint64(ph)))
		}
	}
	if p.addr != 0 && !x.common(fAddress, p.addr) {
		dst = append(dst, mix64(p.addr^'a'))
	}
	return dst
}

func (x *probRule) add(owner int32, p *pRec) {
	x.keyBuf = x.keys(p, x.keyBuf[:0])
	for _, k := range x.keyBuf {
		prev, ok := x.heads[k]
		if !ok {
			prev = -1
		}
		x.heads[k] = x.owner.push(owner)
		x.next.push(prev)
	}
}

// probRecOf is account a's record: pn when given (normalised ahead),
// else made from r.
func probRecOf(a *Account, r *rec, pn *pRec) pRec {
	if pn != nil && pn.known {
		return *pn
	}
	return pRecOfAccount(a, r)
}

// of is mapping mi's record, nil when the engine has none.
func (x *probRule) of(mi int32) *pRec {
	if mi >= x.recs.len() {
		return nil
	}
	if p := x.recs.at(mi); p.known {
		return p
	}
	return nil
}

// probKnow records mapping mi's account record and indexes it.
func (e *Engine) probKnow(mi int32, p *pRec) {
	if old := e.pb.of(mi); old != nil && *old == *p {
		return
	}
	for e.pb.recs.len() <= mi {
		e.pb.recs.push(pRec{})
	}
	*e.pb.recs.at(mi) = *p
	e.pb.add(mi, p)
}

// indexContactProb keeps a pre-existing contact's own fields as they are
// now (called whenever they change) and indexes them, once: a contact
// an account overwrote is found through that account's keys.
func (e *Engine) indexContactProb(ci int32) {
	x := e.pb
	if x == nil || !e.contacts.at(ci).crm {
		return
	}
	for len(x.own) <= int(ci) {
		x.own = append(x.own, pRec{})
		x.contactIndexed = append(x.contactIndexed, false)
	}
	n := e.contacts.at(ci).n.rec()
	x.own[ci] = pRecOfContact(&n)
	if !x.contactIndexed[ci] {
		x.contactIndexed[ci] = true
		x.add(-(ci + 1), &x.own[ci])
	}
}

// probWith is account record p's weight with contact ci: the highest
// over the contact's own fields (a pre-existing contact) and its
// accounts but skip. Valid false: nothing to weigh against.
func (e *Engine) probWith(p *pRec, ci, skip int32) Weights {
	var best Weights
	take := func(w Weights) {
		if !best.Valid || w.Total > best.Total {
			best = w
		}
	}
	x := e.contacts.at(ci)
	if x.crm && int(ci) < len(e.pb.own) {
		take(e.pb.s.weigh(p, &e.pb.own[ci]))
	}
	k := 0
	for q := x.firstMp; q >= 0 && k < maxProbWalk; q = e.mapNext[q] {
		if q == skip {
			continue
		}
		if o := e.pb.of(q); o != nil {
			k++
			take(e.pb.s.weigh(p, o))
		}
	}
	return best
}

// probBest finds the contact of the highest weight at or above the
// threshold for account record p, -1 for none; skip is the account's own
// mapping (-1: none).
func (e *Engine) probBest(p *pRec, skip int32) (int32, Weights) {
	x := e.pb
	x.round++
	if x.round == 0 {
		clear(x.seen)
		x.round = 1
	}
	if n := int(e.contacts.len()); len(x.seen) < n {
		x.seen = append(x.seen, make([]uint32, n-len(x.seen))...)
	}
	x.cand = x.cand[:0]
	x.keyBuf = x.keys(p, x.keyBuf[:0])
	for _, k := range x.keyBuf {
		h, ok := x.heads[k]
		if !ok {
			continue
		}
		walked := 0
		for q := h; q >= 0 && walked < maxProbWalk; q = *x.next.at(q) {
			walked++
			o := *x.owner.at(q)
			var ci int32
			if o >= 0 {
				if o == skip || e.pb.of(o) == nil {
					continue
				}
				ci = e.maps.at(o).contact
			} else {
				ci = -o - 1
			}
			if x.seen[ci] != x.round {
				x.seen[ci] = x.round
				x.cand = append(x.cand, ci)
			}
		}
	}
	bi, bw := int32(-1), Weights{}
	th := x.s.m.Threshold
	for _, ci := range x.cand {
		w := e.probWith(p, ci, skip)
		if !w.Valid || w.Total < th {
			continue
		}
		if bi < 0 || w.Total > bw.Total || w.Total == bw.Total && ContactBefore(&e.contacts.at(ci).c, &e.contacts.at(bi).c) {
			bi, bw = ci, w
		}
	}
	return bi, bw
}
