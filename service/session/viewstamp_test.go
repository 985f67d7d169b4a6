package session

import (
	"strings"
	"testing"
	"time"

	"tmate-relay/service/guest"
)

// A guest's frame skips building its view while nothing but the panes'
// contents changed (Compose), and output reads options resolved once per
// change of the host's state. Each change here, followed by output only,
// must show in the guest's next frames.
func TestFramesFollowChangesBesideOutput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before func(s *Session, g *Guest) // before the first frame
		change func(s *Session, g *Guest, c *silenceClock)
		check  func(v *guest.View, f *guest.Frame, status string) bool
	}{
		{"window-status-format set by the host", nil,
			func(s *Session, g *Guest, c *silenceClock) {
				apply(t, s, cmd("setw", "-g", "window-status-format", "<#I>"))
			},
			func(v *guest.View, f *guest.Frame, status string) bool { return strings.Contains(status, "<0>") }},
		{"monitor-silence set by the host", nil,
			func(s *Session, g *Guest, c *silenceClock) {
				apply(t, s, cmd("setw", "-t", "0", "monitor-silence", "5"), out(10, "x"))
				c.now = c.now.Add(5 * time.Second)
				c.fire()
			},
			func(v *guest.View, f *guest.Frame, status string) bool { return v.Windows[0].Silence }},
		{"monitor-activity set by the host", nil,
			func(s *Session, g *Guest, c *silenceClock) {
				apply(t, s, cmd("setw", "-g", "monitor-activity", "on"), out(10, "x"))
			},
			func(v *guest.View, f *guest.Frame, status string) bool { return v.Windows[0].Activity }},
		{"activity in a window already monitored",
			func(s *Session, g *Guest) { apply(t, s, cmd("setw", "-g", "monitor-activity", "on")) },
			func(s *Session, g *Guest, c *silenceClock) { apply(t, s, out(11, "x")) },
			func(v *guest.View, f *guest.Frame, status string) bool { return v.Windows[1].Activity }},
		{"silence in a window already monitored",
			func(s *Session, g *Guest) { apply(t, s, cmd("setw", "-t", "0", "monitor-silence", "5"), out(10, "x")) },
			func(s *Session, g *Guest, c *silenceClock) { c.now = c.now.Add(5 * time.Second); c.fire() },
			func(v *guest.View, f *guest.Frame, status string) bool { return v.Windows[0].Silence }},
		{"a bell rung by output", nil,
			func(s *Session, g *Guest, c *silenceClock) { apply(t, s, out(12, "\a")) },
			func(v *guest.View, f *guest.Frame, status string) bool { return f.Rings == 1 }},
		{"a pane title set by output",
			func(s *Session, g *Guest) { apply(t, s, cmd("setw", "-g", "window-status-current-format", "<#T>")) },
			func(s *Session, g *Guest, c *silenceClock) { apply(t, s, out(12, "\x1b]2;hello\a")) },
			func(v *guest.View, f *guest.Frame, status string) bool { return strings.Contains(status, "<hello>") }},
		{"the session renamed by a guest", nil,
			func(s *Session, g *Guest, c *silenceClock) { s.Exec(g, []string{"rename-session", "work"}) },
			func(v *guest.View, f *guest.Frame, status string) bool { return strings.HasPrefix(status, "[work] ") }},
		{"the host away", nil,
			func(s *Session, g *Guest, c *silenceClock) { s.setAwayNotice("the host is away") },
			func(v *guest.View, f *guest.Frame, status string) bool {
				return strings.Contains(status, "the host is away")
			}},
		{"a guest's message", nil,
			func(s *Session, g *Guest, c *silenceClock) { g.ShowMessage("hello", time.Minute) },
			func(v *guest.View, f *guest.Frame, status string) bool { return strings.HasPrefix(status, "hello") }},
		{"a guest's message expiring",
			func(s *Session, g *Guest) { g.ShowMessage("hello", 50*time.Millisecond) },
			func(s *Session, g *Guest, c *silenceClock) { time.Sleep(60 * time.Millisecond) },
			func(v *guest.View, f *guest.Frame, status string) bool { return strings.HasPrefix(status, "[0] ") }},
		{"a guest's prompt", nil,
			func(s *Session, g *Guest, c *silenceClock) { g.SetPrompt(guest.Prompt{Text: "(rename) "}) },
			func(v *guest.View, f *guest.Frame, status string) bool { return strings.HasPrefix(status, "(rename) ") }},
		{"a guest's pane numbers going away",
			func(s *Session, g *Guest) { g.SetLocal(guest.LocalView{PaneNumbers: true}, 50*time.Millisecond) },
			func(s *Session, g *Guest, c *silenceClock) { time.Sleep(60 * time.Millisecond) },
			func(v *guest.View, f *guest.Frame, status string) bool { return !v.Local.PaneNumbers }},
		{"the guest's terminal resized", nil,
			func(s *Session, g *Guest, c *silenceClock) { s.ResizeGuest(g, 60, 20) },
			func(v *guest.View, f *guest.Frame, status string) bool { return f.W == 60 && f.H == 20 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestSession(t, Config{})
			apply(t, s, alertWindows(2, 0, 1, 2))
			c := newSilenceClock(s)
			g, err := s.Attach(false, "192.0.2.1", 80, 24)
			if err != nil {
				t.Fatal(err)
			}
			g.ShowMessage("", 0) // no joining notice
			if tc.before != nil {
				tc.before(s, g)
			}
			var f guest.Frame
			s.Compose(g, &f)
			tc.change(s, g, c)
			for i := range 3 { // then output only
				apply(t, s, out(12, "y"))
				s.Compose(g, &f)
				if status := statusRow(&f); !tc.check(&g.view, &f, status) {
					t.Fatalf("frame %d after the change: status %q, view %+v", i+1, status, g.view)
				}
			}
		})
	}
}

// statusRow is the text of f's last row.
func statusRow(f *guest.Frame) string {
	var b strings.Builder
	for x := 0; x < f.W; x++ {
		if r := f.At(x, f.H-1).Rune; r != 0 {
			b.WriteRune(r)
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()
}
