package simulator

import (
	_ "embed"
	"math"
	"sort"
	"strings"
	"sync"
)

// Pools of names, streets and event names the generator draws from.
// People's names come from the US Census Bureau's frequency lists
// (data/*.txt, in rank order) with weights that follow the published
// shares, plus a small regional pool (Quebec and New England names with
// hyphens, spaces and apostrophes): collisions (two different John
// Smiths) happen as often as they do in a real customer base, which is
// what deduplication must get right.

//go:embed data/surnames.txt
var surnamesTxt string

//go:embed data/given_female.txt
var givenFemaleTxt string

//go:embed data/given_male.txt
var givenMaleTxt string

// regional names: a Northeastern team has Quebec fans and old New
// England families; these carry the punctuation census lists strip.
var regionalMale = []string{"Luc", "Marc-Andre", "Mathieu", "Olivier", "Francois", "Jean-Philippe", "Sebastien", "Gabriel", "Etienne", "Pierre-Luc"}
var regionalFemale = []string{"Genevieve", "Isabelle", "Chloe", "Marie-Eve", "Josee", "Nathalie", "Sophie", "Anne-Marie", "Valerie", "Melanie"}
var regionalLast = []string{
	"Tremblay", "Gagnon", "Roy", "Cote", "Bouchard", "Gauthier", "Morin", "Lavoie", "Fortin", "Gagne",
	"Ouellet", "Pelletier", "Belanger", "Levesque", "Bergeron", "Leblanc", "Paquette", "Girard", "Simard", "Boucher",
	"O'Brien", "O'Connor", "McDonald", "MacLeod", "Van Der Berg", "De La Cruz", "St. Pierre", "Kowalski", "Nowak", "Schmidt",
	"Fitzgerald", "Donovan", "Brennan", "Kowalczyk", "Johansson", "Lindqvist", "Novak", "Horvat", "Karlsson", "D'Amico",
}

// namePool is a list of names in rank order with cumulative weights.
type namePool struct {
	names  []string
	locals []string // emailLocal of each name, computed once
	cum    []float64
}

// newNamePool parses a rank-ordered list; the weight of rank r is
// (r+shift)^-exp, a power law fitted to the census shares (Smith about
// 1% of people, rank 1,000 about 0.02%; James about 3.5% of men).
func newNamePool(txt string, shift, exp float64) *namePool {
	p := &namePool{}
	var sum float64
	for _, line := range strings.Split(txt, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		p.names = append(p.names, line)
		p.locals = append(p.locals, emailLocal(line))
		sum += math.Pow(float64(len(p.names))+shift, -exp)
		p.cum = append(p.cum, sum)
	}
	return p
}

func (p *namePool) draw(r *rng) (name, local string) {
	x := r.float() * p.cum[len(p.cum)-1]
	i := sort.SearchFloat64s(p.cum, x)
	if i >= len(p.names) {
		i = len(p.names) - 1
	}
	return p.names[i], p.locals[i]
}

var (
	poolsOnce                         sync.Once
	surnamePool, femalePool, malePool *namePool
)

func namePools() {
	poolsOnce.Do(func() {
		surnamePool = newNamePool(surnamesTxt, 3, 0.8)
		femalePool = newNamePool(givenFemaleTxt, 8, 1)
		malePool = newNamePool(givenMaleTxt, 5, 1)
	})
}

// drawGiven draws a given name: census-weighted, 6% from the regional pool.
func drawGiven(r *rng, female bool) string {
	name, _ := drawGivenLocal(r, female)
	return name
}

// drawGivenLocal is drawGiven with the name's emailLocal.
func drawGivenLocal(r *rng, female bool) (string, string) {
	namePools()
	if r.chance(0.06) {
		list := regionalMale
		if female {
			list = regionalFemale
		}
		n := pick(r, list)
		return n, emailLocal(n)
	}
	if female {
		return femalePool.draw(r)
	}
	return malePool.draw(r)
}

// drawSurname draws a family name: census-weighted, 6% from the regional pool.
func drawSurname(r *rng) string {
	name, _ := drawSurnameLocal(r)
	return name
}

// drawSurnameLocal is drawSurname with the name's emailLocal.
func drawSurnameLocal(r *rng) (string, string) {
	namePools()
	if r.chance(0.06) {
		n := pick(r, regionalLast)
		return n, emailLocal(n)
	}
	return surnamePool.draw(r)
}

// SurnameCount and GivenNameCount are the sizes of the name pools.
func SurnameCount() int { namePools(); return len(surnamePool.names) + len(regionalLast) }

// GivenNameCount is the number of distinct given names the generator draws from.
func GivenNameCount() int {
	namePools()
	return len(femalePool.names) + len(malePool.names) + len(regionalFemale) + len(regionalMale)
}

// nicknames maps a formal first name to the short forms box offices type.
var nicknames = map[string][]string{
	"Robert": {"Bob", "Rob", "Bobby"}, "William": {"Bill", "Will", "Billy"}, "Richard": {"Rick", "Dick", "Rich"},
	"James": {"Jim", "Jimmy"}, "John": {"Jack", "Johnny"}, "Michael": {"Mike", "Mikey"}, "Joseph": {"Joe", "Joey"},
	"Thomas": {"Tom", "Tommy"}, "Christopher": {"Chris"}, "Charles": {"Charlie", "Chuck"}, "Daniel": {"Dan", "Danny"},
	"Matthew": {"Matt"}, "Anthony": {"Tony"}, "Steven": {"Steve"}, "Andrew": {"Andy", "Drew"}, "Joshua": {"Josh"},
	"Kenneth": {"Ken", "Kenny"}, "Timothy": {"Tim"}, "Ronald": {"Ron", "Ronnie"}, "Edward": {"Ed", "Eddie", "Ted"},
	"Jeffrey": {"Jeff"}, "Nicholas": {"Nick"}, "Jonathan": {"Jon"}, "Stephen": {"Steve"}, "Benjamin": {"Ben"},
	"Samuel": {"Sam"}, "Gregory": {"Greg"}, "Alexander": {"Alex"}, "Patrick": {"Pat"}, "Raymond": {"Ray"},
	"Zachary": {"Zach"}, "Douglas": {"Doug"}, "Peter": {"Pete"}, "Gabriel": {"Gabe"}, "Francois": {"Frank"},
	"Elizabeth": {"Liz", "Beth", "Betsy"}, "Patricia": {"Pat", "Patty", "Trish"}, "Jennifer": {"Jen", "Jenny"},
	"Margaret": {"Maggie", "Peggy"}, "Susan": {"Sue"}, "Jessica": {"Jess"}, "Kimberly": {"Kim"}, "Deborah": {"Deb", "Debbie"},
	"Rebecca": {"Becky"}, "Katherine": {"Kate", "Katie", "Kathy"}, "Christine": {"Chris"}, "Samantha": {"Sam"},
	"Catherine": {"Cathy", "Kate"}, "Victoria": {"Vicky", "Tori"}, "Christina": {"Tina"}, "Pamela": {"Pam"},
	"Abigail": {"Abby"}, "Amanda": {"Mandy"}, "Cynthia": {"Cindy"}, "Dorothy": {"Dot"}, "Kathleen": {"Kathy"},
}

var streetNames = []string{
	"Main", "Oak", "Maple", "Cedar", "Elm", "Pine", "Washington", "Lake", "Hill", "Park",
	"Walnut", "Church", "Highland", "Ridge", "Mill", "Spring", "Union", "Water", "Franklin", "Center",
	"Jefferson", "Lincoln", "Madison", "Chestnut", "Prospect", "Forest", "Harbor", "River", "Bay", "Summit",
	"Meadow", "Orchard", "Sunset", "Willow", "Birch", "Cherry", "Dogwood", "Hickory", "Laurel", "Magnolia",
	"Adams", "Monroe", "Jackson", "Grant", "Liberty", "Commerce", "Market", "Front", "Bridge", "Canal",
}

// streetTypes pairs each suffix with its spellings: a person's address is
// typed differently in different accounts ("Street", "St", "St.").
var streetTypes = [][]string{
	{"Street", "St", "St."}, {"Avenue", "Ave", "Ave."}, {"Road", "Rd", "Rd."}, {"Drive", "Dr", "Dr."},
	{"Lane", "Ln"}, {"Court", "Ct"}, {"Boulevard", "Blvd"}, {"Place", "Pl"}, {"Way"}, {"Terrace", "Ter"},
}

var personalDomains = []string{
	"gmail.com", "gmail.com", "gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "aol.com",
	"comcast.net", "verizon.net", "icloud.com", "msn.com", "me.com",
}

var opponents = []string{
	"Boston", "Toronto", "Montreal", "Ottawa", "Buffalo", "Detroit", "Tampa Bay", "Florida",
	"NY Rangers", "NY Islanders", "New Jersey", "Philadelphia", "Pittsburgh", "Washington", "Carolina", "Columbus",
	"Chicago", "St. Louis", "Nashville", "Dallas", "Colorado", "Minnesota", "Winnipeg", "Utah",
	"Vegas", "Los Angeles", "Anaheim", "San Jose", "Seattle", "Vancouver", "Calgary", "Edmonton",
}

var concertActs = []string{
	"The Lumineers", "Imagine Dragons", "Billy Strings", "Zach Bryan", "Olivia Rodrigo", "Foo Fighters",
	"Dropkick Murphys", "Luke Combs", "SZA", "Pearl Jam", "Morgan Wallen", "Coldplay", "Kenny Chesney",
	"Green Day", "Post Malone", "Bruce Springsteen", "Lizzo", "Chris Stapleton", "Tyler Childers", "Noah Kahan",
	"Metallica", "Dead & Company", "Jack White", "Boston Symphony Pops", "Trans-Siberian Orchestra",
}

var concertGenres = []string{"ROCK/POP", "COUNTRY", "R&B/HIP-HOP", "ALTERNATIVE", "CLASSICAL"}

var familyShows = []string{
	"Disney On Ice", "Monster Jam", "Harlem Globetrotters", "Sesame Street Live", "PAW Patrol Live",
	"Cirque du Soleil", "Marvel Universe Live", "WWE Monday Night", "Bluey's Big Play", "Stars on Ice",
}

var gatesHockey = []string{"NORTH 1", "NORTH 2", "SOUTH 1", "SOUTH 2", "EAST", "WEST", "CLUB"}
var gatesArena = []string{"MAIN 1", "MAIN 2", "MAIN 3", "BOX OFFICE", "FLOOR", "WEST"}
