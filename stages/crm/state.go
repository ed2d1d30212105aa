package crm

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"archtics/pipeline"
	"archtics/schemas"
	"archtics/stages/clone"
	"archtics/stages/dedup"
)

// Stream is the stream that owns every crm.* table.
const Stream = schemas.CRMOwner

// Sources of contacts and CRM accounts.
const (
	SourceCRM      = "crm"
	SourceArchtics = "archtics"
)

// Cursors of the crm stream: the clone commit of each team a run covered
// (cloneCursorPrefix + team) and the version of the settings in force.
const (
	cloneCursorPrefix   = "dedup.clone."
	settingsCursor      = "dedup.settings.version"
	settingsValueCursor = "dedup.settings.exclude_acct_types"
	settingsRulesCursor = "dedup.settings.rules"
)

// DefaultRules is the rule set of a new CRM whose first run names none:
// the evidence rules, because KORE's rule 1 joins everyone who shares an
// email (docs/crm.md). A CRM keeps the rule set it was made with until a
// run sets another: a default changed by a release never re-deduplicates
// a client's CRM.
const DefaultRules = dedup.RulesEvidence

// settingsFromCursors reads the settings in force from the crm stream's
// cursors, which every run sets with the version it ran with.
func settingsFromCursors(cursors map[string]string) (settings, error) {
	var s settings
	if v := cursors[settingsCursor]; v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return s, fmt.Errorf("crm stream cursor %s = %q is not a version number", settingsCursor, v)
		}
		s.Version = n
	}
	// A CRM whose runs recorded no rule set was made when KORE's rules
	// were the only ones: it keeps them.
	s.Rules = dedup.RulesKORE
	if v := cursors[settingsRulesCursor]; v != "" {
		s.Rules = v
	}
	if v := cursors[settingsValueCursor]; v != "" {
		if err := json.Unmarshal([]byte(v), &s.Excluded); err != nil {
			return s, fmt.Errorf("crm stream cursor %s = %q is not a JSON array of account types: %w", settingsValueCursor, v, err)
		}
	}
	return s, nil
}

// mappingRow is a mapping as the CRM tables hold it: the engine's, and
// what the stage keeps beside it.
type mappingRow struct {
	dedup.Mapping
	SourceMD5    string
	FirstMatched time.Time
	seen         bool // a run read the account in its clone
}

// crmState is the CRM as the last commit left it.
type crmState struct {
	Contacts []dedup.Contact
	Accounts []dedup.CRMAccount
	Mapping  map[dedup.AccountRef]*mappingRow
}

// engineState is the state to build the engine with, and the mapping
// rows in the order of its mappings (by team and acct_id): the engine's
// mapping i < len(rows) is rows[i]'s (see dedup.Changes).
func (s *crmState) engineState() (dedup.State, []*mappingRow) {
	st := dedup.State{Contacts: s.Contacts, Accounts: s.Accounts, Mapping: make([]dedup.Mapping, 0, len(s.Mapping))}
	refs := make([]dedup.AccountRef, 0, len(s.Mapping))
	for r := range s.Mapping {
		refs = append(refs, r)
	}
	sortRefs(refs)
	rows := make([]*mappingRow, len(refs))
	for i, r := range refs {
		rows[i] = s.Mapping[r]
		st.Mapping = append(st.Mapping, rows[i].Mapping)
	}
	return st, rows
}

func sortRefs(refs []dedup.AccountRef) {
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].Team != refs[j].Team {
			return refs[i].Team < refs[j].Team
		}
		return refs[i].AcctID < refs[j].AcctID
	})
}

// settings are the dedup settings in force.
type settings struct {
	Version  int64
	Excluded []string
	Rules    string // dedup.RulesKORE or dedup.RulesEvidence
}

func (s settings) excludedSet() map[string]bool {
	m := map[string]bool{}
	for _, t := range s.Excluded {
		m[strings.ToLower(strings.TrimSpace(t))] = true
	}
	return m
}

// encodeTypes is the committed value of exclude_acct_types: a JSON array,
// sorted and without duplicates, so the same set is the same value.
func encodeTypes(types []string) string {
	b, _ := json.Marshal(normalTypes(types))
	return string(b)
}

// normalTypes is types trimmed, sorted, without blanks and duplicates.
func normalTypes(types []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range types {
		t = strings.TrimSpace(t)
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	sort.Strings(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// crmViews are the tables a run reads.
var crmViews = []*schemas.Table{schemas.CRMContact, schemas.CRMAccountTable, schemas.CRMArchticsMapping, schemas.CRMDedupSettings, schemas.CRMMatchModel}

// readSettings reads the settings in force from crm.dedup_settings.
func readSettings(ctx context.Context, db *sql.DB) (settings, error) {
	var s settings
	var value string
	err := db.QueryRowContext(ctx, `SELECT version, value FROM crm.dedup_settings WHERE setting = ? ORDER BY version DESC LIMIT 1`,
		schemas.SettingExcludeAcctTypes).Scan(&s.Version, &value)
	if err == sql.ErrNoRows {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("read crm.dedup_settings: %w", err)
	}
	if err := json.Unmarshal([]byte(value), &s.Excluded); err != nil {
		return s, fmt.Errorf("crm.dedup_settings version %d: value %q is not a JSON array of account types: %w", s.Version, value, err)
	}
	s.Rules = dedup.RulesKORE // no rules row: a CRM made with KORE's rules only (settingsFromCursors)
	err = db.QueryRowContext(ctx, `SELECT value FROM crm.dedup_settings WHERE setting = ? ORDER BY version DESC LIMIT 1`,
		schemas.SettingRules).Scan(&s.Rules)
	if err != nil && err != sql.ErrNoRows {
		return s, fmt.Errorf("read crm.dedup_settings: %w", err)
	}
	return s, nil
}

// cloneAccount is an account of a team's clone as dedup reads it.
type cloneAccount struct {
	dedup.Account
	MD5 string
	// norm is the account normalised for the engine (Engine.Normalize)
	// when normed: eachAccount's prepare does it ahead, beside the engine.
	norm   dedup.Normalized
	normed bool
	// prev is its mapping in the state read (nil: none), also looked up
	// by prepare.
	prev *mappingRow
}

// accountsSQL selects every account's primary customer name from the
// clone's current state, in the found-first order (dedup.FoundFirst:
// add_date, team, acct_id; an account without add_date first, as the
// zero time sorts first). An account with several names marked Primary
// (dirty data) takes the lowest cust_name_id. source_md5 digests exactly
// the fields dedup reads, so a later run can tell a changed name.
const accountsSQL = `SELECT team, acct_id, add_date, coalesce(acct_type_desc, ''),
  coalesce(name_first, ''), coalesce(name_last, ''), coalesce(email_addr, ''), coalesce(company_name, ''),
  coalesce(street_addr_1, ''), coalesce(street_addr_2, ''), coalesce(city, ''), coalesce(state, ''), coalesce(zip, ''),
  coalesce(phone_day, ''), coalesce(phone_cell, ''), coalesce(phone_eve, ''),
  md5(concat_ws(chr(31), coalesce(CAST(add_date AS VARCHAR), ''), coalesce(acct_type_desc, ''), coalesce(name_first, ''),
    coalesce(name_last, ''), coalesce(email_addr, ''), coalesce(company_name, ''), coalesce(street_addr_1, ''),
    coalesce(street_addr_2, ''), coalesce(city, ''), coalesce(state, ''), coalesce(zip, ''), coalesce(phone_day, ''),
    coalesce(phone_cell, ''), coalesce(phone_eve, ''), coalesce(CAST(birth_date AS VARCHAR), ''))),
  coalesce(CAST(birth_date AS VARCHAR), '')
FROM archtics.cust
WHERE primary_code = 'Primary'
QUALIFY row_number() OVER (PARTITION BY team, acct_id ORDER BY cust_name_id) = 1
ORDER BY add_date NULLS FIRST, team, acct_id`

// sortAccounts has DuckDB write every account of the clones, in the
// found-first order, to a spool Parquet file in spoolDir (DuckDB sorts,
// spilling to its temp_directory when it must), and returns its path.
func sortAccounts(ctx context.Context, db *sql.DB, spoolDir string) (string, error) {
	path := filepath.Join(spoolDir, "accounts.parquet")
	if _, err := db.ExecContext(ctx, "COPY ("+accountsSQL+") TO "+schemas.QuoteString(path)+" (FORMAT parquet)"); err != nil {
		return "", fmt.Errorf("read the clone's accounts (archtics.cust, primary names): %w", err)
	}
	return path, nil
}

// eachAccount calls fn with each account of sortAccounts' file at path,
// after telling total how many there are. The file is read back one
// Arrow record batch at a time: far cheaper per row than database/sql's
// Scan, and memory bounded by the batch, whatever the number of
// accounts. fn must not keep the *cloneAccount, which is reused; its
// strings it may keep. prepare (nil: none) is called with each account
// before fn, on the goroutine that decodes them: it may only read what fn
// does not change.
func eachAccount(ctx context.Context, path string, total func(n int64), prepare func(*cloneAccount), fn func(*cloneAccount) error) error {
	rr, rows, done, err := openSpool(ctx, path, "the clone's accounts")
	if err != nil {
		return err
	}
	defer done()
	total(rows)

	// A goroutine decodes the next batch of accounts while fn (the
	// engine, single-threaded) takes the current one: decoding is a fifth
	// of reading, and the second core is otherwise idle meanwhile. Three
	// batches of accounts go round (one decoded, one waiting, one taken).
	type decoded struct {
		accts []cloneAccount
		err   error
	}
	full := make(chan decoded, 1)
	free := make(chan []cloneAccount, 3)
	for range cap(free) {
		free <- nil
	}
	dctx, cancel := context.WithCancel(ctx)
	go func() {
		defer close(full)
		for rr.Next() {
			var buf []cloneAccount
			select {
			case buf = <-free:
			case <-dctx.Done():
				return
			}
			buf, err := batchAccounts(rr.RecordBatch(), buf[:0])
			if err == nil && prepare != nil {
				for i := range buf {
					prepare(&buf[i])
				}
			}
			select {
			case full <- decoded{buf, err}:
			case <-dctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
		if err := rr.Err(); err != nil {
			full <- decoded{err: fmt.Errorf("read the clone's accounts from %s: %w", path, err)}
		}
	}()
	err = func() error {
		for b := range full {
			if b.err != nil {
				return b.err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			for i := range b.accts {
				if err := fn(&b.accts[i]); err != nil {
					return err
				}
			}
			free <- b.accts
		}
		return ctx.Err()
	}()
	cancel()
	for range full { // the decoder has stopped when full is closed: rr may be released
	}
	return err
}

// batchAccounts appends the accounts of rec (accountsSQL's columns) to
// dst. Strings are copied out of the batch, whose buffers are reused: each
// column's values at once into one string that the accounts' strings
// slice (a million accounts' fourteen fields are otherwise fourteen
// million allocations for the garbage collector to track). A string kept
// keeps its column's batch alive: the engine keeps most accounts' names
// and addresses anyway.
func batchAccounts(rec arrow.RecordBatch, dst []cloneAccount) ([]cloneAccount, error) {
	if rec.NumCols() != 18 {
		return dst, fmt.Errorf("read the clone's accounts: %d columns, want 18", rec.NumCols())
	}
	b := &batchCols{rec: rec, n: int(rec.NumRows()), what: "the clone's accounts"}
	var str [18]func(int) string
	for c := range str {
		if c != 1 && c != 2 {
			str[c] = b.str(c)
		}
	}
	ids, adds := b.i32(1), b.ts(2)
	if b.err != nil {
		return dst, b.err
	}
	team := str[0]
	teams := map[string]string{} // a few teams: one string each, not one per account
	for i := range b.n {
		dst = append(dst, cloneAccount{})
		a := &dst[len(dst)-1]
		t, ok := teams[team(i)]
		if !ok {
			t = strings.Clone(team(i))
			teams[t] = t
		}
		a.Team, a.AddDate = t, adds(i)
		a.AcctID, _ = ids(i)
		a.AcctType, a.First, a.Last, a.Email, a.Company = str[3](i), str[4](i), str[5](i), str[6](i), str[7](i)
		a.Street1, a.Street2, a.City, a.State, a.Zip = str[8](i), str[9](i), str[10](i), str[11](i), str[12](i)
		a.PhoneDay, a.PhoneCell, a.PhoneEve, a.MD5, a.BirthDate = str[13](i), str[14](i), str[15](i), str[16](i), str[17](i)
	}
	return dst, nil
}

// merge is an account Archtics merged away, with the winner at the end of
// its chain of merges.
type merge struct {
	Loser, Winner dedup.AccountRef
}

// readMerges reads archtics.acct_merge of every team, each loser followed
// to the end of its chain (a winner later merged away itself), in the
// order they were detected.
func readMerges(ctx context.Context, db *sql.DB) ([]merge, error) {
	rows, err := db.QueryContext(ctx, `SELECT team, loser_acct_id, winner_acct_id FROM archtics.acct_merge
QUALIFY row_number() OVER (PARTITION BY team, loser_acct_id ORDER BY detected_at DESC, winner_acct_id) = 1
ORDER BY detected_at, team, loser_acct_id`)
	if err != nil {
		return nil, fmt.Errorf("read archtics.acct_merge: %w", err)
	}
	defer rows.Close()
	var out []merge
	next := map[dedup.AccountRef]dedup.AccountRef{}
	for rows.Next() {
		var m merge
		if err := rows.Scan(&m.Loser.Team, &m.Loser.AcctID, &m.Winner.AcctID); err != nil {
			return nil, fmt.Errorf("read archtics.acct_merge: %w", err)
		}
		m.Winner.Team = m.Loser.Team
		next[m.Loser] = m.Winner
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read archtics.acct_merge: %w", err)
	}
	for i := range out {
		w := out[i].Winner
		for hops := 0; hops <= len(out); hops++ {
			n, ok := next[w]
			if !ok {
				break
			}
			if n == out[i].Loser {
				return nil, fmt.Errorf("archtics.acct_merge of %s: account %d is merged into itself through a chain of merges: the clone is inconsistent", w.Team, out[i].Loser.AcctID)
			}
			w = n
		}
		out[i].Winner = w
	}
	return out, nil
}

// cloneHeads returns the clone stream head of every team in the
// warehouse: a team is a stream named <team>/clone with a commit.
func cloneHeads(ctx context.Context, w *pipeline.Warehouse) (map[string]int64, error) {
	streams, err := w.Streams(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the warehouse's streams: %w", err)
	}
	heads := map[string]int64{}
	for _, s := range streams {
		team, ok := strings.CutSuffix(s, "/clone")
		if !ok || team == "" || strings.Contains(team, "/") || clone.CloneStream(team) != s {
			continue
		}
		head, err := w.Stream(ctx, s)
		if err != nil {
			return nil, fmt.Errorf("clone of %s: %w", team, err)
		}
		if head.Seq > 0 {
			heads[team] = head.Seq
		}
	}
	if len(heads) == 0 {
		return nil, fmt.Errorf("the warehouse has no team clone (no <team>/clone stream with a commit): load the teams' dumps first (archtics load-dump)")
	}
	return heads, nil
}
