package cluster

import (
	"context"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Check is one key every node must present alike: clients pin the host
// keys' fingerprints, hosts' package managers the repository signing key,
// and reconnection data is signed with the reconnection key.
type Check struct {
	Name  string // its name under identity/, e.g. "host-key/ssh-ed25519"
	What  string // what it is, for the message: "host key"
	File  string // the file it comes from on this node
	Value string // a fingerprint or check value, never the key
}

// MismatchError says which of this node's files differs from the cluster's.
type MismatchError struct {
	Check   Check
	Cluster string // the cluster's value
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s %s differs from the cluster's (%s on this node, %s in the cluster): "+
		"every node must have the same keys; copy the file from a node of the cluster, with its owner and mode",
		e.Check.What, e.Check.File, short(e.Check.Value), short(e.Cluster))
}

func short(v string) string {
	if len(v) > 24 && !strings.HasPrefix(v, "SHA256:") {
		return v[:16] + "..."
	}
	return v
}

// checkIdentity compares each check with the cluster's; the first node
// writes them (a transaction: of two nodes starting at once, one writes
// and the other compares).
func (n *Node) checkIdentity(ctx context.Context) error {
	for _, c := range n.cfg.Identity {
		key := Prefix + "identity/" + c.Name
		cctx, cancel := context.WithTimeout(ctx, opTimeout)
		resp, err := n.cli.Txn(cctx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, c.Value)).
			Else(clientv3.OpGet(key)).
			Commit()
		cancel()
		if err != nil {
			return fmt.Errorf("etcd (%s) cannot be reached to check this node's keys: %w", strings.Join(n.cfg.Endpoints, ", "), err)
		}
		if resp.Succeeded {
			n.wrote()
			n.log.Info("first node with this key: the cluster now requires it", "key", c.Name, "file", c.File)
			continue
		}
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 1 && string(kvs[0].Value) != c.Value {
			return &MismatchError{Check: c, Cluster: string(kvs[0].Value)}
		}
	}
	return nil
}
