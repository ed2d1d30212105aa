package simulator

// The simulator's network face: an imitation of Archtics Transaction
// Services (ATS) serving the change API and the realtime scan feed of a
// Source, gated by a simulated clock, with faults on demand.
//
// # Protocol
//
// Every data call is an HTTPS (here HTTP) POST to /ats of a JSON body that
// names the command and, ATS style, the client database (DSN) it is about:
//
//	POST /ats
//	Authorization: Bearer <token>
//	Content-Type: application/json
//
//	{"command": "changes", "dsn": "nhl", "table": "cust",
//	 "since": "2026-11-20 12:00:01", "page_size": 5000}
//
// Timestamps in requests are either RFC 3339 ("2026-11-20T17:00:01Z") or
// Archtics local wall clock "YYYY-MM-DD HH:MM:SS" in the client's time zone.
// A local time the zone skips (spring forward) is a 400; one it repeats
// (fall back) is a 400 unless an offset says which ("2026-11-01
// 01:30:00-05:00" is the second 01:30).
// Timestamps in rows are Archtics local wall clock, as in the dump; "as_of"
// is RFC 3339 with the client's UTC offset. Row values are JSON strings in
// the dump's text form (integers decimal, decimals "12.50", dates
// YYYY-MM-DD), null for NULL; rows are arrays in the order of "columns".
//
// Commands:
//
//	dsns        {}                                        -> {"dsns": ["nhl", "arena"], "cutoff": T, "as_of": T}
//	tables      {}                                        -> {"tables": [{"name", "full_name", "columns", "key", "updated_at"}], "as_of": T}
//	changes     {"dsn", "table", "since", "cursor", "page_size"}
//	            -> {"columns": [...], "rows": [[...]], "updated_at": "upd_date", "next_cursor": "..." | "", "as_of": T}
//	keys        {"dsn", "table", "cursor", "page_size"}    -> {"key_columns": [...], "keys": ["nhl|123|1", ...], "next_cursor", "as_of"}
//	lookup      {"dsn", "table", "keys": [...]}            -> {"columns", "rows", "missing": [...], "as_of"}
//	events      {"dsn", "from", "to"}                      -> {"events": [{"event_id", "event_name", "start", "start_utc"}], "as_of"}
//	attendance  {"dsn", "event_id", "after_seq", "page_size"}
//	            -> {"columns", "rows", "last_seq": N, "more": bool, "as_of"}
//
// changes serves the versions of a table with update time >= since that
// Archtics had committed by the server's clock, ordered by (update time,
// key). The first page pins the snapshot: "as_of" is the clock at that
// call, and the opaque next_cursor carries it with the position (update
// time and key of the last row served), so the pages of one pull are
// exactly one snapshot, whatever the page size and however many rows share
// one timestamp across a page boundary. Pass the cursor back with the same
// dsn and table (since may be omitted); next_cursor "" means done. A
// version committed late (its update time older than rows already served)
// is only seen by a later pull whose since reaches back over it: clients
// must re-pull with an overlap and deduplicate by key and update time.
// Account merges and deletions produce no change; use keys (every present
// key, paged the same way, sorted) and lookup (rows by key, at most 10,000
// keys; "missing" lists the keys that are gone) to detect them. A key is
// the table's key columns joined by "|".
//
// attendance serves one event's feed rows (schemas.Scan columns) with
// seq_num > after_seq that the feed had delivered by the clock, in seq_num
// order, at most page_size (default 1,000 like the old integration, at most
// 10,000 like the new). last_seq is the seq_num of the last row served
// (after_seq when none): pass it as the next after_seq. A page never splits
// the rows of one seq_num (a redelivered scan repeats its seq_num), so
// paging by last_seq loses nothing: it ends early instead, or, if the
// deliveries of its first seq_num alone exceed page_size, holds them all.
// "more" says the feed already holds further rows. Redeliveries, exits,
// re-entries and rejected scans are included, as in the real feed:
// filtering is the client's job. events lists the events the feed
// carries, with their start, optionally those starting in [from, to), so
// a client can pull from 5 h before a start to 6 h after. The feed
// forgets, as Ticketmaster's does: an event is listed and served until
// seven days after its start by the simulated clock; after that,
// attendance answers 410 event_expired.
//
// Page sizes: changes 1..10,000 (default 1,000), keys 1..100,000 (default
// 10,000), attendance 1..10,000 (default 1,000). A larger one is a 400.
//
// Errors are {"error": "message", "code": "...", "field": "..."} with the
// HTTP status: 400 bad_request, bad_json, unknown_command, unknown_dsn,
// unknown_table, bad_cursor, bad_page_size (field names the culprit); 401
// unauthorized (missing or wrong bearer token); 404 not_found; 410
// event_expired (an event older than the feed's seven days); 405
// method_not_allowed; 429 rate_limited with Retry-After in seconds; 500
// server_error, 502 bad_gateway, 503 unavailable. Injected faults also
// include slow answers and connections closed before or in the middle of
// the answer. 429 and 5xx are retryable, as is a dropped connection.
//
// Admin (bearer token too, never faulted):
//
//	GET  /admin/clock                                          -> {"now": T, "now_utc": T, "speed": 600}
//	POST /admin/clock  {"set": T, "advance": "3m", "speed": 600} (any subset; applied in that order)
//	GET  /admin/faults                                         -> {"rate", "kinds", "seed", "slow_delay", "retry_after", "calls", "counts": [{"kind", "count"}]}
//	POST /admin/faults {"rate": 0.3, "kinds": ["429", "5xx"], "seed": 1, "slow_delay": "2s", "retry_after": "1s"}
//	GET  /healthz      (no token) -> {"ok": true}

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"archtics/schemas"
)

// Page size limits of the paged commands.
const (
	DefaultChangesPageSize    = 1000
	MaxChangesPageSize        = 10000
	DefaultKeysPageSize       = 10000
	MaxKeysPageSize           = 100000
	DefaultAttendancePageSize = 1000 // the old realtime integration's 1,000 fans per pull
	MaxAttendancePageSize     = 10000
	MaxLookupKeys             = 10000
	maxRequestBytes           = 8 << 20
)

// ServerConfig configures a Server.
type ServerConfig struct {
	// Token is the bearer token every call must carry. Empty disables auth
	// (never the case from the command line).
	Token string
	// Clock gates what is visible. nil: a frozen SimClock at the cutoff.
	Clock Clock
	// Faults injects failures into /ats calls. nil: none (admin can still
	// turn them on).
	Faults *Faults
	// Location is the client's time zone, for "YYYY-MM-DD HH:MM:SS" inputs
	// and as_of. nil: the Source's Location() if it has one, else UTC.
	Location *time.Location
	// Logger logs each call at debug level and failures at warn. nil: discard.
	Logger *slog.Logger
}

// Server is the simulated ATS endpoint. It is an http.Handler.
type Server struct {
	src    Source
	token  string
	clock  Clock
	faults *Faults
	loc    *time.Location
	log    *slog.Logger
	teams  map[string]bool
	dsns   []string

	cacheMu sync.Mutex
	cache   []cacheEntry // most recent last; tiny LRU of pinned snapshots
}

// NewServer serves src.
func NewServer(src Source, cfg ServerConfig) (*Server, error) {
	if src == nil {
		return nil, errors.New("simulator server: nil source")
	}
	s := &Server{src: src, token: cfg.Token, clock: cfg.Clock, faults: cfg.Faults, loc: cfg.Location, log: cfg.Logger}
	if s.clock == nil {
		s.clock = NewSimClock(src.Cutoff())
	}
	if s.faults == nil {
		s.faults, _ = NewFaults(FaultConfig{})
	}
	if s.loc == nil {
		if l, ok := src.(interface{ Location() *time.Location }); ok {
			s.loc = l.Location()
		} else {
			s.loc = time.UTC
		}
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.dsns = src.Teams()
	s.teams = map[string]bool{}
	for _, t := range s.dsns {
		s.teams[t] = true
	}
	return s, nil
}

// Clock returns the server's clock.
func (s *Server) Clock() Clock { return s.clock }

// Faults returns the server's fault injector.
func (s *Server) Faults() *Faults { return s.faults }

// apiError is an error answer.
type apiError struct {
	status int
	code   string
	field  string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badField(code, field, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, field: field, msg: fmt.Sprintf(format, args...)}
}

// response is an answer ready to write: the body is complete before the
// first byte goes out, so Content-Length is exact and a "drop" fault can
// cut it at a known point.
type response struct {
	status int
	header map[string]string
	body   []byte
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// ServeHTTP routes /ats, /admin/* and /healthz.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/healthz":
		s.write(w, &response{status: http.StatusOK, body: []byte(`{"ok":true}` + "\n")})
		return
	case r.URL.Path == "/ats":
		if r.Method != http.MethodPost {
			s.writeErr(w, &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed", msg: "ATS calls are POST /ats with a JSON body"})
			return
		}
	case strings.HasPrefix(r.URL.Path, "/admin/"):
	default:
		s.writeErr(w, &apiError{status: http.StatusNotFound, code: "not_found", field: "path", msg: fmt.Sprintf("no endpoint %s: use POST /ats, /admin/clock or /admin/faults", r.URL.Path)})
		return
	}
	if err := s.authorize(r); err != nil {
		s.writeErr(w, err)
		return
	}
	if r.URL.Path != "/ats" {
		s.admin(w, r)
		return
	}

	// Faults are drawn after auth, so a wrong token is always a clean 401,
	// and never on /admin, so a test can always steer the server.
	f := s.faults.Next()
	switch f.Kind {
	case Fault429:
		secs := s.faults.Config().retryAfterSeconds()
		s.writeErr(w, &apiError{status: http.StatusTooManyRequests, code: "rate_limited",
			msg: fmt.Sprintf("rate limit exceeded: retry after %d s", secs)}, "Retry-After", strconv.FormatInt(secs, 10))
		return
	case Fault500:
		s.writeErr(w, &apiError{status: http.StatusInternalServerError, code: "server_error", msg: "internal error (injected)"})
		return
	case Fault502:
		s.writeErr(w, &apiError{status: http.StatusBadGateway, code: "bad_gateway", msg: "bad gateway (injected)"})
		return
	case Fault503:
		s.writeErr(w, &apiError{status: http.StatusServiceUnavailable, code: "unavailable", msg: "service unavailable (injected)"})
		return
	case FaultSlow:
		t := time.NewTimer(s.faults.Config().SlowDelay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	case FaultDrop:
		if f.Early {
			// Aborting the handler before anything was written makes
			// net/http close the connection without a response.
			panic(http.ErrAbortHandler)
		}
	}

	bp := bufPool.Get().(*[]byte)
	defer func() { *bp = (*bp)[:0]; bufPool.Put(bp) }()
	resp, err := s.handle(r, (*bp)[:0])
	if err != nil {
		s.writeErr(w, err)
		return
	}
	*bp = resp.body[:0] // keep the grown buffer for the next call
	if f.Kind == FaultDrop {
		// Half an answer under a full Content-Length, then a closed
		// connection: the client sees an unexpected EOF mid-body.
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(resp.body)))
		w.WriteHeader(resp.status)
		_, _ = w.Write(resp.body[:len(resp.body)/2])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	s.write(w, resp)
}

func (s *Server) authorize(r *http.Request) *apiError {
	if s.token == "" {
		return nil
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return &apiError{status: http.StatusUnauthorized, code: "unauthorized", field: "Authorization",
			msg: "missing Authorization header: send 'Authorization: Bearer <token>'"}
	}
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return &apiError{status: http.StatusUnauthorized, code: "unauthorized", field: "Authorization",
			msg: "Authorization header is not a bearer token: send 'Authorization: Bearer <token>'"}
	}
	if subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) != 1 {
		return &apiError{status: http.StatusUnauthorized, code: "unauthorized", field: "Authorization", msg: "wrong bearer token"}
	}
	return nil
}

func (s *Server) write(w http.ResponseWriter, r *response) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	for k, v := range r.header {
		h.Set(k, v)
	}
	h.Set("Content-Length", strconv.Itoa(len(r.body)))
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body)
}

func (s *Server) writeErr(w http.ResponseWriter, err error, header ...string) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{status: http.StatusInternalServerError, code: "server_error", msg: err.Error()}
	}
	if ae.status >= 500 && ae.code == "server_error" {
		s.log.Warn("ats call failed", "error", ae.msg)
	}
	b := []byte(`{"error":`)
	b = appendJSONString(b, ae.msg)
	b = append(b, `,"code":`...)
	b = appendJSONString(b, ae.code)
	if ae.field != "" {
		b = append(b, `,"field":`...)
		b = appendJSONString(b, ae.field)
	}
	b = append(b, "}\n"...)
	resp := &response{status: ae.status, body: b, header: map[string]string{}}
	for i := 0; i+1 < len(header); i += 2 {
		resp.header[header[i]] = header[i+1]
	}
	s.write(w, resp)
}

// atsRequest is the union of every command's fields. Unknown fields are
// refused, so a misspelt "pagesize" is a 400 rather than a silent default.
type atsRequest struct {
	Command  string   `json:"command"`
	DSN      string   `json:"dsn"`
	Table    string   `json:"table"`
	Since    string   `json:"since"`
	Cursor   string   `json:"cursor"`
	PageSize int      `json:"page_size"`
	Keys     []string `json:"keys"`
	EventID  *int64   `json:"event_id"`
	AfterSeq int64    `json:"after_seq"`
	From     string   `json:"from"`
	To       string   `json:"to"`
}

func (s *Server) handle(r *http.Request, buf []byte) (*response, error) {
	var req atsRequest
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxRequestBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, &apiError{status: http.StatusBadRequest, code: "bad_json", field: "body", msg: fmt.Sprintf("request body: %v", err)}
	}
	// The snapshot instant of this call: second resolution, like Archtics.
	now := s.clock.Now().Truncate(time.Second)
	var err error
	switch req.Command {
	case "dsns":
		buf, err = s.cmdDSNs(buf, now)
	case "tables":
		buf, err = s.cmdTables(buf, now)
	case "changes":
		buf, err = s.cmdChanges(buf, &req, now)
	case "keys":
		buf, err = s.cmdKeys(buf, &req, now)
	case "lookup":
		buf, err = s.cmdLookup(buf, &req, now)
	case "events":
		buf, err = s.cmdEvents(buf, &req, now)
	case "attendance":
		buf, err = s.cmdAttendance(buf, &req, now)
	case "":
		return nil, badField("bad_request", "command", "missing command: want one of dsns, tables, changes, keys, lookup, events, attendance")
	default:
		return nil, badField("unknown_command", "command", "unknown command %q: want one of dsns, tables, changes, keys, lookup, events, attendance", req.Command)
	}
	if err != nil {
		return nil, err
	}
	s.log.Debug("ats call", "command", req.Command, "dsn", req.DSN, "table", req.Table, "bytes", len(buf))
	return &response{status: http.StatusOK, body: buf}, nil
}

func (s *Server) dsn(req *atsRequest) (string, error) {
	if req.DSN == "" {
		return "", badField("bad_request", "dsn", "missing dsn: want one of %s", strings.Join(s.dsns, ", "))
	}
	if !s.teams[req.DSN] {
		return "", badField("unknown_dsn", "dsn", "unknown dsn %q: want one of %s", req.DSN, strings.Join(s.dsns, ", "))
	}
	return req.DSN, nil
}

func sourceTable(name string) (*schemas.Table, error) {
	var names []string
	for _, t := range schemas.SourceTables {
		if t.Name == name || t.FullName() == name {
			return t, nil
		}
		names = append(names, t.Name)
	}
	if name == "" {
		return nil, badField("bad_request", "table", "missing table: want one of %s", strings.Join(names, ", "))
	}
	return nil, badField("unknown_table", "table", "unknown table %q: want one of %s", name, strings.Join(names, ", "))
}

func pageSize(field string, n, def, max int) (int, error) {
	switch {
	case n == 0:
		return def, nil
	case n < 0:
		return 0, badField("bad_page_size", field, "page_size %d: want 1..%d (0 or absent: %d)", n, max, def)
	case n > max:
		return 0, badField("bad_page_size", field, "page_size %d exceeds the maximum %d", n, max)
	}
	return n, nil
}

// parseInstant reads RFC 3339 or local "YYYY-MM-DD HH:MM:SS" /
// "YYYY-MM-DD", refusing a local time the zone skips or repeats unless an
// offset names the instant (see ParseLocalTime).
func (s *Server) parseInstant(field, v string) (time.Time, error) {
	t, err := ParseLocalTime(v, s.loc)
	if err != nil {
		return time.Time{}, badField("bad_request", field, "%s: %v", field, err)
	}
	return t, nil
}

func (s *Server) appendAsOf(b []byte, now time.Time) []byte {
	b = append(b, `"as_of":"`...)
	b = now.In(s.loc).AppendFormat(b, time.RFC3339)
	return append(b, '"')
}

func (s *Server) cmdDSNs(b []byte, now time.Time) ([]byte, error) {
	b = append(b, `{"command":"dsns","dsns":`...)
	b = appendStrings(b, s.dsns)
	b = append(b, `,"cutoff":"`...)
	b = s.src.Cutoff().In(s.loc).AppendFormat(b, time.RFC3339)
	b = append(b, `",`...)
	b = s.appendAsOf(b, now)
	return append(b, "}\n"...), nil
}

func (s *Server) cmdTables(b []byte, now time.Time) ([]byte, error) {
	b = append(b, `{"command":"tables","tables":[`...)
	for i, t := range schemas.SourceTables {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, t.Name)
		b = append(b, `,"full_name":`...)
		b = appendJSONString(b, t.FullName())
		b = append(b, `,"columns":`...)
		b = appendStrings(b, columnNames(t))
		b = append(b, `,"key":`...)
		b = appendStrings(b, t.Key)
		b = append(b, `,"updated_at":`...)
		b = appendJSONString(b, t.UpdatedAt)
		b = append(b, '}')
	}
	b = append(b, "],"...)
	b = s.appendAsOf(b, now)
	return append(b, "}\n"...), nil
}

// cursor is the decoded position of a paged pull. It pins the snapshot
// (asOf) and the query (dsn, table, since) so every page answers the same
// question; the position is the (update time, key) of the last row served.
type cursor struct {
	kind    byte // 'c' changes, 'k' keys
	dsn     string
	table   string
	since   int64 // unix nanoseconds
	asOf    int64 // unix seconds
	lastUpd int64 // unix nanoseconds
	lastKey string
}

const cursorSep = "\x1f"

func (c cursor) encode() string {
	raw := strings.Join([]string{"v1", string(c.kind), c.dsn, c.table, strconv.FormatInt(c.since, 10),
		strconv.FormatInt(c.asOf, 10), strconv.FormatInt(c.lastUpd, 10), c.lastKey}, cursorSep)
	h := fnv.New32a()
	h.Write([]byte(raw))
	raw += cursorSep + strconv.FormatUint(uint64(h.Sum32()), 36)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeCursor(s string, kind byte, dsn, table string) (cursor, error) {
	bad := func(why string) (cursor, error) {
		return cursor{}, badField("bad_cursor", "cursor", "cursor %q: %s; pass next_cursor back unchanged, or start again without one", truncate(s, 40), why)
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return bad("not a cursor this server issued")
	}
	parts := strings.Split(string(raw), cursorSep)
	if len(parts) != 9 || parts[0] != "v1" {
		return bad("not a cursor this server issued")
	}
	h := fnv.New32a()
	h.Write(raw[:len(raw)-len(parts[8])-1])
	if strconv.FormatUint(uint64(h.Sum32()), 36) != parts[8] {
		return bad("corrupt")
	}
	c := cursor{kind: parts[1][0], dsn: parts[2], table: parts[3], lastKey: parts[7]}
	var e1, e2, e3 error
	c.since, e1 = strconv.ParseInt(parts[4], 10, 64)
	c.asOf, e2 = strconv.ParseInt(parts[5], 10, 64)
	c.lastUpd, e3 = strconv.ParseInt(parts[6], 10, 64)
	if e1 != nil || e2 != nil || e3 != nil || len(parts[1]) != 1 {
		return bad("corrupt")
	}
	if c.kind != kind {
		return bad("issued for another command")
	}
	if c.dsn != dsn || c.table != table {
		return bad(fmt.Sprintf("issued for dsn %q table %q, not dsn %q table %q", c.dsn, c.table, dsn, table))
	}
	return c, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// cacheEntry holds one pinned snapshot (a changes or keys result), so the
// pages of one pull do not each recompute it from the Source.
type cacheEntry struct {
	key     cursor // kind, dsn, table, since, asOf; position fields zero
	changes []Change
	keys    []string
}

const cacheEntries = 8

func (s *Server) snapshot(key cursor, fill func(*cacheEntry)) *cacheEntry {
	s.cacheMu.Lock()
	for i := len(s.cache) - 1; i >= 0; i-- {
		if s.cache[i].key == key {
			e := s.cache[i]
			s.cache = append(append(s.cache[:i:i], s.cache[i+1:]...), e)
			s.cacheMu.Unlock()
			return &e
		}
	}
	s.cacheMu.Unlock()
	e := cacheEntry{key: key}
	fill(&e) // outside the lock: a big table must not stall other calls
	s.cacheMu.Lock()
	if len(s.cache) >= cacheEntries {
		s.cache = append(s.cache[:0:0], s.cache[1:]...)
	}
	s.cache = append(s.cache, e)
	s.cacheMu.Unlock()
	return &e
}

func (s *Server) cmdChanges(b []byte, req *atsRequest, now time.Time) ([]byte, error) {
	dsn, err := s.dsn(req)
	if err != nil {
		return nil, err
	}
	t, err := sourceTable(req.Table)
	if err != nil {
		return nil, err
	}
	n, err := pageSize("page_size", req.PageSize, DefaultChangesPageSize, MaxChangesPageSize)
	if err != nil {
		return nil, err
	}
	var since time.Time
	if req.Since != "" {
		if since, err = s.parseInstant("since", req.Since); err != nil {
			return nil, err
		}
	}
	key := cursor{kind: 'c', dsn: dsn, table: t.Name, since: since.UnixNano(), asOf: now.Unix()}
	var pos *cursor
	if req.Cursor != "" {
		c, err := decodeCursor(req.Cursor, 'c', dsn, t.Name)
		if err != nil {
			return nil, err
		}
		if req.Since != "" && c.since != key.since {
			return nil, badField("bad_cursor", "since", "since %q differs from the since the cursor was issued for: omit since when passing a cursor", req.Since)
		}
		key.since, key.asOf = c.since, c.asOf
		pos = &c
	} else if req.Since == "" {
		return nil, badField("bad_request", "since", "missing since: want RFC 3339 or local 'YYYY-MM-DD HH:MM:SS' (e.g. the dump's cutoff)")
	}
	asOf := time.Unix(key.asOf, 0).UTC()
	snap := s.snapshot(key, func(e *cacheEntry) {
		e.changes = s.src.Changes(dsn, t, time.Unix(0, key.since).UTC(), asOf)
	})
	all := snap.changes
	start := 0
	if pos != nil {
		start = changeAfter(all, pos.lastUpd, pos.lastKey)
	}
	end := min(start+n, len(all))
	page := all[start:end]

	b = append(b, `{"command":"changes","dsn":`...)
	b = appendJSONString(b, dsn)
	b = append(b, `,"table":`...)
	b = appendJSONString(b, t.Name)
	b = append(b, `,"updated_at":`...)
	b = appendJSONString(b, t.UpdatedAt)
	b = append(b, `,"columns":`...)
	b = appendStrings(b, columnNames(t))
	b = append(b, `,"rows":[`...)
	for i := range page {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRow(b, page[i].Row)
	}
	b = append(b, `],"next_cursor":"`...)
	if end < len(all) {
		last := page[len(page)-1]
		next := key
		next.lastUpd, next.lastKey = last.Updated.UnixNano(), last.Key
		b = append(b, next.encode()...)
	}
	b = append(b, `",`...)
	b = s.appendAsOf(b, asOf)
	return append(b, "}\n"...), nil
}

// changeAfter is the index of the first change after (upd, key) in a
// snapshot ordered by (Updated, Key). It finds the run of changes sharing
// upd by binary search and the key inside it by binary search too; if the
// Source orders keys inside a run some other way, a linear scan of the run
// finds the exact key, so a tie of many rows is never cut wrong.
func changeAfter(all []Change, upd int64, key string) int {
	lo := sort.Search(len(all), func(i int) bool { return all[i].Updated.UnixNano() >= upd })
	hi := lo + sort.Search(len(all)-lo, func(i int) bool { return all[lo+i].Updated.UnixNano() > upd })
	j := lo + sort.Search(hi-lo, func(i int) bool { return all[lo+i].Key >= key })
	if j < hi && all[j].Key == key {
		return j + 1
	}
	for j := lo; j < hi; j++ {
		if all[j].Key == key {
			return j + 1
		}
	}
	// The key is not in the snapshot (cannot happen for a deterministic
	// Source): resume after every row that sorts before or at it.
	return j
}

func (s *Server) cmdKeys(b []byte, req *atsRequest, now time.Time) ([]byte, error) {
	dsn, err := s.dsn(req)
	if err != nil {
		return nil, err
	}
	t, err := sourceTable(req.Table)
	if err != nil {
		return nil, err
	}
	n, err := pageSize("page_size", req.PageSize, DefaultKeysPageSize, MaxKeysPageSize)
	if err != nil {
		return nil, err
	}
	key := cursor{kind: 'k', dsn: dsn, table: t.Name, asOf: now.Unix()}
	start := 0
	var pos *cursor
	if req.Cursor != "" {
		c, err := decodeCursor(req.Cursor, 'k', dsn, t.Name)
		if err != nil {
			return nil, err
		}
		key.asOf = c.asOf
		pos = &c
	}
	asOf := time.Unix(key.asOf, 0).UTC()
	all := s.snapshot(key, func(e *cacheEntry) { e.keys = s.src.Keys(dsn, t, asOf) }).keys
	if pos != nil {
		start = sort.SearchStrings(all, pos.lastKey)
		if start < len(all) && all[start] == pos.lastKey {
			start++
		}
	}
	end := min(start+n, len(all))
	b = append(b, `{"command":"keys","dsn":`...)
	b = appendJSONString(b, dsn)
	b = append(b, `,"table":`...)
	b = appendJSONString(b, t.Name)
	b = append(b, `,"key_columns":`...)
	b = appendStrings(b, t.Key)
	b = append(b, `,"keys":`...)
	b = appendStrings(b, all[start:end])
	b = append(b, `,"next_cursor":"`...)
	if end < len(all) {
		next := key
		next.lastKey = all[end-1]
		b = append(b, next.encode()...)
	}
	b = append(b, `",`...)
	b = s.appendAsOf(b, asOf)
	return append(b, "}\n"...), nil
}

func (s *Server) cmdLookup(b []byte, req *atsRequest, now time.Time) ([]byte, error) {
	dsn, err := s.dsn(req)
	if err != nil {
		return nil, err
	}
	t, err := sourceTable(req.Table)
	if err != nil {
		return nil, err
	}
	if len(req.Keys) > MaxLookupKeys {
		return nil, badField("bad_request", "keys", "%d keys: at most %d per lookup", len(req.Keys), MaxLookupKeys)
	}
	rows := s.src.Lookup(dsn, t, req.Keys, now)
	keyIdx := make([]int, len(t.Key))
	for i, k := range t.Key {
		keyIdx[i] = t.ColumnIndex(k)
	}
	found := make(map[string]bool, len(rows))
	parts := make([]string, len(keyIdx))
	for _, r := range rows {
		for i, ci := range keyIdx {
			parts[i] = r[ci]
		}
		found[strings.Join(parts, "|")] = true
	}
	missing := []string{}
	for _, k := range req.Keys {
		if !found[k] {
			missing = append(missing, k)
		}
	}
	b = append(b, `{"command":"lookup","dsn":`...)
	b = appendJSONString(b, dsn)
	b = append(b, `,"table":`...)
	b = appendJSONString(b, t.Name)
	b = append(b, `,"columns":`...)
	b = appendStrings(b, columnNames(t))
	b = append(b, `,"rows":`...)
	b = appendRows(b, rows)
	b = append(b, `,"missing":`...)
	b = appendStrings(b, missing)
	b = append(b, ',')
	b = s.appendAsOf(b, now)
	return append(b, "}\n"...), nil
}

func (s *Server) cmdEvents(b []byte, req *atsRequest, now time.Time) ([]byte, error) {
	dsn, err := s.dsn(req)
	if err != nil {
		return nil, err
	}
	var from, to time.Time
	if req.From != "" {
		if from, err = s.parseInstant("from", req.From); err != nil {
			return nil, err
		}
	}
	if req.To != "" {
		if to, err = s.parseInstant("to", req.To); err != nil {
			return nil, err
		}
	}
	b = append(b, `{"command":"events","dsn":`...)
	b = appendJSONString(b, dsn)
	b = append(b, `,"events":[`...)
	first := true
	for _, e := range s.src.ScanEvents(dsn) {
		if (!from.IsZero() && e.Start.Before(from)) || (!to.IsZero() && !e.Start.Before(to)) || !FeedKeeps(e.Start, now) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"event_id":`...)
		b = strconv.AppendInt(b, int64(e.EventID), 10)
		b = append(b, `,"event_name":`...)
		b = appendJSONString(b, e.Name)
		b = append(b, `,"start":"`...)
		b = e.Start.In(s.loc).AppendFormat(b, TimeLayout)
		b = append(b, `","start_utc":"`...)
		b = e.Start.UTC().AppendFormat(b, time.RFC3339)
		b = append(b, `"}`...)
	}
	b = append(b, "],"...)
	b = s.appendAsOf(b, now)
	return append(b, "}\n"...), nil
}

var scanSeqCol = schemas.Scan.ColumnIndex("seq_num")

func (s *Server) cmdAttendance(b []byte, req *atsRequest, now time.Time) ([]byte, error) {
	dsn, err := s.dsn(req)
	if err != nil {
		return nil, err
	}
	if req.EventID == nil {
		return nil, badField("bad_request", "event_id", "missing event_id: list the feed's events with the events command")
	}
	if *req.EventID < 0 || *req.EventID > 1<<31-1 {
		return nil, badField("bad_request", "event_id", "event_id %d out of range", *req.EventID)
	}
	if req.AfterSeq < 0 {
		return nil, badField("bad_request", "after_seq", "after_seq %d: want >= 0", req.AfterSeq)
	}
	n, err := pageSize("page_size", req.PageSize, DefaultAttendancePageSize, MaxAttendancePageSize)
	if err != nil {
		return nil, err
	}
	if err := s.checkKept(dsn, int32(*req.EventID), now); err != nil {
		return nil, err
	}
	if w, ok := s.src.(*World); ok {
		// The generated world writes its pages straight from its compact
		// scans; the same rows, paged the same way, as the path below.
		p := w.scanPage(dsn, int32(*req.EventID), req.AfterSeq, now, n)
		return s.appendAttendance(b, dsn, *req.EventID, p.appendJSON, p.last, p.more, now), nil
	}
	// One row more than asked tells whether more is waiting, and whether
	// the page would split the deliveries of one seq_num.
	rows := s.src.Scans(dsn, int32(*req.EventID), req.AfterSeq, now, n+1)
	more := len(rows) > n
	if more {
		next := rows[n][scanSeqCol]
		k := n
		for k > 0 && rows[k-1][scanSeqCol] == next {
			k--
		}
		if k == 0 {
			// One seq_num has more deliveries than page_size: serve them
			// all rather than lose some, fetching until the seq_num ends.
			for lim := 2 * (n + 1); ; lim *= 2 {
				rows = s.src.Scans(dsn, int32(*req.EventID), req.AfterSeq, now, lim)
				k = 1
				for k < len(rows) && rows[k][scanSeqCol] == rows[0][scanSeqCol] {
					k++
				}
				if k < len(rows) || len(rows) < lim {
					break
				}
			}
			more = k < len(rows)
		}
		rows = rows[:k]
	}
	last := req.AfterSeq
	if len(rows) > 0 {
		v, err := strconv.ParseInt(rows[len(rows)-1][scanSeqCol], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("attendance %s event %d: seq_num %q: %w", dsn, *req.EventID, rows[len(rows)-1][scanSeqCol], err)
		}
		last = v
	}
	return s.appendAttendance(b, dsn, *req.EventID, func(b []byte) []byte { return appendRows(b, rows) }, last, more, now), nil
}

// appendAttendance writes an attendance answer around its rows.
func (s *Server) appendAttendance(b []byte, dsn string, eventID int64, rows func([]byte) []byte, last int64, more bool, now time.Time) []byte {
	b = append(b, `{"command":"attendance","dsn":`...)
	b = appendJSONString(b, dsn)
	b = append(b, `,"event_id":`...)
	b = strconv.AppendInt(b, eventID, 10)
	b = append(b, `,"columns":`...)
	b = appendStrings(b, scanColumns)
	b = append(b, `,"rows":`...)
	b = rows(b)
	b = append(b, `,"last_seq":`...)
	b = strconv.AppendInt(b, last, 10)
	b = append(b, `,"more":`...)
	b = strconv.AppendBool(b, more)
	b = append(b, ',')
	b = s.appendAsOf(b, now)
	return append(b, "}\n"...)
}

var scanColumns = columnNames(schemas.Scan)

// checkKept refuses an event the feed has forgotten: Ticketmaster removes
// an event's scans a week after it (FeedKeepDays by the simulated clock).
func (s *Server) checkKept(dsn string, eventID int32, now time.Time) error {
	for _, e := range s.src.ScanEvents(dsn) {
		if e.EventID == eventID && !FeedKeeps(e.Start, now) {
			return &apiError{status: http.StatusGone, code: "event_expired", field: "event_id",
				msg: fmt.Sprintf("event %d (%s) started %s, more than %d days before the feed's clock %s: the feed keeps an event's scans %d days; use the scans already stored",
					eventID, e.Name, e.Start.In(s.loc).Format(TimeLayout), FeedKeepDays, now.In(s.loc).Format(TimeLayout), FeedKeepDays)}
		}
	}
	return nil
}

func columnNames(t *schemas.Table) []string {
	out := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = c.Name
	}
	return out
}

// admin serves /admin/clock and /admin/faults.
func (s *Server) admin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		s.writeErr(w, &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed", msg: "admin endpoints take GET or POST"})
		return
	}
	var err error
	switch r.URL.Path {
	case "/admin/clock":
		if r.Method == http.MethodPost {
			err = s.adminSetClock(r)
		}
		if err == nil {
			s.writeJSON(w, s.clockState())
			return
		}
	case "/admin/faults":
		if r.Method == http.MethodPost {
			err = s.adminSetFaults(r)
		}
		if err == nil {
			s.writeJSON(w, s.faultState())
			return
		}
	default:
		err = &apiError{status: http.StatusNotFound, code: "not_found", field: "path", msg: fmt.Sprintf("no admin endpoint %s: use /admin/clock or /admin/faults", r.URL.Path)}
	}
	s.writeErr(w, err)
}

func decodeStrict(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &apiError{status: http.StatusBadRequest, code: "bad_json", field: "body", msg: fmt.Sprintf("request body: %v", err)}
	}
	return nil
}

func (s *Server) adminSetClock(r *http.Request) error {
	var req struct {
		Set     string   `json:"set"`
		Advance string   `json:"advance"`
		Speed   *float64 `json:"speed"`
	}
	if err := decodeStrict(r, &req); err != nil {
		return err
	}
	sc, ok := s.clock.(*SimClock)
	if !ok {
		return &apiError{status: http.StatusConflict, code: "clock_fixed", msg: "this server's clock cannot be set"}
	}
	var (
		set time.Time
		adv time.Duration
		err error
	)
	if req.Set != "" {
		if set, err = s.parseInstant("set", req.Set); err != nil {
			return err
		}
	}
	if req.Advance != "" {
		if adv, err = time.ParseDuration(req.Advance); err != nil {
			return badField("bad_request", "advance", "advance %q: want a Go duration such as 3m or 1h30m", req.Advance)
		}
	}
	if req.Speed != nil && (*req.Speed < 0 || *req.Speed != *req.Speed) {
		return badField("bad_request", "speed", "speed %g: want >= 0 (0 freezes the clock)", *req.Speed)
	}
	// Validate everything before changing anything, so a bad field leaves
	// the clock as it was.
	if !set.IsZero() {
		sc.Set(set)
	}
	if adv != 0 {
		sc.Advance(adv)
	}
	if req.Speed != nil {
		_ = sc.SetSpeed(*req.Speed)
	}
	return nil
}

func (s *Server) clockState() any {
	now := s.clock.Now()
	speed := 0.0
	if sc, ok := s.clock.(*SimClock); ok {
		speed = sc.Speed()
	}
	return map[string]any{"now": now.In(s.loc).Format(TimeLayout), "now_utc": now.UTC().Format(time.RFC3339Nano), "speed": speed}
}

func (s *Server) adminSetFaults(r *http.Request) error {
	cur := s.faults.Config()
	req := struct {
		Rate       *float64 `json:"rate"`
		Kinds      []string `json:"kinds"`
		Seed       *uint64  `json:"seed"`
		SlowDelay  string   `json:"slow_delay"`
		RetryAfter string   `json:"retry_after"`
	}{}
	if err := decodeStrict(r, &req); err != nil {
		return err
	}
	if req.Rate != nil {
		cur.Rate = *req.Rate
	}
	if req.Kinds != nil {
		ks, err := ParseFaultKinds(strings.Join(req.Kinds, ","))
		if err != nil {
			return badField("bad_request", "kinds", "%v", err)
		}
		cur.Kinds = ks
	}
	if req.Seed != nil {
		cur.Seed = *req.Seed
	}
	for _, d := range []struct {
		field, v string
		dst      *time.Duration
	}{{"slow_delay", req.SlowDelay, &cur.SlowDelay}, {"retry_after", req.RetryAfter, &cur.RetryAfter}} {
		if d.v == "" {
			continue
		}
		v, err := time.ParseDuration(d.v)
		if err != nil {
			return badField("bad_request", d.field, "%s %q: want a Go duration such as 2s", d.field, d.v)
		}
		*d.dst = v
	}
	if err := s.faults.Configure(cur); err != nil {
		return badField("bad_request", "body", "%v", err)
	}
	return nil
}

func (s *Server) faultState() any {
	c := s.faults.Config()
	return map[string]any{"rate": c.Rate, "kinds": c.Kinds, "seed": c.Seed, "slow_delay": c.SlowDelay.String(),
		"retry_after": c.RetryAfter.String(), "calls": s.faults.Calls(), "counts": sortedFaultCounts(s.faults.Counts())}
}

func (s *Server) writeJSON(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		s.writeErr(w, fmt.Errorf("encode admin answer: %w", err))
		return
	}
	s.write(w, &response{status: http.StatusOK, body: buf.Bytes()})
}

// appendRows writes rows as a JSON array of arrays of strings, "" as null.
// Hand-written because this is the hot path of the scan feed: reflection
// through encoding/json costs several times more than these appends.
func appendRows(b []byte, rows []Row) []byte {
	b = append(b, '[')
	for i, r := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRow(b, r)
	}
	return append(b, ']')
}

func appendRow(b []byte, r Row) []byte {
	b = append(b, '[')
	for j, v := range r {
		if j > 0 {
			b = append(b, ',')
		}
		if v == "" {
			b = append(b, "null"...)
		} else {
			b = appendJSONString(b, v)
		}
	}
	return append(b, ']')
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, v := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, v)
	}
	return append(b, ']')
}

// jsonSafe marks the ASCII bytes a JSON string can hold unescaped.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Plain ASCII (nearly every
// value) is copied in one append; control characters, quotes and
// backslashes are escaped, and invalid UTF-8 becomes U+FFFD so the answer
// is always valid JSON.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
