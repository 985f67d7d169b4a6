package viewer

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"tmate-relay/service/protocol"
	"tmate-relay/service/session"
)

// Inside a synctest bubble the clock is fake: it moves only when every
// goroutine waits, so a frame drawn "at once" is one written at the very
// instant of the change, and a frame held back by any timer is not there
// yet when synctest.Wait returns.

// frameTerm records each frame with the (fake) time it was written; with
// gate set, each Write waits for a value from it, as a transport with a
// frame in flight does.
type frameTerm struct {
	*fakeTerm
	gate chan struct{}

	mu     sync.Mutex
	frames []stampedFrame
}

type stampedFrame struct {
	at   time.Time
	data string
	// byMaker: written from within the call that made the change
	// (Session.NotifyGuestsDrawingOne), not by the guest's loop.
	byMaker bool
}

func (f *frameTerm) Write(b []byte) (int, error) {
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-f.dropped:
			return 0, io.ErrClosedPipe
		}
	}
	f.mu.Lock()
	byMaker := strings.Contains(string(debug.Stack()), "NotifyGuestsDrawingOne")
	f.frames = append(f.frames, stampedFrame{time.Now(), string(b), byMaker})
	f.mu.Unlock()
	return f.fakeTerm.Write(b)
}

func (f *frameTerm) written() []stampedFrame {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]stampedFrame(nil), f.frames...)
}

// onePaneSession is a session with one 80x24 pane and a guest loop on a
// frameTerm; stop ends both, so that the bubble's goroutines exit.
func onePaneSession(t *testing.T, gate chan struct{}) (s *session.Session, term *frameTerm, stop func()) {
	t.Helper()
	s, _ = newSession(t)
	layout := &protocol.SyncLayout{SX: 80, SY: 24, Windows: []protocol.Window{{
		Idx: 0, Name: "sh", Panes: []protocol.PaneLayout{{ID: 0, SX: 80, SY: 24}},
	}}}
	if _, err := s.Apply(layout); err != nil {
		t.Fatal(err)
	}
	g, err := s.Attach(false, "192.0.2.1", 80, 25)
	if err != nil {
		t.Fatal(err)
	}
	term = &frameTerm{fakeTerm: newFakeTerm(), gate: gate}
	done := make(chan string)
	go func() { done <- Run(s, g, term, Config{Watchdog: NewWatchdog()}) }()
	return s, term, func() {
		if gate != nil {
			close(gate)
		}
		s.End("the host left")
		<-done
		term.typeIn.Close()
		close(term.resizes)
		time.Sleep(watchdogIdle + watchdogTick) // the watchdog stops once idle
	}
}

func output(s *session.Session, t *testing.T, text string) {
	t.Helper()
	if _, err := s.Apply(&protocol.PtyData{PaneID: 0, Data: []byte(text)}); err != nil {
		t.Fatal(err)
	}
}

// A change after an idle spell, however short, is drawn at the instant it
// is made: a keystroke's echo never waits for a clock, at any typing rate.
func TestFrameAfterIdleIsNotDelayed(t *testing.T) {
	for _, idle := range []time.Duration{
		500 * time.Microsecond, 2 * time.Millisecond, 6 * time.Millisecond,
		21 * time.Millisecond, time.Second, time.Hour,
	} {
		t.Run(idle.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, term, stop := onePaneSession(t, nil)
				defer stop()
				synctest.Wait() // the first frame
				for i := range 30 {
					time.Sleep(idle)
					echo := string(rune('a' + i%26))
					at := time.Now()
					output(s, t, echo)
					synctest.Wait()
					frames := term.written()
					last := frames[len(frames)-1]
					if !strings.Contains(last.data, echo) || !last.at.Equal(at) {
						t.Fatalf("echo %d of %q, %v after the one before: the last frame is %q, written %v after the echo",
							i+1, echo, idle, last.data, last.at.Sub(at))
					}
				}
			})
		})
	}
}

// quietOutput applies output as the host's reader does after a quiet
// spell: the change is drawn for one guest in the calling goroutine.
func quietOutput(s *session.Session, t *testing.T, text string) {
	t.Helper()
	if _, _, err := s.ApplyQuiet(&protocol.PtyData{PaneID: 0, Data: []byte(text)}); err != nil {
		t.Fatal(err)
	}
	s.NotifyGuestsDrawingOne(func() { t.Error("a write to a terminal that takes frames at once was slow") })
}

// After a quiet spell, the change is drawn by the goroutine that made it
// (the host's reader), before that call returns: the echo wakes no other
// goroutine. While the guest's loop has a frame in flight, the change is
// left to the loop, which draws it, with every change since, next.
func TestQuietChangeIsDrawnByItsMaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		s, term, stop := onePaneSession(t, gate)
		defer stop()
		gate <- struct{}{} // the first frame
		synctest.Wait()
		for i, echo := range []string{"a", "b", "c"} {
			time.Sleep(time.Second)
			go func() { gate <- struct{}{} }() // the maker's write goes through
			quietOutput(s, t, echo)
			frames := term.written()
			if last := frames[len(frames)-1]; len(frames) != i+2 || !strings.Contains(last.data, echo) || !last.byMaker {
				t.Fatalf("echo %d (%q): once the maker's call returned, %d frames, the last %+v: want %d, the last with the echo, written by the maker",
					i+1, echo, len(frames), last, i+2)
			}
			synctest.Wait()
		}

		output(s, t, "d") // the loop's frame...
		synctest.Wait()   // ...is in flight
		quietOutput(s, t, "e")
		if frames := term.written(); len(frames) != 4 {
			t.Fatalf("a frame was written while another was in flight: %+v", frames[4:])
		}
		gate <- struct{}{} // "d" is written
		gate <- struct{}{} // and the next frame, by the loop
		synctest.Wait()
		frames := term.written()
		if len(frames) != 6 || !strings.Contains(frames[5].data, "e") || frames[5].byMaker {
			t.Fatalf("after the frame in flight: %+v, want one more frame, with e, by the loop", frames[4:])
		}
	})
}

// The changes made while a frame is in flight are drawn together, as one
// frame of the newest state, once the transport takes the next one.
func TestChangesDuringAWriteMakeOneFrame(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		s, term, stop := onePaneSession(t, gate)
		defer stop()
		gate <- struct{}{} // the first frame
		synctest.Wait()
		output(s, t, "a")
		synctest.Wait() // the frame with "a" is in flight
		for _, c := range []string{"b", "c", "d", "e"} {
			output(s, t, c)
			synctest.Wait()
		}
		gate <- struct{}{} // "a" is written
		gate <- struct{}{} // and one more frame
		synctest.Wait()
		frames := term.written()
		if len(frames) != 3 {
			t.Fatalf("%d frames after four changes during a write, want the first, the one in flight and one more: %+v", len(frames), frames)
		}
		if !strings.Contains(frames[1].data, "a") || !strings.Contains(frames[2].data, "bcde") {
			t.Fatalf("the frames are %q and %q, want a, then bcde", frames[1].data, frames[2].data)
		}
	})
}

// receiptTerm is a frameTerm of a transport that can tell when the guest
// received what was written; it records when it was asked, between which
// frames.
type receiptTerm struct {
	*frameTerm
	asked []int // the number of frames written at each AwaitReceipt
}

func (r *receiptTerm) AwaitReceipt() {
	r.asked = append(r.asked, len(r.written()))
}

// A frame after a quiet spell asks for no receipt (a round trip per frame
// would cost every session); one with a change made while it was written
// does, before the next frame.
func TestReceiptIsAwaitedOnlyWhenChangesPileUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		s, _ := newSession(t)
		layout := &protocol.SyncLayout{SX: 80, SY: 24, Windows: []protocol.Window{{
			Idx: 0, Name: "sh", Panes: []protocol.PaneLayout{{ID: 0, SX: 80, SY: 24}},
		}}}
		if _, err := s.Apply(layout); err != nil {
			t.Fatal(err)
		}
		g, err := s.Attach(false, "192.0.2.1", 80, 25)
		if err != nil {
			t.Fatal(err)
		}
		term := &receiptTerm{frameTerm: &frameTerm{fakeTerm: newFakeTerm(), gate: gate}}
		done := make(chan string)
		go func() { done <- Run(s, g, term, Config{}) }()
		gate <- struct{}{} // the first frame
		synctest.Wait()
		for _, c := range []string{"a", "b"} { // typed, a while apart
			time.Sleep(time.Second)
			output(s, t, c)
			synctest.Wait()
			gate <- struct{}{}
			synctest.Wait()
		}
		if len(term.asked) != 0 {
			t.Fatalf("receipts awaited after frames %v of a quiet session", term.asked)
		}
		output(s, t, "c")
		synctest.Wait() // the frame with "c" is in flight
		output(s, t, "d")
		synctest.Wait()
		gate <- struct{}{} // "c" is written
		synctest.Wait()
		if want := []int{4}; fmt.Sprint(term.asked) != fmt.Sprint(want) {
			t.Fatalf("receipts awaited after frames %v, want %v: after the frame written while the session changed", term.asked, want)
		}
		gate <- struct{}{} // "d"
		synctest.Wait()
		close(gate)
		s.End("the host left")
		<-done
		term.typeIn.Close()
		close(term.resizes)
	})
}
