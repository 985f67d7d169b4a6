package session

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"tmate-relay/service/guest"
	"tmate-relay/service/protocol"
	"tmate-relay/service/vt"
)

// reconnectFixture is a registry that signs reconnection data and whose
// away timers the test fires itself.
type reconnectFixture struct {
	t      *testing.T
	reg    *Registry
	rc     *Reconnector
	expire func() // the last away timer's function
}

func newReconnectFixture(t *testing.T, rc *Reconnector) *reconnectFixture {
	f := &reconnectFixture{t: t, reg: NewRegistry(0), rc: rc}
	f.reg.SetReconnector(rc)
	f.reg.afterFunc = func(d time.Duration, fn func()) *time.Timer {
		if d != rc.Window {
			t.Errorf("away timer of %v, want the window %v", d, rc.Window)
		}
		f.expire = fn
		return time.NewTimer(time.Hour) // stopped by TakeHost, never relied on
	}
	return f
}

// connect starts a session as a new host does, up to READY.
func (f *reconnectFixture) connect() (*Session, *hostLog, uint64) {
	h := &hostLog{}
	s := New(Config{AdvertiseHost: "relay.example", AdvertisePort: 22}, h)
	if err := f.reg.Add(s); err != nil {
		f.t.Fatal(err)
	}
	gen := s.TakeHost(h, "", nil)
	apply(f.t, s, &protocol.Ready{})
	return s, h, gen
}

// dataOf is the reconnection data the host was last given.
func dataOf(t *testing.T, sent []string) string {
	t.Helper()
	for i := len(sent) - 1; i >= 0; i-- {
		if d, ok := strings.CutPrefix(sent[i], "SET_ENV tmate_reconnection_data="); ok {
			return d
		}
	}
	t.Fatalf("no tmate_reconnection_data in %q", sent)
	return ""
}

func awayMessage(s *Session, g *Guest) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.view(&g.view, g)
	return g.view.Message
}

func TestHostAwayKeepsSessionUntilWindowEnds(t *testing.T) {
	f := newReconnectFixture(t, NewReconnector([]byte("k"), 5*time.Minute))
	s, h, gen := f.connect()
	g, err := s.Attach(false, "192.0.2.1", 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	dataOf(t, h.take())

	if !f.reg.HostLost(s, gen) {
		t.Fatal("HostLost: the session of a host holding reconnection data must wait for it")
	}
	if !s.hostAway() {
		t.Fatal("not away")
	}
	if got, want := awayMessage(s, g), awayNoticeText(5*time.Minute); got != want {
		t.Fatalf("guest reads %q, want %q", got, want)
	}
	if found, _, ok := f.reg.Lookup(s.Token()); !ok || found != s {
		t.Fatal("the token no longer finds the session while its host is away")
	}
	late, err := s.Attach(true, "192.0.2.2", 80, 24)
	if err != nil {
		t.Fatalf("a guest could not join while the host is away: %v", err)
	}
	if got := awayMessage(s, late); got != awayNoticeText(5*time.Minute) {
		t.Fatalf("a guest joining while the host is away reads %q", got)
	}
	s.SendKeys(g, []uint64{'x'})
	if sent := h.take(); len(sent) != 0 {
		t.Fatalf("the lost connection was sent %q", sent)
	}

	f.expire()
	select {
	case <-s.Done():
	default:
		t.Fatal("the session outlived the window")
	}
	if s.EndReason() != awayEndText(5*time.Minute) {
		t.Fatalf("guests read %q", s.EndReason())
	}
	if _, _, ok := f.reg.Lookup(s.Token()); ok || f.reg.Len() != 0 {
		t.Fatal("the token still finds the ended session")
	}
}

func TestHostLostEndsSessionWithoutReconnectionData(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rc    *Reconnector
		ready bool
	}{
		{"relay without reconnection", nil, true},
		{"host lost before READY", NewReconnector([]byte("k"), time.Minute), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := NewRegistry(0)
			reg.SetReconnector(tc.rc)
			h := &hostLog{}
			s := New(Config{AdvertiseHost: "relay.example"}, h)
			if err := reg.Add(s); err != nil {
				t.Fatal(err)
			}
			gen := s.TakeHost(h, "", nil)
			if tc.ready {
				apply(t, s, &protocol.Ready{})
			}
			if reg.HostLost(s, gen) {
				t.Fatal("HostLost kept a session its host cannot come back to")
			}
		})
	}
}

func TestResumeReattachesAwaySession(t *testing.T) {
	f := newReconnectFixture(t, NewReconnector([]byte("k"), time.Minute))
	s, h, gen := f.connect()
	g, _ := s.Attach(false, "192.0.2.1", 80, 24)
	data := dataOf(t, h.take())
	f.reg.HostLost(s, gen)

	h2 := &hostLog{}
	got, gen2, err := f.reg.Resume(data, "", Config{}, h2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got != s || gen2 == gen || s.hostAway() {
		t.Fatalf("Resume gave session %p gen %d (away %v), want %p with a new generation", got, gen2, s.hostAway(), s)
	}
	if msg := awayMessage(s, g); msg != "" {
		t.Fatalf("the guest still reads %q", msg)
	}
	f.expire() // a stale timer must not end the resumed session
	if s.ended() {
		t.Fatal("the old away timer ended the resumed session")
	}
	apply(t, s, &protocol.Ready{})
	sent := h2.take()
	for _, want := range []string{"NOTIFY Reconnected", "SET_ENV tmate_num_clients=1", "RESIZE 80 23"} {
		if !slices.Contains(sent, want) {
			t.Errorf("the reconnected host was not sent %q: %q", want, sent)
		}
	}
	if d := dataOf(t, sent); d == "" {
		t.Error("no fresh reconnection data")
	}
	s.SendKeys(g, []uint64{'x'})
	if sent := h2.take(); len(sent) != 1 || !strings.HasPrefix(sent[0], "PANE_KEY") {
		t.Fatalf("a guest's key reached the new connection as %q", sent)
	}
}

func TestResumeDisplacesLiveConnection(t *testing.T) {
	// A host whose network changed comes back before the relay noticed its
	// old connection is dead: the old connection is hung up.
	f := newReconnectFixture(t, NewReconnector([]byte("k"), time.Minute))
	s, h, gen := f.connect()
	hungUp := false
	s.TakeHost(h, "", func() { hungUp = true })
	gen = s.HostGen()
	data := dataOf(t, h.take())
	if _, _, err := f.reg.Resume(data, "", Config{}, &hostLog{}, nil); err != nil {
		t.Fatal(err)
	}
	if !hungUp {
		t.Fatal("the old connection was not hung up")
	}
	if !f.reg.HostLost(s, gen) || s.hostAway() || s.ended() {
		t.Fatal("the displaced connection's end must leave the session to its new one")
	}
}

func TestResumeAfterRelayRestart(t *testing.T) {
	rc := NewReconnector([]byte("k"), time.Minute)
	before := newReconnectFixture(t, rc)
	old, h, _ := before.connect()
	data := dataOf(t, h.take())

	after := newReconnectFixture(t, rc) // a new process, the same key
	s, _, err := after.reg.Resume(data, "", Config{AdvertiseHost: "relay.example", AdvertisePort: 22}, &hostLog{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Token() != old.Token() || s.ReadOnlyToken() != old.ReadOnlyToken() {
		t.Fatalf("tokens %s %s, want the old ones", s.Token(), s.ReadOnlyToken())
	}
	if s.ID() != old.ID() {
		t.Errorf("id %s after the restart, want %s", s.ID(), old.ID())
	}
	for _, tok := range []string{old.Token(), old.ReadOnlyToken()} {
		if found, _, ok := after.reg.Lookup(tok); !ok || found != s {
			t.Fatalf("token %s does not find the rebuilt session", tok)
		}
	}
}

// The note and the addresses are shown once per session: a host that
// reconnects, to the live session or to one rebuilt after a relay
// restart, hears "Reconnected" and gets its environment again, but not
// the hints it already has in show-messages.
func TestReconnectedHostIsNotShownTheHintsAgain(t *testing.T) {
	const note = "NOTIFY Note: clear your terminal before sharing readonly access"
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("relay restarted %v", restart), func(t *testing.T) {
			rc := NewReconnector([]byte("k"), time.Minute)
			f := newReconnectFixture(t, rc)
			s, h, gen := f.connect()
			first := h.take()
			if !slices.Contains(first, note) {
				t.Fatalf("the new session's host was not shown the note: %q", first)
			}
			reg := f.reg
			if restart {
				reg = newReconnectFixture(t, rc).reg // a new process, the same key
			} else {
				f.reg.HostLost(s, gen)
			}
			h2 := &hostLog{}
			s2, _, err := reg.Resume(dataOf(t, first), "", Config{AdvertiseHost: "relay.example", AdvertisePort: 22}, h2, nil)
			if err != nil {
				t.Fatal(err)
			}
			apply(t, s2, &protocol.Ready{})
			sent := h2.take()
			for _, m := range sent {
				if strings.HasPrefix(m, "NOTIFY ") && m != "NOTIFY Reconnected" {
					t.Errorf("the reconnected host was shown %q again", m)
				}
			}
			for _, want := range []string{"NOTIFY Reconnected", "SET_ENV tmate_ssh=" + s.SSHCommand(s.Token()), "SET_ENV tmate_ssh_ro=" + s.SSHCommand(s.ReadOnlyToken())} {
				if !slices.Contains(sent, want) {
					t.Errorf("the reconnected host was not sent %q: %q", want, sent)
				}
			}
		})
	}
}

func TestResumeRefused(t *testing.T) {
	rc := NewReconnector([]byte("k"), time.Minute)
	f := newReconnectFixture(t, rc)
	_, h, _ := f.connect()
	data := dataOf(t, h.take())
	other := NewRegistry(0)
	other.SetReconnector(NewReconnector([]byte("another relay"), time.Minute))
	taken := newReconnectFixture(t, rc)
	squatter := New(Config{}, &hostLog{})
	taken.reg.Add(squatter)
	c, _ := rc.Verify(data, "")
	taken.reg.claim(squatter, c.Token, "")

	for _, tc := range []struct {
		name string
		reg  *Registry
		data string
		key  string
	}{
		{"forged", f.reg, data[:len(data)-2] + "AA", ""},
		{"another relay's data", other, data, ""},
		{"another host key", f.reg, data, "SHA256:x"},
		{"tokens taken by another session", taken.reg, data, ""},
		{"relay without reconnection", NewRegistry(0), data, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s, _, err := tc.reg.Resume(tc.data, tc.key, Config{}, &hostLog{}, nil); err == nil {
				t.Fatalf("Resume gave session %s", s.Token())
			}
		})
	}
}

func TestSnapshotRebuildsPanes(t *testing.T) {
	s, _ := newTestSession(t, Config{})
	apply(t, s, layout(10, 3, 0, protocol.Window{Idx: 0, Name: "sh", ActivePaneID: 1,
		Panes: []protocol.PaneLayout{{ID: 1, SX: 10, SY: 3}}}))
	const def = 8<<8 | 8 // default colours
	cells := func(n int, c uint32) []uint32 { return slices.Repeat([]uint32{c}, n) }
	apply(t, s, &protocol.Snapshot{Panes: []protocol.SnapshotPane{
		{ID: 1, Mode: modeCursor | modeWrap, Grid: protocol.SnapshotGrid{CX: 2, CY: 2, Lines: []protocol.SnapshotLine{
			{Text: "old", Cells: cells(3, def)},
			{Text: "$ ls", Cells: cells(4, def)},
			// the padding cell after a wide character holds a space
			{Text: "a\u4e16  b", Cells: []uint32{def, def, gridFlagPadding<<24 | def, def, 1<<16 | 1<<24 | 1<<8 | 196}},
			{Text: "$ ", Cells: cells(2, def)},
		}}},
		{ID: 99, Grid: protocol.SnapshotGrid{Lines: []protocol.SnapshotLine{{Text: "x", Cells: cells(1, def)}}}},
	}})
	p := s.panes[1]
	plain := regexp.MustCompile("\x1b\\[[0-9;]*m")
	if got, want := plain.ReplaceAllString(p.emu.Capture(), ""), "$ ls\na\u4e16 b\n$"; strings.TrimRight(got, "\n ") != want {
		t.Fatalf("screen:\n%q\nwant\n%q", got, want)
	}
	if got := p.emu.CaptureHistory(); !strings.Contains(got, "old") {
		t.Fatalf("history %q lacks the snapshot's first line", got)
	}
	if x, y, visible := p.emu.Cursor(); x != 2 || y != 2 || !visible {
		t.Fatalf("cursor at %d,%d visible %v, want 2,2 visible", x, y, visible)
	}
	if c := p.emu.Cell(4, 1); c.Rune != 'b' || c.Attr&vt.AttrBold == 0 || c.Fg != vt.Palette(196) || c.Bg != vt.ANSI(1) {
		t.Errorf("cell b lost its style: %+v", c)
	}
}

var updateGolden = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestAwayScreenGolden is what a guest who joins while the host is away
// sees: the screen the host's snapshot rebuilt, and why nothing moves.
func TestAwayScreenGolden(t *testing.T) {
	f := newReconnectFixture(t, NewReconnector([]byte("k"), 5*time.Minute))
	s, _, gen := f.connect()
	apply(t, s,
		&protocol.ExecCmd{Argv: []string{"set-option", "-g", "status-left", "[tmate] "}},
		layout(80, 23, 0, protocol.Window{Idx: 0, Name: "sh", ActivePaneID: 1, Panes: []protocol.PaneLayout{{ID: 1, SX: 80, SY: 23}}}),
	)
	const def = 8<<8 | 8
	line := func(text string) protocol.SnapshotLine {
		return protocol.SnapshotLine{Text: text, Cells: slices.Repeat([]uint32{def}, utf8.RuneCountInString(text))}
	}
	apply(t, s, &protocol.Snapshot{Panes: []protocol.SnapshotPane{{ID: 1, Mode: modeCursor | modeWrap,
		Grid: protocol.SnapshotGrid{CX: 2, CY: 2, Lines: []protocol.SnapshotLine{line("$ echo before-cut"), line("before-cut"), line("$ ")}}}}})
	f.reg.HostLost(s, gen)
	g, err := s.Attach(false, "192.0.2.1", 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	var fr guest.Frame
	s.Compose(g, &fr)
	var b strings.Builder
	for y := 0; y < fr.H; y++ {
		var row strings.Builder
		for x := 0; x < fr.W; x++ {
			c := fr.At(x, y)
			if c.Width == 0 {
				continue
			}
			if r := c.String(); r != "" {
				row.WriteString(r)
			} else {
				row.WriteByte(' ')
			}
		}
		b.WriteString(strings.TrimRight(row.String(), " ") + "\n")
	}
	got := b.String()
	path := filepath.Join("testdata", "reconnect-away.golden")
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if got != string(want) {
		t.Errorf("screen differs from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// TestSnapshotKeepsRelayHistory: a host coming back to a live session
// sends at most 300 lines of history; the relay keeps what it held before
// when the snapshot continues it.
func TestSnapshotKeepsRelayHistory(t *testing.T) {
	const def = 8<<8 | 8
	lines := func(from, to int) []protocol.SnapshotLine {
		var out []protocol.SnapshotLine
		for i := from; i <= to; i++ {
			text := fmt.Sprintf("line %d", i)
			out = append(out, protocol.SnapshotLine{Text: text, Cells: slices.Repeat([]uint32{def}, len(text))})
		}
		return out
	}
	numbered := func(from, to int) string {
		var b strings.Builder
		for i := from; i <= to; i++ {
			fmt.Fprintf(&b, "line %d\n", i)
		}
		return b.String()
	}
	for _, tc := range []struct {
		name string
		// the relay saw "line 1" to "line <before>" (5 rows on screen);
		// the snapshot holds "line <from>" to "line <to>".
		before, from, to int
		history          string
	}{
		{"continues", 30, 20, 40, numbered(1, 35)},
		{"no output while away", 30, 1, 30, numbered(1, 25)},
		{"too little history to tell", 30, 24, 30, numbered(24, 25)},
		{"nothing in common: the snapshot's history only", 30, 100, 110, numbered(100, 105)},
		{"relay held no history", 3, 1, 12, numbered(1, 7)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestSession(t, Config{})
			apply(t, s, layout(10, 5, 0, protocol.Window{Idx: 0, ActivePaneID: 1, Panes: []protocol.PaneLayout{{ID: 1, SX: 10, SY: 5}}}))
			apply(t, s, &protocol.PtyData{PaneID: 1, Data: []byte(strings.ReplaceAll(strings.TrimSuffix(numbered(1, tc.before), "\n"), "\n", "\r\n"))})
			apply(t, s, &protocol.Snapshot{Panes: []protocol.SnapshotPane{{ID: 1, Mode: modeCursor | modeWrap,
				Grid: protocol.SnapshotGrid{CX: 0, CY: 4, Lines: lines(tc.from, tc.to)}}}})
			emu := s.panes[1].emu
			var hist strings.Builder
			for i := 0; i < emu.HistorySize(); i++ {
				hist.WriteString(emuLineText(emu.HistoryLine(i)) + "\n")
			}
			if hist.String() != tc.history {
				t.Errorf("history:\n%s\nwant:\n%s", hist.String(), tc.history)
			}
			var scr strings.Builder
			for y := 0; y < 5; y++ {
				scr.WriteString(emuLineText(emu.Line(y)) + "\n")
			}
			if want := numbered(tc.to-4, tc.to); scr.String() != want {
				t.Errorf("screen:\n%s\nwant:\n%s", scr.String(), want)
			}
		})
	}
}
