package cluster

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"tmate-relay/service/session"
)

// The directory: which node holds each session's tokens. The node keeps
// what it holds in memory (desired) and writes the difference to etcd, at
// once when a host starts its session and etcd answers, else later: a node
// that cannot reach etcd serves its hosts on and registers their sessions
// when etcd is back.
//
// A token already held in etcd by another node's session is refused: at a
// session's start, with the same message as a name taken on this node.
// Found later (a name taken on this node while it could not reach etcd,
// and meanwhile by another node), the rule is: the registration in etcd
// stands, and this node's session is ended (OnClash), because guests on
// every other node already reach the other one.

// hash is the key of a token in etcd: an HMAC, so that etcd's contents
// give no way to try names.
func (n *Node) hash(token string) string {
	m := hmac.New(sha256.New, n.tokenKey)
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

func tokenKey(h string) string { return Prefix + "tokens/" + h }

func (n *Node) tokenValue(id string) string {
	b, _ := json.Marshal(tokenRecord{Node: n.cfg.NodeName, Session: id})
	return string(b)
}

// OnClash sets what is called, outside any lock, with the id of a session
// whose registration another node's session took while this node could
// not reach etcd (see the rule above).
func (n *Node) OnClash(f func(id string)) {
	n.mu.Lock()
	n.onClash = f
	n.mu.Unlock()
}

// Register records that this node holds session id under tokens, in place
// of what it held before. When etcd answers in time it writes at once and
// refuses a token another node's session holds (*session.NameTakenError);
// else the registration waits for etcd and nil is returned.
func (n *Node) Register(id string, tokens []string) error {
	want := map[string]bool{}
	names := map[string]string{}
	for _, t := range tokens {
		h := n.hash(t)
		want[h], names[h] = true, t
	}
	n.mu.Lock()
	prev := n.desired[id]
	n.desired[id] = want
	up := n.healthy && n.lease != 0
	n.mu.Unlock()
	if !up {
		n.poke()
		return nil
	}
	ctx, cancel := context.WithTimeout(n.ctx, opTimeout)
	clashes, err := n.sync(ctx, id)
	cancel()
	if err != nil {
		n.log.Warn("etcd out of reach: the session is registered when it is back", "session", id, "err", err)
		n.setHealthy(false)
		n.poke()
		return nil
	}
	if len(clashes) > 0 {
		n.mu.Lock()
		if prev == nil {
			delete(n.desired, id)
		} else {
			n.desired[id] = prev
		}
		n.mu.Unlock()
		return &session.NameTakenError{Name: names[clashes[0]]}
	}
	return nil
}

// Withdraw forgets session id; etcd forgets it with the next write.
func (n *Node) Withdraw(id string) {
	n.mu.Lock()
	_, held := n.desired[id]
	if held {
		n.desired[id] = map[string]bool{}
	}
	n.mu.Unlock()
	if held {
		n.poke()
	}
}

// Owner is where a token's session lives.
type Owner struct {
	Node     string
	Internal string // the node's internal address
	Session  string // the session's id
}

// Lookup finds the node holding token's session; ok is false when no live
// node holds it.
func (n *Node) Lookup(ctx context.Context, token string) (o Owner, ok bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	resp, err := n.cli.Get(ctx, tokenKey(n.hash(token)))
	if err != nil || len(resp.Kvs) == 0 {
		return Owner{}, false, err
	}
	var rec tokenRecord
	if err := json.Unmarshal(resp.Kvs[0].Value, &rec); err != nil {
		return Owner{}, false, fmt.Errorf("etcd %s: %w", resp.Kvs[0].Key, err)
	}
	o = Owner{Node: rec.Node, Session: rec.Session}
	if rec.Node == n.cfg.NodeName {
		o.Internal = n.cfg.InternalAdvertise
		return o, true, nil
	}
	nr, err := n.cli.Get(ctx, Prefix+"nodes/"+rec.Node)
	if err != nil || len(nr.Kvs) == 0 {
		return Owner{}, false, err
	}
	var node nodeRecord
	if err := json.Unmarshal(nr.Kvs[0].Value, &node); err != nil {
		return Owner{}, false, fmt.Errorf("etcd %s: %w", nr.Kvs[0].Key, err)
	}
	o.Internal = node.Internal
	return o, true, nil
}

// reconcile writes every session whose registration differs from etcd's.
func (n *Node) reconcile() error {
	n.mu.Lock()
	var ids []string
	for id, want := range n.desired {
		if !maps.Equal(want, n.written[id]) {
			ids = append(ids, id)
		}
	}
	n.mu.Unlock()
	for _, id := range ids {
		ctx, cancel := context.WithTimeout(n.ctx, opTimeout)
		clashes, err := n.sync(ctx, id)
		cancel()
		if err != nil {
			return err
		}
		if len(clashes) == 0 {
			continue
		}
		n.mu.Lock()
		for _, h := range clashes {
			delete(n.desired[id], h)
		}
		f := n.onClash
		n.mu.Unlock()
		n.log.Warn("a session's name was taken on another node while this node could not reach etcd: the registration in etcd stands, this node's session ends", "session", id)
		if f != nil {
			go f(id) // it tells the host, which may be slow; the lease must not wait
		}
	}
	return nil
}

// errLeaseLost: no lease to write under (the run loop takes a new one).
var errLeaseLost = errors.New("no etcd lease held")

// sync writes session id's registration: new tokens only where etcd has
// none (or this session's already), stale ones deleted only where they
// are still this session's. It returns the hashes another session holds.
func (n *Node) sync(ctx context.Context, id string) (clashes []string, err error) {
	n.syncMu.Lock()
	defer n.syncMu.Unlock()
	val := n.tokenValue(id)
	ours := map[string]bool{}   // found holding this session's record
	gone := map[string]string{} // held for this session by a node that is gone: its value
	for range 3 {
		n.mu.Lock()
		want, have, lease := maps.Clone(n.desired[id]), maps.Clone(n.written[id]), n.lease
		n.mu.Unlock()
		if lease == 0 {
			return nil, errLeaseLost
		}
		var add, del []string
		for h := range want {
			if !have[h] {
				add = append(add, h)
			}
		}
		for h := range have {
			if !want[h] {
				del = append(del, h)
			}
		}
		if len(add) == 0 && len(del) == 0 {
			n.settle(id, want, lease)
			return nil, nil
		}
		var cmps []clientv3.Cmp
		var then, orElse []clientv3.Op
		for _, h := range add {
			k := tokenKey(h)
			if ours[h] {
				cmps = append(cmps, clientv3.Compare(clientv3.Value(k), "=", val))
			} else if v, ok := gone[h]; ok {
				cmps = append(cmps, clientv3.Compare(clientv3.Value(k), "=", v))
			} else {
				cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(k), "=", 0))
			}
			then = append(then, clientv3.OpPut(k, val, clientv3.WithLease(lease)))
			orElse = append(orElse, clientv3.OpGet(k))
		}
		for _, h := range del {
			k := tokenKey(h)
			cmps = append(cmps, clientv3.Compare(clientv3.Value(k), "=", val))
			then = append(then, clientv3.OpDelete(k))
			orElse = append(orElse, clientv3.OpGet(k))
		}
		resp, err := n.cli.Txn(ctx).If(cmps...).Then(then...).Else(orElse...).Commit()
		if err != nil {
			return nil, err
		}
		if resp.Succeeded {
			n.wrote()
			n.settle(id, want, lease)
			return nil, nil
		}
		for i, h := range add {
			kvs := resp.Responses[i].GetResponseRange().Kvs
			switch {
			case len(kvs) == 0:
				delete(ours, h)
			case string(kvs[0].Value) == val:
				ours[h] = true
			case n.takeOver(ctx, id, kvs[0].Value):
				gone[h] = string(kvs[0].Value)
			default:
				clashes = append(clashes, h)
			}
		}
		if len(clashes) > 0 {
			return clashes, nil
		}
		n.mu.Lock()
		for i, h := range del {
			kvs := resp.Responses[len(add)+i].GetResponseRange().Kvs
			if (len(kvs) == 0 || string(kvs[0].Value) != val) && n.written[id] != nil {
				delete(n.written[id], h) // not this session's any more: nothing to delete
			}
		}
		n.mu.Unlock()
	}
	return nil, fmt.Errorf("session %s: etcd kept changing under its registration", id)
}

// settle records that etcd holds want for id under lease (unless a new
// lease came meanwhile, whose registrations start empty).
func (n *Node) settle(id string, want map[string]bool, lease clientv3.LeaseID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.lease != lease {
		return
	}
	n.healthy = true
	if len(want) == 0 && len(n.desired[id]) == 0 {
		delete(n.desired, id)
		delete(n.written, id)
		return
	}
	n.written[id] = want
}

// takeOver reports whether this node may take over a token whose record
// (held) names the same session on another node that is gone: the host
// reconnected here with its reconnection data after that node died. Gone
// means its lease expired (then etcd already forgot the token), or its
// internal address refuses connections; a node that does not answer in
// time may be cut off from the host but alive, and keeps the session.
func (n *Node) takeOver(ctx context.Context, id string, held []byte) bool {
	var rec tokenRecord
	if json.Unmarshal(held, &rec) != nil || rec.Session != id || rec.Node == n.cfg.NodeName {
		return false
	}
	resp, err := n.cli.Get(ctx, Prefix+"nodes/"+rec.Node)
	if err != nil {
		return false
	}
	if len(resp.Kvs) == 0 {
		return true
	}
	var node nodeRecord
	if json.Unmarshal(resp.Kvs[0].Value, &node) != nil {
		return false
	}
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", node.Internal)
	if err == nil {
		c.Close()
		return false
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		n.log.Info("taking over a session whose node is gone", "session", id, "from", rec.Node)
		return true
	}
	return false
}
