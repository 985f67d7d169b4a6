package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"tmate-relay/service/cluster/etcdtest"
	"tmate-relay/service/sshd"
)

// A session restricted to listed guest keys takes ssh guests through
// another node as on its own: the node they reach proves they hold their
// key, the owner checks it against its host's list. A listed key joins
// (also when an unlisted one is offered first), an unlisted key or none
// reads the single relay's refusal. A browser presents no key and is
// refused as on the owner.
func TestClusterForwardedGuestsOfARestrictedSession(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	etcd := etcdtest.Start(t)
	nodes := clusterRelays(t, etcd, 2)
	aliceKey, alicePub := newKey(t, "alice")
	bobKey, _ := newKey(t, "bob")
	h := spawnHost(t, nodes[0], fmt.Sprintf("set -g tmate-authorized-keys %q\n", writeLines(t, "authorized_keys", alicePub)))
	h.waitReady(20 * time.Second)
	token := tokenOf(t, h.display("#{tmate_ssh}"))
	h.run("send-keys", "echo restricted-$((6*7))", "Enter")

	refusal := strings.TrimSuffix(sshd.GuestKeyRefusal, "\r\n")
	for _, tc := range []struct {
		name   string
		keys   []string
		joins  bool
		offers string // what node-1's or node-2's log says was offered
	}{
		{"listed key", []string{"-i", aliceKey}, true, ""},
		{"unlisted key first", []string{"-i", bobKey, "-i", aliceKey}, true, ""},
		{"unlisted key", []string{"-i", bobKey}, false, "guest refused: no key listed by the session's host"},
		{"no key", nil, false, "guest refused: no key listed by the session's host (offered: none)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := interactiveSSHGuest(t, nodes[1].port, token, tc.keys...)
			if tc.joins {
				g.waitFor("restricted-42", 15*time.Second)
				return
			}
			s := g.waitExitScreenWithin(30 * time.Second)
			if !strings.Contains(strings.ReplaceAll(s, "\n", ""), refusal) || strings.Contains(s, "restricted-42") {
				t.Fatalf("refused guest on node-2:\n%s", s)
			}
			if !strings.Contains(nodes[1].log.String(), tc.offers) {
				t.Errorf("node-2 does not log %q:\n%s", tc.offers, nodes[1].log.String())
			}
		})
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/t/%s", nodes[1].webPort, token))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "only accepts guests with SSH keys") {
		t.Errorf("node-2's page of a restricted session: %d\n%s", resp.StatusCode, body)
	}
}

// interactiveSSHGuest is sshGuestWith to a port without BatchMode: as a
// person's ssh, it tries keyboard-interactive after its keys, which is how
// a guest with no listed key gets in to read why it may not join.
func interactiveSSHGuest(t *testing.T, port int, token string, extra ...string) *term {
	args := []string{"sh", "-c", `ssh "$@"; echo "` + sshExited + `"; exec sleep 600`, "ssh",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
		"-o", "IdentitiesOnly=yes", "-F", "/dev/null"}
	args = append(args, extra...)
	args = append(args, "-tt", "-p", strconv.Itoa(port), token+"@127.0.0.1")
	return startTerm(t, 80, 25, []string{"TERM=screen-256color"}, args...)
}

// The owner notices a forwarded ssh guest that is gone as it does a direct
// one: the node that carried it hangs (SIGSTOP: its connections stay open,
// nothing answers), and the owner closes the node link after three
// unanswered probes ([limits] keepalive_interval), or that node is killed
// (SIGKILL: the kernel closes the link). Either way the guest leaves the
// session, and the host hears it.
func TestClusterOwnerDropsGuestsOfANodeThatIsGone(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	etcd := etcdtest.Start(t)
	nodes := clusterRelaysWith(t, etcd, 3, func(conf string) string {
		return conf + "[limits]\nkeepalive_interval = \"1s\"\n"
	})
	h := spawnHost(t, nodes[0], "")
	h.waitReady(20 * time.Second)
	token := tokenOf(t, h.display("#{tmate_ssh}"))
	h.run("send-keys", "echo carried-$((6*7))", "Enter")
	hung := sshGuestWith(t, nodes[1], token, "-b", "127.0.0.2")
	killed := sshGuestWith(t, nodes[2], token, "-b", "127.0.0.3")
	for _, g := range []*term{hung, killed} {
		g.waitFor("carried-42", 15*time.Second)
	}
	h.waitMessage("A mate has joined (127.0.0.3)", 10*time.Second)

	t.Run("node hangs", func(t *testing.T) {
		stopped := time.Now()
		nodes[1].cmd.Process.Signal(syscall.SIGSTOP)
		defer nodes[1].cmd.Process.Signal(syscall.SIGCONT)
		h.waitMessage("A mate has left (127.0.0.2)", 30*time.Second)
		t.Logf("guest of the hung node left %v after SIGSTOP", time.Since(stopped).Round(100*time.Millisecond))
		if !strings.Contains(nodes[0].log.String(), "node link closed: the other node stopped answering") {
			t.Errorf("the owner does not log why:\n%s", nodes[0].log.String())
		}
	})
	t.Run("node killed", func(t *testing.T) {
		killedAt := time.Now()
		nodes[2].cmd.Process.Kill()
		h.waitMessage("A mate has left (127.0.0.3)", 30*time.Second)
		t.Logf("guest of the killed node left %v after SIGKILL", time.Since(killedAt).Round(100*time.Millisecond))
	})
	// The session carries on for a guest on the owner.
	g := sshGuest(t, nodes[0], token, 80, 25)
	h.run("send-keys", "echo still-$((6*7))", "Enter")
	g.waitFor("still-42", 10*time.Second)
}
