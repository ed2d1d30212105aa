package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"archtics/pipeline"
	"archtics/pipeline/views"
	"archtics/simulator"
	"archtics/stages/crm"
	"archtics/stages/dedup"
)

// The demo's CRM deduplication, as the seed tells it: right after the
// dump is loaded, the accounts of every team database are deduplicated
// into the client's pre-existing CRM (the dump's crm/ files), the account
// types the simulated client excludes left out, with --rules or the rule
// set a new CRM gets (crm.DefaultRules); every pre-existing contact's
// primary account is checked against the simulator's truth for that rule
// set.
// Then, after each simulated day of incrementals, only the new and
// changed accounts are deduplicated again, and at the end the report says
// why the CRM has fewer contacts than Archtics has accounts.

// errCRMNotTruth says the demo's CRM differs from the simulator's truth.
var errCRMNotTruth = errors.New("the CRM differs from the simulator's CRM truth")

// minPrecision is the evidence rules' promise on the simulator's people
// (docs/crm.md): the demo fails below it.
const minPrecision = 0.99

// crmStep is the initial load's deduplication.
func (d *demoClone) crmStep(dumpDir string) pipeline.Step {
	return pipeline.Step{Name: "crm dedup", Run: func(ctx context.Context) (string, error) {
		if d.world == nil {
			if err := d.start(); err != nil {
				return "", err
			}
		}
		start := time.Now()
		rep, err := crm.Dedup(ctx, d.w, crm.Options{
			CRMDir: filepath.Join(dumpDir, "crm"), CRMLocation: d.world.Location(),
			ExcludeAcctTypes: simulator.CRMExcludedAcctTypes, SetExclude: true, Rules: d.rules, SetRules: d.rules != "",
			Actor: "demo", CacheDir: d.cache, Logger: d.logger,
		})
		if err != nil {
			return "", err
		}
		if rep.Unchanged {
			fmt.Fprintf(d.out, "3. CRM dedup: already done for this clone state, nothing to do\n")
			return "unchanged", nil
		}
		truthSays := "every pre-existing contact's primary account equals the CRM truth (KORE's rules)"
		if rep.FirstRun {
			if rep.Rules == dedup.RulesKORE {
				err = d.checkCRMTruth(ctx)
			} else {
				truthSays = "no pre-existing contact took another person's account as its primary"
				err = d.checkCRMPeople(ctx)
			}
			if err != nil {
				return "", err
			}
		}
		var accounts, excluded int64
		for _, t := range rep.Teams {
			accounts += t.Accounts
			excluded += t.Excluded
		}
		fmt.Fprintf(d.out, "3. CRM dedup of the initial load (rule set %s): %d accounts (%d of excluded types %s) into %d pre-existing CRM contacts: %d contacts created, %d updated, in %s; %s\n",
			rep.Rules, accounts, excluded, strings.Join(rep.Excluded, ", "), rep.CRMContacts, rep.ContactsInserted, rep.ContactsUpdated, time.Since(start).Round(time.Millisecond), truthSays)
		// Who is who, as the simulator knows it (archtics dedup evaluate).
		truth := filepath.Join(dumpDir, "groundtruth", "duplicate_clusters.csv")
		q, err := crm.Evaluate(ctx, d.w, truth, d.cache)
		if err != nil {
			return "", err
		}
		why := "with KORE's rules (rule 1 joins people who share an email; the evidence rules, a new CRM's default, do better: see docs/crm.md)"
		if rep.Rules != dedup.RulesKORE {
			why = fmt.Sprintf("with the %s rules (pairs that share nothing but a name are not joined: see docs/crm.md)", rep.Rules)
			if q.Precision < minPrecision {
				return "", fmt.Errorf("the CRM joins different people: precision %.4f against the simulator's people, want at least %.2f (archtics dedup evaluate --truth %s --json lists the false pairs by rule)",
					q.Precision, minPrecision, truth)
			}
		}
		fmt.Fprintf(d.out, "   against the simulator's people (archtics dedup evaluate --truth %s): pairs of accounts of one person %d, joined %d, wrongly joined %d: precision %.3f, recall %.3f %s\n",
			truth, q.TruePairs, q.TruePositives, q.FalsePositives, q.Precision, q.Recall, why)
		return fmt.Sprintf("%d accounts", accounts), nil
	}}
}

// crmDaily deduplicates what a simulated day of incrementals changed.
func (d *demoClone) crmDaily(ctx context.Context) (string, error) {
	rep, err := crm.Dedup(ctx, d.w, crm.Options{Actor: "demo", CacheDir: d.cache, Logger: d.logger})
	if err != nil {
		return "", err
	}
	if rep.Unchanged {
		return "", nil
	}
	var fed int64
	for _, t := range rep.Teams {
		fed += t.Fed
	}
	return fmt.Sprintf("dedup of %d new and changed accounts: %d contacts created, %d updated", fed, rep.ContactsInserted, rep.ContactsUpdated), nil
}

// crmSummary prints the report's plain-words answer.
func (d *demoClone) crmSummary(ctx context.Context) error {
	s, err := crm.Report(ctx, d.w, d.cache)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "7. CRM (archtics dedup report):\n   %s\n", strings.ReplaceAll(s.Why, "\n", "\n   "))
	dups, err := crm.CRMDuplicates(ctx, d.w, d.cache, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "   %d pairs of CRM contacts are likely one person (archtics dedup report --crm-duplicates lists them with their weights, for a person to decide; nothing is merged)\n",
		len(dups.Pairs))
	return nil
}

// notTruth is errCRMNotTruth with the first differences, nil for none.
func notTruth(diffs []string, contacts int) error {
	if len(diffs) == 0 {
		return nil
	}
	if len(diffs) > 5 {
		diffs = append(diffs[:5], fmt.Sprintf("... %d more", len(diffs)-5))
	}
	return fmt.Errorf("%w (%d contacts):\n  %s", errCRMNotTruth, contacts, strings.Join(diffs, "\n  "))
}

// preExistingPrimaries reads every pre-existing contact's primary
// account, "team:acct_id" (":" for none), by contact_id.
func (d *demoClone) preExistingPrimaries(ctx context.Context) (map[string]string, error) {
	db, err := views.OpenDuckDB(ctx, "", d.w.Log, d.cache)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT contact_id, coalesce(primary_team, ''), coalesce(CAST(primary_acct_id AS VARCHAR), '')
FROM crm.contact WHERE source = 'crm'`)
	if err != nil {
		return nil, fmt.Errorf("read crm.contact: %w", err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var id, team, acct string
		if err := rows.Scan(&id, &team, &acct); err != nil {
			return nil, err
		}
		got[id] = team + ":" + acct
	}
	return got, rows.Err()
}

// checkCRMPeople checks, under a rule set other than KORE's, that no
// pre-existing contact has another person's account as its primary: the
// simulator knows who every contact and account is (CRMContactTruth.Person,
// World.PersonOf). KORE's exact expected load (checkCRMTruth) is KORE's
// rules' only; what the other rule sets promise is who is who.
func (d *demoClone) checkCRMPeople(ctx context.Context) error {
	got, err := d.preExistingPrimaries(ctx)
	if err != nil {
		return err
	}
	truth, _ := d.world.CRMTruth()
	var diffs []string
	for _, c := range truth {
		team, acct, _ := strings.Cut(got[c.ContactID], ":")
		if acct == "" {
			continue
		}
		n, err := strconv.ParseInt(acct, 10, 32)
		if err != nil {
			return fmt.Errorf("crm.contact %s: primary_acct_id %q", c.ContactID, acct)
		}
		if p := d.world.PersonOf(team, int32(n)); p != c.Person {
			diffs = append(diffs, fmt.Sprintf("%s (person %q): primary %s:%s is person %q", c.ContactID, c.Person, team, acct, p))
		}
	}
	return notTruth(diffs, len(truth))
}

// checkCRMTruth compares every pre-existing contact's primary account
// after the initial load with the simulator's CRM truth.
func (d *demoClone) checkCRMTruth(ctx context.Context) error {
	got, err := d.preExistingPrimaries(ctx)
	if err != nil {
		return err
	}
	truth, _ := d.world.CRMTruth()
	var diffs []string
	for _, c := range truth {
		want := ":"
		if c.Primary != nil {
			want = c.Primary.Team + ":" + strconv.Itoa(int(c.Primary.AcctID))
		}
		if g, ok := got[c.ContactID]; !ok || g != want {
			diffs = append(diffs, fmt.Sprintf("%s: primary %q, truth %q", c.ContactID, g, want))
		}
	}
	return notTruth(diffs, len(truth))
}
