// Package guest is one viewer of a shared session: it composes what a tmux
// client attached to the host would show (panes, borders, status line) into
// a frame of cells, draws frames as minimal escape sequences, and reads the
// viewer's keys.
package guest

import "tmate-relay/service/vt"

// Screen is what the composer reads of a pane's emulator (vt.Emulator
// satisfies it). The caller holds the session's read lock while composing.
type Screen interface {
	Cell(x, y int) vt.Cell
	Cursor() (x, y int, visible bool)
}

// PaneView is one pane of the active window, at its offset in the session.
type PaneView struct {
	ID         int
	Index      int // the pane's index in its window (#P)
	X, Y, W, H int
	Screen     Screen
}

// WindowView is one entry of the status line's window list.
type WindowView struct {
	Index  int
	Name   string
	Active bool // '*'
	Last   bool // '-'
	Zoomed bool // 'Z' (any zoomed window, as tmux flags it)

	// The window's own status options, resolved by the session (window,
	// then global, then default); with Custom false tmate 2.4.0's defaults
	// are used instead.
	Custom    bool
	Format    string    // window-status-format, or -current-format for the active window
	Separator string    // window-status-separator, drawn after the entry in status-style
	Styles    [3]string // window-status-style, then -current/-last-style as they apply ("" for none)

	// Alerts, as tmux flags a window that is not the current one; each
	// is cleared when the window becomes current.
	Activity   bool   // '#': output, with monitor-activity on
	Bell       bool   // '!': a program rang the bell
	Silence    bool   // '~': no output for monitor-silence seconds
	AlertStyle string // window-status-bell-style, or -activity-style for the others ("" for none)

	// What the window's formats read of its active pane (#P, #D, #T) and
	// of the window (#{window_panes}).
	PaneIndex int
	PaneID    int
	PaneTitle string
	PaneCount int
}

// View is everything the composer needs from the session at one instant.
type View struct {
	W, H        int // session size from SYNC_LAYOUT (sx, sy), without the status line
	Panes       []PaneView
	ActivePane  int // pane ID
	Windows     []WindowView
	StatusLeft  string // as the host sent it in STATUS, may hold #[style] markup
	StatusRight string
	StatusOn    bool
	Message     string // a status-line message for this guest ("" for none)
	Prompt      Prompt // this guest's status-line prompt (Text "" for none), under Message
	// Rings counts the bells the session has rung on its clients'
	// terminals (bell-action with visual-bell off); the guest's terminal
	// rings once for each rise.
	Rings uint64

	// StatusExpand: StatusLeft and StatusRight are the host's status-left
	// and status-right formats, for the guest to expand (the host sent no
	// STATUS: no client of its own draws a status line).
	StatusExpand bool
	// StatusClock is the Unix time strftime reads in status formats; set
	// only when one uses it, so that an unchanged view stays unchanged.
	StatusClock int64

	// Options the host may have changed with set-option; the zero value
	// means tmate 2.4.0's default.
	StatusStyle           string // status-style, default "fg=black,bg=green"
	MessageStyle          string // message-style, default "fg=black,bg=yellow"
	PaneBorderStyle       string // pane-border-style, default "default"
	PaneActiveBorderStyle string // pane-active-border-style, default "fg=green"
	StatusJustify         string // status-justify: "left" (default), "centre", "right"
	StatusLeftLength      int    // status-left-length, default 10 (negative: 0)
	StatusRightLength     int    // status-right-length, default 40 (negative: 0)
	StatusTop             bool   // status-position top: the status line on the first row
	StatusLeftStyle       string // status-left-style over status-style, default "default"
	StatusRightStyle      string // status-right-style over status-style, default "default"
	Host                  string // the host's name, for #H / #h in window formats
	SessionName           string // #S in window formats

	// This guest's own views over the window (LocalView), and the options
	// they are drawn with ("" means tmate 2.4.0's default).
	Local             LocalView
	PanesColour       string // display-panes-colour, default blue
	PanesActiveColour string // display-panes-active-colour, default red
	ModeStyle         string // mode-style of the active window, default "fg=black,bg=yellow"
}

// LocalView is what a guest shows over the window by itself, as a tmux
// client does for its own user: the pane numbers of display-panes, or the
// key list of list-keys in a view mode over the active pane.
type LocalView struct {
	PaneNumbers bool
	List        []string // list-keys' lines; nil when not shown
	ListPane    int      // the pane the list shows over (ID)
	ListOY      int      // lines the view is scrolled up from the list's end (tmux's oy)
	ListCY      int      // the cursor's row in the view
}
