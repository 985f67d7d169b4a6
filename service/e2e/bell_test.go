package e2e

import (
	"testing"
	"time"

	"tmate-relay/service/vt"
)

// TestGuestTerminalRingsTheBell: a bell a program rings in the session
// rings an ssh guest's terminal, as it rings a tmate client's (bell-action
// any, visual-bell off: tmate's defaults), once per bell.
func TestGuestTerminalRingsTheBell(t *testing.T) {
	needTools(t, "tmate", "ssh", "ssh-keygen")
	r := startRelay(t, "")
	h := startHost(t, r, 80, 24, "")
	guest := sshGuestPty(t, r, tokenOf(t, h.display("#{tmate_ssh}")), 80, 25)
	client := attachPty(t, h, 80, 25)
	for _, p := range []*ptyTerm{guest, client} {
		if _, err := p.until(20*time.Second, showsRow("$")); err != nil {
			t.Fatal(err)
		}
		if n := p.emu.Bells(); n != 0 {
			t.Fatalf("%s: %d bells before any rang", p.name, n)
		}
	}
	h.run("send-keys", "printf 'one\\a'; sleep 1; printf 'two\\a\\n'", "Enter")
	for _, p := range []*ptyTerm{client, guest} {
		if _, err := p.until(20*time.Second, func(e *vt.Emulator) bool { return e.Bells() >= 2 }); err != nil {
			t.Fatalf("%s: %d bells rang, want 2: %v", p.name, p.emu.Bells(), err)
		}
	}
	if _, err := guest.until(5*time.Second, showsRow("onetwo")); err != nil {
		t.Fatal(err)
	}
	if n := guest.emu.Bells(); n != 2 {
		t.Errorf("the guest's terminal rang %d times, want 2", n)
	}
}
