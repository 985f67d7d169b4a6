package session

import (
	"strings"
	"testing"
	"time"

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

// silenceClock is a session's clock and silence timers under a test's
// control: the timers it makes never go off by themselves (fire does it),
// and the clock moves only when the test moves it.
type silenceClock struct {
	now   time.Time
	made  int      // timers made
	fires []func() // what each timer calls, in the order they were made
}

func newSilenceClock(s *Session) *silenceClock {
	c := &silenceClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s.mu.Lock()
	s.alerts.now = func() time.Time { return c.now }
	s.alerts.afterFunc = func(_ time.Duration, f func()) *time.Timer {
		c.made++
		c.fires = append(c.fires, f)
		return time.AfterFunc(time.Hour, func() {}) // Reset and Stop work on it; it does nothing
	}
	s.mu.Unlock()
	return c
}

// fire makes every timer made so far go off, as a timer does after the
// clock passed its time, or late, while output came.
func (c *silenceClock) fire() {
	for _, f := range c.fires {
		f()
	}
}

// The silence timers go off by hand: what they do when they fire, not when.
func TestWindowSilence(t *testing.T) {
	for _, tc := range []struct {
		name  string
		msgs  []protocol.HostMessage
		stale bool // output after the silence, before the timer took the lock
		want  string
	}{
		{"silence in a background window", []protocol.HostMessage{
			cmd("setw", "-t", "0", "monitor-silence", "5"), out(10, "x")}, false,
			"0:~/reverse 1:/- 2:/-"},
		{"armed by setting the option, without output", []protocol.HostMessage{
			cmd("setw", "-g", "monitor-silence", "5")}, false,
			"0:~/reverse 1:~/reverse 2:/-"},
		{"output since the timer went off", []protocol.HostMessage{
			cmd("setw", "-t", "0", "monitor-silence", "5")}, true,
			"0:/- 1:/- 2:/-"},
		{"current window", []protocol.HostMessage{
			cmd("setw", "-t", "0", "monitor-silence", "5"), alertWindows(0, 0, 1, 2)}, false,
			"0:/- 1:/- 2:/-"},
		{"monitor-silence back to 0", []protocol.HostMessage{
			cmd("setw", "-t", "0", "monitor-silence", "5"), cmd("setw", "-t", "0", "monitor-silence", "0")}, false,
			"0:/- 1:/- 2:/-"},
		{"window closed", []protocol.HostMessage{
			cmd("setw", "-t", "0", "monitor-silence", "5"), alertWindows(2, 1, 2)}, false,
			"1:/- 2:/-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestSession(t, Config{})
			apply(t, s, alertWindows(2, 0, 1, 2))
			c := newSilenceClock(s)
			apply(t, s, tc.msgs...)
			c.now = c.now.Add(5 * time.Second)
			if tc.stale {
				apply(t, s, out(10, "more"))
			}
			c.fire()
			if got := windowFlags(s); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// A window's silence timer is made once and reset by each output after
// that; while output keeps coming a timer that goes off flags nothing,
// and after monitor-silence seconds without output the window is flagged.
func TestSilenceTimerIsResetByOutput(t *testing.T) {
	s, _ := newTestSession(t, Config{})
	apply(t, s, alertWindows(2, 0, 1, 2))
	g, err := s.Attach(false, "192.0.2.1", 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	c := newSilenceClock(s)
	apply(t, s, cmd("set", "-g", "display-time", "60000"), cmd("set", "-g", "visual-silence", "on"),
		cmd("setw", "-t", "0", "monitor-silence", "5"))
	for range 100 {
		c.now = c.now.Add(time.Second)
		apply(t, s, out(10, "x"))
		c.fire() // the timer of an earlier output, late
	}
	if got := windowFlags(s); got != "0:/- 1:/- 2:/-" {
		t.Fatalf("flagged during output: %q", got)
	}
	if got := g.currentMessage(); got != "" {
		t.Fatalf("guests read %q during output", got)
	}
	if c.made != 1 {
		t.Errorf("%d silence timers made for one window, want 1", c.made)
	}
	c.now = c.now.Add(5 * time.Second)
	c.fire()
	if got := windowFlags(s); got != "0:~/reverse 1:/- 2:/-" {
		t.Errorf("after the silence: %q", got)
	}
	if got := g.currentMessage(); got != "Silence in window 0" {
		t.Errorf("guests read %q after the silence", got)
	}
}

// The real timer: a window without output is flagged once its
// monitor-silence has passed.
func TestSilenceTimerGoesOff(t *testing.T) {
	s, _ := newTestSession(t, Config{})
	apply(t, s, alertWindows(2, 0, 1, 2), cmd("setw", "-t", "0", "monitor-silence", "1"))
	for range 3 {
		apply(t, s, out(10, "x"))
	}
	deadline := time.Now().Add(30 * time.Second)
	for windowFlags(s) != "0:~/reverse 1:/- 2:/-" {
		if time.Now().After(deadline) {
			t.Fatalf("not flagged 30 s after the last output: %q", windowFlags(s))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// With monitor-silence on, a PTY_DATA resets its window's timer and
// allocates nothing for it.
func TestSilenceAllocatesNothingPerOutput(t *testing.T) {
	s, _ := newTestSession(t, Config{})
	apply(t, s, alertWindows(2, 0, 1, 2), cmd("setw", "-g", "monitor-silence", "3600"))
	allocs := testing.AllocsPerRun(1000, func() {
		s.mu.Lock()
		s.noteOutput(10, 1, false)
		s.mu.Unlock()
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per output, want 0", allocs)
	}
}

// BenchmarkPtyDataMonitorSilence is one byte of a background window's
// output, as the host sends it, with monitor-silence off and on.
func BenchmarkPtyDataMonitorSilence(b *testing.B) {
	for _, secs := range []string{"0", "3600"} {
		b.Run("monitor-silence="+secs, func(b *testing.B) {
			s := New(Config{AdvertiseHost: "relay.example"}, &hostLog{})
			for _, m := range []protocol.HostMessage{alertWindows(2, 0, 1, 2), cmd("setw", "-g", "monitor-silence", secs)} {
				if _, err := s.Apply(m); err != nil {
					b.Fatal(err)
				}
			}
			m := out(10, "x")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Apply(m); err != nil {
					b.Fatal(err)
				}
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
