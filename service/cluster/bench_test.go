package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"tmate-relay/service/cluster/etcdtest"
)

// BenchmarkRegister is what a session's start waits for in a cluster: one
// etcd transaction (Debian's etcd, data on the test's disk).
func BenchmarkRegister(b *testing.B) {
	etcd := etcdtest.Start(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := Join(ctx, testConfig(etcd.Endpoint(), "node-a"))
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("%016x", i)
		if err := n.Register(id, []string{"tok" + id, "ro-tok" + id}); err != nil {
			b.Fatal(err)
		}
	}
}
