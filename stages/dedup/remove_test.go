package dedup

import (
	"testing"
	"time"
)

// TestRemove: a deleted primary leaves its contact, which keeps its
// fields and promotes its next account; the state no longer maps it, and
// it is no longer evidence.
func TestRemove(t *testing.T) {
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, rules := range []string{RulesKORE, RulesEvidence} {
		e, err := New(Config{Rules: rules, Now: func() time.Time { return day }}, State{})
		if err != nil {
			t.Fatal(err)
		}
		a := Account{AccountRef: AccountRef{"nhl", 1}, AddDate: day, First: "Ann", Last: "Lee", Email: "ann.lee@gmail.com", PhoneCell: "617-555-0111"}
		b := Account{AccountRef: AccountRef{"nhl", 2}, AddDate: day.Add(time.Hour), First: "Ann", Last: "Lee", Email: "ann.lee@gmail.com"}
		ra, _ := e.Add(&a)
		rb, _ := e.Add(&b)
		if rb.Mapping.ContactID != ra.Mapping.ContactID || rb.Mapping.Role != Secondary {
			t.Fatalf("%s: b %+v, want a secondary of a's contact", rules, rb.Mapping)
		}
		res, err := e.Remove(a.AccountRef)
		if err != nil {
			t.Fatal(err)
		}
		if res.Mapping.Account != a.AccountRef || res.Mapping.Role != Primary || len(res.Others) != 1 ||
			res.Others[0].Account != b.AccountRef || res.Others[0].Role != Primary {
			t.Fatalf("%s: Remove(a) = %+v, want a's old mapping and b promoted", rules, res)
		}
		st := e.State()
		if len(st.Mapping) != 1 || st.Mapping[0].Account != b.AccountRef {
			t.Fatalf("%s: mapping after Remove: %+v", rules, st.Mapping)
		}
		if c := st.Contacts[0]; c.Primary == nil || *c.Primary != b.AccountRef || c.Phone != "617-555-0111" {
			t.Fatalf("%s: contact after Remove: %+v, want b primary and a's phone kept", rules, c)
		}
		if _, err := New(Config{Rules: rules}, st); err != nil {
			t.Fatalf("%s: the state after Remove does not load: %v", rules, err)
		}
		if _, err := e.Remove(a.AccountRef); err == nil {
			t.Fatalf("%s: a second Remove: no error", rules)
		}
		// a's cell is no evidence any more: under the evidence rules a
		// new account sharing only it (and the names) makes its own contact.
		c := Account{AccountRef: AccountRef{"nhl", 3}, AddDate: day.Add(2 * time.Hour), First: "Ann", Last: "Lee", Email: "alee@work.com", PhoneCell: "6175550111"}
		rc, _ := e.Add(&c)
		if rc.Mapping.Rule != RuleNew {
			t.Fatalf("%s: c %+v, want a new contact (a's cell went with a)", rules, rc.Mapping)
		}
		// Removing the last account leaves the contact without a primary.
		if _, err := e.Remove(b.AccountRef); err != nil {
			t.Fatal(err)
		}
		for _, ct := range e.State().Contacts {
			if ct.ID == ra.Mapping.ContactID && ct.Primary != nil {
				t.Fatalf("%s: contact without accounts keeps primary %v", rules, ct.Primary)
			}
		}
	}
}
