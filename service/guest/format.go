package guest

import (
	"path"
	"strconv"
	"strings"
	"time"

	"tmate-relay/service/internal/faultinject"
	"tmate-relay/service/vt"
)

// Style is an option's style string parsed over def as tmux 2.x parses
// option values ("" or an invalid style gives def).
func Style(s string, def vt.Cell) vt.Cell { return styleCell(s, def) }

// ValidStyle reports whether tmux 2.x accepts s as a style option's value.
func ValidStyle(s string) bool {
	c := blank
	return styleParse(&blank, &c, s)
}

// ValidColour reports whether tmux 2.x accepts s as a colour option's value.
func ValidColour(s string) bool {
	_, _, ok := parseColour(s)
	return ok
}

// ValidAttributes reports whether tmux 2.x accepts s as an attributes
// option's value ("bright,underscore", "none").
func ValidAttributes(s string) bool {
	if s == "" {
		return false
	}
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		if _, ok := parseAttrs(tok); !ok {
			return false
		}
	}
	return true
}

// appendWindowFlags is window_printable_flags for what the relay knows.
func appendWindowFlags(b []byte, wv *WindowView) []byte {
	if wv.Activity {
		b = append(b, '#')
	}
	if wv.Bell {
		b = append(b, '!')
	}
	if wv.Silence {
		b = append(b, '~')
	}
	if wv.Active {
		b = append(b, '*')
	}
	if wv.Last {
		b = append(b, '-')
	}
	if wv.Zoomed {
		b = append(b, 'Z')
	}
	return b
}

func appendFlag(b []byte, on bool) []byte {
	if on {
		return append(b, '1')
	}
	return append(b, '0')
}

// shortFormats are tmux's #x aliases (format_upper / format_lower).
var shortFormats = map[byte]string{
	'D': "pane_id", 'F': "window_flags", 'H': "host", 'I': "window_index",
	'P': "pane_index", 'S': "session_name", 'T': "pane_title", 'W': "window_name",
	'h': "host_short",
}

// appendFormatVar appends the value of one format variable for a window's
// status entry; found is false for what the relay does not know (tmux's
// unknown variables, and those only the host knows, such as session_name
// or pane_current_command), which expand to nothing.
func appendFormatVar(b []byte, name string, v *View, wv *WindowView) (_ []byte, found bool) {
	switch name {
	case "window_index":
		return appendInt(b, wv.Index), true
	case "window_name":
		return append(b, wv.Name...), true
	case "window_flags":
		return appendWindowFlags(b, wv), true
	case "window_active":
		return appendFlag(b, wv.Active), true
	case "window_zoomed_flag":
		return appendFlag(b, wv.Zoomed), true
	case "window_last_flag":
		return appendFlag(b, wv.Last), true
	case "window_activity_flag":
		return appendFlag(b, wv.Activity), true
	case "window_bell_flag":
		return appendFlag(b, wv.Bell), true
	case "window_silence_flag":
		return appendFlag(b, wv.Silence), true
	case "window_linked":
		return append(b, '0'), true
	case "window_panes":
		return appendInt(b, wv.PaneCount), true
	case "window_width":
		return appendInt(b, v.W), true
	case "window_height":
		return appendInt(b, v.H), true
	case "session_name":
		return append(b, v.SessionName...), true
	case "session_windows":
		return appendInt(b, len(v.Windows)), true
	case "pane_index":
		return appendInt(b, wv.PaneIndex), true
	case "pane_id":
		return appendInt(append(b, '%'), wv.PaneID), true
	case "pane_active":
		return append(b, '1'), true
	case "pane_title":
		if wv.PaneTitle == "" {
			// tmux titles a new pane with the host's name.
			return append(b, v.Host...), true
		}
		return append(b, wv.PaneTitle...), true
	case "host":
		return append(b, v.Host...), true
	case "host_short":
		host, _, _ := strings.Cut(v.Host, ".")
		return append(b, host...), true
	}
	return b, false
}

// windowStatusText is status_replace for a window's entry: strftime over
// the format, then format_expand. #[style] markup is kept for the drawing
// to honour.
func windowStatusText(b []byte, f string, v *View, wv *WindowView, now time.Time) []byte {
	if faultinject.Hook != nil {
		faultinject.Hook(faultinject.Status, f)
	}
	f = f[:min(len(f), MaxExpansion)]
	if strings.IndexByte(f, '%') >= 0 {
		f = strftime(f, now)
	}
	return expandFormat(b, f, v, wv, 0)
}

// MaxExpansion bounds a window's status format, and what it expands to, in
// bytes: far more than a status line of 1000 columns shows, while a host's
// format of a million #W, each a long window name, would otherwise expand
// to terabytes for every frame.
const MaxExpansion = 64 << 10

// expandFormat is tmux 2.4's format_expand: #x aliases, ##, #{...} and
// #(...) (commands are not run: they expand to nothing). Unknown #x stays
// as it is; a #{ or #( without its end, or a #{?...} without its second
// comma, stops the expansion there, as in tmux.
func expandFormat(b []byte, f string, v *View, wv *WindowView, depth int) []byte {
	if depth > 10 {
		return b
	}
	start := len(b)
	for i := 0; i < len(f) && len(b)-start < MaxExpansion; i++ {
		c := f[i]
		if c != '#' || i+1 >= len(f) {
			b = append(b, c)
			continue
		}
		i++
		switch ch := f[i]; ch {
		case '#':
			b = append(b, '#')
		case '{', '(':
			closing := byte('}')
			if ch == '(' {
				closing = ')'
			}
			end := matchBracket(f, i+1, ch, closing)
			if end < 0 {
				return b
			}
			if ch == '{' {
				var ok bool
				if b, ok = formatReplace(b, f[i+1:end], v, wv, depth); !ok {
					return b
				}
			}
			i = end
		default:
			name, ok := shortFormats[ch]
			if !ok {
				b = append(b, '#', ch)
				continue
			}
			b, _ = appendFormatVar(b, name, v, wv)
		}
	}
	return b
}

// matchBracket returns the index of the closing byte matching an opening
// one just before i, counting every nested opening byte, or -1.
func matchBracket(f string, i int, opening, closing byte) int {
	depth := 1
	for ; i < len(f); i++ {
		switch f[i] {
		case opening:
			depth++
		case closing:
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// formatReplace is format_replace for the body of one #{...}: an optional
// modifier (=N: limit, =-N: from the end, b: basename, d: dirname, t:
// time, s/from/to/: substitute) then a variable or a ?cond,yes,no
// conditional. ok is false where tmux gives up on the whole format.
func formatReplace(b []byte, key string, v *View, wv *WindowView, depth int) (_ []byte, ok bool) {
	limit, modifier, from, to := 0, byte(0), "", ""
	switch {
	case strings.HasPrefix(key, "="):
		n, rest, found := strings.Cut(key[1:], ":")
		if l, err := strconv.Atoi(n); found && err == nil {
			limit, key = l, rest
		}
	case len(key) > 1 && key[1] == ':' && (key[0] == 'b' || key[0] == 'd' || key[0] == 't'):
		modifier, key = key[0], key[2:]
	case strings.HasPrefix(key, "s/"):
		parts := strings.SplitN(key[2:], "/", 3)
		if len(parts) == 3 && parts[0] != "" && strings.HasPrefix(parts[2], ":") {
			modifier, from, to, key = 's', parts[0], parts[1], parts[2][1:]
		}
	}

	var value []byte
	if strings.HasPrefix(key, "?") {
		cond, rest, found := strings.Cut(key[1:], ",")
		if !found {
			return b, false
		}
		yes, no, found := splitBranches(rest)
		if !found {
			return b, false
		}
		c, _ := lookupVar(nil, cond, modifier, v, wv)
		branch := no
		if len(c) != 0 && string(c) != "0" {
			branch = yes
		}
		value = expandFormat(nil, branch, v, wv, depth+1)
	} else {
		value, _ = lookupVar(nil, key, modifier, v, wv)
	}
	if modifier == 's' {
		value = []byte(strings.ReplaceAll(string(value), from, to))
	}
	switch {
	case limit > 0:
		value = trimWidth(value, limit, false)
	case limit < 0:
		value = trimWidth(value, -limit, true)
	}
	return append(b, value...), true
}

// lookupVar is format_find with its b:, d: and t: modifiers.
func lookupVar(b []byte, name string, modifier byte, v *View, wv *WindowView) ([]byte, bool) {
	if modifier == 't' {
		return b, false // no variable the relay knows is a time
	}
	n := len(b)
	b, found := appendFormatVar(b, name, v, wv)
	switch modifier {
	case 'b':
		b = append(b[:n], path.Base(string(b[n:]))...)
	case 'd':
		b = append(b[:n], path.Dir(string(b[n:]))...)
	}
	return b, found
}

// splitBranches splits a conditional's "yes,no" at the first ',' outside
// braces, as format_replace counts them.
func splitBranches(s string) (string, string, bool) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				return s[:i], s[i+1:], true
			}
		}
	}
	return s, "", false
}

// trimWidth is utf8_trimcstr (fromEnd false) and utf8_rtrimcstr: at most
// width columns of s, from its start or its end.
func trimWidth(s []byte, width int, fromEnd bool) []byte {
	rs := []rune(string(s))
	n, i := 0, 0
	for ; i < len(rs); i++ {
		r := rs[i]
		if fromEnd {
			r = rs[len(rs)-1-i]
		}
		w := max(runeWidth(r), 0)
		if n+w > width {
			break
		}
		n += w
	}
	if fromEnd {
		return []byte(string(rs[len(rs)-i:]))
	}
	return []byte(string(rs[:i]))
}

// windowStatusCell is status_print's cell: status-style updated by each
// of the window's styles that applies, the alert style last.
func windowStatusCell(std vt.Cell, wv *WindowView) vt.Cell {
	gc := std
	for _, s := range wv.Styles {
		gc = styleUpdate(gc, s)
	}
	return styleUpdate(gc, wv.AlertStyle)
}

// styleUpdate is style_apply_update: a style's colours that are not
// default replace gc's, its attributes add to them.
func styleUpdate(gc vt.Cell, s string) vt.Cell {
	if s == "" {
		return gc
	}
	st := styleCell(s, blank)
	if st.Fg != blank.Fg {
		gc.Fg = stickyColour(gc.Fg, st.Fg)
	}
	if st.Bg != blank.Bg {
		gc.Bg = stickyColour(gc.Bg, st.Bg)
	}
	gc.Attr |= st.Attr
	return gc
}

// stickyColour is colour_set_fg / colour_set_bg of tmux 2.x: the cell's
// "256-colour" flag is only ever set, never cleared, so a basic colour
// put over a palette colour is drawn as that palette number (red over
// colour231 becomes colour1; bright red, tmux's 91, becomes colour91).
func stickyColour(cur, c vt.Color) vt.Color {
	if cur.Kind() != vt.Kind256 || c.Kind() != vt.KindANSI {
		return c
	}
	n := c.Index()
	if n >= 8 {
		n = 90 + n - 8
	}
	return vt.Palette(n)
}
