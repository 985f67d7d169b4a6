package sshd

import (
	"net/netip"
	"sync"
	"time"

	"tmate-relay/service/viewer"
)

// addrLimits keeps token guessing from one source address slow: it caps the
// connections an address holds open before they reach a session, and after
// a number of failed attempts within a window each further refusal from
// that address waits twice as long as the one before (up to maxPenalty),
// while its connection still counts against the cap. An IPv6 address counts
// as its /64, which one client usually holds whole (limitKey).
type addrLimits struct {
	failures int
	window   time.Duration
	pending  int

	mu    sync.Mutex
	addrs map[string]*addrState
}

type addrState struct {
	fails   []time.Time // within the window, oldest first
	pending int
}

// maxPenalty is the longest a refusal waits.
const maxPenalty = 10 * time.Second

func newAddrLimits(failures int, window time.Duration, pending int) *addrLimits {
	return &addrLimits{failures: failures, window: window, pending: pending, addrs: map[string]*addrState{}}
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
// too many already and the connection must be closed.
func (l *addrLimits) open(addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.state(limitKey(addr), time.Now())
	if st.pending >= l.pending {
		return false
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

// limitKey is what addr counts as: an IPv4 address (also written as
// IPv4-mapped IPv6) itself, an IPv6 address its /64, since a host or
// network usually gets a whole /64 and could otherwise pick a fresh address
// for every attempt. Anything else (not an IP) counts as itself.
func limitKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	return netip.PrefixFrom(ip.WithZone(""), 64).Masked().String()
}
