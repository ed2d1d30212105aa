package simulator

import (
	"sort"
	"strings"
	"sync"
)

// Companies as people type them. Each company has a canonical name and a
// fixed set of spellings a box office types ("Inc." / "Inc" /
// "Incorporated", "&" / "and", abbreviations, an acronym, case, typos, a
// department after a '|'); every spelling belongs to exactly one company,
// so the truth (CompanySpellings, groundtruth/company_spellings.csv) maps
// any company_name the simulator writes back to its company.

type companyInfo struct {
	name, domain string
}

// companies: index 0 and 1 are the seed's Sporting Service Solutions Inc
// and TryNowDo Ltd.
var companies = []companyInfo{
	{"Sporting Service Solutions Inc", "sportingservicesolutions.com"}, {"TryNowDo Ltd", "trynowdo.com"},
	{"Harbor Freight Logistics LLC", "harborfreightlog.com"}, {"Bayside Insurance Group", "baysideins.com"},
	{"Northeast Medical Partners", "nemedpartners.org"}, {"Granite State Builders Inc", "granitestatebuilders.com"},
	{"Atlantic Data Systems Corp", "atlanticdata.io"}, {"Commonwealth Legal LLP", "commonwealthlegal.com"},
	{"Pilgrim Financial Advisors LLC", "pilgrimfa.com"}, {"Charles River Biotech Inc", "crbiotech.com"},
	{"Beacon Hill Realty", "beaconhillrealty.com"}, {"Cape Ann Seafood Co", "capeannseafood.com"},
	{"Minuteman Software Inc", "minutemansw.com"}, {"Back Bay Dental Associates", "backbaydental.com"},
	{"Patriot Plumbing & Heating", "patriotph.com"}, {"Seaport Ventures LLC", "seaportvc.com"},
	{"Liberty Mutual Brokers", "libertybrokers.net"}, {"Quincy Quarry Stone Co", "quincyquarry.com"},
	{"Fenway Food Services", "fenwayfood.com"}, {"Harbor City Public Schools", "hcps.k12.ma.us"},
	{"North Shore Auto Group", "northshoreauto.com"}, {"South Shore Bank", "southshorebank.com"},
	{"Emerald Necklace Landscaping", "emeraldlandscaping.com"}, {"Merrimack Valley Energy Corp", "mvenergy.com"},
	{"Blue Hills Engineering Inc", "bluehillseng.com"}, {"Commonwealth Health", "cwhealth.org"},
	{"Tremont Street Capital LLC", "tremontcap.com"}, {"Acme Widgets Corp", "acmewidgets.com"},
	{"Lexington Consulting Group", "lexcg.com"}, {"Old Colony Title Co", "oldcolonytitle.com"},
	{"Waterfront Hospitality Group", "waterfronthosp.com"}, {"Bay State Electric Inc", "baystateelectric.com"},
	{"Revere Beach Events", "reverebeachevents.com"}, {"Salem Witch Tours", "salemtours.com"},
	{"Greater Boston Printing & Graphics", "gbprinting.com"}, {"Nantucket Sound Media", "nsmedia.com"},
	{"Kendall Square Robotics Inc", "ksrobotics.ai"}, {"Longwood Clinical Labs", "longwoodlabs.com"},
	{"Berkshire Hills Insurance Agency", "berkshirehillsins.com"}, {"Dorchester Construction Corp", "dorchesterconst.com"},
	{"Doyle & Kim Associates", "doylekim.com"}, {"Massachusetts Mutual Services", "massmutualsvc.com"},
	{"Neponset Valley Manufacturing Inc", "neponsetmfg.com"}, {"Mystic River Brewing Co", "mysticbrewing.com"},
	{"Boston Harbor Cruises International", "bhcruises.com"}, {"Cambridge Analytics Corp", "cambridgeanalytics.com"},
	{"Somerville Design Studio", "somervilledesign.com"}, {"Newton Family Dentistry", "newtonfamilydentistry.com"},
	{"Brookline Property Management LLC", "brooklinepm.com"}, {"Waltham Precision Instruments Inc", "walthamprecision.com"},
	{"Medford Auto Body", "medfordautobody.com"}, {"Malden Mills Textiles", "maldenmills.com"},
	{"Everett Steel & Supply", "everettsteel.com"}, {"Chelsea Produce Market", "chelseaproduce.com"},
	{"Lynn Shoe Company", "lynnshoe.com"}, {"Peabody Leather Works", "peabodyleather.com"},
	{"Beverly Marine Services Inc", "beverlymarine.com"}, {"Woburn Technology Partners", "woburntech.com"},
	{"Burlington Mall Associates", "burlingtonmall.net"}, {"Framingham State Credit Union", "fscu.org"},
	{"Natick Veterinary Hospital", "natickvet.com"}, {"Wellesley Wealth Management LLC", "wellesleywm.com"},
	{"Needham Orthopedic Associates", "needhamortho.com"}, {"Dedham Savings & Loan", "dedhamsavings.com"},
	{"Norwood Environmental Services", "norwoodenv.com"}, {"Milton Academy Boosters", "miltonboosters.org"},
	{"Braintree Electrical Contractors Inc", "braintreeelectric.com"}, {"Weymouth Landing Pharmacy", "weymouthrx.com"},
	{"Hingham Yacht Brokers", "hinghamyacht.com"}, {"Brockton Hospital Foundation", "brocktonhf.org"},
	{"Plymouth Rock Insurance Co", "plymouthrockins.com"}, {"Canton Cold Storage", "cantoncold.com"},
	{"Foxboro Stadium Services", "foxborostadium.com"}, {"Attleboro Jewelry Manufacturing", "attleborojewelry.com"},
	{"Fall River Knitting Mills Inc", "frknitting.com"}, {"New Bedford Fishing Co", "nbfishing.com"},
	{"Worcester Polytechnic Partners", "wpipartners.com"}, {"Lowell Mill Lofts LLC", "lowellmilllofts.com"},
	{"Lawrence General Contractors", "lawrencegc.com"}, {"Haverhill Paperboard Corp", "haverhillpaper.com"},
	{"Andover Pharmaceuticals Inc", "andoverpharma.com"}, {"Chelmsford Software Group", "chelmsfordsw.com"},
	{"Billerica Logistics Center", "billericalogistics.com"}, {"Gloucester Fisheries Cooperative", "gloucesterfish.coop"},
	{"Newburyport Architects Collaborative", "nbpta.com"}, {"Springfield Armory Consulting", "armoryconsult.com"},
	{"Pioneer Valley Orchards", "pvorchards.com"}, {"Cape Cod Vacation Rentals", "capecodrentals.com"},
	{"Martha's Vineyard Ferry Services", "mvferry.com"}, {"Providence Jewelers Guild", "provjewelers.org"},
	{"Narragansett Bay Insurance Co", "nbins.com"}, {"Ocean State Builders LLC", "oceanstatebuilders.com"},
	{"Manchester Mills Inc", "manchestermills.com"}, {"Nashua Semiconductor Corp", "nashuasemi.com"},
	{"Portsmouth Naval Contractors", "portsmouthnaval.com"}, {"White Mountain Outfitters", "whitemountainoutfitters.com"},
	{"Casco Bay Lobster Co", "cascobaylobster.com"}, {"Green Mountain Coffee Roasters", "gmcr-partners.com"},
	{"Connecticut River Partners LLP", "ctriverpartners.com"}, {"Hartford Steam Boiler Services", "hsbservices.com"},
	{"Stamford Capital Management", "stamfordcap.com"}, {"Empire State Ticket Brokers", "empirestatetix.com"},
	{"Hudson Valley Vineyards", "hvvineyards.com"}, {"Albany Legislative Advisors", "albanyadvisors.com"},
	{"Precision Optical Instruments Inc", "precisionoptical.com"}, {"Northeast Regional Transit Authority", "nerta.gov"},
	{"United Parcel Brokers", "upbrokers.com"}, {"American Heritage Mortgage Corp", "ahmortgage.com"},
	{"Smith & Wesson Accounting", "swaccounting.com"}, {"Johnson and Sons Roofing", "johnsonroofing.com"},
	{"Walsh Brothers Construction", "walshbros.com"}, {"O'Neill Funeral Home", "oneillfh.com"},
	{"St. Elizabeth's Medical Center", "stelizabeths.org"}, {"Boston Children's Foundation", "bcfoundation.org"},
	{"Kelley Blue Sky Ventures", "kelleyblue.vc"}, {"Ice Hawks Alumni Association", "icehawksalumni.org"},
}

// legalSuffixes: a canonical suffix and the other ways it is typed ("" =
// left off).
var legalSuffixes = map[string][]string{
	"Inc":  {"Inc.", ", Inc.", "Incorporated", ""},
	"LLC":  {"L.L.C.", ", LLC", ""},
	"Ltd":  {"Ltd.", "Limited", ""},
	"Corp": {"Corp.", "Corporation", ""},
	"Co":   {"Co.", "Company", ""},
	"LLP":  {"L.L.P.", ""},
}

// abbreviations box offices use for long words.
var abbreviations = map[string]string{
	"International": "Intl", "Services": "Svcs", "Service": "Svc", "Solutions": "Sol", "Associates": "Assoc",
	"Group": "Grp", "Northeast": "NE", "Manufacturing": "Mfg", "Construction": "Const", "Insurance": "Ins",
	"Engineering": "Eng", "Consulting": "Consult", "Financial": "Fin", "Medical": "Med", "Management": "Mgmt",
	"Brothers": "Bros", "Saint": "St", "Technology": "Tech", "Partners": "Ptnrs", "Company": "Co",
	"Association": "Assn", "Hospital": "Hosp", "Contractors": "Contr", "Pharmaceuticals": "Pharma",
	"Development": "Dev", "Distribution": "Dist", "Instruments": "Instr", "Massachusetts": "Mass",
	"Connecticut": "Conn", "Foundation": "Fdn", "Advisors": "Adv", "Capital": "Cap", "Systems": "Sys",
	"Authority": "Auth", "Cooperative": "Coop", "Mortgage": "Mtg",
}

var departments = []string{"Accounts Payable", "Boston Office", "Tickets", "Attn: Events", "HR Dept", "Main Office"}

var inboxLocals = []string{"tickets", "events", "accounting", "ap", "office", "admin", "frontdesk", "hr", "info"}

// CompanySpelling is one way a company's name is typed, and which company
// it is.
type CompanySpelling struct {
	CompanyID int    // index of the company (0: Sporting Service Solutions Inc, 1: TryNowDo Ltd)
	Canonical string // the company's canonical name
	Spelling  string // as typed
	Kind      string // canonical, suffix, ampersand, abbreviation, acronym, case, typo, separator
}

type companyData struct {
	spellings [][]CompanySpelling // per company, [0] canonical
	office    []addr
	inbox     []string
	byLower   map[string]int
}

var (
	compOnce sync.Once
	comp     companyData
)

func companyTables() *companyData {
	compOnce.Do(buildCompanies)
	return &comp
}

func buildCompanies() {
	n := len(companies)
	comp.spellings = make([][]CompanySpelling, n)
	comp.office = make([]addr, n)
	comp.inbox = make([]string, n)
	comp.byLower = map[string]int{}
	// Canonical names first, so no variant of one company can take
	// another's canonical name.
	for c, ci := range companies {
		comp.byLower[strings.ToLower(ci.name)] = c
		comp.spellings[c] = []CompanySpelling{{CompanyID: c, Canonical: ci.name, Spelling: ci.name, Kind: "canonical"}}
	}
	add := func(c int, s, kind string) {
		s = strings.TrimSpace(s)
		if s == "" {
			return
		}
		low := strings.ToLower(s)
		if o, ok := comp.byLower[low]; ok && o != c {
			return // another company's spelling: never ambiguous
		}
		for _, x := range comp.spellings[c] {
			if x.Spelling == s {
				return
			}
		}
		comp.byLower[low] = c
		comp.spellings[c] = append(comp.spellings[c], CompanySpelling{CompanyID: c, Canonical: companies[c].name, Spelling: s, Kind: kind})
	}
	for c, ci := range companies {
		name := ci.name
		words := strings.Fields(name)
		base, suffix := name, ""
		if alts, ok := legalSuffixes[words[len(words)-1]]; ok {
			suffix = words[len(words)-1]
			base = strings.Join(words[:len(words)-1], " ")
			for _, a := range alts {
				switch {
				case a == "":
					add(c, base, "suffix")
				case a[0] == ',':
					add(c, base+a, "suffix")
				default:
					add(c, base+" "+a, "suffix")
				}
			}
		}
		if strings.Contains(name, " & ") {
			add(c, strings.ReplaceAll(name, " & ", " and "), "ampersand")
		} else if strings.Contains(name, " and ") {
			add(c, strings.ReplaceAll(name, " and ", " & "), "ampersand")
		}
		abbr := make([]string, len(words))
		changed := false
		for i, w := range words {
			abbr[i] = w
			if a, ok := abbreviations[w]; ok {
				abbr[i], changed = a, true
			}
		}
		if changed {
			add(c, strings.Join(abbr, " "), "abbreviation")
		}
		var initials []byte
		for _, w := range strings.Fields(base) {
			if w[0] >= 'A' && w[0] <= 'Z' {
				initials = append(initials, w[0])
			}
		}
		if len(initials) >= 3 {
			acr := string(initials)
			if suffix != "" {
				acr += " " + suffix
			}
			add(c, acr, "acronym")
		}
		add(c, strings.ToUpper(name), "case")
		add(c, strings.ToLower(name), "case")
		r := newRNG(0xc0ffee, uint64(c), kCompany, 2)
		for k := 0; k < 3; k++ {
			ws := strings.Fields(name)
			// A typo in the longest word: short ones are typed right.
			li := 0
			for i, w := range ws {
				if len(w) > len(ws[li]) {
					li = i
				}
			}
			ws[li] = typo(r, ws[li])
			add(c, strings.Join(ws, " "), "typo")
		}
		add(c, name+" | "+departments[c%len(departments)], "separator")
		comp.office[c] = officeAddr(c)
		comp.inbox[c] = inboxLocals[c%len(inboxLocals)] + "@" + ci.domain
	}
}

// companySpelling picks how one account types company c: mostly the
// canonical name, otherwise one of its variants (never the separator one,
// which is dirt placed on purpose).
func companySpelling(r *rng, c int) (string, string) {
	sp := companyTables().spellings[c]
	if r.chance(0.55) {
		return sp[0].Spelling, sp[0].Kind
	}
	var cand []int
	for i, s := range sp[1:] {
		if s.Kind != "separator" {
			cand = append(cand, i+1)
		}
	}
	s := sp[cand[r.intn(len(cand))]]
	return s.Spelling, s.Kind
}

// separatorSpelling is company c's name with a department after a '|'.
func separatorSpelling(c int) string {
	for _, s := range companyTables().spellings[c] {
		if s.Kind == "separator" {
			return s.Spelling
		}
	}
	return companies[c].name
}

// CompanyOf returns the company a company_name denotes (any spelling the
// simulator writes, compared case-insensitively after trimming), or -1.
func CompanyOf(name string) int {
	if c, ok := companyTables().byLower[strings.ToLower(strings.TrimSpace(name))]; ok {
		return c
	}
	return -1
}

// CompanySpellings lists every spelling of every company, by company and
// then spelling order.
func CompanySpellings() []CompanySpelling {
	var out []CompanySpelling
	for _, sp := range companyTables().spellings {
		out = append(out, sp...)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].CompanyID < out[b].CompanyID })
	return out
}

// companyInbox is company c's shared inbox (tickets@..., events@...).
func companyInbox(c int) string { return companyTables().inbox[c] }

func companyOffice(c int) addr { return companyTables().office[c] }
