package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"golang.org/x/crypto/ssh"

	"tmate-relay/service/protocol"
)

const (
	cpuSessions = 200
	cpuWindow   = 20 * time.Second
	clockTicks  = 100 // USER_HZ: the unit of /proc/PID/stat's times
)

// BenchmarkManySessionsCPU runs 200 sessions, each a synthetic host built
// from the protocol encoder (one 80x24 pane) with one SSH guest that reads
// and discards its frames, the hosts writing one line a second each,
// spread over the second. It reports the relay's CPU time over 20 s: the
// cost per session of a relay full of quiet sessions.
func BenchmarkManySessionsCPU(b *testing.B) {
	r := startRelay(b, fmt.Sprintf("[limits]\nmax_startups = \"%d\"\nsessions_per_address = %d\n", 2*cpuSessions, 2*cpuSessions))
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		b.Fatal(err)
	}
	hosts := make([]*loadHost, cpuSessions)
	errs := make([]error, cpuSessions)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				hosts[i], errs[i] = dialLoadHost(r, signer)
			}
		})
	}
	for i := range cpuSessions {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, h := range hosts {
		if h != nil {
			b.Cleanup(func() {
				if h.guest != nil {
					h.guest.Close()
				}
				h.c.Close()
			})
		}
		if errs[i] != nil {
			b.Fatalf("host %d: %v", i, errs[i])
		}
	}
	var received atomic.Int64
	for i, h := range hosts {
		if err := h.join(r, signer, &received); err != nil {
			b.Fatalf("guest of host %d: %v", i, err)
		}
	}
	stop := make(chan struct{})
	defer close(stop)
	for i, h := range hosts {
		go h.writeLines(time.Duration(i)*time.Second/cpuSessions, stop)
	}
	r.waitRepository(b)
	time.Sleep(3 * time.Second) // every host has written, every guest drawn
	var cpu time.Duration
	var bytes int64
	var elapsed time.Duration
	for b.Loop() {
		c0, n0, t0 := relayCPU(b, r), received.Load(), time.Now()
		time.Sleep(cpuWindow)
		cpu, bytes, elapsed = relayCPU(b, r)-c0, received.Load()-n0, time.Since(t0)
	}
	pct := 100 * float64(cpu) / float64(elapsed)
	perSession := float64(cpu) / float64(time.Microsecond) / elapsed.Seconds() / cpuSessions
	b.ReportMetric(pct, "relay-cpu-%")
	b.ReportMetric(perSession, "cpu-µs/session-s")
	b.ReportMetric(float64(bytes)/elapsed.Seconds()/cpuSessions, "guest-bytes/session-s")
	b.Logf("%d sessions of one guest, a line a second each: relay CPU %v over %v (%.2f%% of a core, %.0f µs per session-second); guests read %.0f bytes per session-second",
		cpuSessions, cpu, elapsed.Round(time.Millisecond), pct, perSession, float64(bytes)/elapsed.Seconds()/cpuSessions)
}

// relayCPU is the relay process's user and system time so far.
func relayCPU(tb testing.TB, r *relay) time.Duration {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", r.cmd.Process.Pid))
	if err != nil {
		tb.Fatal(err)
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 14th and 15th of the line.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		tb.Fatalf("/proc/PID/stat: %q", b)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// loadHost is a synthetic tmate host: the protocol's start-up, one pane,
// then lines of output.
type loadHost struct {
	c     *ssh.Client
	ch    ssh.Channel
	token chan string
	guest *ssh.Client
}

func dialLoadHost(r *relay, signer ssh.Signer) (*loadHost, error) {
	c, err := ssh.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port), &ssh.ClientConfig{
		User: "tmate", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	h := &loadHost{c: c, token: make(chan string, 1)}
	ch, reqs, err := c.OpenChannel("session", nil)
	if err != nil {
		return h, err
	}
	h.ch = ch
	go ssh.DiscardRequests(reqs)
	if ok, err := ch.SendRequest("subsystem", true, ssh.Marshal(struct{ Name string }{"tmate"})); !ok || err != nil {
		return h, fmt.Errorf("subsystem tmate: %v %v", ok, err)
	}
	go h.readRelay()
	var msgs []byte
	for _, m := range []protocol.HostMessage{
		&protocol.Header{ProtocolVersion: 6, ClientVersion: "2.4.0"},
		oneWindow(1, 80, 24),
		&protocol.Ready{},
	} {
		msgs = protocol.AppendHostMessage(msgs, m)
	}
	if _, err := ch.Write(msgs); err != nil {
		return h, err
	}
	return h, nil
}

// readRelay reads what the relay sends the host until the connection
// ends, and passes on the read-write token of its "ssh session" notice.
func (h *loadHost) readRelay() {
	dec := msgpack.NewDecoder(h.ch)
	for {
		var m []any
		if err := dec.Decode(&m); err != nil {
			io.Copy(io.Discard, h.ch)
			return
		}
		if len(m) != 2 {
			continue
		}
		s, _ := m[1].(string)
		if rw, ok := strings.CutPrefix(s, "ssh session: "); ok {
			for _, f := range strings.Fields(rw) {
				if at := strings.LastIndexByte(f, '@'); at > 0 {
					select {
					case h.token <- f[:at]:
					default:
					}
				}
			}
		}
	}
}

// join connects an SSH guest with an 80x25 pty to the host's session; the
// guest discards what it reads, and counts it in received.
func (h *loadHost) join(r *relay, signer ssh.Signer, received *atomic.Int64) error {
	var token string
	select {
	case token = <-h.token:
	case <-time.After(30 * time.Second):
		return fmt.Errorf("no ssh session notice within 30s")
	}
	c, err := ssh.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port), &ssh.ClientConfig{
		User: token, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second,
	})
	if err != nil {
		return err
	}
	h.guest = c
	s, err := c.NewSession()
	if err != nil {
		return err
	}
	s.Stdout = countingDiscard{received}
	s.Stdin, _ = io.Pipe() // types nothing: its end is an EOF, a guest leaving
	if err := s.RequestPty("xterm", 25, 80, ssh.TerminalModes{}); err != nil {
		return err
	}
	return s.Shell()
}

type countingDiscard struct{ n *atomic.Int64 }

func (c countingDiscard) Write(b []byte) (int, error) {
	c.n.Add(int64(len(b)))
	return len(b), nil
}

// writeLines writes a line of output a second, the first after offset,
// until stop is closed.
func (h *loadHost) writeLines(offset time.Duration, stop <-chan struct{}) {
	select {
	case <-time.After(offset):
	case <-stop:
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for n := 0; ; n++ {
		line := protocol.AppendHostMessage(nil, &protocol.PtyData{PaneID: 0, Data: fmt.Appendf(nil, "line %d: the quick brown fox jumps over the lazy dog\r\n", n)})
		if _, err := h.ch.Write(line); err != nil {
			return
		}
		select {
		case <-t.C:
		case <-stop:
			return
		}
	}
}
