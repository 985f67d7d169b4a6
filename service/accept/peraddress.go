package accept

import (
	"io"
	"log/slog"
	"net"
	"sync"
)

// PerAddress wraps l so that one source address (by AddressKey) holds at
// most max connections open at a time: a connection beyond that is closed
// as soon as it is accepted, and the refusal logged once until that
// address is back under the cap. Its Accept returns only admitted
// connections.
func PerAddress(l net.Listener, max int, name string, log *slog.Logger) net.Listener {
	return &perAddress{Listener: l, max: max, name: name, log: log, open: map[string]*addrCount{}}
}

type perAddress struct {
	net.Listener
	max  int
	name string
	log  *slog.Logger

	mu   sync.Mutex
	open map[string]*addrCount
}

type addrCount struct {
	n       int
	refused int // since the address was last under the cap
}

func (p *perAddress) Accept() (net.Conn, error) {
	for {
		c, err := p.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := AddressKey(hostOf(c.RemoteAddr()))
		if p.admit(key) {
			return &countedConn{Conn: c, release: sync.OnceFunc(func() { p.release(key) })}, nil
		}
		c.Close()
	}
}

func (p *perAddress) admit(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.open[key]
	if st == nil {
		st = &addrCount{}
		p.open[key] = st
	}
	if st.n >= p.max {
		st.refused++
		if st.refused == 1 {
			p.log.Warn("connection refused: too many open connections from this address", "listener", p.name, "addr", key, "limit", p.max)
		}
		return false
	}
	st.n++
	return true
}

func (p *perAddress) release(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.open[key]
	if st == nil {
		return
	}
	st.n--
	if st.refused > 0 {
		p.log.Info("address back under its connection cap", "listener", p.name, "addr", key, "refused", st.refused)
		st.refused = 0
	}
	if st.n <= 0 {
		delete(p.open, key)
	}
}

// countedConn frees its address's place when closed, once.
type countedConn struct {
	net.Conn
	release func()
}

func (c *countedConn) Close() error {
	c.release()
	return c.Conn.Close()
}

// ReadFrom keeps the TCP connection's sendfile path for file downloads.
func (c *countedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}
