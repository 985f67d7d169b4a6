package session

import (
	"log/slog"
	"strings"
	"testing"

	"tmate-relay/service/guest"
	"tmate-relay/service/internal/faultinject"
	"tmate-relay/service/logtest"
	"tmate-relay/service/protocol"
)

func TestAPanicEndsItsSessionOnce(t *testing.T) {
	log := &logtest.Buffer{}
	cfg := Config{AdvertiseHost: "relay.example", Log: slog.New(slog.NewTextHandler(log, nil))}
	reg := NewRegistry(0)
	hostA := &hostLog{}
	a, b := New(cfg, hostA), New(cfg, &hostLog{})
	for _, s := range []*Session{a, b} {
		if err := reg.Add(s); err != nil {
			t.Fatal(err)
		}
	}

	go func() {
		defer a.Recover("a test goroutine")
		panic("injected")
	}()
	<-a.Done()
	if a.EndReason() != CrashNotice {
		t.Fatalf("the session ended with %q", a.EndReason())
	}
	if got := hostA.take(); len(got) != 1 || got[0] != "NOTIFY "+CrashHostNotice {
		t.Fatalf("the host was sent %q", got)
	}
	if _, _, ok := reg.Lookup(a.Token()); ok {
		t.Fatal("the ended session's token still finds it")
	}
	if _, _, ok := reg.Lookup(b.Token()); !ok || b.ended() {
		t.Fatal("the other session did not carry on")
	}
	if n := strings.Count(log.String(), "a panic ended a session"); n != 1 {
		t.Fatalf("%d log lines, want 1:\n%s", n, log.String())
	}
	if strings.Count(log.String(), "crash_test.go") == 0 || strings.Count(log.String(), "panic=injected") != 1 {
		t.Fatalf("the log line does not hold the panic and its stack:\n%s", log.String())
	}

	a.Crash("its teardown", "again") // logged, not told twice
	if n := strings.Count(log.String(), "a panic ended a session"); n != 2 {
		t.Fatalf("%d log lines after a second panic, want 2", n)
	}
	if got := hostA.take(); len(got) != 0 {
		t.Fatalf("the host was told again: %q", got)
	}
}

// stuckHost takes no NOTIFY until released.
type stuckHost struct {
	hostLog
	release chan struct{}
}

func (h *stuckHost) Notify(string) error { <-h.release; return nil }

func TestAPanicEndsTheSessionOfAHostThatReadsNothing(t *testing.T) {
	h := &stuckHost{release: make(chan struct{})}
	defer close(h.release)
	s := New(Config{Log: slog.New(slog.NewTextHandler(&logtest.Buffer{}, nil))}, h)
	s.Crash("a test", "injected")
	select {
	case <-s.Done():
	default:
		t.Fatal("the session waits for its host")
	}
}

// TestAPanicLeavesTheSessionUnlocked panics in code that runs under the
// session's lock: its guests and its teardown must still get the lock.
func TestAPanicLeavesTheSessionUnlocked(t *testing.T) {
	for _, tc := range []struct {
		place string
		run   func(*Session, *Guest)
	}{
		{faultinject.Emulator, func(s *Session, _ *Guest) { s.Apply(&protocol.PtyData{PaneID: 0, Data: []byte("x")}) }},
		{faultinject.Reconnect, func(s *Session, _ *Guest) {
			s.Apply(&protocol.Snapshot{Panes: []protocol.SnapshotPane{{ID: 0}}})
		}},
		{faultinject.Status, func(s *Session, g *Guest) { s.Compose(g, &guest.Frame{}) }},
	} {
		t.Run(tc.place, func(t *testing.T) {
			s, _ := newTestSession(t, Config{})
			apply(t, s, layout(80, 23, 0, protocol.Window{Idx: 0, Name: "w", Panes: []protocol.PaneLayout{{ID: 0, SX: 80, SY: 23}}}))
			g, err := s.Attach(false, "guest", 80, 24)
			if err != nil {
				t.Fatal(err)
			}
			faultinject.Hook = func(place string, _ any) {
				if place == tc.place {
					panic("injected")
				}
			}
			defer func() { faultinject.Hook = nil }()
			func() {
				defer func() {
					if recover() == nil {
						t.Fatal("no panic")
					}
				}()
				tc.run(s, g)
			}()
			if !s.mu.TryLock() {
				t.Fatal("the panic left the session locked")
			}
			s.mu.Unlock()
		})
	}
}
