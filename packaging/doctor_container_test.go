package packaging

import (
	"strings"
	"testing"
	"time"
)

// doctorWarnsAllowed are the checks that may warn in the test container:
// advertise_host is 127.0.0.1 there (its network is private), and no NTP
// client runs in it.
var doctorWarnsAllowed = []string{"advertise_host", "clock"}

// doctorChecks runs `tmate-relay doctor` on the installed, running relay:
// nothing fails and it exits 0; a keys directory anybody may write to
// fails the state directory check, a disabled socket unit the systemd
// check, and it exits 1; repaired, it passes again.
func doctorChecks(t *testing.T, c *container) {
	t.Helper()
	// The relay writes its repository (the client package with the edited
	// advertise_host) just after it starts: wait for that, not a time.
	var out string
	var err error
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Second) {
		out, err = c.sh(120*time.Second, "tmate-relay doctor")
		if doctorLine(out, "client package", "ok") || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("tmate-relay doctor on the fresh install:\n%s", out)
	if err != nil {
		t.Errorf("tmate-relay doctor: %v, want exit 0", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(line, "ok ") {
			continue
		}
		allowed := false
		for _, check := range doctorWarnsAllowed {
			allowed = allowed || doctorLine(line, check, "warn")
		}
		if !allowed {
			t.Errorf("doctor line not ok: %s", line)
		}
	}
	for _, check := range []string{"config", "systemd", "ssh port", "web port", "metrics port", "host keys",
		"/tmate.conf", "client package", "repository", "state directory"} {
		if !doctorLine(out, check, "ok") {
			t.Errorf("doctor: no ok line for %s", check)
		}
	}

	c.must("chmod 0777 /var/lib/tmate-relay/keys")
	out, err = c.sh(120*time.Second, "tmate-relay doctor")
	t.Logf("tmate-relay doctor with /var/lib/tmate-relay/keys mode 0777:\n%s", out)
	if err == nil || !doctorLine(out, "state directory", "fail") || !strings.Contains(out, "/var/lib/tmate-relay/keys is writable by others") {
		t.Errorf("doctor with a keys directory anybody may write to: %v, want exit 1 and the state directory failed", err)
	}
	c.must("chmod 0700 /var/lib/tmate-relay/keys")
	if out, err := c.sh(120*time.Second, "tmate-relay doctor"); err != nil {
		t.Errorf("doctor after the repair: %v, want exit 0\n%s", err, out)
	}

	// What systemd says over D-Bus: a socket that would not come back
	// after a reboot.
	c.must("systemctl disable tmate-relay-http.socket")
	out, err = c.sh(120*time.Second, "tmate-relay doctor")
	if err == nil || !strings.Contains(out, "tmate-relay-http.socket is disabled, not enabled") || !doctorLine(out, "systemd", "fail") {
		t.Errorf("doctor with tmate-relay-http.socket disabled: %v, want exit 1 and systemd failed\n%s", err, out)
	}
	c.must("systemctl enable tmate-relay-http.socket")
	if out, err := c.sh(120*time.Second, "tmate-relay doctor"); err != nil {
		t.Errorf("doctor with the socket enabled again: %v, want exit 0\n%s", err, out)
	}
}

// doctorLine reports whether out has a line for check with status.
func doctorLine(out, check, status string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && f[0] == status && strings.HasPrefix(strings.TrimSpace(strings.TrimPrefix(line, status)), check) {
			return true
		}
	}
	return false
}
