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
}

func (a addr) line1(spelling int) string {
	types := streetTypes[a.stype]
	return strconv.Itoa(a.num) + " " + a.street + " " + types[spelling%len(types)]
}

// person is the truth about one human: what the original account says
// when typed cleanly. Accounts present a person with dirt.
type person struct {
	female          bool
	first, mi, last string
	birth           int32 // days since epoch
	home, old       addr  // current and previous address
	cell, oldCell   string
	homePhone       string
	email, oldEmail string // personal
	employer        int    // index in companies, -1: none
	oldEmployer     int
	workPhone       string
	oldWorkPhone    string
	workEmail       string
	oldWorkEmail    string
}

var areaCodes = []string{"617", "617", "781", "508", "978", "339", "857", "401", "603", "413"}

func genPhone(r *rng) string {
	n := r.between(0, 9999)
	s := strconv.Itoa(10000 + n)[1:]
	return pick(r, areaCodes) + strconv.Itoa(r.between(200, 999)) + s
}

func genAddr(r *rng) addr {
	ci := pick(r, cities)
	a := addr{num: r.between(1, 2400), street: pick(r, streetNames), stype: r.intn(len(streetTypes)), city: ci.city, state: ci.state}
	if ci.state == "QC" {
		a.zip = ci.zip3 + " " + strconv.Itoa(r.intn(10)) + string(rune('A'+r.intn(26))) + strconv.Itoa(r.intn(10))
		a.foreignPostal = true
	} else {
		a.zip = ci.zip3 + strconv.Itoa(100 + r.intn(100))[1:]
		a.zip4 = strconv.Itoa(10000 + r.intn(10000))[1:]
	}
	switch r.intn(10) {
	case 0:
		a.unit = "Apt " + strconv.Itoa(r.between(1, 40))
	case 1:
		a.unit = "Unit " + strconv.Itoa(r.between(1, 12)) + string(rune('A'+r.intn(4)))
	case 2:
		a.unit = "#" + strconv.Itoa(r.between(100, 999))
	}
	return a
}

func personalEmail(r *rng, first, last string) string {
	f, l := emailLocal(first), emailLocal(last)
	d := pick(r, personalDomains)
	switch r.intn(6) {
	case 0:
		return f + l + "@" + d
	case 1:
		return f[:1] + l + "@" + d
	case 2:
		return f + "." + l + strconv.Itoa(r.between(1, 99)) + "@" + d
	case 3:
		return f + "_" + l + "@" + d
	case 4:
		return l + "." + f + "@" + d
	}
	return f + "." + l + "@" + d
}

func workEmail(first, last string, company int) string {
	return emailLocal(first) + "." + emailLocal(last) + "@" + companies[company].domain
}

// person generates the person whose original account is (ti, idx).
func (g *generator) person(ti int, idx int32) person {
	var r rng
	r.seed(g.cfg.Seed, uint64(ti), kPerson, uint64(idx))
	p := person{female: r.chance(0.48)}
	if p.female {
		p.first = pick(&r, femaleFirst)
	} else {
		p.first = pick(&r, maleFirst)
	}
	p.last = pick(&r, lastNames)
	if r.chance(0.5) {
		p.mi = string(rune('A' + r.intn(26)))
	}
	p.birth = dateOf(1940+r.intn(65), 1, 1) + int32(r.intn(365))
	p.home, p.old = genAddr(&r), genAddr(&r)
	p.cell, p.oldCell, p.homePhone = genPhone(&r), genPhone(&r), genPhone(&r)
	p.employer, p.oldEmployer = -1, r.intn(len(companies))
	if r.chance(0.35) {
		p.employer = r.intn(len(companies))
		if p.employer == p.oldEmployer {
			p.oldEmployer = (p.oldEmployer + 1) % len(companies)
		}
	}
	if ti < len(g.teams) && idx == g.teams[ti].tremblayNew {
		p.first, p.mi, p.last, p.female = "Gabriel", "", "Tremblay", false
		p.employer, p.oldEmployer = 0, 1 // Sporting Service Solutions Inc, TryNowDo Ltd
	}
	p.email = personalEmail(&r, p.first, p.last)
	p.oldEmail = emailLocal(p.first) + strconv.Itoa(r.between(1, 999)) + "@" + pick(&r, []string{"aol.com", "hotmail.com", "yahoo.com", "juno.com"})
	p.workPhone, p.oldWorkPhone = genPhone(&r), genPhone(&r)
	if p.employer >= 0 {
		p.workEmail = workEmail(p.first, p.last, p.employer)
	}
	p.oldWorkEmail = workEmail(p.first, p.last, p.oldEmployer)
	return p
}

// custRow is one version of one archtics.cust row.
type custRow struct {
	acct      int32 // account index
	k         int32 // name slot: 0 primary, 1 secondary, 2-3 others
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
}

type custVersion struct {
	row custRow
	com int64
}

func (tg *teamGen) emitCust(s sink, c *custRow) {
	s.str(tg.name)
	s.i64(int64(acctID(c.acct)))
	s.i64(int64(nameBase + c.acct*4 + c.k))
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

func custKey(team string, acct, k int32) string {
	return team + "|" + strconv.Itoa(int(acctID(acct))) + "|" + strconv.Itoa(int(nameBase+acct*4+k))
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
	if gone := tg.goneAt(i); gone != 0 {
		limit = gone - 1
	}

	// Account-level habits of whoever typed it in.
	spelling := r.intn(3)
	phFmt := r.weighted(phoneWeights)

	pr := presentation{addr: p.home, oldAddr: p.old, cell: p.cell, oldCell: p.oldCell, email: p.email, oldEmail: p.oldEmail}
	first, last, mi := p.first, p.last, ""
	if r.chance(0.4) {
		mi = p.mi
	}
	company := ""
	phoneDay := ""
	household := householdID0 + i
	if isCompany(typ) || variant == vEmployer {
		emp := p.employer
		if emp < 0 {
			emp = int(hash4(g.cfg.Seed, uint64(pt), kPerson, uint64(pi)) % uint64(len(companies)))
		}
		workEmail, workPhone := workEmail(p.first, p.last, emp), p.workPhone
		if variant == vEmployer {
			emp, workEmail, workPhone = p.oldEmployer, p.oldWorkEmail, p.oldWorkPhone
		}
		company = companies[emp].name
		pr.email, pr.oldEmail = workEmail, workEmail
		phoneDay = workPhone
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
	case vFormat:
		pr.email = mixCase(&r, pr.email)
		phFmt = (phFmt + 1 + r.intn(phFormats-1)) % phFormats
		spelling++
	case vEmployer, vStaleAddress:
		pr.addr = p.old
		pr.oldAddr = p.old
		pr.cell = p.oldCell
	}
	// Household sharing: a spouse's own account under the family email.
	if variant == vOriginal && !isCompany(typ) && i > 0 && tg.dupTeam[i-1] < 0 && !isCompany(tg.acctType[i-1]) &&
		tg.acctType[i-1] != atTest && r.chance(0.03) {
		q := g.person(tg.ti, i-1)
		pr.email, pr.oldEmail = q.email, q.email
		pr.addr, pr.oldAddr = q.home, q.home
		last = q.last
		household = householdID0 + i - 1
	}
	if typ == atTest {
		first, last, mi = "Test", "Account "+strconv.Itoa(int(i)), ""
		pr.email = "boxoffice+test" + strconv.Itoa(int(i)) + "@harborviewarena.com"
		pr.oldEmail = pr.email
		company, phoneDay, household = "", "", 0
		pr.addr = addr{num: 100, street: "Harbor", stype: 6, city: "Harbor City", state: "MA", zip: "02110"}
		pr.oldAddr = pr.addr
	}
	// The Tremblay pair stays clean: the case is about employers, not typos.
	// He bought for TryNowDo with his personal email, which is what the
	// CRM holds too; the new account carries his work email and phone.
	tremblay := i == tg.tremblayOld || i == tg.tremblayNew
	if i == tg.tremblayOld {
		pr.email, pr.oldEmail = p.email, p.email
	}
	// Dirt anyone might type.
	if !tremblay && r.chance(0.015) {
		last += " "
	}
	if !tremblay && r.chance(0.02) {
		first, last = upper(first), upper(last)
	}
	if !tremblay && variant != vExact && variant != vFormat && r.chance(0.03) {
		pr.email = mixCase(&r, pr.email)
	}
	missingEmail := !tremblay && variant != vExact && company == "" && r.chance(0.07)
	missingCell := !tremblay && r.chance(0.15)
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
	if company != "" && !tremblay && (i == dirtSeparator || r.chance(0.01)) {
		company = "Doyle | Kim Associates" // a separator inside a value
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
	hasMove := variant != vEmployer && variant != vStaleAddress && typ != atTest && r.chance(0.12)
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
	var rows [4]custRow
	var exists [4]bool
	var insertAt [4]int64
	base := custRow{acct: i, status: "A", acctType: acctTypes[typ], company: company, birth: -1, since: since, household: household, add: add}
	rows[0] = base
	rows[0].primary, rows[0].first, rows[0].mi, rows[0].last = "Primary", first, mi, last
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
		var fp []string
		if p.female == (k == 1) {
			fp = maleFirst
		} else {
			fp = femaleFirst
		}
		row.first = pick(&r, fp)
		row.last = last
		if k == 1 && r.chance(0.25) {
			row.last = pick(&r, lastNames)
		}
		if company != "" && k > 1 {
			row.first, row.last = "Accounts", "Payable"
		}
		if r.chance(0.4) {
			row.email = personalEmail(&r, row.first, row.last)
		}
		if r.chance(0.3) {
			row.phoneCell = formatPhone(genPhone(&r), phFmt)
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
	// Initial values of the fields the timeline changes.
	setAddr := func(a addr) {
		for k := 0; k < nNames; k++ {
			rows[k].street1 = a.line1(spelling)
			rows[k].street2 = a.unit
			if street2Dirt != "" && k == 0 {
				rows[k].street2 = street2Dirt
			}
			rows[k].city, rows[k].state, rows[k].zip = a.city, a.state, a.zip
			if zipPlus4 && a.zip4 != "" {
				rows[k].zip = a.zip + "-" + a.zip4
			}
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
	var out [4][]custVersion
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
		}
		emit(0, ev.t, commitOf(ev.t))
	}
	buf = buf[:0]
	for k := 0; k < nNames; k++ {
		buf = append(buf, out[k]...)
	}
	return buf
}

// reformat writes a phone number as (617) 555-1234, whatever it was.
func reformat(s string) string {
	if s == "" {
		return s
	}
	d := make([]byte, 0, 12)
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			d = append(d, s[i])
		}
	}
	if len(d) == 11 && d[0] == '1' {
		d = d[1:]
	}
	return formatPhone(string(d), phParens)
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
