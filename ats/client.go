// Package ats is the product's client of Archtics Transaction Services:
// the change API (changes, keys, lookup), the realtime scan feed (events,
// attendance) and discovery (dsns, tables). The simulator serves the same
// API (its protocol is written at the top of package simulator's
// server.go), so the stages run against it in tests and against a real
// endpoint in production. It retries what is worth retrying: 429 after the
// Retry-After the server asks for, 5xx and dropped connections after a
// capped exponential backoff with jitter, up to a number of attempts and
// within the caller's context deadline.
//
// It imports no other package of this module: the simulator's tests use
// it as the stages do.
package ats

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"archtics/internal/ctxtime"
)

// Client calls one ATS endpoint. It is safe for concurrent use.
type Client struct {
	base        string
	token       string
	http        *http.Client
	maxAttempts int
	backoffBase time.Duration
	backoffCap  time.Duration
	maxWait     time.Duration
	attemptTO   time.Duration
	sleep       func(ctx context.Context, d time.Duration) error

	rngMu sync.Mutex
	rng   *rand.Rand
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the default *http.Client (whose transport has
// dial, TLS and response-header timeouts).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithMaxAttempts sets how many times one call is tried (>= 1; default 8).
func WithMaxAttempts(n int) Option {
	return func(c *Client) { c.maxAttempts = max(n, 1) }
}

// WithBackoff sets the first retry delay and its cap (defaults 200 ms, 10 s).
// The n-th retry waits a random duration in [d/2, d] with
// d = min(cap, base * 2^(n-1)): the jitter spreads clients that failed
// together.
func WithBackoff(base, cap time.Duration) Option {
	return func(c *Client) { c.backoffBase, c.backoffCap = base, max(cap, base) }
}

// WithMaxRetryAfter caps how long a 429's Retry-After is honoured (default
// 5 min): a bigger value is treated as this one, so a broken header cannot
// park a pipeline for a day.
func WithMaxRetryAfter(d time.Duration) Option { return func(c *Client) { c.maxWait = d } }

// WithAttemptTimeout bounds one attempt (default 2 min); the caller's
// context bounds the whole call, retries included.
func WithAttemptTimeout(d time.Duration) Option { return func(c *Client) { c.attemptTO = d } }

// WithSleep replaces how the client waits between attempts. Tests use it to
// record the waits without spending them.
func WithSleep(f func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) { c.sleep = f }
}

// WithJitterSeed makes the backoff jitter reproducible.
func WithJitterSeed(seed uint64) Option {
	return func(c *Client) { c.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }
}

// New returns a client of the endpoint at baseURL (e.g.
// "http://127.0.0.1:8787"), authenticating with the bearer token.
func New(baseURL, token string, opts ...Option) *Client {
	c := &Client{
		base:        strings.TrimRight(baseURL, "/"),
		token:       token,
		maxAttempts: 8,
		backoffBase: 200 * time.Millisecond,
		backoffCap:  10 * time.Second,
		maxWait:     5 * time.Minute,
		attemptTO:   2 * time.Minute,
		sleep:       ctxtime.Sleep,
		rng:         rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1)),
	}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.http = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   8,
			ForceAttemptHTTP2:     true,
		}}
	}
	return c
}

// Error is a failed call: the command and DSN, how many attempts were
// made, and the last answer or transport error.
type Error struct {
	Command  string
	DSN      string
	Attempts int
	Status   int    // HTTP status of the last answer; 0 if none came
	Code     string // the server's error code ("unknown_table", ...)
	Field    string // the request field the server blamed, if any
	Message  string // the server's message
	Err      error  // transport or decoding error, or the context's error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ats %s", e.Command)
	if e.DSN != "" {
		fmt.Fprintf(&b, " dsn %s", e.DSN)
	}
	fmt.Fprintf(&b, ": after %d attempt", e.Attempts)
	if e.Attempts != 1 {
		b.WriteByte('s')
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
		if e.Code != "" {
			fmt.Fprintf(&b, " %s", e.Code)
		}
		if e.Message != "" {
			fmt.Fprintf(&b, ": %s", e.Message)
		}
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable says whether the failure was one that a retry may cure.
func (e *Error) Retryable() bool { return e.Status == 0 && e.Err != nil || retryableStatus(e.Status) }

func retryableStatus(s int) bool {
	return s == http.StatusTooManyRequests || s == http.StatusInternalServerError || s == http.StatusBadGateway ||
		s == http.StatusServiceUnavailable || s == http.StatusGatewayTimeout
}

// call posts req to /ats and decodes the answer into out, retrying.
func (c *Client) call(ctx context.Context, command, dsn string, req map[string]any, out func([]byte) error) error {
	req["command"] = command
	if dsn != "" {
		req["dsn"] = dsn
	}
	body, err := json.Marshal(req)
	if err != nil {
		return &Error{Command: command, DSN: dsn, Err: fmt.Errorf("encode request: %w", err)}
	}
	for attempt := 1; ; attempt++ {
		e, retryAfter := c.attempt(ctx, body, out)
		if e == nil {
			return nil
		}
		e.Command, e.DSN, e.Attempts = command, dsn, attempt
		if ctx.Err() != nil {
			e.Err = errors.Join(ctx.Err(), e.Err)
			return e
		}
		if !e.Retryable() || attempt >= c.maxAttempts {
			return e
		}
		wait := c.backoff(attempt)
		if retryAfter >= 0 {
			// The server said when: wait that long (plus a little jitter
			// so clients throttled together do not return together).
			wait = min(retryAfter, c.maxWait) + c.jitter(c.backoffBase/2)
		}
		if err := c.sleep(ctx, wait); err != nil {
			e.Err = errors.Join(err, e.Err)
			return e
		}
	}
}

// attempt makes one try. retryAfter is the 429's Retry-After, or -1.
func (c *Client) attempt(ctx context.Context, body []byte, out func([]byte) error) (*Error, time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, c.attemptTO)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/ats", bytes.NewReader(body))
	if err != nil {
		return &Error{Err: fmt.Errorf("build request: %w", err)}, -1
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	if c.token != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(hreq)
	if err != nil {
		return &Error{Err: err}, -1
	}
	defer resp.Body.Close()
	data, err := readBody(resp)
	if err != nil {
		// A connection dropped mid-answer: retryable, like any transport error.
		return &Error{Err: fmt.Errorf("read answer (HTTP %d): %w", resp.StatusCode, err)}, -1
	}
	if resp.StatusCode != http.StatusOK {
		e := &Error{Status: resp.StatusCode}
		var ae struct{ Error, Code, Field string }
		if json.Unmarshal(data, &ae) == nil && ae.Error != "" {
			e.Message, e.Code, e.Field = ae.Error, ae.Code, ae.Field
		} else {
			e.Message = strings.TrimSpace(string(data[:min(len(data), 200)]))
		}
		ra := time.Duration(-1)
		if resp.StatusCode == http.StatusTooManyRequests {
			ra = parseRetryAfter(resp.Header.Get("Retry-After"))
		}
		return e, ra
	}
	if err := out(data); err != nil {
		// A 200 with a body that does not decode is treated like a
		// dropped connection (a proxy cut it short): retry.
		return &Error{Err: fmt.Errorf("decode answer: %w", err)}, -1
	}
	return nil, -1
}

// readBody reads an answer whole: into one buffer of its Content-Length
// when the server gives it (a 10,000-scan page is megabytes; growing a
// buffer copies it several times), else as it comes.
func readBody(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n > 0 && n <= 1<<30 {
		data := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, data); err != nil {
			return nil, err
		}
		return data, nil
	}
	return io.ReadAll(resp.Body)
}

// parseRetryAfter reads delay-seconds or an HTTP date; -1 if absent or bad.
func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return -1
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return -1
}

func (c *Client) backoff(attempt int) time.Duration {
	d := c.backoffBase
	for i := 1; i < attempt && d < c.backoffCap; i++ {
		d *= 2
	}
	d = min(d, c.backoffCap)
	return d/2 + c.jitter(d/2)
}

func (c *Client) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	c.rngMu.Lock()
	defer c.rngMu.Unlock()
	return time.Duration(c.rng.Int64N(int64(d) + 1))
}

// Rows are rows of text values in the order of their page's Columns; ""
// is NULL. They decode with parseRows, the feed's hot path.
type Rows [][]string

// UnmarshalJSON decodes [[string|null, ...], ...].
func (r *Rows) UnmarshalJSON(b []byte) error {
	rows, err := parseRows(b)
	*r = rows
	return err
}

// decode calls command and decodes its answer into a T.
func decode[T any](ctx context.Context, c *Client, command, dsn string, req map[string]any) (*T, error) {
	var v T
	err := c.call(ctx, command, dsn, req, func(data []byte) error { return json.Unmarshal(data, &v) })
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// Page is one page of rows (changes, lookup, attendance). Values are the
// text form of the column ("" is NULL), in the order of Columns.
type Page struct {
	Columns []string `json:"columns"`
	Rows    Rows     `json:"rows"`
	// UpdatedAt names the column holding each row's update time (changes).
	UpdatedAt string `json:"updated_at"`
	// NextCursor continues a changes pull; "" when done.
	NextCursor string `json:"next_cursor"`
	// AsOf is the snapshot the page answers for (pinned by the cursor).
	AsOf time.Time `json:"as_of"`
}

// Changes fetches one page of the versions of table updated at or after
// since (ignored when cursor is set), committed by the server's clock.
// pageSize 0 takes the server's default.
func (c *Client) Changes(ctx context.Context, dsn, table string, since time.Time, cursor string, pageSize int) (*Page, error) {
	req := map[string]any{"table": table}
	if cursor != "" {
		req["cursor"] = cursor
	} else {
		req["since"] = since.UTC().Format(time.RFC3339Nano)
	}
	if pageSize != 0 {
		req["page_size"] = pageSize
	}
	return decode[Page](ctx, c, "changes", dsn, req)
}

// KeysPage is one page of a table's present keys, sorted.
type KeysPage struct {
	KeyColumns []string  `json:"key_columns"`
	Keys       []string  `json:"keys"` // key columns joined by "|"
	NextCursor string    `json:"next_cursor"`
	AsOf       time.Time `json:"as_of"`
}

// Keys fetches one page of the keys of table present at the server's clock
// (pinned by the cursor across pages).
func (c *Client) Keys(ctx context.Context, dsn, table, cursor string, pageSize int) (*KeysPage, error) {
	req := map[string]any{"table": table}
	if cursor != "" {
		req["cursor"] = cursor
	}
	if pageSize != 0 {
		req["page_size"] = pageSize
	}
	return decode[KeysPage](ctx, c, "keys", dsn, req)
}

// LookupResult holds the present rows of the keys asked for and the keys
// that are gone (deleted or merged away).
type LookupResult struct {
	Columns []string  `json:"columns"`
	Rows    Rows      `json:"rows"`
	Missing []string  `json:"missing"`
	AsOf    time.Time `json:"as_of"`
}

// Lookup fetches the current rows of table with the given keys (at most
// 10,000 per call).
func (c *Client) Lookup(ctx context.Context, dsn, table string, keys []string) (*LookupResult, error) {
	return decode[LookupResult](ctx, c, "lookup", dsn, map[string]any{"table": table, "keys": keys})
}

// ScanPage is one page of the realtime feed of an event.
type ScanPage struct {
	Columns []string  `json:"columns"`
	Rows    Rows      `json:"rows"`
	LastSeq int64     `json:"last_seq"` // pass as afterSeq of the next call
	More    bool      `json:"more"`     // the feed already holds rows after LastSeq
	AsOf    time.Time `json:"as_of"`
}

// Attendance fetches the feed rows of an event with seq_num > afterSeq,
// at most pageSize (0: the server's default of 1,000; at most 10,000).
func (c *Client) Attendance(ctx context.Context, dsn string, eventID int32, afterSeq int64, pageSize int) (*ScanPage, error) {
	req := map[string]any{"event_id": eventID, "after_seq": afterSeq}
	if pageSize != 0 {
		req["page_size"] = pageSize
	}
	var page *ScanPage
	err := c.call(ctx, "attendance", dsn, req, func(data []byte) (err error) {
		page, err = decodeScanPage(data)
		return err
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// decodeScanPage decodes an attendance answer. The rows, nearly all of
// it, are parsed once by parseRows; the rest of the envelope, without
// them, by encoding/json (which would otherwise scan the rows twice more
// before handing them over). The rows' values share data's memory (a
// copy of a page is megabytes): data must not change afterwards, which
// holds for the answer buffer readBody allocates for each call.
func decodeScanPage(data []byte) (*ScanPage, error) {
	var p ScanPage
	s := unsafe.String(unsafe.SliceData(data), len(data))
	i, value, ok := rowsKeyAt(data)
	if !ok {
		return &p, json.Unmarshal(data, &p)
	}
	rows, end, err := parseRowsAt(s, value)
	if err != nil {
		return nil, err
	}
	rest := make([]byte, 0, len(s)-(end-i)+12)
	rest = append(append(append(rest, s[:i]...), `"rows":null`...), s[end:]...)
	if err := json.Unmarshal(rest, &p); err != nil {
		return nil, err
	}
	if p.Rows != nil {
		// Another key encoding/json takes for rows ("rows" again, or
		// "Rows"): which one holds the scans is anybody's guess.
		return nil, errors.New("the attendance answer has more than one rows key")
	}
	p.Rows = rows
	return &p, nil
}

// rowsKeyAt finds the answer's top-level key "rows", read with
// encoding/json's tokenizer up to it (the envelope's keys before it are
// small), and returns where the key starts and where its value starts.
// Not found, or spelled otherwise (with escapes), it returns false and
// the caller decodes the whole answer the standard way: searching the
// text for "rows": would also find it inside another key or a string.
func rowsKeyAt(data []byte) (key, value int, ok bool) {
	const quoted = `"rows"`
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0, 0, false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return 0, 0, false
		}
		if name, _ := t.(string); name == "rows" {
			end := int(dec.InputOffset())
			if end < len(quoted) || string(data[end-len(quoted):end]) != quoted {
				return 0, 0, false
			}
			i := end
			for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
				i++
			}
			if i >= len(data) || data[i] != ':' {
				return 0, 0, false
			}
			return end - len(quoted), i + 1, true
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return 0, 0, false
		}
	}
	return 0, 0, false
}

// Event is an event the realtime feed carries.
type Event struct {
	EventID int32     `json:"event_id"`
	Name    string    `json:"event_name"`
	Start   time.Time `json:"start_utc"`
}

// Events lists the feed's events of dsn starting in [from, to) (zero
// times: unbounded).
func (c *Client) Events(ctx context.Context, dsn string, from, to time.Time) ([]Event, error) {
	req := map[string]any{}
	if !from.IsZero() {
		req["from"] = from.UTC().Format(time.RFC3339Nano)
	}
	if !to.IsZero() {
		req["to"] = to.UTC().Format(time.RFC3339Nano)
	}
	r, err := decode[struct {
		Events []Event `json:"events"`
	}](ctx, c, "events", dsn, req)
	if err != nil {
		return nil, err
	}
	return r.Events, nil
}

// DSNs lists the client databases and the dump's cutoff.
func (c *Client) DSNs(ctx context.Context) (dsns []string, cutoff time.Time, err error) {
	r, err := decode[struct {
		DSNs   []string  `json:"dsns"`
		Cutoff time.Time `json:"cutoff"`
	}](ctx, c, "dsns", "", map[string]any{})
	if err != nil {
		return nil, time.Time{}, err
	}
	return r.DSNs, r.Cutoff, nil
}

// Table describes a table the change API serves.
type Table struct {
	Name      string   `json:"name"`
	FullName  string   `json:"full_name"`
	Columns   []string `json:"columns"`
	Key       []string `json:"key"`
	UpdatedAt string   `json:"updated_at"`
}

// Tables lists the tables the change API serves.
func (c *Client) Tables(ctx context.Context) ([]Table, error) {
	r, err := decode[struct {
		Tables []Table `json:"tables"`
	}](ctx, c, "tables", "", map[string]any{})
	if err != nil {
		return nil, err
	}
	return r.Tables, nil
}

// parseRows decodes [[string|null, ...], ...] into rows, null as "". It is
// hand-written because a 10,000-scan page is the hot path of the realtime
// feed: values without escapes are substrings of one copy of the input,
// so a page costs two allocations per row instead of one per value.
func parseRows(raw []byte) ([][]string, error) {
	s := string(raw)
	rows, end, err := parseRowsAt(s, 0)
	if err != nil {
		return nil, err
	}
	p := &rowParser{s: s, i: end}
	if p.ws(); p.i != len(s) {
		return nil, p.err("rows: trailing data")
	}
	return rows, nil
}

// parseRowsAt parses the rows array starting at s[i:] (after blanks) and
// returns the offset just past it.
func parseRowsAt(s string, i int) ([][]string, int, error) {
	p := &rowParser{s: s, i: i}
	rows, err := p.rows()
	return rows, p.i, err
}

func (p *rowParser) rows() ([][]string, error) {
	s := p.s
	p.ws()
	if p.i < len(s) && strings.HasPrefix(s[p.i:], "null") {
		p.i += 4
		return nil, nil
	}
	if !p.eat('[') {
		return nil, p.err("rows: want [")
	}
	var rows [][]string
	p.ws()
	if p.eat(']') {
		return rows, nil
	}
	// The rows' values are carved from slabs of a few thousand rows: a
	// slice per row would be the page's largest count of allocations.
	width := 0
	var slab []string
	for {
		p.ws()
		if !p.eat('[') {
			return nil, p.err("rows: want [ opening a row")
		}
		if cap(slab)-len(slab) < max(width, 1) {
			// Slabs grow with the page, up to 4,096 rows.
			slab = make([]string, 0, max(width, 8)*min(max(len(rows), 16), 4096))
		}
		start := len(slab)
		p.ws()
		if !p.eat(']') {
			for {
				p.ws()
				v, err := p.value()
				if err != nil {
					return nil, err
				}
				// A row wider than the slab has room for moves the slab;
				// the rows before keep the old one, which never changes.
				slab = append(slab, v)
				p.ws()
				if p.eat(']') {
					break
				}
				if !p.eat(',') {
					return nil, p.err("rows: want , or ] in a row")
				}
			}
		}
		row := slab[start:len(slab):len(slab)] // appending to a row never writes into the next
		width = max(width, len(row))
		rows = append(rows, row)
		p.ws()
		if p.eat(']') {
			return rows, nil
		}
		if !p.eat(',') {
			return nil, p.err("rows: want , or ] between rows")
		}
	}
}

type rowParser struct {
	s string
	i int
}

func (p *rowParser) err(msg string) error { return fmt.Errorf("%s at offset %d", msg, p.i) }

func (p *rowParser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *rowParser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *rowParser) value() (string, error) {
	if strings.HasPrefix(p.s[p.i:], "null") {
		p.i += 4
		return "", nil
	}
	if !p.eat('"') {
		// Numbers and booleans are not part of the protocol, but take them
		// verbatim rather than fail if a server sends them.
		j := p.i
		for j < len(p.s) && p.s[j] != ',' && p.s[j] != ']' && p.s[j] != ' ' {
			j++
		}
		if j == p.i {
			return "", p.err("rows: want a value")
		}
		v := p.s[p.i:j]
		p.i = j
		return v, nil
	}
	start := p.i
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '"':
			v := p.s[start:p.i]
			p.i++
			return v, nil
		case '\\':
			// Rare: fall back to the standard decoder for this value.
			end := p.i
			for end < len(p.s) {
				if p.s[end] == '\\' {
					end += 2
					continue
				}
				if p.s[end] == '"' {
					break
				}
				end++
			}
			if end >= len(p.s) {
				return "", p.err("rows: unterminated string")
			}
			var v string
			if err := json.Unmarshal([]byte(p.s[start-1:end+1]), &v); err != nil {
				return "", p.err("rows: bad string: " + err.Error())
			}
			p.i = end + 1
			return v, nil
		default:
			p.i++
		}
	}
	return "", p.err("rows: unterminated string")
}
