package guest

import (
	"sort"
	"strconv"
	"strings"

	"tmate-relay/service/keys"
	"tmate-relay/service/vt"
)

// The key list (list-keys, prefix ?) a guest shows itself, as tmate 2.4
// shows command output on a client: a view mode over the active pane (tmux's
// window_copy_init_for_output) holding the text, which starts at its first
// line with the position "[oy/history]" in mode-style at the top right,
// and scrolls with the copy-mode keys until q.

// argSpecs are tmate 2.4.0's commands' flag specs (cmd_entry.args), which
// list-keys needs to print a bound command as tmux does (args_print).
var argSpecs = map[string]string{
	"attach-session": "c:dErt:", "bind-key": "cnrt:T:", "break-pane": "dPF:s:t:",
	"capture-pane": "ab:CeE:JpPqS:t:", "choose-buffer": "F:t:", "choose-client": "F:t:",
	"choose-session": "F:t:", "choose-tree": "S:W:swub:c:t:", "choose-window": "F:t:",
	"clear-history": "t:", "clock-mode": "t:", "command-prompt": "I:p:t:",
	"confirm-before": "p:t:", "copy-mode": "Met:u", "delete-buffer": "b:",
	"detach-client": "as:t:P", "display-message": "c:pt:F:", "display-panes": "t:",
	"find-window": "F:CNt:T", "has-session": "t:", "if-shell": "bFt:",
	"join-pane": "bdhvp:l:s:t:", "kill-pane": "at:", "kill-server": "",
	"kill-session": "aCt:", "kill-window": "at:", "last-pane": "det:",
	"last-window": "t:", "link-window": "adks:t:", "list-buffers": "F:",
	"list-clients": "F:t:", "list-commands": "", "list-keys": "t:T:",
	"list-panes": "asF:t:", "list-sessions": "F:", "list-windows": "F:at:",
	"load-buffer": "b:", "lock-client": "t:", "lock-server": "", "lock-session": "t:",
	"move-pane": "bdhvp:l:s:t:", "move-window": "adkrs:t:",
	"new-session": "Ac:dDEF:n:Ps:t:x:y:", "new-window": "ac:dF:kn:Pt:",
	"next-layout": "t:", "next-window": "at:", "paste-buffer": "db:prs:t:",
	"pipe-pane": "ot:", "previous-layout": "t:", "previous-window": "at:",
	"refresh-client": "C:St:", "rename-session": "t:", "rename-window": "t:",
	"resize-pane": "DLMRt:Ux:y:Z", "respawn-pane": "kt:", "respawn-window": "kt:",
	"rotate-window": "Dt:U", "run-shell": "bt:", "save-buffer": "ab:",
	"select-layout": "nopt:", "select-pane": "DdegLlMmP:Rt:U", "select-window": "lnpTt:",
	"send-keys": "lRMt:", "send-prefix": "2t:", "server-info": "", "set-buffer": "ab:n:",
	"set-environment": "grt:u", "set-hook": "gt:u", "set-option": "agoqst:uw",
	"set-window-option": "agoqt:u", "show-buffer": "b:", "show-environment": "gst:",
	"show-hooks": "gt:", "show-messages": "JTt:", "show-options": "gqst:vw",
	"show-window-options": "gvt:", "source-file": "", "split-window": "bc:dF:l:hp:Pt:v",
	"start-server": "", "suspend-client": "t:", "swap-pane": "dDs:t:U",
	"swap-window": "ds:t:", "switch-client": "lc:Enpt:rT:", "unbind-key": "acnt:T:",
	"unlink-window": "kt:", "wait-for": "LSU",
}

// printCommand is tmux 2.4's cmd_print: the command's full name, then its
// flags as args_print orders them (flags without a value together, then
// each flag with its value, in character order), then its arguments; a
// value or argument with a space is put in double quotes. A command tmux
// would not parse is printed as it came.
func printCommand(argv []string) string {
	name := keys.CommandName(argv[0])
	spec, ok := argSpecs[name]
	flags, args, err := keys.Getopt(argv, spec)
	if !ok || err != nil {
		return strings.Join(argv, " ")
	}
	quote := func(s string) string {
		if strings.Contains(s, " ") {
			return `"` + s + `"`
		}
		return s
	}
	order := make([]byte, 0, len(flags))
	for f := range flags {
		order = append(order, f)
	}
	sort.Slice(order, func(i, j int) bool { return order[i] < order[j] })
	var plain, valued []string
	for _, f := range order {
		p := strings.IndexByte(spec, f)
		if p+1 < len(spec) && spec[p+1] == ':' {
			valued = append(valued, "-"+string(f)+" "+quote(flags[f]))
		} else {
			plain = append(plain, string(f))
		}
	}
	parts := []string{name}
	if len(plain) > 0 {
		parts = append(parts, "-"+strings.Join(plain, ""))
	}
	parts = append(parts, valued...)
	for _, a := range args {
		parts = append(parts, quote(a))
	}
	return strings.Join(parts, " ")
}

// keyListLines is what tmate 2.4's list-keys prints for the bindings
// (mode tables left out; only table when it is not ""), one string a
// line: "bind-key", "-r " (or three spaces when any binding repeats),
// "-T", the table and the key padded to the widest, and the commands
// joined by " ; ".
func keyListLines(bindings []keys.Binding, table string) []string {
	repeat := false
	tableWidth, keyWidth := 0, 0
	var shown []keys.Binding
	for _, b := range bindings {
		if b.Mode || table != "" && b.Table != table {
			continue
		}
		shown = append(shown, b)
		repeat = repeat || b.Repeat
		tableWidth = max(tableWidth, textWidth(b.Table))
		keyWidth = max(keyWidth, textWidth(b.Key.String()))
	}
	lines := make([]string, 0, len(shown))
	for _, b := range shown {
		var sb strings.Builder
		sb.WriteString("bind-key ")
		switch {
		case b.Repeat:
			sb.WriteString("-r ")
		case repeat:
			sb.WriteString("   ")
		}
		sb.WriteString("-T ")
		sb.WriteString(pad(b.Table, tableWidth))
		sb.WriteByte(' ')
		sb.WriteString(pad(b.Key.String(), keyWidth))
		sb.WriteByte(' ')
		for i, c := range b.Commands() {
			if i > 0 {
				sb.WriteString(" ; ")
			}
			sb.WriteString(printCommand(c))
		}
		lines = append(lines, sb.String())
	}
	return lines
}

func pad(s string, width int) string {
	if n := textWidth(s); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
}

// eachRow walks lines cut into rows of at most w columns, as writing them
// to a w-wide screen does (a wide character that does not fit starts the
// next row; control characters are left out, as window_copy_add does),
// calling fn for every character with its row and column; a row left
// empty gets no call. It returns the number of rows.
func eachRow(lines []string, w int, fn func(row, col int, r rune, width int)) int {
	w = max(w, 1)
	row := 0
	for _, l := range lines {
		col := 0
		for _, r := range l {
			rw := runeWidth(r)
			if r < 0x20 || r == 0x7f || rw < 1 {
				continue
			}
			if col+rw > w {
				row, col = row+1, 0
			}
			if fn != nil {
				fn(row, col, r, rw)
			}
			col += rw
		}
		row++
	}
	return row
}

// listHistory is how many rows of the list are above a w x h view when it
// shows the last ones: tmux's history size of the output screen.
func listHistory(lines []string, w, h int) int {
	return max(0, eachRow(lines, w, nil)-h)
}

// keyList is the state of a guest's list view: its lines, the pane it
// shows over (the one active when it opened, as a mode belongs to its
// pane), the view's offset from the bottom (tmux's oy) and the cursor's
// row (its column stays 0, where the output view puts it).
type keyList struct {
	lines []string
	pane  int
	oy    int
	cy    int
}

// listMove is what a copy-mode key does to the list view.
type listMove int

const (
	listCancel listMove = iota + 1
	listUp
	listDown
	listScrollUp   // the text moves down: one line further back
	listScrollDown // the text moves up
	listPageUp
	listPageDown
	listHalfPageUp
	listHalfPageDown
	listTop
	listBottom
)

// emacsListKeys and viListKeys are the keys of tmate 2.4's emacs-copy and
// vi-copy tables that move an output view; its other keys do nothing here.
var (
	emacsListKeys = map[keys.Key]listMove{
		'q': listCancel, keys.Escape: listCancel, 3 /* C-c */ : listCancel,
		keys.Up: listUp, 16 /* C-p */ : listUp, keys.Down: listDown, 14 /* C-n */ : listDown,
		keys.Up | keys.Ctrl: listScrollUp, keys.Down | keys.Ctrl: listScrollDown,
		keys.PPage: listPageUp, 'v' | keys.Meta: listPageUp,
		keys.NPage: listPageDown, 22 /* C-v */ : listPageDown, keys.Space: listPageDown,
		keys.Up | keys.Meta: listHalfPageUp, keys.Down | keys.Meta: listHalfPageDown,
		'<' | keys.Meta: listTop, '>' | keys.Meta: listBottom,
	}
	viListKeys = map[keys.Key]listMove{
		'q': listCancel, 3 /* C-c */ : listCancel,
		keys.Up: listUp, 'k': listUp, keys.Down: listDown, 'j': listDown,
		keys.Up | keys.Ctrl: listScrollUp, 25 /* C-y */ : listScrollUp, 'K': listScrollUp,
		keys.Down | keys.Ctrl: listScrollDown, 5 /* C-e */ : listScrollDown, 'J': listScrollDown,
		keys.PPage: listPageUp, 2 /* C-b */ : listPageUp, keys.NPage: listPageDown, 6 /* C-f */ : listPageDown,
		21 /* C-u */ : listHalfPageUp, 4 /* C-d */ : listHalfPageDown,
		'g': listTop, 'G': listBottom,
	}
)

// key moves the view for a copy-mode key (vi's with vi set, else emacs')
// on a w x h pane, as window_copy_key does; it reports false when the key
// closes the view.
func (l *keyList) key(k keys.Key, w, h int, vi bool) bool {
	hsize := listHistory(l.lines, w, h)
	l.oy = min(l.oy, hsize)
	page := 1
	if h > 2 {
		page = h - 2
	}
	table := emacsListKeys
	if vi {
		table = viListKeys
	}
	switch table[k] {
	case listCancel:
		return false
	case listUp:
		if l.cy > 0 {
			l.cy--
		} else if l.oy < hsize {
			l.oy++
		}
	case listDown:
		if l.cy < h-1 {
			l.cy++
		} else if l.oy > 0 {
			l.oy--
		}
	case listScrollUp:
		l.oy = min(l.oy+1, hsize)
	case listScrollDown:
		l.oy = max(l.oy-1, 0)
	case listPageUp:
		l.oy = min(l.oy+page, hsize)
	case listPageDown:
		l.oy = max(l.oy-page, 0)
	case listHalfPageUp:
		l.oy = min(l.oy+h/2, hsize)
	case listHalfPageDown:
		l.oy = max(l.oy-h/2, 0)
	case listTop:
		l.oy, l.cy = hsize, 0
	case listBottom:
		l.oy, l.cy = 0, max(h-1, 0)
	}
	return true
}

func (l *keyList) view() LocalView {
	return LocalView{List: l.lines, ListPane: l.pane, ListOY: l.oy, ListCY: l.cy}
}

// drawKeyList draws the list view over its pane: the rows of the list
// from hsize-oy on, the position at the top right, and the cursor when
// the pane is the active one.
func drawKeyList(f *Frame, v *View, rows int) {
	var p *PaneView
	for i := range v.Panes {
		if v.Panes[i].ID == v.Local.ListPane {
			p = &v.Panes[i]
		}
	}
	if p == nil || p.W < 1 || p.H < 1 {
		return
	}
	hsize := listHistory(v.Local.List, p.W, p.H)
	oy := min(max(v.Local.ListOY, 0), hsize)
	top := hsize - oy // the list's row on the view's first row
	plain := vt.Cell{Rune: ' ', Width: 1}
	for y := 0; y < p.H; y++ {
		for x := 0; x < p.W; x++ {
			putCell(f, p.X+x, p.Y+y, plain, rows)
		}
	}
	eachRow(v.Local.List, p.W, func(row, col int, r rune, width int) {
		if y := row - top; y >= 0 && y < p.H {
			c := plain
			c.Rune, c.Width = r, uint8(width)
			putCell(f, p.X+col, p.Y+y, c, rows)
			if width == 2 {
				putWide(f, p.X+col+1, p.Y+y, rows)
			}
		}
	})
	hdr := "[" + strconv.Itoa(oy) + "/" + strconv.Itoa(hsize) + "]"
	if len(hdr) > p.W {
		hdr = hdr[:p.W]
	}
	putText(f, p.X+p.W-len(hdr), p.Y, hdr, styleCell(v.ModeStyle, modeStyleDefault), rows)
	cy := min(max(v.Local.ListCY, 0), p.H-1)
	if x, y := p.X, p.Y+cy; p.ID == v.ActivePane && x < f.W && y < rows {
		f.CursorX, f.CursorY, f.CursorVisible = x, y+f.off, true
	}
}

// putWide writes the right half of a wide character drawn at x-1.
func putWide(f *Frame, x, y, rows int) {
	if x < 0 || x >= f.W || y < 0 || y >= rows {
		return
	}
	*f.At(x, y+f.off) = vt.Cell{}
}

// modeStyleDefault is tmate 2.4's mode-style, "bg=yellow,fg=black".
var modeStyleDefault = vt.Cell{Rune: ' ', Width: 1, Fg: vt.ANSI(0), Bg: vt.ANSI(3)}
