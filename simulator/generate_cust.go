package simulator

import (
	"sort"
	"strconv"
)

type addr struct {
	num           int
	street        string
	stype         int
	unit          string
	city, state   string
	zip, zip4     string
	foreignPostal bool
	areaCode      string // the telephone area code of the place
	ent           uint64 // what the address denotes (see officeEnt)
}

func (a addr) line1(spelling int) string {
	types := streetTypes[a.stype]
	return strconv.Itoa(a.num) + " " + a.street + " " + types[spelling%len(types)]
}

// custRow is one version of one archtics.cust row.
type custRow struct {
	acct      int32 // account index
	k         int32 // name slot: 0 primary, 1 secondary, 2-3 others, 4 a name shared with another account
	nameID    int32 // cust_name_id when not the slot's own (a shared name), else 0
	primary   string
	status    string
	acctType  string
	company   string
	first, mi string
	last      string
	street1   string
	street2   string
	city      string
	state     string
	zip       string
	phoneDay  string
	phoneEve  string
	phoneCell string
	email     string
	birth     int32 // -1 NULL
	since     int32
	household int32 // 0 NULL
	add, upd  int64

	// What the values denote, for the CRM truth (never written): the
	// person's first or last name (ord*2, ord*2+1; 0 unknown), the
	// address (addr.ent) and the company (index+1; 0 none).
	firstEnt, lastEnt uint64
	addrEnt           uint64
	companyEnt        int32
}

// custNameID is the row's cust_name_id.
func (c *custRow) custNameID() int32 {
	if c.nameID != 0 {
		return c.nameID
	}
	return nameBase + c.acct*4 + c.k
}

type custVersion struct {
	row  custRow
	com  int64
	gone int64 // the row vanishes then (its account merged away, the name removed); 0 never
}

func (tg *teamGen) emitCust(s sink, c *custRow) {
	s.str(tg.name)
	s.i64(int64(acctID(c.acct)))
	s.i64(int64(c.custNameID()))
	s.str(c.primary)
	s.str(c.status)
	s.str(c.acctType)
	s.str(c.company)
	s.str(c.first)
	s.str(c.mi)
	s.str(c.last)
	s.str(c.street1)
	s.str(c.street2)
	s.str(c.city)
	s.str(c.state)
	s.str(c.zip)
	s.str(c.phoneDay)
	s.str(c.phoneEve)
	s.str(c.phoneCell)
	s.str(c.email)
	s.date(c.birth)
	s.date(c.since)
	i32OrNull(s, c.household)
	s.ts(c.add)
	s.ts(c.upd)
}

func custKey(team string, acct, nameID int32) string {
	return team + "|" + strconv.Itoa(int(acctID(acct))) + "|" + strconv.Itoa(int(nameID))
}

// Account timeline events.
const (
	aeBulk = iota // first on ties: a bulk update keeps its exact second
	aeMove
	aePhone
	aeEmail
	aeInactive
	aeLate
	aeBump
	aeAddName
	aeRemoveName
)

type acctEvent struct {
	t    int64
	kind int
	k    int32
	com  int64 // aeLate: commit instant
}

// presentation is how an account shows its person: the address, phone and
// email before and after the timeline's changes.
type presentation struct {
	addr, oldAddr   addr
	cell, oldCell   string
	email, oldEmail string
}

const nameSlots = 5 // 0 primary, 1 secondary, 2-3 others, 4 shared

// genAccount generates every version of every customer name row of
// account i, grouped by name slot, each slot's versions in time order.
// buf is reused.
func (tg *teamGen) genAccount(i int32, buf []custVersion) []custVersion {
	g := tg.g
	var r rng
	r.seed(g.cfg.Seed, uint64(tg.ti), kAccount, uint64(i))
	pt, pi := tg.personOf(i)
	p := g.person(pt, pi)
	typ := tg.acctType[i]
	variant := tg.variant[i]
	add := tg.acctAdd[i]
	limit := g.end
	gone := tg.goneAt(i)
	if gone != 0 {
		limit = gone - 1
	}
	special := tg.special(i)

	// Account-level habits of whoever typed it in.
	spelling := r.intn(3)
	phFmt := r.weighted(phoneWeights)

	pr := presentation{addr: p.home, oldAddr: p.old, cell: p.cell, oldCell: p.oldCell, email: p.email, oldEmail: p.oldEmail}
	first, last, mi := p.first, p.last, ""
	firstEnt, lastEnt := p.ord*2, p.ord*2+1
	if r.chance(0.4) {
		mi = p.mi
	}
	company := ""
	companyEnt := int32(0)
	phoneDay := ""
	household := tg.householdOf(i)
	if emp := tg.accountCompanyOf(i, &p); emp >= 0 {
		// A corporate account: the company as this box office types it,
		// the work email (or the company's shared inbox), the work
		// phone, the office address.
		company, _ = companySpelling(&r, emp)
		if special {
			company = companies[emp].name
		}
		companyEnt = int32(emp) + 1
		work, workPhone := p.workEmail, p.workPhone
		if variant == vEmployer {
			work, workPhone = p.oldWorkEmail, p.oldWorkPhone
		}
		if c := tg.inboxCompany(i); c >= 0 {
			work = companyInbox(c)
		}
		pr.email, pr.oldEmail = work, work
		phoneDay = workPhone
		pr.addr = companyOffice(emp)
		pr.oldAddr = pr.addr
		household = 0
	}
	switch variant {
	case vTypo:
		if r.chance(0.6) {
			last = typo(&r, last)
		} else {
			first = typo(&r, first)
		}
	case vNickname:
		if n := nickname(&r, first); n != first {
			first = n
		} else {
			first = typo(&r, first)
		}
	case vSwapped:
		first, last = last, first
		firstEnt, lastEnt = lastEnt, firstEnt
	case vFormat:
		pr.email = mixCase(&r, pr.email)
		phFmt = (phFmt + 1 + r.intn(phFormats-1)) % phFormats
		spelling++
	case vEmployer:
		pr.cell = p.oldCell
	case vStaleAddress:
		pr.addr = p.old
		pr.oldAddr = p.old
		pr.cell = p.oldCell
	}
	// Households: a member's own account at the head's address, often
	// under the head's last name and the household's shared email; the
	// head's account under the family email when there is one.
	if h := tg.hhHead[i]; h != i && variant == vOriginal && companyEnt == 0 {
		q := g.person(tg.ti, h)
		pr.addr, pr.oldAddr = q.home, q.home
		if tg.hhTakesLast(i) {
			last, lastEnt = q.last, q.ord*2+1
		}
		switch tg.hhKind(h) {
		case hhSpouse:
			pr.email, pr.oldEmail = q.email, q.email
		case hhFamily:
			fam := g.familyEmail(tg.ti, h)
			pr.email, pr.oldEmail = fam, fam
		}
	} else if tg.hasMembers(i) && tg.hhKind(i) == hhFamily && variant == vOriginal {
		fam := g.familyEmail(tg.ti, i)
		pr.email, pr.oldEmail = fam, fam
	}
	if typ == atTest {
		first, last, mi = "Test", "Account "+strconv.Itoa(int(i)), ""
		firstEnt, lastEnt = 0, 0
		pr.email = "boxoffice+test" + strconv.Itoa(int(i)) + "@harborviewarena.com"
		pr.oldEmail = pr.email
		company, companyEnt, phoneDay, household = "", 0, "", 0
		pr.addr = addr{num: 100, street: "Harbor", stype: 8, city: "Boston", state: "MA", zip: "02110", ent: testAddrEnt}
		pr.oldAddr = pr.addr
	}
	// The seed's stories stay clean: they are about employers, not typos.
	// Both accounts of each person carry the personal email (as the CRM
	// contact does), so each matches the contact whatever was loaded
	// first; the current one has the current work phone.
	if special {
		pr.email, pr.oldEmail = p.email, p.email
	}
	// Dirt anyone might type.
	if !special && r.chance(0.015) {
		last += " "
	}
	if !special && r.chance(0.02) {
		first, last = upper(first), upper(last)
	}
	if !special && variant != vExact && variant != vFormat && r.chance(0.03) {
		pr.email = mixCase(&r, pr.email)
	}
	missingEmail := !special && variant != vExact && company == "" && r.chance(0.07)
	missingCell := !special && r.chance(0.15)
	if variant == vMissing {
		if r.chance(0.7) {
			missingEmail = true
		}
		if r.chance(0.5) {
			missingCell = true
		}
	}
	zipPlus4 := r.chance(0.08) || variant == vFormat
	street2Dirt := ""
	if i == dirtNewline || r.chance(0.002) {
		street2Dirt = "Attn: Receiving\nDock 4" // a line break a bulk export must escape
	}
	if companyEnt != 0 && !special && (i == dirtSeparator || r.chance(0.01)) {
		company = separatorSpelling(int(companyEnt - 1)) // a separator inside a value, same company
	}

	var birth int32 = -1
	if r.chance(0.6) && typ != atTest {
		birth = p.birth
	}
	since := g.clock.date(add)
	if r.chance(0.3) {
		since -= int32(r.intn(5 * 365))
	}

	// Timeline.
	var evs []acctEvent
	hasMove := variant != vEmployer && variant != vStaleAddress && typ != atTest && companyEnt == 0 && !tg.inHousehold(i) && r.chance(0.12)
	hasPhone := r.chance(0.08)
	hasEmail := company == "" && !missingEmail && typ != atTest && r.chance(0.06)
	if limit > add+2*3600 {
		if hasMove {
			evs = append(evs, acctEvent{t: g.clock.rand(&r, add+3600, limit), kind: aeMove})
		}
		if hasPhone {
			evs = append(evs, acctEvent{t: g.clock.rand(&r, add+3600, limit), kind: aePhone})
		}
		if hasEmail {
			evs = append(evs, acctEvent{t: g.clock.rand(&r, add+3600, limit), kind: aeEmail})
		}
		if r.chance(0.02) {
			evs = append(evs, acctEvent{t: g.clock.rand(&r, add+3600, limit), kind: aeInactive})
		}
	} else {
		hasMove, hasPhone, hasEmail = false, false, false
	}
	for _, b := range []bulkSpec{tg.bulkBefore, tg.bulkAfter} {
		if b.at != 0 && i >= b.from && i < b.to && add < b.at && b.at <= limit {
			evs = append(evs, acctEvent{t: b.at, kind: aeBulk})
		}
	}
	late, isLate := tg.lateCust[i]
	lateInsert := isLate && late.upd == add
	if isLate && !lateInsert && late.upd > add && late.upd <= limit {
		evs = append(evs, acctEvent{t: late.upd, kind: aeLate, com: late.com})
	}
	for _, mk := range tg.winnerMerge[i] {
		if m := tg.merges[mk]; m.at > add && m.at <= limit {
			evs = append(evs, acctEvent{t: m.at, kind: aeBump})
		}
	}

	// Name rows.
	var rows [nameSlots]custRow
	var exists [nameSlots]bool
	var insertAt, removedAt [nameSlots]int64
	base := custRow{acct: i, status: "A", acctType: acctTypes[typ], company: company, birth: -1, since: since, household: household, add: add,
		companyEnt: companyEnt}
	rows[0] = base
	rows[0].primary, rows[0].first, rows[0].mi, rows[0].last = "Primary", first, mi, last
	rows[0].firstEnt, rows[0].lastEnt = firstEnt, lastEnt
	rows[0].birth = birth
	rows[0].phoneDay = formatPhone(phoneDay, phFmt)
	if r.chance(0.2) {
		rows[0].phoneEve = formatPhone(p.homePhone, phFmt)
	}
	insertAt[0] = add
	nNames := 1
	pNames := 0.35
	if company != "" {
		pNames = 0.15
	}
	if typ != atTest && r.chance(pNames) {
		nNames = 2
		if r.chance(0.2) {
			nNames += 1 + r.intn(2)
		}
	}
	for k := 1; k < nNames; k++ {
		row := base
		row.k = int32(k)
		row.primary = "Other"
		if k == 1 {
			row.primary = "Secondary"
		}
		row.first = drawGiven(&r, p.female != (k == 1))
		row.last = last
		if k == 1 && r.chance(0.25) {
			row.last = drawSurname(&r)
		}
		if company != "" && k > 1 {
			row.first, row.last = "Accounts", "Payable"
		}
		if r.chance(0.4) {
			row.email = nameEmail(&r, tg.ti, i, int32(k), row.first, row.last)
		}
		if r.chance(0.3) {
			row.phoneCell = formatPhone(genPhone(&r, pr.addr.areaCode), phFmt)
		}
		if k == 1 && r.chance(0.5) {
			row.birth = p.birth + int32(r.between(-2000, 2000))
		}
		rows[k] = row
		insertAt[k] = add
		if r.chance(0.3) && limit > add+2*3600 {
			insertAt[k] = g.clock.rand(&r, add+3600, limit)
			evs = append(evs, acctEvent{t: insertAt[k], kind: aeAddName, k: int32(k)})
		}
	}
	// Removed names: a secondary or other name taken off the account now
	// and then. The row vanishes; nothing in the change API says so.
	var rd rng
	rd.seed(g.cfg.Seed, uint64(tg.ti), kDelete, uint64(i))
	for k := 1; k < nNames; k++ {
		if rd.chance(0.12) && limit > insertAt[k]+3*3600 {
			removedAt[k] = g.clock.rand(&rd, insertAt[k]+2*3600, limit)
			evs = append(evs, acctEvent{t: removedAt[k], kind: aeRemoveName, k: int32(k)})
		}
	}
	// A household member's account also lists the head's primary name,
	// with the head's cust_name_id, as the head's account had it when the
	// member's account was opened.
	if h := tg.hhHead[i]; h != i {
		head := tg.genAccount(h, nil)
		v := -1
		for k := range head {
			if head[k].row.k == 0 && head[k].row.upd <= add {
				v = k
			}
		}
		if v >= 0 {
			hr := head[v].row
			row := base
			row.k, row.nameID, row.primary = 4, hr.custNameID(), "Other"
			row.first, row.mi, row.last, row.birth = hr.first, hr.mi, hr.last, hr.birth
			row.phoneDay, row.phoneEve, row.phoneCell, row.email = hr.phoneDay, hr.phoneEve, hr.phoneCell, hr.email
			row.street1, row.street2, row.city, row.state, row.zip = hr.street1, hr.street2, hr.city, hr.state, hr.zip
			rows[4] = row
			insertAt[4] = max(add, head[v].com)
			exists[4] = true
		}
	}
	// Initial values of the fields the timeline changes.
	setAddr := func(a addr) {
		for k := 0; k < nameSlots-1; k++ {
			rows[k].street1 = a.line1(spelling)
			rows[k].street2 = a.unit
			if street2Dirt != "" && k == 0 {
				rows[k].street2 = street2Dirt
			}
			rows[k].city, rows[k].state, rows[k].zip = a.city, a.state, a.zip
			if zipPlus4 && a.zip4 != "" {
				rows[k].zip = a.zip + "-" + a.zip4
			}
			rows[k].addrEnt = a.ent
		}
	}
	if hasMove {
		setAddr(pr.oldAddr)
	} else {
		setAddr(pr.addr)
	}
	cell := pr.cell
	if hasPhone {
		cell = pr.oldCell
	}
	if !missingCell {
		rows[0].phoneCell = formatPhone(cell, phFmt)
	}
	email := pr.email
	if hasEmail {
		email = pr.oldEmail
	}
	if !missingEmail {
		rows[0].email = email
	}

	sort.SliceStable(evs, func(a, b int) bool {
		if evs[a].t != evs[b].t {
			return evs[a].t < evs[b].t
		}
		return evs[a].kind < evs[b].kind
	})
	// Per slot: versions, strictly increasing upd, non-decreasing commits.
	var out [nameSlots][]custVersion
	emit := func(k int, t, com int64) {
		row := rows[k]
		if n := len(out[k]); n > 0 {
			prev := out[k][n-1]
			if t <= prev.row.upd {
				t = prev.row.upd + 1
			}
			if com < t {
				com = t
			}
			if com < prev.com {
				com = prev.com // a row lock: a version cannot commit before the one it replaces
			}
		}
		row.upd = t
		row.add = insertAt[k]
		out[k] = append(out[k], custVersion{row: row, com: com})
	}
	commitOf := func(t int64) int64 {
		// A version now and then commits a little after its upd_date (a
		// long transaction): an incremental pull that starts exactly at
		// its last high-water mark misses it.
		if r.chance(0.003) {
			return t + int64(r.between(2, 240))
		}
		return t
	}
	for k := 0; k < nNames; k++ {
		if insertAt[k] == add {
			exists[k] = true
			com := commitOf(add)
			if lateInsert {
				com = late.com
			}
			emit(k, add, com)
		}
	}
	if exists[4] {
		emit(4, insertAt[4], insertAt[4])
	}
	for _, ev := range evs {
		switch ev.kind {
		case aeMove:
			setAddr(pr.addr)
			for k := 0; k < nNames; k++ {
				if exists[k] {
					emit(k, ev.t, commitOf(ev.t))
				}
			}
			continue
		case aePhone:
			rows[0].phoneCell = formatPhone(pr.cell, phFmt)
		case aeEmail:
			rows[0].email = pr.email
		case aeInactive:
			rows[0].status = "I"
		case aeBulk:
			// The phone clean-up job rewrites every number in one format.
			rows[0].phoneDay = reformat(rows[0].phoneDay)
			rows[0].phoneEve = reformat(rows[0].phoneEve)
			rows[0].phoneCell = reformat(rows[0].phoneCell)
			emit(0, ev.t, ev.t)
			continue
		case aeLate:
			rows[0].phoneEve = formatPhone(p.homePhone, phParens)
			emit(0, ev.t, ev.com)
			continue
		case aeBump:
			emit(0, ev.t, ev.t)
			continue
		case aeAddName:
			exists[ev.k] = true
			emit(int(ev.k), ev.t, commitOf(ev.t))
			continue
		case aeRemoveName:
			exists[ev.k] = false
			continue
		}
		emit(0, ev.t, commitOf(ev.t))
	}
	buf = buf[:0]
	for k := 0; k < nameSlots; k++ {
		g := gone
		if removedAt[k] != 0 && (g == 0 || removedAt[k] < g) {
			g = removedAt[k]
		}
		for _, v := range out[k] {
			v.gone = g
			buf = append(buf, v)
		}
	}
	return buf
}

// accountCompanyOf is accountCompany for an account whose person is at hand.
func (tg *teamGen) accountCompanyOf(i int32, p *person) int {
	if !isCompany(tg.acctType[i]) && tg.variant[i] != vEmployer {
		return -1
	}
	if tg.variant[i] == vEmployer {
		return p.oldEmployer
	}
	return p.employer
}

// reformat writes a phone number as (617) 555-1234, whatever it was.
func reformat(s string) string {
	if s == "" {
		return s
	}
	return formatPhone(normPhone(s), phParens)
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
