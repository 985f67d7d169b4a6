package session

import (
	"sync"
	"testing"

	"tmate-relay/service/guest"
	"tmate-relay/service/protocol"
)

// drawLog is an InlineDrawer that records its calls and draws as told.
type drawLog struct {
	name  string
	calls *[]string
	draws bool
}

func (d drawLog) DrawNow(slow func()) bool {
	*d.calls = append(*d.calls, d.name)
	return d.draws
}

// A change after a quiet spell is drawn in the caller for one guest: the
// last to type if it can be drawn so, else the first that can. Every
// other guest, and the drawn one if its drawer declines, is told as
// NotifyGuests tells them.
func TestNotifyGuestsDrawingOnePicksTheTypist(t *testing.T) {
	for _, tc := range []struct {
		name      string
		typist    int    // index of the guest that types, -1 for none
		readOnly  int    // index of a read-only guest, -1 for none
		drawers   []bool // which guests have a drawer
		declines  bool   // the picked drawer declines (its loop is drawing)
		wantDrawn string // "" for none
	}{
		{name: "the typist", typist: 1, readOnly: -1, drawers: []bool{true, true, true}, wantDrawn: "g1"},
		{name: "nobody typed", typist: -1, readOnly: -1, drawers: []bool{true, true, true}, wantDrawn: "g0"},
		{name: "the typist has no drawer", typist: 1, readOnly: -1, drawers: []bool{false, false, true}, wantDrawn: "g2"},
		{name: "a read-only guest does not type", typist: 1, readOnly: 1, drawers: []bool{true, true, true}, wantDrawn: "g0"},
		{name: "the drawer declines", typist: 1, readOnly: -1, drawers: []bool{true, true, true}, declines: true, wantDrawn: "g1"},
		{name: "no drawers", typist: 0, readOnly: -1, drawers: []bool{false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestSession(t, Config{})
			var calls []string
			var guests []*Guest
			for i, has := range tc.drawers {
				g, err := s.Attach(i == tc.readOnly, "192.0.2.1", 80, 24)
				if err != nil {
					t.Fatal(err)
				}
				<-g.Changed() // the signal of joining
				if has {
					s.SetInlineDrawer(g, drawLog{name: "g" + string(rune('0'+i)), calls: &calls, draws: !tc.declines})
				}
				guests = append(guests, g)
			}
			if tc.typist >= 0 {
				s.SendKeys(guests[tc.typist], []uint64{'x'})
			}
			s.NotifyGuestsDrawingOne(func() {})
			if tc.wantDrawn == "" && len(calls) != 0 || tc.wantDrawn != "" && (len(calls) != 1 || calls[0] != tc.wantDrawn) {
				t.Fatalf("drawn in the caller: %v, want [%s]", calls, tc.wantDrawn)
			}
			for i, g := range guests {
				drawn := tc.wantDrawn == "g"+string(rune('0'+i)) && !tc.declines
				if told := len(g.Changed()) == 1; told == drawn {
					t.Errorf("guest %d: told %v, drawn in the caller %v: want one or the other", i, told, drawn)
				}
			}
		})
	}
}

// A guest's loop that ended takes its drawer away: a later change is only
// told.
func TestADetachedDrawerIsNotCalled(t *testing.T) {
	s, _ := newTestSession(t, Config{})
	g, err := s.Attach(false, "192.0.2.1", 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	<-g.Changed()
	var calls []string
	s.SetInlineDrawer(g, drawLog{name: "g", calls: &calls, draws: true})
	s.SendKeys(g, []uint64{'x'})
	s.SetInlineDrawer(g, nil)
	s.NotifyGuestsDrawingOne(func() {})
	if len(calls) != 0 || len(g.Changed()) != 1 {
		t.Fatalf("drawn %v, told %d times: want told only", calls, len(g.Changed()))
	}
	s.Detach(g)
	if s.typist.Load() != nil {
		t.Error("a guest that left is still the session's typist")
	}
}

// Guests compose at once, each under the session's read lock (and the
// host's reader composes for one of them): a pane in copy mode is shown to
// all of them without any of them writing to the session. Run with -race.
func TestGuestsComposeACopyModePaneAtOnce(t *testing.T) {
	s, _ := newTestSession(t, Config{})
	w0 := protocol.Window{Idx: 0, Name: "sh", ActivePaneID: 1, Panes: []protocol.PaneLayout{{ID: 1, SX: 40, SY: 3}}}
	apply(t, s, layout(40, 3, 0, w0), &protocol.PtyData{PaneID: 1, Data: []byte("$ ")},
		&protocol.SyncCopyMode{PaneID: 1, CopyMode: &protocol.CopyMode{Backing: true}})
	var wg sync.WaitGroup
	for range 2 {
		g, err := s.Attach(false, "192.0.2.1", 40, 4)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			var f guest.Frame
			for range 50 {
				s.Compose(g, &f)
				g.stamp = viewStamp{} // build the view each time, as after a change of state
			}
		})
	}
	wg.Wait()
}
