// Package dedup matches Archtics accounts to CRM contacts, by KORE's three
// rules (rules.go), the evidence rule set (evidence.go) or a probabilistic
// model fitted on the accounts (probabilistic.go), and decides what the
// CRM becomes: which contact each account
// maps to, which account is a contact's primary, which contacts and CRM
// accounts are created, and which contact fields an account overwrites.
//
// It is pure domain logic: no warehouse, no files. The CRM stage
// (stages/crm) reads the clone's accounts and the CRM's state, feeds them
// to an Engine in the found-first order and commits what it decides.
package dedup

import (
	"time"
)

// AccountRef names an Archtics account of a team database.
type AccountRef struct {
	Team   string
	AcctID int32
}

// Account is an Archtics account as deduplication sees it: its primary
// customer name (archtics.cust where primary_code = 'Primary') as the
// clone holds it now. Only this name takes part in matching.
type Account struct {
	AccountRef
	AddDate                            time.Time // the account's add_date: the found-first order
	AcctType                           string    // acct_type_desc; the stage drops excluded types before the engine
	First, Last, Email, Company        string
	Street1, Street2, City, State, Zip string
	PhoneDay, PhoneCell, PhoneEve      string
	// BirthDate is birth_date as YYYY-MM-DD ("": none); only the evidence
	// rules (RulesEvidence) read it.
	BirthDate string
	// HouseholdID is the account's Archtics household_id (0: none): a
	// new contact of a personal account joins its household's CRM
	// account, "AH-<team>-<household_id>", shared by the household.
	HouseholdID int32
}

// FoundFirst reports whether a comes before b in the order accounts are
// taken: add_date, then team name (byte order), then acct_id. The first
// account matched to a contact in this order is its primary.
func FoundFirst(a, b *Account) bool {
	if !a.AddDate.Equal(b.AddDate) {
		return a.AddDate.Before(b.AddDate)
	}
	if a.Team != b.Team {
		return a.Team < b.Team
	}
	return a.AcctID < b.AcctID
}

// Contact is a CRM contact: a pre-existing one read from the client's CRM,
// or one a previous run created.
type Contact struct {
	ID                        string
	First, Last, Email, Phone string
	AccountID                 string // the CRM account (company or household) it belongs to
	Street, Street2           string
	City, State, PostalCode   string
	Created, Updated          time.Time
	Source                    string      // "crm" (pre-existing) or "archtics" (created by dedup)
	Primary                   *AccountRef // its primary Archtics account; nil: none yet
}

// CRMAccount is a CRM account: a company or a household.
type CRMAccount struct {
	ID, Name, Type string // Type: "Company" or "Household"
	City, State    string
	Created        time.Time
	Source         string // "crm" or "archtics"
}

// Role of an account in the mapping.
type Role string

const (
	Primary   Role = "primary"
	Secondary Role = "secondary"
)

// Rule names: the rule that matched, or how the mapping came to be.
const (
	RuleEmail       = "email"        // 1: exact email
	RuleNameAddress = "name_address" // 2: last + first + company + address + postal code
	RuleNamePhone   = "name_phone"   // 3: last + first + company + business phone
	RuleNew         = "new"          // no contact matched: the account made a new contact
	RuleMerged      = "merged"       // Archtics merged the account away: it follows its winner
	RuleManual      = "manual"       // set-primary
)

// Scores is the similarity per field of the match that decided a mapping,
// each in [0, 1]; -1 where the field was not compared (blank in both, or
// not part of the rule).
type Scores struct {
	First, Last, Email, Company, Address, Postal, Phone float64
}

// NoScores is Scores with nothing compared.
var NoScores = Scores{-1, -1, -1, -1, -1, -1, -1}

// Mapping is one row of the mapping table: an account and its contact.
type Mapping struct {
	ContactID string
	Account   AccountRef
	Role      Role
	Rule      string
	Scores    Scores
	// Weights is the match weight that decided the mapping when the
	// probabilistic rule set's model made it (Valid false otherwise).
	Weights Weights
	// AddDate is the account's add_date: when a contact's primary leaves
	// it (a merge), its next account in the found-first order becomes
	// primary. Persist it with the mapping; zero orders by team and
	// acct_id only.
	AddDate time.Time
}

// ContactChange is a contact the engine inserted or updated, as it is
// after the change; Fields names the fields that changed (all for an
// insert).
type ContactChange struct {
	Op      string // "insert" or "update"
	Contact Contact
	Fields  []string
}

// Result is what the engine decided for one account.
type Result struct {
	Mapping     Mapping
	Changed     bool            // the mapping is new or differs from the account's previous one
	Others      []Mapping       // other accounts' mappings this decision changed (a demoted primary)
	Contacts    []ContactChange // contacts inserted or updated
	CRMAccounts []CRMAccount    // CRM accounts created (a new company or household)
}

// State is the CRM as the engine finds it and leaves it.
type State struct {
	Contacts []Contact
	Accounts []CRMAccount
	Mapping  []Mapping
}

// Config tunes matching.
type Config struct {
	// Threshold is the least similarity of a fuzzy field (first name,
	// company, address) for it to agree; 0 means the documented default.
	Threshold float64
	// Now stamps created and updated contacts; zero means time.Now.
	Now func() time.Time
	// EmailNeedsFirstName narrows rule 1 beyond KORE's published rule:
	// an equal email matches only when the first names also agree (or
	// first and last are swapped). Off (KORE's rule, which the
	// simulator's CRM truth follows), a household's or a company's
	// shared email joins different people; on, it does not.
	EmailNeedsFirstName bool
	// Rules is the rule set: RulesKORE ("" too: KORE's three rules, as
	// published) or RulesEvidence (rule 1 narrowed as EmailNeedsFirstName
	// does, and rule 4: loosely agreeing names and one identifier a person
	// keeps across accounts; see evidence.go) or RulesProbabilistic (a
	// fitted model; see probabilistic.go).
	Rules string
	// Model is the fitted model (ModelFitter): required when Rules is
	// RulesProbabilistic, ignored otherwise.
	Model *Model
}
