package watch_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"sync"

	"archtics/stages/watch"
)

// receiver is a webhook receiver that keeps the idempotency keys it
// accepted, in order, and counts a key accepted twice as a repeat. A
// failure (failEvery) is answered before anything is accepted: a 500,
// 502 or 503, a dropped connection, or, now and then, no answer until
// the sender gives up (its client's timeout).
type receiver struct {
	secret    []byte
	failEvery int // every failEvery-th call fails; 0: none

	mu       sync.Mutex
	calls    int
	failures map[string]int // kind → count
	keys     []string       // accepted, in order
	payloads map[string]watch.Payload
	repeats  []string
	badSig   int
	badKey   int
	pass     int            // set by the test: which delivery pass is running
	passOf   map[string]int // key → the pass that delivered it
	// onAccept runs after the n-th key is accepted, before the answer.
	onAccept func(n int)
}

func newReceiver(secret string, failEvery int) *receiver {
	return &receiver{secret: []byte(secret), failEvery: failEvery, failures: map[string]int{},
		payloads: map[string]watch.Payload{}, passOf: map[string]int{}}
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return
	}
	r.mu.Lock()
	r.calls++
	n := r.calls
	r.mu.Unlock()
	if r.failEvery > 0 && n%r.failEvery == 0 {
		k := n / r.failEvery
		kind := []string{"500", "drop", "503", "502"}[k%4]
		if k%20 == 3 {
			kind = "timeout"
		}
		r.mu.Lock()
		r.failures[kind]++
		r.mu.Unlock()
		switch kind {
		case "drop":
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			http.Error(w, "down", http.StatusInternalServerError)
		case "timeout":
			<-req.Context().Done() // the sender hangs up
		default:
			code := map[string]int{"500": 500, "502": 502, "503": 503}[kind]
			http.Error(w, "down", code)
		}
		return
	}
	key := req.Header.Get(watch.IdempotencyKeyHeader)
	var p watch.Payload
	if err := json.Unmarshal(body, &p); err != nil || p.IdempotencyKey != key || key == "" {
		r.mu.Lock()
		r.badKey++
		r.mu.Unlock()
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	m := hmac.New(sha256.New, r.secret)
	m.Write(body)
	sigOK := len(r.secret) == 0 || hmac.Equal([]byte(req.Header.Get(watch.SignatureHeader)), []byte("sha256="+hex.EncodeToString(m.Sum(nil))))
	r.mu.Lock()
	if !sigOK {
		r.badSig++
	}
	if _, seen := r.payloads[key]; seen {
		r.repeats = append(r.repeats, key)
	} else {
		r.keys = append(r.keys, key)
		r.payloads[key] = p
		r.passOf[key] = r.pass
	}
	accepted := len(r.keys)
	onAccept := r.onAccept
	r.mu.Unlock()
	if onAccept != nil {
		onAccept(accepted)
	}
	w.WriteHeader(http.StatusOK)
}

// snapshot returns copies of what was accepted.
func (r *receiver) snapshot() (keys, repeats []string, calls int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.keys...), append([]string(nil), r.repeats...), r.calls
}
