package sshd

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"time"

	"github.com/pires/go-proxyproto"
)

// Behind a load balancer ([ssh] proxy_protocol = true) every connection
// must open with a PROXY protocol header (v1 or v2) naming the client, so
// that logs and per-address limits see the client, not the balancer. A
// header's LOCAL command (a balancer's health check) keeps the balancer's
// address. Without the setting a connection that opens with a header is
// refused: a header nobody reads would otherwise pass silently (an SSH
// server skips lines before the version), hiding a misconfiguration.

// proxyListener wraps l so that each connection's RemoteAddr is the one its
// PROXY header names; a connection without a valid header fails its first
// read. The header is read in the connection's own goroutine (on its first
// RemoteAddr call), within grace.
func proxyListener(l net.Listener, grace time.Duration) net.Listener {
	return &proxyproto.Listener{
		Listener: l,
		ConnPolicy: func(proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) {
			return proxyproto.REQUIRE, nil
		},
		ReadHeaderTimeout: grace,
	}
}

// errProxyHeader is the read error of a connection that sent a PROXY header
// to a relay not configured for one.
var errProxyHeader = errors.New("PROXY protocol header refused: [ssh] proxy_protocol is false")

// proxyV1, proxyV2 are how the two header versions begin.
var (
	proxyV1 = []byte("PROXY")
	proxyV2 = []byte("\r\n\r\n\x00")
)

// refuseProxyHeader fails nc's first read if the peer opens with a PROXY
// header. It looks only once the SSH server reads, after sending its own
// version: libssh (tmate) waits for that before it sends anything.
type refuseProxyHeader struct {
	net.Conn
	r       *bufio.Reader
	checked bool
}

func (c *refuseProxyHeader) Read(p []byte) (int, error) {
	if !c.checked {
		c.checked = true
		head, err := c.r.Peek(len(proxyV1))
		if bytes.Equal(head, proxyV1) || bytes.Equal(head, proxyV2) {
			return 0, errProxyHeader
		}
		if len(head) == 0 && err != nil {
			return 0, err
		}
	}
	return c.r.Read(p)
}

// rawTCP returns the TCP connection under nc, if any.
func rawTCP(nc net.Conn) (*net.TCPConn, bool) {
	if pc, ok := nc.(*proxyproto.Conn); ok {
		return pc.TCPConn()
	}
	tc, ok := nc.(*net.TCPConn)
	return tc, ok
}
