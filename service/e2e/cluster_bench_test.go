package e2e

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"tmate-relay/service/cluster/etcdtest"
)

// BenchmarkClusterForwardedEcho types at a host's prompt from two ssh
// guests of one session, in turn and in shuffled order: one on the node
// that holds the session, one on another node, which carries it over the
// node link. It reports p50 and p99 for each guest; forwarded-added is
// what the extra node and link cost a keystroke's echo (see
// BenchmarkKeystrokeEcho for how one is timed). Part of `make bench`.
func BenchmarkClusterForwardedEcho(b *testing.B) {
	needTools(b, "tmate", "ssh", "ssh-keygen")
	etcd := etcdtest.Start(b)
	nodes := clusterRelays(b, etcd, 2)
	h := startHost(b, nodes[0], benchW, benchH-1, "")
	token := tokenOf(b, h.display("#{tmate_ssh}"))
	owner := sshGuestPty(b, nodes[0], token, benchW, benchH)
	forwarded := sshGuestPty(b, nodes[1], token, benchW, benchH)
	all := []*ptyTerm{owner, forwarded}
	for _, p := range all {
		if _, err := p.until(20*time.Second, showsRow("$")); err != nil {
			b.Fatal(err)
		}
	}
	quiet(b, 200*time.Millisecond, all...)
	typists := []*typist{{term: owner, host: h, watch: all}, {term: forwarded, host: h, watch: all}}
	for b.Loop() {
		line := new(string)
		for _, t := range typists {
			t.lat, t.line = t.lat[:0], line
		}
		h.run("send-keys", "C-u", "clear", "Enter")
		waitAll(b, 10*time.Second, all, rowIs(0, "$"))
		quiet(b, 50*time.Millisecond, all...)
		for range echoSamples {
			for _, i := range rand.Perm(len(typists)) {
				typists[i].echo(b, all)
			}
		}
	}
	o, f := typists[0].lat, typists[1].lat
	slices.Sort(o)
	slices.Sort(f)
	op50, fp50 := percentile(o, 50), percentile(f, 50)
	op99, fp99 := percentile(o, 99), percentile(f, 99)
	b.ReportMetric(op50, "owner-p50-µs")
	b.ReportMetric(op99, "owner-p99-µs")
	b.ReportMetric(fp50, "forwarded-p50-µs")
	b.ReportMetric(fp99, "forwarded-p99-µs")
	b.ReportMetric(fp50-op50, "forwarded-added-p50-µs")
	b.ReportMetric(fp99-op99, "forwarded-added-p99-µs")
	b.Logf("keystroke echo over %d samples each: owner node p50 %.0f µs p90 %.0f µs p99 %.0f µs; forwarding node p50 %.0f µs p90 %.0f µs p99 %.0f µs",
		len(o), op50, percentile(o, 90), op99, fp50, percentile(f, 90), fp99)
}
