package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"tmate-relay/service/cluster/etcdtest"
	"tmate-relay/service/sshd"
)

// A rolling drain and restart of three nodes behind HAProxy with 20 real
// tmate hosts live: each node in turn is emptied with `tmate-relay drain`
// while it runs, then restarted. The drain returns once the node holds no
// session; its own guests and the guests it carried to other nodes read
// that they should join again; a guest of a session on another node, on
// that node, carries on; the node has left etcd's node list, its SSH port
// refuses connections and /healthz answers 503, so HAProxy sends hosts
// elsewhere. After each round every session's ssh command, through
// HAProxy, reaches its host, and at the end every host shows the ssh
// command it started with: no token lost. etcd writes per session start
// and end are counted on the way.
func TestClusterRollingDrainKeepsEveryToken(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen", "haproxy")
	etcd := etcdtest.Start(t)
	allPort := freePort(t)
	nodes := clusterRelaysWith(t, etcd, 3, func(conf string) string {
		return behindBalancer(conf, allPort) + "[admin]\nsocket = \"admin.sock\"\n"
	})
	hp := startHAProxyChecked(t, nodes, allPort)
	viaAll := *nodes[0]
	viaAll.port = hp.all
	// Each node reached through HAProxy alone, for guests that must be on
	// that node: the nodes take only connections with a PROXY header.
	var direct []*relay
	for i, n := range nodes {
		d := *n
		d.port = hp.direct[i]
		direct = append(direct, &d)
	}
	probe := probeNode(t, etcd, nodes[0])
	owner := func(token string) string {
		o, ok, err := probe.Lookup(context.Background(), token)
		if err != nil || !ok {
			return ""
		}
		return o.Node
	}

	const sessions = 20
	var hosts []*host
	var cmds, tokens []string
	proposals := etcd.Proposals()
	for range sessions {
		h := startHost(t, &viaAll, 80, 24, "")
		hosts = append(hosts, h)
		cmds = append(cmds, h.display("#{tmate_ssh}"))
		tokens = append(tokens, tokenOf(t, cmds[len(cmds)-1]))
	}
	eventually(t, 10*time.Second, "every session registered", func() (bool, string) {
		for _, tok := range tokens {
			if owner(tok) == "" {
				return false, tok
			}
		}
		return true, ""
	})
	starts := etcd.Proposals() - proposals
	t.Logf("etcd writes for %d session starts: %d", sessions, starts)
	if starts != sessions {
		t.Errorf("%d session starts took %d etcd writes, want one each", sessions, starts)
	}

	for i, n := range nodes {
		name := fmt.Sprintf("node-%d", i+1)
		other := direct[(i+1)%len(nodes)]
		otherName := fmt.Sprintf("node-%d", (i+1)%len(nodes)+1)
		// On this node: a guest of one of its sessions, and a guest it
		// carries to another node's session. On the other node, a guest
		// of that node's session, which the drain must leave alone.
		mine, elsewhere := -1, -1
		held := 0
		for j, tok := range tokens {
			switch owner(tok) {
			case name:
				held++
				mine = j
			case otherName:
				elsewhere = j
			}
		}
		if mine < 0 || elsewhere < 0 {
			t.Fatalf("before draining %s: it holds %d sessions, %s holds one: %v", name, held, otherName, elsewhere >= 0)
		}
		ownGuest := sshGuest(t, direct[i], tokens[mine], 80, 25)
		carried := sshGuest(t, direct[i], tokens[elsewhere], 80, 25)
		untouched := sshGuest(t, other, tokens[elsewhere], 80, 25)
		hosts[mine].run("send-keys", fmt.Sprintf("echo own-%d", i), "Enter")
		hosts[elsewhere].run("send-keys", fmt.Sprintf("echo carried-%d", i), "Enter")
		ownGuest.waitFor(fmt.Sprintf("own-%d", i), 15*time.Second)
		carried.waitFor(fmt.Sprintf("carried-%d", i), 15*time.Second)
		untouched.waitFor(fmt.Sprintf("carried-%d", i), 15*time.Second)

		started := time.Now()
		out, err := n.admin("drain", "--timeout", "60s")
		if err != nil || !strings.Contains(out, "leaves the cluster") || !strings.Contains(out, "is drained: it holds no session") {
			t.Fatalf("tmate-relay drain on %s: %v\n%s", name, err, out)
		}
		t.Logf("%s drained in %v with %d sessions:\n%s", name, time.Since(started).Round(time.Millisecond), held, out)
		if left := n.sessions(t); len(left) != 0 {
			t.Errorf("%s holds %d sessions after its drain", name, len(left))
		}
		for what, g := range map[string]*term{"its own guest": ownGuest, "the guest it carried": carried} {
			s := g.waitExitScreenWithin(10 * time.Second)
			if !strings.Contains(strings.ReplaceAll(s, "\n", ""), sshd.DrainNotice) {
				t.Errorf("%s of %s after the drain reads:\n%s", what, name, s)
			}
		}
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", n.port)); err == nil {
			c.Close()
			t.Errorf("%s's SSH port still takes connections after its drain", name)
		}
		if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", n.webPort)); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s's /healthz after its drain: %v %v", name, resp, err)
		} else {
			resp.Body.Close()
		}
		live, err := probe.Nodes(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range live {
			if l.Name == name {
				t.Errorf("%s is still in etcd's node list after its drain", name)
			}
		}

		n.restart()
		for j, h := range hosts {
			reachable(t, &viaAll, h, tokens[j], fmt.Sprintf("round-%d-%d", i, j))
		}
		hosts[elsewhere].run("send-keys", fmt.Sprintf("echo after-%d", i), "Enter")
		untouched.waitFor(fmt.Sprintf("after-%d", i), 15*time.Second)
		if untouched.exited() {
			t.Errorf("the guest of a session on %s, joined there, was cut off by %s's drain", otherName, name)
		}
		for _, g := range []*term{ownGuest, carried, untouched} {
			g.tmux("kill-server")
		}
		t.Logf("%s drained and restarted: every session reachable again %v after the drain began", name, time.Since(started).Round(time.Millisecond))
	}
	for j, h := range hosts {
		if got := h.display("#{tmate_ssh}"); got != cmds[j] {
			t.Errorf("host %d shows %q after the rolling drain, want %q", j, got, cmds[j])
		}
	}

	// Two hosts close their sessions: one etcd write each.
	const ended = 2
	proposals = etcd.Proposals()
	for _, h := range hosts[:ended] {
		h.run("kill-session")
	}
	eventually(t, 10*time.Second, "the ended sessions forgotten by etcd", func() (bool, string) {
		return owner(tokens[0]) == "" && owner(tokens[1]) == "", ""
	})
	ends := etcd.Proposals() - proposals
	t.Logf("etcd writes for %d session ends: %d", ended, ends)
	if ends != ended {
		t.Errorf("%d session ends took %d etcd writes, want one each", ended, ends)
	}
}

// reachable waits until a guest joining with token through via sees what
// h's shell prints, joining again while the host is still reconnecting.
func reachable(t *testing.T, via *relay, h *host, token, marker string) {
	t.Helper()
	g := sshGuest(t, via, token, 80, 25)
	defer func() { g.tmux("kill-server") }()
	eventually(t, 30*time.Second, "session "+marker+" reachable", func() (bool, string) {
		h.run("send-keys", "echo "+marker, "Enter")
		time.Sleep(200 * time.Millisecond)
		s := g.screen()
		if g.exited() { // joined while the host was away, or refused: once more
			g.tmux("kill-server")
			g = sshGuest(t, via, token, 80, 25)
		}
		return strings.Contains(s, marker), s
	})
}

// checkedHAProxy is Debian's HAProxy in TCP mode in front of the nodes, as
// the shipped example runs it: PROXY protocol v2 to each node's SSH port,
// each node's health checked on its web port's /healthz, which a node
// being drained answers with 503. The "all" frontend balances round robin
// over the nodes up; direct[i] sends to node i only.
type checkedHAProxy struct {
	all    int
	direct []int
}

func startHAProxyChecked(t testing.TB, nodes []*relay, allPort int) *checkedHAProxy {
	t.Helper()
	needTools(t, "haproxy")
	hp := &checkedHAProxy{all: allPort}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, `global
  maxconn 1000
defaults
  mode tcp
  timeout connect 1s
  timeout check 1s
  timeout client 1h
  timeout server 1h
  retries 3
  option redispatch
frontend all
  bind 127.0.0.1:%d
  default_backend nodes
backend nodes
  balance roundrobin
  option httpchk GET /healthz
`, allPort)
	for i, r := range nodes {
		fmt.Fprintf(&cfg, "  server node-%d 127.0.0.1:%d check port %d inter 200ms fall 1 rise 2 send-proxy-v2\n", i+1, r.port, r.webPort)
	}
	for i, r := range nodes {
		port := freePort(t)
		hp.direct = append(hp.direct, port)
		fmt.Fprintf(&cfg, "frontend node-%d\n  bind 127.0.0.1:%d\n  default_backend node-%d\nbackend node-%d\n  server node-%d 127.0.0.1:%d send-proxy-v2\n", i+1, port, i+1, i+1, i+1, r.port)
	}
	runHAProxy(t, cfg.String(), hp.all)
	return hp
}

// TestClusterDrainUnderSocketActivation drains a node started as the
// packages start it, from sockets systemd holds (systemd-socket-activate):
// it cannot close them, so it turns arriving hosts away and answers
// /healthz with 503 until it stops. Its host reconnects through HAProxy to
// the other node with the same token, its guest reads that it should join
// again, and the relay then stops cleanly on SIGTERM, as `systemctl stop`
// sends it.
func TestClusterDrainUnderSocketActivation(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen", "haproxy", "systemd-socket-activate")
	etcd := etcdtest.Start(t)
	allPort := freePort(t)
	nodes := clusterRelaysLaunched(t, etcd, 2, func(conf string) string {
		return behindBalancer(conf, allPort) + "[admin]\nsocket = \"admin.sock\"\n"
	}, func(i int, r *relay) {
		if i > 0 {
			r.launch(relayBin, "serve", "-c", r.conf)
			return
		}
		r.launch("systemd-socket-activate",
			"-l", fmt.Sprintf("127.0.0.1:%d", r.port), "-l", fmt.Sprintf("127.0.0.1:%d", r.webPort),
			"--fdname=ssh:http", "--", relayBin, "serve", "-c", r.conf)
	})
	activated := nodes[0]
	hp := startHAProxyChecked(t, nodes, allPort)
	viaAll := *activated
	viaAll.port = hp.all
	onActivated := *activated
	onActivated.port = hp.direct[0]
	probe := probeNode(t, etcd, activated)
	owner := func(token string) string {
		o, ok, err := probe.Lookup(context.Background(), token)
		if err != nil || !ok {
			return ""
		}
		return o.Node
	}

	// HAProxy balances round robin: of two hosts one lands on each node.
	var h *host
	var token string
	for range 2 {
		h = startHost(t, &viaAll, 80, 24, "")
		token = tokenOf(t, h.display("#{tmate_ssh}"))
		eventually(t, 10*time.Second, "the session registered", func() (bool, string) { return owner(token) != "", token })
		if owner(token) == "node-1" {
			break
		}
	}
	if owner(token) != "node-1" {
		t.Fatal("no host reached the socket-activated node through HAProxy")
	}
	cmd := h.display("#{tmate_ssh}")
	g := sshGuest(t, &onActivated, token, 80, 25)
	h.run("send-keys", "echo before-drain", "Enter")
	g.waitFor("before-drain", 15*time.Second)

	out, err := activated.admin("drain", "--timeout", "60s")
	if err != nil || !strings.Contains(out, "is drained: it holds no session") {
		t.Fatalf("tmate-relay drain: %v\n%s", err, out)
	}
	if s := g.waitExitScreenWithin(10 * time.Second); !strings.Contains(strings.ReplaceAll(s, "\n", ""), sshd.DrainNotice) {
		t.Errorf("the guest after the drain reads:\n%s", s)
	}
	if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", activated.webPort)); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/healthz of the drained node: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	reachable(t, &viaAll, h, token, "after-drain")
	if o := owner(token); o != "node-2" {
		t.Errorf("after the drain the session is on %q, want node-2", o)
	}
	if got := h.display("#{tmate_ssh}"); got != cmd {
		t.Errorf("the host shows %q after the drain, want %q", got, cmd)
	}

	activated.terminate(t)
}
