package dedup

import "testing"

// TestPackedRec: a rec packed and unpacked is the rec, blank fields and
// long ones included.
func TestPackedRec(t *testing.T) {
	long := string(make([]byte, 300))
	for _, r := range []rec{
		{},
		accountRec(&Account{First: "Robert", Last: "O'Brien", Email: "RO@x.com", Company: "Sporting Service Solutions, Inc.",
			Street1: "12 Main Street", Street2: "Apt 4", Zip: "02110-1234", PhoneDay: "617-555-0101"}),
		accountRec(&Account{Last: "Walsh", Zip: "02110"}),
		{email: long, addr: Address{Unit: "ste 9"}},
	} {
		p := pack(&r)
		if got := p.rec(); got != r {
			t.Errorf("pack(%+v).rec() = %+v", r, got)
		}
	}
}
