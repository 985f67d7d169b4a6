package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// statusLine is the bottom row of a guest's terminal.
func statusLine(tm *term) string {
	lines := strings.Split(strings.TrimRight(tm.screen(), "\n"), "\n")
	return lines[len(lines)-1]
}

func TestHostReconnectsAfterConnectionCut(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	for _, tc := range []struct {
		name string
		// keyed: only listed hosts may host, so the host authenticates
		// with its key and its reconnection data is bound to it.
		keyed bool
	}{
		{"anyone may host", false},
		{"listed host keys", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			relayConf, hostConf := "", ""
			if tc.keyed {
				key, pub := newKey(t, "host")
				relayConf = fmt.Sprintf("[hosts]\nauthorized_keys = %q\n", writeLines(t, "hosts_keys", pub))
				hostConf = fmt.Sprintf("set -g tmate-identity %q\n", key)
			}
			r := startRelay(t, relayConf)
			line := startCutProxy(t, fmt.Sprintf("127.0.0.1:%d", r.port))
			h := spawnHost(t, r, hostConf+fmt.Sprintf("set -g tmate-server-port %d\n", line.port))
			h.waitReady(20 * time.Second)
			testReconnectAfterCut(t, r, line, h)
		})
	}
}

func testReconnectAfterCut(t *testing.T, r *relay, line *cutProxy, h *host) {
	sshCmd := h.display("#{tmate_ssh}")
	token := tokenOf(t, sshCmd)
	g := sshGuest(t, r, token, 80, 25)
	h.run("send-keys", "echo before-cut", "Enter")
	g.waitFor("before-cut", 10*time.Second)

	if n := line.cut(true); n != 1 {
		t.Fatalf("cut %d connections, want the host's one", n)
	}
	g.waitFor("waiting for it to reconnect", 10*time.Second)
	if g.exited() {
		t.Fatalf("the guest was disconnected while the host is away:\n%s", g.screen())
	}
	// A guest with the token joins while the host is away and sees the
	// last screen.
	late := sshGuest(t, r, token, 80, 25)
	late.waitFor("before-cut", 10*time.Second)
	if s := statusLine(late); !strings.Contains(s, "waiting for it to reconnect") {
		t.Fatalf("the late guest's status line is %q", s)
	}

	line.restore() // tmate retries every 2 s
	h.waitMessage("Reconnected", 20*time.Second)
	if got := h.display("#{tmate_ssh}"); got != sshCmd {
		t.Fatalf("after reconnecting the host shows %q, want %q", got, sshCmd)
	}
	hintsShown(t, h, sshCmd, 0)
	eventually(t, 10*time.Second, "the away message is gone", func() (bool, string) {
		s := g.screen()
		return !strings.Contains(s, "waiting for it to reconnect"), s
	})
	h.run("send-keys", "echo after-reconnect", "Enter")
	for _, tm := range []*term{g, late} {
		tm.waitFor("after-reconnect", 10*time.Second)
	}
	// The same ssh command works again, and a guest's keys reach the host.
	again := sshGuest(t, r, token, 80, 25)
	again.waitFor("after-reconnect", 10*time.Second)
	again.send("echo typed-by-guest\r")
	eventually(t, 10*time.Second, "the guest's command runs on the host", func() (bool, string) {
		s := h.capture()
		return strings.Contains(s, "\ntyped-by-guest"), s
	})
	if g.exited() || late.exited() {
		t.Fatal("a guest was disconnected by the reconnection")
	}
	if n := strings.Count(r.log.String(), "host lost its connection"); n != 1 {
		t.Fatalf("the relay logged the host's loss %d times, want once:\n%s", n, r.log)
	}
	if strings.Contains(r.log.String(), token) {
		t.Fatal("the relay's log holds the session's token")
	}
}

// hintsShown checks that since its connection was lost the host was shown
// the read-only note and the line with its ssh command want times: the
// hints are shown once per session, not again when the host reconnects to
// it (want 0), and again for a new session (want 1).
func hintsShown(t *testing.T, h *host, sshCmd string, want int) {
	t.Helper()
	m := h.messages()
	i := strings.LastIndex(m, "Reconnecting...")
	if i < 0 {
		t.Fatalf("the host's messages do not show it reconnecting:\n%s", m)
	}
	for _, hint := range []string{"Note: clear your terminal before sharing readonly access", "ssh session: " + sshCmd + "\n"} {
		if n := strings.Count(m[i:], hint); n != want {
			t.Errorf("after reconnecting the host was shown %q %d times, want %d:\n%s", hint, n, want, m)
		}
	}
}

func TestHostReconnectsBeforeRelayNoticesLoss(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "")
	line := startCutProxy(t, fmt.Sprintf("127.0.0.1:%d", r.port))
	h := spawnHost(t, r, fmt.Sprintf("set -g tmate-server-port %d\n", line.port))
	h.waitReady(20 * time.Second)
	sshCmd := h.display("#{tmate_ssh}")
	g := sshGuest(t, r, tokenOf(t, sshCmd), 80, 25)
	h.run("send-keys", "echo before-move", "Enter")
	g.waitFor("before-move", 10*time.Second)

	if n := line.strand(); n != 1 {
		t.Fatalf("stranded %d connections, want the host's one", n)
	}
	// tmate reconnects while the relay still holds its old connection: the
	// new one takes its place.
	h.waitMessage("Reconnected", 20*time.Second)
	if got := h.display("#{tmate_ssh}"); got != sshCmd {
		t.Fatalf("after reconnecting the host shows %q, want %q", got, sshCmd)
	}
	h.run("send-keys", "echo after-move", "Enter")
	g.waitFor("after-move", 10*time.Second)
	if g.exited() {
		t.Fatal("the guest was disconnected")
	}
	if log := r.log.String(); !strings.Contains(log, "host reconnected") || strings.Contains(log, "session ended") {
		t.Fatalf("the relay's log does not show one session that its host reconnected to:\n%s", log)
	}
}

func TestGuestsAreToldWhenHostDoesNotComeBack(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "[sessions]\nreconnect_window = \"10s\"\n")
	line := startCutProxy(t, fmt.Sprintf("127.0.0.1:%d", r.port))
	h := spawnHost(t, r, fmt.Sprintf("set -g tmate-server-port %d\n", line.port))
	h.waitReady(20 * time.Second)
	token := tokenOf(t, h.display("#{tmate_ssh}"))
	g := sshGuest(t, r, token, 80, 25)
	g.waitFor("$", 10*time.Second)

	line.cut(true) // and the host never gets through again
	g.waitFor("waiting for it to reconnect (up to 10s)", 10*time.Second)
	eventually(t, 30*time.Second, "the guest is told the session ended and disconnected", func() (bool, string) {
		s := g.screen()
		return g.exited() && strings.Contains(s, "The host did not reconnect within 10s"), s
	})
	if !strings.Contains(sshGuest(t, r, token, 80, 25).waitExitScreen(), "Invalid or expired session token") {
		t.Fatal("the token still works after the window")
	}
}

func TestHostReconnectsAfterRelayRestart(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	for _, tc := range []struct {
		name string
		// replaceKey removes the relay's reconnection key before the
		// restart: the hosts' data is then forged as far as the relay
		// knows.
		replaceKey bool
	}{
		{"same state directory", false},
		{"reconnection key replaced", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startRelay(t, "")
			h := startAttachedHost(t, r, 80, 24, "")
			sshCmd := h.display("#{tmate_ssh}")
			roCmd := h.display("#{tmate_ssh_ro}")
			h.run("send-keys", "echo before-restart", "Enter")
			g := sshGuest(t, r, tokenOf(t, sshCmd), 80, 25)
			g.waitFor("before-restart", 10*time.Second)

			if tc.replaceKey {
				if err := os.Remove(filepath.Join(r.dir, "reconnect-key")); err != nil {
					t.Fatal(err)
				}
			}
			r.restart()
			eventually(t, 10*time.Second, "the guest is told the relay restarts", func() (bool, string) {
				s := g.screen()
				return g.exited() && strings.Contains(s, "The relay is restarting"), s
			})
			if m := h.messages(); strings.Contains(m, "The relay is restarting") {
				t.Fatalf("the host was told to stop:\n%s", m)
			}
			eventually(t, 30*time.Second, "the host is ready again", func() (bool, string) {
				got := h.display("#{tmate_ssh}")
				return got != "" && (tc.replaceKey && got != sshCmd || !tc.replaceKey && strings.Contains(h.messages(), "Reconnected")), got + "\n" + h.messages()
			})

			if tc.replaceKey {
				if strings.Contains(h.messages(), "Reconnected") {
					t.Fatal("a host with data the relay cannot verify was told it reconnected")
				}
				if !strings.Contains(r.log.String(), "host reconnection refused") {
					t.Fatalf("the refusal is not logged:\n%s", r.log)
				}
				if !strings.Contains(sshGuest(t, r, tokenOf(t, sshCmd), 80, 25).waitExitScreen(), "Invalid or expired session token") {
					t.Fatal("the old token still works")
				}
				sshCmd = h.display("#{tmate_ssh}")
			} else if got := h.display("#{tmate_ssh_ro}"); got != roCmd {
				t.Fatalf("read-only command %q, want %q as before", got, roCmd)
			}
			// A new session (new addresses) shows the hints again; the
			// same one does not.
			hintsShown(t, h, sshCmd, map[bool]int{false: 0, true: 1}[tc.replaceKey])
			// The host's screen, rebuilt from its snapshot, and its new
			// output reach a guest of the (same or new) command.
			g2 := sshGuest(t, r, tokenOf(t, sshCmd), 80, 25)
			g2.waitFor("before-restart", 10*time.Second)
			h.run("send-keys", "echo after-restart", "Enter")
			g2.waitFor("after-restart", 10*time.Second)
			ro := sshGuest(t, r, tokenOf(t, h.display("#{tmate_ssh_ro}")), 80, 25)
			ro.waitFor("after-restart", 10*time.Second)
		})
	}
}

// waitExitScreen waits until ssh exited in the terminal and returns what it
// shows.
func (tm *term) waitExitScreen() string {
	tm.t.Helper()
	eventually(tm.t, 10*time.Second, "ssh exits", func() (bool, string) { return tm.exited(), tm.screen() })
	return tm.screen()
}
