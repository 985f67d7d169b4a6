package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tmate-relay/service/sshd"
)

// The job systemd runs on the relay's unit decides what guests read; the
// booted container (packaging) checks the same with real systemctl.
func TestNoticeForJob(t *testing.T) {
	for _, tc := range []struct {
		job      string
		replaced bool
		want     string
	}{
		{"stop", false, sshd.StopNotice},
		{"stop", true, sshd.RestartNotice}, // a package upgrade
		{"restart", false, sshd.RestartNotice},
		{"try-restart", false, sshd.RestartNotice},
		{"reload-or-start", false, sshd.RestartNotice},
		{"", false, sshd.RestartNotice}, // a signal from elsewhere: the sockets start it again
	} {
		if got := noticeForJob(tc.job, tc.replaced); got != tc.want {
			t.Errorf("job %q, replaced %v: %q, want %q", tc.job, tc.replaced, got, tc.want)
		}
	}
}

// Outside systemd nothing is asked: the relay restarts as far as anyone
// can tell.
func TestStopNoticeOutsideSystemd(t *testing.T) {
	t.Setenv("INVOCATION_ID", "")
	if got := stopNotice(nil); got != sshd.RestartNotice {
		t.Errorf("%q, want the restart notice", got)
	}
}

// A program whose file was replaced (as dpkg upgrades it) knows it.
func TestProgramReplaced(t *testing.T) {
	if os.Getenv("TMATE_RELAY_TEST_REPLACED") != "" {
		before := programReplaced()
		self, _ := os.Executable()
		os.Remove(self)
		if before || !programReplaced() {
			os.Exit(1)
		}
		os.Exit(0)
	}
	if programReplaced() {
		t.Fatal("the test binary counts as replaced")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "relay")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestProgramReplaced$")
	cmd.Env = append(os.Environ(), "TMATE_RELAY_TEST_REPLACED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("a copy of the test binary removed while it runs: %v\n%s", err, strings.TrimSpace(string(out)))
	}
}
