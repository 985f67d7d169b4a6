package sshd

import (
	"bytes"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/crypto/ssh"

	"tmate-relay/service/protocol"
	"tmate-relay/service/session"
)

// dialResult is how one client's authentication went.
type dialResult struct {
	err    error
	banner string
}

// dialAs authenticates to addr as user offering keys (none: the "none"
// method only) and hangs up.
func dialAs(t *testing.T, addr, user string, keys ...ssh.Signer) dialResult {
	t.Helper()
	var res dialResult
	var mu sync.Mutex
	cfg := &ssh.ClientConfig{
		User:            user,
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         10 * time.Second,
		BannerCallback: func(msg string) error {
			mu.Lock()
			defer mu.Unlock()
			res.banner += msg
			return nil
		},
	}
	if len(keys) > 0 {
		cfg.Auth = []ssh.AuthMethod{ssh.PublicKeys(keys...)}
	}
	c, err := ssh.Dial("tcp", addr, cfg)
	if err == nil {
		c.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	res.err = err
	return res
}

func fingerprint(k ssh.Signer) string { return ssh.FingerprintSHA256(k.PublicKey()) }

func TestWhoMayHost(t *testing.T) {
	listed, other, third := testSigner(t, "ed25519"), testSigner(t, "ed25519"), testSigner(t, "ecdsa")
	const noKeyListed = "host refused: no key listed in [hosts] authorized_keys"
	for _, tc := range []struct {
		name     string
		file     string // authorized_keys content; "" no file configured, "-" a missing file
		offer    []ssh.Signer
		wantIn   bool
		wantLog  string   // the one refusal line's message
		wantInIt []string // what that line names
	}{
		{name: "anyone when no file is set", file: "", wantIn: true},
		{name: "anyone with a key when no file is set", file: "", offer: []ssh.Signer{other}, wantIn: true},
		{name: "a listed key", file: authorizedLine(listed) + "\n", offer: []ssh.Signer{listed}, wantIn: true},
		{name: "a listed key after unlisted ones", file: authorizedLine(listed) + "\n", offer: []ssh.Signer{other, third, listed}, wantIn: true},
		{name: "an unlisted key", file: authorizedLine(listed) + "\n", offer: []ssh.Signer{other},
			wantLog: noKeyListed, wantInIt: []string{fingerprint(other)}},
		{name: "every unlisted key is named", file: authorizedLine(listed) + "\n", offer: []ssh.Signer{other, third},
			wantLog: noKeyListed, wantInIt: []string{fingerprint(other), fingerprint(third)}},
		{name: "no key at all", file: authorizedLine(listed) + "\n",
			wantLog: noKeyListed, wantInIt: []string{"(offered: none)"}},
		{name: "a file that cannot be read", file: "-", offer: []ssh.Signer{listed},
			wantLog: "host refused: [hosts] authorized_keys cannot be read", wantInIt: []string{"no such file"}},
		{name: "a file with a bad line", file: authorizedLine(listed) + "\nssh-rsa garbage\n", offer: []ssh.Signer{listed},
			wantLog: "host refused: [hosts] authorized_keys cannot be read", wantInIt: []string{":2: "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cfg Config
			if tc.file != "" {
				cfg.HostAuthorizedKeys = filepath.Join(t.TempDir(), "hosts_authorized_keys")
				if tc.file != "-" {
					writeFile(t, cfg.HostAuthorizedKeys, tc.file)
				}
			}
			addr, _, log := startServer(t, cfg)
			res := dialAs(t, addr, HostUser, tc.offer...)
			if got := res.err == nil; got != tc.wantIn {
				t.Fatalf("host let in = %v (%v), want %v", got, res.err, tc.wantIn)
			}
			if tc.wantIn {
				if strings.Contains(log.String(), "host refused") {
					t.Errorf("an admitted host was logged as refused:\n%s", log)
				}
				return
			}
			if len(tc.offer) > 0 && res.banner != HostKeyRefusal {
				t.Errorf("banner %q, want the refusal", res.banner)
			}
			waitFor(t, "the refusal logged", func() bool { return strings.Contains(log.String(), tc.wantLog) })
			lines := logLines(log, "host refused")
			if len(lines) != 1 {
				t.Fatalf("%d refusal lines, want 1:\n%s", len(lines), log)
			}
			for _, want := range append(tc.wantInIt, tc.wantLog, "addr=127.0.0.1") {
				if !strings.Contains(lines[0], want) {
					t.Errorf("refusal line lacks %q: %s", want, lines[0])
				}
			}
		})
	}
}

// A refused host cannot read the banner (tmate shows "SSH keys not found"):
// when it comes back with the same last key it is let in once, to be told
// why in a NOTIFY, without becoming a host.
func TestARefusedHostIsLetInOnlyToBeToldWhy(t *testing.T) {
	listed, other, third := testSigner(t, "ed25519"), testSigner(t, "ed25519"), testSigner(t, "ed25519")
	path := filepath.Join(t.TempDir(), "hosts_authorized_keys")
	writeFile(t, path, authorizedLine(listed)+"\n")
	addr, srv, log := startServer(t, Config{HostAuthorizedKeys: path})

	// The relay remembers a refused connection's last key once it has
	// logged the refusal, which the client does not wait for.
	if res := dialAs(t, addr, HostUser, third, other); res.err == nil {
		t.Fatal("an unlisted host got in")
	}
	waitFor(t, "the refusal logged", func() bool { return len(logLines(log, "host refused")) == 1 })
	if res := dialAs(t, addr, HostUser, third); res.err == nil {
		t.Fatal("a host came back with a key it offered earlier, not its last, and got in")
	}
	waitFor(t, "the second refusal logged", func() bool { return len(logLines(log, "host refused")) == 2 })
	// The second refusal remembered third as the last key.
	ch, _ := hostChannelAs(t, addr, third)
	ch.Write(protocol.AppendHostMessage(nil, &protocol.Header{ProtocolVersion: 6, ClientVersion: "2.4.0"}))
	msgs := relayMessages(t, ch)
	if len(msgs) != 1 || len(msgs[0]) != 2 {
		t.Fatalf("relay sent %v, want one NOTIFY", msgs)
	}
	text, _ := msgs[0][1].(string)
	if !strings.Contains(text, HostKeyRefusal) || !strings.Contains(text, fingerprint(third)) {
		t.Fatalf("NOTIFY %q does not say why nor name the key", text)
	}
	if srv.Registry().Len() != 0 {
		t.Fatal("a refused host got a session")
	}
	waitFor(t, "the telling logged", func() bool { return strings.Contains(log.String(), "host told why it was refused") })
}

// hostChannelAs is hostChannel authenticating with key.
func hostChannelAs(t *testing.T, addr string, key ssh.Signer) (ssh.Channel, *ssh.Client) {
	t.Helper()
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: HostUser, Auth: []ssh.AuthMethod{ssh.PublicKeys(key)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ch, reqs, err := c.OpenChannel("session", nil)
	if err != nil {
		t.Fatal(err)
	}
	go ssh.DiscardRequests(reqs)
	if ok, err := ch.SendRequest("subsystem", true, ssh.Marshal(struct{ Name string }{"tmate"})); err != nil || !ok {
		t.Fatalf("subsystem tmate: %v %v", ok, err)
	}
	return ch, c
}

func TestHostRefusalsAreRememberedPerAddressForAMinute(t *testing.T) {
	k1, k2 := testSigner(t, "ed25519").PublicKey(), testSigner(t, "ed25519").PublicKey()
	tcp := func(ip string, port int) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: port} }
	for _, tc := range []struct {
		name  string
		after time.Duration
		addr  net.Addr
		key   ssh.PublicKey
		want  bool
	}{
		{"same address, another port, same key", 0, tcp("192.0.2.1", 2222), k1, true},
		{"a minute later", time.Minute, tcp("192.0.2.1", 2222), k1, true},
		{"over a minute later", time.Minute + time.Nanosecond, tcp("192.0.2.1", 2222), k1, false},
		{"another key", 0, tcp("192.0.2.1", 2222), k2, false},
		{"another address", 0, tcp("192.0.2.2", 1111), k1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var h hostRefusals
				h.remember(tcp("192.0.2.1", 1111), k1)
				time.Sleep(tc.after)
				if got := h.told(tc.addr, tc.key); got != tc.want {
					t.Fatalf("told = %v, want %v", got, tc.want)
				}
			})
		})
	}
	synctest.Test(t, func(t *testing.T) {
		var h hostRefusals
		h.remember(tcp("192.0.2.1", 1), k1)
		h.remember(tcp("192.0.2.1", 2), k2)
		if h.told(tcp("192.0.2.1", 3), k1) || !h.told(tcp("192.0.2.1", 3), k2) {
			t.Fatal("an address's last refused key is not the one remembered")
		}
		time.Sleep(time.Minute + time.Nanosecond)
		h.remember(tcp("192.0.2.9", 1), k1)
		if len(h.last) != 1 {
			t.Fatalf("%d addresses remembered, want the stale one forgotten", len(h.last))
		}
	})
}

// nopHost is a host connection that takes everything and shows nothing.
type nopHost struct{}

func (nopHost) Notify(string) error          { return nil }
func (nopHost) Resize(int, int) error        { return nil }
func (nopHost) SetEnv(string, string) error  { return nil }
func (nopHost) Ready() error                 { return nil }
func (nopHost) PaneKey(int, uint64) error    { return nil }
func (nopHost) ExecCmd(int, ...string) error { return nil }

// liveSession registers a session made with cfg whose host listed
// guestKeys (none: any guest with the token) and is ready.
func liveSession(t *testing.T, reg *session.Registry, cfg session.Config, guestKeys ...ssh.Signer) *session.Session {
	t.Helper()
	s := session.New(cfg, nopHost{})
	if err := reg.Add(s); err != nil {
		t.Fatal(err)
	}
	var msgs []protocol.HostMessage
	if len(guestKeys) > 0 {
		msgs = append(msgs, &protocol.ExecCmd{Argv: []string{"set-option", "-g", "tmate-authorized-keys", "/guests"}})
	}
	for _, k := range guestKeys {
		msgs = append(msgs, &protocol.ExecCmd{Argv: []string{"set-option", "tmate-set", "authorized_keys=" + authorizedLine(k)}})
	}
	for _, m := range append(msgs, &protocol.Ready{}) {
		if _, err := s.Apply(m); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestWhoMayJoin(t *testing.T) {
	alice, bob, carol := testSigner(t, "ed25519"), testSigner(t, "ecdsa"), testSigner(t, "ed25519")
	const refused = "guest refused: no key listed by the session's host"
	for _, tc := range []struct {
		name      string
		guestKeys []ssh.Signer // the host's list
		readOnly  bool         // join with the read-only token
		unknown   bool         // join with a token of no session
		offer     []ssh.Signer
		wantIn    bool
		wantInLog []string
	}{
		{name: "unrestricted, no key", wantIn: true},
		{name: "unrestricted, any key", offer: []ssh.Signer{carol}, wantIn: true},
		{name: "listed key", guestKeys: []ssh.Signer{alice, bob}, offer: []ssh.Signer{bob}, wantIn: true},
		{name: "listed key after an unlisted one", guestKeys: []ssh.Signer{alice}, offer: []ssh.Signer{carol, alice}, wantIn: true},
		{name: "listed key, read-only token", guestKeys: []ssh.Signer{alice}, readOnly: true, offer: []ssh.Signer{alice}, wantIn: true},
		{name: "unlisted key", guestKeys: []ssh.Signer{alice}, offer: []ssh.Signer{carol},
			wantInLog: []string{fingerprint(carol)}},
		{name: "unlisted key, read-only token", guestKeys: []ssh.Signer{alice}, readOnly: true, offer: []ssh.Signer{carol},
			wantInLog: []string{fingerprint(carol)}},
		{name: "no key", guestKeys: []ssh.Signer{alice}, wantInLog: []string{"(offered: none)"}},
		// Refused later, after the usual delay, with the usual message:
		// authentication tells nothing about tokens.
		{name: "unknown token", unknown: true, guestKeys: []ssh.Signer{alice}, wantIn: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, srv, log := startServer(t, Config{})
			sess := liveSession(t, srv.Registry(), session.Config{}, tc.guestKeys...)
			token := sess.Token()
			switch {
			case tc.readOnly:
				token = sess.ReadOnlyToken()
			case tc.unknown:
				token = "noSuchSession0123456789ab"
			}
			res := dialAs(t, addr, token, tc.offer...)
			if got := res.err == nil; got != tc.wantIn {
				t.Fatalf("guest let in = %v (%v), want %v", got, res.err, tc.wantIn)
			}
			if tc.wantIn {
				return
			}
			if len(tc.offer) > 0 && res.banner != GuestKeyRefusal {
				t.Errorf("banner %q, want the refusal", res.banner)
			}
			waitFor(t, "the refusal logged", func() bool { return strings.Contains(log.String(), refused) })
			lines := logLines(log, "refused")
			if len(lines) != 1 {
				t.Fatalf("%d refusal lines, want 1:\n%s", len(lines), log)
			}
			for _, want := range append(tc.wantInLog, "addr=127.0.0.1") {
				if !strings.Contains(lines[0], want) {
					t.Errorf("refusal line lacks %q: %s", want, lines[0])
				}
			}
			if strings.Contains(log.String(), sess.Token()) || strings.Contains(log.String(), sess.ReadOnlyToken()) {
				t.Errorf("the log holds a token:\n%s", log)
			}
			// A refusal counts as a failed attempt of the address.
			srv.limits.mu.Lock()
			st := srv.limits.addrs["127.0.0.1"]
			fails := 0
			if st != nil {
				fails = len(st.fails)
			}
			srv.limits.mu.Unlock()
			if fails != 1 {
				t.Errorf("%d failed attempts counted, want 1", fails)
			}
		})
	}
}

func TestANameInUseIsRefusedAndLoggedWithoutTheName(t *testing.T) {
	addr, srv, log := startServer(t, Config{})
	const name = "team-alpha-0123"
	setName := &protocol.ExecCmd{Argv: []string{"set-option", "-g", "tmate-session-name", name}}
	first := session.New(session.Config{}, nopHost{})
	if err := srv.Registry().Add(first); err != nil {
		t.Fatal(err)
	}
	for _, m := range []protocol.HostMessage{setName, &protocol.Ready{}} {
		if _, err := first.Apply(m); err != nil {
			t.Fatal(err)
		}
	}

	ch, _ := hostChannel(t, addr)
	var stream []byte
	for _, m := range []protocol.HostMessage{&protocol.Header{ProtocolVersion: 6, ClientVersion: "2.4.0"}, setName, &protocol.Ready{}} {
		stream = protocol.AppendHostMessage(stream, m)
	}
	ch.Write(stream)
	msgs := relayMessages(t, ch)
	if n := len(msgs); n == 0 || !strings.Contains(fmt.Sprint(msgs[n-1]), "tmate-session-name is in use") {
		t.Fatalf("the host was not told its name is in use: %v", msgs)
	}
	waitFor(t, "the refusal logged", func() bool { return len(logLines(log, "host refused")) > 0 })
	assertOneRefusal(t, log, "host refused", "tmate-session-name is in use", name, first.ReadOnlyToken())
}

// A refused guest key costs its address what a wrong token does: past the
// allowance the connection keeps the address's unauthenticated slot for the
// penalty, so probing key-restricted sessions is as slow as guessing tokens.
func TestARefusedGuestKeyHoldsItsAddressForThePenalty(t *testing.T) {
	alice, carol := testSigner(t, "ed25519"), testSigner(t, "ed25519")
	addr, srv, log := startServer(t, Config{TokenFailures: 1})
	sess := liveSession(t, srv.Registry(), session.Config{}, alice)
	// Two failures already: the next one waits a penalty of a second or more.
	srv.limits.fail("127.0.0.1")
	srv.limits.fail("127.0.0.1")
	if res := dialAs(t, addr, sess.Token(), carol); res.err == nil {
		t.Fatal("a guest with an unlisted key was let in")
	}
	pending := func() int {
		srv.limits.mu.Lock()
		defer srv.limits.mu.Unlock()
		if st := srv.limits.addrs["127.0.0.1"]; st != nil {
			return st.pending
		}
		return 0
	}
	waitFor(t, "the refusal logged", func() bool { return strings.Contains(log.String(), "guest refused") })
	if n := pending(); n != 1 {
		t.Fatalf("right after the refusal the address holds %d unauthenticated connections, want 1 (kept for the penalty)", n)
	}
	waitFor(t, "the slot given back after the penalty", func() bool { return pending() == 0 })
}

// A guest whose keys a session refuses and that tries keyboard-interactive
// next (as OpenSSH does) is let in to read why in its terminal: OpenSSH
// hides the banner below LogLevel INFO. Then, as sshd ends a session: the
// text, a question its terminal answers once it has drawn the text, and
// exit status 1.
func TestARefusedGuestIsToldWhyInItsTerminal(t *testing.T) {
	alice, carol := testSigner(t, "ed25519"), testSigner(t, "ed25519")
	addr, srv, log := startServer(t, Config{})
	sess := liveSession(t, srv.Registry(), session.Config{}, alice)
	asked := 0
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User:            sess.Token(),
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         10 * time.Second,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(carol), ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
			asked += len(questions)
			return make([]string, len(questions)), nil
		})},
	})
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
	s.Shell()
	err = s.Wait()
	if want := "\r\n" + strings.TrimSuffix(GuestKeyRefusal, "\r\n") + "\r\n" + cursorQuery; out.String() != want {
		t.Errorf("guest read %q, want %q", out.String(), want)
	}
	if ee, ok := err.(*ssh.ExitError); !ok || ee.ExitStatus() != 1 {
		t.Errorf("exit: %v, want status 1", err)
	}
	if asked != 0 {
		t.Errorf("the guest was asked %d questions", asked)
	}
	waitFor(t, "the refusal logged", func() bool { return strings.Contains(log.String(), "guest refused") })
	if lines := logLines(log, "refused"); len(lines) != 1 || !strings.Contains(lines[0], "no key listed by the session's host (offered: "+fingerprint(carol)+")") {
		t.Errorf("refusal lines:\n%s", log)
	}
	srv.limits.mu.Lock()
	fails := len(srv.limits.addrs["127.0.0.1"].fails)
	srv.limits.mu.Unlock()
	if fails != 1 {
		t.Errorf("%d failed attempts counted, want 1", fails)
	}

	// Hosts and guests of open sessions never get in this way.
	open := liveSession(t, srv.Registry(), session.Config{})
	for _, user := range []string{HostUser, open.Token()} {
		_, err := srv.keyboardInteractiveAuth(connMeta{user}, nil)
		if err == nil {
			t.Errorf("%s let in by keyboard-interactive", user)
		}
	}
}

// connMeta is the ssh.ConnMetadata of a user connecting from loopback.
type connMeta struct{ user string }

func (m connMeta) User() string          { return m.user }
func (m connMeta) SessionID() []byte     { return nil }
func (m connMeta) ClientVersion() []byte { return nil }
func (m connMeta) ServerVersion() []byte { return nil }
func (m connMeta) RemoteAddr() net.Addr  { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (m connMeta) LocalAddr() net.Addr   { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2} }
