package watch

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"archtics/internal/ctxtime"
	"archtics/pipeline"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
)

// DeliveryStream is the stream holding team's delivered-cursor: a stream
// of its own, owning no table, so a delivery never conflicts with an
// admin changing the list (the settings stream) or with a tick (the
// realtime stream), and two deliveries for one team conflict with each
// other.
func DeliveryStream(team string) string { return team + "/watch" }

// cursorKey is the delivery stream's cursor: the JSON of a cursor.
const cursorKey = "watch.delivery"

// deliveryRetention bounds how long the delivery stream remembers batch
// ids: it commits once per arrival and holds no files, so a week of ids
// would only swell its checkpoints.
const deliveryRetention = 24 * time.Hour

// cursor is where delivery stands. Every arrival of an event with a
// sequence number up to Base is done (sent, or passed over because its
// account was not watched when its window was read). While a window is
// open (High set), the arrivals with Base < seq <= High are sent in
// delivery order, and those up to After are done.
type cursor struct {
	Base  map[int32]int64 `json:"base,omitempty"`
	High  map[int32]int64 `json:"high,omitempty"`
	After *position       `json:"after,omitempty"`
}

func parseCursor(s string) (cursor, error) {
	var c cursor
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return c, fmt.Errorf("cursor %s = %.80q does not parse (%w): restore the stream to a commit before it (archtics restore --to), or to 0 to send everything again", cursorKey, s, err)
	}
	return c, nil
}

// ErrNoWebhook is wrapped when a team's watch list names no webhook.
var ErrNoWebhook = errors.New("no webhook set")

// DeliverOptions tune Deliver. The zero value works.
type DeliverOptions struct {
	// Client sends the requests (default: a 10-second timeout, redirects
	// not followed: a POST redirected becomes a GET).
	Client *http.Client
	// Attempts bounds the tries of one arrival in a pass (default 8).
	// Backoff doubles from BaseBackoff (default 500ms) up to MaxBackoff
	// (default 30s) between them.
	Attempts    int
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// Sleep waits between attempts (default ctxtime.Sleep); tests pass
	// one that does not wait.
	Sleep func(ctx context.Context, d time.Duration) error
	// Getenv reads the signing secret's variable (default os.Getenv).
	Getenv func(string) string
	// CacheDir is the verified local cache the tables are read through.
	CacheDir string
	Logger   *slog.Logger
}

// Report says what a delivery pass did.
type Report struct {
	Team      string
	Webhook   string // scheme and host
	Delivered int
	Attempts  int // requests sent, retries included
	Windows   int // windows of stored scans opened
	Left      int // arrivals of the open window still to send (after a failure)
}

// DeliverIfSet is Deliver when team's watch list names a webhook, and
// nothing (nil, nil) otherwise: what `realtime run` calls after each
// tick.
func DeliverIfSet(ctx context.Context, w *pipeline.Warehouse, team string, opts DeliverOptions) (*Report, error) {
	rep, err := Deliver(ctx, w, team, opts)
	if errors.Is(err, ErrNoWebhook) {
		return nil, nil
	}
	return rep, err
}

// Deliver POSTs one JSON object (Payload) per arrival of team's watched
// accounts (Arrival) to the team's webhook, in delivery order, and
// commits the delivered-cursor on DeliveryStream after each success. One
// pass: it finishes the window a stopped pass left open, then opens one
// over the scans stored since and sends it.
//
// Each request carries the Idempotency-Key header (Arrival.Key) and,
// when the webhook names a secret, the HMAC-SHA256 signature header. A
// failed request (a connection error, a timeout, 408, 425, 429 or a 5xx)
// is retried with exponential backoff; any other answer, or running out
// of attempts, stops the pass with an error and the arrival is sent
// first next time: none is skipped, so order holds. An arrival answered
// with a 2xx is recorded and never sent again; only the one in flight,
// whose outcome is unknown (a timeout, a dropped connection, a pass
// stopped or crashed), may reach the receiver twice: exactly once needs
// the receiver to drop a key it has accepted. Two passes at once for one
// team: one fails with txlog.ErrCommitConflict, after at most its one
// arrival in flight.
func Deliver(ctx context.Context, w *pipeline.Warehouse, team string, opts DeliverOptions) (*Report, error) {
	opts.defaults()
	ver, err := Current(ctx, w, team, opts.CacheDir)
	if err != nil {
		return nil, err
	}
	if ver == nil || !ver.Webhook.Set() {
		return nil, fmt.Errorf("deliver arrivals of %s: %w: set one with archtics realtime watch set --team %s --webhook URL", team, ErrNoWebhook, team)
	}
	hook := ver.Webhook
	rep := &Report{Team: team, Webhook: hook.Host()}
	// A URL a hand edited into the table past the checks is refused
	// here too, before anything is sent.
	if err := CheckWebhook(hook); err != nil {
		return rep, fmt.Errorf("deliver arrivals of %s: %w", team, err)
	}
	var secret []byte
	if hook.SecretEnv != "" {
		if secret = []byte(opts.Getenv(hook.SecretEnv)); len(secret) == 0 {
			return rep, fmt.Errorf("deliver arrivals of %s: the webhook signs with the secret in $%s, which is empty or not set: set it in the environment", team, hook.SecretEnv)
		}
	}
	d := &delivery{w: w, team: team, hook: hook, secret: secret, opts: opts, rep: rep, runID: newRunID()}
	if d.head, err = w.Stream(ctx, DeliveryStream(team)); err != nil {
		return rep, fmt.Errorf("deliver arrivals of %s: %w", team, err)
	}
	if d.cur, err = parseCursor(d.head.Cursors[cursorKey]); err != nil {
		return rep, fmt.Errorf("deliver arrivals of %s: stream %s: %w", team, d.head.Stream, err)
	}
	db, err := views.OpenDuckDB(ctx, "", w.Log, opts.CacheDir, schemas.RTXEnriched, schemas.AcctMerge, schemas.WatchList)
	if err != nil {
		return rep, fmt.Errorf("deliver arrivals of %s: %w", team, err)
	}
	defer db.Close()
	for round := 0; round < 2; round++ {
		var pending []Arrival
		if d.cur.High == nil {
			highs, err := storedHighs(ctx, db, team)
			if err != nil {
				return rep, err
			}
			high := map[int32]int64{}
			for e, h := range highs {
				if h > d.cur.Base[e] {
					high[e] = h
				}
			}
			if len(high) == 0 {
				break // nothing stored since the last window
			}
			if pending, err = pendingArrivals(ctx, db, team, d.cur.Base, high, nil); err != nil {
				return rep, err
			}
			// Events whose scans expired drop out of the cursor.
			base := map[int32]int64{}
			for e := range highs {
				if b, ok := d.cur.Base[e]; ok {
					base[e] = b
				}
			}
			next := cursor{Base: base, High: high}
			if len(pending) == 0 {
				next = cursor{Base: merged(base, high)}
			}
			// The claim: a second pass that read the same head conflicts
			// here, before it sends anything.
			if err := d.commit(ctx, next, "window", 0); err != nil {
				return rep, err
			}
			rep.Windows++
		} else {
			if pending, err = pendingArrivals(ctx, db, team, d.cur.Base, d.cur.High, d.cur.After); err != nil {
				return rep, err
			}
			if len(pending) == 0 {
				if err := d.commit(ctx, cursor{Base: merged(d.cur.Base, d.cur.High)}, "close", 0); err != nil {
					return rep, err
				}
				continue
			}
			// The claim of a window a stopped pass left open.
			if err := d.commit(ctx, d.cur, "resume", 0); err != nil {
				return rep, err
			}
		}
		for i := range pending {
			a := &pending[i]
			if err := d.send(ctx, a); err != nil {
				rep.Left = len(pending) - i
				return rep, err
			}
			next := cursor{Base: d.cur.Base, High: d.cur.High, After: ptr(a.position())}
			if i == len(pending)-1 {
				next = cursor{Base: merged(d.cur.Base, d.cur.High)}
			}
			// Sent is sent: record it even when a signal came meanwhile,
			// so only a request still in flight is ever repeated.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			err := d.commit(cctx, next, "delivered", 1)
			cancel()
			if err != nil {
				rep.Left = len(pending) - i - 1
				return rep, fmt.Errorf("arrival %s was delivered, but recording it failed (the next pass sends it again): %w", a.Key(), err)
			}
			rep.Delivered++
			if err := ctx.Err(); err != nil {
				rep.Left = len(pending) - i - 1
				return rep, err
			}
		}
	}
	opts.Logger.Info("watch list arrivals delivered", "team", team, "webhook", rep.Webhook, "delivered", rep.Delivered,
		"attempts", rep.Attempts, "windows", rep.Windows)
	return rep, nil
}

func ptr[T any](v T) *T { return &v }

// merged is base with high's values over it.
func merged(base, high map[int32]int64) map[int32]int64 {
	out := maps.Clone(base)
	if out == nil {
		out = map[int32]int64{}
	}
	maps.Copy(out, high)
	return out
}

func (o *DeliverOptions) defaults() {
	if o.Client == nil {
		o.Client = &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if o.Attempts <= 0 {
		o.Attempts = 8
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.Sleep == nil {
		o.Sleep = ctxtime.Sleep
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// delivery is one pass's state.
type delivery struct {
	w      *pipeline.Warehouse
	team   string
	hook   Webhook
	secret []byte
	opts   DeliverOptions
	rep    *Report
	runID  string
	head   *txlog.StreamState
	cur    cursor
	n      int
}

func newRunID() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// commit records next as the delivery stream's cursor, as the commit
// after the head this pass read: another pass's commit in between makes
// it fail with txlog.ErrCommitConflict.
func (d *delivery) commit(ctx context.Context, next cursor, what string, delivered int64) error {
	data, err := json.Marshal(next)
	if err != nil {
		return err
	}
	d.n++
	req := txlog.CommitRequest{
		Stream: d.head.Stream,
		Stage:  "watch-deliver",
		// A batch id of this run's own: two passes never take each
		// other's commit for a retry of their own.
		BatchID:   fmt.Sprintf("watch-%s-%d-%s", d.runID, d.n, what),
		Cursors:   map[string]string{cursorKey: string(data)},
		ExpectSeq: d.head.Seq + 1,
		Retention: deliveryRetention,
		Summary:   map[string]int64{"delivered": delivered},
	}
	if _, err := d.w.CommitOn(ctx, d.head, req); err != nil {
		return fmt.Errorf("deliver arrivals of %s: record the cursor: %w", d.team, err)
	}
	d.cur = next
	return nil
}

// Payload is the JSON object POSTed for an arrival.
type Payload struct {
	Type           string `json:"type"` // "arrival"
	IdempotencyKey string `json:"idempotency_key"`
	Team           string `json:"team"`
	EventID        int32  `json:"event_id"`
	EventName      string `json:"archtics_event_name"`
	EventStart     string `json:"event_start"` // RFC 3339, UTC
	AcctID         int32  `json:"acct_id"`     // as listed
	HolderAcctID   int32  `json:"holder_acct_id"`
	Label          string `json:"label"`
	Note           string `json:"note,omitempty"`
	NameFirst      string `json:"name_first,omitempty"`
	NameLast       string `json:"name_last,omitempty"`
	SectionName    string `json:"section_name,omitempty"`
	RowName        string `json:"row_name,omitempty"`
	SeatNum        *int32 `json:"seat_num,omitempty"`
	Gate           string `json:"gate,omitempty"`
	ScannedAt      string `json:"scanned_at"`       // the scan's instant, RFC 3339, UTC
	TicketScanTime string `json:"ticket_scan_time"` // its wall clock in the team's preferred zone
	SeqNum         string `json:"attendance_seq_id"`
}

// PayloadOf is the object sent for a.
func PayloadOf(a *Arrival) Payload {
	return Payload{
		Type: "arrival", IdempotencyKey: a.Key(), Team: a.Team, EventID: a.EventID, EventName: a.EventName,
		EventStart: a.EventStart.UTC().Format(time.RFC3339), AcctID: a.AcctID, HolderAcctID: a.HolderAcctID,
		Label: a.Label, Note: a.Note, NameFirst: a.NameFirst, NameLast: a.NameLast,
		SectionName: a.Section, RowName: a.Row, SeatNum: a.Seat, Gate: a.Gate,
		ScannedAt: a.ScanAt.UTC().Format(time.RFC3339Nano), TicketScanTime: a.ScanLocal.Format("2006-01-02 15:04:05"),
		SeqNum: strconv.FormatInt(a.Seq, 10),
	}
}

// send POSTs a, retrying what may pass on a retry.
func (d *delivery) send(ctx context.Context, a *Arrival) error {
	body, err := json.Marshal(PayloadOf(a))
	if err != nil {
		return err
	}
	wait := d.opts.BaseBackoff
	for attempt := 1; ; attempt++ {
		d.rep.Attempts++
		status, err := d.post(ctx, a.Key(), body)
		if err == nil && status >= 200 && status < 300 {
			return nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("deliver arrival %s to %s: stopped: %w", a.Key(), d.rep.Webhook, cerr)
		}
		what := "HTTP " + strconv.Itoa(status)
		if err != nil {
			what = err.Error()
		} else if !retryable(status) {
			return fmt.Errorf("deliver arrival %s to %s: the receiver answered %s, which a retry would not change: "+
				"fix the receiver (or the webhook) and rerun; the arrival is sent first then", a.Key(), d.rep.Webhook, what)
		}
		if attempt >= d.opts.Attempts {
			return fmt.Errorf("deliver arrival %s to %s: %d attempts failed, the last with %s: rerun when the receiver is back; "+
				"the arrival is sent first then", a.Key(), d.rep.Webhook, attempt, what)
		}
		d.opts.Logger.Warn("webhook attempt failed; retrying", "team", d.team, "webhook", d.rep.Webhook, "key", a.Key(),
			"attempt", attempt, "error", what, "wait", wait)
		if err := d.opts.Sleep(ctx, wait); err != nil {
			return fmt.Errorf("deliver arrival %s to %s: stopped: %w", a.Key(), d.rep.Webhook, err)
		}
		wait = min(2*wait, d.opts.MaxBackoff)
	}
}

// retryable reports whether an HTTP status may pass on a retry.
func retryable(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooEarly || status == http.StatusTooManyRequests || status >= 500
}

// post sends one request and returns the status. Its error never holds
// the URL: net/http's does, path and query included.
func (d *delivery) post(ctx context.Context, key string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.hook.URL, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("the webhook URL does not make a request")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "archtics-watch")
	req.Header.Set(IdempotencyKeyHeader, key)
	if len(d.secret) > 0 {
		req.Header.Set(SignatureHeader, sign(d.secret, body))
	}
	resp, err := d.opts.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, err
	}
	defer resp.Body.Close()
	// Read a little of the answer so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}
