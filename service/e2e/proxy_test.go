package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
)

// proxyClient is the address the test's load balancer claims for every
// client (TEST-NET-3, never this machine's).
const proxyClient = "203.0.113.7"

// startHeaderProxy runs a small load balancer in front of the relay: it accepts
// on a loopback port, opens a connection to the relay, sends a PROXY
// header of version v naming proxyClient (with the client's own port) and
// then pipes both ways. It returns the port.
func startHeaderProxy(t *testing.T, relayPort int, v byte) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", relayPort))
				if err != nil {
					return
				}
				defer up.Close()
				src := &net.TCPAddr{IP: net.ParseIP(proxyClient), Port: c.RemoteAddr().(*net.TCPAddr).Port}
				if _, err := proxyproto.HeaderProxyFromAddrs(v, src, up.RemoteAddr()).WriteTo(up); err != nil {
					return
				}
				done := make(chan struct{}, 2)
				go func() { io.Copy(up, c); done <- struct{}{} }()
				go func() { io.Copy(c, up); done <- struct{}{} }()
				<-done
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// Point 5: behind a load balancer that speaks PROXY protocol (v1 for the
// host, v2 for the guest), the relay logs the client address the header
// names, and a real tmate host and ssh guest work through it.
func TestProxyProtocol(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := prepareRelay(t, "")
	// proxy_protocol belongs to [ssh], which prepareRelay writes first.
	patchConf(t, r, "[ssh]\n", "[ssh]\nproxy_protocol = true\n")
	r.launch(relayBin, "serve", "-c", r.conf)

	v1 := startHeaderProxy(t, r.port, 1)
	v2 := startHeaderProxy(t, r.port, 2)
	viaV1 := *r
	viaV1.port = v1
	viaV1.tmateRC = strings.ReplaceAll(r.tmateRC, fmt.Sprintf("tmate-server-port %d", r.port), fmt.Sprintf("tmate-server-port %d", v1))
	if viaV1.tmateRC == r.tmateRC {
		t.Fatalf("no server port in the client config:\n%s", r.tmateRC)
	}
	h := startHost(t, &viaV1, 80, 24, "")
	eventually(t, 10*time.Second, "the host's session logged with the PROXY address", func() (bool, string) {
		log := r.log.String()
		return strings.Contains(log, "session started") && strings.Contains(log, "addr="+proxyClient+" role=host"), log
	})

	viaV2 := *r
	viaV2.port = v2
	g := sshGuest(t, &viaV2, tokenOf(t, h.display("#{tmate_ssh}")), 80, 25)
	h.run("send-keys", "echo proxied-$((6*7))", "Enter")
	g.waitFor("proxied-42", 10*time.Second)
	g.send("echo typed-$((7*7))")
	g.key("Enter")
	eventually(t, 10*time.Second, "the guest's input reached the host", func() (bool, string) {
		s := h.capture()
		return strings.Contains(s, "typed-49"), s
	})
	if log := r.log.String(); !strings.Contains(log, "addr="+proxyClient+" role=guest") {
		t.Errorf("the guest is not logged with the PROXY address:\n%s", log)
	}

	// A client that reaches the relay without the balancer is refused.
	direct := sshGuest(t, r, tokenOf(t, h.display("#{tmate_ssh}")), 80, 25)
	direct.waitFor(sshExited, 10*time.Second)
	if log := r.log.String(); !strings.Contains(log, "no valid PROXY protocol header") {
		t.Errorf("the direct connection's refusal is not logged:\n%s", log)
	}
}

// Without proxy_protocol a PROXY header is refused, not silently skipped,
// and the address it claims is never used.
func TestProxyHeaderRefusedByDefault(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "")
	h := startHost(t, r, 80, 24, "")
	via := *r
	via.port = startHeaderProxy(t, r.port, 1)
	g := sshGuest(t, &via, tokenOf(t, h.display("#{tmate_ssh}")), 80, 25)
	g.waitFor(sshExited, 10*time.Second)
	eventually(t, 5*time.Second, "the refusal is logged", func() (bool, string) {
		log := r.log.String()
		return strings.Contains(log, "PROXY protocol header refused"), log
	})
	if log := r.log.String(); strings.Contains(log, proxyClient) {
		t.Errorf("the header's address was used:\n%s", log)
	}
	// The same guest straight to the relay is served.
	ok := sshGuest(t, r, tokenOf(t, h.display("#{tmate_ssh}")), 80, 25)
	h.run("send-keys", "echo direct-$((6*7))", "Enter")
	ok.waitFor("direct-42", 10*time.Second)
}

// patchConf replaces old with new in r's relay.toml.
func patchConf(t *testing.T, r *relay, old, new string) {
	t.Helper()
	b, err := os.ReadFile(r.conf)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("relay.toml lacks %q", old)
	}
	if err := os.WriteFile(r.conf, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}
