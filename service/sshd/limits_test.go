package sshd

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/crypto/ssh"

	"tmate-relay/service/protocol"
	"tmate-relay/service/session"
)

// Inside a synctest bubble time.Now is a fake clock that only moves when
// the test sleeps, so the limits' windows are checked to the nanosecond.

func TestFailedAttemptsSlowDownPerAddress(t *testing.T) {
	type attempt struct {
		after       time.Duration // fake time since the previous attempt
		addr        string
		wantPenalty time.Duration // on top of the 50 to 200 ms refusal delay
	}
	const a, b = "192.0.2.1", "2001:db8::1"
	for _, tc := range []struct {
		name     string
		failures int
		window   time.Duration
		attempts []attempt
	}{
		{"allowance then doubling", 3, time.Minute, []attempt{
			{0, a, 0}, {0, a, 0}, {0, a, 0},
			{0, a, 250 * time.Millisecond}, {0, a, 500 * time.Millisecond},
			{0, a, time.Second}, {0, a, 2 * time.Second},
		}},
		{"addresses are counted apart", 1, time.Minute, []attempt{
			{0, a, 0}, {0, a, 250 * time.Millisecond},
			{0, b, 0}, {0, b, 250 * time.Millisecond},
			{0, a, 500 * time.Millisecond},
		}},
		{"penalty stops at its maximum", 1, time.Hour, []attempt{
			{0, a, 0}, {0, a, 250 * time.Millisecond}, {0, a, 500 * time.Millisecond},
			{0, a, time.Second}, {0, a, 2 * time.Second}, {0, a, 4 * time.Second},
			{0, a, 8 * time.Second}, {0, a, maxPenalty}, {0, a, maxPenalty},
			{0, a, maxPenalty}, {0, a, maxPenalty}, {0, a, maxPenalty},
			{0, a, maxPenalty}, {0, a, maxPenalty}, {0, a, maxPenalty},
		}},
		{"an IPv6 /64 counts as one address", 1, time.Minute, []attempt{
			{0, "2001:db8:1:2::1", 0}, {0, "2001:db8:1:2:ffff::9", 250 * time.Millisecond},
			{0, "2001:db8:1:3::1", 0},
		}},
		{"IPv4 written as IPv6 counts as itself", 1, time.Minute, []attempt{
			{0, a, 0}, {0, "::ffff:" + a, 250 * time.Millisecond},
		}},
		{"failures older than the window are forgotten", 2, time.Minute, []attempt{
			{0, a, 0}, {0, a, 0}, {0, a, 250 * time.Millisecond},
			{time.Minute + time.Nanosecond, a, 0},
			{0, a, 0}, {0, a, 250 * time.Millisecond},
		}},
		{"the window slides", 2, time.Minute, []attempt{
			{0, a, 0},
			{30 * time.Second, a, 0},
			{20 * time.Second, a, 250 * time.Millisecond}, // 3 within 50 s
			// At 61 s the first has left the window: 3 remain.
			{11 * time.Second, a, 250 * time.Millisecond},
			// At exactly 60 s after the second, it still counts.
			{29 * time.Second, a, 500 * time.Millisecond},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newAddrLimits(tc.failures, tc.window, Startups{Start: 10}, 0, 0)
				for i, at := range tc.attempts {
					time.Sleep(at.after)
					d := l.fail(at.addr)
					lo, hi := at.wantPenalty+50*time.Millisecond, at.wantPenalty+200*time.Millisecond
					if d < lo || d > hi {
						t.Fatalf("attempt %d from %s waits %v, want %v plus 50 to 200 ms", i+1, at.addr, d, at.wantPenalty)
					}
				}
			})
		})
	}
}

func TestUnauthenticatedConnectionsAreCappedPerAddress(t *testing.T) {
	const a, b = "192.0.2.1", "192.0.2.2"
	type op struct {
		open bool // false: done
		addr string
		want bool // for open: admitted
	}
	for _, tc := range []struct {
		name string
		cap  int
		ops  []op
	}{
		{"up to the cap", 2, []op{
			{true, a, true}, {true, a, true}, {true, a, false}, {true, a, false},
		}},
		{"other addresses are not affected", 1, []op{
			{true, a, true}, {true, a, false}, {true, b, true}, {true, b, false},
		}},
		{"a finished connection frees its place", 2, []op{
			{true, a, true}, {true, a, true}, {true, a, false},
			{false, a, false}, {true, a, true}, {true, a, false},
			{false, a, false}, {false, a, false}, {true, a, true}, {true, a, true},
		}},
		{"an IPv6 /64 counts as one address", 2, []op{
			{true, "2001:db8::1", true}, {true, "2001:db8::2", true}, {true, "2001:db8::ffff:1", false},
			{true, "2001:db8:0:1::1", true},
			{false, "2001:db8::1", false}, {true, "2001:db8::3", true},
		}},
		{"a refused connection takes no place", 1, []op{
			{true, a, true}, {true, a, false}, {true, a, false},
			{false, a, false}, {true, a, true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newAddrLimits(10, time.Minute, Startups{Start: tc.cap}, 0, 0)
			opened := map[string]int{}
			for i, o := range tc.ops {
				if !o.open {
					l.done(o.addr)
					opened[o.addr]--
					continue
				}
				if got := l.try(o.addr); got != o.want {
					t.Fatalf("op %d: open(%s) = %v, want %v", i+1, o.addr, got, o.want)
				}
				if o.want {
					opened[o.addr]++
				}
			}
			for addr, n := range opened {
				for range n {
					l.done(addr)
				}
			}
			if len(l.addrs) != 0 {
				t.Fatalf("addresses with nothing open and no failures are still kept: %v", l.addrs)
			}
		})
	}
}

func TestLimitKey(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::9", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::9", "2001:db8:1:3::/64"},
		{"::1", "::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"not an address", "not an address"},
		{"@", "@"},
	} {
		if got := limitKey(tc.addr); got != tc.want {
			t.Errorf("limitKey(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

func TestFailuresOutliveTheirConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newAddrLimits(1, time.Minute, Startups{Start: 10}, 0, 0)
		const a = "192.0.2.1"
		for range 2 {
			if !l.try(a) {
				t.Fatal("refused under the cap")
			}
			l.fail(a)
			l.done(a)
		}
		// A new connection from the same address is still slowed.
		if d := l.fail(a); d < 500*time.Millisecond {
			t.Fatalf("third failure waits %v: the earlier ones were forgotten when their connections closed", d)
		}
	})
}

func TestIdleAddressesAreSweptWhenManyAreKnown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newAddrLimits(10, time.Minute, Startups{Start: 10}, 0, 0)
		for i := range 4096 {
			l.fail(fmt.Sprintf("10.0.%d.%d", i/256, i%256))
		}
		l.try("192.0.2.1") // still open at the sweep: kept
		time.Sleep(time.Minute + time.Nanosecond)
		l.fail("192.0.2.2")
		if len(l.addrs) != 2 {
			t.Fatalf("%d addresses kept after the sweep, want the open one and the new one", len(l.addrs))
		}
	})
}

// sshBanner reads what the relay sends first on a fresh TCP connection: its
// SSH version line, or nothing when it hangs up at once.
func sshBanner(t *testing.T, addr string) (net.Conn, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64)
	n, _ := io.ReadAtLeast(c, buf, len("SSH-2.0-"))
	return c, string(buf[:n])
}

func TestServerCapsUnauthenticatedConnectionsAndLogsEachRefusal(t *testing.T) {
	addr, srv, log := startServer(t, Config{MaxStartups: Startups{Start: 2}})
	held := make([]net.Conn, 2)
	for i := range held {
		c, banner := sshBanner(t, addr)
		if !strings.HasPrefix(banner, "SSH-2.0-") {
			t.Fatalf("connection %d under the cap got %q", i+1, banner)
		}
		held[i] = c
	}
	for i := range 2 {
		if _, banner := sshBanner(t, addr); banner != "" {
			t.Fatalf("connection %d over the cap got %q, want it closed at once", i+1, banner)
		}
	}
	const refusal = "connection refused: too many unauthenticated connections from this address"
	waitFor(t, "two refusals logged", func() bool { return strings.Count(log.String(), refusal) == 2 })
	for _, line := range logLines(log, refusal) {
		if !strings.Contains(line, "addr=127.0.0.1") {
			t.Errorf("refusal without the address: %s", line)
		}
	}

	held[0].Close()
	waitFor(t, "the closed connection to free its place", func() bool {
		srv.limits.mu.Lock()
		defer srv.limits.mu.Unlock()
		st := srv.limits.addrs["127.0.0.1"]
		return st != nil && st.pending == 1
	})
	if _, banner := sshBanner(t, addr); !strings.HasPrefix(banner, "SSH-2.0-") {
		t.Fatalf("connection after one closed got %q", banner)
	}
}

func TestWrongTokensAreSlowedAndLoggedWithoutTheToken(t *testing.T) {
	addr, srv, log := startServer(t, Config{TokenFailures: 2})
	tokens := []string{"guessOne0123456789abcdefg", "guessTwo0123456789abcdefg", "guessThree23456789abcdefg"}
	for _, tok := range tokens {
		out, err := guestShell(t, addr, tok, nil)
		if !strings.Contains(out, InvalidTokenMessage) {
			t.Fatalf("guest %s read %q (%v)", tok, out, err)
		}
	}
	const refusal = "guest refused: invalid or expired token"
	waitFor(t, "every refusal logged", func() bool { return strings.Count(log.String(), refusal) == len(tokens) })
	for _, line := range logLines(log, refusal) {
		if !strings.Contains(line, "addr=127.0.0.1") {
			t.Errorf("refusal without the address: %s", line)
		}
	}
	for _, tok := range tokens {
		if strings.Contains(log.String(), tok) {
			t.Errorf("the log holds the token %s:\n%s", tok, log)
		}
	}
	// The third wrong token is beyond the allowance: the next one from
	// this address waits the doubled penalty.
	if d := srv.limits.fail("127.0.0.1"); d < 500*time.Millisecond {
		t.Fatalf("the fourth failure waits %v: the wrong tokens were not counted", d)
	}
}

// guestShell joins as a guest with user name token (offering keys, if
// any) and returns what it read until the relay closed the session.
func guestShell(t *testing.T, addr, token string, keys []ssh.Signer) (string, error) {
	t.Helper()
	cfg := &ssh.ClientConfig{User: token, HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second}
	if keys != nil {
		cfg.Auth = []ssh.AuthMethod{ssh.PublicKeys(keys...)}
	}
	c, err := ssh.Dial("tcp", addr, cfg)
	if err != nil {
		return "", err
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	var out strings.Builder
	s.Stdout = &out
	s.RequestPty("xterm", 24, 80, nil)
	if err := s.Shell(); err != nil {
		return "", err
	}
	err = s.Wait()
	return out.String(), err
}

// logLines returns the log's lines that contain msg.
func logLines(log *syncWriter, msg string) []string {
	var out []string
	for _, line := range strings.Split(log.String(), "\n") {
		if strings.Contains(line, msg) {
			out = append(out, line)
		}
	}
	return out
}

// waitFor polls cond, which the server makes true from another goroutine,
// failing the test if it never does.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

func TestCapsAreToldAndLoggedOnce(t *testing.T) {
	t.Run("sessions", func(t *testing.T) {
		reg := session.NewRegistry(1)
		addr, _, log := startServer(t, Config{Registry: reg})
		first := liveSession(t, reg, session.Config{})
		ch, _ := hostChannel(t, addr)
		ch.Write(protocol.AppendHostMessage(nil, &protocol.Header{ProtocolVersion: 6, ClientVersion: "2.4.0"}))
		msgs := relayMessages(t, ch)
		if len(msgs) != 1 || len(msgs[0]) != 2 || msgs[0][1] != "Relay: "+session.ErrTooManySessions.Error() {
			t.Fatalf("relay sent %v, want one NOTIFY of the session limit", msgs)
		}
		waitFor(t, "the refusal logged", func() bool { return len(logLines(log, "host refused")) > 0 })
		assertOneRefusal(t, log, "host refused", session.ErrTooManySessions.Error(), first.Token())
	})

	t.Run("guests per session", func(t *testing.T) {
		addr, srv, log := startServer(t, Config{})
		sess := liveSession(t, srv.Registry(), session.Config{MaxGuests: 1})
		c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: sess.Token(), HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		first, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		// Its input stays open: at its end the relay would see it leave.
		stdin, _ := io.Pipe()
		first.Stdin = stdin
		first.RequestPty("xterm", 24, 80, nil)
		first.Shell()
		waitFor(t, "the first guest to join", func() bool { return strings.Contains(log.String(), "guest joined") })

		out, err := guestShell(t, addr, sess.Token(), nil)
		if want := "Relay: " + session.ErrTooManyGuests.Error(); !strings.Contains(out, want) {
			t.Fatalf("the guest over the cap read %q, want %q", out, want)
		}
		if ee, ok := err.(*ssh.ExitError); !ok || ee.ExitStatus() != 1 {
			t.Fatalf("exit: %v, want status 1", err)
		}
		waitFor(t, "the refusal logged", func() bool { return len(logLines(log, "guest refused")) > 0 })
		assertOneRefusal(t, log, "guest refused", session.ErrTooManyGuests.Error(), sess.Token(), sess.ReadOnlyToken())
	})
}

// assertOneRefusal checks that the log has one line with msg, saying why
// and from which address, and no token anywhere.
func assertOneRefusal(t *testing.T, log *syncWriter, msg, why string, tokens ...string) {
	t.Helper()
	lines := logLines(log, msg)
	if len(lines) != 1 {
		t.Fatalf("%d lines %q, want 1:\n%s", len(lines), msg, log)
	}
	for _, want := range []string{why, "addr=127.0.0.1"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("refusal line lacks %q: %s", want, lines[0])
		}
	}
	for _, tok := range tokens {
		if strings.Contains(log.String(), tok) {
			t.Errorf("the log holds the token %s:\n%s", tok, log)
		}
	}
}

// A connection stops counting against its address once its token names a
// live session (a guest, before it opens its terminal) or it is
// authenticated (a host); a guest with an unknown token counts until it
// is gone.
func TestConnectionsInASessionNoLongerCount(t *testing.T) {
	for _, tc := range []struct {
		name      string
		user      string // "": a guest with the session's token
		shell     bool   // the guest asks for its shell (and joins)
		wantFreed bool
	}{
		{"a guest that joined", "", true, true},
		{"a guest with the token, before its shell", "", false, true},
		{"a guest with an unknown token", "abcdefghijklmnopqrstuvwxy", false, false},
		{"an authenticated host", HostUser, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, srv, log := startServer(t, Config{MaxStartups: Startups{Start: 1}})
			sess := liveSession(t, srv.Registry(), session.Config{})
			user := orDefault(tc.user, sess.Token())
			c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: user, HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if tc.shell {
				s, err := c.NewSession()
				if err != nil {
					t.Fatal(err)
				}
				stdin, _ := io.Pipe()
				s.Stdin = stdin
				s.RequestPty("xterm", 24, 80, nil)
				s.Shell()
				waitFor(t, "the guest to join", func() bool { return strings.Contains(log.String(), "guest joined") })
			} else {
				// The handshake is over for the client once Dial
				// returns; the relay may not have counted it out yet.
				waitFor(t, "the relay to finish the handshake", func() bool {
					srv.mu.Lock()
					defer srv.mu.Unlock()
					return len(srv.conns) == 1
				})
			}
			_, banner := sshBanner(t, addr)
			if freed := strings.HasPrefix(banner, "SSH-2.0-"); freed != tc.wantFreed {
				t.Fatalf("another connection admitted = %v (%q), want %v", freed, banner, tc.wantFreed)
			}
		})
	}
}

// orDefault is want, or def when want is empty.
func orDefault(want, def string) string {
	if want == "" {
		return def
	}
	return want
}

// The web side's unknown tokens (RefuseToken) and SSH guests' count
// together per address: guessing over both doors is no faster than over
// one, and past the allowance each refusal waits longer.
func TestTokenRefusalsCountAcrossDoors(t *testing.T) {
	addr, srv, _ := startServer(t, Config{TokenFailures: 2})
	if d := srv.RefuseToken("127.0.0.1"); d > 200*time.Millisecond {
		t.Errorf("first web refusal waits %v, want the random 50 to 200 ms only", d)
	}
	guestShell(t, addr, "neverAtokenB23456789abcdefgh", nil)
	if d := srv.RefuseToken("127.0.0.1"); d < 250*time.Millisecond {
		t.Errorf("a web refusal after two failures (one over SSH) waits %v, want the penalty", d)
	}
	srv.limits.mu.Lock()
	defer srv.limits.mu.Unlock()
	if st := srv.limits.addrs["127.0.0.1"]; st == nil || len(st.fails) != 3 {
		t.Fatalf("failures counted: %+v, want 3", st)
	}
}

// try opens a connection from addr without waiting on a cancel; true:
// admitted.
func (l *addrLimits) try(addr string) bool { return l.open(addr, nil) == admitted }
