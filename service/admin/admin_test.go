package admin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tmate-relay/service/audit"
	"tmate-relay/service/session"
)

// host records what a session sends its host.
type host struct {
	mu       sync.Mutex
	notified []string
}

func (h *host) Notify(msg string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.notified = append(h.notified, msg)
	return nil
}
func (h *host) Resize(sx, sy int) error                    { return nil }
func (h *host) SetEnv(name, value string) error            { return nil }
func (h *host) Ready() error                               { return nil }
func (h *host) PaneKey(paneID int, key uint64) error       { return nil }
func (h *host) ExecCmd(clientID int, argv ...string) error { return nil }

func (h *host) saw(msg string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.notified {
		if m == msg {
			return true
		}
	}
	return false
}

// relay is an admin socket serving a registry with one session, whose
// guests are an ssh read-write one and a web read-only one.
type relay struct {
	path   string
	reg    *session.Registry
	sess   *session.Session
	host   *host
	guests []*session.Guest
	log    *bytes.Buffer
	trail  *audit.Trail
}

func newRelay(t *testing.T, auth *Authorizer) *relay {
	t.Helper()
	return newRelayWith(t, auth, nil)
}

// newRelayWith is newRelay whose relay drains with d (nil: a relay on
// its own).
func newRelayWith(t *testing.T, auth *Authorizer, d Drainer) *relay {
	t.Helper()
	dir := t.TempDir()
	r := &relay{path: filepath.Join(dir, "admin.sock"), reg: session.NewRegistry(0), host: &host{}, log: &bytes.Buffer{}}
	r.sess = session.New(session.Config{}, r.host)
	if err := r.reg.Add(r.sess); err != nil {
		t.Fatal(err)
	}
	for _, g := range []struct {
		transport session.Transport
		ro        bool
	}{{session.TransportSSH, false}, {session.TransportWeb, true}} {
		gu, err := r.sess.AttachVia(g.transport, g.ro, "192.0.2.7:4000", 80, 24)
		if err != nil {
			t.Fatal(err)
		}
		r.guests = append(r.guests, gu)
	}
	l, err := Listen(r.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, r.log}, nil))
	trail, err := audit.New(audit.Options{Stderr: lockedWriter{&mu, r.log}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { trail.Close() })
	r.trail = trail
	go (&Server{Registry: r.reg, Auth: auth, Log: log, Audit: trail, Drainer: d}).Serve(l)
	return r
}

// auditLog is what the audit trail recorded so far.
func (r *relay) auditLog() string {
	r.trail.Flush()
	return r.log.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(b)
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	case <-time.After(5 * time.Second):
		return false
	}
}

func TestRequests(t *testing.T) {
	r := newRelay(t, NewAuthorizer())
	id := r.sess.ID()

	resp, err := Do(r.path, Request{Action: ActionSessions})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Sessions) != 1 {
		t.Fatalf("sessions: %+v, want one", resp.Sessions)
	}
	s := resp.Sessions[0]
	want := session.GuestCounts{SSHReadWrite: 1, WebReadOnly: 1}
	if s.ID != id || s.Guests != want || !s.HostConnected {
		t.Errorf("session %+v, want id %s, guests %+v, host connected", s, id, want)
	}

	resp, err = Do(r.path, Request{Action: ActionGuests, Session: id})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Guests) != 2 || resp.Guests[0].Transport != "ssh" || resp.Guests[1].Transport != "web" || !resp.Guests[1].ReadOnly {
		t.Errorf("guests %+v, want an ssh rw and a web ro guest", resp.Guests)
	}

	if _, err := Do(r.path, Request{Action: ActionSay, Session: id, Text: "back\tin 5\x1b[2J"}); err != nil {
		t.Fatal(err)
	}
	if !r.host.saw(session.SayPrefix + "back in 5[2J") {
		t.Errorf("host was sent %q, want the message with its controls removed", r.host.notified)
	}

	if _, err := Do(r.path, Request{Action: ActionKick, Session: id, Guest: r.guests[1].ClientID}); err != nil {
		t.Fatal(err)
	}
	if !closed(r.guests[1].Kicked()) || r.guests[1].KickReason() != session.GuestKickedText {
		t.Errorf("guest %d not kicked", r.guests[1].ClientID)
	}
	select {
	case <-r.guests[0].Kicked():
		t.Error("the other guest was kicked too")
	default:
	}

	if _, err := Do(r.path, Request{Action: ActionKick, Session: id}); err != nil {
		t.Fatal(err)
	}
	if !closed(r.sess.Done()) || r.sess.EndReason() != session.KickedText || !r.host.saw(session.KickedText) {
		t.Errorf("session not ended with %q (ended: %q, host told %q)", session.KickedText, r.sess.EndReason(), r.host.notified)
	}
	if r.reg.Len() != 0 {
		t.Errorf("%d sessions left after the kick", r.reg.Len())
	}
	log := r.auditLog()
	for _, line := range []string{"event=admin", "action=sessions", "action=guests", "action=say", "text=\"back\\tin 5\\x1b[2J\"",
		"event=admin session_id=" + id + " session_name=0 guest=2 action=kick", "event=admin session_id=" + id + " session_name=0 action=kick", "result=ok"} {
		if !strings.Contains(log, line) {
			t.Errorf("audit log lacks %q:\n%s", line, log)
		}
	}
}

func TestRequestErrors(t *testing.T) {
	r := newRelay(t, NewAuthorizer())
	id := r.sess.ID()
	for _, tc := range []struct {
		req  Request
		want string
	}{
		{Request{Action: "reboot"}, `unknown action "reboot"`},
		{Request{Action: ActionKick, Session: "0123456789abcdef"}, `no live session has the id "0123456789abcdef"`},
		{Request{Action: ActionKick, Session: id, Guest: 99}, "has no guest 99"},
		{Request{Action: ActionSay, Session: id, Text: " \n "}, "the message is empty"},
		{Request{Action: ActionSay, Session: id, Text: strings.Repeat("x", 501)}, "longer than 500 bytes"},
	} {
		_, err := Do(r.path, tc.req)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.req, err, tc.want)
		}
	}
	if r.sess.EndReason() != "" || r.reg.Len() != 1 {
		t.Error("a refused request changed the session")
	}
}

func TestClientErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Do(filepath.Join(dir, "none.sock"), Request{Action: ActionSessions})
	if err == nil || !strings.Contains(err.Error(), "no relay listens on") {
		t.Errorf("missing socket: %v", err)
	}
}

func TestAuthorizer(t *testing.T) {
	a := &Authorizer{Group: Group, SelfUID: 998, Unmapped: -1,
		lookupGroup: func(string) (string, error) { return "990", nil },
		groupIDs: func(uid uint32) ([]string, error) {
			if uid == 1001 {
				return []string{"1001", "990"}, nil
			}
			return []string{fmt.Sprint(uid)}, nil
		},
	}
	noGroup := *a
	noGroup.lookupGroup = func(string) (string, error) { return "", errors.New("unknown group") }
	namespaced := *a
	namespaced.Unmapped = 65534
	for _, tc := range []struct {
		name string
		a    *Authorizer
		cred Cred
		ok   bool
	}{
		{"root", a, Cred{UID: 0, GID: 0}, true},
		{"the relay's own user", a, Cred{UID: 998, GID: 998}, true},
		{"primary group tmate-relay-admin", a, Cred{UID: 1002, GID: 990}, true},
		{"member of tmate-relay-admin", a, Cred{UID: 1001, GID: 1001}, true},
		{"anybody else", a, Cred{UID: 1000, GID: 1000}, false},
		{"no group tmate-relay-admin", &noGroup, Cred{UID: 1001, GID: 1001}, false},
		{"root without the group", &noGroup, Cred{UID: 0, GID: 0}, true},
		{"nobody outside a user namespace", a, Cred{UID: 65534, GID: 65534}, false},
		{"unmapped in PrivateUsers=", &namespaced, Cred{UID: 65534, GID: 65534}, true},
	} {
		err := tc.a.Check(tc.cred)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want allowed %v", tc.name, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "permission denied: uid") {
			t.Errorf("%s: error %q does not say why", tc.name, err)
		}
	}
}

func TestIdentityMap(t *testing.T) {
	for m, want := range map[string]bool{
		"         0          0 4294967295\n": true,
		"0 0 1\n998 998 1\n":                 false,
		"":                                   false,
	} {
		if identityMap(m) != want {
			t.Errorf("identityMap(%q) != %v", m, want)
		}
	}
}

// TestRefusedPeer runs a client as another user (uid 65534) that reaches
// the socket (mode 0666 here) but whom SO_PEERCRED tells the relay is not
// allowed: it reads why and the session carries on untouched.
func TestRefusedPeer(t *testing.T) {
	if os.Getuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root to run a client as another user")
		}
		t.Skip("needs root to run a client as another user")
	}
	r := newRelay(t, &Authorizer{Group: Group, SelfUID: 0, Unmapped: -1,
		lookupGroup: func(string) (string, error) { return "990", nil },
		groupIDs:    func(uint32) ([]string, error) { return nil, nil }})
	// The child runs this test binary, copied where uid 65534 may run it.
	dir := filepath.Dir(r.path)
	for _, d := range []string{dir, filepath.Dir(dir)} {
		os.Chmod(d, 0o755)
	}
	os.Chmod(r.path, 0o666)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "admin.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestClientProcess$")
	cmd.Env = append(os.Environ(), "ADMIN_TEST_SOCKET="+r.path, "ADMIN_TEST_SESSION="+r.sess.ID())
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "permission denied: uid 65534 is not root and not a member of group tmate-relay-admin") {
		t.Errorf("the refused client read:\n%s", out)
	}
	if r.sess.EndReason() != "" || r.reg.Len() != 1 {
		t.Error("a refused caller ended the session")
	}
	if log := r.auditLog(); !strings.Contains(log, "session_id="+r.sess.ID()) || !strings.Contains(log, "caller_uid=65534 caller_gid=65534") || !strings.Contains(log, "result=refused") {
		t.Errorf("no audit line for the refusal:\n%s", log)
	}
}

// TestClientProcess is the client TestRefusedPeer runs as another user.
func TestClientProcess(t *testing.T) {
	path := os.Getenv("ADMIN_TEST_SOCKET")
	if path == "" {
		return // only TestRefusedPeer's child process is the client
	}
	_, err := Do(path, Request{Action: ActionKick, Session: os.Getenv("ADMIN_TEST_SESSION")})
	fmt.Println("client error:", err)
}

func TestListenKeepsALiveSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.sock")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "another relay is listening") {
		t.Errorf("second Listen: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m&0o007 != 0 {
		t.Errorf("socket mode %v is open to others", m)
	}
}

// drainer reports two progress lines, then what the request's timeout
// allows: done, or what is left.
type drainer struct{ slow bool }

func (d drainer) Drain(ctx context.Context, progress func(string)) (string, error) {
	progress("leaving the cluster")
	progress("2 sessions ended")
	if d.slow {
		<-ctx.Done()
		return "", errors.New("still holds 1 session")
	}
	return "drained", nil
}

// A drain streams its progress to the caller, then its result; it is
// audited as kick and say are. A relay on its own refuses it, and a
// timeout out of bounds is refused.
func TestDrainRequest(t *testing.T) {
	for _, tc := range []struct {
		name      string
		d         Drainer
		timeout   int
		progress  []string
		done, err string
		audit     string
	}{
		{"a relay on its own", nil, 0, nil, "", NotClusteredMessage, "result=failed"},
		{"drained", drainer{}, 5, []string{"leaving the cluster", "2 sessions ended"}, "drained", "", "result=ok"},
		{"timed out", drainer{slow: true}, 1, []string{"leaving the cluster", "2 sessions ended"}, "", "still holds 1 session", "result=failed"},
		{"timeout out of bounds", drainer{}, -3, nil, "", "a drain's timeout must be between", "result=failed"},
		// Seconds whose nanoseconds wrap around to 0.29 s.
		{"timeout beyond a duration", drainer{}, 18446744074, nil, "", "a drain's timeout must be between", "result=failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRelayWith(t, NewAuthorizer(), tc.d)
			var progress []string
			resp, err := DoStreaming(r.path, Request{Action: ActionDrain, TimeoutSeconds: tc.timeout}, time.Minute, func(line string) {
				progress = append(progress, line)
			})
			if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) || tc.err == "" && err != nil {
				t.Errorf("error %v, want %q", err, tc.err)
			}
			if resp.Done != tc.done || strings.Join(progress, "|") != strings.Join(tc.progress, "|") {
				t.Errorf("progress %q, done %q; want %q, %q", progress, resp.Done, tc.progress, tc.done)
			}
			if log := r.auditLog(); !strings.Contains(log, "event=admin action=drain caller_uid=") || !strings.Contains(log, tc.audit) {
				t.Errorf("audit log lacks %q:\n%s", tc.audit, log)
			}
		})
	}
}
