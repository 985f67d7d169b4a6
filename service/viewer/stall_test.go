package viewer

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"tmate-relay/service/protocol"
)

// stallTerm is a guest that takes nothing: every Write blocks until the
// guest is dropped. It counts the bytes handed to it.
type stallTerm struct {
	*fakeTerm
	mu     sync.Mutex
	writes int
	bytes  int
}

func (s *stallTerm) Write(b []byte) (int, error) {
	s.mu.Lock()
	s.writes++
	s.bytes += len(b)
	s.mu.Unlock()
	<-s.dropped
	return 0, fmt.Errorf("connection closed")
}

// A guest that stops reading holds one frame, never a queue of the
// session's output, blocks neither the session nor its other guests, and
// is dropped once a write has waited WriteTimeout; its loop then ends.
func TestGuestThatTakesNothingIsDropped(t *testing.T) {
	for _, timeout := range []time.Duration{time.Second, 30 * time.Second} {
		t.Run(timeout.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, _ := newSession(t)
				layout := &protocol.SyncLayout{SX: 80, SY: 24, Windows: []protocol.Window{{
					Idx: 0, Name: "sh", Panes: []protocol.PaneLayout{{ID: 0, SX: 80, SY: 24}},
				}}}
				if _, err := s.Apply(layout); err != nil {
					t.Fatal(err)
				}
				cfg := Config{WriteTimeout: timeout}
				stalled := &stallTerm{fakeTerm: newFakeTerm()}
				gs, err := s.Attach(false, "192.0.2.1", 80, 25)
				if err != nil {
					t.Fatal(err)
				}
				stalledDone := make(chan string, 1)
				start := time.Now()
				go func() { stalledDone <- Run(s, gs, stalled, cfg) }()
				reader := &frameTerm{fakeTerm: newFakeTerm()}
				gr, err := s.Attach(false, "192.0.2.2", 80, 25)
				if err != nil {
					t.Fatal(err)
				}
				readerDone := make(chan string, 1)
				go func() { readerDone <- Run(s, gr, reader, cfg) }()
				synctest.Wait()

				// 8 MiB of output while the first guest takes nothing: every
				// message is applied at once (the session does not wait for
				// it) and the reading guest sees the last line.
				line := strings.Repeat("x", 70) + "\r\n"
				chunk := strings.Repeat(line, 16384/len(line))
				for i := 0; i < 8<<20/len(chunk); i++ {
					output(s, t, chunk)
				}
				output(s, t, "the last line")
				synctest.Wait()
				if got := reader.shown(); !strings.Contains(got[max(0, len(got)-4096):], "the last line") {
					t.Fatal("the reading guest did not see the last line while the other took nothing")
				}
				stalled.mu.Lock()
				writes, bytes := stalled.writes, stalled.bytes
				stalled.mu.Unlock()
				if writes != 1 || bytes > 80*25*16 {
					t.Fatalf("the guest that takes nothing was handed %d writes of %d bytes in all, want the one frame in flight (at most a screenful)", writes, bytes)
				}

				var why string
				select {
				case why = <-stalledDone:
				case <-time.After(timeout + time.Second):
					t.Fatalf("the guest that takes nothing is still on %v after its first frame", timeout+time.Second)
				}
				if want := StalledMessage(timeout); why != want {
					t.Fatalf("its loop ended with %q, want %q", why, want)
				}
				if took := time.Since(start); took != timeout {
					t.Fatalf("it was dropped %v after its frame was written, want %v", took, timeout)
				}
				s.Detach(gs)

				// The other guest carries on.
				output(s, t, "\r\nafter the drop")
				synctest.Wait()
				if got := reader.shown(); !strings.Contains(got[max(0, len(got)-4096):], "after the drop") {
					t.Fatal("the reading guest stopped getting frames once the other was dropped")
				}
				s.End("the host left")
				<-readerDone
				for _, f := range []*fakeTerm{stalled.fakeTerm, reader.fakeTerm} {
					f.typeIn.Close()
					close(f.resizes)
				}
			})
		})
	}
}
