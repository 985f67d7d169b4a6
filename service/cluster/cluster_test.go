package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"tmate-relay/service/cluster/etcdtest"
	"tmate-relay/service/protocol"
	"tmate-relay/service/session"
)

// testTTL keeps lease expiry short in tests (etcd's shortest is about 2s).
const testTTL = 2 * time.Second

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func testIdentity() []Check {
	return []Check{
		{Name: "host-key/ssh-ed25519", What: "host key", File: "/keys/ssh_host_ed25519_key", Value: "SHA256:edEDedEDedEDedEDedEDedEDedEDedEDedEDedEDedE"},
		{Name: "host-key/ssh-rsa", What: "host key", File: "/keys/ssh_host_rsa_key", Value: "SHA256:rsaRSArsaRSArsaRSArsaRSArsaRSArsaRSArsaRSA"},
		{Name: "repo-signing-key", What: "repository signing key", File: "/state/repo-signing-key", Value: "0123456789ABCDEF0123456789ABCDEF01234567"},
		{Name: "reconnect-key", What: "reconnection key", File: "/state/reconnect-key", Value: SecretCheck(testSecret)},
	}
}

func testConfig(endpoint, name string) Config {
	return Config{
		Endpoints:         []string{endpoint},
		NodeName:          name,
		InternalAdvertise: name + ".internal:10023",
		LeaseTTL:          testTTL,
		Secret:            testSecret,
		Identity:          testIdentity(),
	}
}

func join(t *testing.T, cfg Config) *Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := Join(ctx, cfg)
	if err != nil {
		t.Fatalf("join %s: %v", cfg.NodeName, err)
	}
	t.Cleanup(func() {
		select {
		case <-n.done:
		default:
			n.Close()
		}
	})
	return n
}

// eventually polls cond until it holds (a bound for a test that would
// otherwise hang, not a timing assertion).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func nodeNames(t *testing.T, n *Node) []string {
	t.Helper()
	nodes, err := n.Nodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range nodes {
		names = append(names, x.Name+"="+x.Internal)
	}
	slices.Sort(names)
	return names
}

func TestNodesAreListedWhileTheirLeaseLives(t *testing.T) {
	etcd := etcdtest.Start(t)
	a := join(t, testConfig(etcd.Endpoint(), "node-a"))
	b := join(t, testConfig(etcd.Endpoint(), "node-b"))
	want := []string{"node-a=node-a.internal:10023", "node-b=node-b.internal:10023"}
	if got := nodeNames(t, b); !slices.Equal(got, want) {
		t.Fatalf("live nodes %v, want %v", got, want)
	}

	// Killed: no revoke. The node stays listed until its lease expires,
	// then it is gone for the others.
	a.abandon()
	if got := nodeNames(t, b); !slices.Contains(got, want[0]) {
		t.Fatalf("node-a vanished before its lease expired: %v", got)
	}
	eventually(t, "node-a's lease expires", func() bool { return slices.Equal(nodeNames(t, b), want[1:]) })

	// A node that leaves (Close) is gone at once.
	c := join(t, testConfig(etcd.Endpoint(), "node-c"))
	c.Close()
	if got := nodeNames(t, b); !slices.Equal(got, want[1:]) {
		t.Fatalf("after node-c left: %v, want %v", got, want[1:])
	}
}

func TestANodeNameIsOneRelays(t *testing.T) {
	etcd := etcdtest.Start(t)
	join(t, testConfig(etcd.Endpoint(), "node-a"))
	_, err := Join(context.Background(), testConfig(etcd.Endpoint(), "node-a"))
	if err == nil || !strings.Contains(err.Error(), `node_name "node-a" is taken by a live node`) {
		t.Fatalf("a second relay named node-a: %v", err)
	}
}

func TestARestartedNodeWaitsForItsOldLease(t *testing.T) {
	etcd := etcdtest.Start(t)
	a := join(t, testConfig(etcd.Endpoint(), "node-a"))
	a.Register("s1", []string{"tok1", "ro-tok1"})
	a.abandon() // killed
	a2 := join(t, testConfig(etcd.Endpoint(), "node-a"))
	// The killed process's sessions went with it: its tokens expired
	// with its lease before the new process joined.
	if _, ok, err := a2.Lookup(context.Background(), "tok1"); ok || err != nil {
		t.Fatalf("the killed process's token is still registered (err %v)", err)
	}
}

func TestANodeWithOtherKeysIsRefused(t *testing.T) {
	etcd := etcdtest.Start(t)
	join(t, testConfig(etcd.Endpoint(), "node-a"))
	for i, c := range testIdentity() {
		t.Run(c.Name, func(t *testing.T) {
			cfg := testConfig(etcd.Endpoint(), "node-x")
			cfg.Identity[i].Value = strings.Repeat("f", len(c.Value))
			_, err := Join(context.Background(), cfg)
			var mm *MismatchError
			if !errors.As(err, &mm) {
				t.Fatalf("join with another %s: %v", c.What, err)
			}
			want := c.What + " " + c.File + " differs from the cluster's"
			if !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("message %q, want it to start %q", err, want)
			}
			if strings.Contains(err.Error(), string(testSecret)) {
				t.Fatalf("the message shows the key: %q", err)
			}
		})
	}
	// The same keys join.
	join(t, testConfig(etcd.Endpoint(), "node-b"))
}

func TestTokensLeadToTheirNode(t *testing.T) {
	etcd := etcdtest.Start(t)
	a := join(t, testConfig(etcd.Endpoint(), "node-a"))
	b := join(t, testConfig(etcd.Endpoint(), "node-b"))
	const token, ro = "Tok3nTok3nTok3nTok3nTok3n", "ro-Tok3nTok3nTok3nTok3nTok3nRO"
	before, proposals := a.Writes(), etcd.Proposals()
	if err := a.Register("0123456789abcdef", []string{token, ro}); err != nil {
		t.Fatal(err)
	}
	if got, committed := a.Writes()-before, etcd.Proposals()-proposals; got != 1 || committed != 1 {
		t.Errorf("a session's start took %d etcd writes (%d committed by etcd), want 1", got, committed)
	}
	for _, tok := range []string{token, ro} {
		o, ok, err := b.Lookup(context.Background(), tok)
		if err != nil || !ok {
			t.Fatalf("lookup from node-b: ok %v err %v", ok, err)
		}
		if want := (Owner{Node: "node-a", Internal: "node-a.internal:10023", Session: "0123456789abcdef"}); o != want {
			t.Fatalf("owner %+v, want %+v", o, want)
		}
	}
	if _, ok, err := b.Lookup(context.Background(), "NoSuchTokenNoSuchTokenNoS"); ok || err != nil {
		t.Fatalf("an unknown token: ok %v err %v", ok, err)
	}

	// etcd holds neither a token nor the key they are hashed with.
	all := dump(t, etcd.Endpoint())
	for _, secret := range []string{token, "Tok3n", string(testSecret)} {
		if strings.Contains(all, secret) {
			t.Fatalf("etcd holds %q:\n%s", secret, all)
		}
	}

	before, proposals = a.Writes(), etcd.Proposals()
	a.Withdraw("0123456789abcdef")
	eventually(t, "the ended session's tokens are forgotten", func() bool {
		_, ok, _ := b.Lookup(context.Background(), token)
		return !ok
	})
	// The write is counted once etcd has answered it, which may be after
	// node-b already misses the tokens.
	eventually(t, "the end's write counted", func() bool { return a.Writes()-before >= 1 })
	if got, committed := a.Writes()-before, etcd.Proposals()-proposals; got != 1 || committed != 1 {
		t.Errorf("a session's end took %d etcd writes (%d committed by etcd), want 1", got, committed)
	}
}

// dump is every key and value in etcd, one per line.
func dump(t *testing.T, endpoint string) string {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	resp, err := cli.Get(context.Background(), "", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, kv := range resp.Kvs {
		b.WriteString(string(kv.Key) + " " + string(kv.Value) + "\n")
	}
	return b.String()
}

// hostSender is a host that takes what the relay sends and keeps the
// notices.
type hostSender struct {
	mu      sync.Mutex
	notices []string
}

func (h *hostSender) Notify(msg string) error {
	h.mu.Lock()
	h.notices = append(h.notices, msg)
	h.mu.Unlock()
	return nil
}
func (h *hostSender) Resize(int, int) error        { return nil }
func (h *hostSender) SetEnv(string, string) error  { return nil }
func (h *hostSender) Ready() error                 { return nil }
func (h *hostSender) PaneKey(int, uint64) error    { return nil }
func (h *hostSender) ExecCmd(int, ...string) error { return nil }
func (h *hostSender) said() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.notices)
}

var _ session.HostSender = (*hostSender)(nil)

// relay is one node's session registry in the cluster.
func relay(node *Node) *session.Registry {
	reg := session.NewRegistry(0)
	reg.SetDirectory(node)
	node.OnClash(reg.EndTaken)
	return reg
}

// startSession is a host starting a session on reg with options set; it
// returns what READY returned.
func startSession(t *testing.T, reg *session.Registry, options ...[2]string) (*session.Session, *hostSender, error) {
	t.Helper()
	h := &hostSender{}
	s := session.New(session.Config{}, h)
	if err := reg.Add(s); err != nil {
		t.Fatal(err)
	}
	for _, o := range options {
		if _, err := s.Apply(&protocol.ExecCmd{Argv: []string{"set-option", "-g", o[0], o[1]}}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.Apply(&protocol.Ready{})
	return s, h, err
}

func refusal(err error) string {
	var r *session.RefusedError
	if errors.As(err, &r) {
		return r.Msg
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func TestANameHeldOnOneNodeIsRefusedOnAnother(t *testing.T) {
	etcd := etcdtest.Start(t)
	a := join(t, testConfig(etcd.Endpoint(), "node-a"))
	b := join(t, testConfig(etcd.Endpoint(), "node-b"))
	regA, regB := relay(a), relay(b)
	proposals := etcd.Proposals()
	first, _, err := startSession(t, regA, [2]string{"tmate-session-name", "alpha"}, [2]string{"tmate-session-name-ro", "alpha-view"})
	if err != nil {
		t.Fatal(err)
	}
	if got := etcd.Proposals() - proposals; got != 1 {
		t.Errorf("a named session's start took %d etcd writes, want 1", got)
	}
	if o, ok, _ := b.Lookup(context.Background(), "alpha"); !ok || o.Node != "node-a" || o.Session != first.ID() {
		t.Fatalf("alpha in etcd: %+v %v", o, ok)
	}
	for _, tc := range []struct {
		name    string
		options [][2]string
	}{
		{"the same name", [][2]string{{"tmate-session-name", "alpha"}}},
		{"the other session's read-only name", [][2]string{{"tmate-session-name", "alpha-view"}}},
		{"a read-only name in use", [][2]string{{"tmate-session-name", "beta"}, {"tmate-session-name-ro", "alpha"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The same clash on one relay is the reference message.
			_, _, local := startSession(t, regA, tc.options...)
			proposals := etcd.Proposals()
			_, _, remote := startSession(t, regB, tc.options...)
			// The refused transaction is still one raft proposal.
			if got := etcd.Proposals() - proposals; got != 1 {
				t.Errorf("a refused name took %d etcd writes, want 1", got)
			}
			if refusal(remote) == "" || refusal(remote) != refusal(local) {
				t.Fatalf("refused on node-b with %q, on node-a (local clash) with %q", refusal(remote), refusal(local))
			}
		})
	}
	// A refused session left nothing behind: beta is free on node-b.
	if _, _, err := startSession(t, regB, [2]string{"tmate-session-name", "beta"}); err != nil {
		t.Fatalf("beta after the refusals: %v", err)
	}
	// The name is free once its session ends.
	regA.Remove(first)
	eventually(t, "alpha is free on node-b", func() bool {
		_, _, err := startSession(t, regB, [2]string{"tmate-session-name", "alpha"})
		return err == nil
	})
}

func TestSessionsStartedWithoutEtcdAreRegisteredWhenItIsBack(t *testing.T) {
	etcd := etcdtest.Start(t)
	a := join(t, testConfig(etcd.Endpoint(), "node-a"))
	b := join(t, testConfig(etcd.Endpoint(), "node-b"))
	regA := relay(a)
	live, _, err := startSession(t, regA)
	if err != nil {
		t.Fatal(err)
	}

	etcd.Stop()
	// New hosts are served while etcd is away; a session already live
	// stays (the registry still finds it).
	named, _, err := startSession(t, regA, [2]string{"tmate-session-name", "offline"})
	if err != nil {
		t.Fatalf("a host while etcd is away: %v", err)
	}
	fresh, _, err := startSession(t, regA)
	if err != nil {
		t.Fatalf("a host while etcd is away: %v", err)
	}
	if s, _, ok := regA.Lookup(live.Token()); !ok || s != live {
		t.Fatal("the live session is not found while etcd is away")
	}
	etcd.Restart()
	for _, tok := range []string{live.Token(), named.Token(), fresh.Token(), fresh.ReadOnlyToken()} {
		eventually(t, "node-b finds a session started while etcd was away", func() bool {
			o, ok, _ := b.Lookup(context.Background(), tok)
			return ok && o.Node == "node-a"
		})
	}
}

// cutProxy forwards TCP to target until cut: then it closes every
// connection and refuses new ones, as a network partition would, until
// healed.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.setCut(true) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.cut {
				p.mu.Unlock()
				c.Close()
				continue
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

func TestANameTakenElsewhereDuringAPartitionEndsTheCutOffSession(t *testing.T) {
	etcd := etcdtest.Start(t)
	proxy := newCutProxy(t, etcd.Addr())
	a := join(t, testConfig("http://"+proxy.ln.Addr().String(), "node-a"))
	b := join(t, testConfig(etcd.Endpoint(), "node-b"))
	regA, regB := relay(a), relay(b)

	proxy.setCut(true) // node-a is cut off from etcd; node-b is not
	cutOff, hostA, err := startSession(t, regA, [2]string{"tmate-session-name", "gamma"})
	if err != nil {
		t.Fatalf("a host on the cut-off node: %v", err)
	}
	eventually(t, "node-a's lease expires", func() bool { return !slices.Contains(nodeNames(t, b), "node-a=node-a.internal:10023") })
	kept, _, err := startSession(t, regB, [2]string{"tmate-session-name", "gamma"})
	if err != nil {
		t.Fatalf("gamma on node-b, which reaches etcd: %v", err)
	}

	proxy.setCut(false)
	// The rule: the registration in etcd stands; the cut-off node's
	// session with the same name ends, its host told why.
	select {
	case <-cutOff.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the cut-off node's clashing session did not end")
	}
	if cutOff.EndReason() != session.TakenText || !slices.Contains(hostA.said(), session.TakenText) {
		t.Fatalf("ended with %q; host told %q", cutOff.EndReason(), hostA.said())
	}
	if o, ok, _ := a.Lookup(context.Background(), "gamma"); !ok || o.Node != "node-b" || o.Session != kept.ID() {
		t.Fatalf("gamma after the partition: %+v %v", o, ok)
	}
	select {
	case <-kept.Done():
		t.Fatal("node-b's session ended")
	default:
	}
	eventually(t, "node-a is listed again", func() bool { return slices.Contains(nodeNames(t, b), "node-a=node-a.internal:10023") })
}

// TestEtcdWritesOfANode counts what a node costs etcd beyond its sessions:
// joining, and nothing while it idles (lease keep-alives are no raft
// writes), for docs/scaling.md.
func TestEtcdWritesOfANode(t *testing.T) {
	etcd := etcdtest.Start(t)
	// A lease longer than the other tests': a keep-alive late on a busy
	// machine must not lapse the lease (and make the node join again)
	// while this counts.
	const ttl = 6 * time.Second
	cfgA, cfgB := testConfig(etcd.Endpoint(), "node-a"), testConfig(etcd.Endpoint(), "node-b")
	cfgA.LeaseTTL, cfgB.LeaseTTL = ttl, ttl
	p0 := etcd.Proposals()
	a := join(t, cfgA)
	p1 := etcd.Proposals()
	b := join(t, cfgB)
	p2 := etcd.Proposals()
	// The first node writes the 4 checks; every node compares them in a
	// transaction (a write, even when it only reads), takes a lease and
	// lists itself.
	if first, next := p1-p0, p2-p1; first != 6 || next != 6 {
		t.Errorf("joining took %d etcd writes for the first node, %d for the next, want 6 and 6", first, next)
	}
	if err := a.Register("s1", []string{"tok-a", "ro-tok-a"}); err != nil {
		t.Fatal(err)
	}
	p3 := etcd.Proposals()
	time.Sleep(ttl) // a wait over three keep-alives, not a timing check
	if got := etcd.Proposals() - p3; got != 0 {
		t.Errorf("two idle nodes with a session made %d etcd writes over %s, want 0", got, ttl)
	}
	p4 := etcd.Proposals()
	b.Close()
	if got := etcd.Proposals() - p4; got != 1 {
		t.Errorf("a node leaving took %d etcd writes, want 1 (the lease's revocation)", got)
	}
}

// TestNodesCompactEtcdsHistory: the history of ended sessions does not
// pile up in etcd (which compacts nothing by default and refuses writes
// once its quota is full): the nodes compact it, one node a round, to the
// revision of a round earlier, and keep working on the compacted store.
func TestNodesCompactEtcdsHistory(t *testing.T) {
	etcd := etcdtest.Start(t)
	const round = 300 * time.Millisecond
	cfgA, cfgB := testConfig(etcd.Endpoint(), "node-a"), testConfig(etcd.Endpoint(), "node-b")
	cfgA.CompactEvery, cfgB.CompactEvery = round, round
	a, b := join(t, cfgA), join(t, cfgB)
	for i := range 20 {
		id := fmt.Sprint("s", i)
		if err := a.Register(id, []string{"tok-" + id}); err != nil {
			t.Fatal(err)
		}
		a.Withdraw(id)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcd.Endpoint()}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx := context.Background()
	resp, err := cli.Get(ctx, compactKey)
	if err != nil {
		t.Fatal(err)
	}
	ended := resp.Header.Revision // every session above has ended by now
	eventually(t, "etcd compacted past the ended sessions' revisions", func() bool {
		_, err := cli.Get(ctx, Prefix, clientv3.WithPrefix(), clientv3.WithRev(ended))
		return errors.Is(err, rpctypes.ErrCompacted)
	})
	// The compaction keeps the last round's history: the revision it was
	// compacted to was current at least a round before.
	resp, err = cli.Get(ctx, compactKey)
	if err != nil || len(resp.Kvs) == 0 {
		t.Fatalf("no %s after a compaction: %v", compactKey, err)
	}
	// Both nodes go on: a session registered now is found from the other.
	if err := a.Register("after", []string{"tok-after"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a session registered after the compaction is found", func() bool {
		o, ok, err := b.Lookup(ctx, "tok-after")
		return err == nil && ok && o.Node == "node-a"
	})
}
