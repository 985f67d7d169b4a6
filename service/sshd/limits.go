package sshd

import (
	"math/rand/v2"
	"sync"
	"time"

	"tmate-relay/service/accept"
	"tmate-relay/service/viewer"
)

// addrLimits keeps token guessing from one source address slow: it caps the
// connections an address holds open before they reach a session (as
// OpenSSH's MaxStartups start:rate:full, per address: up to start are
// admitted, beyond that each new one is dropped with a chance that rises
// from earlyDropRate to certainty at full), and after
// a number of failed attempts within a window each further refusal from
// that address waits twice as long as the one before (up to maxPenalty),
// while its connection still counts against the cap. An IPv6 address counts
// as its /64, which one client usually holds whole (limitKey).
type addrLimits struct {
	failures int
	window   time.Duration
	start    int            // unauthenticated connections always admitted
	full     int            // unauthenticated connections never exceeded
	random   func() float64 // in [0, 1), for the early drop

	mu    sync.Mutex
	addrs map[string]*addrState
}

type addrState struct {
	fails   []time.Time // within the window, oldest first
	pending int
}

// maxPenalty is the longest a refusal waits.
const maxPenalty = 10 * time.Second

// earlyDropRate is the chance of dropping a new connection from an
// address that holds start unauthenticated connections (OpenSSH's
// default rate).
const earlyDropRate = 0.3

// newAddrLimits caps unauthenticated connections per address from start
// (with early drop) to full; full <= start is a hard cap at start.
func newAddrLimits(failures int, window time.Duration, start, full int) *addrLimits {
	return &addrLimits{failures: failures, window: window, start: start, full: max(full, start),
		random: rand.Float64, addrs: map[string]*addrState{}}
}

func (l *addrLimits) state(addr string, now time.Time) *addrState {
	st := l.addrs[addr]
	if st == nil {
		if len(l.addrs) >= 4096 {
			l.sweep(now)
		}
		st = &addrState{}
		l.addrs[addr] = st
	}
	st.expire(now, l.window)
	return st
}

func (st *addrState) expire(now time.Time, window time.Duration) {
	i := 0
	for i < len(st.fails) && now.Sub(st.fails[i]) > window {
		i++
	}
	st.fails = st.fails[i:]
}

func (l *addrLimits) sweep(now time.Time) {
	for a, st := range l.addrs {
		st.expire(now, l.window)
		if st.pending == 0 && len(st.fails) == 0 {
			delete(l.addrs, a)
		}
	}
}

// open counts a new connection from addr; false means the address holds
// too many already (or the early drop picked this one) and the connection
// must be closed.
func (l *addrLimits) open(addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.state(limitKey(addr), time.Now())
	if st.pending >= l.full {
		return false
	}
	if st.pending >= l.start {
		beyond := float64(st.pending-l.start) / float64(l.full-l.start)
		if l.random() < earlyDropRate+(1-earlyDropRate)*beyond {
			return false
		}
	}
	st.pending++
	return true
}

// done ends the count of a connection from addr (it reached a session or
// closed).
func (l *addrLimits) done(addr string) {
	key := limitKey(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	if st := l.addrs[key]; st != nil {
		st.pending--
		if st.pending <= 0 && len(st.fails) == 0 {
			delete(l.addrs, key)
		}
	}
}

// fail records a failed attempt from addr and returns how long its refusal
// waits: a random 50 to 200 ms (no timing hint), plus a penalty that
// doubles with every failure beyond the allowance.
func (l *addrLimits) fail(addr string) time.Duration {
	now := time.Now()
	l.mu.Lock()
	st := l.state(limitKey(addr), now)
	st.fails = append(st.fails, now)
	excess := len(st.fails) - l.failures
	l.mu.Unlock()
	d := viewer.RefusalDelay()
	if excess > 0 {
		d += min(maxPenalty, 250*time.Millisecond<<min(excess-1, 10))
	}
	return d
}

// limitKey is what addr counts as (accept.AddressKey): an IPv6 address
// counts as its /64.
func limitKey(addr string) string { return accept.AddressKey(addr) }

// hostCounts counts live host connections per source address (limitKey),
// from authentication until the host leaves, so that one address cannot
// take more than max of the relay's sessions.
type hostCounts struct {
	max int

	mu sync.Mutex
	n  map[string]int
}

// take counts a host from addr in; false: the address is at its cap.
func (h *hostCounts) take(addr string) bool {
	key := limitKey(addr)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n[key] >= h.max {
		return false
	}
	if h.n == nil {
		h.n = map[string]int{}
	}
	h.n[key]++
	return true
}

// leave counts a host from addr out.
func (h *hostCounts) leave(addr string) {
	key := limitKey(addr)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n[key]--; h.n[key] <= 0 {
		delete(h.n, key)
	}
}
