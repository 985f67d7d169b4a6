package e2e

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"tmate-relay/service/cluster/etcdtest"
)

// BenchmarkClusterForwardedEcho types at a host's prompt from three ssh
// guests of one session, in turn and in shuffled order: one on the node
// that holds the session, one through a plain TCP proxy to that node (the
// floor: one more process on the path, see tcpproxy_test.go), and one on
// another node, which carries it over the node link. It reports p50 and
// p99 for each guest; forwarded-added is what the extra node and link
// cost a keystroke's echo, proxy-added what any extra process costs on
// this machine, forwarded-over-proxy the difference (see
// BenchmarkKeystrokeEcho for how one is timed). Part of `make bench`.
func BenchmarkClusterForwardedEcho(b *testing.B) {
	needTools(b, "tmate", "ssh", "ssh-keygen")
	etcd := etcdtest.Start(b)
	nodes := clusterRelays(b, etcd, 2)
	proxy := startTCPProxy(b, nodes[0])
	h := startHost(b, nodes[0], benchW, benchH-1, "")
	token := tokenOf(b, h.display("#{tmate_ssh}"))
	guests := []struct {
		name string
		term *ptyTerm
	}{
		{"owner", sshGuestPty(b, nodes[0], token, benchW, benchH)},
		{"proxied", sshGuestPty(b, proxy, token, benchW, benchH)},
		{"forwarded", sshGuestPty(b, nodes[1], token, benchW, benchH)},
	}
	var all []*ptyTerm
	for _, g := range guests {
		all = append(all, g.term)
	}
	for _, p := range all {
		if _, err := p.until(20*time.Second, showsRow("$")); err != nil {
			b.Fatal(err)
		}
	}
	quiet(b, 200*time.Millisecond, all...)
	var typists []*typist
	for _, p := range all {
		typists = append(typists, &typist{term: p, host: h, watch: all})
	}
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
	p50, p99 := map[string]float64{}, map[string]float64{}
	msg := fmt.Sprintf("keystroke echo over %d samples each:", echoSamples)
	for i, g := range guests {
		lat := typists[i].lat
		slices.Sort(lat)
		p50[g.name], p99[g.name] = percentile(lat, 50), percentile(lat, 99)
		b.ReportMetric(p50[g.name], g.name+"-p50-µs")
		b.ReportMetric(p99[g.name], g.name+"-p99-µs")
		msg += fmt.Sprintf(" %s p50 %.0f µs p90 %.0f µs p99 %.0f µs;", g.name, p50[g.name], percentile(lat, 90), p99[g.name])
	}
	b.ReportMetric(p50["forwarded"]-p50["owner"], "forwarded-added-p50-µs")
	b.ReportMetric(p99["forwarded"]-p99["owner"], "forwarded-added-p99-µs")
	b.ReportMetric(p50["proxied"]-p50["owner"], "proxy-added-p50-µs")
	b.ReportMetric(p50["forwarded"]-p50["proxied"], "forwarded-over-proxy-p50-µs")
	b.Log(msg)
}
