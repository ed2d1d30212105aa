package simulator

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"archtics/schemas"
)

// primaryAt returns the primary customer name rows of every team at t, by
// team and acct_id.
func primaryAt(w *World, t time.Time) map[AccountRef]Row {
	out := map[AccountRef]Row{}
	pc := col(schemas.Cust, "primary_code")
	for _, team := range w.Teams() {
		for _, r := range w.StateAt(team, schemas.Cust, t) {
			if r[pc] == "Primary" {
				a, _ := strconv.Atoi(r[1])
				out[AccountRef{team, int32(a)}] = r
			}
		}
	}
	return out
}

func lowerEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// TestExactEmailAgreesWithTruth is the done-when of the issue: KORE's
// exact-email rule, applied to the CRM's contacts and the accounts'
// primary names as the dump holds them, matches each contact only to
// accounts of the person the truth says it is, for every contact whose
// email the truth does not mark as shared; and it finds exactly the pairs
// the truth says agree on email.
func TestExactEmailAgreesWithTruth(t *testing.T) {
	t.Run("small", func(t *testing.T) { exactEmailAgreesWithTruth(t, small(t)) })
	t.Run("default", func(t *testing.T) {
		// The size the audit used: 20,000 accounts a team, 2,500 contacts.
		if testing.Short() {
			t.Skip("default-size world: skipped with -short")
		}
		w, err := NewWorld(DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		exactEmailAgreesWithTruth(t, w)
	})
}

func exactEmailAgreesWithTruth(t *testing.T, w *World) {
	dumpAt := w.Cutoff().Add(-time.Nanosecond)
	byEmail := map[string][]AccountRef{}
	for ref, r := range primaryAt(w, dumpAt) {
		if e := lowerEmail(r[col(schemas.Cust, "email_addr")]); e != "" {
			byEmail[e] = append(byEmail[e], ref)
		}
	}
	contacts, _ := w.CRM()
	truth, pairs := w.CRMTruth()
	if len(truth) != len(contacts) {
		t.Fatalf("%d truth rows for %d contacts", len(truth), len(contacts))
	}
	truthEmail := map[string]map[AccountRef]bool{}
	for _, p := range pairs {
		for _, rule := range p.Rules {
			if rule == RuleEmail {
				if truthEmail[p.ContactID] == nil {
					truthEmail[p.ContactID] = map[AccountRef]bool{}
				}
				truthEmail[p.ContactID][p.Account] = true
			}
		}
	}
	var matched, right, ambiguous, ambiguousOther int
	for i, c := range contacts {
		tr := truth[i]
		if tr.ContactID != c.ID {
			t.Fatalf("truth row %d is %s, contact %s", i, tr.ContactID, c.ID)
		}
		got := byEmail[lowerEmail(c.Email)]
		if lowerEmail(c.Email) == "" {
			got = nil
		}
		if len(got) != len(truthEmail[c.ID]) {
			t.Errorf("%s (%s): exact email matches %d accounts, the truth says %d", c.ID, c.Email, len(got), len(truthEmail[c.ID]))
		}
		for _, ref := range got {
			if !truthEmail[c.ID][ref] {
				t.Errorf("%s: exact email matches %v, not in the truth's pairs", c.ID, ref)
			}
		}
		if tr.SharedEmail != "" {
			ambiguous++
			for _, ref := range got {
				if w.PersonOf(ref.Team, ref.AcctID) != c.Person {
					ambiguousOther++
				}
			}
			continue
		}
		if len(got) > 0 {
			matched++
		}
		for _, ref := range got {
			if p := w.PersonOf(ref.Team, ref.AcctID); p != c.Person || c.Person == "" {
				t.Errorf("%s (%s, person %q, story %s): exact email matches %v, which is person %s", c.ID, c.Email, c.Person, c.Story, ref, p)
			} else {
				right++
			}
		}
	}
	t.Logf("%d contacts: %d matched by exact email (%d accounts, all the right person), %d with a shared email (%d matches to another person)",
		len(contacts), matched, right, ambiguous, ambiguousOther)
	if matched < len(contacts)/4 {
		t.Errorf("only %d of %d contacts match an account by exact email", matched, len(contacts))
	}
	if ambiguous == 0 {
		t.Errorf("no contact holds a shared email: the ambiguous case is not exercised")
	}
}

// TestEmailsUniqueExceptShared: across every team, an email on the primary
// names of two different people's accounts, at any time, is one the truth
// lists as shared on purpose.
func TestEmailsUniqueExceptShared(t *testing.T) {
	w := small(t)
	shared := map[string]map[string]bool{}
	kinds := map[string]int{}
	for _, s := range w.SharedEmails() {
		if shared[s.Email] == nil {
			shared[s.Email] = map[string]bool{}
			kinds[s.Kind]++
		}
		shared[s.Email][s.Person] = true
	}
	for _, k := range []string{"household", "family", "company_inbox"} {
		if kinds[k] == 0 {
			t.Errorf("no shared email of kind %s", k)
		}
	}
	for _, at := range []time.Time{w.Cutoff(), w.End()} {
		holders := map[string]map[string]bool{}
		for ref, r := range primaryAt(w, at) {
			e := lowerEmail(r[col(schemas.Cust, "email_addr")])
			if e == "" {
				continue
			}
			if holders[e] == nil {
				holders[e] = map[string]bool{}
			}
			holders[e][w.PersonOf(ref.Team, ref.AcctID)] = true
		}
		many := 0
		for e, ps := range holders {
			if len(ps) < 2 {
				continue
			}
			many++
			for p := range ps {
				if !shared[e][p] {
					t.Errorf("%s is held by %d people, %s among them, and is not recorded as shared", e, len(ps), p)
				}
			}
		}
		if many == 0 {
			t.Errorf("no email is on several people's accounts at %v", at)
		}
	}
}

// TestNameFrequencies: names are drawn from pools of realistic size and
// skew: few people share their full name with someone else in a small
// client, and the most common surname is far more common than the median.
func TestNameFrequencies(t *testing.T) {
	if SurnameCount() < 3000 || GivenNameCount() < 300 {
		t.Fatalf("%d surnames and %d given names: want thousands and hundreds", SurnameCount(), GivenNameCount())
	}
	w := small(t)
	full := map[string]int{}
	last := map[string]int{}
	people := 0
	for ref, r := range primaryAt(w, w.End()) {
		if w.PersonOf(ref.Team, ref.AcctID) != ref.Team+"-"+strconv.Itoa(int(ref.AcctID)) || r[col(schemas.Cust, "acct_type_desc")] == "Test" {
			continue // duplicates and test accounts
		}
		people++
		f, l := strings.ToLower(strings.TrimSpace(r[col(schemas.Cust, "name_first")])), strings.ToLower(strings.TrimSpace(r[col(schemas.Cust, "name_last")]))
		full[f+" "+l]++
		last[l]++
	}
	sharing := 0
	for _, n := range full {
		if n > 1 {
			sharing += n
		}
	}
	if share := float64(sharing) / float64(people); share > 0.1 {
		t.Errorf("%.1f%% of %d people share their full name with someone else: want a realistic few percent", 100*share, people)
	}
	if len(last) < people/3 {
		t.Errorf("%d distinct last names among %d people", len(last), people)
	}
	top := 0
	for _, n := range last {
		top = max(top, n)
	}
	if top < 5 {
		t.Errorf("the most common last name is held by %d people: the pool is not skewed like real names", top)
	}
}

// TestAddressesAgree: every US address is a real (city, state, ZIP) of the
// places table, there are many cities, unit lines exist, and households
// share their household_id and address.
func TestAddressesAgree(t *testing.T) {
	if rows, cities := USPlaceCount(); rows < 200 || cities < 100 {
		t.Fatalf("places table: %d rows, %d cities", rows, cities)
	}
	w := small(t)
	c := schemas.Cust
	cities := map[string]bool{}
	units := map[string]int{}
	foreign := 0
	byAcct := map[AccountRef]Row{}
	for _, team := range w.Teams() {
		for _, r := range w.StateAt(team, c, w.End()) {
			city, state, zip := r[col(c, "city")], r[col(c, "state")], r[col(c, "zip")]
			switch state {
			case "QC", "ON", "NS", "NB":
				foreign++
				continue
			}
			if !IsUSPlace(city, state, zip) {
				t.Errorf("%s acct %s: %s, %s %s is not a real place", team, r[1], city, state, zip)
			}
			cities[city+"|"+state] = true
			if u := r[col(c, "street_addr_2")]; u != "" {
				units[strings.Fields(u)[0]]++
			}
			if r[col(c, "primary_code")] == "Primary" {
				a, _ := strconv.Atoi(r[1])
				byAcct[AccountRef{team, int32(a)}] = r
			}
		}
	}
	if len(cities) < 60 {
		t.Errorf("%d cities: want many more than 26", len(cities))
	}
	for _, u := range []string{"Apt", "Suite", "Unit"} {
		if units[u] == 0 {
			t.Errorf("no %s line in street_addr_2 (%v)", u, units)
		}
	}
	if foreign == 0 {
		t.Errorf("no Canadian fan")
	}
	hh := map[[2]string][]HouseholdMember{}
	for _, m := range w.Households() {
		k := [2]string{m.Team, strconv.Itoa(int(m.HouseholdID))}
		hh[k] = append(hh[k], m)
	}
	if len(hh) < 20 {
		t.Fatalf("%d households of several accounts", len(hh))
	}
	members := 0
	for k, ms := range hh {
		addrOf := map[string]string{}
		for _, m := range ms {
			r, ok := byAcct[AccountRef{m.Team, m.AcctID}]
			if !ok {
				continue // merged away by the end
			}
			if got := r[col(c, "household_id")]; got != k[1] {
				t.Errorf("%s acct %d: household_id %s, the truth says %s", m.Team, m.AcctID, got, k[1])
			}
			addrOf[m.Role] = r[col(c, "city")] + "|" + normPostal(r[col(c, "zip")])
			if m.Role == "member" {
				members++
				if head, ok := addrOf["head"]; ok && addrOf["member"] != head {
					t.Errorf("%s acct %d lives at %s, the head of its household at %s", m.Team, m.AcctID, addrOf["member"], head)
				}
			}
		}
	}
	if members == 0 {
		t.Errorf("no household has a member")
	}
}

// TestSharedCustomerNames: some cust_name_id belongs to several accounts,
// and those rows name the same person.
func TestSharedCustomerNames(t *testing.T) {
	w := small(t)
	c := schemas.Cust
	for _, team := range w.Teams() {
		byName := map[string][]Row{}
		for _, r := range w.StateAt(team, c, w.End()) {
			id := r[col(c, "cust_name_id")]
			byName[id] = append(byName[id], r)
		}
		shared := 0
		for id, rows := range byName {
			if len(rows) < 2 {
				continue
			}
			shared++
			for _, r := range rows[1:] {
				if r[1] == rows[0][1] {
					t.Errorf("%s: cust_name_id %s twice in account %s", team, id, r[1])
				}
				for _, f := range []string{"name_first", "name_last"} {
					if r[col(c, f)] != rows[0][col(c, f)] {
						t.Errorf("%s: cust_name_id %s is %q in one account, %q in another", team, id, rows[0][col(c, f)], r[col(c, f)])
					}
				}
			}
		}
		if shared == 0 {
			t.Errorf("%s: no customer name belongs to several accounts", team)
		}
	}
}

// TestCompanySpellings: every company_name maps back to one company, and
// to the company the account's person works (or worked) for, whatever the
// spelling, a '|' inside it included.
func TestCompanySpellings(t *testing.T) {
	kinds := map[string]bool{}
	seen := map[string]int{}
	for _, s := range CompanySpellings() {
		kinds[s.Kind] = true
		low := strings.ToLower(s.Spelling)
		if o, ok := seen[low]; ok && o != s.CompanyID {
			t.Errorf("spelling %q belongs to companies %d and %d", s.Spelling, o, s.CompanyID)
		}
		seen[low] = s.CompanyID
		if CompanyOf(s.Spelling) != s.CompanyID {
			t.Errorf("CompanyOf(%q) = %d, want %d", s.Spelling, CompanyOf(s.Spelling), s.CompanyID)
		}
	}
	for _, k := range []string{"canonical", "suffix", "ampersand", "abbreviation", "acronym", "case", "typo", "separator"} {
		if !kinds[k] {
			t.Errorf("no company spelling of kind %s", k)
		}
	}
	w := small(t)
	used := map[string]int{}
	pipes := 0
	for ref, r := range primaryAt(w, w.End()) {
		name := r[col(schemas.Cust, "company_name")]
		if name == "" {
			continue
		}
		tg := w.g.byName[ref.Team]
		want := tg.accountCompany(ref.AcctID - acctBase)
		got := CompanyOf(name)
		if got < 0 || got != want {
			t.Errorf("%v: company_name %q is company %d, the account's person is at company %d", ref, name, got, want)
		}
		for _, s := range CompanySpellings() {
			if s.Spelling == name {
				used[s.Kind]++
			}
		}
		if strings.Contains(name, "|") {
			pipes++
		}
	}
	if pipes == 0 || used["canonical"] == 0 || used["typo"]+used["abbreviation"]+used["suffix"] == 0 {
		t.Errorf("company spellings in use: %v, %d with a '|'", used, pipes)
	}
}
