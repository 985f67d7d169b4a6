package e2e

import (
	"testing"
	"time"

	"tmate-relay/service/vt"
)

// TestCursorStyleReachesXtermGuests: a cursor style (DECSCUSR) a program
// sets reaches the terminal of an ssh guest whose TERM is xterm-like, as it
// reaches a tmate client's, and a screen-like guest's terminal gets none,
// as a tmate client's does not.
func TestCursorStyleReachesXtermGuests(t *testing.T) {
	needTools(t, "tmate", "ssh", "ssh-keygen")
	r := startRelay(t, "")
	h := startHost(t, r, 80, 24, "")
	token := tokenOf(t, h.display("#{tmate_ssh}"))
	start := func(p *ptyTerm, err error) *ptyTerm {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		p.tb = t
		t.Cleanup(p.stop)
		return p
	}
	cases := []struct {
		term      *ptyTerm
		wantStyle bool
	}{
		{start(newSSHGuestPtyAs(r, token, 80, 25, "xterm-256color")), true},
		{attachPtyAs(t, h, 80, 25, "xterm-256color"), true},
		{start(newSSHGuestPtyAs(r, token, 80, 25, "screen-256color")), false},
		{attachPtyAs(t, h, 80, 25, "screen-256color"), false},
	}
	for _, c := range cases {
		if _, err := c.term.until(20*time.Second, showsRow("$")); err != nil {
			t.Fatal(err)
		}
	}
	h.run("send-keys", "printf '\\033[5 q'; echo styled", "Enter")
	for i, c := range cases {
		_, err := c.term.until(10*time.Second, func(e *vt.Emulator) bool {
			return showsRow("styled")(e) && (!c.wantStyle || e.CursorStyle() == 5)
		})
		if err != nil {
			t.Fatalf("terminal %d (%s): %v", i, c.term.name, err)
		}
		if got := c.term.emu.CursorStyle(); c.wantStyle != (got == 5) {
			t.Errorf("terminal %d (%s): cursor style %d, want it set: %v", i, c.term.name, got, c.wantStyle)
		}
	}
}
