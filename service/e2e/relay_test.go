// Package e2e drives the relay with the real programs: tmate hosts, OpenSSH
// guests inside tmux panes whose screens the tests read back.
package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestHostGetsConnectionStrings(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "")
	h := startAttachedHost(t, r, 80, 24, "")

	tokenRE := `[abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789]{25}`
	rw := regexp.MustCompile(fmt.Sprintf(`^ssh -p%d (%s)@127\.0\.0\.1$`, r.port, tokenRE))
	ro := regexp.MustCompile(fmt.Sprintf(`^ssh -p%d ro-(%s)@127\.0\.0\.1$`, r.port, tokenRE))
	sshRW, sshRO := h.display("#{tmate_ssh}"), h.display("#{tmate_ssh_ro}")
	if !rw.MatchString(sshRW) {
		t.Errorf("tmate_ssh = %q, want %v", sshRW, rw)
	}
	if !ro.MatchString(sshRO) {
		t.Errorf("tmate_ssh_ro = %q, want %v", sshRO, ro)
	}
	msgs := h.run("show-messages")
	iRO := strings.Index(msgs, "ssh session read only: "+sshRO)
	iRW := strings.Index(msgs, "ssh session: "+sshRW)
	iNote := strings.Index(msgs, "Note: clear your terminal before sharing readonly access")
	if iNote < 0 || iRO < 0 || iRW < 0 || !(iNote < iRO && iRO < iRW) {
		t.Errorf("show-messages lacks the note, read-only and read-write lines in that order:\n%s", msgs)
	}
}

func TestGuestSeesHostOutput(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "")
	h := startHost(t, r, 80, 24, "")
	g := sshGuest(t, r, tokenOf(t, h.display("#{tmate_ssh}")), 80, 25)
	h.run("send-keys", "echo hello-from-$((6*7))", "Enter")
	g.waitFor("hello-from-42", 10*time.Second)

	// A guest that joins late sees the current screen at once.
	late := sshGuest(t, r, tokenOf(t, h.display("#{tmate_ssh_ro}")), 80, 25)
	late.waitFor("hello-from-42", 10*time.Second)
}

func TestGuestTypingRunsOnHost(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "")
	h := startHost(t, r, 80, 24, "")
	g := sshGuest(t, r, tokenOf(t, h.display("#{tmate_ssh}")), 80, 25)
	g.waitFor("$", 10*time.Second)
	marker := filepath.Join(t.TempDir(), "typed")
	g.send("echo typed-by-guest > " + marker)
	g.key("Enter")
	eventually(t, 10*time.Second, "the guest's command ran on the host", func() (bool, string) {
		b, err := os.ReadFile(marker)
		return err == nil && string(b) == "typed-by-guest\n", h.capture()
	})
}

func TestReadOnlyGuestCannotType(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "")
	h := startHost(t, r, 80, 24, "")
	g := sshGuest(t, r, tokenOf(t, h.display("#{tmate_ssh_ro}")), 80, 25)
	g.waitFor("$", 10*time.Second)
	marker := filepath.Join(t.TempDir(), "typed")
	g.send("touch " + marker)
	g.key("Enter")
	g.key("C-b", "c") // prefix bindings do nothing either
	// The host's own output proves the relay went on serving this guest
	// after its keys; by then a forwarded key would have reached the host.
	h.run("send-keys", "echo after-$((6*7))", "Enter")
	g.waitFor("after-42", 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a read-only guest's command ran on the host")
	}
	if pane := h.capture(); strings.Contains(pane, "touch") {
		t.Fatalf("read-only keys reached the host's pane:\n%s", pane)
	}
	if n := h.display("#{session_windows}"); n != "1" {
		t.Fatalf("read-only prefix+c made a window: %s windows", n)
	}
}

func TestInvalidTokenIsRefusedAndRelayServesOn(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "")
	h := startHost(t, r, 80, 24, "")
	bad := sshGuest(t, r, "abcdefghjkmnpqrstuvwxyzAB", 80, 24)
	bad.waitFor("Invalid or expired session token", 10*time.Second)
	eventually(t, 5*time.Second, "ssh with a bad token exits", func() (bool, string) { return bad.dead(), bad.screen() })

	g := sshGuest(t, r, tokenOf(t, h.display("#{tmate_ssh}")), 80, 25)
	h.run("send-keys", "echo still-$((6*7))", "Enter")
	g.waitFor("still-42", 10*time.Second)
}

func TestHostSizeFollowsSmallestGuest(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "")
	h := startHost(t, r, 120, 40, "")
	token := tokenOf(t, h.display("#{tmate_ssh}"))
	size := func() string { return h.display("#{window_width}x#{window_height}") }
	big := sshGuest(t, r, token, 100, 30)
	eventually(t, 10*time.Second, "host takes the guest's size", func() (bool, string) {
		s := size()
		return s == "100x29", s
	})
	small := sshGuest(t, r, tokenOf(t, h.display("#{tmate_ssh_ro}")), 70, 20)
	eventually(t, 10*time.Second, "host takes the smaller guest's size", func() (bool, string) {
		s := size()
		return s == "70x19", s
	})
	small.key("C-b", "d") // a read-only guest may detach
	eventually(t, 10*time.Second, "host grows back when the small guest leaves", func() (bool, string) {
		s := size()
		return s == "100x29", s
	})
	_ = big
}

func TestHostExitDisconnectsGuests(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "")
	h := startHost(t, r, 80, 24, "")
	g := sshGuest(t, r, tokenOf(t, h.display("#{tmate_ssh}")), 80, 25)
	g.waitFor("$", 10*time.Second)
	h.run("kill-session")
	eventually(t, 10*time.Second, "guest is told and disconnected", func() (bool, string) {
		s := g.screen()
		return g.dead() && strings.Contains(s, "The host"), s
	})
}
