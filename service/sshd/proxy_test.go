package sshd

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
	"golang.org/x/crypto/ssh"
)

// dialWithHeader connects to addr, sends a PROXY header of version v
// (0: none) claiming src, and runs an SSH handshake as a guest with an
// unknown token; it returns the handshake's error.
func dialWithHeader(t *testing.T, addr string, v byte, src string) error {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if v != 0 {
		h := proxyproto.HeaderProxyFromAddrs(v, &net.TCPAddr{IP: net.ParseIP(src), Port: 40000}, nc.RemoteAddr())
		if _, err := h.WriteTo(nc); err != nil {
			t.Fatal(err)
		}
	}
	cc, chans, reqs, err := ssh.NewClientConn(nc, addr, &ssh.ClientConfig{User: "nosuchtoken", HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err != nil {
		return err
	}
	c := ssh.NewClient(cc, chans, reqs)
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		return err
	}
	var out strings.Builder
	s.Stdout = &out
	s.Shell()
	s.Wait() // the relay refuses the token: logged with the address
	if !strings.Contains(out.String(), InvalidTokenMessage) {
		t.Errorf("guest read %q", out.String())
	}
	return nil
}

func waitLog(t *testing.T, log *syncWriter, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(log.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log lacks %q:\n%s", want, log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestProxyProtocolGivesTheClientAddress(t *testing.T) {
	addr, _, log := startServer(t, Config{ProxyProtocol: true})
	for _, v := range []byte{1, 2} {
		if err := dialWithHeader(t, addr, v, "203.0.113.7"); err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
	}
	waitLog(t, log, "addr=203.0.113.7")
	// Without a header the connection is refused and says why.
	if err := dialWithHeader(t, addr, 0, ""); err == nil {
		t.Fatal("a connection without a PROXY header was served")
	}
	waitLog(t, log, "no valid PROXY protocol header")
}

// The per-address cap counts the address the header names.
func TestProxyProtocolAddressIsLimited(t *testing.T) {
	addr, srv, _ := startServer(t, Config{ProxyProtocol: true, MaxStartups: Startups{Start: 1}})
	if !srv.limits.try("203.0.113.9") { // one connection of that client is pending
		t.Fatal("open")
	}
	if err := dialWithHeader(t, addr, 2, "203.0.113.9"); err == nil {
		t.Fatal("the capped client address was served")
	}
	if err := dialWithHeader(t, addr, 2, "203.0.113.10"); err != nil {
		t.Fatalf("another client address: %v", err)
	}
}

func TestProxyHeaderRefusedWhenNotConfigured(t *testing.T) {
	addr, _, log := startServer(t, Config{})
	for _, v := range []byte{1, 2} {
		if err := dialWithHeader(t, addr, v, "203.0.113.7"); err == nil {
			t.Fatalf("v%d header accepted by a relay without proxy_protocol", v)
		}
	}
	waitLog(t, log, "PROXY protocol header refused")
	if strings.Contains(log.String(), "203.0.113.7") {
		t.Fatalf("a header's address was used:\n%s", log.String())
	}
	if err := dialWithHeader(t, addr, 0, ""); err != nil {
		t.Fatalf("plain connection: %v", err)
	}
}
