package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"tmate-relay/service/session"
)

// admin runs `tmate-relay ARGS -c CONF` against r's admin socket.
func (r *relay) admin(args ...string) (string, error) {
	out, err := exec.Command(relayBin, append(args, "-c", r.conf)...).CombinedOutput()
	return string(out), err
}

func (r *relay) sessions(t *testing.T) []session.Info {
	t.Helper()
	out, err := r.admin("sessions", "--json")
	if err != nil {
		t.Fatalf("tmate-relay sessions: %v\n%s", err, out)
	}
	var in []session.Info
	if err := json.Unmarshal([]byte(out), &in); err != nil {
		t.Fatalf("sessions --json: %v\n%s", err, out)
	}
	return in
}

// TestAdminCommands drives a real tmate host and real ssh guests with the
// admin commands: sessions lists the session with its guests, say reaches
// the host and the guests, kick --guest removes one guest, kick ends the
// session for everybody and the host's tmate, which reconnects by itself,
// gets a new session instead of the old one.
func TestAdminCommands(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "[admin]\nsocket = \"admin.sock\"\n")
	h := startAttachedHost(t, r, 80, 24, "")
	sshCmd, roCmd := h.display("#{tmate_ssh}"), h.display("#{tmate_ssh_ro}")
	token, roToken := tokenOf(t, sshCmd), tokenOf(t, roCmd)
	rw := sshGuest(t, r, token, 80, 25)
	ro := sshGuest(t, r, roToken, 80, 25)
	h.run("send-keys", "echo ready-for-admin", "Enter")
	rw.waitFor("ready-for-admin", 10*time.Second)
	ro.waitFor("ready-for-admin", 10*time.Second)

	var s session.Info
	eventually(t, 10*time.Second, "sessions lists the session with its guests", func() (bool, string) {
		list := r.sessions(t)
		if len(list) != 1 {
			return false, "sessions: " + strconv.Itoa(len(list))
		}
		s = list[0]
		return s.Guests == session.GuestCounts{SSHReadWrite: 1, SSHReadOnly: 1} && s.HostConnected, ""
	})
	if s.HostAddr != "127.0.0.1" {
		t.Errorf("host address %q", s.HostAddr)
	}
	out, err := r.admin("sessions")
	if err != nil || !strings.Contains(out, s.ID) || strings.Contains(out, token) || strings.Contains(out, roToken) {
		t.Fatalf("sessions (table): %v\n%s", err, out)
	}
	out, err = r.admin("guests", s.ID, "--json")
	var guests []session.GuestInfo
	if err != nil || json.Unmarshal([]byte(out), &guests) != nil || len(guests) != 2 {
		t.Fatalf("guests: %v\n%s", err, out)
	}
	// Listed by guest number, which follows the order they joined in.
	if guests[0].ReadOnly {
		guests[0], guests[1] = guests[1], guests[0]
	}
	roID := guests[1].ID
	if !guests[1].ReadOnly || guests[0].ReadOnly || guests[0].Transport != "ssh" || guests[1].Transport != "ssh" {
		t.Fatalf("guests %+v: want a rw and a ro ssh guest", guests)
	}

	if out, err := r.admin("say", s.ID, "maintenance at noon"); err != nil {
		t.Fatalf("say: %v\n%s", err, out)
	}
	h.waitMessage(session.SayPrefix+"maintenance at noon", 10*time.Second)
	rw.waitFor(session.SayPrefix+"maintenance at noon", 10*time.Second)
	ro.waitFor(session.SayPrefix+"maintenance at noon", 10*time.Second)

	if out, err := r.admin("kick", s.ID, "--guest", strconv.Itoa(roID)); err != nil {
		t.Fatalf("kick --guest: %v\n%s", err, out)
	}
	if screen := ro.waitExitScreen(); !strings.Contains(screen, session.GuestKickedText) {
		t.Fatalf("the removed guest's screen:\n%s", screen)
	}
	if rw.exited() {
		t.Fatal("kick --guest ended the other guest too")
	}
	h.run("send-keys", "echo after-guest-kick", "Enter")
	rw.waitFor("after-guest-kick", 10*time.Second)
	if c := r.sessions(t)[0].Guests; c != (session.GuestCounts{SSHReadWrite: 1}) {
		t.Fatalf("guests after kick --guest: %+v", c)
	}

	if out, err := r.admin("kick", s.ID); err != nil {
		t.Fatalf("kick: %v\n%s", err, out)
	}
	if screen := rw.waitExitScreen(); !strings.Contains(screen, session.KickedText) {
		t.Fatalf("the guest's screen after the kick:\n%s", screen)
	}
	h.waitMessage(session.KickedText, 10*time.Second)
	// tmate reconnects within 2 s with the old session's data: it gets a
	// new session with new tokens.
	h.waitMessage("this is a new session", 20*time.Second)
	eventually(t, 20*time.Second, "the host has a new session", func() (bool, string) {
		got := h.display("#{tmate_ssh}")
		return got != "" && got != sshCmd, got
	})
	if strings.Contains(h.messages(), "Reconnected") {
		t.Fatalf("the host was let back into the kicked session:\n%s", h.messages())
	}
	if screen := sshGuest(t, r, token, 80, 25).waitExitScreen(); !strings.Contains(screen, "Invalid or expired session token") {
		t.Fatalf("the kicked session's token still works:\n%s", screen)
	}
	list := r.sessions(t)
	if len(list) != 1 || list[0].ID == s.ID {
		t.Fatalf("sessions after the kick: %+v, want only a new one", list)
	}

	if out, err := r.admin("kick", s.ID); err == nil || !strings.Contains(out, "no live session has the id") {
		t.Errorf("kicking an ended session: %v\n%s", err, out)
	}
	// The requests' audit events, on stderr as text. The trail is written
	// by its own goroutine: the last one can follow the command's answer.
	hasLine := func(log string, want []string) bool {
		for _, line := range strings.Split(log, "\n") {
			all := true
			for _, w := range want {
				all = all && strings.Contains(line, w)
			}
			if all {
				return true
			}
		}
		return false
	}
	for _, want := range [][]string{
		{"event=admin session_id=" + s.ID, "action=say", "result=ok"},
		{"event=admin session_id=" + s.ID, " guest=", "action=kick", "result=ok"},
		{"event=admin session_id=" + s.ID, "action=kick", "result=failed"},
	} {
		eventually(t, 10*time.Second, fmt.Sprintf("a line of the relay's log with all of %q", want), func() (bool, string) {
			return hasLine(r.log.String(), want), ""
		})
	}
	if log := r.log.String(); strings.Contains(log, token) || strings.Contains(log, roToken) {
		t.Error("the relay's log holds a token")
	}
}

// TestSocketActivatedAdminSocket: under socket activation the relay serves
// the admin socket it is passed (named admin), as tmate-relay-admin.socket
// passes it, and makes none of its own.
func TestSocketActivatedAdminSocket(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen", "systemd-socket-activate")
	r := prepareRelay(t, "[admin]\nsocket = \"own.sock\"\n")
	sock := filepath.Join(r.dir, "admin.sock")
	r.launch("systemd-socket-activate",
		"-l", fmt.Sprintf("127.0.0.1:%d", r.port), "-l", fmt.Sprintf("127.0.0.1:%d", r.webPort), "-l", sock,
		"--fdname=ssh:http:admin", "--", relayBin, "serve", "-c", r.conf)
	h := startHost(t, r, 80, 24, "")
	out, err := exec.Command(relayBin, "sessions", "--json", "--socket", sock).CombinedOutput()
	var list []session.Info
	if err != nil || json.Unmarshal(out, &list) != nil || len(list) != 1 || !list[0].HostConnected {
		t.Fatalf("sessions over the passed socket: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(r.dir, "own.sock")); err == nil {
		t.Error("the socket-activated relay made a socket of its own")
	}
	h.run("send-keys", "exit", "Enter")
}
