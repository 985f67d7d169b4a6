package e2e

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"tmate-relay/service/logtest"
)

// A whole office behind one NAT joins at once: 50 real ssh guests from
// 127.0.0.1, started together, all reach a real tmate session with the
// shipped limits (max_startups 10:30:100). More than 10 are in their
// handshakes at once, so the ones beyond wait for a place instead of being
// dropped; the relay's log says how many waited.
func TestFiftyGuestsFromOneAddressJoinAtOnce(t *testing.T) {
	needTools(t, "tmate", "ssh")
	const guests = 50
	r := startRelay(t, "")
	h := startHost(t, r, 80, 24, "")
	h.run("send-keys", "-l", "echo office-$((6*7))")
	h.run("send-keys", "Enter")
	const marker = "office-42"
	eventually(t, 10*time.Second, "the host shows the marker", func() (bool, string) {
		s := h.capture()
		return strings.Contains(s, marker), s
	})
	token := tokenOf(t, h.display("#{tmate_ssh_ro}"))

	outs := make([]*logtest.Buffer, guests)
	started := time.Now()
	for i := range outs {
		cmd := exec.Command("ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
			"-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-tt", "-p", strconv.Itoa(r.port), token+"@127.0.0.1")
		cmd.Env = append(filterEnv(os.Environ(), "TERM"), "TERM=xterm-256color")
		f, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: 80, Rows: 24})
		if err != nil {
			t.Fatalf("guest %d: %v", i+1, err)
		}
		out := &logtest.Buffer{}
		outs[i] = out
		go io.Copy(out, f)
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			f.Close()
		})
	}
	t.Logf("%d ssh guests started within %v", guests, time.Since(started).Round(time.Millisecond))
	eventually(t, 90*time.Second, "every guest shows the host's screen", func() (bool, string) {
		in := 0
		for _, o := range outs {
			if strings.Contains(o.String(), marker) {
				in++
			}
		}
		return in == guests, fmt.Sprintf("%d of %d guests in; relay log:\n%s", in, guests, r.log.String())
	})
	t.Logf("all in after %v", time.Since(started).Round(time.Millisecond))
	log := r.log.String()
	if n := strings.Count(log, "connection refused"); n > 0 {
		t.Errorf("%d connections refused:\n%s", n, log)
	}
	t.Logf("%d guests waited for a place among unauthenticated connections", strings.Count(log, "waited for a place among unauthenticated connections"))
	for i, o := range outs {
		if s := o.String(); strings.Contains(s, "Relay:") || strings.Contains(s, "closed") {
			t.Errorf("guest %d was told: %q", i+1, s)
		}
	}
}
