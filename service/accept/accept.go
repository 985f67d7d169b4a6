// Package accept keeps the relay's listeners serving under load and abuse:
// a failed accept (out of descriptors, memory or buffers) is waited out
// instead of ending the listener, and one source address can hold only so
// many connections open.
package accept

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Longest and shortest wait between two accepts after a failure, as
// net/http waits: the connection stays queued in the kernel's backlog
// meanwhile, and is served once a descriptor is free again.
const (
	minRetryDelay = 5 * time.Millisecond
	maxRetryDelay = time.Second
)

// Retrying wraps l so that its Accept fails only when l is closed: any
// other error (EMFILE, ENFILE, ENOBUFS, ECONNABORTED...) is waited out,
// twice as long each time up to a second, and logged once per burst of
// failures, with the count of failed accepts when accepting works again.
// Whatever serves the listener (sshd.Server.Serve, http.Server.Serve) then
// never returns on such an error, and the relay keeps its sessions. name
// tells the listeners apart in the log. One goroutine calls Accept.
func Retrying(l net.Listener, name string, log *slog.Logger) net.Listener {
	return &retrying{Listener: l, name: name, log: log, closed: make(chan struct{})}
}

type retrying struct {
	net.Listener
	name      string
	log       *slog.Logger
	closed    chan struct{}
	closeOnce sync.Once
}

func (r *retrying) Accept() (net.Conn, error) {
	var delay time.Duration
	failed := 0
	var since time.Time
	for {
		c, err := r.Listener.Accept()
		if err == nil {
			if failed > 0 {
				r.log.Warn("accepting connections again", "listener", r.name, "failed_accepts", failed, "after", time.Since(since).Round(time.Millisecond))
			}
			return c, nil
		}
		if errors.Is(err, net.ErrClosed) {
			return nil, err
		}
		if failed == 0 {
			since = time.Now()
			r.log.Error("accept failed: retrying; new connections wait meanwhile", "listener", r.name, "err", err)
		}
		failed++
		delay = min(max(2*delay, minRetryDelay), maxRetryDelay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.closed:
			t.Stop()
			return nil, net.ErrClosed
		}
	}
}

func (r *retrying) Close() error {
	r.closeOnce.Do(func() { close(r.closed) })
	return r.Listener.Close()
}

// AddressKey is what a source address counts as for per-address limits:
// an IPv4 address (also written as IPv4-mapped IPv6) itself, an IPv6
// address its /64, since a host or network usually gets a whole /64 and
// could otherwise pick a fresh address for every connection. Anything else
// (not an IP) counts as itself.
func AddressKey(addr string) string {
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

// hostOf is the IP of a connection's remote address, or the whole address
// when it has no port.
func hostOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	if h, _, err := net.SplitHostPort(a.String()); err == nil {
		return h
	}
	return a.String()
}
