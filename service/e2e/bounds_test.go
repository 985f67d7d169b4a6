package e2e

import (
	"strings"
	"testing"
	"time"
)

// A real tmate host that writes faster than [limits] host_output_rate is
// paced, not dropped: the relay reads its channel more slowly, tmate waits
// with its SSH window closed, and once the output is through the session
// goes on as before, its guests' keys reaching the host.
func TestARealHostWaitsAtTheOutputRate(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	// 2 MB of output at 256 KiB/s after a burst of one message: 8 s.
	r := startRelay(t, "[limits]\nhost_output_rate = 262144\nhost_output_burst = 17408\n")
	h := startHost(t, r, 80, 24, "")
	g := sshGuest(t, r, tokenOf(t, h.display("#{tmate_ssh}")), 80, 25)
	g.waitFor("$", 10*time.Second)
	h.run("send-keys", "seq 1 300000; echo paced-$((6*7))", "Enter")
	g.waitFor("paced-42", 120*time.Second)
	g.send("echo still-$((6*7))")
	g.key("Enter")
	g.waitFor("still-42", 20*time.Second)
	if log := r.log.String(); strings.Contains(log, "session ended") || strings.Contains(log, "host lost") {
		t.Fatalf("the paced host lost its session:\n%s", log)
	}
}
