// Package watch is a team's watch list (accounts it marks: season-ticket
// holders, VIPs, a sponsor's guests) kept as a versioned setting on the
// team's settings stream, and the delivery of their arrivals to the
// team's webhook (Deliver).
package watch

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"archtics/internal/rowbuild"
	"archtics/pipeline"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/stages/clone"
)

// SettingsStream is the stream that owns team's watch list: the team's
// settings stream, beside the realtime criteria (derived from the
// tables' owner, so it cannot drift from schemas).
func SettingsStream(team string) string {
	s, err := schemas.WatchListVersions.OwnerStream(map[string]string{"team": team})
	if err != nil {
		return team + "/settings" // a team name OwnerStream refuses fails the commit instead
	}
	return s
}

// versionCursor is the settings stream's cursor holding the highest
// version of the team's watch list: the next change writes one more, and
// two admins changing it at once conflict on the commit (exit 3).
const versionCursor = "watch_list.version"

// Entry is one watched account.
type Entry struct {
	AcctID int32
	Label  string
	Note   string
}

// Webhook is where arrivals are POSTed. The zero value is none.
type Webhook struct {
	// URL is http or https, without user:password; its path and query
	// may carry the receiver's token, so only Host is ever shown.
	URL string
	// SecretEnv names the environment variable holding the HMAC-SHA256
	// secret; empty: requests are not signed. The secret is read when
	// delivering and never stored.
	SecretEnv string
}

// Set reports whether a webhook is set.
func (h Webhook) Set() bool { return h.URL != "" }

// Host is what commands show of the URL: scheme and host.
func (h Webhook) Host() string {
	if h.URL == "" {
		return ""
	}
	return redactedURL(h.URL)
}

// Version is one version of a team's watch list.
type Version struct {
	Team    string
	Version int64
	Change  string
	Entries []Entry // sorted by acct_id; nil when read without them
	Count   int64
	Webhook Webhook
	SetBy   string
	SetAt   time.Time
	Note    string
}

// InputError is a refused watch list or webhook: nothing was written.
// Its message never holds the webhook URL beyond its host.
type InputError struct{ Reason string }

func (e *InputError) Error() string { return "watch list refused: " + e.Reason }

func refuse(format string, args ...any) error {
	return &InputError{Reason: fmt.Sprintf(format, args...)}
}

// CheckEntries checks a list: accounts positive and listed once, labels
// present, sizes within the bounds (schemas.MaxWatch*), text without
// control characters. It stops at the first problem.
func CheckEntries(entries []Entry) error {
	if len(entries) > schemas.MaxWatchEntries {
		return refuse("%d entries, at most %d are allowed", len(entries), schemas.MaxWatchEntries)
	}
	seen := make(map[int32]bool, len(entries))
	for i, e := range entries {
		at := fmt.Sprintf("entry %d (acct_id %d)", i+1, e.AcctID)
		if e.AcctID <= 0 {
			return refuse("%s: acct_id must be a positive integer", at)
		}
		if seen[e.AcctID] {
			return refuse("%s: the account is listed twice", at)
		}
		seen[e.AcctID] = true
		if strings.TrimSpace(e.Label) == "" {
			return refuse("%s: the label is empty", at)
		}
		if err := checkText(e.Label, schemas.MaxWatchLabel); err != nil {
			return refuse("%s: label: %v", at, err)
		}
		if err := checkText(e.Note, schemas.MaxWatchNote); err != nil {
			return refuse("%s: note: %v", at, err)
		}
	}
	return nil
}

// checkText refuses text longer than max bytes, not UTF-8, or holding
// control characters (a label is one line on a page).
func checkText(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%d bytes, at most %d", len(s), max)
	}
	if !utf8.ValidString(s) {
		return errors.New("not UTF-8")
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return errors.New("holds control characters")
	}
	return nil
}

// SetOptions say who changes the list and why.
type SetOptions struct {
	By   string // default $USER, else "unknown"
	Note string
}

// Change is what a new version does to the current one.
type Change struct {
	// Replace, when set, replaces every entry with Entries.
	Replace bool
	Entries []Entry
	// Add adds or relabels entries; Remove removes accounts (listed or not).
	Add    []Entry
	Remove []int32
	// Webhook, when set, replaces the webhook (a zero *Webhook removes it).
	Webhook *Webhook
}

// describe says what c does, for the version's change column.
func (c Change) describe() string {
	var parts []string
	if c.Replace {
		parts = append(parts, fmt.Sprintf("set %d entries", len(c.Entries)))
	}
	if len(c.Add) > 0 {
		parts = append(parts, fmt.Sprintf("add %d", len(c.Add)))
	}
	if len(c.Remove) > 0 {
		parts = append(parts, fmt.Sprintf("remove %d", len(c.Remove)))
	}
	if c.Webhook != nil {
		if c.Webhook.Set() {
			parts = append(parts, "webhook "+c.Webhook.Host())
		} else {
			parts = append(parts, "webhook removed")
		}
	}
	return strings.Join(parts, "; ")
}

// Apply commits the next version of team's watch list: the current one
// changed by ch. A refused list or webhook returns an *InputError and
// writes nothing. The team must have a clone (load-dump first), which
// catches a mistyped --team. Two changes at once: one wins, the other
// fails with txlog.ErrCommitConflict.
func Apply(ctx context.Context, w *pipeline.Warehouse, team string, ch Change, opts SetOptions, cacheDir string) (*Version, *txlog.Commit, error) {
	if !ch.Replace && len(ch.Add) == 0 && len(ch.Remove) == 0 && ch.Webhook == nil {
		return nil, nil, refuse("nothing to change: give entries to set or add, accounts to remove, or a webhook")
	}
	if ch.Replace {
		if err := CheckEntries(ch.Entries); err != nil {
			return nil, nil, err
		}
	}
	if err := CheckEntries(ch.Add); err != nil {
		return nil, nil, err
	}
	for _, a := range ch.Remove {
		if a <= 0 {
			return nil, nil, refuse("remove acct_id %d: an account is a positive integer", a)
		}
	}
	if ch.Webhook != nil && ch.Webhook.Set() {
		if err := CheckWebhook(*ch.Webhook); err != nil {
			return nil, nil, err
		}
	}
	if err := requireClone(ctx, w, team); err != nil {
		return nil, nil, err
	}
	stream := SettingsStream(team)
	head, err := w.Stream(ctx, stream)
	if err != nil {
		return nil, nil, fmt.Errorf("watch list of %s: %w", team, err)
	}
	last := int64(0)
	if v := head.Cursors[versionCursor]; v != "" {
		if last, err = strconv.ParseInt(v, 10, 64); err != nil {
			return nil, nil, fmt.Errorf("watch list of %s: stream %s cursor %s = %q is not a version number", team, stream, versionCursor, v)
		}
	}
	cur := &Version{Team: team}
	if last > 0 {
		if cur, err = readVersion(ctx, w, team, last, cacheDir); err != nil {
			return nil, nil, err
		}
	}
	next := changed(cur, ch)
	if err := CheckEntries(next.Entries); err != nil {
		return nil, nil, err
	}
	now := time.Now()
	if w.Now != nil {
		now = w.Now()
	}
	next.Version, next.SetBy, next.SetAt, next.Note = last+1, opts.By, now.UTC().Truncate(time.Microsecond), opts.Note
	if next.SetBy == "" {
		next.SetBy = os.Getenv("USER")
	}
	if next.SetBy == "" {
		next.SetBy = "unknown"
	}
	if err := checkText(next.SetBy, 100); err != nil {
		return nil, nil, refuse("--by: %v", err)
	}
	if err := checkText(next.Note, 500); err != nil {
		return nil, nil, refuse("--note: %v", err)
	}
	c, err := commitVersion(ctx, w, head, next)
	if err != nil {
		return nil, nil, err
	}
	return next, c, nil
}

// changed is cur with ch applied, entries sorted by acct_id.
func changed(cur *Version, ch Change) *Version {
	byAcct := map[int32]Entry{}
	if !ch.Replace {
		for _, e := range cur.Entries {
			byAcct[e.AcctID] = e
		}
	}
	for _, e := range ch.Entries {
		byAcct[e.AcctID] = e
	}
	for _, e := range ch.Add {
		byAcct[e.AcctID] = e
	}
	for _, a := range ch.Remove {
		delete(byAcct, a)
	}
	next := &Version{Team: cur.Team, Change: ch.describe(), Webhook: cur.Webhook}
	if ch.Webhook != nil {
		next.Webhook = *ch.Webhook
	}
	for _, e := range byAcct {
		next.Entries = append(next.Entries, e)
	}
	slices.SortFunc(next.Entries, func(a, b Entry) int { return int(a.AcctID) - int(b.AcctID) })
	next.Count = int64(len(next.Entries))
	return next
}

// commitVersion writes v's two tables' rows in one commit on the
// settings stream, as the version after head's.
func commitVersion(ctx context.Context, w *pipeline.Warehouse, head *txlog.StreamState, v *Version) (*txlog.Commit, error) {
	instant := v.SetAt.Format(time.RFC3339Nano)
	version := strconv.FormatInt(v.Version, 10)
	header := []string{version, v.Change, strconv.FormatInt(v.Count, 10), v.Webhook.URL, v.Webhook.SecretEnv, v.SetBy, instant, v.Note, v.Team}
	// The batch names this attempt's content, not just the version: two
	// admins setting version N at once must conflict (ExpectSeq), never
	// have the second taken for a retry of the first and dropped.
	h := sha256.New()
	h.Write([]byte(strings.Join(header, "\x00")))
	for _, e := range v.Entries {
		fmt.Fprintf(h, "\x01%d\x00%s\x00%s", e.AcctID, e.Label, e.Note)
	}
	batch := fmt.Sprintf("watch_list-v%d-%s", v.Version, hex.EncodeToString(h.Sum(nil)[:8]))
	req := txlog.CommitRequest{
		Stream:    head.Stream,
		Stage:     "watch-list",
		BatchID:   batch,
		PinBatch:  true,
		Cursors:   map[string]string{versionCursor: version},
		ExpectSeq: head.Seq + 1,
		Summary:   map[string]int64{"version": v.Version, "entries": v.Count},
	}
	c, err := w.WriteAndCommit(ctx, req, func(add func(t *schemas.Table) *pipeline.TableWriter) error {
		if err := writeRows(add(schemas.WatchListVersions), [][]string{header}); err != nil {
			return err
		}
		if len(v.Entries) == 0 {
			return nil
		}
		rows := make([][]string, len(v.Entries))
		for i, e := range v.Entries {
			rows[i] = []string{version, strconv.Itoa(int(e.AcctID)), e.Label, e.Note, v.Team}
		}
		return writeRows(add(schemas.WatchListHistory), rows)
	})
	if err != nil {
		return nil, fmt.Errorf("set the watch list of %s: %w", v.Team, err)
	}
	if c.Existing {
		return nil, fmt.Errorf("set the watch list of %s: version %d is already committed (%s@%d): %w", v.Team, v.Version, head.Stream, c.Seq, txlog.ErrCommitConflict)
	}
	return c, nil
}

// writeRows writes text rows (fields in the table's column order, ""
// NULL) through tw, in batches of a bounded size.
func writeRows(tw *pipeline.TableWriter, rows [][]string) error {
	const batch = 10_000
	for len(rows) > 0 {
		n := min(batch, len(rows))
		rb := rowbuild.New(memory.DefaultAllocator, tw.Table())
		for _, r := range rows[:n] {
			if err := rb.Append(r); err != nil {
				rb.Release()
				return fmt.Errorf("%s row: %w", tw.Table().SQLName(), err)
			}
		}
		rec := rb.NewRecord()
		err := tw.Write(rec)
		rec.Release()
		rb.Release()
		if err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// requireClone fails unless team has a clone in the warehouse.
func requireClone(ctx context.Context, w *pipeline.Warehouse, team string) error {
	head, err := w.Stream(ctx, clone.CloneStream(team))
	if err != nil {
		return fmt.Errorf("clone of %s: %w", team, err)
	}
	if head.Seq == 0 {
		return fmt.Errorf("the warehouse has no clone of team %q (no commit on %s): check --team, or load its dump first (archtics load-dump)", team, clone.CloneStream(team))
	}
	return nil
}

// openList opens DuckDB over the watch list's tables.
func openList(ctx context.Context, w *pipeline.Warehouse, team, cacheDir string) (*sql.DB, error) {
	db, err := views.OpenDuckDB(ctx, "", w.Log, cacheDir, schemas.WatchListVersions, schemas.WatchListHistory)
	if err != nil {
		return nil, fmt.Errorf("watch list of %s: %w", team, err)
	}
	return db, nil
}

// History returns every version of team's watch list, oldest first,
// without their entries (Count says how many).
func History(ctx context.Context, w *pipeline.Warehouse, team, cacheDir string) ([]Version, error) {
	db, err := openList(ctx, w, team, cacheDir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return readVersions(ctx, db, team, "", nil)
}

// Current returns the live version of team's watch list with its
// entries, or nil when none was ever set.
func Current(ctx context.Context, w *pipeline.Warehouse, team, cacheDir string) (*Version, error) {
	head, err := w.Stream(ctx, SettingsStream(team))
	if err != nil {
		return nil, fmt.Errorf("watch list of %s: %w", team, err)
	}
	v := head.Cursors[versionCursor]
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("watch list of %s: cursor %s = %q is not a version number", team, versionCursor, v)
	}
	return readVersion(ctx, w, team, n, cacheDir)
}

// At returns the version of team's watch list in force at the instant
// at (the highest set by then) with its entries, or nil when none was.
func At(ctx context.Context, w *pipeline.Warehouse, team string, at time.Time, cacheDir string) (*Version, error) {
	db, err := openList(ctx, w, team, cacheDir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	vs, err := readVersions(ctx, db, team, "AND set_at <= ?", []any{at.UTC()})
	if err != nil || len(vs) == 0 {
		return nil, err
	}
	v := vs[len(vs)-1]
	if v.Entries, err = readEntries(ctx, db, team, v.Version); err != nil {
		return nil, err
	}
	return &v, nil
}

// readVersion reads version n of team's list with its entries.
func readVersion(ctx context.Context, w *pipeline.Warehouse, team string, n int64, cacheDir string) (*Version, error) {
	db, err := openList(ctx, w, team, cacheDir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	vs, err := readVersions(ctx, db, team, "AND version = ?", []any{n})
	if err != nil {
		return nil, err
	}
	if len(vs) != 1 {
		return nil, fmt.Errorf("watch list of %s: version %d is committed (cursor %s) but %s has %d rows of it", team, n, versionCursor, schemas.WatchListVersions.SQLName(), len(vs))
	}
	v := vs[0]
	if v.Entries, err = readEntries(ctx, db, team, n); err != nil {
		return nil, err
	}
	if int64(len(v.Entries)) != v.Count {
		return nil, fmt.Errorf("watch list of %s: version %d lists %d entries, %s has %d", team, n, v.Count, schemas.WatchListHistory.SQLName(), len(v.Entries))
	}
	return &v, nil
}

func readVersions(ctx context.Context, db *sql.DB, team, cond string, args []any) ([]Version, error) {
	q := `SELECT version, change, entries, coalesce(webhook_url, ''), coalesce(webhook_secret_env, ''), set_by, set_at, coalesce(note, '')
FROM ` + schemas.WatchListVersions.SQLName() + ` WHERE team = ? ` + cond + ` ORDER BY version`
	rows, err := db.QueryContext(ctx, q, append([]any{team}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("read %s of %s: %w", schemas.WatchListVersions.SQLName(), team, err)
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		v := Version{Team: team}
		if err := rows.Scan(&v.Version, &v.Change, &v.Count, &v.Webhook.URL, &v.Webhook.SecretEnv, &v.SetBy, &v.SetAt, &v.Note); err != nil {
			return nil, fmt.Errorf("read %s of %s: %w", schemas.WatchListVersions.SQLName(), team, err)
		}
		v.SetAt = v.SetAt.UTC()
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s of %s: %w", schemas.WatchListVersions.SQLName(), team, err)
	}
	return out, nil
}

func readEntries(ctx context.Context, db *sql.DB, team string, version int64) ([]Entry, error) {
	rows, err := db.QueryContext(ctx, `SELECT acct_id, label, coalesce(note, '') FROM `+schemas.WatchListHistory.SQLName()+`
WHERE team = ? AND version = ? ORDER BY acct_id`, team, version)
	if err != nil {
		return nil, fmt.Errorf("read %s of %s: %w", schemas.WatchListHistory.SQLName(), team, err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		if err := rows.Scan(&e.AcctID, &e.Label, &e.Note); err != nil {
			return nil, fmt.Errorf("read %s of %s: %w", schemas.WatchListHistory.SQLName(), team, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s of %s: %w", schemas.WatchListHistory.SQLName(), team, err)
	}
	return out, nil
}
