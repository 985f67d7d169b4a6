package sshd

import (
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
	"github.com/vmihailenco/msgpack/v5"
	"golang.org/x/crypto/ssh"

	"tmate-relay/service/protocol"
	"tmate-relay/service/session"
)

// messagesWithin is relayMessages, failing the test if the relay has not
// closed the channel within d.
func messagesWithin(t *testing.T, ch ssh.Channel, d time.Duration) [][]any {
	t.Helper()
	got := make(chan [][]any, 1)
	go func() { got <- relayMessages(t, ch) }()
	select {
	case msgs := <-got:
		return msgs
	case <-time.After(d):
		t.Fatalf("the relay still holds the connection open after %v", d)
		return nil
	}
}

// notes are the NOTIFY texts among msgs.
func notes(msgs [][]any) []string {
	var out []string
	for _, m := range msgs {
		if typ, _ := m[0].(int8); typ == 0 && len(m) == 2 {
			s, _ := m[1].(string)
			out = append(out, s)
		}
	}
	return out
}

func TestHostsThatNeverFinishStartingAreClosedAtTheDeadline(t *testing.T) {
	header := protocol.AppendHostMessage(nil, &protocol.Header{ProtocolVersion: 6, ClientVersion: "2.4.0"})
	for _, tc := range []struct {
		name        string
		sends       []byte
		reconnector bool
	}{
		{"nothing after the subsystem", nil, false},
		{"HEADER only", header, false},
		{"HEADER only, with reconnection on", header, true},
		{"HEADER and a message, no READY", protocol.AppendHostMessage(header, &protocol.Uname{Sysname: "Linux"}), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := session.NewRegistry(0)
			if tc.reconnector {
				reg.SetReconnector(session.NewReconnector([]byte("relay key"), time.Minute))
			}
			const deadline = 300 * time.Millisecond
			addr, _, log := startServer(t, Config{Registry: reg, HostReadyTimeout: deadline})
			ch, _ := hostChannel(t, addr)
			if tc.sends != nil {
				ch.Write(tc.sends)
			}
			start := time.Now()
			msgs := messagesWithin(t, ch, 10*time.Second)
			t.Logf("closed %v after the stream began", time.Since(start).Round(time.Millisecond))
			if n := notes(msgs); len(n) != 1 || !strings.Contains(n[0], "did not finish starting within 300ms") {
				t.Errorf("NOTIFYs %q, want one saying the session did not finish starting", n)
			}
			waitFor(t, "the session to be gone", func() bool { return reg.Len() == 0 })
			waitFor(t, "the log line", func() bool { return strings.Contains(log.String(), "no READY within the start-up deadline") })
		})
	}
}

func TestAReadyHostOutlivesTheDeadline(t *testing.T) {
	addr, srv, _ := startServer(t, Config{HostReadyTimeout: 200 * time.Millisecond})
	_, _, c := hostUntilReady(t, addr)
	defer c.Close()
	time.Sleep(600 * time.Millisecond)
	if srv.Registry().Len() != 1 {
		t.Fatalf("sessions = %d after the deadline, want the ready host's", srv.Registry().Len())
	}
}

func TestLiveHostsArePerAddressCappedWithANotify(t *testing.T) {
	addr, srv, log := startServer(t, Config{SessionsPerAddress: 2})
	var clients []*ssh.Client
	for range 2 {
		_, _, c := hostUntilReady(t, addr)
		clients = append(clients, c)
	}
	for _, v := range []int{6, 5} { // modern and legacy hosts both read it
		ch, _ := hostChannel(t, addr)
		ch.Write(protocol.AppendHostMessage(nil, &protocol.Header{ProtocolVersion: v, ClientVersion: "2.4.0"}))
		ch.CloseWrite()
		n := notes(messagesWithin(t, ch, 10*time.Second))
		if len(n) != 1 || !strings.Contains(n[0], "at most 2 sessions from one address (sessions_per_address)") {
			t.Fatalf("protocol %d: NOTIFYs %q, want one naming the limit", v, n)
		}
	}
	if srv.Registry().Len() != 2 {
		t.Fatalf("sessions = %d, want 2", srv.Registry().Len())
	}
	if !strings.Contains(log.String(), "host refused: too many sessions from this address") {
		t.Fatalf("the refusal is not logged:\n%s", log)
	}
	// A host that leaves frees its address's place.
	clients[0].Close()
	waitFor(t, "the host to leave", func() bool {
		srv.hosts.mu.Lock()
		defer srv.hosts.mu.Unlock()
		return srv.hosts.n["127.0.0.1"] == 1
	})
	_, _, c := hostUntilReady(t, addr)
	c.Close()
}

func TestUnauthenticatedConnectionsAreDroppedEarly(t *testing.T) {
	const start, full = 2, 6
	for _, tc := range []struct {
		name   string
		random float64 // what the early drop draws (it drops below 0.3 at start, rising to 1 at full)
		want   int     // connections admitted before the first refusal
	}{
		{"a draw under the rate: dropped at start", 0.29, start},
		{"a draw at the rate: dropped one beyond start", 0.3, start + 1},
		{"a draw of 0.7: dropped at 3 of 4 beyond start", 0.7, start + 3},
		{"a draw of 0.99: admitted up to full", 0.99, full},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newAddrLimits(10, time.Minute, Startups{Start: start, Rate: 30, Full: full}, 0, 0)
			l.random = func() float64 { return tc.random }
			n := 0
			for l.try("192.0.2.1") {
				n++
			}
			if n != tc.want {
				t.Fatalf("admitted %d, want %d", n, tc.want)
			}
			if !l.try("192.0.2.2") {
				t.Fatal("another address was refused")
			}
			l.done("192.0.2.1")
			l.random = func() float64 { return 0.999 }
			if !l.try("192.0.2.1") {
				t.Fatal("a closed connection did not free its place")
			}
		})
	}
}

func TestAStalledHandshakeFreesItsPlaceWhenItTimesOut(t *testing.T) {
	addr, _, _ := startServer(t, Config{MaxStartups: Startups{Start: 1}, GracePeriod: 300 * time.Millisecond})
	stalled, banner := sshBanner(t, addr)
	if !strings.HasPrefix(banner, "SSH-2.0-") {
		t.Fatalf("first connection got %q", banner)
	}
	if _, banner := sshBanner(t, addr); banner != "" {
		t.Fatalf("second connection admitted (%q) while the first stalls", banner)
	}
	stalled.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 512)
	for {
		if _, err := stalled.Read(buf); err != nil {
			break // dropped at the end of its grace period
		}
	}
	waitFor(t, "a new connection to be admitted", func() bool {
		_, banner := sshBanner(t, addr)
		return strings.HasPrefix(banner, "SSH-2.0-")
	})
}

// flakyListener fails its first accepts as a process out of descriptors
// does.
type flakyListener struct {
	net.Listener
	mu    sync.Mutex
	fails int
}

func (f *flakyListener) Accept() (net.Conn, error) {
	f.mu.Lock()
	fail := f.fails > 0
	f.fails--
	f.mu.Unlock()
	if fail {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return f.Listener.Accept()
}

func TestServeOutlivesFailedAccepts(t *testing.T) {
	_, srv, log := startServer(t, Config{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(&flakyListener{Listener: l, fails: 8}) }()
	if _, banner := sshBanner(t, l.Addr().String()); !strings.HasPrefix(banner, "SSH-2.0-") {
		select {
		case err := <-served:
			t.Fatalf("Serve returned %v", err)
		default:
			t.Fatalf("no banner after failed accepts: %q", banner)
		}
	}
	waitFor(t, "the recovery to be logged", func() bool { return strings.Contains(log.String(), "accepting connections again") })
	if n := strings.Count(log.String(), "too many open files"); n != 1 {
		t.Errorf("the failure burst was logged %d times, want once:\n%s", n, log)
	}
	if !strings.Contains(log.String(), "failed_accepts=8") {
		t.Errorf("the count of failed accepts is not logged:\n%s", log)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v", err)
	default:
	}
}

// proxiedHost starts a host's stream (HEADER, READY) through a PROXY
// protocol v2 header naming src, and returns the NOTIFYs the relay sends
// up to the RESIZE that ends its announcement, or until it hangs up.
func proxiedHost(t *testing.T, addr, src string) []string {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	h := proxyproto.HeaderProxyFromAddrs(2, &net.TCPAddr{IP: net.ParseIP(src), Port: 40000}, nc.RemoteAddr())
	if _, err := h.WriteTo(nc); err != nil {
		t.Fatal(err)
	}
	cc, chans, reqs, err := ssh.NewClientConn(nc, addr, &ssh.ClientConfig{User: HostUser, HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err != nil {
		t.Fatal(err)
	}
	c := ssh.NewClient(cc, chans, reqs)
	ch, chReqs, err := c.OpenChannel("session", nil)
	if err != nil {
		t.Fatal(err)
	}
	go ssh.DiscardRequests(chReqs)
	if ok, err := ch.SendRequest("subsystem", true, ssh.Marshal(struct{ Name string }{"tmate"})); !ok || err != nil {
		t.Fatalf("subsystem tmate: %v %v", ok, err)
	}
	b := protocol.AppendHostMessage(nil, &protocol.Header{ProtocolVersion: 6, ClientVersion: "2.4.0"})
	ch.Write(protocol.AppendHostMessage(b, &protocol.Ready{}))
	var notes []string
	dec := msgpack.NewDecoder(ch)
	for {
		var m []any
		if dec.Decode(&m) != nil {
			return notes
		}
		switch typ, _ := m[0].(int8); typ {
		case 0:
			notes = append(notes, m[1].(string))
		case 2:
			return notes
		}
	}
}

func TestLiveHostsAreCappedPerProxiedClientAddress(t *testing.T) {
	addr, srv, _ := startServer(t, Config{ProxyProtocol: true, SessionsPerAddress: 1})
	if !srv.hosts.take("203.0.113.9") { // that client already hosts one
		t.Fatal("take")
	}
	if n := proxiedHost(t, addr, "203.0.113.9"); len(n) != 1 || !strings.Contains(n[0], "at most 1 sessions from one address") {
		t.Fatalf("the capped client address got NOTIFYs %q, want the limit", n)
	}
	proxiedHost(t, addr, "203.0.113.10") // through the same balancer
	waitFor(t, "the other client's session", func() bool { return srv.Registry().Len() == 1 })
}
