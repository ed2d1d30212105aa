package crm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

const fuzzAccounts = "account_id,name,type,billing_city,billing_state,created_at\n" +
	"A1,Acme Inc,Company,Boston,MA,2020-01-02 03:04:05\n"

// FuzzReadCRM feeds arbitrary bytes as the CRM's contacts.csv: the reader
// never panics, and what it loads keeps the file format's promises: ids
// present, trimmed and unique, every field within its column's width and
// valid UTF-8 (a string that is not poisons every later query), every
// reject naming its file and line.
func FuzzReadCRM(f *testing.F) {
	header := strings.Join(contactColumns, ",") + "\n"
	good := "C1,Ann,Lee,ann@example.com,617-555-0100,A1,1 Main St,Boston,MA,02110,2020-01-02 03:04:05,2021-01-02 03:04:05\n"
	for _, s := range []string{
		header + good,
		header + good + good, // duplicate id
		header + strings.Replace(good, "C1", "", 1),
		header + strings.Replace(good, "Ann", `"A, ""nn"""`, 1),
		header + strings.Replace(good, "Lee", "M\xfcller", 1), // Latin-1
		header + strings.Replace(good, "Ann", "A\x00nn", 1),
		header + strings.Replace(good, "2020-01-02 03:04:05", "2020-13-45 99:99:99", 1),
		header + "C2,only,three\n",
		header + `C3,"unterminated` + "\n",
		strings.Replace(header, "email", "e_mail", 1) + good,
		"", "\n", header,
		strings.TrimSuffix(header, "\n") + ",mailing_street2\n" + strings.TrimSuffix(good, "\n") + ",Apt 2\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, contacts []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, AccountsFile), []byte(fuzzAccounts), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ContactsFile), contacts, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := readCRMDir(context.Background(), dir, time.UTC, 1<<30)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("refused with an empty error")
			}
			return
		}
		seen := map[string]bool{}
		for _, c := range got.Contacts {
			if c.ID == "" || c.ID != strings.TrimSpace(c.ID) || seen[c.ID] {
				t.Fatalf("contact id %q loaded (empty, untrimmed or twice)", c.ID)
			}
			seen[c.ID] = true
			for field, v := range map[string]string{"contact_id": c.ID, "first_name": c.First, "last_name": c.Last, "email": c.Email,
				"phone": c.Phone, "account_id": c.AccountID, "mailing_street": c.Street, "mailing_street2": c.Street2,
				"mailing_city": c.City, "mailing_state": c.State, "mailing_postal_code": c.PostalCode} {
				if w := fieldWidths[field]; len([]rune(v)) > w {
					t.Fatalf("contact %s: %s is %d characters, wider than its column's %d", c.ID, field, len([]rune(v)), w)
				}
				if !utf8.ValidString(v) {
					t.Fatalf("contact %s: %s %q is not valid UTF-8", c.ID, field, v)
				}
			}
		}
		for _, r := range got.Rejects {
			if r.File == "" || r.Line < 1 || r.Reason == "" {
				t.Fatalf("a reject without its file, line or reason: %+v", r)
			}
		}
		if got.RowsIn != int64(len(got.Contacts)+len(got.Accounts)+len(got.Rejects)) {
			t.Fatalf("rows in %d, loaded %d+%d, rejected %d", got.RowsIn, len(got.Contacts), len(got.Accounts), len(got.Rejects))
		}
	})
}
