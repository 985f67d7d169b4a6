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

// BenchmarkSessionStorage is what sessions cost etcd's storage: the bytes
// its database has in use per live session (two token keys), and what a
// session's start and end leave in its history until etcd compacts it.
// Each loop registers 2000 sessions, then withdraws them.
func BenchmarkSessionStorage(b *testing.B) {
	const sessions = 2000
	etcd := etcdtest.Start(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := Join(ctx, testConfig(etcd.Endpoint(), "node-a"))
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	const inUse = "etcd_mvcc_db_total_size_in_use_in_bytes"
	var live, history, keys float64
	round := 0
	for b.Loop() {
		before, keysBefore := etcd.Metric(inUse), etcd.Metric("etcd_debugging_mvcc_keys_total")
		var ids []string
		for i := range sessions {
			id := fmt.Sprintf("%08x%08x", round, i)
			ids = append(ids, id)
			// Tokens as long as the relay's (25 letters, ro- for read-only).
			if err := n.Register(id, []string{fmt.Sprintf("%025d", round*sessions+i), fmt.Sprintf("ro-%025d", round*sessions+i)}); err != nil {
				b.Fatal(err)
			}
		}
		live = etcd.Metric(inUse) - before
		keys = etcd.Metric("etcd_debugging_mvcc_keys_total") - keysBefore
		for _, id := range ids {
			n.Withdraw(id)
		}
		deadline := time.Now().Add(time.Minute)
		for etcd.Metric("etcd_debugging_mvcc_keys_total") > keysBefore {
			if time.Now().After(deadline) {
				b.Fatal("the withdrawn sessions' keys are still in etcd")
			}
			time.Sleep(100 * time.Millisecond)
		}
		history = etcd.Metric(inUse) - before
		round++
	}
	b.ReportMetric(keys/sessions, "keys/session")
	b.ReportMetric(live/sessions, "live-bytes/session")
	b.ReportMetric(history/sessions, "history-bytes/session")
}
