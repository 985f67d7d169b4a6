// Package cluster joins relays into one through etcd: each node is listed
// under a lease while it lives, the nodes check that they present the same
// keys, and every session's tokens are registered, as hashes, with the node
// that holds the session, so that any node can find it and a session name
// is unique across the cluster.
//
// etcd never holds a token or a key: tokens are keyed hashes (HMAC with a
// key derived from the reconnection key every node shares), keys appear as
// fingerprints or check values. Every key a node writes is bound to its
// lease, so a node that dies leaves nothing behind once the lease expires.
//
// Layout under Prefix:
//
//	identity/NAME   a key's fingerprint or check value (first node writes it)
//	nodes/NODE      a live node: its internal address (under its lease)
//	tokens/HASH     the node and session holding a token (under its lease)
//	compacted       the revision etcd's history was last compacted to (compact.go)
package cluster

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Prefix is where the relays keep their keys in etcd.
const Prefix = "/tmate-relay/"

// opTimeout bounds one etcd request on the path of a host or a guest: a
// node that cannot reach etcd within it serves on and catches up later.
const opTimeout = 3 * time.Second

// Config is what a node needs to join.
type Config struct {
	Endpoints []string
	TLS       *tls.Config // nil: plain connections
	NodeName  string
	// InternalAdvertise is where other nodes reach this one.
	InternalAdvertise string
	LeaseTTL          time.Duration
	// Secret is shared by every node (the reconnection key): token hashes
	// are keyed with what is derived from it.
	Secret []byte
	// Identity is what every node must present alike.
	Identity []Check
	Log      *slog.Logger
	// CompactEvery is how often a node of the cluster compacts etcd's
	// history (compact.go); 0 means every 5 minutes.
	CompactEvery time.Duration
}

// Node is this relay's membership in the cluster.
type Node struct {
	cfg      Config
	cli      *clientv3.Client
	log      *slog.Logger
	instance string // tells this process from an earlier one of the same name
	tokenKey []byte

	syncMu  sync.Mutex // one registration written at a time (directory.go)
	mu      sync.Mutex
	lease   clientv3.LeaseID // 0 while none is held
	healthy bool             // the last request to etcd succeeded
	// desired is what this node holds: session id -> token hashes; written
	// is what etcd has of it under the current lease.
	desired map[string]map[string]bool
	written map[string]map[string]bool
	onClash func(id string)

	leave  sync.Once
	kick   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	// Writes counts successful etcd writes (transactions and lease
	// requests), for the figures in docs/scaling.md.
	writes int64
}

// nodeRecord is the value of nodes/NODE.
type nodeRecord struct {
	Internal string    `json:"internal"`
	Instance string    `json:"instance"`
	Started  time.Time `json:"started"`
}

// tokenRecord is the value of tokens/HASH.
type tokenRecord struct {
	Node    string `json:"node"`
	Session string `json:"session"`
}

// Join connects to etcd, checks this node's keys against the cluster's,
// waits for an earlier process of the same node name to be gone, and lists
// the node under a fresh lease. An error means the relay must not start.
func Join(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.LeaseTTL < 2*time.Second {
		cfg.LeaseTTL = 2 * time.Second
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            cfg.Endpoints,
		TLS:                  cfg.TLS,
		DialTimeout:          5 * time.Second,
		DialKeepAliveTime:    cfg.LeaseTTL / 2,
		DialKeepAliveTimeout: cfg.LeaseTTL / 2,
		Logger:               zap.NewNop(), // the relay logs what matters itself
	})
	if err != nil {
		return nil, fmt.Errorf("[cluster] etcd_endpoints %s: %w", strings.Join(cfg.Endpoints, ", "), err)
	}
	n := &Node{
		cfg:      cfg,
		cli:      cli,
		log:      cfg.Log.With("node", cfg.NodeName),
		instance: randomHex(8),
		tokenKey: derive(cfg.Secret, "tmate-relay cluster token hash"),
		desired:  map[string]map[string]bool{},
		written:  map[string]map[string]bool{},
		kick:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	if err := n.checkIdentity(ctx); err != nil {
		n.cancel()
		cli.Close()
		return nil, err
	}
	if err := n.waitNameFree(ctx); err != nil {
		n.cancel()
		cli.Close()
		return nil, err
	}
	ka, err := n.establish(ctx)
	if err != nil {
		n.cancel()
		cli.Close()
		return nil, err
	}
	go n.run(ka)
	go n.compactLoop()
	return n, nil
}

// Name is the node's name in the cluster.
func (n *Node) Name() string { return n.cfg.NodeName }

// Writes is the number of etcd writes the node made.
func (n *Node) Writes() int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.writes
}

func (n *Node) wrote() {
	n.mu.Lock()
	n.writes++
	n.mu.Unlock()
}

// Leave leaves the cluster: the lease is revoked, which removes the node
// and every token it registered at once, so that its hosts, reconnecting
// to other nodes, get their sessions there without waiting. Nothing is
// registered after it.
func (n *Node) Leave() {
	n.leave.Do(func() {
		n.cancel()
		<-n.done
		n.mu.Lock()
		lease := n.lease
		n.lease, n.healthy = 0, false
		n.mu.Unlock()
		if lease != 0 {
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			if _, err := n.cli.Revoke(ctx, lease); err == nil {
				n.wrote()
			}
			cancel()
		}
	})
}

// Close leaves the cluster (Leave) and closes the connection to etcd.
func (n *Node) Close() {
	n.Leave()
	n.cli.Close()
}

// abandon stops without a goodbye, as a killed process does: the lease
// stays until it expires.
func (n *Node) abandon() {
	n.cancel()
	<-n.done
	n.cli.Close()
}

// Node is a live node of the cluster.
type NodeInfo struct {
	Name     string
	Internal string // where other nodes reach it
}

// Nodes lists the live nodes.
func (n *Node) Nodes(ctx context.Context) ([]NodeInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	resp, err := n.cli.Get(ctx, Prefix+"nodes/", clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	var out []NodeInfo
	for _, kv := range resp.Kvs {
		var rec nodeRecord
		if json.Unmarshal(kv.Value, &rec) != nil {
			continue
		}
		out = append(out, NodeInfo{Name: strings.TrimPrefix(string(kv.Key), Prefix+"nodes/"), Internal: rec.Internal})
	}
	return out, nil
}

// waitNameFree waits, up to a lease's time, for the node record of an
// earlier process of this node (killed, its lease still running) to
// expire; a record that outlives that belongs to a live relay.
func (n *Node) waitNameFree(ctx context.Context) error {
	key := n.nodeKey()
	deadline := time.Now().Add(n.cfg.LeaseTTL + 2*time.Second)
	logged := false
	for {
		rctx, cancel := context.WithTimeout(ctx, opTimeout)
		resp, err := n.cli.Get(rctx, key)
		cancel()
		if err != nil {
			return fmt.Errorf("etcd (%s): %w", strings.Join(n.cfg.Endpoints, ", "), err)
		}
		if len(resp.Kvs) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("[cluster] node_name %q is taken by a live node of the cluster: give each relay its own node_name", n.cfg.NodeName)
		}
		if !logged {
			n.log.Info("waiting for the lease of this node's previous run to expire", "ttl", n.cfg.LeaseTTL)
			logged = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (n *Node) nodeKey() string { return Prefix + "nodes/" + n.cfg.NodeName }

func (n *Node) nodeValue() string {
	b, _ := json.Marshal(nodeRecord{Internal: n.cfg.InternalAdvertise, Instance: n.instance, Started: time.Now().UTC()})
	return string(b)
}

// establish grants a lease, lists the node under it and starts keeping it
// alive. The node record may be held by this process's earlier lease
// (after etcd was out of reach): it is taken over, never another
// process's.
func (n *Node) establish(ctx context.Context) (<-chan *clientv3.LeaseKeepAliveResponse, error) {
	gctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	g, err := n.cli.Grant(gctx, int64((n.cfg.LeaseTTL+time.Second-1)/time.Second))
	if err != nil {
		return nil, fmt.Errorf("etcd lease: %w", err)
	}
	n.wrote()
	key := n.nodeKey()
	resp, err := n.cli.Get(gctx, key)
	if err != nil {
		return nil, err
	}
	cmp := clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
	if len(resp.Kvs) > 0 {
		var rec nodeRecord
		if json.Unmarshal(resp.Kvs[0].Value, &rec) != nil || rec.Instance != n.instance {
			n.cli.Revoke(gctx, g.ID)
			return nil, fmt.Errorf("[cluster] node_name %q is taken by a live node of the cluster: give each relay its own node_name", n.cfg.NodeName)
		}
		cmp = clientv3.Compare(clientv3.ModRevision(key), "=", resp.Kvs[0].ModRevision)
	}
	txn, err := n.cli.Txn(gctx).If(cmp).Then(clientv3.OpPut(key, n.nodeValue(), clientv3.WithLease(g.ID))).Commit()
	if err != nil {
		return nil, err
	}
	if !txn.Succeeded {
		n.cli.Revoke(gctx, g.ID)
		return nil, fmt.Errorf("[cluster] node_name %q was taken while this node joined", n.cfg.NodeName)
	}
	n.wrote()
	ka, err := n.cli.KeepAlive(n.ctx, g.ID)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	old := n.lease
	n.lease = g.ID
	n.healthy = true
	n.written = map[string]map[string]bool{} // nothing is under the new lease yet
	n.mu.Unlock()
	if old != 0 {
		// Keys still bound to the old lease are ones this node no longer
		// wants (the rest are rewritten under the new one).
		n.cli.Revoke(gctx, old)
	}
	n.log.Info("joined the cluster", "lease", fmt.Sprintf("%x", int64(g.ID)))
	return ka, nil
}

// run keeps the lease alive, takes a new one when it is lost (etcd out of
// reach for longer than the lease), and writes what the node holds to etcd
// whenever it changed or a write failed.
func (n *Node) run(ka <-chan *clientv3.LeaseKeepAliveResponse) {
	defer close(n.done)
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	backoff := 250 * time.Millisecond
	for {
		if ka == nil {
			var err error
			if ka, err = n.establish(n.ctx); err != nil {
				n.setHealthy(false)
				if n.ctx.Err() != nil {
					return
				}
				n.log.Warn("etcd out of reach: serving on, will register when it is back", "err", err)
				select {
				case <-n.ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, 5*time.Second)
				continue
			}
			backoff = 250 * time.Millisecond
			n.poke()
		}
		select {
		case <-n.ctx.Done():
			return
		case _, ok := <-ka:
			if !ok {
				n.log.Warn("lost the etcd lease: taking a new one")
				n.setHealthy(false)
				ka = nil
				continue
			}
			n.mu.Lock()
			back := !n.healthy
			n.healthy = true // etcd answers: new sessions register at once again
			n.mu.Unlock()
			if back {
				n.poke()
			}
		case <-n.kick:
			if err := n.reconcile(); err != nil {
				n.setHealthy(false)
				retry.Reset(backoff)
				backoff = min(2*backoff, 5*time.Second)
			} else {
				backoff = 250 * time.Millisecond
			}
		case <-retry.C:
			n.poke()
		}
	}
}

func (n *Node) poke() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

func (n *Node) setHealthy(h bool) {
	n.mu.Lock()
	n.healthy = h
	n.mu.Unlock()
}

// derive is a key for one purpose made from the shared secret.
func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// SecretCheck is the check value of a shared secret that etcd holds in its
// place: equal for equal secrets, and no way back to the secret.
func SecretCheck(secret []byte) string {
	return hex.EncodeToString(derive(secret, "tmate-relay cluster key check"))
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("cluster: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}
