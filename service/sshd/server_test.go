package sshd

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"golang.org/x/crypto/ssh"

	"tmate-relay/service/protocol"
)

// startServer runs a front door on a loopback port for the test.
func startServer(t *testing.T, cfg Config) (addr string, srv *Server, log *syncWriter) {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	log = &syncWriter{w: &bytes.Buffer{}}
	cfg.HostKeys = []ssh.Signer{signer}
	cfg.Log = slog.New(slog.NewTextHandler(log, nil))
	srv, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(t.Context()) })
	return l.Addr().String(), srv, log
}

// syncWriter lets the test read a log the server writes concurrently.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}

// hostChannel opens the tmate subsystem as a host does.
func hostChannel(t *testing.T, addr string) (ssh.Channel, *ssh.Client) {
	t.Helper()
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: HostUser, HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ch, reqs, err := c.OpenChannel("session", nil)
	if err != nil {
		t.Fatal(err)
	}
	go ssh.DiscardRequests(reqs)
	ok, err := ch.SendRequest("subsystem", true, ssh.Marshal(struct{ Name string }{"tmate"}))
	if err != nil || !ok {
		t.Fatalf("subsystem tmate: %v %v", ok, err)
	}
	return ch, c
}

// relayMessages decodes what the relay sent until it closed the channel.
func relayMessages(t *testing.T, ch ssh.Channel) [][]any {
	t.Helper()
	data, _ := io.ReadAll(ch)
	dec := msgpack.NewDecoder(bytes.NewReader(data))
	var out [][]any
	for {
		var m []any
		if err := dec.Decode(&m); err != nil {
			return out
		}
		out = append(out, m)
	}
}

func TestOldClientIsToldWhichTmateItNeeds(t *testing.T) {
	addr, srv, _ := startServer(t, Config{})
	ch, _ := hostChannel(t, addr)
	ch.Write(protocol.AppendHostMessage(nil, &protocol.Header{ProtocolVersion: 5, ClientVersion: "2.2.0"}))
	ch.CloseWrite()
	msgs := relayMessages(t, ch)
	if len(msgs) != 1 || len(msgs[0]) != 2 {
		t.Fatalf("relay sent %v, want one NOTIFY", msgs)
	}
	text, _ := msgs[0][1].(string)
	if !strings.Contains(text, "tmate "+protocol.MinClientVersion) || !strings.Contains(text, "2.2.0") {
		t.Fatalf("NOTIFY %q does not name the tmate version needed", text)
	}
	if srv.Registry().Len() != 0 {
		t.Fatal("an old client got a session")
	}
}

func TestMalformedHostStreamEndsOnlyThatHost(t *testing.T) {
	addr, srv, log := startServer(t, Config{})
	good, _ := hostChannel(t, addr)
	good.Write(protocol.AppendHostMessage(nil, &protocol.Header{ProtocolVersion: 6, ClientVersion: "2.4.0"}))

	bad, _ := hostChannel(t, addr)
	bad.Write(protocol.AppendHostMessage(nil, &protocol.Header{ProtocolVersion: 6, ClientVersion: "2.4.0"}))
	bad.Write([]byte{0x93, 0x01, 0xa1, 'x', 0x00}) // SYNC_LAYOUT with a string size
	msgs := relayMessages(t, bad)                  // returns once the relay hung up
	if n := len(msgs); n == 0 || !strings.Contains(msgs[n-1][1].(string), "SYNC_LAYOUT") {
		t.Fatalf("the host was not told what was wrong: %v", msgs)
	}

	deadline := time.Now().Add(5 * time.Second)
	for srv.Registry().Len() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("sessions = %d, want the good host's only", srv.Registry().Len())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(log.String(), "SYNC_LAYOUT") {
		t.Fatalf("the log does not say what was wrong:\n%s", log)
	}
	// The good host is still served: it can get ready.
	good.Write(protocol.AppendHostMessage(nil, &protocol.Ready{}))
	buf := make([]byte, 4096)
	good.Read(buf)
}

func TestUnauthenticatedConnectionsAreDroppedAfterGracePeriod(t *testing.T) {
	addr, _, _ := startServer(t, Config{GracePeriod: 200 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	io.Copy(io.Discard, c) // the server's banner, then EOF when it drops us
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("connection held for %v", d)
	}
}

func TestUnknownTokenIsRefusedAfterADelay(t *testing.T) {
	addr, _, _ := startServer(t, Config{})
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: "nosuchtoken", HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	s.Stdout = &out
	s.RequestPty("xterm", 24, 80, nil)
	start := time.Now()
	s.Shell()
	err = s.Wait()
	d := time.Since(start)
	if !strings.Contains(out.String(), InvalidTokenMessage) {
		t.Fatalf("guest read %q", out.String())
	}
	if ee, ok := err.(*ssh.ExitError); !ok || ee.ExitStatus() != 1 {
		t.Fatalf("exit: %v, want status 1", err)
	}
	if d < 50*time.Millisecond {
		t.Fatalf("refused after %v, want at least 50ms", d)
	}
}

func TestRandomDelayStaysInRange(t *testing.T) {
	for range 1000 {
		if d := randomDelay(50*time.Millisecond, 200*time.Millisecond); d < 50*time.Millisecond || d > 200*time.Millisecond {
			t.Fatalf("delay %v out of range", d)
		}
	}
}

// A host's client_version is its own choice, of any length: the log line
// and the NOTIFY that name it carry its first bytes only.
func TestLongClientVersionIsCut(t *testing.T) {
	long := "2.4.0" + strings.Repeat("A", 900000)
	for _, tc := range []struct {
		name     string
		protocol int
		logged   string // the log line naming the client
	}{
		{"supported", 6, "session started"},
		{"unsupported", 5, "host refused: unsupported protocol"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, _, log := startServer(t, Config{})
			ch, _ := hostChannel(t, addr)
			ch.Write(protocol.AppendHostMessage(nil, &protocol.Header{ProtocolVersion: tc.protocol, ClientVersion: long}))
			if tc.protocol == 6 {
				ch.Write(protocol.AppendHostMessage(nil, &protocol.Ready{}))
			} else {
				ch.CloseWrite()
				for _, m := range relayMessages(t, ch) {
					if text, _ := m[1].(string); len(text) > 1000 {
						t.Errorf("NOTIFY of %d bytes", len(text))
					}
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(log.String(), tc.logged) {
				if time.Now().After(deadline) {
					t.Fatalf("no %q in the log:\n%.2000s", tc.logged, log.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			for _, line := range strings.Split(log.String(), "\n") {
				if len(line) > 1000 {
					t.Errorf("a log line of %d bytes: %.200s...", len(line), line)
				}
			}
			if !strings.Contains(log.String(), "client=\"2.4.0AAA") || !strings.Contains(log.String(), "900005 bytes, cut]") {
				t.Errorf("the log does not show the start of the version and its length:\n%.2000s", log.String())
			}
		})
	}
}

// A drained server turns hosts away (the connection closes, tmate
// reconnects elsewhere) while guests still get in; asked to stop
// accepting, it refuses connections, which a load balancer's check sees.
func TestDrainTurnsHostsAway(t *testing.T) {
	for _, tc := range []struct {
		name          string
		stopAccepting bool
	}{
		{"socket kept open (socket activation)", false},
		{"listener closed", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, srv, log := startServer(t, Config{})
			if srv.Draining() {
				t.Fatal("draining before Drain")
			}
			srv.Drain(tc.stopAccepting)
			if !srv.Draining() {
				t.Fatal("not draining after Drain")
			}
			if tc.stopAccepting {
				if c, err := net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
					c.Close()
					t.Fatal("a drained server that stopped accepting took a connection")
				}
				return
			}
			c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: HostUser, HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second})
			if err == nil {
				_, _, err = c.OpenChannel("session", nil)
				c.Close()
			}
			if err == nil {
				t.Fatal("a host opened a channel on a drained server")
			}
			if !strings.Contains(log.String(), "host turned away: this node is being drained") {
				t.Errorf("no log line for the host turned away:\n%s", log.String())
			}
			guest, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: "abcdefghjkmnpqrstuvwxyzAB", HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second})
			if err != nil {
				t.Fatalf("a guest on a drained server: %v", err)
			}
			defer guest.Close()
			if _, _, err := guest.OpenChannel("session", nil); err != nil {
				t.Errorf("a guest's channel on a drained server: %v", err)
			}
			if srv.Registry().Len() != 0 {
				t.Error("a drained server holds a session")
			}
		})
	}
}
