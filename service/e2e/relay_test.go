// Package e2e drives the relay with the real programs: tmate hosts, OpenSSH
// guests inside tmux panes whose screens the tests read back.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
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

// TestHostReadyWaitsForSession: a tmate server can be ready before its
// session exists (an attached tmate whose new-session arrives after the
// configuration is loaded). Here the session comes two seconds after the
// server starts; waitReady still returns a host with its session and the
// start-up tips left.
func TestHostReadyWaitsForSession(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "")
	h, confPath := newHost(t, r, "")
	late := h.command("-f", confPath, "start-server", ";", "run-shell", "sleep 2", ";", "new-session", "-d", "-x", "80", "-y", "24")
	if err := late.Start(); err != nil {
		t.Fatal(err)
	}
	defer late.Wait()
	h.waitReady(20 * time.Second)
	if got := h.display("#{session_windows} #{pane_in_mode}"); got != "1 0" {
		t.Errorf("after waitReady: windows, pane in mode = %q, want \"1 0\"", got)
	}
	if !strings.HasPrefix(h.display("#{tmate_ssh}"), "ssh ") {
		t.Errorf("after waitReady the host has no ssh command")
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
	eventually(t, 5*time.Second, "ssh with a bad token exits", func() (bool, string) { return bad.exited(), bad.screen() })

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
	small := sshGuest(t, r, token, 70, 20)
	eventually(t, 10*time.Second, "host takes the smaller guest's size", func() (bool, string) {
		s := size()
		return s == "70x19", s
	})
	// A read-only guest, however small, sizes nothing: it sees the window
	// cut to its terminal.
	tiny := sshGuest(t, r, tokenOf(t, h.display("#{tmate_ssh_ro}")), 20, 5)
	h.run("send-keys", "echo tiny-$((6*7))", "Enter")
	small.waitFor("tiny-42", 10*time.Second)
	if s := size(); s != "70x19" {
		t.Fatalf("a 20x5 read-only guest made the window %s", s)
	}
	tiny.key("C-b", "d") // a read-only guest may detach
	small.key("C-b", "d")
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
		return g.exited() && strings.Contains(s, "The host"), s
	})
}

func TestGuestPrefixBindingsDriveTheHost(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "")
	h := startHost(t, r, 80, 24, "")
	g := sshGuest(t, r, tokenOf(t, h.display("#{tmate_ssh}")), 80, 25)
	g.waitFor("$", 10*time.Second)
	state := func() string { return h.display("#{session_windows} #{window_index} #{window_panes} #{pane_index}") }
	steps := []struct {
		keys []string
		want string // windows, active window, panes in it, active pane
	}{
		{[]string{"C-b", "c"}, "2 1 1 0"},
		{[]string{"C-b", "p"}, "2 0 1 0"},
		{[]string{"C-b", "n"}, "2 1 1 0"},
		{[]string{"C-b", "0"}, "2 0 1 0"},
		{[]string{"C-b", "%"}, "2 0 2 1"},
		{[]string{"C-b", "o"}, "2 0 2 0"},
		{[]string{"C-b", "Right"}, "2 0 2 1"},
		{[]string{"C-b", "1"}, "2 1 1 0"},
	}
	for _, st := range steps {
		g.key(st.keys...)
		eventually(t, 10*time.Second, fmt.Sprintf("after %v the host is at %q", st.keys, st.want), func() (bool, string) {
			s := state()
			return s == st.want, s
		})
	}
	// The guest's status line follows: both windows listed, 1 active.
	g.waitFor("0:sh- 1:sh*", 10*time.Second)

	// A prefix the host rebinds is the guest's prefix too.
	h.run("set-option", "-g", "prefix", "C-a")
	time.Sleep(200 * time.Millisecond) // the option travels as an EXEC_CMD
	g.key("C-a", "c")
	eventually(t, 10*time.Second, "C-a c makes a third window", func() (bool, string) {
		s := h.display("#{session_windows}")
		return s == "3", s
	})

	g.key("C-a", "d")
	eventually(t, 10*time.Second, "prefix d detaches the guest only", func() (bool, string) {
		return g.exited() && strings.Contains(g.screen(), "[detached]"), g.screen()
	})
	if n := h.display("#{session_windows}"); n != "3" {
		t.Fatalf("the host changed when the guest detached: %s windows", n)
	}
}

// TestFrozenGuestSlowsNobody stops one guest's ssh (it reads nothing more)
// while the host floods output: the host and the other guest carry on.
func TestFrozenGuestSlowsNobody(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen", "pgrep")
	r := startRelay(t, "")
	h := startHost(t, r, 80, 24, "")
	token := tokenOf(t, h.display("#{tmate_ssh}"))
	// Large terminals make every frame large, so the frozen guest's SSH
	// window and socket buffers fill within the first frames.
	frozen := sshGuest(t, r, token, 300, 100)
	live := sshGuest(t, r, token, 300, 100)
	frozen.waitFor("$", 10*time.Second)
	live.waitFor("$", 10*time.Second)

	shell := strings.TrimSpace(frozen.tmux("display", "-p", "#{pane_pid}"))
	out, err := exec.Command("pgrep", "-P", shell, "-x", "ssh").Output()
	pid := strings.TrimSpace(string(out))
	if err != nil || pid == "" {
		t.Fatalf("no ssh under the frozen guest's shell %s: %v", shell, err)
	}
	exec.Command("kill", "-STOP", pid).Run()
	defer exec.Command("kill", "-CONT", pid).Run()

	// Screens full of changing colours: each frame is hundreds of KB,
	// far more in all than the frozen guest's buffers hold.
	flood := `awk 'BEGIN{for(i=0;i<6000;i++){s="";for(j=0;j<290;j++)s=s sprintf("\033[3%dm%c",(i+j)%8,65+(i*7+j)%26);print s "\033[m"}}'`
	h.run("send-keys", flood+"; echo flood-$((6*7))", "Enter")
	eventually(t, 60*time.Second, "the host finishes its output", func() (bool, string) {
		s := h.capture()
		return strings.Contains(s, "flood-42"), s
	})
	live.waitFor("flood-42", 10*time.Second)

	// Thawed, the frozen guest catches up with the latest screen.
	exec.Command("kill", "-CONT", pid).Run()
	frozen.waitFor("flood-42", 20*time.Second)
}
