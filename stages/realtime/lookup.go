package realtime

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"archtics/pipeline"
	"archtics/pipeline/views"
	"archtics/schemas"
)

// lookups are what a tick reads from the team's clone to enrich its scans:
// each event's Ticketmaster name, the account merges, and, for the tick's
// scans only, the ticket holder at scan time and the primary names of the
// accounts the scans end up naming. Read once per tick that keeps a scan.
type lookups struct {
	tmNames map[int32]string
	merges  map[int32]int32 // loser → winner
	names   map[int32]primaryName
}

type primaryName struct{ first, last, email string }

func (l *lookups) tmEventName(id int32) string {
	if l == nil {
		return ""
	}
	return l.tmNames[id]
}

// winner follows acct's merges to the account that holds its references
// now (a chain a→b→c ends at c; a cycle, which merges cannot make, stops).
func (l *lookups) winner(acct int32) int32 {
	if l == nil {
		return acct
	}
	for i := 0; i < 64; i++ {
		next, ok := l.merges[acct]
		if !ok || next == acct {
			return acct
		}
		acct = next
	}
	return acct
}

func (l *lookups) name(acct int32) primaryName {
	if l == nil {
		return primaryName{}
	}
	return l.names[acct]
}

// Holder outcomes, counted in the tick's commit summary as "holder_<outcome>".
//
// The feed's acct_id comes first. It is Archtics' own record of whose
// ticket the gate accepted, at the scan's instant, so it is right even
// when the clone is not yet: a Ticket Exchange posting still pending (the
// clone's archtics.tex shows it like a completed one), a forward made
// minutes before the scan (the clone pulls hourly), a merge not yet swept.
// Over the simulator's game days it named the true holder of every seated
// scan, merges followed, while the clone's timeline at tick time named
// another for 21 of 12,841 scans with hourly incrementals, and for 41 of
// 1,385 with the dump alone. The clone's archtics.ticket_holder answers
// only for the scans whose feed row names no account.
const (
	// HolderFeed: the feed's acct_id, followed through the clone's merges.
	HolderFeed = "feed"
	// HolderClone: the feed names no account; the clone's
	// archtics.ticket_holder names the seat's holder at ticket_scan_time.
	HolderClone = "clone"
	// HolderNone: neither names an account (a staff credential, a seat the
	// clone does not know); acct_id and the names are NULL.
	HolderNone = "none"
)

// lookupTables are the clone's tables a tick reads.
var lookupTables = []*schemas.Table{schemas.Current(schemas.Event), schemas.Current(schemas.Cust), schemas.AcctMerge, schemas.TicketHolder}

// cloneReader is team's clone opened for one tick: a DuckDB database with views
// over its files, one connection (the tick's scans go into temporary
// tables, which only the connection that made them sees), and what was
// read up front (Ticketmaster names, merges).
type cloneReader struct {
	db   *views.DuckDB
	conn *sql.Conn
	team string
	look *lookups
}

// openClone opens team's clone and reads archtics.event's Ticketmaster
// names and archtics.acct_merge. The tick opens it while it pulls
// (seatLoader).
func openClone(ctx context.Context, w *pipeline.Warehouse, team, cacheDir string) (*cloneReader, error) {
	db, err := views.OpenViews(ctx, w.Log, "", cacheDir, lookupTables...)
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("duckdb connection: %w", err)
	}
	c := &cloneReader{db: db, conn: conn, team: team,
		look: &lookups{tmNames: map[int32]string{}, names: map[int32]primaryName{}}}
	l := c.look
	err = scanRows(ctx, conn, `SELECT event_id, coalesce(tm_event_name, '') FROM archtics.event WHERE team = ?`, []any{team}, func(r *sql.Rows) error {
		var id int32
		var name string
		if err := r.Scan(&id, &name); err != nil {
			return err
		}
		l.tmNames[id] = name
		return nil
	})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("archtics.event: %w", err)
	}
	if l.merges, err = readMerges(ctx, conn, team); err != nil {
		c.Close()
		return nil, fmt.Errorf("archtics.acct_merge: %w", err)
	}
	return c, nil
}

// Close releases the connection and the database.
func (c *cloneReader) Close() {
	c.conn.Close()
	c.db.Close()
}

// seatLoader sets the kept scans' accounts from the feed and puts the
// seats of those whose feed row names none into the clone while the tick
// still pulls: each event's as its pull ends (add), on one goroutine and
// one DuckDB appender. The clone is opened when the first event with a
// kept scan arrives, so a tick that keeps none never opens it.
type seatLoader struct {
	pulls  []*eventPull
	next   chan int // index in pulls of an event whose pull ended with kept scans
	done   chan struct{}
	cl     *cloneReader // nil until the first event arrives
	err    error        // valid after done
	events []string     // ids of the events with seats in tick_seats
	seats  int
}

// startSeatLoader starts the loader's goroutine; call add for each pull
// that kept scans, then finish.
func startSeatLoader(ctx context.Context, w *pipeline.Warehouse, team, cacheDir string, pulls []*eventPull) *seatLoader {
	s := &seatLoader{pulls: pulls, next: make(chan int, len(pulls)), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.err = s.run(ctx, w, team, cacheDir)
		for range s.next { // after a failure, let add never block
		}
	}()
	return s
}

// add hands pull i, ended, to the loader.
func (s *seatLoader) add(i int) { s.next <- i }

// finish waits until every added pull's seats are loaded and returns the
// clone (nil when no pull was added) or the first failure.
func (s *seatLoader) finish() (*cloneReader, error) {
	close(s.next)
	<-s.done
	if s.err != nil {
		if s.cl != nil {
			s.cl.Close()
		}
		return nil, s.err
	}
	return s.cl, nil
}

func (s *seatLoader) run(ctx context.Context, w *pipeline.Warehouse, team, cacheDir string) error {
	first, ok := <-s.next
	if !ok {
		return nil
	}
	cl, err := openClone(ctx, w, team, cacheDir)
	if err != nil {
		return err
	}
	s.cl = cl
	if _, err := cl.conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE tick_seats (k BIGINT, event_id INTEGER, section_name VARCHAR,
row_name VARCHAR, seat_num INTEGER, scan_time TIMESTAMP)`); err != nil {
		return fmt.Errorf("archtics.ticket_holder: %w", err)
	}
	err = appendRows(cl.conn, "tick_seats", func(app *duckdb.Appender) error {
		if err := s.load(ctx, app, first); err != nil {
			return err
		}
		for i := range s.next {
			if err := s.load(ctx, app, i); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("archtics.ticket_holder: the tick's seats: %w", err)
	}
	return nil
}

// load sets pull pi's accounts to the feed's, merges followed, and
// appends the seats of the scans whose feed row names no account, for the
// clone's timeline to answer (resolveHolders).
func (s *seatLoader) load(ctx context.Context, app *duckdb.Appender, pi int) error {
	p, l := s.pulls[pi], s.cl.look
	p.acct = make([]int32, len(p.kept))
	p.hasAcct = make([]bool, len(p.kept))
	s.events = append(s.events, strconv.Itoa(int(p.f.id)))
	c := &p.col
	for j, k := range p.kept {
		if j%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if feed, ok := parseInt32(p.field(j, c.acct)); ok {
			p.acct[j], p.hasAcct[j] = l.winner(feed), true
			continue
		}
		seat, ok := parseInt32(p.field(j, c.seat))
		if !ok {
			continue
		}
		s.seats++
		if err := app.AppendRow(int64(pi)<<32|int64(j), p.f.id, nullable(p.field(j, c.section)), nullable(p.field(j, c.row)), seat,
			time.UnixMicro(k.wall).UTC()); err != nil {
			return err
		}
	}
	return nil
}

// holders resolves every kept scan's account from the seats s loaded
// (resolveHolders) and reads the primary names of the accounts named; it
// returns the Holder outcomes' counts.
func (s *seatLoader) holders(ctx context.Context) (map[string]int64, error) {
	outcomes, err := s.resolveHolders(ctx)
	if err != nil {
		return nil, fmt.Errorf("archtics.ticket_holder: %w", err)
	}
	if err := loadNames(ctx, s.cl.conn, s.cl.team, s.pulls, s.cl.look); err != nil {
		return nil, fmt.Errorf("archtics.cust: %w", err)
	}
	return outcomes, nil
}

// resolveHolders sets the account of each kept scan whose feed row names
// none to the clone's holder of its seat at its ticket_scan_time, when
// archtics.ticket_holder has one (see the Holder outcomes). Those scans'
// seats are in the temporary table tick_seats (seatLoader), joined with
// the view in one statement (the join holder.go documents), the view
// restricted to the tick's events; a tick whose scans all name an account
// does not evaluate the view.
func (s *seatLoader) resolveHolders(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	conn := s.cl.conn
	held := map[int64]int32{}
	if s.seats > 0 {
		// Two intervals of one seat should not overlap; should the clone
		// hold such a pair, the later hand-over wins, the same every tick.
		q := `SELECT s.k, arg_max(h.acct_id, h.held_from) AS holder
FROM tick_seats AS s
JOIN (SELECT * FROM archtics.ticket_holder WHERE team = ? AND event_id IN (` + strings.Join(s.events, ", ") + `)) AS h
  ON h.event_id = s.event_id AND h.section_name IS NOT DISTINCT FROM s.section_name
  AND h.row_name IS NOT DISTINCT FROM s.row_name AND h.seat_num = s.seat_num
  AND h.held_from <= s.scan_time AND (h.held_until IS NULL OR s.scan_time < h.held_until)
WHERE h.acct_id IS NOT NULL
GROUP BY s.k`
		err := scanRows(ctx, conn, q, []any{s.cl.team}, func(r *sql.Rows) error {
			var k int64
			var holder int32
			if err := r.Scan(&k, &holder); err != nil {
				return err
			}
			held[k] = holder
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if _, err := conn.ExecContext(ctx, `DROP TABLE tick_seats`); err != nil {
		return nil, err
	}
	for pi, p := range s.pulls {
		for j := range p.kept {
			if p.hasAcct[j] {
				out[HolderFeed]++
				continue
			}
			if a, ok := held[int64(pi)<<32|int64(j)]; ok {
				out[HolderClone]++
				p.acct[j], p.hasAcct[j] = a, true
				continue
			}
			out[HolderNone]++
		}
	}
	return out, nil
}

// loadNames reads the primary names of the accounts the tick's scans
// name, and only those.
func loadNames(ctx context.Context, conn *sql.Conn, team string, pulls []*eventPull, l *lookups) error {
	seen := map[int32]bool{}
	for _, p := range pulls {
		for j, ok := range p.hasAcct {
			if ok {
				seen[p.acct[j]] = true
			}
		}
	}
	if len(seen) == 0 {
		return nil
	}
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE tick_accts (acct_id INTEGER)`); err != nil {
		return err
	}
	err := appendRows(conn, "tick_accts", func(app *duckdb.Appender) error {
		for a := range seen {
			if err := app.AppendRow(a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("the tick's accounts: %w", err)
	}
	// One primary name per account, the rule every view of names
	// follows (schemas.PrimaryNamesSQL): should the clone hold two, the
	// lowest cust_name_id is the one shown, the same every tick.
	err = scanRows(ctx, conn, `SELECT acct_id, name_first, name_last, email_addr FROM (
`+schemas.PrimaryNamesSQL("c.team = $1 AND c.acct_id IN (SELECT acct_id FROM tick_accts)")+`)`, []any{team}, func(r *sql.Rows) error {
		var acct int32
		var first, last, email sql.NullString
		if err := r.Scan(&acct, &first, &last, &email); err != nil {
			return err
		}
		n := primaryName{first.String, last.String, email.String}
		l.names[acct] = n
		return nil
	})
	if err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, `DROP TABLE tick_accts`)
	return err
}

// appendRows fills the temporary table with DuckDB's appender.
func appendRows(conn *sql.Conn, table string, fill func(*duckdb.Appender) error) error {
	return conn.Raw(func(dc any) error {
		app, err := duckdb.NewAppender(dc.(driver.Conn), "temp", "main", table)
		if err != nil {
			return err
		}
		if err := fill(app); err != nil {
			app.Close()
			return err
		}
		return app.Close()
	})
}

// nullable is NULL for an empty feed field.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func scanRows(ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, q string, args []any, fn func(*sql.Rows) error) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
