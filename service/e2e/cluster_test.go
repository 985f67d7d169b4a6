package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"tmate-relay/service/cluster"
	"tmate-relay/service/cluster/etcdtest"
	"tmate-relay/service/logtest"
	"tmate-relay/service/sshd"
	"tmate-relay/service/web/browsertest"
)

// clusterRelays starts n relay processes as nodes of one cluster on etcd.
// The first makes the keys; the others get copies of its host keys and
// reconnection key before they start, as an administrator copies them to
// a new node.
func clusterRelays(t testing.TB, etcd *etcdtest.Etcd, n int) []*relay {
	t.Helper()
	return clusterRelaysWith(t, etcd, n, nil)
}

// clusterRelaysWith is clusterRelays with edit changing each node's
// relay.toml before it starts.
func clusterRelaysWith(t testing.TB, etcd *etcdtest.Etcd, n int, edit func(conf string) string) []*relay {
	t.Helper()
	return clusterRelaysLaunched(t, etcd, n, edit, func(_ int, r *relay) { r.launch(relayBin, "serve", "-c", r.conf) })
}

// clusterRelaysLaunched is clusterRelaysWith with launch starting node i
// (from 0) once its files are ready.
func clusterRelaysLaunched(t testing.TB, etcd *etcdtest.Etcd, n int, edit func(conf string) string, launch func(i int, r *relay)) []*relay {
	t.Helper()
	var relays []*relay
	for i := range n {
		internal := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		r := prepareRelay(t, fmt.Sprintf("[repo]\nenabled = false\n[cluster]\netcd_endpoints = [%q]\nnode_name = \"node-%d\"\ninternal_listen = %q\ninternal_advertise = %q\nlease_ttl = \"2s\"\n",
			etcd.Endpoint(), i+1, internal, internal))
		if i > 0 {
			src := relays[0].dir
			for _, f := range []string{"keys/ssh_host_ed25519_key", "keys/ssh_host_ed25519_key.pub", "keys/ssh_host_rsa_key", "keys/ssh_host_rsa_key.pub", "reconnect-key"} {
				b, err := os.ReadFile(filepath.Join(src, f))
				if err != nil {
					t.Fatal(err)
				}
				dst := filepath.Join(r.dir, f)
				os.Remove(dst)
				if err := os.WriteFile(dst, b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
		if edit != nil {
			b, err := os.ReadFile(r.conf)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(r.conf, []byte(edit(string(b))), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		out, err := exec.Command(relayBin, "client-config", "-c", r.conf).CombinedOutput()
		if err != nil {
			t.Fatalf("client-config: %v\n%s", err, out)
		}
		r.tmateRC = string(out)
		launch(i, r)
		if i == 0 {
			// The first node made its reconnection key when it started.
			eventually(t, 20*time.Second, "node-1 joined", func() (bool, string) {
				return strings.Contains(r.log.String(), "joined the cluster"), r.log.String()
			})
		}
		relays = append(relays, r)
	}
	return relays
}

// A name held on node 1 is refused on node 3 of three, with the message of a
// name in use on one relay; the first session carries on.
func TestClusterNameHeldOnOneNodeIsRefusedOnAnother(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	etcd := etcdtest.Start(t)
	nodes := clusterRelays(t, etcd, 3)
	h := spawnHost(t, nodes[0], "set -g tmate-session-name team-alpha\n")
	h.waitReady(20 * time.Second)
	g := sshGuest(t, nodes[0], "team-alpha", 80, 25)

	dup := spawnHost(t, nodes[2], "set -g tmate-session-name team-alpha\n")
	dup.waitMessage("Relay: the tmate-session-name is in use by another live session: choose another, or end that session first.", 20*time.Second)
	if s, _ := dup.output("display", "-p", "#{tmate_ssh}"); strings.Contains(s, "team-alpha") {
		t.Errorf("node-3 gave the name to a second session: %q", s)
	}
	// Another name is free on node-3: its session costs etcd one write.
	proposals := etcd.Proposals()
	spawnHost(t, nodes[2], "set -g tmate-session-name team-beta\n").waitReady(20 * time.Second)
	if got := etcd.Proposals() - proposals; got != 1 {
		t.Errorf("a tmate host's session start took %d etcd writes, want 1", got)
	}

	h.run("send-keys", "echo still-$((6*7))", "Enter")
	g.waitFor("still-42", 10*time.Second)
	for _, r := range nodes {
		if strings.Contains(r.log.String(), "team-alpha") || strings.Contains(r.log.String(), "team-beta") {
			t.Errorf("a session name reached the log of %s", r.conf)
		}
	}
}

// etcd stopped: a live session carries on, a guest who needs forwarding
// reads why it cannot be, a new host is served by the node it reached, and
// its session is registered once etcd is back.
func TestClusterServesWhileEtcdIsAway(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	etcd := etcdtest.Start(t)
	nodes := clusterRelays(t, etcd, 2)
	node := nodes[0]
	live := startHost(t, node, 80, 24, "")
	liveToken := tokenOf(t, live.display("#{tmate_ssh}"))
	g := sshGuest(t, node, liveToken, 80, 25)

	etcd.Stop()
	live.run("send-keys", "echo away-$((6*7))", "Enter")
	g.waitFor("away-42", 10*time.Second)
	elsewhere := sshGuest(t, nodes[1], liveToken, 80, 25)
	if s := elsewhere.waitExitScreenWithin(30 * time.Second); !strings.Contains(strings.ReplaceAll(s, "\n", ""), sshd.ForwardUnavailableMessage) {
		t.Fatalf("a guest on node-2 while etcd is away reads:\n%s", s)
	}
	fresh := startHost(t, node, 80, 24, "")
	token := tokenOf(t, fresh.display("#{tmate_ssh}"))
	g2 := sshGuest(t, node, token, 80, 25)
	fresh.run("send-keys", "echo fresh-$((6*7))", "Enter")
	g2.waitFor("fresh-42", 10*time.Second)

	etcd.Restart()
	probe := probeNode(t, etcd, node)
	eventually(t, 30*time.Second, "the session started while etcd was away is registered", func() (bool, string) {
		o, ok, err := probe.Lookup(context.Background(), token)
		return ok && o.Node == "node-1", fmt.Sprintf("%+v %v %v", o, ok, err)
	})
}

// probeNode joins the cluster as a node of the test's own, to look tokens
// up with the hash key the relays share (their reconnection key).
func probeNode(t *testing.T, etcd *etcdtest.Etcd, r *relay) *cluster.Node {
	t.Helper()
	secret, err := os.ReadFile(filepath.Join(r.dir, "reconnect-key"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := cluster.Join(ctx, cluster.Config{Endpoints: []string{etcd.Endpoint()}, NodeName: "probe", LeaseTTL: 2 * time.Second, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

// A node restarted (SIGTERM, as an upgrade does) leaves the cluster and
// joins again; its named session comes back with its host and is
// registered again under the same name, and the guest's ssh command works.
func TestClusterNodeRestartKeepsNamedSession(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	etcd := etcdtest.Start(t)
	node := clusterRelays(t, etcd, 1)[0]
	h := startAttachedHost(t, node, 80, 24, "set -g tmate-session-name team-gamma\n")
	probe := probeNode(t, etcd, node)
	o, ok, err := probe.Lookup(context.Background(), "team-gamma")
	if !ok || o.Node != "node-1" {
		t.Fatalf("team-gamma before the restart: %+v %v %v", o, ok, err)
	}
	node.restart()
	eventually(t, 30*time.Second, "the host is back", func() (bool, string) {
		return strings.Contains(h.messages(), "Reconnected"), h.messages()
	})
	eventually(t, 30*time.Second, "team-gamma is registered again", func() (bool, string) {
		o, ok, err := probe.Lookup(context.Background(), "team-gamma")
		return ok && o.Node == "node-1", fmt.Sprintf("%+v %v %v", o, ok, err)
	})
	g := sshGuest(t, node, "team-gamma", 80, 25)
	h.run("send-keys", "echo back-$((6*7))", "Enter")
	g.waitFor("back-42", 10*time.Second)
}

// A guest reaches a session from any node: the node it reached carries its
// terminal to the owner over the node link. It sees the host's screen, its
// keys reach the host, and the host hears its own address. A token no node
// holds gets the single relay's answer.
func TestClusterGuestOnAnotherNodeReachesTheSession(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	etcd := etcdtest.Start(t)
	nodes := clusterRelays(t, etcd, 2)
	h := spawnHost(t, nodes[0], "")
	h.waitReady(20 * time.Second)
	token := tokenOf(t, h.display("#{tmate_ssh}"))
	h.run("send-keys", "echo on-node-$((0+1))", "Enter")

	// From 127.0.0.2, to node-2, which does not hold the session.
	g := sshGuestWith(t, nodes[1], token, "-b", "127.0.0.2")
	g.waitFor("on-node-1", 15*time.Second)
	h.waitMessage("A mate has joined (127.0.0.2)", 10*time.Second)
	g.send("echo typed-$((6*7))\r")
	eventually(t, 10*time.Second, "the forwarded guest's keys reach the host", func() (bool, string) {
		s := h.capture("-p")
		return strings.Contains(s, "typed-42"), s
	})
	// A window change reaches the owner too: the window follows the
	// smallest read-write guest.
	g.tmux("resize-window", "-x", "60", "-y", "20")
	eventually(t, 10*time.Second, "the forwarded guest's size reaches the host", func() (bool, string) {
		s := h.display("#{window_width}x#{window_height}")
		return strings.HasPrefix(s, "60x"), s
	})
	if !strings.Contains(nodes[1].log.String(), "guest forwarded") {
		t.Errorf("node-2 did not log the forwarding:\n%s", nodes[1].log.String())
	}

	bad := sshGuest(t, nodes[1], "NoSuchSessionNoSuchSessionNo", 80, 25)
	if s := bad.waitExitScreen(); !strings.Contains(s, "Invalid or expired session token") {
		t.Fatalf("an unknown token on node-2:\n%s", s)
	}

	// node-2 stops (SIGTERM, as for an upgrade): the guest it carries is
	// told to join again, at once; the session carries on on node-1.
	stopped := time.Now()
	nodes[1].restart()
	if s := g.waitExitScreenWithin(5 * time.Second); !strings.Contains(strings.ReplaceAll(s, "\n", ""), "join again with the same command") {
		t.Fatalf("the carried guest when node-2 stops:\n%s", s)
	}
	t.Logf("carried guest told to join again %v after node-2's SIGTERM", time.Since(stopped).Round(time.Millisecond))
	again := sshGuest(t, nodes[0], token, 80, 25)
	h.run("send-keys", "echo still-$((6*7))", "Enter")
	again.waitFor("still-42", 10*time.Second)
}

// A browser guest reaches a session from any node: the node whose page it
// opened carries the page and its WebSocket to the owner. A token no node
// holds gets the single relay's page.
func TestClusterBrowserGuestOnAnotherNode(t *testing.T) {
	needTools(t, "tmate", "ssh-keygen", "node", "chromium")
	b := browsertest.Start(t, "testdata/browser")
	etcd := etcdtest.Start(t)
	nodes := clusterRelays(t, etcd, 2)
	h := startHost(t, nodes[0], 80, 24, "")
	token := tokenOf(t, h.display("#{tmate_ssh}"))
	h.run("send-keys", "echo on-node-$((0+1))", "Enter")

	page := fmt.Sprintf("http://127.0.0.1:%d/t/%s", nodes[1].webPort, token)
	if st := b.Open("rw", page, 1000, 600); st != 200 {
		t.Fatalf("GET %s: status %d", page, st)
	}
	waitScreen(t, b, "rw", "node-2's page shows the host's output", func(s browsertest.Reply) bool { return strings.Contains(s.Text, "on-node-1") })
	typed := filepath.Join(t.TempDir(), "typed")
	b.Type("rw", "echo typed-in-page > "+typed)
	b.Press("rw", "Enter")
	eventually(t, 10*time.Second, "the page's typing ran on the host", func() (bool, string) {
		got, err := os.ReadFile(typed)
		return err == nil && string(got) == "typed-in-page\n", h.capture()
	})

	never := b.Open("never", fmt.Sprintf("http://127.0.0.1:%d/t/neverAtokenB23456789abcdefgh", nodes[1].webPort), 800, 400)
	local := b.Open("local", fmt.Sprintf("http://127.0.0.1:%d/t/neverAtokenB23456789abcdefgh", nodes[0].webPort), 800, 400)
	if never != 404 || local != 404 || b.Body("never").Text != b.Body("local").Text {
		t.Errorf("an unknown token on node-2 (%d):\n%s\non node-1 (%d):\n%s", never, b.Body("never").Text, local, b.Body("local").Text)
	}
}

// waitExitScreenWithin is waitExitScreen with its own bound.
func (tm *term) waitExitScreenWithin(d time.Duration) string {
	tm.t.Helper()
	eventually(tm.t, d, "ssh exits", func() (bool, string) { return tm.exited(), tm.screen() })
	return tm.screen()
}

// haproxy runs Debian's HAProxy in TCP mode in front of the nodes, sending
// the PROXY protocol (v2) to each, as docs/scaling.md's example does: the
// "all" frontend balances over every node that is up (balance first: the
// first one up), the "last" one sends only to the last node. Its health checks take a node that
// refuses connections out at once.
type haproxy struct {
	all, last int // frontend ports
}

func startHAProxyOn(t testing.TB, nodes []*relay, allPort int, balance string) *haproxy {
	t.Helper()
	needTools(t, "haproxy")
	hp := &haproxy{all: allPort, last: freePort(t)}
	var servers strings.Builder
	for i, r := range nodes {
		fmt.Fprintf(&servers, "  server node-%d 127.0.0.1:%d check inter 200ms fall 1 rise 2 send-proxy-v2 check-send-proxy\n", i+1, r.port)
	}
	last := nodes[len(nodes)-1]
	cfg := fmt.Sprintf(`global
  maxconn 1000
defaults
  mode tcp
  timeout connect 1s
  timeout client 1h
  timeout server 1h
  retries 3
  option redispatch
frontend all
  bind 127.0.0.1:%d
  default_backend nodes
frontend last
  bind 127.0.0.1:%d
  default_backend last
backend nodes
  balance %s
%sbackend last
  server node-%d 127.0.0.1:%d send-proxy-v2
`, hp.all, hp.last, balance, servers.String(), len(nodes), last.port)
	runHAProxy(t, cfg, hp.all)
	return hp
}

// behindBalancer edits a node's relay.toml for a node behind HAProxy: its
// SSH port reads the PROXY protocol, and hosts are told the balancer's
// port.
func behindBalancer(conf string, port int) string {
	conf = strings.Replace(conf, "[ssh]\n", "[ssh]\nproxy_protocol = true\n", 1)
	return advertisePort.ReplaceAllString(conf, fmt.Sprintf("advertise_port = %d", port))
}

var advertisePort = regexp.MustCompile(`(?m)^advertise_port = \d+$`)

// runHAProxy runs Debian's haproxy with cfg until the test ends, once each
// of ports accepts connections; its log is shown when the test fails.
func runHAProxy(t testing.TB, cfg string, ports ...int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("haproxy", "-db", "-f", path)
	var log logtest.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("haproxy:\n%s", log.String())
		}
	})
	eventually(t, 10*time.Second, "haproxy listening", func() (bool, string) {
		for _, port := range ports {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				return false, err.Error() + "\n" + log.String()
			}
			c.Close()
		}
		return true, ""
	})
}

// The node holding a session is killed (SIGKILL): its host reconnects
// through HAProxy to another node, which takes the session over with the
// same tokens as soon as the dead node's internal address refuses
// connections (its lease, 30 s here, has not expired yet), and the guest's
// same ssh command works again. A session on the surviving node, with its
// guest there, is not interrupted: the guest stays connected and the
// markers its host prints keep coming, before, during and after. Every node sees the clients' own
// addresses (PROXY protocol v2).
func TestClusterHostFailsOverWhenItsNodeIsKilled(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen", "haproxy")
	etcd := etcdtest.Start(t)
	// The ports HAProxy listens on are known before the nodes start, so
	// that they advertise it.
	allPort := freePort(t)
	nodes := clusterRelaysWith(t, etcd, 2, func(conf string) string {
		return behindBalancer(strings.Replace(conf, `lease_ttl = "2s"`, `lease_ttl = "30s"`, 1), allPort)
	})
	hp := startHAProxyOn(t, nodes, allPort, "first")
	viaAll, viaLast := *nodes[0], *nodes[1]
	viaAll.port, viaLast.port = hp.all, hp.last
	lastRC := strings.Replace(nodes[1].tmateRC, fmt.Sprintf("tmate-server-port %d", allPort), fmt.Sprintf("tmate-server-port %d", hp.last), 1)

	viaLast.tmateRC = lastRC
	other := startHost(t, &viaLast, 80, 24, "")
	otherGuest := sshGuestWith(t, &viaLast, tokenOf(t, other.display("#{tmate_ssh}")), "-b", "127.0.0.3")
	other.run("send-keys", "echo other-first", "Enter")
	otherGuest.waitFor("other-first", 10*time.Second) // on node-2 itself
	// The surviving session's host prints a marker every 0.3 s from now
	// on: its guest must see them keep coming through node-1's death.
	other.run("send-keys", "i=0; while :; do i=$((i+1)); echo mark-$i; sleep 0.3; done", "Enter")
	lastMark := waitMarkAfter(t, otherGuest, 0)

	h := startAttachedHost(t, &viaAll, 80, 24, "")
	sshCmd := h.display("#{tmate_ssh}")
	token := tokenOf(t, sshCmd)
	g := sshGuestWith(t, &viaAll, token, "-b", "127.0.0.2")
	h.run("send-keys", "echo before-$((6*7))", "Enter")
	g.waitFor("before-42", 10*time.Second)
	h.waitMessage("A mate has joined (127.0.0.2)", 10*time.Second)
	if !strings.Contains(nodes[0].log.String(), "session started") {
		t.Fatalf("the host's session is not on node-1:\n%s", nodes[0].log.String())
	}

	killed := time.Now()
	defer func() {
		if t.Failed() {
			t.Logf("node-1's log up to its kill:\n%s", nodes[0].log.String())
		}
	}()
	nodes[0].cmd.Process.Kill()
	nodes[0].cmd.Wait()
	eventually(t, 20*time.Second, "the host is back on node-2", func() (bool, string) {
		return strings.Contains(nodes[1].log.String(), "host reconnected") && strings.Contains(h.messages(), "Reconnected"), h.messages()
	})
	back := time.Since(killed)
	lastMark = waitMarkAfter(t, otherGuest, lastMark)
	if got := h.display("#{tmate_ssh}"); got != sshCmd {
		t.Fatalf("after the failover the host shows %q, want %q", got, sshCmd)
	}
	again := sshGuestWith(t, &viaAll, token, "-b", "127.0.0.2")
	h.run("send-keys", "echo after-$((6*7))", "Enter")
	again.waitFor("after-42", 15*time.Second)
	t.Logf("failover: host back %v after SIGKILL, guest output %v after", back.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))
	if !strings.Contains(nodes[1].log.String(), "taking over a session whose node is gone") {
		t.Errorf("node-2 did not log the takeover:\n%s", nodes[1].log.String())
	}

	waitMarkAfter(t, otherGuest, lastMark)
	if otherGuest.exited() {
		t.Fatal("the guest of the session on the surviving node was cut off")
	}
}

var markRE = regexp.MustCompile(`(?m)^mark-(\d+)\s*$`)

// waitMarkAfter waits until g shows a marker line numbered above after,
// and returns the highest it shows; a guest cut off fails at once.
func waitMarkAfter(t *testing.T, g *term, after int) int {
	t.Helper()
	last := 0
	eventually(t, 10*time.Second, fmt.Sprintf("a marker after mark-%d", after), func() (bool, string) {
		s := g.screen()
		if g.exited() {
			t.Fatalf("the guest of the session on the surviving node was cut off:\n%s", s)
		}
		for _, m := range markRE.FindAllStringSubmatch(s, -1) {
			n, _ := strconv.Atoi(m[1])
			last = max(last, n)
		}
		return last > after, s
	})
	return last
}

// A rolling restart behind HAProxy: each node in turn is stopped with
// SIGTERM (as an upgrade does) and started again. A stopping node leaves
// the cluster first; its hosts reconnect through HAProxy and keep their
// tokens; a guest of one of its sessions, or carried through it, is told
// to join again, and others carry on. After each restart every session's
// ssh command works.
func TestClusterRollingRestartKeepsEveryToken(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen", "haproxy")
	etcd := etcdtest.Start(t)
	allPort := freePort(t)
	nodes := clusterRelaysWith(t, etcd, 2, func(conf string) string {
		return behindBalancer(conf, allPort)
	})
	hp := startHAProxyOn(t, nodes, allPort, "roundrobin")
	viaAll := *nodes[0]
	viaAll.port = hp.all

	const sessions = 4
	var hosts []*host
	var cmds []string
	for range sessions {
		h := startHost(t, &viaAll, 80, 24, "")
		hosts = append(hosts, h)
		cmds = append(cmds, h.display("#{tmate_ssh}"))
	}
	for i, n := range nodes {
		if !strings.Contains(n.log.String(), "session started") {
			t.Fatalf("node-%d holds no session before its restart:\n%s", i+1, n.log.String())
		}
		// A guest of every session, through HAProxy: on its session's
		// node or carried there from the other.
		var guests []*term
		for j, h := range hosts {
			g := sshGuest(t, &viaAll, tokenOf(t, cmds[j]), 80, 25)
			h.run("send-keys", fmt.Sprintf("echo before-%d-%d", i, j), "Enter")
			g.waitFor(fmt.Sprintf("before-%d-%d", i, j), 15*time.Second)
			guests = append(guests, g)
		}
		stopped := time.Now()
		n.restart() // SIGTERM, then the same node starts again
		// Each guest either carries on or is told to join again.
		for j, g := range guests {
			eventually(t, 15*time.Second, fmt.Sprintf("guest %d after node-%d's SIGTERM", j, i+1), func() (bool, string) {
				s := g.screen()
				if g.exited() {
					return strings.Contains(strings.ReplaceAll(s, "\n", ""), "join again with the same command"), s
				}
				hosts[j].run("send-keys", fmt.Sprintf("echo during-%d-%d", i, j), "Enter")
				time.Sleep(200 * time.Millisecond)
				return strings.Contains(g.screen(), fmt.Sprintf("during-%d-%d", i, j)), s
			})
		}
		// Its hosts come back on the other node, or on itself once it
		// is up again (HAProxy balances over the nodes up): every
		// ssh command works again, its guest sees its host's output.
		for j, h := range hosts {
			guest := sshGuest(t, &viaAll, tokenOf(t, cmds[j]), 80, 25)
			eventually(t, 30*time.Second, fmt.Sprintf("session %d after node-%d's restart", j, i+1), func() (bool, string) {
				h.run("send-keys", fmt.Sprintf("echo round-%d-%d", i, j), "Enter")
				time.Sleep(200 * time.Millisecond)
				s := guest.screen()
				if guest.exited() { // joined while the host was away, or refused: once more
					guest = sshGuest(t, &viaAll, tokenOf(t, cmds[j]), 80, 25)
				}
				return strings.Contains(s, fmt.Sprintf("round-%d-%d", i, j)), s
			})
		}
		t.Logf("node-%d restarted: every session reachable again %v after its SIGTERM", i+1, time.Since(stopped).Round(time.Millisecond))
	}
	for i, h := range hosts {
		if got := h.display("#{tmate_ssh}"); got != cmds[i] {
			t.Fatalf("host %d shows %q after the restarts, want %q", i, got, cmds[i])
		}
	}
	if n := strings.Count(nodes[0].log.String(), "host reconnected") + strings.Count(nodes[1].log.String(), "host reconnected"); n < sessions {
		t.Errorf("%d host reconnections, want at least %d", n, sessions)
	}
}
