package hostile

import (
	"fmt"
	"strings"
)

// CRMCase is a damaged pair of CRM files (contacts.csv, accounts.csv)
// and what the CRM reader must do with it.
type CRMCase struct {
	Name, What         string
	Contacts, Accounts string
	// Fail, when set, is what the reader's error must say; else the files
	// load with Rejected rows rejected and Repaired fields repaired.
	Fail               string
	Rejected, Repaired int
}

// Expect says what the reader must do, for the README.
func (c CRMCase) Expect() string {
	if c.Fail != "" {
		return fmt.Sprintf("fails saying %q", c.Fail)
	}
	return fmt.Sprintf("loads: %d rows rejected, %d fields repaired; all text UTF-8", c.Rejected, c.Repaired)
}

const (
	crmContactsHeader = "contact_id,first_name,last_name,email,phone,account_id,mailing_street,mailing_city,mailing_state,mailing_postal_code,created_at,updated_at\n"
	crmAccountsHeader = "account_id,name,type,billing_city,billing_state,created_at\n"
	crmContact1       = "C1,Gabriel,Tremblay,tremblay.gabriel@gmail.com,978-460-8220,A1,12 Washington Court,Newtonville,MA,02460,2021-05-18 22:36:32,2023-12-23 12:31:18\n"
	crmContact2       = "C2,Sophie,Gagnon,sophie.gagnon43@yahoo.com,978-769-1750,A1,12 Washington Ct,Newtonville,MA,02460,2020-05-25 22:26:45,2021-06-18 08:30:04\n"
	crmAccount1       = "A1,Sporting Service Solutions Inc,Company,Newtonville,MA,2021-05-18 22:36:32\n"
)

func contacts(lines ...string) string { return crmContactsHeader + strings.Join(lines, "") }
func accounts(lines ...string) string { return crmAccountsHeader + strings.Join(lines, "") }

// CRMCases are the CRM cases, in README order.
var CRMCases = []CRMCase{
	{Name: "latin1-name", What: "a last name in Latin-1", Repaired: 1,
		Contacts: contacts(crmContact1, strings.Replace(crmContact2, "Gagnon", "Gagn\xf6n", 1)), Accounts: accounts(crmAccount1)},
	{Name: "invalid-utf8-account", What: "an account name of bytes that are no UTF-8 at all", Repaired: 1,
		Contacts: contacts(crmContact1), Accounts: accounts(strings.Replace(crmAccount1, "Sporting", "\xff\xfe\xc3", 1))},
	{Name: "nul-byte", What: "a NUL byte inside a first name", Contacts: contacts(strings.Replace(crmContact1, "Gabriel", "Gab\x00riel", 1)), Accounts: accounts(crmAccount1)},
	{Name: "bom-header", What: "a byte-order mark before the header", Contacts: "\ufeff" + contacts(crmContact1), Accounts: accounts(crmAccount1)},
	{Name: "unterminated-quote", What: "a quote left open", Fail: "contacts.csv line 3: not CSV",
		Contacts: contacts(crmContact1, `C9,"Ann,Lee`+"\n"), Accounts: accounts(crmAccount1)},
	{Name: "wrong-field-count", What: "a contact with 4 fields", Rejected: 1,
		Contacts: contacts(crmContact1, "C9,Ann,Lee,ann@example.com\n"), Accounts: accounts(crmAccount1)},
	{Name: "huge-field", What: "a 1,000-byte email (the CRM holds 300)", Rejected: 1,
		Contacts: contacts(crmContact1, strings.Replace(crmContact2, "sophie.gagnon43@yahoo.com", strings.Repeat("s", 990)+"@yahoo.com", 1)), Accounts: accounts(crmAccount1)},
	{Name: "duplicate-id", What: "one contact id on two lines", Rejected: 1,
		Contacts: contacts(crmContact1, crmContact1), Accounts: accounts(crmAccount1)},
	{Name: "bad-time", What: "an impossible created_at", Rejected: 1,
		Contacts: contacts(crmContact1, strings.Replace(crmContact2, "2020-05-25 22:26:45", "2020-13-45 10:00:00", 1)), Accounts: accounts(crmAccount1)},
	{Name: "empty-file", What: "contacts.csv of zero bytes", Fail: "empty file", Contacts: "", Accounts: accounts(crmAccount1)},
}
