package e2e

import (
	"testing"
	"time"
)

// TestGuestJoiningDuringTipsSeesThem: a guest who joins while the host
// still shows tmate's start-up tips (a copy-mode output view nobody has
// pressed a key in) sees what a tmate client attached then sees: the tips,
// not an empty pane. tmate writes the tips to the relay but never says the
// pane is in copy mode until a key reaches that mode.
func TestGuestJoiningDuringTipsSeesThem(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "")
	hs, conf := newHost(t, r, "")
	hs.run("-f", conf, "new-session", "-d", "-x", "80", "-y", "24")
	if !hs.waitSession(20 * time.Second) {
		t.Fatal("the host shows no start-up tips")
	}
	ref := startTerm(t, 80, 25, []string{"TERM=screen-256color", "HOME=" + hs.home},
		"env", "-u", "TMUX", "tmate", "-u", "-S", hs.sock, "attach")
	ref.waitFor("Tip:", 10*time.Second)
	guest := sshGuest(t, r, tokenOf(t, hs.display("#{tmate_ssh}")), 80, 25)
	ref.waitFor("A mate has joined", 10*time.Second)
	settle(t, "tips-untouched", guest, ref, nil, true)
	if hs.display("#{pane_in_mode}") != "1" {
		t.Error("the host left its tips: a key reached it")
	}
}
