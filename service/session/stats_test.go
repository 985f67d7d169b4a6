package session

import (
	"testing"
	"time"

	"tmate-relay/service/protocol"
)

// Stats counts sessions by whether their host is there, and guests by
// transport and role, as they are now: a guest that left or a host that
// came back is counted so at once.
func TestStatsCountsSessionsAndGuests(t *testing.T) {
	f := newReconnectFixture(t, NewReconnector([]byte("k"), 5*time.Minute))
	live, _, _ := f.connect()
	away, _, awayGen := f.connect()
	if !f.reg.HostLost(away, awayGen) {
		t.Fatal("HostLost ended a session whose host holds reconnection data")
	}
	attach := func(s *Session, tr Transport, ro bool) *Guest {
		g, err := s.AttachVia(tr, ro, "192.0.2.1", 80, 24)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	attach(live, TransportSSH, false)
	attach(live, TransportSSH, false)
	left := attach(live, TransportWeb, true)
	attach(away, TransportWeb, false)
	plain, err := live.Attach(true, "192.0.2.1", 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	if plain.Transport != TransportSSH {
		t.Errorf("Attach made a %q guest, want ssh", plain.Transport)
	}
	live.Detach(left)

	st := f.reg.Stats()
	if st.Live != 1 || st.Waiting != 1 {
		t.Errorf("sessions: %d live, %d waiting; want 1 and 1", st.Live, st.Waiting)
	}
	want := map[GuestKind]int{
		{TransportSSH, false}: 2,
		{TransportSSH, true}:  1,
		{TransportWeb, false}: 1,
	}
	for k, n := range want {
		if st.Guests[k] != n {
			t.Errorf("guests %v: %d, want %d", k, st.Guests[k], n)
		}
	}
	if n := st.Guests[GuestKind{TransportWeb, true}]; n != 0 {
		t.Errorf("a detached web ro guest is still counted: %d", n)
	}

	away.TakeHost(&hostLog{}, "", nil)
	f.reg.Remove(live)
	if st := f.reg.Stats(); st.Live != 1 || st.Waiting != 0 || st.Guests[GuestKind{TransportSSH, false}] != 0 {
		t.Errorf("after the host came back and the other session ended: %+v", st)
	}
}

// TakeDataTime gives the arrival of the oldest host output not yet drawn
// for the guest, once: later output does not move it, and after it was
// taken there is none until more comes.
func TestTakeDataTimeIsOldestUndrawnOutput(t *testing.T) {
	s, _ := newTestSession(t, Config{})
	w0 := protocol.Window{Idx: 0, Name: "sh", ActivePaneID: 1, Panes: []protocol.PaneLayout{{ID: 1, SX: 40, SY: 3}}}
	apply(t, s, layout(40, 3, 0, w0))
	g, err := s.Attach(false, "192.0.2.1", 40, 4)
	if err != nil {
		t.Fatal(err)
	}
	if at := g.TakeDataTime(); !at.IsZero() {
		t.Fatalf("no output yet, but TakeDataTime = %v", at)
	}
	before := time.Now()
	apply(t, s, &protocol.PtyData{PaneID: 1, Data: []byte("a")})
	after := time.Now()
	time.Sleep(time.Millisecond)
	apply(t, s, &protocol.PtyData{PaneID: 1, Data: []byte("b")})
	at := g.TakeDataTime()
	if at.Before(before) || at.After(after) {
		t.Errorf("TakeDataTime = %v, want the first output's arrival, in [%v, %v]", at, before, after)
	}
	if again := g.TakeDataTime(); !again.IsZero() {
		t.Errorf("taken twice: %v", again)
	}
}
