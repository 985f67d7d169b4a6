package session

import (
	"testing"
	"time"

	"tmate-relay/service/guest"
	"tmate-relay/service/protocol"
)

func TestOptionsPrecedenceAndForms(t *testing.T) {
	o := newOptions()
	for _, argv := range [][]string{
		{"set-option", "-g", "status-style", "fg=white,bg=blue"},
		{"set", "-ga", "status-style", "bold"},
		{"set-option", "status-bg", "red"}, // session scope: "default" + bg
		{"setw", "-g", "window-status-format", "#I"},
		{"set-window-option", "-t", "2", "window-status-format", "#W"},
		{"set", "-wg", "window-status-separator", "|"},
		{"set", "-g", "status", "off"},
		{"set", "status"}, // toggles the session's value
		{"set", "-g", "status-position", "top"},
		{"set", "-g", "status-justify", "centre"},
		{"set", "-g", "status-left-length", "x"}, // rejected, as tmux does
		{"set", "-g", "display-time", "4000"},
		{"set", "-g", "mode-style", "fg=nonsense"}, // rejected
		{"set", "-go", "display-time", "1"},        // already set: kept
		{"set", "-g", "message-bg", "red"},         // global: over tmate's default
		{"set", "-g", "status-right-attr", "bright"},
	} {
		o.apply(argv, 1)
	}
	checks := []struct{ got, want string }{
		{o.global["status-style"], "fg=white,bg=blue,bold"},
		{o.sessionOpt("status-style"), "default,bg=red"},
		{o.windowOpt(1, "window-status-format"), "#I"},
		{o.windowOpt(2, "window-status-format"), "#W"},
		{o.windowOpt(2, "window-status-separator"), "|"},
		{o.sessionOpt("status"), "on"},
		{o.sessionOpt("status-position"), "top"},
		{o.sessionOpt("status-justify"), "centre"},
		{o.sessionOpt("status-left-length"), "10"},
		{o.sessionOpt("display-time"), "4000"},
		{o.windowOpt(0, "mode-style"), "bg=yellow,fg=black"},
		{o.sessionOpt("message-style"), "bg=yellow,fg=black,bg=red"},
		{o.sessionOpt("status-right-style"), "default,none,bright"},
	}
	for i, c := range checks {
		if c.got != c.want {
			t.Errorf("check %d: got %q, want %q", i, c.got, c.want)
		}
	}
	o.apply([]string{"set-window-option", "-u", "-t", "2", "window-status-format"}, 1)
	o.apply([]string{"set", "-u", "status-style"}, 1)
	if got := o.windowOpt(2, "window-status-format"); got != "#I" {
		t.Errorf("after -u the window reads the global value, got %q", got)
	}
	if got := o.sessionOpt("status-style"); got != "fg=white,bg=blue,bold" {
		t.Errorf("after -u the session reads the global value, got %q", got)
	}
}

func TestStatusClockOnlyForFormatsThatReadIt(t *testing.T) {
	for _, tc := range []struct {
		name string
		argv [][]string
		host bool // the host sent its own status line
		want bool
	}{
		{"tmate's status-right, expanded by the guest", nil, false, true},
		{"the host's status line", nil, true, false},
		{"no strftime in the guest's formats", [][]string{{"set", "-g", "status-right", "#W"}}, false, false},
		{"strftime in a window format", [][]string{{"setw", "-t", "1", "window-status-format", "#I %H"}}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestSession(t, Config{})
			apply(t, s, alertWindows(0, 0, 1))
			if tc.host {
				apply(t, s, &protocol.Status{Left: "[0] ", Right: "12:00"})
			}
			for _, argv := range tc.argv {
				apply(t, s, cmd(argv...))
			}
			var v guest.View
			s.mu.RLock()
			s.view(&v, &Guest{})
			s.mu.RUnlock()
			if got := v.StatusClock != 0; got != tc.want {
				t.Errorf("StatusClock set: %v, want %v", got, tc.want)
			}
		})
	}
}

// TestStatusClockMovesByStep checks that the view's clock moves only when
// the status formats could show it: every minute for tmate's status-right
// (%H:%M), so that a line a second does not compose the whole frame anew;
// every second for one showing seconds.
func TestStatusClockMovesByStep(t *testing.T) {
	defer func() { statusNow = time.Now }()
	for _, tc := range []struct {
		name string
		argv []string
		same bool // 10:00:30 and 10:00:59 give the same view
	}{
		{"tmate's status-right", nil, true},
		{"seconds", []string{"set", "-g", "status-right", "%H:%M:%S"}, false},
		{"seconds in a window format", []string{"setw", "-g", "window-status-current-format", "#I %T"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestSession(t, Config{})
			apply(t, s, alertWindows(0, 0, 1))
			if tc.argv != nil {
				apply(t, s, cmd(tc.argv...))
			}
			clock := func(at time.Time) int64 {
				statusNow = func() time.Time { return at }
				var v guest.View
				s.mu.RLock()
				s.view(&v, &Guest{})
				s.mu.RUnlock()
				return v.StatusClock
			}
			a := clock(time.Date(2026, 12, 3, 10, 0, 30, 0, time.UTC))
			b := clock(time.Date(2026, 12, 3, 10, 0, 59, 0, time.UTC))
			c := clock(time.Date(2026, 12, 3, 10, 1, 0, 0, time.UTC))
			if (a == b) != tc.same || b == c || a == 0 {
				t.Errorf("status clock at 10:00:30, 10:00:59, 10:01:00: %d %d %d; want the first two the same: %v", a, b, c, tc.same)
			}
		})
	}
}

// The status options a guest's frame reads are kept between frames, and
// read again once the host changed them: each change shows in the next
// frame.
func TestStatusOptionsFollowTheHost(t *testing.T) {
	s := New(Config{AdvertiseHost: "relay.example", AdvertisePort: 10022}, &hostLog{})
	t.Cleanup(func() { s.End("done") })
	layout := func(active int) *protocol.SyncLayout {
		return &protocol.SyncLayout{SX: 80, SY: 24, ActiveWindowIdx: active, Windows: []protocol.Window{
			{Idx: 0, ActivePaneID: 0, Panes: []protocol.PaneLayout{{ID: 0, SX: 80, SY: 24}}},
			{Idx: 1, ActivePaneID: 1, Panes: []protocol.PaneLayout{{ID: 1, SX: 80, SY: 24}}},
		}}
	}
	if _, err := s.Apply(layout(0)); err != nil {
		t.Fatal(err)
	}
	g, err := s.Attach(false, "192.0.2.1", 80, 25)
	if err != nil {
		t.Fatal(err)
	}
	var v guest.View
	view := func() *guest.View {
		s.mu.RLock()
		defer s.mu.RUnlock()
		s.view(&v, g)
		return &v
	}
	for _, step := range []struct {
		name  string
		msg   protocol.HostMessage
		check func(v *guest.View) bool
	}{
		{"status off", &protocol.ExecCmd{Argv: []string{"set", "-g", "status", "off"}}, func(v *guest.View) bool { return !v.StatusOn }},
		{"status on, at the top", &protocol.ExecCmd{Argv: []string{"set", "-g", "status-position", "top"}}, func(v *guest.View) bool { return v.StatusTop }},
		{"a status style", &protocol.ExecCmd{Argv: []string{"set", "status-style", "bg=red"}}, func(v *guest.View) bool { return v.StatusStyle == "bg=red" }},
		{"a clock in status-left", &protocol.ExecCmd{Argv: []string{"set", "status-left", "%S"}}, func(v *guest.View) bool { return v.StatusLeft == "%S" && v.StatusClock != 0 }},
		{"window 1's border style", &protocol.ExecCmd{Argv: []string{"setw", "-t", "1", "pane-border-style", "fg=red"}}, func(v *guest.View) bool { return v.PaneBorderStyle == "default" }},
		{"window 1 active", layout(1), func(v *guest.View) bool { return v.PaneBorderStyle == "fg=red" }},
		{"the host's own status line", &protocol.Status{Left: "L", Right: "R"}, func(v *guest.View) bool { return !v.StatusExpand && v.StatusClock == 0 }},
	} {
		view() // the options as they were, read before the change
		if _, err := s.Apply(step.msg); err != nil {
			t.Fatal(err)
		}
		if !step.check(view()) {
			t.Errorf("%s: not in the next frame's view: %+v", step.name, v)
		}
	}
}
