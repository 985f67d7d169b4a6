package session

import (
	"strings"
	"time"

	"tmate-relay/service/guest"
	"tmate-relay/service/keys"
)

// What a guest draws by itself over the window (display-panes' numbers,
// list-keys' view: guest.LocalView) and what its input reads of the
// session to run them (guest.LocalSource, implemented by LockedTable).

// LockedTable is what a guest's input reads for its own views.
var _ guest.LocalSource = LockedTable{}

// pane-base-index numbers the panes display-panes shows and selects; the
// relay reads it for nothing else.
// status-left is read for the session's name (sessionName).
func init() {
	optTable["pane-base-index"] = optDef{kind: optNumber, window: true, def: "0"}
	if _, ok := optTable["status-left"]; !ok {
		optTable["status-left"] = optDef{kind: optString, def: statusLeftDefault}
	}
}

// statusLeftDefault is tmate 2.4.0's status-left.
const statusLeftDefault = "[#S] "

// SetLocal shows v over g's window; its pane numbers go away after d.
func (g *Guest) SetLocal(v guest.LocalView, d time.Duration) {
	g.msgMu.Lock()
	g.local = v
	if v.PaneNumbers {
		g.numbers = time.Now().Add(d)
	}
	g.shownChanges++
	g.msgMu.Unlock()
	g.poke()
	if v.PaneNumbers {
		time.AfterFunc(d, g.poke)
	}
}

// ShowGuestMessage shows msg on g's status line for the display-time.
func (s *Session) ShowGuestMessage(g *Guest, msg string) {
	s.mu.RLock()
	d := s.messageTime()
	s.mu.RUnlock()
	g.ShowMessage(msg, d)
}

// paneBase is window idx's pane-base-index. The caller holds s.mu.
func (s *Session) paneBase(idx int) int {
	return s.opts.number(s.opts.windowOpt(idx, "pane-base-index"))
}

// noteRename remembers the name a guest's rename-session gives the
// session, for #S (see sessionName).
func (s *Session) noteRename(argv []string) {
	if len(argv) < 2 || keys.CommandName(argv[0]) != "rename-session" {
		return
	}
	_, args, err := keys.Getopt(argv, "t:")
	if err != nil || len(args) != 1 || args[0] == "" {
		return
	}
	s.mu.Lock()
	s.name = args[0]
	s.viewGen++
	s.mu.Unlock()
}

// sessionName is #S. The host does not replicate its session's name, but
// while its status-left is tmate's default, "[#S] ", the status line it
// sends shows it; otherwise the name a guest's rename-session gave it, or
// "0", the name tmux gives the first session. The caller holds s.mu.
func (s *Session) sessionName() string {
	if s.opts.sessionOpt("status-left") == statusLeftDefault &&
		len(s.statusLeft) > 3 && strings.HasPrefix(s.statusLeft, "[") && strings.HasSuffix(s.statusLeft, "] ") {
		return s.statusLeft[1 : len(s.statusLeft)-2]
	}
	if s.name == "" {
		return "0"
	}
	return s.name
}

// expandSession replaces #S and #{session_name} with name, leaving ##
// for expandPrompt.
func expandSession(s, name string) string {
	if !strings.Contains(s, "#") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "##"):
			b.WriteString("##")
			i++
		case strings.HasPrefix(s[i:], "#S"):
			b.WriteString(name)
			i++
		case strings.HasPrefix(s[i:], "#{session_name}"):
			b.WriteString(name)
			i += len("#{session_name}") - 1
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// KeyBindings is every binding the host replicated.
func (t LockedTable) KeyBindings() []keys.Binding {
	t.s.mu.RLock()
	defer t.s.mu.RUnlock()
	return t.s.keys.List()
}

// ActivePane is the active pane and its window's pane indexes.
func (t LockedTable) ActivePane() guest.ActivePane {
	t.s.mu.RLock()
	defer t.s.mu.RUnlock()
	win := t.s.windowByIdx(t.s.activeWindow)
	if win == nil {
		return guest.ActivePane{ID: -1, W: t.s.sx, H: t.s.sy}
	}
	ap := guest.ActivePane{ID: win.activePane, Base: t.s.paneBase(win.idx), Count: len(win.panes)}
	for _, p := range win.panes {
		if p.id == win.activePane {
			ap.W, ap.H = p.w, p.h
		}
	}
	return ap
}

// DisplayPanesTime is the display-panes-time option.
func (t LockedTable) DisplayPanesTime() time.Duration {
	t.s.mu.RLock()
	defer t.s.mu.RUnlock()
	return time.Duration(t.s.opts.number(t.s.opts.sessionOpt("display-panes-time"))) * time.Millisecond
}

// ViModeKeys reports whether the active window's mode-keys is vi.
func (t LockedTable) ViModeKeys() bool {
	t.s.mu.RLock()
	defer t.s.mu.RUnlock()
	return t.s.opts.windowOpt(t.s.activeWindow, "mode-keys") == "vi"
}
