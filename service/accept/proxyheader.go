package accept

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/pires/go-proxyproto"
)

// Behind a load balancer (proxy_protocol = true) every connection must
// open with a PROXY protocol header (v1 or v2) naming the client, so that
// logs, per-address limits and the audit trail see the client, not the
// balancer. A header's LOCAL command (a balancer's health check) keeps the
// balancer's address. Without the setting a connection that opens with a
// header is refused: a header nobody reads would pass as garbage before
// the request, hiding a misconfiguration.

// ProxyHeaders wraps l so that its connections' RemoteAddr is the client
// a PROXY protocol header names, read within grace. Each header is read in
// a goroutine of its own, so a client that sends nothing holds up no other
// connection; a connection without a valid header is logged and closed,
// never returned. name tells the listeners apart in the log (its table in
// relay.toml: "web" for [web] proxy_protocol).
func ProxyHeaders(l net.Listener, grace time.Duration, name string, log *slog.Logger) net.Listener {
	p := &proxyHeaders{Listener: l, grace: grace, name: name, log: log, ready: make(chan net.Conn), done: make(chan struct{})}
	go p.acceptLoop()
	return p
}

type proxyHeaders struct {
	net.Listener
	grace time.Duration
	name  string
	log   *slog.Logger

	ready chan net.Conn
	done  chan struct{} // closed when the inner Accept has failed, with err
	err   error
}

func (p *proxyHeaders) acceptLoop() {
	defer close(p.done)
	for {
		c, err := p.Listener.Accept()
		if err != nil {
			p.err = err
			return
		}
		go p.readHeader(c)
	}
}

func (p *proxyHeaders) readHeader(c net.Conn) {
	pc := proxyproto.NewConn(c, proxyproto.WithPolicy(proxyproto.REQUIRE), proxyproto.SetReadHeaderTimeout(p.grace))
	if pc.ProxyHeader() == nil {
		p.log.Info("connection refused: no valid PROXY protocol header (["+p.name+"] proxy_protocol is true)", "listener", p.name, "addr", hostOf(c.RemoteAddr()))
		c.Close()
		return
	}
	select {
	case p.ready <- proxiedConn{pc}:
	case <-p.done:
		c.Close()
	}
}

func (p *proxyHeaders) Accept() (net.Conn, error) {
	select {
	case c := <-p.ready:
		return c, nil
	case <-p.done:
		return nil, p.err
	}
}

// RefuseProxyHeaders wraps l so that a connection opening with a PROXY
// protocol header is logged and closed at its first read: the setting is
// off, and the header would otherwise pass as the start of the request.
func RefuseProxyHeaders(l net.Listener, name string, log *slog.Logger) net.Listener {
	return &refuseProxyHeaders{Listener: l, name: name, log: log}
}

type refuseProxyHeaders struct {
	net.Listener
	name string
	log  *slog.Logger
}

func (r *refuseProxyHeaders) Accept() (net.Conn, error) {
	c, err := r.Listener.Accept()
	if err != nil {
		return nil, err
	}
	// Only the first bytes are looked at: a larger read goes around the
	// small buffer, straight to c.
	return &headerRefusing{Conn: c, r: bufio.NewReaderSize(c, 16), name: r.name, log: r.log}, nil
}

// ErrProxyHeader is the read error of a connection that sent a PROXY
// protocol header to a listener not configured for one.
var ErrProxyHeader = errors.New("PROXY protocol header refused: proxy_protocol is false")

// How the two header versions begin.
var (
	proxyV1 = []byte("PROXY")
	proxyV2 = []byte("\r\n\r\n\x00")
)

// headerRefusing fails its first read if the peer opened with a PROXY
// header. It looks only when read, in the connection's own goroutine.
type headerRefusing struct {
	net.Conn
	r       *bufio.Reader
	name    string
	log     *slog.Logger
	checked bool
}

func (c *headerRefusing) Read(b []byte) (int, error) {
	if !c.checked {
		c.checked = true
		head, err := c.r.Peek(len(proxyV1))
		if bytes.Equal(head, proxyV1) || bytes.Equal(head, proxyV2) {
			c.log.Info("connection refused: it sent a PROXY protocol header (["+c.name+"] proxy_protocol is false)", "listener", c.name, "addr", hostOf(c.RemoteAddr()))
			c.Conn.Close() // no answer: an HTTP server would send a 400
			return 0, ErrProxyHeader
		}
		if len(head) == 0 && err != nil {
			return 0, err
		}
	}
	return c.r.Read(b)
}

// proxiedConn is a connection whose header has been read: what is written
// goes to the connection underneath, so file downloads keep its sendfile
// path (ReadFrom).
type proxiedConn struct{ *proxyproto.Conn }

func (c proxiedConn) ReadFrom(r io.Reader) (int64, error) { return readFrom(c.Raw(), r) }

// ReadFrom keeps c's sendfile path: the header check is on reads only.
func (c *headerRefusing) ReadFrom(r io.Reader) (int64, error) { return readFrom(c.Conn, r) }

// readFrom copies r to w, with w's ReadFrom (sendfile on TCP) if it has one.
func readFrom(w net.Conn, r io.Reader) (int64, error) {
	if rf, ok := w.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{w}, r)
}
