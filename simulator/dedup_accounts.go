package simulator

import (
	"sync"
	"time"
)

// DumpAccount is one account's primary customer name as the dump holds it
// (the name the CRM truth compares, crm_truth.go's dumpPrimary), with the
// truth about it: the person it is and whether its type is excluded from
// the CRM. For deduplication tests and benchmarks: they feed these to a
// matcher and check what it decides against CRMTruth and PersonOf.
type DumpAccount struct {
	Team                               string
	AcctID                             int32
	AddDate                            time.Time // the account's creation instant (the found-first order)
	AcctType                           string
	HouseholdID                        int32 // 0: none
	First, Last, Email, Company        string
	Street1, Street2, City, State, Zip string
	PhoneDay, PhoneCell, PhoneEve      string
	BirthDate                          string // YYYY-MM-DD; "": none (archtics.cust.birth_date NULL)
	Person                             string // truth: person_id
	Excluded                           bool   // truth: its type is in CRMExcludedAcctTypes
}

// DumpPrimaryNames lists every account in the dump with its primary name,
// team by team in acct_id order. Teams are generated in parallel: at the
// benchmark scale this is a million accounts.
func (w *World) DumpPrimaryNames() []DumpAccount {
	per := make([][]DumpAccount, len(w.g.teams))
	var wg sync.WaitGroup
	for ti, tg := range w.g.teams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]DumpAccount, 0, tg.n)
			for i := int32(0); i < int32(tg.n); i++ {
				row, ok := tg.dumpPrimary(i)
				if !ok {
					continue
				}
				pt, pi := tg.personOf(i)
				out = append(out, DumpAccount{Team: tg.name, AcctID: acctID(i), AddDate: time.Unix(tg.acctAdd[i], 0).UTC(),
					AcctType: acctTypes[tg.acctType[i]], HouseholdID: row.household,
					First: row.first, Last: row.last, Email: row.email, Company: row.company,
					Street1: row.street1, Street2: row.street2, City: row.city, State: row.state, Zip: row.zip,
					PhoneDay: row.phoneDay, PhoneCell: row.phoneCell, PhoneEve: row.phoneEve, BirthDate: birthDate(row.birth),
					Person: w.g.personID(pt, pi), Excluded: excludedType(tg.acctType[i])})
			}
			per[ti] = out
		}()
	}
	wg.Wait()
	var all []DumpAccount
	for _, p := range per {
		all = append(all, p...)
	}
	return all
}

// birthDate is a cust row's birth_date as the dump writes it ("": NULL).
func birthDate(days int32) string {
	if days < 0 {
		return ""
	}
	return string(appendDate(nil, int64(days)))
}
