package session

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"tmate-relay/service/guest"
	"tmate-relay/service/protocol"
)

// hostLog records what a session sends to its host.
type hostLog struct {
	mu   sync.Mutex
	sent []string
}

func (h *hostLog) add(format string, args ...any) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sent = append(h.sent, fmt.Sprintf(format, args...))
	return nil
}
func (h *hostLog) Notify(msg string) error         { return h.add("NOTIFY %s", msg) }
func (h *hostLog) Resize(sx, sy int) error         { return h.add("RESIZE %d %d", sx, sy) }
func (h *hostLog) SetEnv(name, value string) error { return h.add("SET_ENV %s=%s", name, value) }
func (h *hostLog) Ready() error                    { return h.add("READY") }
func (h *hostLog) PaneKey(pane int, key uint64) error {
	return h.add("PANE_KEY %d %#x", pane, key)
}
func (h *hostLog) ExecCmd(id int, argv ...string) error {
	return h.add("EXEC_CMD %d %s", id, strings.Join(argv, " "))
}

func (h *hostLog) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.sent
	h.sent = nil
	return out
}

func newTestSession(t *testing.T, cfg Config) (*Session, *hostLog) {
	t.Helper()
	h := &hostLog{}
	if cfg.AdvertiseHost == "" {
		cfg.AdvertiseHost, cfg.AdvertisePort = "relay.example", 10022
	}
	s := New(cfg, h)
	if err := NewRegistry(0).Add(s); err != nil {
		t.Fatal(err)
	}
	return s, h
}

// currentMessage is the status-line message g shows now.
func (g *Guest) currentMessage() string {
	msg, _, _, _ := g.shown()
	return msg
}

func apply(t *testing.T, s *Session, msgs ...protocol.HostMessage) {
	t.Helper()
	for _, m := range msgs {
		if _, err := s.Apply(m); err != nil {
			t.Fatalf("Apply(%T): %v", m, err)
		}
	}
}

func layout(sx, sy, active int, windows ...protocol.Window) *protocol.SyncLayout {
	return &protocol.SyncLayout{SX: sx, SY: sy, Windows: windows, ActiveWindowIdx: active}
}

func TestReadyAnnouncesInTheOriginalOrder(t *testing.T) {
	for _, tc := range []struct {
		name       string
		port       int
		foreground bool
		want       []string
	}{
		{"default", 10022, false, []string{
			"NOTIFY Note: clear your terminal before sharing readonly access",
			"NOTIFY ssh session read only: ssh -p10022 RO@relay.example",
			"NOTIFY ssh session: ssh -p10022 RW@relay.example",
			"SET_ENV tmate_ssh_ro=ssh -p10022 RO@relay.example",
			"SET_ENV tmate_ssh=ssh -p10022 RW@relay.example",
			"READY",
			"RESIZE -1 -1",
		}},
		{"port 22 and foreground", 22, true, []string{
			"NOTIFY ssh session read only: ssh RO@relay.example",
			"NOTIFY ssh session: ssh RW@relay.example",
			"SET_ENV tmate_ssh_ro=ssh RO@relay.example",
			"SET_ENV tmate_ssh=ssh RW@relay.example",
			"READY",
			"RESIZE -1 -1",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, h := newTestSession(t, Config{AdvertiseHost: "relay.example", AdvertisePort: tc.port})
			if tc.foreground {
				apply(t, s, &protocol.ExecCmd{Argv: []string{"set-option", "-g", "tmate-set", "foreground=true"}})
			}
			apply(t, s, &protocol.Ready{})
			got := h.take()
			for i := range got {
				got[i] = strings.NewReplacer(s.ReadOnlyToken(), "RO", s.Token(), "RW").Replace(got[i])
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("sent\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestReadyAnnouncesWebPagesInTheOriginalOrder(t *testing.T) {
	s, h := newTestSession(t, Config{AdvertiseHost: "relay.example", AdvertisePort: 10022, WebURL: "https://relay.example/"})
	apply(t, s, &protocol.Ready{})
	got := h.take()
	for i := range got {
		got[i] = strings.NewReplacer(s.ReadOnlyToken(), "RO", s.Token(), "RW").Replace(got[i])
	}
	want := []string{
		"NOTIFY Note: clear your terminal before sharing readonly access",
		"NOTIFY web session read only: https://relay.example/t/RO",
		"NOTIFY ssh session read only: ssh -p10022 RO@relay.example",
		"NOTIFY web session: https://relay.example/t/RW",
		"NOTIFY ssh session: ssh -p10022 RW@relay.example",
		"SET_ENV tmate_web_ro=https://relay.example/t/RO",
		"SET_ENV tmate_ssh_ro=ssh -p10022 RO@relay.example",
		"SET_ENV tmate_web=https://relay.example/t/RW",
		"SET_ENV tmate_ssh=ssh -p10022 RW@relay.example",
		"READY",
		"RESIZE -1 -1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("sent\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestResizeFollowsSmallestGuest(t *testing.T) {
	s, h := newTestSession(t, Config{})
	a, _ := s.Attach(false, "192.0.2.1", 100, 30)
	b, _ := s.Attach(false, "192.0.2.2", 120, 20)
	ro, _ := s.Attach(true, "192.0.2.3", 1, 1) // read-only guests never size the window
	s.ResizeGuest(a, 90, 40)
	s.ResizeGuest(ro, 2, 2)
	s.Detach(b)
	s.Detach(a)
	var resizes []string
	for _, m := range h.take() {
		if strings.HasPrefix(m, "RESIZE") {
			resizes = append(resizes, m)
		}
	}
	want := []string{"RESIZE 100 29", "RESIZE 100 19", "RESIZE 90 19", "RESIZE 90 39", "RESIZE -1 -1"}
	if !reflect.DeepEqual(resizes, want) {
		t.Fatalf("resizes %q, want %q", resizes, want)
	}
}

func TestReadOnlyGuestSendsNothing(t *testing.T) {
	s, h := newTestSession(t, Config{})
	ro, _ := s.Attach(true, "192.0.2.1", 80, 24)
	rw, _ := s.Attach(false, "192.0.2.2", 80, 24)
	h.take()
	s.SendKeys(ro, []uint64{'x'})
	s.Exec(ro, []string{"new-window"})
	s.SendKeys(rw, []uint64{'y'})
	s.Exec(rw, []string{"new-window"})
	want := []string{"PANE_KEY -1 0x79", fmt.Sprintf("EXEC_CMD %d new-window", rw.ClientID)}
	if got := h.take(); !reflect.DeepEqual(got, want) {
		t.Fatalf("sent %q, want %q", got, want)
	}
}

func TestLayoutCreatesResizesAndDropsPanes(t *testing.T) {
	s, _ := newTestSession(t, Config{})
	w0 := protocol.Window{Idx: 0, Name: "sh", ActivePaneID: 1, Panes: []protocol.PaneLayout{
		{ID: 1, SX: 40, SY: 23, XOff: 0, YOff: 0}, {ID: 2, SX: 39, SY: 23, XOff: 41, YOff: 0}}}
	apply(t, s, layout(80, 23, 0, w0), &protocol.PtyData{PaneID: 2, Data: []byte("right")})
	if got := s.panes[2].emu.Cell(0, 0).Rune; got != 'r' {
		t.Fatalf("pane 2 did not get its output: %q", got)
	}
	// Pane 1 closes: pane 2 takes the window and keeps its content.
	w0.Panes = []protocol.PaneLayout{{ID: 2, SX: 80, SY: 23}}
	w0.ActivePaneID = 2
	apply(t, s, layout(80, 23, 0, w0))
	if _, ok := s.panes[1]; ok {
		t.Fatal("pane 1 survived its removal from the layout")
	}
	if w, h := s.panes[2].emu.Size(); w != 80 || h != 23 {
		t.Fatalf("pane 2 is %dx%d, want 80x23", w, h)
	}
	if got := s.panes[2].emu.Cell(0, 0).Rune; got != 'r' {
		t.Fatal("pane 2 lost its content on resize")
	}
	// Output for a pane that does not exist is dropped, not fatal.
	apply(t, s, &protocol.PtyData{PaneID: 99, Data: []byte("x")})
}

func TestLayoutOverPaneLimitFails(t *testing.T) {
	s, _ := newTestSession(t, Config{MaxPanes: 2})
	w := protocol.Window{Idx: 0, ActivePaneID: 1, Panes: []protocol.PaneLayout{
		{ID: 1, SX: 10, SY: 10}, {ID: 2, SX: 10, SY: 10}, {ID: 3, SX: 10, SY: 10}}}
	if _, err := s.Apply(layout(30, 10, 0, w)); err == nil || !strings.Contains(err.Error(), "limit is 2") {
		t.Fatalf("err = %v, want the pane limit", err)
	}
}

func TestViewListsWindowsWithFlags(t *testing.T) {
	s, _ := newTestSession(t, Config{})
	pane := func(id, x, y, w, h int) protocol.PaneLayout {
		return protocol.PaneLayout{ID: id, XOff: x, YOff: y, SX: w, SY: h}
	}
	w0 := protocol.Window{Idx: 0, Name: "a", ActivePaneID: 1, Panes: []protocol.PaneLayout{pane(1, 0, 0, 80, 23)}}
	w1 := protocol.Window{Idx: 1, Name: "b", ActivePaneID: 2, Panes: []protocol.PaneLayout{pane(2, 0, 0, 40, 23), pane(3, 41, 0, 39, 23)}}
	apply(t, s, layout(80, 23, 0, w0, w1), layout(80, 23, 1, w0, w1))
	g, _ := s.Attach(false, "192.0.2.1", 80, 24)
	var v guest.View
	s.mu.RLock()
	s.view(&v, g)
	s.mu.RUnlock()
	want := []guest.WindowView{{Index: 0, Name: "a", Last: true, PaneID: 1, PaneCount: 1}, {Index: 1, Name: "b", Active: true, PaneID: 2, PaneCount: 2}}
	if !reflect.DeepEqual(v.Windows, want) || len(v.Panes) != 2 || v.ActivePane != 2 {
		t.Fatalf("windows %+v panes %d active %d", v.Windows, len(v.Panes), v.ActivePane)
	}

	// Zoomed: the active pane at the window's size over the others.
	w1.Panes[0] = pane(2, 0, 0, 80, 23)
	apply(t, s, layout(80, 23, 1, w0, w1))
	s.mu.RLock()
	s.view(&v, g)
	s.mu.RUnlock()
	if !v.Windows[1].Zoomed || len(v.Panes) != 1 || v.Panes[0].ID != 2 {
		t.Fatalf("zoomed view: windows %+v panes %+v", v.Windows, v.Panes)
	}
}

func TestFailedCommandShowsToItsGuestOnly(t *testing.T) {
	s, _ := newTestSession(t, Config{})
	a, _ := s.Attach(false, "192.0.2.1", 80, 24)
	b, _ := s.Attach(false, "192.0.2.2", 80, 24)
	apply(t, s, &protocol.FailedCmd{ClientID: b.ClientID, Cause: "unknown command: frob"})
	if m := b.currentMessage(); m != "Unknown command: frob" {
		t.Fatalf("guest b shows %q", m)
	}
	if m := a.currentMessage(); m != "" {
		t.Fatalf("guest a shows %q", m)
	}
}

func TestTokens(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok := NewToken()
		if len(tok) != TokenLen || strings.Trim(tok, tokenAlphabet) != "" || seen[tok] {
			t.Fatalf("bad or repeated token %q", tok)
		}
		seen[tok] = true
	}
	for s, want := range map[string]bool{
		"abc": true, "ro-abc": true, "a_b/c-D9": true, "": false, "a b": false,
		"a@b": false, "tok\x00": false, strings.Repeat("a", 129): false, "é": false,
	} {
		if got := ValidTokenSyntax(s); got != want {
			t.Errorf("ValidTokenSyntax(%q) = %v", s, got)
		}
	}
}

func TestRegistry(t *testing.T) {
	r := NewRegistry(1)
	s := New(Config{}, &hostLog{})
	if err := r.Add(s); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(New(Config{}, &hostLog{})); err != ErrTooManySessions {
		t.Fatalf("second session: %v", err)
	}
	if got, ro, ok := r.Lookup(s.ReadOnlyToken()); !ok || !ro || got != s {
		t.Fatal("read-only token not found as read-only")
	}
	if got, ro, ok := r.Lookup(s.Token()); !ok || ro || got != s {
		t.Fatal("token not found as read-write")
	}
	r.Remove(s)
	if _, _, ok := r.Lookup(s.Token()); ok || r.Len() != 0 {
		t.Fatal("removed session still reachable")
	}
}

// tmate writes its start-up tips into a copy-mode output view without
// syncing the mode: the output alone says the pane shows that view, from
// its top ([0/N]) while lines scroll into its history, as window_copy_vadd
// keeps it. A sync (q) ends it.
func TestCopyModeOutputWithoutSyncShowsTheView(t *testing.T) {
	s, _ := newTestSession(t, Config{})
	w0 := protocol.Window{Idx: 0, Name: "sh", ActivePaneID: 1, Panes: []protocol.PaneLayout{{ID: 1, SX: 40, SY: 3}}}
	apply(t, s, layout(40, 3, 0, w0), &protocol.PtyData{PaneID: 1, Data: []byte("$ ")})
	for _, line := range []string{"Tip: one", "two", "three", "four"} {
		apply(t, s, &protocol.WriteCopyMode{PaneID: 1, Text: line})
	}
	g, err := s.Attach(true, "127.0.0.1", 40, 4)
	if err != nil {
		t.Fatal(err)
	}
	var v guest.View
	look := func() {
		v = guest.View{}
		s.mu.Lock()
		s.view(&v, g)
		s.mu.Unlock()
	}
	look()
	row := func(y int) string {
		var b strings.Builder
		for x := 0; x < 40; x++ {
			if r := v.Panes[0].Screen.Cell(x, y).Rune; r != 0 {
				b.WriteRune(r)
			} else {
				b.WriteByte(' ')
			}
		}
		return strings.TrimRight(b.String(), " ")
	}
	if got, want := row(0), "Tip: one                           [1/1]"; got != want {
		t.Errorf("top line %q, want %q", got, want)
	}
	if got := row(2); got != "three" {
		t.Errorf("last line %q, want three", got)
	}
	apply(t, s, &protocol.SyncCopyMode{PaneID: 1})
	look()
	if got := row(0); got != "$" {
		t.Errorf("after the mode ended the pane shows %q", got)
	}
}

// A read-only guest's frames are no larger than the window and its status
// line, whatever its terminal's size; a read-write guest's are its
// terminal's (a larger one shows tmux's filler around the window).
func TestReadOnlyGuestViewSize(t *testing.T) {
	for _, tc := range []struct {
		readOnly     bool
		w, h         int
		wantW, wantH int
	}{
		{true, 1000, 1000, 80, 25},
		{true, 40, 10, 40, 10},
		{true, 100, 20, 80, 20},
		{false, 1000, 1000, 1000, 1000},
		{false, 40, 10, 40, 10},
	} {
		s, _ := newTestSession(t, Config{})
		apply(t, s, layout(80, 24, 0, protocol.Window{Idx: 0, ActivePaneID: 1,
			Panes: []protocol.PaneLayout{{ID: 1, SX: 80, SY: 24}}}))
		g, err := s.Attach(tc.readOnly, "192.0.2.1", tc.w, tc.h)
		if err != nil {
			t.Fatal(err)
		}
		var f guest.Frame
		s.Compose(g, &f)
		if f.W != tc.wantW || f.H != tc.wantH {
			t.Errorf("read-only %v at %dx%d: frame %dx%d, want %dx%d", tc.readOnly, tc.w, tc.h, f.W, f.H, tc.wantW, tc.wantH)
		}
	}
}
