package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
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

	r.terminate(t)
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

// terminate stops the relay with SIGTERM, as systemd stops its service,
// and fails t unless it exits cleanly within 15 s.
func (r *relay) terminate(t *testing.T) {
	t.Helper()
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
}

// Under socket activation [web] listen is ignored, so with an empty
// public_url the web address the relay hands out names the activated
// socket's port: a relay.toml kept across the upgrade from port 10080 still
// says listen = ...:10080 while tmate-relay-http.socket listens on 10081. A
// public_url on a port browsers refuse is logged.
func TestSocketActivatedWebURLTakesTheSocketsPort(t *testing.T) {
	needTools(t, "systemd-socket-activate")
	for _, tc := range []struct {
		name, publicURL string
		wantURL         string // "" means http://127.0.0.1:SOCKET-PORT
		warn            bool
	}{
		{name: "listen ignored"},
		{name: "public_url on a refused port", publicURL: "http://127.0.0.1:10080", wantURL: "http://127.0.0.1:10080", warn: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := prepareRelay(t, "")
			conf, err := os.ReadFile(r.conf)
			if err != nil {
				t.Fatal(err)
			}
			stale := strings.Replace(string(conf), fmt.Sprintf("listen = \"127.0.0.1:%d\"", r.webPort), `listen = "127.0.0.1:10080"`, 1)
			if err := os.WriteFile(r.conf, []byte(stale), 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.publicURL != "" {
				setPublicURL(t, r, tc.publicURL)
			}
			r.launch("systemd-socket-activate",
				"-l", fmt.Sprintf("127.0.0.1:%d", r.port), "-l", fmt.Sprintf("127.0.0.1:%d", r.webPort),
				"--fdname=ssh:http", "--", relayBin, "serve", "-c", r.conf)
			want := tc.wantURL
			if want == "" {
				want = fmt.Sprintf("http://127.0.0.1:%d", r.webPort)
			}
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", r.webPort))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(body), want+"/tmate.conf") {
				t.Errorf("the page does not name %s/tmate.conf:\n%s", want, body)
			}
			if warned := strings.Contains(r.log.String(), "browsers refuse"); warned != tc.warn {
				t.Errorf("warned of a refused port: %v, want %v; log:\n%s", warned, tc.warn, r.log.String())
			}
		})
	}
}
