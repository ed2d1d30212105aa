package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/pipeline"
	"archtics/stages/clone"
	"archtics/stages/crm"
	"archtics/stages/dedup"
)

func dedupCommand() *cli.Command {
	cacheFlag := func() cli.Flag {
		return &cli.StringFlag{Name: "cache", Usage: "local cache of committed files and their verify stamps (default: the user cache folder, as query's)", EnvVars: []string{"ARCHTICS_CACHE"}}
	}
	return &cli.Command{
		Name:  "dedup",
		Usage: "deduplicate every team's Archtics accounts into CRM contacts (one commit on the crm stream)",
		Description: `dedup matches the accounts of every team clone in the warehouse (each account's
primary customer name: archtics.cust where primary_code = 'Primary') with the client's
CRM contacts, and commits what the CRM becomes in ONE commit on the stream "crm":
crm.contact, crm.account, crm.archtics_mapping (contact per account, primary or
secondary, the rule, the similarity per field), crm.mapping_history and
crm.contact_changes (what to push to the CRM: archtics crm export).

An account matches a contact by the rule set in force (--rules, below). Accounts are
taken in the found-first order (add_date, then team, then acct_id): the first account
matched to a contact is its primary; an account that matches nothing becomes a new
contact (id A-<team>-<acct_id>). When an account becomes the primary of a CRM contact
that had none, the contact takes its details; a secondary account changes nothing.
Ticketing data is never changed.

The first run reads the client's CRM from --crm DIR: contacts.csv (contact_id,
first_name, last_name, email, phone, account_id, mailing_street, mailing_city,
mailing_state, mailing_postal_code, created_at, updated_at; optional mailing_street2)
and accounts.csv (account_id, name, type, billing_city, billing_state, created_at),
CSV with a header, times as 'YYYY-MM-DD HH:MM:SS' in --crm-timezone or RFC 3339.
A damaged file stops the run with its file, line and field; --max-rejects N loads
the rest and keeps the bad rows in crm.rejects. Later runs start from the committed
crm tables and feed only accounts that are new or whose primary name changed since.

--exclude-acct-type T (repeat it) sets, in the same commit, the account types that
never reach the CRM (crm.dedup_settings keeps every version, who and when); without
it the committed setting holds. Accounts Archtics merged away follow their winner.

--rules evidence|kore|probabilistic sets the rule set the same way. A new CRM's
first run without it uses evidence; a CRM keeps the rule set it was made with until a
run sets another.
  evidence (the default): KORE's rules 2 and 3; rule 1 (the same email) also needs the
    first names to agree, so a household's or a company's shared inbox does not join
    people; a birth date that differs keeps two accounts apart; and rule 4 joins an
    account to a contact when the names agree (a last-name typo or swapped names
    allowed) and the contact or one of its accounts shares a phone number, email,
    birth date or address with it.
  kore: KORE's three rules as published: (1) the same email; (2) last name + first
    name + company + address + postal code; (3) last name + first name + company +
    business phone. Rule 1 joins everyone who shares an email.
  probabilistic: a Fellegi-Sunter model fitted on the clones' own accounts (per field
    and agreement level: exact, a typo, a date with a digit wrong or day and month
    swapped, a phone by its last seven digits, missing; common values weigh less) joins
    an account to the contact whose accounts it most likely shares a person with, when
    one person is more likely than two (match weight 0 or more). The run that sets it fits the model and commits it to
    crm.match_model; later runs match with that model, and --refit-model fits it again
    (a new settings version). crm.archtics_mapping shows each probabilistic mapping's
    match_weight and each field's part of it (weight_*).
A change of rule set is a new settings version in crm.dedup_settings (who, when) and
applies to accounts fed from then on (new, or whose primary name changed); mapped
accounts keep their contact: nothing is deduplicated again behind your back.

A rerun with no clone commit since the last run commits nothing. Another dedup or
set-primary committing meanwhile makes it fail with a commit conflict (exit 3): rerun.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "crm", Usage: "folder with the client's CRM before the first run: contacts.csv and accounts.csv (read by the first run only)"},
			&cli.StringFlag{Name: "crm-timezone", Usage: "IANA zone of the CRM files' local times (default: the zone the first team's clone recorded, else UTC)"},
			&cli.IntFlag{Name: "max-rejects", Usage: "how many bad rows of the CRM files to reject (kept in crm.rejects) before the run fails; 0: any fails it"},
			&cli.StringSliceFlag{Name: "exclude-acct-type", Usage: "an account type (acct_type_desc, case-insensitive) that never reaches the CRM; repeat for several; sets the committed setting"},
			&cli.BoolFlag{Name: "exclude-none", Usage: "set the committed setting to no excluded type"},
			&cli.StringFlag{Name: "rules", Usage: "the rule set, kept as a committed setting: evidence (a new CRM's default: rule 1 needs the first names to agree, and rule 4 joins accounts whose names agree and that share a phone, email, birth date or address), kore (KORE's three rules, as published) or probabilistic (a Fellegi-Sunter model fitted on the accounts); see docs/crm.md"},
			&cli.BoolFlag{Name: "refit-model", Usage: "under the probabilistic rule set: fit its model again on the clones' accounts as they are now (a new settings version); mapped accounts keep their contact"},
			&cli.Float64Flag{Name: "threshold", Usage: "least similarity (0-1) for a fuzzy field to agree (default: the engine's documented one)"},
			&cli.StringFlag{Name: "actor", Usage: "who runs it, for the history (default: $USER)"},
			cacheFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print the run's report as JSON"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("dedup takes no arguments, got %q (subcommands: set-primary, report; see --help)", c.Args().First()), exitUsage)
			}
			if c.IsSet("exclude-none") && c.IsSet("exclude-acct-type") {
				return cli.Exit("--exclude-none and --exclude-acct-type contradict each other (see --help)", exitUsage)
			}
			if t := c.Float64("threshold"); t < 0 || t > 1 {
				return cli.Exit(fmt.Sprintf("--threshold %g: want a similarity between 0 and 1", t), exitUsage)
			}
			if dir := c.String("crm"); dir != "" {
				if err := mustExist(dir, "CRM folder", "--crm names a folder with contacts.csv and accounts.csv"); err != nil {
					return err
				}
			}
			w, err := openExistingWarehouse(c)
			if err != nil {
				return err
			}
			opts := crm.Options{
				CRMDir:     c.String("crm"),
				MaxRejects: c.Int("max-rejects"),
				Actor:      c.String("actor"),
				Engine:     dedup.Config{Threshold: c.Float64("threshold")},
				CacheDir:   cacheDir(c, w),
				Logger:     slog.Default(),
				Progress:   dedupProgress(),
			}
			if c.IsSet("rules") {
				if _, err := dedup.ParseRules(c.String("rules")); err != nil {
					return cli.Exit(fmt.Sprintf("--rules %q: want evidence, kore or probabilistic (see --help)", c.String("rules")), exitUsage)
				}
				opts.Rules, opts.SetRules = c.String("rules"), true
			}
			opts.RefitModel = c.Bool("refit-model")
			if c.IsSet("exclude-acct-type") || c.Bool("exclude-none") {
				opts.ExcludeAcctTypes, opts.SetExclude = c.StringSlice("exclude-acct-type"), true
			}
			if opts.CRMDir != "" {
				if opts.CRMLocation, err = crmLocation(c, w); err != nil {
					return err
				}
			}
			start := time.Now()
			defer crm.GCForRun()() // a first run's million contacts: see GCForRun
			rep, err := crm.Dedup(c.Context, w, opts)
			clearProgress()
			if err != nil {
				return dedupError(err)
			}
			if !rep.Unchanged {
				m := commitMetrics("all", "dedup", rep.Commit, rep.RowsIn(), rep.Rejected, start)
				m.Repaired = rep.Repaired
				if err := recordMetrics(c, m); err != nil {
					return err
				}
			}
			if c.Bool("json") {
				return printJSON(os.Stdout, rep)
			}
			printDedupRun(os.Stdout, rep)
			return nil
		},
		Subcommands: []*cli.Command{
			{
				Name:  "set-primary",
				Usage: "make an account, already mapped to a contact, the contact's primary account (the history keeps who, when, from and to)",
				Description: `set-primary changes which Archtics account is a CRM contact's primary, in one commit
on the crm stream: the account becomes primary (rule manual), the former primary
secondary, and crm.mapping_history records both with who (--actor, else $USER) and
when. The contact's primary account changes; ticketing data does not. See the
history with: archtics query "SELECT * FROM crm.mapping_history ORDER BY seq"`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "contact", Usage: "the CRM contact (crm.contact.contact_id)", Required: true},
					&cli.StringFlag{Name: "team", Usage: "the account's team (Archtics database)", Required: true},
					&cli.IntFlag{Name: "acct", Usage: "the account's acct_id", Required: true},
					&cli.StringFlag{Name: "actor", Usage: "who changes it (default: $USER)"},
					cacheFlag(),
				},
				Action: func(c *cli.Context) error {
					if c.NArg() > 0 {
						return cli.Exit(fmt.Sprintf("set-primary takes no arguments, got %q (see --help)", c.Args().First()), exitUsage)
					}
					acct := c.Int("acct")
					if acct <= 0 || acct > 1<<31-1 {
						return cli.Exit(fmt.Sprintf("--acct %d is not an acct_id (a positive 32-bit integer)", acct), exitUsage)
					}
					w, err := openExistingWarehouse(c)
					if err != nil {
						return err
					}
					ref := dedup.AccountRef{Team: c.String("team"), AcctID: int32(acct)}
					rep, err := crm.SetPrimary(c.Context, w, c.String("contact"), ref, crm.SetPrimaryOptions{Actor: c.String("actor"), CacheDir: cacheDir(c, w), Logger: slog.Default()})
					if err != nil {
						return dedupError(err)
					}
					if rep.Unchanged {
						fmt.Printf("%s:%d is the primary account of contact %s already: nothing to do\n", ref.Team, ref.AcctID, c.String("contact"))
						return nil
					}
					from := "none"
					if rep.From != nil {
						from = fmt.Sprintf("%s:%d", rep.From.Team, rep.From.AcctID)
					}
					fmt.Printf("contact %s: primary account %s -> %s:%d; commit %d of %s (history: crm.mapping_history)\n",
						c.String("contact"), from, ref.Team, ref.AcctID, rep.Commit.Seq, rep.Commit.Stream)
					return nil
				},
			},
			{
				Name:  "report",
				Usage: "per rule and per team: accounts matched, new contacts, excluded by type, merged away; and why the CRM has fewer contacts than Archtics has accounts",
				Description: `With --crm-duplicates it lists instead the pairs of CRM contacts that are likely one
person, for a person to decide; nothing is merged. KORE's rules never compare contacts
with each other, so a person the client's CRM already held twice, or whose accounts
share nothing but a name, stays split. Each contact (its name, email, phone, address
and its primary account's birth date) is compared with the contacts it shares a
blocking key with, and scored by the probabilistic model: the committed one
(crm.match_model) when the probabilistic rule set is in force, else one fitted now on
the clones' accounts. Pairs at or above --min-weight (default: the model's threshold)
are listed, the highest weight first, with each field's part of the weight.`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "format", Value: "table", Usage: "table or json"},
					&cli.BoolFlag{Name: "crm-duplicates", Usage: "list the pairs of CRM contacts likely one person, with their weights (nothing is merged)"},
					&cli.Float64Flag{Name: "min-weight", Usage: "with --crm-duplicates: the least match weight (log2 odds) of a pair listed (default: the model's threshold)"},
					&cli.IntFlag{Name: "limit", Value: 50, Usage: "with --crm-duplicates and --format table: print at most this many pairs (0: all); JSON has them all"},
					cacheFlag(),
				},
				Action: func(c *cli.Context) error {
					format, w, err := reportArgs(c, "report")
					if err != nil {
						return err
					}
					if !c.Bool("crm-duplicates") && (c.IsSet("min-weight") || c.IsSet("limit")) {
						return cli.Exit("--min-weight and --limit go with --crm-duplicates (see --help)", exitUsage)
					}
					if c.Bool("crm-duplicates") {
						var min *float64
						if c.IsSet("min-weight") {
							v := c.Float64("min-weight")
							min = &v
						}
						r, err := crm.CRMDuplicates(c.Context, w, cacheDir(c, w), min)
						if err != nil {
							return dedupError(err)
						}
						if format == "json" {
							return printJSON(os.Stdout, r)
						}
						printCRMDuplicates(os.Stdout, r, c.Int("limit"))
						return nil
					}
					s, err := crm.Report(c.Context, w, cacheDir(c, w))
					if err != nil {
						return dedupError(err)
					}
					if format == "json" {
						return printJSON(os.Stdout, s)
					}
					printDedupReport(os.Stdout, s)
					return nil
				},
			},
			{
				Name:  "evaluate",
				Usage: "measure the committed mapping against a truth of who is who: pairwise precision and recall",
				Description: `Reads --truth FILE, a CSV with a header naming person_id, team and acct_id (other
columns ignored): one row per account of a person with several accounts; accounts it
does not name are people of their own. The simulator's groundtruth/duplicate_clusters.csv
is such a file, and so is a sample a client labelled by hand. Every mapped account is
measured: a predicted pair is two accounts of one contact, a true pair two accounts of
one person. Prints the confusion counts, precision and recall, and the false pairs by
the rule that made them. Exit 2 for a truth file that is not one (the message names
the file, line and field), 4 before any dedup run.`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "truth", Usage: "the truth file (CSV: person_id, team, acct_id)", Required: true},
					&cli.StringFlag{Name: "format", Value: "table", Usage: "table or json"},
					cacheFlag(),
				},
				Action: func(c *cli.Context) error {
					format, w, err := reportArgs(c, "evaluate")
					if err != nil {
						return err
					}
					q, err := crm.Evaluate(c.Context, w, c.String("truth"), cacheDir(c, w))
					switch {
					case errors.Is(err, crm.ErrBadTruth) || errors.Is(err, os.ErrNotExist):
						return cli.Exit(err.Error(), exitUsage)
					case err != nil:
						return dedupError(err)
					}
					if format == "json" {
						return printJSON(os.Stdout, q)
					}
					printDedupQuality(os.Stdout, q)
					return nil
				},
			},
		},
	}
}

// reportArgs checks a report-like command's arguments (none; --format
// table or json) and opens the warehouse.
func reportArgs(c *cli.Context, name string) (string, *pipeline.Warehouse, error) {
	if c.NArg() > 0 {
		return "", nil, cli.Exit(fmt.Sprintf("%s takes no arguments, got %q (see --help)", name, c.Args().First()), exitUsage)
	}
	format := c.String("format")
	if format != "table" && format != "json" {
		return "", nil, cli.Exit(fmt.Sprintf("--format %q: want table or json", format), exitUsage)
	}
	w, err := openExistingWarehouse(c)
	return format, w, err
}

// printDedupQuality prints an evaluation.
func printDedupQuality(out io.Writer, q *crm.Quality) {
	fmt.Fprintf(out, "crm commit %d against %s (%d accounts named; %d of them not in the mapping: excluded, deleted or pending)\n",
		q.CRMSeq, q.Truth, q.TruthAccounts, q.TruthUnmapped)
	fmt.Fprintf(out, "  %d mapped accounts; pairs: true %d, predicted %d, true positives %d, false positives %d, false negatives %d\n",
		q.Accounts, q.TruePairs, q.PredictedPairs, q.TruePositives, q.FalsePositives, q.FalseNegatives)
	fmt.Fprintf(out, "  precision %.4f, recall %.4f\n", q.Precision, q.Recall)
	for _, r := range slices.Sorted(maps.Keys(q.FalseByRule)) {
		fmt.Fprintf(out, "  false pairs made by rule %s: %d\n", r, q.FalseByRule[r])
	}
}

// crmLocation is the zone of the CRM files' local times.
func crmLocation(c *cli.Context, w *pipeline.Warehouse) (*time.Location, error) {
	if name := c.String("crm-timezone"); name != "" {
		loc, err := time.LoadLocation(name)
		if err != nil {
			return nil, cli.Exit(fmt.Sprintf("--crm-timezone %q: %v (want an IANA zone such as America/New_York)", name, err), exitUsage)
		}
		return loc, nil
	}
	streams, err := w.Streams(c.Context)
	if err != nil {
		return nil, err
	}
	for _, s := range streams {
		if team, ok := strings.CutSuffix(s, "/clone"); ok && !strings.Contains(team, "/") {
			if loc, err := clone.CloneLocation(c.Context, w, team, ""); err == nil {
				return loc, nil
			}
		}
	}
	return time.UTC, nil
}

// dedupError maps a refused request to the usage exit and says what to do
// when nothing has been deduplicated yet.
func dedupError(err error) error {
	switch {
	case errors.Is(err, crm.ErrRefused):
		return cli.Exit(err.Error()+"; nothing was written", exitUsage)
	case errors.Is(err, crm.ErrNoDedup):
		return cli.Exit(err.Error(), exitFailure)
	}
	var ce *crm.CSVError
	if errors.As(err, &ce) {
		return cli.Exit(err.Error()+"; nothing was committed", exitFailure)
	}
	return err
}

func dedupProgress() func(int64) {
	if !isTerminal(os.Stderr) {
		return nil
	}
	start := time.Now()
	return func(n int64) {
		fmt.Fprintf(os.Stderr, "\r\033[Kdedup: %d accounts read (%s)", n, time.Since(start).Round(time.Second))
	}
}

func printJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printDedupRun says what a run did, one line per team.
func printDedupRun(out io.Writer, rep *crm.RunReport) {
	if rep.Unchanged {
		fmt.Fprintln(out, "dedup: no clone commit since the last run and the settings unchanged: nothing to do")
		return
	}
	c := rep.Commit
	state := ""
	if c.Existing {
		state = " (committed before: this run's batch was already there)"
	}
	fmt.Fprintf(out, "dedup: commit %d of %s%s\n", c.Seq, c.Stream, state)
	if rep.FirstRun {
		fmt.Fprintf(out, "  CRM loaded: %d contacts, %d accounts (%d rows read, %d rejected, %d fields repaired)\n", rep.CRMContacts, rep.CRMAccounts, rep.CRMRowsIn, rep.Rejected, rep.Repaired)
	}
	excluded := "none"
	if len(rep.Excluded) > 0 {
		excluded = strings.Join(rep.Excluded, ", ")
	}
	fmt.Fprintf(out, "  settings version %d: rule set %s; excluded account types: %s\n", rep.Settings, rep.Rules, excluded)
	if rep.ModelVersion > 0 {
		how := "committed with it (crm.match_model)"
		if rep.ModelFitted {
			how = "fitted by this run on the clones' accounts, committed to crm.match_model"
		}
		fmt.Fprintf(out, "  probabilistic model of settings version %d: %s\n", rep.ModelVersion, how)
	}
	for _, t := range rep.Teams {
		fmt.Fprintf(out, "  %s (clone commit %d): %d accounts: %d deduplicated, %d unchanged since the last run, %d excluded by type, %d merged away; merges followed %d; deleted from the clone since %d\n",
			t.Team, t.CloneSeq, t.Accounts, t.Fed, t.Unchanged, t.Excluded, t.MergedAway, t.Followed, t.Deleted)
	}
	fmt.Fprintf(out, "  contacts: %d created, %d updated; CRM accounts created: %d; mapping rows written: %d\n",
		rep.ContactsInserted, rep.ContactsUpdated, rep.AccountsCreated, rep.MappingRows)
}

// printCRMDuplicates prints the likely pairs of contacts, at most limit
// (0: all).
func printCRMDuplicates(out io.Writer, r *crm.DuplicatesReport, limit int) {
	fmt.Fprintf(out, "crm commit %d: %d contacts compared, scored by %s; %d pairs at match weight %.2f or more (log2 odds of one person)\n\n",
		r.CRMSeq, r.Contacts, r.Model, len(r.Pairs), r.MinWeight)
	if len(r.Pairs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "weight\tcontact\tname\temail\tphone\tpostal\tcontact\tname\temail\tphone\tpostal\tfields for (+) and against (-)")
	for i, p := range r.Pairs {
		if limit > 0 && i == limit {
			break
		}
		var fields []string
		for _, f := range slices.Sorted(maps.Keys(p.Weights)) {
			if w := p.Weights[f]; w != 0 {
				fields = append(fields, fmt.Sprintf("%s %+.1f", f, w))
			}
		}
		a, b := p.A, p.B
		fmt.Fprintf(tw, "%.2f\t%s\t%s %s\t%s\t%s\t%s\t%s\t%s %s\t%s\t%s\t%s\t%s\n", p.MatchWeight,
			a.ContactID, a.First, a.Last, a.Email, a.Phone, a.PostalCode, b.ContactID, b.First, b.Last, b.Email, b.Phone, b.PostalCode, strings.Join(fields, ", "))
	}
	tw.Flush()
	if limit > 0 && len(r.Pairs) > limit {
		fmt.Fprintf(out, "... %d more pairs (--limit 0 prints them all; --format json has them all)\n", len(r.Pairs)-limit)
	}
}

// printDedupReport prints the report as a table, then the why.
func printDedupReport(out io.Writer, s *crm.Summary) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	// A rule set's column shows while it is in force, or while mappings
	// it made remain.
	tr := s.Total.ByRule
	evidence := s.Rules == dedup.RulesEvidence || tr[dedup.RuleEvidenceEmail]+tr[dedup.RuleEvidencePhone]+tr[dedup.RuleEvidenceBirth]+tr[dedup.RuleEvidenceAddress] > 0
	probabilistic := s.Rules == dedup.RulesProbabilistic || tr[dedup.RuleProbabilistic] > 0
	head := "team\taccounts\texcluded\tmerged away\tpending\tprimary\tsecondary\temail\tname_address\tname_phone\t"
	if evidence {
		head += "evidence\t"
	}
	if probabilistic {
		head += "probabilistic\t"
	}
	fmt.Fprintln(tw, head+"new\tmerged\tmanual\t")
	for _, t := range append(append([]crm.TeamSummary(nil), s.Teams...), s.Total) {
		r := t.ByRule
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t", t.Team, t.Accounts, t.Excluded, t.MergedAway, t.Pending,
			t.Primary, t.Secondary, r[dedup.RuleEmail], r[dedup.RuleNameAddress], r[dedup.RuleNamePhone])
		if evidence {
			fmt.Fprintf(tw, "%d\t", r[dedup.RuleEvidenceEmail]+r[dedup.RuleEvidencePhone]+r[dedup.RuleEvidenceBirth]+r[dedup.RuleEvidenceAddress])
		}
		if probabilistic {
			fmt.Fprintf(tw, "%d\t", r[dedup.RuleProbabilistic])
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t\n", r[dedup.RuleNew], r[dedup.RuleMerged], r[dedup.RuleManual])
	}
	tw.Flush()
	fmt.Fprintf(out, "\n(crm commit %d; rule columns count the mapped accounts of the clones by the rule that mapped them)\n\n%s\n", s.CRMSeq, s.Why)
}
