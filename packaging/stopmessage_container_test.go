package packaging

import (
	"fmt"
	"strings"
	"time"
)

// checkStopMessages runs in the booted relay (TestBootedRelay) once the
// relay package is installed and /tmp/host.conf points tmate at it: with a
// tmate host connected and a real ssh guest attached, the guest reads that
// the relay restarts on `systemctl restart` and on a package upgrade (deb
// is reinstalled), and that it stops on `systemctl stop`. The relay is
// left running, with no host.
func checkStopMessages(c *container, deb string) {
	t := c.t
	t.Helper()
	const sock = "/tmp/tmate-stop.sock"
	c.must("tmate -f /tmp/host.conf -S " + sock + " new-session -d -x 80 -y 24 && timeout 30 tmate -S " + sock + " wait tmate-ready")
	for i, step := range []struct{ what, command, want string }{
		{"systemctl restart", "systemctl restart tmate-relay.service", "The relay is restarting"},
		{"package upgrade", "apt-get install -y -q --reinstall /mnt/x/" + deb, "The relay is restarting"},
		{"systemctl stop", "systemctl stop tmate-relay.service", "The relay is stopping"},
	} {
		// The host is in (again: it reconnects after each step by itself).
		var sessions string
		if !waitIn(c, 60*time.Second, func() bool {
			sessions, _ = c.sh(10*time.Second, "tmate-relay sessions --json")
			return strings.Contains(sessions, `"id"`)
		}) {
			t.Errorf("%s: no session on the relay: %s", step.what, sessions)
			return
		}
		ssh := strings.TrimSpace(c.must("tmate -S " + sock + " display -p '#{tmate_ssh_ro}'"))
		if !strings.HasPrefix(ssh, "ssh ") {
			t.Errorf("%s: tmate_ssh_ro is %q", step.what, ssh)
			return
		}
		// A read-only guest in a terminal of its own (script), so that its
		// keys never reach the host's shell.
		out := fmt.Sprintf("/tmp/guest-%d.out", i)
		// Joins before this one, this test's and others' (the audit trail's).
		const countJoins = "journalctl _SYSTEMD_UNIT=tmate-relay.service -o cat --no-pager | grep -c 'guest joined'"
		before, _ := c.sh(10*time.Second, countJoins)
		guest := "stty cols 80 rows 24; exec " + ssh + " -tt -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
		c.must("setsid sh -c 'sleep 600 | script -qfec \"" + guest + "\" " + out + "' </dev/null >/dev/null 2>&1 &")
		joined := fmt.Sprintf("test $(%s) -gt %q", countJoins, strings.TrimSpace(before))
		if !waitIn(c, 30*time.Second, func() bool { _, err := c.sh(10*time.Second, joined); return err == nil }) {
			screen, _ := c.sh(10*time.Second, "cat "+out)
			t.Errorf("%s: the guest did not join:\n%s", step.what, screen)
			return
		}
		c.must(step.command)
		var screen string
		if !waitIn(c, 30*time.Second, func() bool {
			screen, _ = c.sh(10*time.Second, "cat "+out)
			return strings.Contains(screen, step.want)
		}) {
			j, _ := c.sh(10*time.Second, "journalctl -u tmate-relay.service -o cat --no-pager | tail -20")
			t.Errorf("%s: the guest did not read %q:\n%q\nrelay journal:\n%s", step.what, step.want, screen, j)
			continue
		}
		t.Logf("%s: the guest read %q", step.what, screen[strings.Index(screen, step.want):][:len(step.want)+20])
	}
	c.sh(10*time.Second, "tmate -S "+sock+" kill-server")
	c.must("systemctl start tmate-relay.service")
}

// waitIn polls cond every 200 ms until it holds or d has passed.
func waitIn(c *container, d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}
