package session

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSessionIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s := New(Config{}, &hostLog{})
		if !ValidID(s.ID()) || seen[s.ID()] {
			t.Fatalf("id %q: not 16 hex digits, or repeated", s.ID())
		}
		seen[s.ID()] = true
	}
}

// TestKickKeepsHostOut: after a kick, the host's reconnection data no
// longer brings it back, in this relay or (named) under the same names,
// until that data has expired.
func TestKickKeepsHostOut(t *testing.T) {
	rc := NewReconnector([]byte("k"), time.Minute)
	f := newReconnectFixture(t, rc)
	s, h, gen := f.connect()
	data := dataOf(t, h.take())
	if _, err := s.Attach(false, "192.0.2.1", 80, 24); err != nil {
		t.Fatal(err)
	}
	h.take()

	f.reg.Kick(s)
	if !s.ended() || s.EndReason() != KickedText {
		t.Fatalf("session not ended by the kick: %q", s.EndReason())
	}
	if sent := h.take(); len(sent) == 0 || sent[0] != "NOTIFY "+KickedText {
		t.Errorf("host was sent %q, want the kick's NOTIFY first", sent)
	}
	if _, _, ok := f.reg.Lookup(s.Token()); ok || f.reg.Len() != 0 {
		t.Error("the kicked session is still reachable")
	}
	if f.reg.HostLost(s, gen) {
		t.Error("the kicked session waits for its host")
	}
	if got, _, err := f.reg.Resume(data, "", Config{}, &hostLog{}, nil); !errors.Is(err, ErrKicked) {
		t.Fatalf("Resume after a kick: session %v, error %v; want ErrKicked", got, err)
	}
	if f.reg.Len() != 0 {
		t.Error("a refused reconnection made a session")
	}

	// A named session's names stay taken by the kick.
	fresh := New(Config{}, &hostLog{})
	if err := f.reg.Add(fresh); err != nil {
		t.Fatal(err)
	}
	err := f.reg.claim(fresh, s.Token(), "")
	if err == nil || !strings.Contains(err.Error(), "the relay's administrator ended") {
		t.Errorf("claiming a kicked session's name: %v", err)
	}

	// Once the data has expired the names are free again.
	f.reg.mu.Lock()
	for tok := range f.reg.kicked {
		f.reg.kicked[tok] = time.Now().Add(-time.Second)
	}
	f.reg.mu.Unlock()
	if err := f.reg.claim(fresh, s.Token(), ""); err != nil {
		t.Errorf("claiming the name after the window: %v", err)
	}
}

func TestSayAndKickGuest(t *testing.T) {
	h := &hostLog{}
	s := New(Config{MessageTimeout: time.Minute}, h)
	a, _ := s.Attach(false, "192.0.2.1", 80, 24)
	b, _ := s.AttachVia(TransportWeb, true, "192.0.2.2", 80, 24)
	h.take()
	s.Say("hello")
	if sent := h.take(); len(sent) != 1 || sent[0] != "NOTIFY "+SayPrefix+"hello" {
		t.Errorf("host was sent %q", sent)
	}
	for _, g := range []*Guest{a, b} {
		if m := g.currentMessage(); m != SayPrefix+"hello" {
			t.Errorf("guest %d shows %q", g.ClientID, m)
		}
	}
	if s.KickGuest(99) {
		t.Error("kicked a guest that is not there")
	}
	if !s.KickGuest(b.ClientID) {
		t.Fatal("guest not found")
	}
	select {
	case <-b.Kicked():
	default:
		t.Fatal("guest not kicked")
	}
	select {
	case <-a.Kicked():
		t.Error("the other guest was kicked")
	default:
	}
	in := s.Info()
	if in.Guests != (GuestCounts{SSHReadWrite: 1, WebReadOnly: 1}) {
		t.Errorf("counts %+v", in.Guests)
	}
}

func TestCleanSayText(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"maintenance at 10:00", "maintenance at 10:00", ""},
		{"two\nlines\r\n", "two lines", ""},
		{"\x1b]0;title\x07bell", "]0;titlebell", ""},
		{"  ", "", "empty"},
		{strings.Repeat("é", 251), "", "longer than 500 bytes"},
	} {
		got, err := CleanSayText(tc.in)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("CleanSayText(%q) = %q, %v; want %q, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}
