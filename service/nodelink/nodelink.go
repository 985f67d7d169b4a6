// Package nodelink is the link between the nodes of a cluster: SSH on each
// node's internal address, authenticated both ways with the host keys
// every node of the cluster shares, and encrypted.
//
// Why SSH and not mutual TLS: the nodes already hold the same host keys,
// and the cluster refuses a node whose keys differ (service/cluster), so
// the key that proves a node to the clients proves it to the other nodes
// too, with no certificate authority to run or certificates to renew.
// Anyone who has that key can already pose as the relay to every client.
// SSH channels carry many guests over one connection, each with its own
// flow control (a slow guest holds up nobody else), and a guest's own SSH
// requests (window-change, keep-alives) map onto them one for one.
package nodelink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"tmate-relay/service/internal/keepalive"
)

// user is the SSH user a node links as; the key is what counts.
const user = "tmate-relay-node"

// handshakeTimeout bounds a link's SSH handshake.
const handshakeTimeout = 10 * time.Second

// sameKey reports whether k is one of keys' public keys.
func sameKey(keys []ssh.Signer, k ssh.PublicKey) bool {
	b := k.Marshal()
	for _, s := range keys {
		if bytes.Equal(s.PublicKey().Marshal(), b) {
			return true
		}
	}
	return false
}

// Server accepts links from the other nodes.
type Server struct {
	// KeepAlive is how often a link is probed (zero: never); set it
	// before Serve. See keepAlive.
	KeepAlive time.Duration

	cfg    *ssh.ServerConfig
	handle func(peer string, ch ssh.NewChannel)
	log    *slog.Logger

	mu    sync.Mutex
	conns map[*ssh.ServerConn]struct{}
	ls    []net.Listener
}

// NewServer serves links authenticated with keys, this node's host keys
// (the cluster's); handle takes each channel a peer opens, and must
// Accept or Reject it.
func NewServer(keys []ssh.Signer, handle func(peer string, ch ssh.NewChannel), log *slog.Logger) *Server {
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if meta.User() == user && sameKey(keys, k) {
				return nil, nil
			}
			return nil, errors.New("not a key of this cluster")
		},
	}
	for _, k := range keys {
		cfg.AddHostKey(k)
	}
	return &Server{cfg: cfg, handle: handle, log: log, conns: map[*ssh.ServerConn]struct{}{}}
}

// Serve accepts links on l until it is closed.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	s.ls = append(s.ls, l)
	s.mu.Unlock()
	for {
		nc, err := l.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		go s.serveConn(nc)
	}
}

func (s *Server) serveConn(nc net.Conn) {
	nc.SetDeadline(time.Now().Add(handshakeTimeout))
	sc, chans, reqs, err := ssh.NewServerConn(nc, s.cfg)
	if err != nil {
		s.log.Warn("node link refused", "addr", nc.RemoteAddr().String(), "err", err)
		nc.Close()
		return
	}
	nc.SetDeadline(time.Time{})
	s.mu.Lock()
	s.conns[sc] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, sc)
		s.mu.Unlock()
	}()
	go ssh.DiscardRequests(reqs)
	go keepAlive(sc, s.KeepAlive, s.log)
	peer := nc.RemoteAddr().String()
	for ch := range chans {
		go s.handle(peer, ch)
	}
}

// Close stops accepting and closes every link.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.ls {
		l.Close()
	}
	for c := range s.conns {
		c.Close()
	}
}

// Links returns the number of peers linked now.
func (s *Server) Links() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Dialer keeps one link to each peer it reaches, made on first use and
// again after it broke.
type Dialer struct {
	// KeepAlive is how often a link is probed (zero: never), and Log
	// where a link that stopped answering is told; set them before Open.
	KeepAlive time.Duration
	Log       *slog.Logger

	cfg *ssh.ClientConfig
	mu  sync.Mutex
	to  map[string]*ssh.Client
}

// NewDialer links with keys, this node's host keys (the cluster's), and
// accepts only a peer that proves one of them.
func NewDialer(keys []ssh.Signer) *Dialer {
	return &Dialer{
		cfg: &ssh.ClientConfig{
			User: user,
			Auth: []ssh.AuthMethod{ssh.PublicKeys(keys...)},
			HostKeyCallback: func(host string, _ net.Addr, k ssh.PublicKey) error {
				if sameKey(keys, k) {
					return nil
				}
				return fmt.Errorf("node %s presents host key %s, not this cluster's", host, ssh.FingerprintSHA256(k))
			},
			Timeout: handshakeTimeout,
		},
		to: map[string]*ssh.Client{},
	}
}

// Open opens a channel of kind with extra data to the node at addr.
func (d *Dialer) Open(ctx context.Context, addr, kind string, extra []byte) (ssh.Channel, <-chan *ssh.Request, error) {
	c, err := d.client(ctx, addr)
	if err != nil {
		return nil, nil, err
	}
	ch, reqs, err := c.OpenChannel(kind, extra)
	var oce *ssh.OpenChannelError
	if err != nil && !errors.As(err, &oce) {
		// The link broke since it was last used: one new try.
		d.drop(addr, c)
		if c, err = d.client(ctx, addr); err != nil {
			return nil, nil, err
		}
		ch, reqs, err = c.OpenChannel(kind, extra)
	}
	return ch, reqs, err
}

func (d *Dialer) client(ctx context.Context, addr string) (*ssh.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c := d.to[addr]; c != nil {
		return c, nil
	}
	var nd net.Dialer
	nc, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("node link to %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	} else {
		nc.SetDeadline(time.Now().Add(handshakeTimeout))
	}
	cc, chans, reqs, err := ssh.NewClientConn(nc, addr, d.cfg)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("node link to %s: %w", addr, err)
	}
	nc.SetDeadline(time.Time{})
	c := ssh.NewClient(cc, chans, reqs)
	d.to[addr] = c
	go func() { c.Wait(); d.drop(addr, c) }()
	go keepAlive(c, d.KeepAlive, d.Log)
	return c, nil
}

func (d *Dialer) drop(addr string, c *ssh.Client) {
	d.mu.Lock()
	if d.to[addr] == c {
		delete(d.to, addr)
	}
	d.mu.Unlock()
	c.Close()
}

// Close closes every link.
func (d *Dialer) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for addr, c := range d.to {
		c.Close()
		delete(d.to, addr)
	}
}

// keepAlive probes the peer of c every interval, as the relay probes its
// clients ([limits] keepalive_interval), and closes c, with every channel
// on it, when it stops answering: a node that hangs or drops off the
// network would otherwise hold its forwarded guests in their sessions, and
// their places, forever. It returns when c closes.
func keepAlive(c ssh.Conn, interval time.Duration, log *slog.Logger) {
	keepalive.Probe(c, interval, func() {
		if log != nil {
			log.Warn("node link closed: the other node stopped answering", "peer", c.RemoteAddr().String(), "probes", keepalive.Missed)
		}
	})
}
