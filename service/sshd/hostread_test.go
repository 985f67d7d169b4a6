package sshd

import (
	"bufio"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"tmate-relay/service/protocol"
	"tmate-relay/service/session"
	"tmate-relay/service/viewer"
)

// gatedTerm is a guest's terminal that records what it is shown. Once
// blocked, each Write waits until the terminal is released (a guest whose
// transport is full) or dropped.
type gatedTerm struct {
	resizes chan viewer.Size
	keys    *io.PipeReader
	typeIn  *io.PipeWriter
	release chan struct{}
	dropped chan struct{}
	drop    sync.Once

	mu      sync.Mutex
	shown   strings.Builder
	blocked bool
	waiting int // writes blocked now
}

func newGatedTerm() *gatedTerm {
	r, w := io.Pipe()
	return &gatedTerm{resizes: make(chan viewer.Size), keys: r, typeIn: w,
		release: make(chan struct{}), dropped: make(chan struct{})}
}

func (g *gatedTerm) Read(b []byte) (int, error) { return g.keys.Read(b) }

func (g *gatedTerm) Write(b []byte) (int, error) {
	g.mu.Lock()
	blocked := g.blocked
	if blocked {
		g.waiting++
	}
	g.mu.Unlock()
	if blocked {
		select {
		case <-g.release:
		case <-g.dropped:
			return 0, io.ErrClosedPipe
		}
		g.mu.Lock()
		g.waiting--
		g.mu.Unlock()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.shown.Write(b)
}

func (g *gatedTerm) Resizes() <-chan viewer.Size { return g.resizes }
func (g *gatedTerm) End(string)                  {}
func (g *gatedTerm) Drop()                       { g.drop.Do(func() { close(g.dropped) }) }

func (g *gatedTerm) block() {
	g.mu.Lock()
	g.blocked = true
	g.mu.Unlock()
}

func (g *gatedTerm) state() (shown string, waiting int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.shown.String(), g.waiting
}

// A change after a quiet spell is drawn in the host's reader for the guest
// who typed. When that guest's transport is full, the write blocks, and
// the host's reading goes on in another goroutine within
// viewer.HandOverWithin: the other guest sees every later output, the host's
// stream is read to its end, and how it ended is known at once, all while
// the blocked write still waits.
func TestABlockedWriteInTheHostsReaderHoldsNobody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := startBlockedTypist(t)
		s, r, hostIn, full, other := b.s, b.r, b.hostIn, b.full, b.other
		send := func(text string) time.Time {
			at := time.Now()
			if _, err := hostIn.Write(protocol.AppendHostMessage(nil, &protocol.PtyData{PaneID: 0, Data: []byte(text)})); err != nil {
				t.Fatal(err)
			}
			return at
		}

		for i, echo := range []string{"first", "second", "third"} {
			time.Sleep(10 * time.Millisecond) // a quiet spell
			at := send(echo)
			synctest.Wait()
			shown, _ := other.state()
			if !strings.Contains(shown, echo) {
				t.Fatalf("output %d (%q): the other guest does not show it while the typist's transport is full: %q", i+1, echo, shown)
			}
			if waited := time.Since(at); waited > viewer.HandOverWithin {
				t.Fatalf("output %d reached the other guest %v after the host sent it, want at most %v", i+1, waited, viewer.HandOverWithin)
			}
			if _, waiting := full.state(); waiting != 1 {
				t.Fatalf("output %d: %d writes wait on the full transport, want its one frame", i+1, waiting)
			}
		}

		hostIn.Close()
		synctest.Wait()
		select {
		case end := <-r.ended:
			if !end.lost {
				t.Errorf("the host's stream ended: %+v, want it lost", end)
			}
		default:
			t.Fatal("the host's stream ended, and its reading has not said so while a write still blocks")
		}

		close(full.release) // the guest reads again: it catches up with the newest state
		synctest.Wait()
		if shown, _ := full.state(); !strings.Contains(shown, "third") {
			t.Errorf("the typist's transport took frames again, and it does not show the last output: %q", shown)
		}
		s.End("the host left")
		for _, done := range []chan string{b.fullDone, b.otherDone} {
			if why := <-done; why != "the host left" {
				t.Errorf("a guest's loop ended with %q", why)
			}
		}
		for _, term := range []*gatedTerm{full, other} {
			term.typeIn.Close()
			close(term.resizes)
		}
		time.Sleep(2 * time.Second) // the watchdog stops once idle
	})
}

// blockedTypist is a session with two guests on gated terminals, the
// typist's blocked (its transport full), read by a hostReader from hostIn.
type blockedTypist struct {
	s                   *session.Session
	r                   *hostReader
	hostIn              *io.PipeWriter
	full, other         *gatedTerm
	fullDone, otherDone chan string
}

// startBlockedTypist starts one, inside a synctest bubble.
func startBlockedTypist(t *testing.T) *blockedTypist {
	t.Helper()
	s := session.New(session.Config{}, nopHost{})
	if err := session.NewRegistry(0).Add(s); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(&protocol.SyncLayout{SX: 80, SY: 24, Windows: []protocol.Window{{
		Idx: 0, Name: "sh", Panes: []protocol.PaneLayout{{ID: 0, SX: 80, SY: 24}},
	}}}); err != nil {
		t.Fatal(err)
	}
	cfg := viewer.Config{WriteTimeout: time.Hour, Watchdog: viewer.NewWatchdog()}
	guest := func() (*session.Guest, *gatedTerm, chan string) {
		g, err := s.Attach(false, "192.0.2.1", 80, 25)
		if err != nil {
			t.Fatal(err)
		}
		term := newGatedTerm()
		done := make(chan string, 1)
		go func() { done <- viewer.Run(s, g, term, cfg) }()
		return g, term, done
	}
	typist, full, fullDone := guest()
	_, other, otherDone := guest()
	synctest.Wait() // both guests' first frames
	s.SendKeys(typist, []uint64{'x'})
	full.block()

	hostOut, hostIn := io.Pipe()
	in := bufio.NewReader(hostOut)
	r := newHostReader(s, &hostStream{dec: protocol.NewDecoder(in, protocol.Limits{})}, in, slog.New(slog.DiscardHandler))
	go r.takeOver(0)
	return &blockedTypist{s: s, r: r, hostIn: hostIn, full: full, other: other, fullDone: fullDone, otherDone: otherDone}
}

// The host's FIN that comes with output the host's reader draws for a
// blocked typist still ends the session as a FIN: the reader that hands
// its reading on must not forget it.
func TestAFinTogetherWithABlockedWriteEndsTheSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := startBlockedTypist(t)
		var msgs []byte
		msgs = protocol.AppendHostMessage(msgs, &protocol.PtyData{PaneID: 0, Data: []byte("bye")})
		msgs = protocol.AppendHostMessage(msgs, &protocol.Fin{})
		if _, err := b.hostIn.Write(msgs); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		select {
		case end := <-b.r.ended:
			if end.reason != "The host closed the session." || end.lost || end.failed {
				t.Errorf("the host's FIN ended the reading with %+v", end)
			}
		default:
			t.Fatal("the host sent FIN, and its reading has not ended")
		}
		b.hostIn.Close()
		close(b.full.release)
		b.s.End("the host left")
		for _, done := range []chan string{b.fullDone, b.otherDone} {
			<-done
		}
		for _, term := range []*gatedTerm{b.full, b.other} {
			term.typeIn.Close()
			close(term.resizes)
		}
		time.Sleep(2 * time.Second) // the watchdog stops once idle
	})
}
