// Package faultproxy is an HTTP reverse proxy that injects the failures an
// S3 endpoint and the network in front of it produce: 500 InternalError,
// 503 SlowDown (with S3's XML error body), connections reset before the
// request reaches the server, 200 answers whose body is cut short, and
// answers lost after the server applied the request (the write happened,
// the client sees a reset). Tests put it between the product and the real
// S3 endpoint (AWS_ENDPOINT_URL) to check that every stage either
// completes correctly or fails cleanly.
//
// Faults are drawn from a seeded sequence: the n-th request since Configure
// always gets the same fault, so a failing case reproduces by its seed as
// far as the order of the client's requests is deterministic.
package faultproxy

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Kind is one kind of injected failure.
type Kind string

// The kinds of failure.
const (
	// InternalError answers 500 with S3's InternalError body, without
	// forwarding the request.
	InternalError Kind = "500"
	// SlowDown answers 503 with S3's SlowDown body, without forwarding.
	SlowDown Kind = "503"
	// Reset resets the connection without forwarding the request.
	Reset Kind = "reset"
	// Truncate forwards the request and, when the answer is a 200 (or 206) with a
	// body, sends the headers (the full Content-Length) and half the body,
	// then closes the connection cleanly: the client sees the body end
	// early. Other answers pass unharmed and are not counted.
	Truncate Kind = "truncate"
	// LostAnswer forwards the request (the server applies it) and resets
	// the connection instead of answering.
	LostAnswer Kind = "lost"
)

// AllKinds lists every kind, in the order a draw picks among them.
var AllKinds = []Kind{InternalError, SlowDown, Reset, Truncate, LostAnswer}

// Config says which faults to inject and how often.
type Config struct {
	Rate  float64 // probability that a request faults (0: never)
	Kinds []Kind  // drawn uniformly when a request faults; empty: AllKinds
	Seed  uint64
	// Only, when set, limits faults to the requests it accepts (for
	// example only GETs); others pass unharmed and take no draw.
	Only func(*http.Request) bool
}

// Proxy forwards every request to one target and injects faults.
type Proxy struct {
	target    *url.URL
	transport *http.Transport

	mu   sync.Mutex
	cfg  Config
	rng  *rand.Rand
	n    int64
	hits map[Kind]int64

	requests atomic.Int64
}

// New returns a proxy to target (scheme and host; a path is ignored).
func New(target string, cfg Config) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: target %q is not an http(s)://host:port URL", target)
	}
	p := &Proxy{
		target: u,
		// No compression: the body is forwarded byte for byte, with the
		// server's own Content-Length.
		transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64, Proxy: nil},
	}
	p.Configure(cfg)
	return p, nil
}

// Configure replaces the fault configuration and restarts its sequence.
// The counts of injected faults are kept.
func (p *Proxy) Configure(cfg Config) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(cfg.Kinds) == 0 {
		cfg.Kinds = AllKinds
	}
	p.cfg = cfg
	p.rng = rand.New(rand.NewPCG(cfg.Seed, 0x5eed_fa17))
	p.n = 0
	if p.hits == nil {
		p.hits = map[Kind]int64{}
	}
}

// Injected returns how many faults of each kind were injected so far.
func (p *Proxy) Injected() map[Kind]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[Kind]int64, len(p.hits))
	for k, v := range p.hits {
		out[k] = v
	}
	return out
}

// Total is the number of faults injected so far, of every kind.
func (p *Proxy) Total() int64 {
	var n int64
	for _, v := range p.Injected() {
		n += v
	}
	return n
}

// Requests is the number of requests the proxy received.
func (p *Proxy) Requests() int64 { return p.requests.Load() }

// draw picks the fault for one request, or "" for none.
func (p *Proxy) draw(r *http.Request) Kind {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cfg.Rate <= 0 || (p.cfg.Only != nil && !p.cfg.Only(r)) {
		return ""
	}
	p.n++
	// Two draws per request whatever the outcome, so the n-th request's
	// fault does not depend on the earlier ones'.
	hit, pick := p.rng.Float64(), p.rng.IntN(len(p.cfg.Kinds))
	if hit >= p.cfg.Rate {
		return ""
	}
	return p.cfg.Kinds[pick]
}

func (p *Proxy) count(k Kind) {
	p.mu.Lock()
	p.hits[k]++
	p.mu.Unlock()
}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	kind := p.draw(r)
	switch kind {
	case InternalError:
		p.count(kind)
		s3Error(w, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
		return
	case SlowDown:
		p.count(kind)
		s3Error(w, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
		return
	case Reset:
		// Read the request first so the client has sent it whole: a reset
		// while it is still writing may surface as a write error instead.
		io.Copy(io.Discard, r.Body)
		p.count(kind)
		reset(w)
		return
	}
	resp, err := p.forward(r)
	if err != nil {
		http.Error(w, "faultproxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	switch kind {
	case LostAnswer:
		io.Copy(io.Discard, resp.Body)
		p.count(kind)
		reset(w)
		return
	case Truncate:
		if (resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusPartialContent) && resp.ContentLength >= 2 {
			p.count(kind)
			truncate(w, resp)
			return
		}
	}
	h := w.Header()
	for k, vs := range resp.Header {
		h[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func (p *Proxy) forward(r *http.Request) (*http.Response, error) {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme = p.target.Scheme
	out.URL.Host = p.target.Host
	// The client signed the Host it sent (the proxy's); keep it.
	out.Host = r.Host
	if r.ContentLength == 0 {
		out.Body = nil
	}
	for _, h := range []string{"Connection", "Proxy-Connection", "Keep-Alive", "Te", "Trailer", "Upgrade"} {
		out.Header.Del(h)
	}
	return p.transport.RoundTrip(out)
}

// s3Error writes S3's XML error answer.
func s3Error(w http.ResponseWriter, status int, code, msg string) {
	body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<Error><Code>%s</Code><Message>%s</Message><RequestId>faultproxy</RequestId></Error>`, code, msg)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// reset closes the client's connection with a TCP reset (SO_LINGER 0), as
// a load balancer dropping it does.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // the server closes the connection
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// truncate sends resp's status line and headers as they are, with its
// Content-Length, then half its body, then closes the connection: the
// client sees a 200 whose body ends early.
func truncate(w http.ResponseWriter, resp *http.Response) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	bw := bufio.NewWriter(conn)
	if buf != nil && buf.Writer != nil {
		bw = buf.Writer
	}
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", resp.StatusCode, http.StatusText(resp.StatusCode))
	resp.Header.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	for k, vs := range resp.Header {
		if strings.EqualFold(k, "Transfer-Encoding") || strings.EqualFold(k, "Connection") {
			continue
		}
		for _, v := range vs {
			fmt.Fprintf(bw, "%s: %s\r\n", k, v)
		}
	}
	bw.WriteString("\r\n")
	io.CopyN(bw, resp.Body, resp.ContentLength/2)
	bw.Flush()
}
