package e2e

import "strconv"

// statusParityCases are the parity workloads for the status line: window
// alerts (bell, activity, silence) and their styles, the arrows over a cut
// window list, status-left/right styles and formats a guest expands itself.
var statusParityCases = []parityCase{
	{name: "alert-bell-background", steps: followedBy(alertWindows("w0", "w1"), inWindow(0, "printf 'ring\\a'")),
		wait: "0:w0!"},
	// The bell's flag goes when its window becomes current; a bell in the
	// window left behind flags that one.
	{name: "alert-bell-cleared", steps: followedBy(alertWindows("w0", "w1"),
		inWindow(0, "printf 'ring\\a'"), waitFor("0:w0!"),
		tmateCmd("select-window", "-t", ":0"), waitFor("0:w0*"),
		inWindow(1, "printf 'ring\\a'")),
		wait: "1:w1!"},
	{name: "alert-bell-in-current-window", steps: followedBy(alertWindows("w0", "w1"),
		typed("printf 'ring\\a'; echo rang")),
		wait: "rang\n"},
	{name: "alert-activity", conf: "setw -g monitor-activity on\n", steps: followedBy(alertWindows("w0", "w1", "w2"),
		inWindow(0, "echo busy")),
		wait: "0:w0#"},
	{name: "alert-activity-off-for-one-window", conf: "setw -g monitor-activity on\n", steps: followedBy(alertWindows("w0", "w1", "w2"),
		tmateCmd("set-window-option", "-t", ":0", "monitor-activity", "off"),
		inWindow(0, "echo quiet; tmate rename-window -t :2 done")),
		wait: "2:done*"},
	// tmux 2.4 drops the bell of a window whose activity it monitors: the
	// output's activity is queued first, and alerts queued while a check
	// is pending are lost.
	{name: "alert-bell-with-monitor-activity", conf: "setw -g monitor-activity on\n", steps: followedBy(alertWindows("w0", "w1"),
		inWindow(0, "printf 'ring\\a'; tmate rename-window -t :1 rang")),
		wait: "rang*"},
	// tmux 2.x's -fg/-bg/-attr forms start from the global style's
	// default (reverse).
	{name: "alert-styles", conf: "setw -g window-status-bell-style fg=white,bg=red,bold\n" +
		"setw -g window-status-activity-fg yellow\nsetw -g window-status-activity-attr underscore\n",
		steps: followedBy(alertWindows("w0", "w1", "w2"),
			tmateCmd("set-window-option", "-t", ":1", "monitor-activity", "on"),
			inWindow(0, "printf 'ring\\a'"), waitFor("0:w0!"),
			inWindow(1, "echo busy")),
		wait: "1:w1#"},
	{name: "alert-styles-custom-format", conf: "setw -g monitor-activity on\nsetw -g window-status-format '#[fg=blue]#I#[default] #W#F'\n" +
		"setw -g window-status-current-format '<#I #W>'\nsetw -g window-status-activity-style bg=magenta\n" +
		"set -g window-status-separator ''\n",
		steps: followedBy(alertWindows("w0", "w1", "w2"),
			inWindow(1, "echo busy")),
		wait: "1 w1#"},
	// visual-bell and visual-activity: a message on every client's status
	// line instead.
	{name: "alert-visual-bell", conf: "set -g visual-bell on\nset -g display-time 60000\n",
		steps: followedBy(alertWindows("w0", "w1"), inWindow(0, "printf 'ring\\a'")),
		wait:  "Bell in window 0"},
	{name: "alert-visual-activity", conf: "set -g visual-activity on\nset -g display-time 60000\n",
		steps: followedBy(alertWindows("w0", "w1"),
			tmateCmd("set-window-option", "-t", ":0", "monitor-activity", "on"),
			inWindow(0, "echo busy")),
		wait: "Activity in window 0"},
	// The bell rings from the background after the prompt is back: tmux
	// stops drawing a client's panes while a message shows (TTY_FREEZE), so
	// a prompt drawn after the message would be on the guest only.
	{name: "alert-visual-bell-current", conf: "set -g visual-bell on\nset -g bell-action current\nset -g display-time 60000\n",
		steps: followedBy(alertWindows("w0", "w1"), typed("(sleep 2; printf 'ring\\a') &")),
		wait:  "Bell in current window"},
	{name: "alert-visual-silence", conf: "set -g visual-silence on\nset -g display-time 60000\n",
		steps: followedBy(alertWindows("w0", "w1"),
			tmateCmd("set-window-option", "-t", ":0", "monitor-silence", "1")),
		wait: "Silence in window 0"},
	// monitor-silence: the flag once the window has been quiet that long.
	{name: "alert-silence", conf: "setw -g monitor-silence 1\n", steps: followedBy(alertWindows("w0", "w1"),
		inWindow(0, "echo busy")),
		wait: "0:w0~"},
	// A cut window list: an arrow over hidden windows with an alert is
	// drawn reversed.
	{name: "alert-left-arrow", steps: followedBy(manyWindows(11),
		inWindow(0, "printf 'ring\\a'; tmate rename-window -t :11 rang")),
		wait: "rang*"},
	{name: "alert-right-arrow", steps: followedBy(manyWindows(11),
		tmateCmd("select-window", "-t", ":0"),
		inWindow(11, "printf 'ring\\a'; tmate rename-window -t :0 rang")),
		wait: "rang*"},
	// status-left/right are expanded by the host; their styles, in every
	// form, are the guest's to draw.
	{name: "status-left-right-styles", conf: "set -g status-left-style fg=white,bg=red,bold\n" +
		"set -g status-right-fg yellow\nset -g status-right-attr underscore\nset -g status-left-length 20\n" +
		"set -g status-left '#[fg=cyan]#S#[default]:#{=6:host_short} '\n" +
		"set -g status-right '#[bg=black]#{window_panes}p %Y#[default] #{=8:pane_title} %H:%M %d-%b-%y'\n",
		steps: []step{typed("echo styles-done")},
		wait:  "styles-done\n"},
	{name: "status-bg-alone", conf: "set -g status-bg colour24\nset -g status-left-bg red\n",
		steps: []step{tmateCmd("new-window"), typed("echo bg-done")},
		wait:  "bg-done\n"},
	// Window formats with what a guest expands itself: session, host,
	// the active pane's index, id and title, strftime.
	{name: "status-window-formats", conf: "setw -g window-status-format '#I|#S|#{=4:host}|#P|#D|#{window_panes}|%Y|#{?window_last_flag,last,}'\n" +
		"setw -g window-status-current-format '#[fg=red]#I:#W#F#[default] #{=-5:pane_title}'\n" +
		"set -g status-right ''\nset -g status-left ''\n",
		steps: []step{
			typed("printf '\\033]2;title-of-w0\\033\\\\'; echo t"), waitFor("t\n$"),
			tmateCmd("new-window"),
			tmateCmd("split-window", "-h"),
			tmateCmd("select-pane", "-L"),
			tmateCmd("new-window"),
			typed("echo formats-done"),
		},
		wait: "formats-done\n"},
	{name: "status-window-formats-titles", conf: "setw -g window-status-format '#I:#{=12:pane_title}#F'\n" +
		"setw -g window-status-current-format '#I:#T#F'\nset -g status-right ''\n",
		steps: []step{
			typed("printf '\\033]2;first\\033\\\\'; echo t"), waitFor("t\n$"),
			tmateCmd("new-window"),
			typed("printf '\\033]0;second title\\007'; echo titles-done"),
		},
		wait: "titles-done\n"},
	// The separator is drawn as it is, markup included; a window's name
	// may hold markup that the status line honours.
	{name: "status-separator-and-name-markup", conf: "setw -g window-status-separator '#[fg=red]|'\n",
		steps: []step{
			tmateCmd("rename-window", "#[fg=yellow]yellow"),
			tmateCmd("new-window", "-n", "plain"),
			typed("echo markup-done"),
		},
		wait: "markup-done\n"},
	{name: "status-justify-centre-cut", conf: "set -g status-justify centre\nsetw -g window-status-current-style bg=red\n",
		steps: followedBy(manyWindows(13), tmateCmd("select-window", "-t", ":6"), typed("echo cut-done")),
		wait:  "cut-done\n"},
	// A global -fg / -bg / -attr option changes tmate's default style
	// rather than starting from "default".
	{name: "options-old-forms-alone", conf: "set -g status-fg white\nset -g pane-active-border-bg blue\n" +
		"setw -g window-status-current-attr underscore\nset -g status-right-bg red\n",
		steps: []step{tmateCmd("new-window"), tmateCmd("split-window", "-h"), typed("echo forms-done")},
		wait:  "forms-done\n"},
	{name: "status-wide-left", conf: "set -g status-left '日本語のテキスト|' \nset -g status-left-length 7\n" +
		"set -g status-right '#[fg=red]右側の文字列' \nset -g status-right-length 9\n",
		steps: []step{typed("echo wide-done")},
		wait:  "wide-done\n"},
	{name: "status-pane-base-index", conf: "setw -g pane-base-index 1\nsetw -g window-status-format '#I.#P/#{window_panes}/#{session_windows}'\n" +
		"setw -g window-status-current-format '#I.#P #{window_width}x#{window_height} #{window_active}#{window_last_flag}'\n",
		steps: []step{
			tmateCmd("split-window", "-h"),
			tmateCmd("new-window"),
			typed("echo base-done"),
		},
		wait: "base-done\n"},
}

// alertWindows makes windows with the given names (the last one current),
// each with its shell settled so that no late prompt counts as activity.
func alertWindows(names ...string) []step {
	var steps []step
	for i, n := range names {
		if i == 0 {
			steps = append(steps, tmateCmd("rename-window", n))
		} else {
			steps = append(steps, tmateCmd("new-window", "-n", n))
		}
		steps = append(steps, typed("echo in-"+n), waitFor("in-"+n+"\n$"))
	}
	return steps
}

// manyWindows makes windows 1..n named "window", the last one current.
func manyWindows(n int) []step {
	steps := []step{tmateCmd("rename-window", "window"), typed("echo settled"), waitFor("settled\n$")}
	for i := 0; i < n; i++ {
		steps = append(steps, tmateCmd("new-window", "-n", "window"))
	}
	return append(steps, typed("echo all-made"), waitFor("all-made\n$"))
}

// followedBy is steps, then more.
func followedBy(steps []step, more ...step) []step {
	return append(steps[:len(steps):len(steps)], more...)
}

// inWindow types a command line into window idx's pane, whichever window
// is current.
func inWindow(idx int, line string) step {
	return step{tmate: []string{"send-keys", "-t", ":" + strconv.Itoa(idx) + ".0", "-l", line + "\n"}}
}
