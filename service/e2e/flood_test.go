package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Issue: 300 idle keep-alive web connections used up a relay's 256
// descriptors; the next SSH accept failed with EMFILE, Serve returned and
// the relay exited with every session. Now each listener waits the failure
// out: the relay stays up, and serves a host and a guest once the flood
// is gone.
func TestRelayOutlivesADescriptorFlood(t *testing.T) {
	needTools(t, "prlimit", "tmate", "tmux", "ssh", "ssh-keygen")
	// No repository: writing it in the background opens and closes files,
	// and a descriptor it frees would let an SSH connection in.
	r := prepareRelay(t, "")
	conf, err := os.ReadFile(r.conf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.conf, append(conf, "\n[repo]\nenabled = false\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	r.launch("prlimit", "--nofile=256:256", "--", relayBin, "serve", "-c", r.conf)

	// 300 keep-alive connections, each after one request, from two
	// addresses so that the per-address cap (200) leaves them all in.
	const floodConns = 300
	web := fmt.Sprintf("127.0.0.1:%d", r.webPort)
	var flood []net.Conn
	defer func() {
		for _, c := range flood {
			c.Close()
		}
	}()
	for i := range floodConns {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%2))}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", web)
		if err != nil {
			t.Fatalf("flood connection %d: %v", i+1, err) // the kernel's backlog takes them all
		}
		flood = append(flood, c)
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n")
	}
	// The web listener accepts them until its descriptors run out; dialing
	// the SSH port before that lets SSH take some of the last ones.
	eventually(t, 20*time.Second, "the web listener's failed accept logged", func() (bool, string) {
		if processGone(r) {
			t.Fatalf("the relay exited:\n%s", r.log.String())
		}
		log := r.log.String()
		return strings.Contains(log, "accept failed") && strings.Contains(log, "listener=web"), log
	})
	// Connections to the SSH port now meet a relay out of descriptors.
	// Several: a descriptor the relay frees meanwhile (a file it was
	// writing) can let one through.
	var sshConns []net.Conn
	defer func() {
		for _, c := range sshConns {
			c.Close()
		}
	}()
	for range 10 {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", r.port), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		sshConns = append(sshConns, c)
	}
	eventually(t, 20*time.Second, "the SSH listener's failed accept logged", func() (bool, string) {
		if processGone(r) {
			t.Fatalf("the relay exited:\n%s", r.log.String())
		}
		log := r.log.String()
		return strings.Contains(log, "accept failed") && strings.Contains(log, "listener=ssh"), log
	})
	time.Sleep(2 * time.Second) // it keeps retrying, and must not give up
	if processGone(r) {
		t.Fatalf("the relay exited during the flood:\n%s", r.log.String())
	}

	for _, c := range flood {
		c.Close()
	}
	flood = nil
	for _, c := range sshConns {
		c.Close()
	}
	sshConns = nil

	h := startHost(t, r, 80, 24, "")
	g := sshGuest(t, r, tokenOf(t, h.display("#{tmate_ssh}")), 80, 25)
	h.run("send-keys", "echo served-$((6*7))", "Enter")
	g.waitFor("served-42", 20*time.Second)

	log := r.log.String()
	t.Logf("failed-accept bursts logged: %d; recoveries: %q", strings.Count(log, "accept failed"),
		regexp.MustCompile(`listener=\w+ failed_accepts=\d+ after=\S+`).FindAllString(log, -1))
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "accept failed") {
			t.Log(line)
		}
	}
}

// processGone reports whether the relay's process has ended: it is a
// zombie (nobody has waited for it yet) or no more.
func processGone(r *relay) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", r.cmd.Process.Pid))
	if err != nil {
		return true
	}
	// pid (comm) state ...: the state follows the last ')'.
	rest := stat[strings.LastIndexByte(string(stat), ')')+1:]
	return strings.HasPrefix(strings.TrimSpace(string(rest)), "Z")
}
