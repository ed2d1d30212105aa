package simulator

import (
	_ "embed"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Addresses that agree with themselves: every US address is a real
// (city, state, ZIP) row of data/us_places.tsv, drawn with the row's
// weight (the client is in Greater Boston, so most of its fans are), with
// a generated street line. A few fans live in Canada (real city and
// forward sortation area, generated local delivery unit).

//go:embed data/us_places.tsv
var usPlacesTSV string

// place is one row of the places table.
type place struct {
	city, state, zip string
	weight           float64
	foreign          bool   // a Canadian postal code "H2X 1Y4": zip holds the forward sortation area
	areaCodes        string // telephone area codes of the state, space separated
}

// canadianPlaces: real cities with one of their real forward sortation
// areas (the first three characters of a postal code).
var canadianPlaces = []place{
	{city: "Montreal", state: "QC", zip: "H2X", weight: 3, foreign: true, areaCodes: "514 438"},
	{city: "Montreal", state: "QC", zip: "H3A", weight: 2, foreign: true, areaCodes: "514 438"},
	{city: "Quebec", state: "QC", zip: "G1R", weight: 1, foreign: true, areaCodes: "418"},
	{city: "Sherbrooke", state: "QC", zip: "J1H", weight: 0.5, foreign: true, areaCodes: "819"},
	{city: "Ottawa", state: "ON", zip: "K1P", weight: 0.5, foreign: true, areaCodes: "613"},
	{city: "Toronto", state: "ON", zip: "M5V", weight: 0.5, foreign: true, areaCodes: "416 647"},
	{city: "Halifax", state: "NS", zip: "B3H", weight: 0.3, foreign: true, areaCodes: "902"},
	{city: "Moncton", state: "NB", zip: "E1C", weight: 0.2, foreign: true, areaCodes: "506"},
}

// stateAreaCodes: telephone area codes by state, so a home phone usually
// has the area code of the home (people keep their cell numbers when they
// move, so a cell often does not).
var stateAreaCodes = map[string]string{
	"MA": "617 857 781 339 508 774 978 351 413", "RI": "401", "NH": "603", "ME": "207", "VT": "802",
	"CT": "860 203 475 959", "NY": "212 646 917 718 347 518 716 585 315 914", "IL": "312 773", "CA": "213 310 415 628",
	"PA": "215 267 412", "DC": "202", "MD": "410 443", "FL": "305 786 813 407", "GA": "404 678", "NC": "704 980",
	"TN": "615", "TX": "214 469 713 832", "CO": "303 720", "AZ": "602 480", "NV": "702", "WA": "206", "MN": "612",
	"MI": "313", "OH": "614",
}

var (
	placesOnce sync.Once
	places     []place
	placeCum   []float64 // cumulative weights, for drawing
	placeIndex map[string]bool
)

func loadPlaces() {
	placesOnce.Do(func() {
		for n, line := range strings.Split(usPlacesTSV, "\n") {
			if line == "" || line[0] == '#' {
				continue
			}
			f := strings.Split(line, "\t")
			if len(f) != 4 || len(f[2]) != 5 {
				panic(fmt.Sprintf("simulator: data/us_places.tsv line %d: want city, state, 5-digit zip, weight: %q", n+1, line))
			}
			w, err := strconv.ParseFloat(f[3], 64)
			if err != nil || w <= 0 {
				panic(fmt.Sprintf("simulator: data/us_places.tsv line %d: weight %q", n+1, f[3]))
			}
			ac := stateAreaCodes[f[1]]
			if ac == "" {
				panic(fmt.Sprintf("simulator: data/us_places.tsv line %d: no area codes for state %s", n+1, f[1]))
			}
			places = append(places, place{city: f[0], state: f[1], zip: f[2], weight: w, areaCodes: ac})
		}
		places = append(places, canadianPlaces...)
		placeIndex = map[string]bool{}
		var sum float64
		for _, p := range places {
			sum += p.weight
			placeCum = append(placeCum, sum)
			if !p.foreign {
				placeIndex[p.city+"|"+p.state+"|"+p.zip] = true
			}
		}
	})
}

// drawPlace picks a place by weight.
func drawPlace(r *rng) *place {
	loadPlaces()
	x := r.float() * placeCum[len(placeCum)-1]
	i := sort.SearchFloat64s(placeCum, x)
	if i >= len(places) {
		i = len(places) - 1
	}
	return &places[i]
}

// IsUSPlace reports whether (city, state, zip5) is a row of the places
// table the simulator draws US addresses from: every generated US address
// passes it (a ZIP+4 is checked by its first five digits).
func IsUSPlace(city, state, zip string) bool {
	loadPlaces()
	if len(zip) > 5 {
		zip = zip[:5]
	}
	return placeIndex[city+"|"+state+"|"+zip]
}

// USPlaceCount is the number of distinct (city, state, ZIP) rows and of
// distinct cities in the table.
func USPlaceCount() (rows, cities int) {
	loadPlaces()
	cs := map[string]bool{}
	for _, p := range places {
		if !p.foreign {
			rows++
			cs[p.city+"|"+p.state] = true
		}
	}
	return rows, len(cs)
}

// Address entities: what an address denotes, so the truth can tell two
// spellings of one address from two addresses. A person's home is
// ord*4+1, their previous home ord*4+2; a company's office is
// officeEnt+company; the box office's own address testAddrEnt.
const (
	officeEnt   = uint64(1) << 40
	testAddrEnt = uint64(1) << 41
)

// genAddr draws a residential address: a place, a street line, now and
// then an apartment or unit line.
func genAddr(r *rng, ent uint64) addr {
	p := drawPlace(r)
	a := addr{num: r.between(1, 2400), street: pick(r, streetNames), stype: r.intn(len(streetTypes)), city: p.city, state: p.state, ent: ent}
	if p.foreign {
		a.zip = p.zip + " " + strconv.Itoa(r.intn(10)) + string(rune('A'+r.intn(26))) + strconv.Itoa(r.intn(10))
		a.foreignPostal = true
	} else {
		a.zip = p.zip
		a.zip4 = strconv.Itoa(10000 + r.intn(10000))[1:]
	}
	a.areaCode = pickAreaCode(r, p.areaCodes)
	switch r.intn(10) {
	case 0, 1:
		a.unit = "Apt " + strconv.Itoa(r.between(1, 40))
	case 2:
		a.unit = "Unit " + strconv.Itoa(r.between(1, 12)) + string(rune('A'+r.intn(4)))
	case 3:
		a.unit = "#" + strconv.Itoa(r.between(100, 999))
	case 4:
		a.unit = "Apt " + strconv.Itoa(r.between(1, 6)) + string(rune('A'+r.intn(6)))
	}
	return a
}

// officeAddr is company c's office: a street line and a suite or floor.
func officeAddr(c int) addr {
	r := newRNG(0x0ff1ce, uint64(c), kCompany, 1)
	// Offices cluster in the city: draw until a Massachusetts place, with
	// a fallback so the loop is bounded.
	var p *place
	for k := 0; k < 20; k++ {
		p = drawPlace(r)
		if p.state == "MA" {
			break
		}
	}
	a := addr{num: r.between(1, 400), street: pick(r, streetNames), stype: r.intn(len(streetTypes)), city: p.city, state: p.state,
		zip: p.zip, zip4: strconv.Itoa(10000 + r.intn(10000))[1:], ent: officeEnt + uint64(c)}
	a.areaCode = pickAreaCode(r, p.areaCodes)
	if r.chance(0.7) {
		a.unit = "Suite " + strconv.Itoa(r.between(1, 30)*100+r.between(0, 20))
	} else {
		a.unit = "Floor " + strconv.Itoa(r.between(2, 40))
	}
	return a
}

func pickAreaCode(r *rng, codes string) string {
	n := (len(codes) + 1) / 4
	k := r.intn(n)
	return codes[k*4 : k*4+3]
}
