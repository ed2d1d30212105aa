package realtime

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"archtics/internal/rowbuild"
	"archtics/pipeline"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/stages/clone"
)

// SettingsStream is the stream that owns team's admin settings
// (korebi.birulesettings_history): apart from the realtime stream, so
// setting criteria never conflicts with a tick.
func SettingsStream(team string) string { return team + "/settings" }

// criteriaVersionCursor is the settings stream's cursor holding the
// highest version of the team's criteria: the next set writes one more,
// and two admins setting at once conflict on the commit (exit 3) instead
// of writing the same version twice.
const criteriaVersionCursor = schemas.SettingRealtimeCriteria + ".version"

// CriteriaRecord is one version of a team's realtime criteria, a row of
// korebi.birulesettings_history.
type CriteriaRecord struct {
	Team        string
	Version     int64
	Criteria    string
	SetBy       string
	SetAt       time.Time
	EffectiveAt time.Time
	Note        string
}

// SetOptions describe who sets criteria and from when they apply.
type SetOptions struct {
	// By is who sets them (default $USER, else "unknown").
	By string
	// Note says why (optional).
	Note string
	// Effective is from when ticks use them (default: now, the set_at). An
	// earlier time lets a catch-up of past ticks use them.
	Effective time.Time
}

// SetCriteria checks fragment (CheckCriteria: a refused fragment returns
// the *CriteriaError and writes nothing) and commits it as the next
// version of team's criteria on the team's settings stream. The team must
// have a clone (load-dump first), which catches a mistyped --team.
func SetCriteria(ctx context.Context, w *pipeline.Warehouse, team, fragment string, opts SetOptions) (*CriteriaRecord, *txlog.Commit, error) {
	if err := CheckCriteria(ctx, fragment); err != nil {
		return nil, nil, err
	}
	if err := requireClone(ctx, w, team); err != nil {
		return nil, nil, err
	}
	stream := SettingsStream(team)
	head, err := w.Stream(ctx, stream)
	if err != nil {
		return nil, nil, fmt.Errorf("set criteria of %s: %w", team, err)
	}
	last := int64(0)
	if v := head.Cursors[criteriaVersionCursor]; v != "" {
		if last, err = strconv.ParseInt(v, 10, 64); err != nil {
			return nil, nil, fmt.Errorf("set criteria of %s: stream %s cursor %s = %q is not a version number", team, stream, criteriaVersionCursor, v)
		}
	}
	now := time.Now()
	if w.Now != nil {
		now = w.Now()
	}
	rec := &CriteriaRecord{
		Team: team, Version: last + 1, Criteria: fragment, SetBy: opts.By,
		SetAt: now.UTC().Truncate(time.Microsecond), EffectiveAt: opts.Effective, Note: opts.Note,
	}
	if rec.SetBy == "" {
		rec.SetBy = os.Getenv("USER")
	}
	if rec.SetBy == "" {
		rec.SetBy = "unknown"
	}
	if rec.EffectiveAt.IsZero() {
		rec.EffectiveAt = rec.SetAt
	}
	rec.EffectiveAt = rec.EffectiveAt.UTC().Truncate(time.Microsecond)
	instant := func(t time.Time) string { return t.Format(time.RFC3339Nano) }
	row := []string{schemas.SettingRealtimeCriteria, strconv.FormatInt(rec.Version, 10), rec.Criteria, rec.SetBy,
		instant(rec.SetAt), instant(rec.EffectiveAt), rec.Note, team}
	// The batch names this attempt's content, not just the version: two
	// admins setting version N at once must conflict (ExpectSeq), never
	// have the second taken for a retry of the first and silently dropped.
	sum := sha256.Sum256([]byte(strings.Join(row, "\x00")))
	batch := fmt.Sprintf("%s-v%d-%s", schemas.SettingRealtimeCriteria, rec.Version, hex.EncodeToString(sum[:8]))
	req := txlog.CommitRequest{
		Stream:    stream,
		Stage:     "realtime-criteria",
		BatchID:   batch,
		PinBatch:  true,
		Cursors:   map[string]string{criteriaVersionCursor: strconv.FormatInt(rec.Version, 10)},
		ExpectSeq: head.Seq + 1,
		Summary:   map[string]int64{"version": rec.Version},
	}
	c, err := w.WriteAndCommit(ctx, req, func(add func(t *schemas.Table) *pipeline.TableWriter) error {
		rb := rowbuild.New(memory.DefaultAllocator, schemas.BIRuleSettingsHistory)
		defer rb.Release()
		if err := rb.Append(row); err != nil {
			return fmt.Errorf("%s row: %w", schemas.BIRuleSettingsHistory.SQLName(), err)
		}
		rec := rb.NewRecord()
		defer rec.Release()
		return add(schemas.BIRuleSettingsHistory).Write(rec)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("set criteria of %s: %w", team, err)
	}
	if c.Existing {
		return nil, nil, fmt.Errorf("set criteria of %s: version %d is already committed (%s@%d): %w", team, rec.Version, stream, c.Seq, txlog.ErrCommitConflict)
	}
	return rec, c, nil
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

// CriteriaHistory returns every version of team's criteria, oldest first.
func CriteriaHistory(ctx context.Context, w *pipeline.Warehouse, team, cacheDir string) ([]CriteriaRecord, error) {
	db, err := views.OpenDuckDB(ctx, "", w.Log, cacheDir, schemas.BIRuleSettingsHistory)
	if err != nil {
		return nil, fmt.Errorf("criteria of %s: %w", team, err)
	}
	defer db.Close()
	return readCriteria(ctx, db, team, "", nil)
}

// CriteriaAt returns the version of team's criteria in force at the
// instant at: the highest version whose effective_at is at or before it.
// A team with none then returns an error wrapping ErrNoCriteria.
func CriteriaAt(ctx context.Context, w *pipeline.Warehouse, team string, at time.Time, cacheDir string) (*CriteriaRecord, error) {
	db, err := views.OpenDuckDB(ctx, "", w.Log, cacheDir, schemas.BIRuleSettingsHistory)
	if err != nil {
		return nil, fmt.Errorf("criteria of %s: %w", team, err)
	}
	defer db.Close()
	return criteriaAt(ctx, db, team, at)
}

func criteriaAt(ctx context.Context, db *sql.DB, team string, at time.Time) (*CriteriaRecord, error) {
	recs, err := readCriteria(ctx, db, team, "AND effective_at <= ?", []any{at.UTC()})
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("team %s at %s: %w in force (korebi.birulesettings has none effective by then): set them with archtics realtime criteria set --team %s \"<criteria>\"",
			team, at.UTC().Format(time.RFC3339), ErrNoCriteria, team)
	}
	// The highest version wins, whatever its effective_at: a later set
	// overrides every earlier one from its effective time on.
	best := recs[0]
	for _, r := range recs[1:] {
		if r.Version > best.Version {
			best = r
		}
	}
	return &best, nil
}

// readCriteria reads team's criteria versions from
// korebi.birulesettings_history, oldest first.
func readCriteria(ctx context.Context, db *sql.DB, team, cond string, args []any) ([]CriteriaRecord, error) {
	q := `SELECT version, value, set_by, set_at, effective_at, coalesce(note, '') FROM ` +
		schemas.BIRuleSettingsHistory.SQLName() + ` WHERE team = ? AND setting = ? ` + cond + ` ORDER BY version`
	rows, err := db.QueryContext(ctx, q, append([]any{team, schemas.SettingRealtimeCriteria}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("read %s of %s: %w", schemas.BIRuleSettingsHistory.SQLName(), team, err)
	}
	defer rows.Close()
	var out []CriteriaRecord
	for rows.Next() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r := CriteriaRecord{Team: team}
		if err := rows.Scan(&r.Version, &r.Criteria, &r.SetBy, &r.SetAt, &r.EffectiveAt, &r.Note); err != nil {
			return nil, fmt.Errorf("read %s of %s: %w", schemas.BIRuleSettingsHistory.SQLName(), team, err)
		}
		r.SetAt, r.EffectiveAt = r.SetAt.UTC(), r.EffectiveAt.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s of %s: %w", schemas.BIRuleSettingsHistory.SQLName(), team, err)
	}
	return out, nil
}
