package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"tmate-relay/service/cluster/etcdtest"
	"tmate-relay/service/sshd"
	"tmate-relay/service/web/browsertest"
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
// one: the guest's line goes silent (the node it reached probes it as any
// guest, and ends the carrying), the node that carried it hangs (SIGSTOP: its connections stay open,
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
	line := startCutProxy(t, fmt.Sprintf("127.0.0.1:%d", nodes[1].port)) // node-2 sees 127.0.0.1
	vanished := sshGuestWith(t, via(nodes[1], line.port), token)
	hung := sshGuestWith(t, nodes[1], token, "-b", "127.0.0.2")
	killed := sshGuestWith(t, nodes[2], token, "-b", "127.0.0.3")
	for _, g := range []*term{vanished, hung, killed} {
		g.waitFor("carried-42", 15*time.Second)
	}
	h.waitMessage("A mate has joined (127.0.0.3)", 10*time.Second)

	t.Run("guest vanishes", func(t *testing.T) {
		// Its node probes it as any guest, and ends its carrying.
		gone := time.Now()
		line.strand()
		h.waitMessage("A mate has left (127.0.0.1)", 30*time.Second)
		t.Logf("vanished guest left %v after its line went silent", time.Since(gone).Round(100*time.Millisecond))
	})

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

// haproxyAddr is where the relay sees HAProxy connect from: the clients'
// own addresses are other loopback addresses, so that a node showing this
// one for a guest shows HAProxy, not the guest.
const haproxyAddr = "127.0.0.9"

// edgeProxy is Debian's HAProxy in front of the nodes as the shipped
// haproxy.cfg runs it: TCP mode, PROXY protocol v2 to every node for SSH
// and HTTP, health checks. The "all" frontends balance over every node;
// the pinned ones reach one node each, as an administrator reaches one
// node behind the balancer (with proxy_protocol a node refuses
// connections without a header).
type edgeProxy struct {
	sshAll, webAll   int
	sshNode, webNode []int
}

func startEdgeProxy(t testing.TB, nodes []*relay, sshAll, webAll int) *edgeProxy {
	t.Helper()
	needTools(t, "haproxy")
	p := &edgeProxy{sshAll: sshAll, webAll: webAll}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, `global
  maxconn 4000
defaults
  mode tcp
  timeout connect 1s
  timeout client 1h
  timeout server 1h
  retries 3
  option redispatch
  source %s
frontend ssh_all
  bind 127.0.0.1:%d
  default_backend ssh_all
frontend web_all
  bind 127.0.0.1:%d
  default_backend web_all
`, haproxyAddr, sshAll, webAll)
	for _, side := range []string{"ssh", "web"} {
		fmt.Fprintf(&cfg, "backend %s_all\n  balance roundrobin\n", side)
		for i, r := range nodes {
			port := r.port
			if side == "web" {
				port = r.webPort
			}
			fmt.Fprintf(&cfg, "  server node-%d 127.0.0.1:%d check inter 500ms fall 2 rise 1 send-proxy-v2 check-send-proxy\n", i+1, port)
		}
	}
	for i, r := range nodes {
		ssh, web := freePort(t), freePort(t)
		p.sshNode, p.webNode = append(p.sshNode, ssh), append(p.webNode, web)
		fmt.Fprintf(&cfg, "listen ssh_node%d\n  bind 127.0.0.1:%d\n  server node-%d 127.0.0.1:%d send-proxy-v2\n", i+1, ssh, i+1, r.port)
		fmt.Fprintf(&cfg, "listen web_node%d\n  bind 127.0.0.1:%d\n  server node-%d 127.0.0.1:%d send-proxy-v2\n", i+1, web, i+1, r.webPort)
	}
	runHAProxy(t, cfg.String(), append([]int{sshAll, webAll}, append(p.sshNode, p.webNode...)...)...)
	return p
}

// edgeCluster starts etcd and three nodes reading the PROXY protocol on
// both ports, advertising HAProxy's SSH port, with HAProxy in front.
func edgeCluster(t testing.TB, edit func(conf string) string) ([]*relay, *edgeProxy) {
	t.Helper()
	etcd := etcdtest.Start(t)
	sshAll, webAll := freePort(t), freePort(t)
	nodes := clusterRelaysWith(t, etcd, 3, func(conf string) string {
		conf = behindBalancer(conf, sshAll)
		// No public_url: a page's WebSocket is then checked against the
		// address the browser asked for, so a browser may reach a node by
		// its pinned frontend as well as through the balancer.
		conf = strings.Replace(conf, "[web]\n", "[web]\nproxy_protocol = true\n", 1)
		if edit != nil {
			conf = edit(conf)
		}
		return conf
	})
	return nodes, startEdgeProxy(t, nodes, sshAll, webAll)
}

// via is r reached through HAProxy's frontend on port.
func via(r *relay, port int) *relay {
	c := *r
	c.port = port
	return &c
}

// A host joins through HAProxy in front of three nodes. ssh guests on each
// node (its pinned frontend) and through the balancing frontend, and
// Chromium through it and directly on a node that does not hold the
// session, all see the same screen; what the read-write ones type, over
// ssh and in the page, reaches the host. The node holding the session
// sees every guest's own address, never HAProxy's: in the host's "joined"
// messages and in the audit trail.
func TestClusterBehindHAProxy(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen", "haproxy", "node", "chromium")
	b := browsertest.Start(t, "testdata/browser")
	nodes, hp := edgeCluster(t, nil)
	h := startAttachedHost(t, via(nodes[0], hp.sshAll), 80, 24, "") // attached: it keeps the relay's messages
	token := tokenOf(t, h.display("#{tmate_ssh}"))
	roToken := tokenOf(t, h.display("#{tmate_ssh_ro}"))
	owner := -1
	for i, r := range nodes {
		if strings.Contains(r.log.String(), "session started") {
			owner = i
		}
	}
	if owner < 0 {
		t.Fatal("no node logs the host's session")
	}
	other := (owner + 1) % len(nodes)
	t.Logf("the session is on node-%d", owner+1)
	h.run("send-keys", "echo hello-$((6*7))", "Enter")

	// ssh guests: one on each node, read-only on the third, and one
	// through the balancer; each from an address of its own.
	type guest struct {
		name, addr string
		tm         *term
	}
	var guests []guest
	for i := range nodes {
		tok := token
		if i == 2 {
			tok = roToken
		}
		addr := fmt.Sprintf("127.0.0.%d", 11+i)
		guests = append(guests, guest{fmt.Sprintf("ssh on node-%d", i+1), addr, sshGuestWith(t, via(nodes[i], hp.sshNode[i]), tok, "-b", addr)})
	}
	guests = append(guests, guest{"ssh through HAProxy", "127.0.0.14", sshGuestWith(t, via(nodes[0], hp.sshAll), token, "-b", "127.0.0.14")})
	pages := map[string]string{
		"web through HAProxy":                  fmt.Sprintf("http://127.0.0.1:%d/t/%s", hp.webAll, token),
		fmt.Sprintf("web on node-%d", other+1): fmt.Sprintf("http://127.0.0.1:%d/t/%s", hp.webNode[other], token),
	}
	for page, url := range pages {
		if st := b.Open(page, url, 900, 500); st != 200 {
			t.Fatalf("%s: GET %s: status %d", page, url, st)
		}
	}
	sees := func(want string) {
		t.Helper()
		for _, g := range guests {
			g.tm.waitFor(want, 15*time.Second)
		}
		for page := range pages {
			waitScreen(t, b, page, page+" shows "+want, func(s browsertest.Reply) bool { return strings.Contains(s.Text, want) })
		}
	}
	sees("hello-42")

	t.Run("keys reach the host", func(t *testing.T) {
		for _, g := range guests {
			if g.addr == "127.0.0.13" {
				continue // read-only
			}
			g.tm.send(fmt.Sprintf("echo from-%s-$((6*7))\r", strings.ReplaceAll(g.addr, ".", "-")))
			want := fmt.Sprintf("from-%s-42", strings.ReplaceAll(g.addr, ".", "-"))
			eventually(t, 10*time.Second, g.name+"'s keys reach the host", func() (bool, string) {
				s := h.capture("-p")
				return strings.Contains(s, want), s
			})
		}
		b.Type("web through HAProxy", "echo from-web-$((6*7))")
		b.Press("web through HAProxy", "Enter")
		eventually(t, 10*time.Second, "the page's keys reach the host", func() (bool, string) {
			s := h.capture("-p")
			return strings.Contains(s, "from-web-42"), s
		})
		sees("from-web-42") // everyone's screen has it, ssh and browsers
	})

	t.Run("owner sees the guests' addresses", func(t *testing.T) {
		joined := []string{"A mate has joined (127.0.0.1)"} // the browsers
		for _, g := range guests {
			joined = append(joined, fmt.Sprintf("A mate has joined (%s)", g.addr))
		}
		eventually(t, 10*time.Second, "the host hears every guest's address", func() (bool, string) {
			m := h.messages()
			for _, want := range joined {
				if !strings.Contains(m, want) {
					return false, m
				}
			}
			return true, ""
		})
		if m := h.messages(); strings.Contains(m, "("+haproxyAddr+")") {
			t.Errorf("the host heard HAProxy's address:\n%s", m)
		}
		ownerLog := nodes[owner].log.String()
		for _, want := range []string{"guest_addr=127.0.0.11 ", "guest_addr=127.0.0.12 ", "guest_addr=127.0.0.13 ", "guest_addr=127.0.0.14 "} {
			if !regexp.MustCompile(`event=guest_join .*` + regexp.QuoteMeta(want) + `.*transport=ssh`).MatchString(ownerLog) {
				t.Errorf("the owner's audit trail has no ssh guest_join with %s", want)
			}
		}
		if n := len(regexp.MustCompile(`event=guest_join .*guest_addr=127\.0\.0\.1 .*transport=web`).FindAllString(ownerLog, -1)); n < 2 {
			t.Errorf("the owner's audit trail has %d web guest_joins from 127.0.0.1, want 2", n)
		}
		if strings.Contains(ownerLog, "guest_addr="+haproxyAddr) {
			t.Errorf("the owner recorded HAProxy's address for a guest:\n%s", ownerLog)
		}
		if !strings.Contains(nodes[other].log.String(), "guest forwarded") {
			t.Errorf("node-%d forwarded no ssh guest:\n%s", other+1, nodes[other].log.String())
		}
	})
}

// [web] proxy_protocol works on the socket systemd hands over
// (tmate-relay-http.socket): the address a PROXY header names is the
// browser's, and a connection without one is refused.
func TestSocketActivatedWebReadsTheProxyProtocol(t *testing.T) {
	needTools(t, "systemd-socket-activate")
	r := prepareRelay(t, "")
	conf, err := os.ReadFile(r.conf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.conf, []byte(strings.Replace(string(conf), "[web]\n", "[web]\nproxy_protocol = true\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	r.launch("systemd-socket-activate",
		"-l", fmt.Sprintf("127.0.0.1:%d", r.port), "-l", fmt.Sprintf("127.0.0.1:%d", r.webPort),
		"--fdname=ssh:http", "--", relayBin, "serve", "-c", r.conf)
	get := func(header bool) string {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.webPort))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(15 * time.Second))
		if header {
			io.WriteString(c, "PROXY TCP4 203.0.113.7 127.0.0.1 40001 10081\r\n")
		}
		io.WriteString(c, "GET /t/neverAtokenB23456789abcdefgh HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n")
		b, _ := io.ReadAll(c)
		return string(b)
	}
	if got := get(true); !strings.HasPrefix(got, "HTTP/1.1 404") {
		t.Fatalf("with a header: %q", got)
	}
	eventually(t, 10*time.Second, "the refusal names the browser's address", func() (bool, string) {
		return strings.Contains(r.log.String(), "guest_addr=203.0.113.7"), r.log.String()
	})
	if got := get(false); got != "" {
		t.Fatalf("without a header: %q, want the connection closed", got)
	}
}
