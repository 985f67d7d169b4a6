package e2e

// Benchmarks with the real programs, each run side by side with the
// no-relay baseline where there is one: a real tmate 2.4.0 host, a real
// OpenSSH guest on a pty, and a `tmate -S SOCK attach` client on a pty of
// the same size attached to the host's own server. Keystroke echo is also
// timed through the floor relay (floorrelay_test.go). Figures are reported
// with b.ReportMetric, never asserted; one iteration is one full
// measurement, and the metrics are those of the last one.
//
// The relay draws a change at once when no frame to the guest is in
// flight; the changes made while one is make one frame of the newest
// state, so a burst such as `seq` is drawn as comparatively few frames.
// BenchmarkTypingEcho and BenchmarkPasteEcho (benchtyping_test.go) type
// with keys close together.

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tmate-relay/service/vt"
)

const (
	benchW, benchH = 80, 25 // both terminals; the host's window is 80x24 plus its status line
	echoSamples    = 300    // keystrokes per terminal
	echoLine       = 40     // keystrokes before the line is killed, so it never wraps
	seqCount       = 200000
	idleSessions   = 50
	mb             = 1e6
)

// benchPair is a host with a relay guest and a baseline client on it.
type benchPair struct {
	r     *relay
	h     *host
	guest *ptyTerm
	base  *ptyTerm
}

func startBenchPair(b *testing.B) *benchPair {
	b.Helper()
	needTools(b, "tmate", "ssh", "ssh-keygen")
	r := startRelay(b, "")
	r.waitRepository(b)
	h := startHost(b, r, benchW, benchH-1, "")
	bp := &benchPair{r: r, h: h,
		guest: sshGuestPty(b, r, tokenOf(b, h.display("#{tmate_ssh}")), benchW, benchH),
		base:  attachPty(b, h, benchW, benchH),
	}
	for _, p := range bp.terms() {
		if _, err := p.until(20*time.Second, showsRow("$")); err != nil {
			b.Fatal(err)
		}
	}
	bp.quiet(b, 200*time.Millisecond)
	return bp
}

// waitRepository waits until the relay has written its package repository.
// A relay's first start creates the repository's RSA signing key in the
// background: seconds of CPU that a benchmark started meanwhile would
// measure as the relay's.
func (r *relay) waitRepository(tb testing.TB) {
	tb.Helper()
	eventually(tb, 2*time.Minute, "the relay writes its package repository", func() (bool, string) {
		log := r.log.String()
		return strings.Contains(log, "package repository written"), log
	})
}

func (bp *benchPair) terms() []*ptyTerm { return []*ptyTerm{bp.guest, bp.base} }

// quiet waits until neither terminal has received anything for d.
func (bp *benchPair) quiet(b testing.TB, d time.Duration) {
	b.Helper()
	quiet(b, d, bp.terms()...)
}

// quiet waits until none of terms has received anything for d.
func quiet(b testing.TB, d time.Duration, terms ...*ptyTerm) {
	b.Helper()
	count := func() (n int) {
		for _, p := range terms {
			n += p.readCount()
		}
		return n
	}
	deadline := time.Now().Add(30 * time.Second)
	n := count()
	for {
		time.Sleep(d)
		m := count()
		if m == n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the terminals' output did not stop within 30s")
		}
		n = m
	}
	for _, p := range terms {
		if err := p.quiet(0, time.Second); err != nil {
			b.Fatal(err)
		}
	}
}

// both waits until both terminals satisfy cond.
func (bp *benchPair) both(b testing.TB, within time.Duration, cond func(*vt.Emulator) bool) {
	b.Helper()
	waitAll(b, within, bp.terms(), cond)
}

// waitAll waits until every one of terms satisfies cond.
func waitAll(b testing.TB, within time.Duration, terms []*ptyTerm, cond func(*vt.Emulator) bool) {
	b.Helper()
	for _, p := range terms {
		if _, err := p.until(within, cond); err != nil {
			b.Fatal(err)
		}
	}
}

func rowIs(y int, text string) func(*vt.Emulator) bool {
	return func(e *vt.Emulator) bool { return row(e, y) == text }
}

// BenchmarkKeystrokeEcho types printable characters at the host's shell
// prompt from three terminals in turn: the ssh guest, the baseline client
// and an ssh guest of the floor relay (floorrelay_test.go), whose host of
// its own also has a tmate client attached. Each keystroke is timed from
// the write to the typist's pty until the read that makes the character
// appear on that typist's screen (guest to guest). The order of the three
// is shuffled every round so that none always follows another.
//
// The floor shows what the hops of any relay cost on this machine, whatever
// it does: floor-added is the floor relay's lead over the baseline,
// over-floor what the relay adds to the floor.
func BenchmarkKeystrokeEcho(b *testing.B) {
	bp := startBenchPair(b)
	fp := floorPair(b)
	typists := []*typist{
		{term: bp.guest, host: bp.h, watch: bp.terms()},
		{term: bp.base, host: bp.h, watch: bp.terms()},
		{term: fp.guest, host: fp.h, watch: fp.terms()},
	}
	all := append(bp.terms(), fp.terms()...)
	for b.Loop() {
		lines := map[*host]*string{bp.h: new(string), fp.h: new(string)}
		for _, t := range typists {
			t.lat = t.lat[:0]
			t.line = lines[t.host]
		}
		// Start from an empty line at the top of the screen.
		for h := range lines {
			h.run("send-keys", "C-u", "clear", "Enter")
		}
		waitAll(b, 10*time.Second, all, rowIs(0, "$"))
		quiet(b, 50*time.Millisecond, all...)
		for range echoSamples {
			for _, i := range rand.Perm(len(typists)) {
				typists[i].echo(b, all)
			}
		}
	}
	relay, base, fl := typists[0].lat, typists[1].lat, typists[2].lat
	for _, l := range [][]time.Duration{relay, base, fl} {
		slices.Sort(l)
	}
	rp50, rp99 := percentile(relay, 50), percentile(relay, 99)
	bp50, bp99 := percentile(base, 50), percentile(base, 99)
	fp50, fp99 := percentile(fl, 50), percentile(fl, 99)
	b.ReportMetric(rp50, "relay-p50-µs")
	b.ReportMetric(rp99, "relay-p99-µs")
	b.ReportMetric(bp50, "base-p50-µs")
	b.ReportMetric(bp99, "base-p99-µs")
	b.ReportMetric(fp50, "floor-p50-µs")
	b.ReportMetric(rp50-bp50, "added-p50-µs")
	b.ReportMetric(rp99-bp99, "added-p99-µs")
	b.ReportMetric(fp50-bp50, "floor-added-p50-µs")
	b.ReportMetric(rp50-fp50, "over-floor-p50-µs")
	b.Logf("keystroke echo over %d samples each: relay p50 %.0f µs p90 %.0f µs p99 %.0f µs max %.0f µs; baseline p50 %.0f µs p90 %.0f µs p99 %.0f µs max %.0f µs; floor relay p50 %.0f µs p90 %.0f µs p99 %.0f µs max %.0f µs",
		len(relay), rp50, percentile(relay, 90), rp99, percentile(relay, 100),
		bp50, percentile(base, 90), bp99, percentile(base, 100),
		fp50, percentile(fl, 90), fp99, percentile(fl, 100))
}

// typist is a terminal typing at a host's prompt; watch are the terminals
// that show that prompt, line is what has been typed on it.
type typist struct {
	term  *ptyTerm
	host  *host
	watch []*ptyTerm
	line  *string
	lat   []time.Duration
}

// echo types one character and records its echo latency, then waits until
// every terminal is idle for 15 ms: the next keystroke starts from the
// same state as a typist's.
func (t *typist) echo(b *testing.B, all []*ptyTerm) {
	b.Helper()
	if len(*t.line) == echoLine {
		t.term.write([]byte{0x15}) // ^U: the tty kills the line
		*t.line = ""
		waitAll(b, 5*time.Second, t.watch, rowIs(0, "$"))
		quiet(b, 20*time.Millisecond, all...)
	}
	c := byte('a' + len(*t.line)%26)
	*t.line += string(c)
	want := rowIs(0, "$ "+*t.line)
	t0 := time.Now()
	t.term.write([]byte{c})
	at, err := t.term.until(5*time.Second, want)
	if err != nil {
		b.Fatal(err)
	}
	t.lat = append(t.lat, at.Sub(t0))
	waitAll(b, 5*time.Second, t.watch, want)
	quiet(b, 15*time.Millisecond, all...)
}

// BenchmarkSeqOutput types `seq 1 200000` at the host's prompt and counts
// the bytes each terminal receives until the output has stopped, and the
// time from the command to the read after which each screen shows the end
// of the output followed by the next prompt.
func BenchmarkSeqOutput(b *testing.B) {
	bp := startBenchPair(b)
	last := fmt.Sprint(seqCount)
	final := func(e *vt.Emulator) bool {
		_, h := e.Size()
		for y := 0; y+1 < h; y++ {
			if row(e, y) == last && row(e, y+1) == "$" {
				return true
			}
		}
		return false
	}
	var relayBytes, baseBytes int64
	var relayFinal, baseFinal time.Duration
	for b.Loop() {
		bp.h.run("send-keys", "C-u", "clear", "Enter")
		bp.both(b, 10*time.Second, rowIs(0, "$"))
		bp.quiet(b, 200*time.Millisecond)
		g0, a0 := bp.guest.bytesRead(), bp.base.bytesRead()
		t0 := time.Now()
		bp.h.run("send-keys", fmt.Sprintf("seq 1 %d", seqCount), "Enter")
		var wg sync.WaitGroup
		var errs [2]error
		var ats [2]time.Time
		for i, p := range bp.terms() {
			wg.Go(func() { ats[i], errs[i] = p.until(60*time.Second, final) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		bp.quiet(b, 300*time.Millisecond)
		relayBytes, baseBytes = bp.guest.bytesRead()-g0, bp.base.bytesRead()-a0
		relayFinal, baseFinal = ats[0].Sub(t0), ats[1].Sub(t0)
		// The pane (all but the status line) must end up the same on both.
		gs, as := screenText(bp.guest.emu), screenText(bp.base.emu)
		gs, as = gs[:strings.LastIndex(strings.TrimSuffix(gs, "\n"), "\n")], as[:strings.LastIndex(strings.TrimSuffix(as, "\n"), "\n")]
		if gs != as {
			b.Errorf("final screens differ\nguest:\n%s\nbaseline:\n%s", gs, as)
		}
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(float64(relayBytes), "relay-bytes")
	b.ReportMetric(float64(baseBytes), "base-bytes")
	b.ReportMetric(100*float64(relayBytes)/float64(baseBytes), "relay/base-%")
	b.ReportMetric(ms(relayFinal), "relay-final-ms")
	b.ReportMetric(ms(baseFinal), "base-final-ms")
	b.ReportMetric(ms(relayFinal-baseFinal), "final-lag-ms")
	b.Logf("seq 1 %d: guest %d bytes, baseline %d bytes (%.1f%%); end of output on screen after %.1f ms (guest) and %.1f ms (baseline)",
		seqCount, relayBytes, baseBytes, 100*float64(relayBytes)/float64(baseBytes), ms(relayFinal), ms(baseFinal))
}

// BenchmarkIdleSessionMemory starts 50 real tmate hosts, each with one ssh
// guest on a pty, and reports the growth of the relay's RSS per session.
func BenchmarkIdleSessionMemory(b *testing.B) {
	needTools(b, "tmate", "ssh", "ssh-keygen")
	// All 100 connections come from one address at once: lift the per-address
	// cap on connections still in their handshake, which would refuse most.
	r := startRelay(b, "[limits]\nmax_startups = \"200\"\nsessions_per_address = 200\n")
	hp := newHostPool(b, r)
	var before, after float64
	for b.Loop() {
		time.Sleep(500 * time.Millisecond)
		before = relayRSS(b, r)
		hosts, guests := startSessions(b, hp, idleSessions)
		for _, g := range guests {
			if _, err := g.until(30*time.Second, showsRow("$")); err != nil {
				b.Fatal(err)
			}
		}
		time.Sleep(2 * time.Second) // idle
		after = relayRSS(b, r)
		for _, g := range guests {
			g.stop()
		}
		for _, h := range hosts {
			h.kill()
		}
	}
	b.ReportMetric((after-before)/idleSessions/mb, "MB/session")
	b.ReportMetric(before/mb, "rss-before-MB")
	b.ReportMetric(after/mb, "rss-after-MB")
	b.Logf("relay RSS %.1f MB before, %.1f MB with %d idle sessions of one guest each: %.2f MB a session",
		before/mb, after/mb, idleSessions, (after-before)/idleSessions/mb)
}

// startSessions starts n hosts several at a time, then one ssh guest on
// each; every process is stopped at cleanup if the caller has not already.
func startSessions(b *testing.B, hp *hostPool, n int) ([]*host, []*ptyTerm) {
	b.Helper()
	hosts := make([]*host, n)
	tokens := make([]string, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range next {
				hosts[i], tokens[i], errs[i] = hp.start(b, i, benchW, benchH-1)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, h := range hosts {
		b.Cleanup(h.kill)
	}
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	guests := make([]*ptyTerm, n)
	for i, tok := range tokens {
		guests[i] = sshGuestPty(b, hp.r, tok, benchW, benchH)
	}
	return hosts, guests
}

// BenchmarkFullHistoryPaneMemory fills a 100-column pane's 2000 history
// lines and its screen with coloured text (2100 lines, ten colour changes
// a line) while an ssh guest watches, and reports the growth of the
// relay's RSS: for the pane's content, and for the whole session.
func BenchmarkFullHistoryPaneMemory(b *testing.B) {
	needTools(b, "tmate", "ssh", "ssh-keygen")
	r := startRelay(b, "")
	hp := newHostPool(b, r)
	const lines, w, h = 2100, 100, 30
	var data []byte
	var lastRow string
	for i := range lines {
		var text []byte
		for j := range 10 {
			data = fmt.Appendf(data, "\x1b[3%dm%-10d", (i+j)%8, i*10+j)
			text = fmt.Appendf(text, "%-10d", i*10+j)
		}
		data = append(data, "\x1b[0m\n"...)
		lastRow = strings.TrimRight(string(text), " ")
	}
	file := filepath.Join(b.TempDir(), "coloured.txt")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		b.Fatal(err)
	}
	var none, idle, full float64
	var history string
	for i := 0; b.Loop(); i++ {
		time.Sleep(500 * time.Millisecond)
		none = relayRSS(b, r)
		hs, tok, err := hp.start(b, 1000+i, w, h)
		b.Cleanup(hs.kill)
		if err != nil {
			b.Fatal(err)
		}
		g := sshGuestPty(b, r, tok, w, h+1)
		if _, err := g.until(30*time.Second, showsRow("$")); err != nil {
			b.Fatal(err)
		}
		if err := g.quiet(500*time.Millisecond, 10*time.Second); err != nil {
			b.Fatal(err)
		}
		idle = relayRSS(b, r)
		hs.run("send-keys", "clear; cat "+file, "Enter")
		_, err = g.until(60*time.Second, func(e *vt.Emulator) bool {
			_, h := e.Size()
			for y := 0; y+1 < h; y++ {
				if row(e, y) == lastRow && row(e, y+1) == "$" {
					return true
				}
			}
			return false
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := g.quiet(500*time.Millisecond, 10*time.Second); err != nil {
			b.Fatal(err)
		}
		time.Sleep(time.Second)
		full = relayRSS(b, r)
		history = hs.display("#{history_size}/#{history_limit} lines of history, pane #{pane_width}x#{pane_height}")
		g.stop()
		hs.kill()
	}
	b.ReportMetric((full-idle)/mb, "MB/pane")
	b.ReportMetric((full-none)/mb, "MB/session")
	b.Logf("host: %s; relay RSS %.1f MB without the session, %.1f MB idle with it, %.1f MB with the pane full: %.2f MB for the content, %.2f MB for the session",
		history, none/mb, idle/mb, full/mb, (full-idle)/mb, (full-none)/mb)
}
