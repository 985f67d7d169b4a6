package sshd

import (
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"tmate-relay/service/accept"
	"tmate-relay/service/viewer"
)

// Startups is OpenSSH's MaxStartups start:rate:full for the connections
// one address holds before they reach a session: up to Start are
// admitted; beyond that a new one waits a short while for a place, and if
// none frees up it is dropped with a chance of Rate percent, rising
// linearly to 100 % at Full, which none exceeds (waiting ones included).
type Startups struct {
	Start, Rate, Full int
}

// dropChance is the chance in [0, 1] of dropping a new connection while
// pending ones are held.
func (s Startups) dropChance(pending int) float64 {
	switch {
	case pending < s.Start:
		return 0
	case pending >= s.Full:
		return 1
	}
	beyond := float64(pending-s.Start) / float64(s.Full-s.Start)
	return (float64(s.Rate) + float64(100-s.Rate)*beyond) / 100
}

// addrLimits keeps token guessing from one source address slow and the
// relay's handshakes bounded: it caps the connections an address holds
// open before they reach a session (Startups) and those of all addresses
// together (total, a hard cap), and after a number of failed attempts
// within a window each further refusal from that address waits twice as
// long as the one before (up to maxPenalty), while its connection still
// counts against the cap. An IPv6 address counts as its /64, which one
// client usually holds whole (limitKey).
//
// Unlike OpenSSH, which drops at once, a connection beyond Start first
// waits up to wait for a place, in order of arrival, before the early drop
// decides: behind NAT a whole office may join at once, and each handshake
// takes a few milliseconds of CPU, so more than Start arrive together
// although none stalls. A waiting connection costs a descriptor and a
// goroutine, not a handshake; the relay sends it nothing meanwhile, and
// ssh and tmate wait for the relay's banner without a timeout of their own.
type addrLimits struct {
	failures int
	window   time.Duration
	per      Startups
	total    int            // connections held or waiting, all addresses
	wait     time.Duration  // longest wait for a place beyond per.Start
	random   func() float64 // in [0, 1), for the early drop

	mu    sync.Mutex
	addrs map[string]*addrState
	held  int // connections held or waiting, all addresses
}

type addrState struct {
	fails   []time.Time // within the window, oldest first
	pending int
	queue   []chan struct{} // waiting for a place, oldest first; closed: it has one
}

func (st *addrState) idle() bool {
	return st.pending <= 0 && len(st.fails) == 0 && len(st.queue) == 0
}

// maxPenalty is the longest a refusal waits.
const maxPenalty = 10 * time.Second

// newAddrLimits caps unauthenticated connections per address (per; Full
// at or below Start is a hard cap at Start) and of all addresses (total;
// 0: none).
func newAddrLimits(failures int, window time.Duration, per Startups, total int, wait time.Duration) *addrLimits {
	per.Full = max(per.Full, per.Start)
	return &addrLimits{failures: failures, window: window, per: per, total: total, wait: wait,
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
		if st.idle() {
			delete(l.addrs, a)
		}
	}
}

// Why open refused a connection.
const (
	admitted    = ""
	fullAddress = "too many unauthenticated connections from this address"
	fullRelay   = "too many unauthenticated connections on the relay (max_startups_total)"
)

// open counts a new connection from addr in, waiting for a place when the
// address holds Start already; it returns why the connection must be
// closed instead (admitted: it may go on). A closed cancel ends the wait.
func (l *addrLimits) open(addr string, cancel <-chan struct{}) string {
	key := limitKey(addr)
	l.mu.Lock()
	st := l.state(key, time.Now())
	switch {
	case l.total > 0 && l.held >= l.total:
		l.mu.Unlock()
		return fullRelay
	case st.pending+len(st.queue) >= l.per.Full:
		l.mu.Unlock()
		return fullAddress
	case st.pending < l.per.Start && len(st.queue) == 0:
		st.pending++
		l.held++
		l.mu.Unlock()
		return admitted
	}
	place := make(chan struct{})
	st.queue = append(st.queue, place)
	l.held++
	l.mu.Unlock()

	t := time.NewTimer(l.wait)
	defer t.Stop()
	canceled := false
	select {
	case <-place:
		return admitted
	case <-t.C:
	case <-cancel:
		canceled = true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-place: // given a place meanwhile
		return admitted
	default:
	}
	st.queue = slices.DeleteFunc(st.queue, func(c chan struct{}) bool { return c == place })
	if !canceled && l.random() >= l.per.dropChance(st.pending) {
		st.pending++
		return admitted
	}
	l.held--
	if st.idle() {
		delete(l.addrs, key)
	}
	return fullAddress
}

// done ends the count of a connection from addr (it reached a session or
// closed), and hands its place to the oldest connection waiting for one.
func (l *addrLimits) done(addr string) {
	key := limitKey(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.addrs[key]
	if st == nil {
		return
	}
	st.pending--
	l.held--
	if len(st.queue) > 0 && st.pending < l.per.Start {
		close(st.queue[0])
		st.queue = st.queue[1:]
		st.pending++
	}
	if st.idle() {
		delete(l.addrs, key)
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
