package session

import (
	"strings"
	"testing"

	"tmate-relay/service/guest"
	"tmate-relay/service/protocol"
)

// alertWindows is a session of three one-pane windows (panes 10, 11, 12)
// with window 2 current.
func alertWindows(active int, idxs ...int) *protocol.SyncLayout {
	var ws []protocol.Window
	for _, idx := range idxs {
		id := 10 + idx
		ws = append(ws, protocol.Window{Idx: idx, Name: "w", ActivePaneID: id,
			Panes: []protocol.PaneLayout{{ID: id, SX: 80, SY: 23}}})
	}
	return layout(80, 23, active, ws...)
}

func out(pane int, data string) *protocol.PtyData {
	return &protocol.PtyData{PaneID: pane, Data: []byte(data)}
}

func cmd(argv ...string) *protocol.ExecCmd { return &protocol.ExecCmd{Argv: argv} }

// windowFlags renders each window's alerts and alert style as
// "idx:flags/style" ("-" for no style), in window order.
func windowFlags(s *Session) string {
	g := &Guest{}
	var v guest.View
	s.mu.RLock()
	s.view(&v, g)
	s.mu.RUnlock()
	var parts []string
	for _, wv := range v.Windows {
		f := ""
		if wv.Activity {
			f += "#"
		}
		if wv.Bell {
			f += "!"
		}
		if wv.Silence {
			f += "~"
		}
		style := wv.AlertStyle
		if style == "" {
			style = "-"
		}
		parts = append(parts, string(rune('0'+wv.Index))+":"+f+"/"+style)
	}
	return strings.Join(parts, " ")
}

func TestWindowAlerts(t *testing.T) {
	start := alertWindows(2, 0, 1, 2)
	for _, tc := range []struct {
		name string
		msgs []protocol.HostMessage
		want string
	}{
		{"bell in a background window", []protocol.HostMessage{out(10, "ding\a")},
			"0:!/reverse 1:/- 2:/-"},
		{"bell in the current window", []protocol.HostMessage{out(12, "\a")},
			"0:/- 1:/- 2:/-"},
		{"BEL ending a title is no bell", []protocol.HostMessage{out(10, "\x1b]2;title\a")},
			"0:/- 1:/- 2:/-"},
		{"output without monitor-activity", []protocol.HostMessage{out(10, "x")},
			"0:/- 1:/- 2:/-"},
		{"output with monitor-activity on", []protocol.HostMessage{
			cmd("set-window-option", "-g", "monitor-activity", "on"), out(10, "x"), out(12, "y")},
			"0:#/reverse 1:/- 2:/-"},
		{"monitor-activity on one window", []protocol.HostMessage{
			cmd("setw", "-t", "1", "monitor-activity", "on"), out(10, "x"), out(11, "y")},
			"0:/- 1:#/reverse 2:/-"},
		// tmux 2.4 drops the bell of a window whose activity it monitors.
		{"bell with monitor-activity on", []protocol.HostMessage{
			cmd("setw", "-g", "monitor-activity", "on"), out(10, "\a")},
			"0:#/reverse 1:/- 2:/-"},
		{"bell style over the activity style", []protocol.HostMessage{
			cmd("setw", "-t", "0", "monitor-activity", "on"),
			cmd("setw", "-g", "window-status-bell-style", "fg=red,bold"),
			cmd("setw", "-g", "window-status-activity-style", "underscore"),
			out(10, "x"), cmd("setw", "-t", "0", "monitor-activity", "off"),
			out(10, "\a"), out(11, "\a")},
			"0:#!/fg=red,bold 1:!/fg=red,bold 2:/-"},
		{"tmux 2.x -fg / -attr forms", []protocol.HostMessage{
			cmd("setw", "-t", "1", "monitor-activity", "on"),
			cmd("setw", "-g", "window-status-activity-fg", "yellow"),
			cmd("setw", "-g", "window-status-bell-attr", "blink"),
			out(10, "\a"), out(11, "x")},
			"0:!/reverse,none,blink 1:#/reverse,fg=yellow 2:/-"},
		{"becoming current clears, and stays clear after", []protocol.HostMessage{
			out(10, "\a"), out(11, "\a"), alertWindows(0, 0, 1, 2), alertWindows(2, 0, 1, 2)},
			"0:/- 1:!/reverse 2:/-"},
		{"a window closed and made again starts clear", []protocol.HostMessage{
			out(10, "\a"), alertWindows(2, 1, 2), alertWindows(2, 0, 1, 2)},
			"0:/- 1:/- 2:/-"},
		{"output of a pane the layout does not list", []protocol.HostMessage{out(99, "\a")},
			"0:/- 1:/- 2:/-"},
		{"empty output", []protocol.HostMessage{cmd("setw", "-g", "monitor-activity", "on"), out(10, "")},
			"0:/- 1:/- 2:/-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestSession(t, Config{})
			apply(t, s, start)
			apply(t, s, tc.msgs...)
			if got := windowFlags(s); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// The silence timer is fired by hand: what it does when it fires, not when.
func TestWindowSilence(t *testing.T) {
	for _, tc := range []struct {
		name  string
		msgs  []protocol.HostMessage
		stale bool // output after the timer was armed: it no longer counts
		want  string
	}{
		{"silence in a background window", []protocol.HostMessage{
			cmd("setw", "-t", "0", "monitor-silence", "5"), out(10, "x")}, false,
			"0:~/reverse 1:/- 2:/-"},
		{"armed by setting the option, without output", []protocol.HostMessage{
			cmd("setw", "-g", "monitor-silence", "5")}, false,
			"0:~/reverse 1:/- 2:/-"},
		{"output since the timer was armed", []protocol.HostMessage{
			cmd("setw", "-t", "0", "monitor-silence", "5")}, true,
			"0:/- 1:/- 2:/-"},
		{"current window", []protocol.HostMessage{
			cmd("setw", "-t", "0", "monitor-silence", "5"), alertWindows(0, 0, 1, 2)}, false,
			"0:/- 1:/- 2:/-"},
		{"monitor-silence back to 0", []protocol.HostMessage{
			cmd("setw", "-t", "0", "monitor-silence", "5"), cmd("setw", "-t", "0", "monitor-silence", "0")}, false,
			"0:/- 1:/- 2:/-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestSession(t, Config{})
			apply(t, s, alertWindows(2, 0, 1, 2))
			apply(t, s, tc.msgs...)
			s.mu.Lock()
			st := s.alerts.silence[0]
			gen := uint64(0)
			if st != nil {
				gen = st.gen
			}
			s.mu.Unlock()
			if tc.stale {
				apply(t, s, out(10, "more"))
			}
			s.silenceExpired(0, gen)
			if got := windowFlags(s); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWindowFormatsReadTheHostAndActivePane(t *testing.T) {
	s, _ := newTestSession(t, Config{})
	w := protocol.Window{Idx: 3, Name: "logs", ActivePaneID: 21, Panes: []protocol.PaneLayout{
		{ID: 20, SX: 40, SY: 23}, {ID: 21, SX: 39, SY: 23, XOff: 41}}}
	apply(t, s, &protocol.Uname{Nodename: "box.example.com"}, layout(80, 23, 3, w),
		out(21, "\x1b]2;editing\x1b\\"),
		cmd("set-option", "-g", "status-left-style", "fg=red"),
		cmd("set-option", "status-right-bg", "blue"),
		cmd("set-window-option", "-g", "pane-base-index", "1"))
	var v guest.View
	s.mu.RLock()
	s.view(&v, &Guest{})
	s.mu.RUnlock()
	wv := v.Windows[0]
	if v.Host != "box.example.com" || v.SessionName != "0" || wv.PaneIndex != 2 || wv.PaneID != 21 ||
		wv.PaneTitle != "editing" || wv.PaneCount != 2 {
		t.Errorf("view: host %q session %q window %+v", v.Host, v.SessionName, wv)
	}
	if v.StatusLeftStyle != "fg=red" || v.StatusRightStyle != "default,bg=blue" {
		t.Errorf("status-left-style %q status-right-style %q", v.StatusLeftStyle, v.StatusRightStyle)
	}
}

func TestVisualAlerts(t *testing.T) {
	for _, tc := range []struct {
		name string
		msgs []protocol.HostMessage
		want string
	}{
		{"visual-bell off", []protocol.HostMessage{out(10, "\a")}, ""},
		{"bell in a background window", []protocol.HostMessage{
			cmd("set", "-g", "visual-bell", "on"), out(10, "\a")}, "Bell in window 0"},
		{"bell-action any, current window", []protocol.HostMessage{
			cmd("set", "-g", "visual-bell", "on"), out(12, "\a")}, "Bell in window 2"},
		{"bell-action current", []protocol.HostMessage{
			cmd("set", "-g", "visual-bell", "on"), cmd("set", "-g", "bell-action", "current"), out(12, "\a")},
			"Bell in current window"},
		{"bell-action current, background window", []protocol.HostMessage{
			cmd("set", "-g", "visual-bell", "on"), cmd("set", "-g", "bell-action", "current"), out(10, "\a")}, ""},
		{"bell-action other, current window", []protocol.HostMessage{
			cmd("set", "-g", "visual-bell", "on"), cmd("set", "-g", "bell-action", "other"), out(12, "\a")}, ""},
		{"bell-action none", []protocol.HostMessage{
			cmd("set", "-g", "visual-bell", "on"), cmd("set", "-g", "bell-action", "none"), out(10, "\a")}, ""},
		{"activity", []protocol.HostMessage{
			cmd("set", "-g", "visual-activity", "on"), cmd("setw", "-g", "monitor-activity", "on"), out(11, "x")},
			"Activity in window 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestSession(t, Config{})
			apply(t, s, alertWindows(2, 0, 1, 2))
			g, err := s.Attach(false, "192.0.2.1", 80, 24)
			if err != nil {
				t.Fatal(err)
			}
			apply(t, s, cmd("set", "-g", "display-time", "60000"))
			apply(t, s, tc.msgs...)
			if got := g.currentMessage(); got != tc.want {
				t.Errorf("message %q, want %q", got, tc.want)
			}
		})
	}
}

// TestBellRings checks which bells ring the guests' terminals: those
// bell-action lets through while visual-bell is off, as tmux 2.4 puts a BEL
// to its clients.
func TestBellRings(t *testing.T) {
	for _, tc := range []struct {
		name string
		msgs []protocol.HostMessage
		want uint64
	}{
		{"no bell", []protocol.HostMessage{out(10, "x")}, 0},
		{"bell in a background window", []protocol.HostMessage{out(10, "\a")}, 1},
		{"bell in the current window", []protocol.HostMessage{out(12, "\a")}, 1},
		{"two bells", []protocol.HostMessage{out(10, "\a"), out(12, "\a")}, 2},
		{"bell-action none", []protocol.HostMessage{cmd("set", "-g", "bell-action", "none"), out(10, "\a")}, 0},
		{"bell-action current, background window", []protocol.HostMessage{cmd("set", "-g", "bell-action", "current"), out(10, "\a")}, 0},
		{"bell-action current, current window", []protocol.HostMessage{cmd("set", "-g", "bell-action", "current"), out(12, "\a")}, 1},
		{"bell-action other, current window", []protocol.HostMessage{cmd("set", "-g", "bell-action", "other"), out(12, "\a")}, 0},
		{"visual-bell shows a message instead", []protocol.HostMessage{cmd("set", "-g", "visual-bell", "on"), out(10, "\a")}, 0},
		{"monitor-activity drops the bell", []protocol.HostMessage{cmd("setw", "-g", "monitor-activity", "on"), out(10, "\a")}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestSession(t, Config{})
			apply(t, s, alertWindows(2, 0, 1, 2))
			g, err := s.Attach(false, "192.0.2.1", 80, 24)
			if err != nil {
				t.Fatal(err)
			}
			apply(t, s, tc.msgs...)
			var v guest.View
			s.mu.RLock()
			s.view(&v, g)
			s.mu.RUnlock()
			if v.Rings != tc.want {
				t.Errorf("%d rings, want %d", v.Rings, tc.want)
			}
		})
	}
}
