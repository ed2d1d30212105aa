// Package crm is the CRM stage around the deduplication engine
// (stages/dedup): it reads every team clone's accounts and the CRM's
// state, feeds the engine in the found-first order, and commits what the
// CRM becomes (contacts, accounts, the mapping and its history, the
// contact changes to push) in ONE commit on the stream "crm".
package crm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"archtics/internal/gctune"
	"archtics/pipeline"
	"archtics/pipeline/txlog"
	"archtics/schemas"
	"archtics/stages/dedup"
)

// Options tunes Dedup.
type Options struct {
	// CRMDir holds the client's CRM before the first run (contacts.csv,
	// accounts.csv). Read by the first run only; later runs start from the
	// committed crm tables. Required for the first run.
	CRMDir string
	// CRMLocation is the zone of the CRM files' wall-clock times (nil: UTC).
	CRMLocation *time.Location
	// MaxRejects is how many rows of the CRM files may be rejected (kept in
	// crm.rejects) before the first run fails; 0: any bad row fails it.
	MaxRejects int
	// ExcludeAcctTypes, when SetExclude, become the committed setting:
	// accounts of these types (acct_type_desc, case-insensitive) never
	// reach the CRM. Otherwise the committed setting holds.
	ExcludeAcctTypes []string
	SetExclude       bool
	// Rules, when SetRules, becomes the committed rule set
	// (dedup.RulesEvidence, dedup.RulesKORE or dedup.RulesProbabilistic);
	// otherwise the committed setting holds, and a new CRM gets
	// DefaultRules. Engine.Rules is not
	// read.
	Rules    string
	SetRules bool
	// Model, under the probabilistic rule set, is matched with and
	// committed in place of the model a run fits (the first run, a
	// change of settings, a refit): one fitted elsewhere, on more
	// accounts, or another warehouse's. A run that reads the committed
	// model does not read it.
	Model *dedup.Model
	// RefitModel fits the probabilistic rule set's model again on the
	// accounts of the clones as they are now: a new settings version with
	// the same settings. Refused under another rule set.
	RefitModel bool
	// Actor is who runs it, for the history (default $USER, else "unknown").
	Actor string
	// Engine tunes matching (threshold); Now is set by the stage.
	Engine dedup.Config
	// CacheDir is where committed files are materialized for DuckDB
	// ("": a temporary folder removed afterwards).
	CacheDir string
	// SpoolDir is where DuckDB's sorted accounts and its spill files go
	// ("": the system's temporary folder).
	SpoolDir string
	Logger   *slog.Logger
	// Progress, when set, is told how many accounts were read so far.
	Progress func(done int64)
}

// TeamCounts is what a run did with one team's accounts. Accounts =
// Excluded + MergedAway + Fed + Unchanged.
type TeamCounts struct {
	Team       string
	CloneSeq   int64            // the clone commit the run read
	Accounts   int64            // accounts with a primary name in the clone
	Excluded   int64            // of an excluded type: never sent to the engine
	MergedAway int64            // merged away (archtics.acct_merge): they follow their winner instead
	Fed        int64            // new or changed since the last run: deduplicated
	Unchanged  int64            // mapped before and unchanged: not fed again
	ByRule     map[string]int64 // mapping rows this run wrote, by rule
	Followed   int64            // merges followed (the loser mapped to its winner's contact)
	Unfollowed int64            // merges whose winner has no mapping (excluded): the loser is left out
	Deleted    int64            // mapped before, deleted from the clone since: taken out of the mapping
}

// maxRepairsLogged bounds the log lines a run writes for CRM fields it
// read as Windows-1252; the commit's summary counts them all.
const maxRepairsLogged = 20

// RunReport says what one Dedup run did.
type RunReport struct {
	Commit    *txlog.Commit // nil when Unchanged
	Unchanged bool          // nothing new since the last run: nothing committed
	FirstRun  bool
	// CRMRowsIn, CRMContacts, CRMAccounts and Rejected are the CRM files'
	// rows read, loaded and rejected (first run only).
	CRMRowsIn, CRMContacts, CRMAccounts int64
	Rejected                            int64
	Rejects                             []*CSVError
	// Repaired counts the CRM fields that were not UTF-8, loaded read as
	// Windows-1252 (Repairs says where: file, line, field).
	Repaired int64
	Repairs  []*CSVError
	Settings int64    // the settings version in force
	Excluded []string // the excluded account types in force
	Rules    string   // the rule set in force (dedup.RulesEvidence, dedup.RulesKORE or dedup.RulesProbabilistic)
	// ModelVersion is the settings version whose model the probabilistic
	// rule set matched with (0: another rule set); ModelFitted says this
	// run fitted it, or took Options.Model, and committed it to
	// crm.match_model.
	ModelVersion                      int64
	ModelFitted                       bool
	Teams                             []TeamCounts
	ContactsInserted, ContactsUpdated int64
	AccountsCreated                   int64
	MappingRows                       int64 // mapping versions written
}

// sorted is the accounts DuckDB sorted into a spool file, and the merges.
type sorted struct {
	merges []merge
	file   string
	err    error
}

// RowsIn is the accounts read from the clones plus the CRM files' rows.
func (r *RunReport) RowsIn() int64 {
	n := r.CRMRowsIn
	for _, t := range r.Teams {
		n += t.Accounts
	}
	return n
}

func actor(a string) string {
	if a == "" {
		a = os.Getenv("USER")
	}
	if a == "" {
		a = "unknown"
	}
	return a
}

func now(w *pipeline.Warehouse) time.Time {
	t := time.Now()
	if w.Now != nil {
		t = w.Now()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// batchID names a run by what it read: each team's clone commit and the
// settings it ran with. A rerun over the same clone state is the same
// batch (and, before that, found Unchanged by the cursors).
func batchID(heads map[string]int64, excluded string, settingsVersion int64) string {
	teams := make([]string, 0, len(heads))
	for t := range heads {
		teams = append(teams, t)
	}
	sort.Strings(teams)
	h := sha256.New()
	for _, t := range teams {
		fmt.Fprintf(h, "%s\x00%d\x00", t, heads[t])
	}
	fmt.Fprintf(h, "settings\x00%d\x00%s", settingsVersion, excluded)
	return "dedup-" + hex.EncodeToString(h.Sum(nil)[:12])
}

// Dedup runs the deduplication over every team clone's current accounts
// and commits the CRM it leaves, in one commit on the crm stream:
//
//   - the first run loads the client's CRM from opts.CRMDir (crm.contact_version
//     op load, crm.account), later runs start from the committed state;
//   - accounts of an excluded type are skipped and counted;
//   - accounts not mapped yet, and mapped ones whose primary name changed
//     (source_md5), are fed to the engine in the found-first order;
//     unchanged mapped accounts are not;
//   - accounts Archtics merged away follow their winner (Engine.Follow);
//   - the contacts, accounts and mapping rows that differ from the state
//     read are written as new versions, with who and why.
//
// With no clone commit since the last run and the settings unchanged it
// commits nothing (Unchanged). Another dedup or set-primary committing
// meanwhile makes it fail with txlog.ErrCommitConflict: rerun it.
func Dedup(ctx context.Context, w *pipeline.Warehouse, opts Options) (*RunReport, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	head, err := w.Stream(ctx, Stream)
	if err != nil {
		return nil, fmt.Errorf("dedup: %w", err)
	}
	heads, err := cloneHeads(ctx, w)
	if err != nil {
		return nil, fmt.Errorf("dedup: %w", err)
	}
	rep := &RunReport{FirstRun: head.Seq == 0}
	if rep.FirstRun && opts.CRMDir == "" {
		return nil, fmt.Errorf("dedup: the first run needs the client's CRM: pass --crm DIR (a folder with %s and %s; an empty CRM is two files with only their headers)", ContactsFile, AccountsFile)
	}
	if !rep.FirstRun && opts.CRMDir != "" {
		logger.Warn("dedup: --crm is read by the first run only; the CRM state comes from the committed crm tables", "crm", opts.CRMDir, "crm_seq", head.Seq)
	}

	// The settings in force are the cursors' (crm.dedup_settings keeps
	// their history): a run with nothing new stops here, before reading
	// any table.
	cur, err := settingsFromCursors(head.Cursors)
	if err != nil {
		return nil, fmt.Errorf("dedup: %w", err)
	}
	newSettings := cur
	newSettings.Excluded = normalTypes(cur.Excluded)
	if opts.SetExclude {
		newSettings.Excluded = normalTypes(opts.ExcludeAcctTypes)
	}
	if rep.FirstRun && !opts.SetRules {
		newSettings.Rules = DefaultRules
	}
	if opts.SetRules {
		r, err := dedup.ParseRules(opts.Rules)
		if err != nil {
			return nil, err
		}
		newSettings.Rules = r
	}
	if opts.RefitModel && newSettings.Rules != dedup.RulesProbabilistic {
		return nil, fmt.Errorf("dedup: --refit-model %w: the rule set in force is %s, and only the probabilistic rule set has a model (--rules probabilistic fits one)", ErrRefused, newSettings.Rules)
	}
	// A change of either setting is a new version of both (each version
	// of crm.dedup_settings holds every setting). The first run always
	// commits version 1: what a CRM was deduplicated with is on record,
	// not left to whichever default a later release has. A refit is a
	// new version with the same settings: its model is committed with it.
	settingsChanged := rep.FirstRun || opts.RefitModel || (opts.SetExclude || opts.SetRules) && (cur.Version == 0 ||
		encodeTypes(newSettings.Excluded) != encodeTypes(cur.Excluded) || newSettings.Rules != cur.Rules)
	if settingsChanged {
		newSettings.Version = cur.Version + 1
	}
	rep.Settings, rep.Excluded, rep.Rules = newSettings.Version, newSettings.Excluded, newSettings.Rules

	if !rep.FirstRun && !settingsChanged && coveredAll(head.Cursors, heads, cur.Version) {
		rep.Unchanged = true
		logger.Info("dedup: no clone commit since the last run and the settings unchanged: nothing to do", "crm_seq", head.Seq)
		return rep, nil
	}

	d, closeDB, err := openClonesAndCRM(ctx, w, opts.CacheDir, "dedup")
	if err != nil {
		return nil, err
	}
	defer closeDB()
	spoolDir, err := os.MkdirTemp(opts.SpoolDir, "archtics-dedup-")
	if err != nil {
		return nil, fmt.Errorf("dedup: spool folder: %w", err)
	}
	defer os.RemoveAll(spoolDir)
	// DuckDB sorts every account: let it spill to the spool folder rather
	// than to a .tmp in the working directory.
	if _, err := d.ExecContext(ctx, "SET temp_directory = "+schemas.QuoteString(filepath.Join(spoolDir, "duckdb-tmp"))); err != nil {
		return nil, fmt.Errorf("dedup: duckdb: %w", err)
	}

	runAt := now(w)
	who := actor(opts.Actor)
	ph := startPhase()
	// The merges and the sorted accounts are DuckDB's work. A first run
	// has it done while it reads the CRM files and builds the engine,
	// which need no DuckDB; a later run reads the committed CRM through
	// DuckDB first.
	sorting := make(chan sorted, 1)
	sortCtx, cancelSort := context.WithCancel(ctx)
	defer cancelSort()
	sortAll := func() {
		var r sorted
		if r.merges, r.err = readMerges(sortCtx, d.DB); r.err == nil {
			r.file, r.err = sortAccounts(sortCtx, d.DB, spoolDir)
		}
		sorting <- r
	}
	if rep.FirstRun {
		go sortAll()
		// A return before the accounts are read stops DuckDB's work and
		// waits for it, before d is closed.
		defer func() {
			if sorting != nil {
				cancelSort()
				<-sorting
			}
		}()
	}
	var prev *crmState
	var loaded *loadedCRM
	if rep.FirstRun {
		if loaded, err = readCRMDir(ctx, opts.CRMDir, opts.CRMLocation, opts.MaxRejects); err != nil {
			return nil, fmt.Errorf("dedup: load the CRM: %w", err)
		}
		prev = &crmState{Contacts: loaded.Contacts, Accounts: loaded.Accounts, Mapping: map[dedup.AccountRef]*mappingRow{}}
		rep.CRMRowsIn, rep.CRMContacts, rep.CRMAccounts = loaded.RowsIn, int64(len(loaded.Contacts)), int64(len(loaded.Accounts))
		rep.Rejected, rep.Rejects = int64(len(loaded.Rejects)), loaded.Rejects
		rep.Repaired, rep.Repairs = int64(len(loaded.Repairs)), loaded.Repairs
		for i, r := range loaded.Repairs {
			if i == maxRepairsLogged {
				logger.Warn("dedup: more CRM fields were not UTF-8", "more", len(loaded.Repairs)-i)
				break
			}
			logger.Warn("dedup: a CRM field was not UTF-8: loaded read as Windows-1252", "file", r.File, "line", r.Line, "field", r.Field)
		}
	} else if prev, err = readState(ctx, d.DB, spoolDir); err != nil {
		return nil, fmt.Errorf("dedup: %w", err)
	}
	ph.log(logger, "dedup: CRM state read", "contacts", len(prev.Contacts), "mappings", len(prev.Mapping))

	// The sorted accounts: a first run has DuckDB sort them meanwhile; a
	// later run now, its committed CRM read.
	var sortedAccounts sorted
	waited := false
	waitSorted := func() error {
		if !waited {
			if !rep.FirstRun {
				sortAll()
			}
			sortedAccounts, sorting, waited = <-sorting, nil, true
		}
		return sortedAccounts.err
	}
	cfg := opts.Engine
	cfg.Now = func() time.Time { return runAt }
	cfg.Rules = newSettings.Rules
	// The probabilistic rule set's model: the one committed with these
	// settings, else one fitted now on the accounts this run reads.
	var fit *fittedModel
	if cfg.Rules == dedup.RulesProbabilistic {
		if !settingsChanged {
			if cfg.Model, err = readModel(ctx, d.DB, newSettings.Version); err != nil {
				return nil, fmt.Errorf("dedup: %w", err)
			}
		}
		switch {
		case cfg.Model != nil:
		case opts.Model != nil:
			if fit, err = givenModel(opts.Model); err != nil {
				return nil, fmt.Errorf("dedup: %w", err)
			}
			cfg.Model = fit.model
		default:
			if err := waitSorted(); err != nil {
				return nil, fmt.Errorf("dedup: %w", err)
			}
			if fit, err = fitModel(ctx, sortedAccounts.file, newAccountFilter(newSettings, sortedAccounts.merges)); err != nil {
				return nil, fmt.Errorf("dedup: %w", err)
			}
			cfg.Model = fit.model
			ph.log(logger, "dedup: model fitted", "accounts", fit.accounts, "threshold", fit.model.Threshold)
		}
		rep.ModelVersion, rep.ModelFitted = newSettings.Version, fit != nil
	}
	state, prevMaps := prev.engineState()
	eng, err := dedup.New(cfg, state)
	if err != nil {
		return nil, fmt.Errorf("dedup: the CRM state: %w", err)
	}
	if !rep.FirstRun {
		// The committed CRM is now held twice (prev, to compare with, and
		// the engine's): keep a soft memory limit (GCForRun) above it.
		gctune.MakeHeadroom(1.6)
	}
	ph.log(logger, "dedup: engine built", "rss_peak_mb", peakRSSMB())
	// The engine reports what it changes (changesOf): the stage neither
	// copies its state nor diffs all of it with the state read.
	eng.TrackChanges()

	if err := waitSorted(); err != nil {
		return nil, fmt.Errorf("dedup: %w", err)
	}
	merges, accountsFile := sortedAccounts.merges, sortedAccounts.file
	// DuckDB is done: close it now, so that the memory of its sort goes
	// back before the engine grows (a million accounts sorted hold about
	// as much as the engine's contacts).
	d.Close()
	filter := newAccountFilter(newSettings, merges)
	loser, excluded := filter.loser, filter.excluded
	teams := map[string]*TeamCounts{}
	for t, seq := range heads {
		teams[t] = &TeamCounts{Team: t, CloneSeq: seq, ByRule: map[string]int64{}}
	}
	// digests are the source_md5 of the accounts fed, by the engine's
	// mapping index ("": not fed); ids names what the engine creates.
	var digests []string
	var ids *ids
	var nm *namer // names on a goroutine what the accounts fed create
	sized := func(n int64) {
		ph.log(logger, "dedup: accounts sorted by DuckDB", "accounts", n, "rss_peak_mb", peakRSSMB())
		digests = make([]string, eng.NumMappings(), int64(eng.NumMappings())+n)
		ids = newIDs(prev, eng, int(n))
		nm = newNamer(ids)
		eng.Reserve(int(n))
	}
	// The accounts to feed are normalised on the goroutine that decodes
	// them, beside the engine's, and their previous mapping looked up
	// there: an account mapped before and unchanged is not fed, and not
	// normalised. prev.Mapping is only read meanwhile.
	prepare := func(a *cloneAccount) {
		a.prev = prev.Mapping[a.AccountRef]
		if a.prev != nil && a.prev.SourceMD5 == a.MD5 {
			a.normed = false
			return
		}
		a.norm, a.normed = eng.Normalize(&a.Account), true
	}
	var read int64
	err = eachAccount(ctx, accountsFile, sized, prepare, func(a *cloneAccount) error {
		read++
		if read%progressEvery == 0 {
			logger.Info("dedup: accounts read", "accounts", read)
			if opts.Progress != nil {
				opts.Progress(read)
			}
		}
		tc := teams[a.Team]
		if tc == nil { // a team whose clone stream is not listed: cannot be, the views read the listed streams
			tc = &TeamCounts{Team: a.Team, ByRule: map[string]int64{}}
			teams[a.Team] = tc
		}
		tc.Accounts++
		m, mapped := a.prev, a.prev != nil
		if mapped {
			m.seen = true // still in its clone: not deleted
		}
		switch {
		case excluded(a.AcctType):
			tc.Excluded++
			return nil
		case loser[a.AccountRef]:
			tc.MergedAway++
			return nil
		}
		if mapped && m.SourceMD5 == a.MD5 {
			tc.Unchanged++
			// Under the evidence rules its details are evidence for the
			// accounts fed after it (a no-op under KORE's).
			if err := eng.Know(&a.Account); err != nil {
				return fmt.Errorf("account %s:%d: %w", a.Team, a.AcctID, err)
			}
			return nil
		}
		tc.Fed++
		maps := eng.NumMappings()
		if !a.normed {
			a.norm = eng.Normalize(&a.Account)
		}
		if err := eng.Feed(&a.Account, &a.norm); err != nil {
			return fmt.Errorf("account %s:%d: %w", a.Team, a.AcctID, err)
		}
		nm.learn(eng, a.AccountRef)
		mi := maps // a new account's mapping is the one Add made
		if eng.NumMappings() == maps {
			mi, _ = eng.MappingIndex(a.AccountRef)
		}
		for int(mi) >= len(digests) {
			digests = append(digests, "")
		}
		digests[mi] = a.MD5
		return nil
	})
	if ids == nil { // eachAccount sizes them before the first account: cannot be
		sized(0)
	}
	nm.wait()
	if err != nil {
		return nil, fmt.Errorf("dedup: %w", err)
	}
	ph.log(logger, "dedup: accounts fed", "accounts", read, "rss_peak_mb", peakRSSMB())
	if opts.Progress != nil {
		opts.Progress(read)
	}
	// Merges: who is mapped where is the state read, updated by this
	// run's results: the engine's.
	mappingOf := eng.Lookup
	for i, m := range merges {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		tc := teams[m.Loser.Team]
		if tc == nil {
			continue
		}
		win, ok := mappingOf(m.Winner)
		if !ok {
			tc.Unfollowed++
			continue
		}
		if cur, ok := mappingOf(m.Loser); ok && cur.Rule == dedup.RuleMerged && cur.ContactID == win.ContactID {
			continue // followed by an earlier run
		}
		_, err := eng.Follow(m.Loser, m.Winner)
		if err != nil {
			return nil, fmt.Errorf("dedup: follow the merge of %s:%d into %d: %w", m.Loser.Team, m.Loser.AcctID, m.Winner.AcctID, err)
		}
		ids.learn(eng, m.Loser)
		tc.Followed++
	}

	// Accounts Archtics deleted: mapped before, no longer in their clone
	// (merged-away accounts follow their winner instead). Each leaves its
	// contact, which keeps its fields; a removed primary's next account
	// takes its place. In acct_id order, so a run is the same every time.
	var gone []dedup.AccountRef
	for ref, m := range prev.Mapping {
		if !m.seen && !loser[ref] && teams[ref.Team] != nil {
			gone = append(gone, ref)
		}
	}
	sortRefs(gone)
	for i, ref := range gone {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if _, err := eng.Remove(ref); err != nil {
			return nil, fmt.Errorf("dedup: the deleted account %s:%d: %w", ref.Team, ref.AcctID, err)
		}
		teams[ref.Team].Deleted++
	}

	// Everything is named: the ids taken are not needed to write, and
	// the collector need not mark them again while the rows are encoded.
	ids.known, ids.knownAcct = nil, nil
	ch := changesOf(eng, ids, prev, prevMaps, digests, runAt)
	ph.log(logger, "dedup: merges followed, changes collected")
	for _, m := range ch.mapping {
		if tc := teams[eng.MappingAccount(m.idx).Team]; tc != nil {
			tc.ByRule[eng.MappingAt(m.idx).Rule]++
		}
	}
	rep.ContactsInserted, rep.ContactsUpdated = ch.inserted, ch.updated
	rep.AccountsCreated, rep.MappingRows = int64(len(ch.accounts)), int64(len(ch.mapping))
	for _, t := range sortedTeams(teams) {
		rep.Teams = append(rep.Teams, *teams[t])
	}

	seq := head.Seq + 1
	cursors := map[string]string{settingsCursor: strconv.FormatInt(newSettings.Version, 10), settingsValueCursor: encodeTypes(newSettings.Excluded),
		settingsRulesCursor: newSettings.Rules}
	for t, s := range heads {
		cursors[cloneCursorPrefix+t] = strconv.FormatInt(s, 10)
	}
	req := txlog.CommitRequest{
		Stream:    Stream,
		Stage:     "dedup",
		BatchID:   batchID(heads, encodeTypes(newSettings.Excluded), newSettings.Version),
		ExpectSeq: seq,
		Cursors:   cursors,
		Summary: map[string]int64{
			"accounts": rep.RowsIn() - rep.CRMRowsIn, "crm_rows_in": rep.CRMRowsIn, "rejected": rep.Rejected, "repaired": rep.Repaired,
			"contacts_inserted": ch.inserted, "contacts_updated": ch.updated, "mapping_rows": int64(len(ch.mapping)),
		},
	}
	c, err := w.WriteAndCommit(ctx, req, func(add func(t *schemas.Table) *pipeline.TableWriter) error {
		if rep.FirstRun {
			// The tables in the order the commit lists them.
			add(schemas.CRMContactVersion)
			add(schemas.CRMAccountTable)
			if err := writeRejects(ctx, add, loaded, seq); err != nil {
				return err
			}
		}
		if fit != nil {
			if err := writeModel(ctx, add, fit, newSettings.Version, seq, runAt); err != nil {
				return err
			}
		}
		if settingsChanged {
			version, at, s := strconv.FormatInt(newSettings.Version, 10), instant(runAt), strconv.FormatInt(seq, 10)
			rows := [][]string{{schemas.SettingExcludeAcctTypes, version, encodeTypes(newSettings.Excluded), who, at, s},
				{schemas.SettingRules, version, newSettings.Rules, who, at, s}}
			if err := writeRows(ctx, add(schemas.CRMDedupSettings), rows); err != nil {
				return err
			}
		}
		err := writeChanges(ctx, add, loaded, ch, seq, who, runAt, cfg.Rules == dedup.RulesProbabilistic)
		ph.log(logger, "dedup: rows encoded (the files are finished and committed next)")
		return err
	}, pipeline.WithRowGroupRows(dedupRowGroupRows))
	if err != nil {
		return nil, fmt.Errorf("dedup: %w", err)
	}
	rep.Commit = c
	ph.log(logger, "dedup: written and committed", "rss_peak_mb", peakRSSMB())
	logger.Info("dedup: committed", "seq", c.Seq, "batch", req.BatchID, "existing", c.Existing,
		"contacts_inserted", ch.inserted, "contacts_updated", ch.updated, "mapping_rows", len(ch.mapping))
	return rep, nil
}

// dedupRowGroupRows is the row groups' length in the files a run writes.
// The writer tries a dictionary for each column of each row group and
// falls back to plain encoding when it grows too large: the names,
// emails and ids of a million contacts hashed again in every row group
// of the default length, to no use. Two row groups of a first run's
// tables still let DuckDB read them with two threads.
const dedupRowGroupRows = 512 * 1024

// progressEvery is how often (in accounts read) a run logs its progress.
const progressEvery = 50_000

// coveredAll reports whether the cursors say the last run read every
// team's current clone commit with the settings version in force.
func coveredAll(cursors map[string]string, heads map[string]int64, settingsVersion int64) bool {
	if cursors[settingsCursor] != strconv.FormatInt(settingsVersion, 10) {
		return false
	}
	for t, s := range heads {
		if cursors[cloneCursorPrefix+t] != strconv.FormatInt(s, 10) {
			return false
		}
	}
	return true
}

func sortedTeams(m map[string]*TeamCounts) []string {
	out := make([]string, 0, len(m))
	for t := range m {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
