package e2e

import (
	"io"
	"net"
	"sync"
	"testing"
)

// cutProxy is a TCP proxy to the relay that the test cuts, as a dropped
// Wi-Fi does (a tmate host's or a browser's connection), and can hold down
// (connections it takes are closed at once) until the test has seen what
// guests see meanwhile.
type cutProxy struct {
	target string
	port   int
	mu     sync.Mutex
	down   bool
	pairs  map[net.Conn]net.Conn // client side -> relay side
	// stranded are relay sides left open after their client side was cut.
	stranded map[net.Conn]bool
}

func startCutProxy(t testing.TB, target string) *cutProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{target: target, port: l.Addr().(*net.TCPAddr).Port,
		pairs: map[net.Conn]net.Conn{}, stranded: map[net.Conn]bool{}}
	t.Cleanup(func() {
		l.Close()
		p.cut(false)
		p.mu.Lock()
		for up := range p.stranded {
			up.Close()
		}
		p.mu.Unlock()
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
	return p
}

func (p *cutProxy) forward(c net.Conn) {
	defer c.Close()
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	p.mu.Lock()
	p.pairs[c] = up
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
	p.mu.Lock()
	delete(p.pairs, c)
	if !p.stranded[up] {
		up.Close()
	}
	p.mu.Unlock()
}

// cut closes every connection through the line (both ends, so the relay
// reads EOF while tmate's reads fail) and, with hold, refuses new ones
// until restore. It returns how many it cut.
func (p *cutProxy) cut(hold bool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = hold
	for c, up := range p.pairs {
		c.Close()
		up.Close()
	}
	return len(p.pairs)
}

// strand closes only the host's side of every connection: the relay's
// stays open and silent, as when a laptop moves to another network and
// nothing tells the relay.
func (p *cutProxy) strand() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c, up := range p.pairs {
		p.stranded[up] = true
		c.Close()
	}
	return len(p.pairs)
}

func (p *cutProxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}
