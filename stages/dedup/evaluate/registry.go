package evaluate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"archtics/stages/dedup"
)

// A second population, made unlike the simulator's, so that a rule set
// tuned on one cannot pass for right on both: a civil registry's records
// of people, several per person, typed by clerks. Where the simulator's
// duplicates come from ticket buyers who reuse an email, a phone and a
// household, these share no email and, for most, no phone: what links
// them is a name, a birth date and an address, each with the errors of
// hand entry (the failure modes a public record-linkage benchmark shows):
//   - names drawn from other lists, two surnames each, with a heavy head
//     (a few very common names, so namesakes abound);
//   - a typo (insertion, deletion, substitution or transposition) in a
//     first name, last name or street line;
//   - a birth date typed with a wrong digit or with day and month swapped;
//   - a last name changed (one surname only, or a spouse's) while first
//     name, birth date and address agree;
//   - a blank first name; a record with no phone and no email at all;
//   - a unit line typed differently, or dropped.

// RegistryConfig shapes a registry population.
type RegistryConfig struct {
	People    int     // distinct people
	Seed      uint64  // the generator's seed
	DupRate   float64 // share of people with more than one record (two to four)
	TypoRate  float64 // per field of a duplicate record: a typo
	DateTypo  float64 // per duplicate record: the birth date mistyped
	LastMoved float64 // per duplicate record: the last name changed
	BlankRate float64 // per record: the first name left blank
	PhoneRate float64 // per person: has a phone (the same one on each record)
	MovedRate float64 // per duplicate record: another address (the person moved)
}

// DefaultRegistry is the registry population the tests use.
func DefaultRegistry() RegistryConfig {
	return RegistryConfig{People: 20000, Seed: 7, DupRate: 0.3, TypoRate: 0.15, DateTypo: 0.08,
		LastMoved: 0.05, BlankRate: 0.03, PhoneRate: 0.2, MovedRate: 0.1}
}

var (
	registryFirst = []string{"maria", "jose", "ana", "juan", "luis", "carmen", "antonio", "rosa", "francisco", "isabel",
		"manuel", "lucia", "pedro", "elena", "javier", "sofia", "miguel", "paula", "carlos", "marta", "andres", "teresa",
		"diego", "laura", "pablo", "julia", "sergio", "alba", "raul", "irene", "jorge", "nuria", "alberto", "pilar",
		"ramon", "silvia", "enrique", "beatriz", "oscar", "cristina", "tomas", "victoria", "ignacio", "rocio", "felipe"}
	registryLast = []string{"garcia", "rodriguez", "gonzalez", "fernandez", "lopez", "martinez", "sanchez", "perez",
		"gomez", "martin", "jimenez", "ruiz", "hernandez", "diaz", "moreno", "alvarez", "munoz", "romero", "alonso",
		"gutierrez", "navarro", "torres", "dominguez", "vazquez", "ramos", "gil", "ramirez", "serrano", "blanco", "suarez",
		"molina", "morales", "ortega", "delgado", "castro", "ortiz", "rubio", "marin", "sanz", "nunez", "iglesias",
		"medina", "garrido", "cortes", "castillo", "santos", "lozano", "guerrero", "cano", "prieto", "mendez", "cruz",
		"calvo", "gallego", "vidal", "leon", "marquez", "herrera", "pena", "flores", "cabrera", "campos", "vega"}
	registryStreets = []string{"calle mayor", "avenida de la paz", "calle real", "paseo del prado", "calle de alcala",
		"gran via", "calle del sol", "avenida de america", "calle luna", "plaza de espana", "calle nueva", "camino viejo"}
	registryCities = []string{"sevilla", "valencia", "bilbao", "malaga", "zaragoza", "murcia", "granada", "toledo"}
)

// registryPerson is a person as the registry knows them, before typing.
type registryPerson struct {
	first, last, birth, street, unit, city, zip, phone string
}

// Registry makes a labelled population: every record an account of team
// "registry", in the found-first order, and no pre-existing CRM.
func Registry(cfg RegistryConfig) Input {
	r := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	zipf := func(n int, s float64) int {
		// P(k) ∝ 1/(k+1)^s over n names: a heavy head.
		u := r.Float64()
		var total float64
		for k := 0; k < n; k++ {
			total += 1 / math.Pow(float64(k+1), s)
		}
		acc := 0.0
		for k := 0; k < n; k++ {
			acc += 1 / math.Pow(float64(k+1), s) / total
			if u <= acc {
				return k
			}
		}
		return n - 1
	}
	var accounts []Account
	day := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	next := int32(0)
	add := func(person string, p registryPerson) {
		next++
		accounts = append(accounts, Account{Person: person, Account: dedup.Account{
			AccountRef: dedup.AccountRef{Team: "registry", AcctID: next},
			AddDate:    day.Add(time.Duration(next) * time.Minute), AcctType: "Individual",
			First: p.first, Last: p.last, Street1: p.street, Street2: p.unit, City: p.city, State: "ES", Zip: p.zip,
			PhoneDay: p.phone, BirthDate: p.birth,
		}})
	}
	for i := 0; i < cfg.People; i++ {
		person := fmt.Sprintf("registry-%d", i)
		p := registryPerson{
			first: registryFirst[zipf(len(registryFirst), 1.1)],
			// Two surnames, the father's and the mother's, as the
			// registry writes them.
			last:   registryLast[zipf(len(registryLast), 1.2)] + " " + registryLast[zipf(len(registryLast), 1.2)],
			birth:  time.Date(1940+r.IntN(65), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
			street: fmt.Sprintf("%d %s", 1+r.IntN(200), registryStreets[r.IntN(len(registryStreets))]),
			city:   registryCities[r.IntN(len(registryCities))],
			zip:    fmt.Sprintf("%05d", 1000+r.IntN(50000)),
		}
		if r.Float64() < 0.4 {
			p.unit = fmt.Sprintf("piso %d%c", 1+r.IntN(9), 'a'+rune(r.IntN(4)))
		}
		if r.Float64() < cfg.PhoneRate {
			p.phone = fmt.Sprintf("6%08d", r.IntN(100000000))
		}
		first := p
		if r.Float64() < cfg.BlankRate {
			first.first = ""
		}
		add(person, first)
		if r.Float64() >= cfg.DupRate {
			continue
		}
		for n := 1 + r.IntN(3); n > 0; n-- {
			d := p
			if r.Float64() < cfg.TypoRate {
				d.first = typo(r, d.first)
			}
			if r.Float64() < cfg.TypoRate {
				d.last = typo(r, d.last)
			}
			if r.Float64() < cfg.TypoRate {
				d.street = typo(r, d.street)
			}
			switch x := r.Float64(); {
			case x < cfg.TypoRate/2:
				d.unit = ""
			case x < cfg.TypoRate && d.unit != "":
				d.unit = typo(r, d.unit)
			}
			if r.Float64() < cfg.DateTypo {
				d.birth = dateTypo(r, d.birth)
			}
			if r.Float64() < cfg.LastMoved {
				// One surname only, or a spouse's.
				if r.IntN(2) == 0 {
					d.last = strings.Fields(d.last)[0]
				} else {
					d.last = registryLast[r.IntN(len(registryLast))]
				}
			}
			if r.Float64() < cfg.MovedRate {
				d.street = fmt.Sprintf("%d %s", 1+r.IntN(200), registryStreets[r.IntN(len(registryStreets))])
				d.unit = ""
				d.zip = fmt.Sprintf("%05d", 1000+r.IntN(50000))
			}
			if r.Float64() < cfg.BlankRate {
				d.first = ""
			}
			add(person, d)
		}
	}
	return NewInput(accounts, dedup.State{})
}

// typo makes one hand-entry error in s: a letter inserted, dropped,
// replaced, or two neighbours swapped.
func typo(r *rand.Rand, s string) string {
	if len(s) < 2 {
		return s
	}
	b := []byte(s)
	i := r.IntN(len(b) - 1)
	letter := byte('a' + r.IntN(26))
	switch r.IntN(4) {
	case 0:
		return string(b[:i]) + string(letter) + string(b[i:])
	case 1:
		return string(b[:i]) + string(b[i+1:])
	case 2:
		b[i] = letter
	default:
		b[i], b[i+1] = b[i+1], b[i]
	}
	return strings.TrimSpace(string(b))
}

// dateTypo mistypes a YYYY-MM-DD date: a wrong digit in the day or the
// year, or day and month swapped (when that is a date).
func dateTypo(r *rand.Rand, s string) string {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	switch r.IntN(3) {
	case 0:
		if d.Day() <= 12 && d.Day() != int(d.Month()) {
			return time.Date(d.Year(), time.Month(d.Day()), int(d.Month()), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
		}
		return d.AddDate(0, 0, 10).Format(time.DateOnly)
	case 1:
		return d.AddDate(0, 0, 1+r.IntN(9)).Format(time.DateOnly)
	default:
		return d.AddDate(1+r.IntN(9), 0, 0).Format(time.DateOnly)
	}
}
