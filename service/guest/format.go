package guest

import (
	"strings"

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

// windowFlags is window_printable_flags for what the relay knows.
func appendWindowFlags(b []byte, wv *WindowView) []byte {
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

// windowVar is one format variable of a window ("" when tmux would expand
// it to nothing here).
func appendWindowVar(b []byte, name string, wv *WindowView) []byte {
	switch name {
	case "window_index", "I":
		return appendInt(b, wv.Index)
	case "window_name", "W":
		return append(b, wv.Name...)
	case "window_flags", "F":
		return appendWindowFlags(b, wv)
	case "window_active":
		if wv.Active {
			return append(b, '1')
		}
		return append(b, '0')
	case "window_zoomed_flag":
		if wv.Zoomed {
			return append(b, '1')
		}
		return append(b, '0')
	case "window_last_flag":
		if wv.Last {
			return append(b, '1')
		}
		return append(b, '0')
	}
	return b
}

// expandWindowFormat is tmux 2.x's format_expand for a window-status
// format: #I #W #F and ## , #{var}, #{?cond,a,b}, #{=N:var}; #[style]
// markup is kept for the drawing to honour. Unknown #x stays as it is,
// unknown variables expand to nothing, as in tmux.
func expandWindowFormat(b []byte, f string, wv *WindowView, depth int) []byte {
	if depth > 10 {
		return b
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '#' || i+1 >= len(f) {
			b = append(b, c)
			continue
		}
		i++
		switch ch := f[i]; ch {
		case '#':
			b = append(b, '#')
		case '{':
			end := matchBrace(f, i+1)
			if end < 0 {
				return b // tmux stops at an unterminated #{
			}
			b = expandWindowVar(b, f[i+1:end], wv, depth)
			i = end
		case 'I', 'W', 'F':
			b = appendWindowVar(b, string(ch), wv)
		case 'D', 'H', 'P', 'S', 'T', 'h':
			// pane id, host, pane index, session, title, short host:
			// not known to a guest's status line yet.
		default:
			b = append(b, '#', ch)
		}
	}
	return b
}

// matchBrace returns the index of the '}' closing a "#{" whose body starts
// at i, counting nested "#{", or -1.
func matchBrace(f string, i int) int {
	depth := 1
	for ; i < len(f); i++ {
		switch {
		case f[i] == '#' && i+1 < len(f) && f[i+1] == '{':
			depth++
			i++
		case f[i] == '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// splitTop splits s at the first ',' outside nested #{...}.
func splitTop(s string) (string, string, bool) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '#' && i+1 < len(s) && s[i+1] == '{':
			depth++
			i++
		case s[i] == '}' && depth > 0:
			depth--
		case s[i] == ',' && depth == 0:
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func expandWindowVar(b []byte, body string, wv *WindowView, depth int) []byte {
	if strings.HasPrefix(body, "?") {
		cond, rest, ok := splitTop(body[1:])
		if !ok {
			return b
		}
		yes, no, ok := splitTop(rest)
		if !ok {
			return b
		}
		v := string(expandWindowFormat(nil, "#{"+cond+"}", wv, depth+1))
		if v != "" && v != "0" {
			return expandWindowFormat(b, yes, wv, depth+1)
		}
		return expandWindowFormat(b, no, wv, depth+1)
	}
	if strings.HasPrefix(body, "=") {
		colon := strings.IndexByte(body, ':')
		if colon < 0 {
			return b
		}
		n, neg := body[1:colon], false
		if strings.HasPrefix(n, "-") {
			n, neg = n[1:], true
		}
		limit, ok := atoi(n)
		if !ok {
			return b
		}
		v := []rune(string(appendWindowVar(nil, body[colon+1:], wv)))
		if limit < len(v) {
			if neg {
				v = v[len(v)-limit:]
			} else {
				v = v[:limit]
			}
		}
		return append(b, string(v)...)
	}
	return appendWindowVar(b, body, wv)
}

// windowStatusCell is status_print's cell: status-style updated by each
// of the window's styles that applies (style_apply_update: colours that
// are not default replace, attributes add up).
func windowStatusCell(std vt.Cell, wv *WindowView) vt.Cell {
	gc := std
	for _, s := range wv.Styles {
		if s == "" {
			continue
		}
		st := styleCell(s, blank)
		if st.Fg != blank.Fg {
			gc.Fg = stickyColour(gc.Fg, st.Fg)
		}
		if st.Bg != blank.Bg {
			gc.Bg = stickyColour(gc.Bg, st.Bg)
		}
		gc.Attr |= st.Attr
	}
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
