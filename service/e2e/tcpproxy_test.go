package e2e

// The TCP proxy is the yardstick of BenchmarkClusterForwardedEcho: the
// least any node between a guest and the node holding its session adds.
// It is one more process on the guest's path that copies bytes both ways,
// with no SSH, no lookup and no node link: this test binary run again with
// tcpProxyListen set. What a forwarding node costs beyond it is what the
// relay's forwarding costs; the rest is the machine's price for waking one
// more process per keystroke and per frame.

import (
	"fmt"
	"net"
	"os"
	"testing"

	"tmate-relay/service/logtest"
)

// tcpProxyListen and tcpProxyTarget, in the environment, make the test
// binary run as the TCP proxy: the address it listens on and the one it
// carries each connection to.
const (
	tcpProxyListen = "TMATE_RELAY_E2E_PROXY_LISTEN"
	tcpProxyTarget = "TMATE_RELAY_E2E_PROXY_TARGET"
)

// startTCPProxy runs the TCP proxy to target's SSH port as a process of its
// own; its port is the returned relay's, so that guests join through it
// as they join a relay.
func startTCPProxy(tb testing.TB, target *relay) *relay {
	tb.Helper()
	self, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	p := &relay{t: tb, port: freePort(tb), log: &logtest.Buffer{}}
	p.env = []string{
		tcpProxyListen + "=" + fmt.Sprintf("127.0.0.1:%d", p.port),
		tcpProxyTarget + "=" + fmt.Sprintf("127.0.0.1:%d", target.port),
	}
	p.launch(self)
	return p
}

// runTCPProxy carries every connection to addr on to target until the
// process is stopped.
func runTCPProxy(addr, target string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			t, err := net.Dial("tcp", target)
			if err != nil {
				return
			}
			defer t.Close()
			go func() {
				pump(t, c)
				t.(*net.TCPConn).CloseWrite()
			}()
			pump(c, t)
		}()
	}
}

// pump copies from src to dst with one read and one write system call per
// chunk, the least a process can do (io.Copy between two TCP connections
// would splice through a pipe: two calls more per chunk).
func pump(dst, src net.Conn) {
	b := make([]byte, 32<<10)
	for {
		n, err := src.Read(b)
		if n > 0 {
			if _, werr := dst.Write(b[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
