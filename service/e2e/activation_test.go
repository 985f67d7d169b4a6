package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSocketActivatedRelayStopsGracefully starts the relay the way systemd
// does (named sockets passed by systemd-socket-activate), serves a real host
// and guest through them, then stops it with SIGTERM: the host is told, the
// guest reads a message and is disconnected, the relay exits cleanly.
func TestSocketActivatedRelayStopsGracefully(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen", "systemd-socket-activate")
	r := prepareRelay(t, "")
	r.launch("systemd-socket-activate",
		"-l", fmt.Sprintf("127.0.0.1:%d", r.port), "-l", fmt.Sprintf("127.0.0.1:%d", r.webPort),
		"--fdname=ssh:http", "--", relayBin, "serve", "-c", r.conf)

	h := startAttachedHost(t, r, 80, 24, "")
	g := sshGuest(t, r, tokenOf(t, h.display("#{tmate_ssh}")), 80, 25)
	h.run("send-keys", "echo via-$((6*7))", "Enter")
	g.waitFor("via-42", 10*time.Second)

	// The HTTP socket is served too: the tmate.conf hosts need.
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/tmate.conf", r.webPort))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), fmt.Sprintf("set -g tmate-server-port %d", r.port)) {
		t.Fatalf("/tmate.conf:\n%s", body)
	}

	r.cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- r.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("relay exit: %v\n%s", err, r.log.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("relay did not stop on SIGTERM\n%s", r.log.String())
	}
	// Guests are told the relay restarts; the host is told nothing, so that
	// tmate reconnects to the relay systemd starts again (reconnect_test.go).
	eventually(t, 10*time.Second, "the guest is told and disconnected", func() (bool, string) {
		s := g.screen()
		return g.exited() && strings.Contains(s, "The relay is restarting"), s
	})
	if msgs, _ := h.output("show-messages"); strings.Contains(msgs, "The relay is") {
		t.Errorf("the host was told of the stop, which would make tmate give up:\n%s", msgs)
	}
	if log := r.log.String(); !strings.Contains(log, `msg=stopped`) {
		t.Fatalf("relay log lacks its stop:\n%s", log)
	}
}
