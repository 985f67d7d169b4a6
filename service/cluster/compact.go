package cluster

import (
	"context"
	"errors"
	"strconv"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// etcd keeps every revision of every key until it is compacted, and etcd
// 3.4 compacts nothing unless it was started with --auto-compaction-*.
// Each session writes its token keys and deletes them when it ends: at
// 100,000 session ends an hour the history alone fills etcd's 2 GiB quota
// in about a day, and etcd then refuses every write. So the nodes compact
// it themselves, as Kubernetes' API servers do: every round one node,
// whichever wins a transaction on compactKey, compacts etcd to the
// revision that was current a round earlier. At least a round of history
// stays for anyone who reads it; the relays read none.

// compactKey's version counts the rounds won; its value is the revision
// the last winner compacted to.
const compactKey = Prefix + "compacted"

// defaultCompactEvery is a round's length when Config.CompactEvery is 0.
const defaultCompactEvery = 5 * time.Minute

// compactLoop runs a round every interval until the node leaves.
func (n *Node) compactLoop() {
	every := n.cfg.CompactEvery
	if every <= 0 {
		every = defaultCompactEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var version, rev int64
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		version, rev = n.compactRound(version, rev)
	}
}

// compactRound claims the round if compactKey's version is still the one
// this node saw last (no other node won since), and then compacts etcd to
// rev, the revision it saw a round ago. It returns what to expect next
// round: compactKey's version and the current revision.
func (n *Node) compactRound(version, rev int64) (int64, int64) {
	ctx, cancel := context.WithTimeout(n.ctx, opTimeout)
	defer cancel()
	resp, err := n.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Version(compactKey), "=", version)).
		Then(clientv3.OpPut(compactKey, strconv.FormatInt(rev, 10))).
		Else(clientv3.OpGet(compactKey)).
		Commit()
	if err != nil {
		return version, 0 // etcd out of reach: start over when it is back
	}
	now := resp.Header.Revision
	if !resp.Succeeded {
		// Another node won a round since: follow its count.
		if kvs := resp.Responses[0].GetResponseRange().GetKvs(); len(kvs) > 0 {
			return kvs[0].Version, now
		}
		return 0, now
	}
	if rev > 0 {
		_, err := n.cli.Compact(ctx, rev)
		switch {
		case err == nil:
			n.log.Debug("compacted etcd's history", "revision", rev)
		case errors.Is(err, rpctypes.ErrCompacted):
			// etcd compacts on its own (--auto-compaction-*), further
			// already.
		default:
			n.log.Warn("compacting etcd's history failed", "revision", rev, "err", err)
		}
	}
	return version + 1, now
}
