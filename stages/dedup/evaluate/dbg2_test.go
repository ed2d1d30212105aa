package evaluate

import (
	"testing"

	"archtics/simulator"
	"archtics/stages/dedup"
)

func TestDbg2(t *testing.T) {
	w, _ := simulator.NewWorldLazy(simulator.DefaultConfig())
	_, pairs := w.CRMTruth()
	in := Load(w)
	for _, p := range pairs {
		if p.ContactID == "C1001310" {
			t.Logf("%+v", p)
			d := in.Dump[dedup.AccountRef{Team: p.Account.Team, AcctID: p.Account.AcctID}]
			t.Logf("%+v", *d)
		}
	}
	for _, c := range in.CRM.Contacts {
		if c.ID == "C1001310" {
			t.Logf("%+v", c)
			for _, a := range in.CRM.Accounts {
				if a.ID == c.AccountID {
					t.Logf("%+v", a)
				}
			}
		}
	}
}
