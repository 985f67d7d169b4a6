package nodelink

import (
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// A protocol that runs over a connection (HTTP, a browser guest's
// WebSocket) runs over a channel of the link: ChannelConn makes one a
// net.Conn, and a Listener hands such conns to a server.

type channelConn struct {
	ssh.Channel
	local, remote net.Addr

	start   sync.Once
	data    chan []byte // what the channel delivered, read ahead
	readErr error       // why data closed
	pending []byte      // the rest of a chunk a Read did not take

	mu       sync.Mutex
	deadline time.Time
	moved    chan struct{} // closed when the read deadline changes
}

// ChannelConn is ch as a net.Conn whose remote address is remote, the
// address of the client a peer node carries (IP or IP:port). Read
// deadlines are kept (an HTTP server cuts a pending read short with one
// when a handler takes the connection over); write deadlines are not.
func ChannelConn(ch ssh.Channel, remote string) net.Conn {
	if _, _, err := net.SplitHostPort(remote); err != nil {
		remote = net.JoinHostPort(remote, "0")
	}
	return &channelConn{Channel: ch, local: linkAddr("node-link"), remote: linkAddr(remote), moved: make(chan struct{})}
}

func (c *channelConn) readAhead() {
	c.data = make(chan []byte)
	go func() {
		for {
			b := make([]byte, 32<<10)
			n, err := c.Channel.Read(b)
			if n > 0 {
				c.data <- b[:n]
			}
			if err != nil {
				c.readErr = err
				close(c.data)
				return
			}
		}
	}()
}

func (c *channelConn) Read(b []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(b, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	c.start.Do(c.readAhead)
	for {
		c.mu.Lock()
		deadline, moved := c.deadline, c.moved
		c.mu.Unlock()
		var expired <-chan time.Time
		if !deadline.IsZero() {
			d := time.Until(deadline)
			if d <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
			t := time.NewTimer(d)
			defer t.Stop()
			expired = t.C
		}
		select {
		case chunk, ok := <-c.data:
			if !ok {
				return 0, c.readErr
			}
			n := copy(b, chunk)
			c.pending = chunk[n:]
			return n, nil
		case <-expired:
			return 0, os.ErrDeadlineExceeded
		case <-moved:
		}
	}
}

func (c *channelConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	close(c.moved)
	c.moved = make(chan struct{})
	c.mu.Unlock()
	return nil
}

func (c *channelConn) SetDeadline(t time.Time) error    { return c.SetReadDeadline(t) }
func (c *channelConn) SetWriteDeadline(time.Time) error { return nil }
func (c *channelConn) LocalAddr() net.Addr              { return c.local }
func (c *channelConn) RemoteAddr() net.Addr             { return c.remote }

type linkAddr string

func (a linkAddr) Network() string { return "tcp" }
func (a linkAddr) String() string  { return string(a) }

// Listener is a net.Listener of the conns a node link hands it.
type Listener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

// NewListener returns an open listener.
func NewListener() *Listener {
	return &Listener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// Hand gives c to the server accepting on l; false (c closed) when l is
// closed.
func (l *Listener) Hand(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		c.Close()
		return false
	}
}

func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *Listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *Listener) Addr() net.Addr { return linkAddr("node-link") }
