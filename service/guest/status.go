package guest

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"

	"tmate-relay/service/vt"
)

// tmate 2.4.0's defaults for the options the status line depends on.
const (
	defaultStatusLeftLength  = 10
	defaultStatusRightLength = 40
)

var (
	statusStyleDefault  = vt.Cell{Rune: ' ', Width: 1, Fg: vt.ANSI(0), Bg: vt.ANSI(2)} // fg=black,bg=green
	messageStyleDefault = vt.Cell{Rune: ' ', Width: 1, Fg: vt.ANSI(0), Bg: vt.ANSI(3)} // fg=black,bg=yellow
)

// widths is fixed (not the environment's locale) so every guest sees the
// same layout.
var widths = &runewidth.Condition{}

func runeWidth(r rune) int { return widths.RuneWidth(r) }

// styleCell parses an option's style string ("fg=red,bg=colour23,bright")
// over the default cell, as tmux parses option values; "" or an invalid
// style gives def.
func styleCell(s string, def vt.Cell) vt.Cell {
	if s == "" {
		return def
	}
	c := blank
	if !styleParse(&blank, &c, s) {
		return def
	}
	return c
}

// styleParse applies a tmux 2.x style ("fg=..,bg=..,bright,noreverse,
// default") to gc; "default" and colour "default" take defgc's values.
// Like style_parse, on error gc is left unchanged and false returned.
func styleParse(defgc, gc *vt.Cell, in string) bool {
	if in == "" {
		return true
	}
	if last := in[len(in)-1]; last == ' ' || last == ',' {
		return false
	}
	fg, bg, attr := gc.Fg, gc.Bg, gc.Attr
	for in != "" {
		end := strings.IndexAny(in, " ,")
		if end < 0 {
			end = len(in)
		}
		tok := in[:end]
		if len(tok) > 31 {
			return false
		}
		switch {
		case strings.EqualFold(tok, "default"):
			fg, bg, attr = defgc.Fg, defgc.Bg, defgc.Attr
		case len(tok) > 3 && strings.EqualFold(tok[1:3], "g="):
			col, isDefault, ok := parseColour(tok[3:])
			if !ok {
				return false
			}
			switch tok[0] {
			case 'f', 'F':
				if isDefault {
					fg = defgc.Fg
				} else {
					fg = col
				}
			case 'b', 'B':
				if isDefault {
					bg = defgc.Bg
				} else {
					bg = col
				}
			default:
				return false
			}
		case strings.EqualFold(tok, "none"):
			attr = 0
		case len(tok) > 2 && strings.EqualFold(tok[:2], "no"):
			a, ok := parseAttrs(tok[2:])
			if !ok {
				return false
			}
			attr &^= a
		default:
			a, ok := parseAttrs(tok)
			if !ok {
				return false
			}
			attr |= a
		}
		in = in[end:]
		for in != "" && (in[0] == ' ' || in[0] == ',') {
			in = in[1:]
		}
	}
	gc.Fg, gc.Bg, gc.Attr = fg, bg, attr
	return true
}

var colourNames = [...]string{"black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"}

// parseColour is colour_fromstring: names, 0-7, 90-97 and bright names,
// colourN, #rrggbb (mapped to the nearest 256-palette colour as tmux 2.x
// does), and "default"/8.
func parseColour(s string) (c vt.Color, isDefault, ok bool) {
	if len(s) == 7 && s[0] == '#' {
		var rgb [3]uint8
		for i := range 3 {
			hi, ok1 := hexVal(s[1+2*i])
			lo, ok2 := hexVal(s[2+2*i])
			if !ok1 || !ok2 {
				return 0, false, false
			}
			rgb[i] = hi<<4 | lo
		}
		return vt.Palette(nearest256(rgb[0], rgb[1], rgb[2])), false, true
	}
	if len(s) > 6 && strings.EqualFold(s[:6], "colour") {
		n, ok := atoi(s[6:])
		if !ok || n > 255 {
			return 0, false, false
		}
		return vt.Palette(uint8(n)), false, true
	}
	if strings.EqualFold(s, "default") || s == "8" {
		return 0, true, true
	}
	for i, name := range colourNames {
		if strings.EqualFold(s, name) || (len(s) == 1 && s[0] == byte('0'+i)) {
			return vt.ANSI(uint8(i)), false, true
		}
		if (len(s) == 6+len(name) && strings.EqualFold(s[:6], "bright") && strings.EqualFold(s[6:], name)) ||
			(len(s) == 2 && s[0] == '9' && s[1] == byte('0'+i)) {
			return vt.ANSI(uint8(8 + i)), false, true
		}
	}
	return 0, false, false
}

func hexVal(b byte) (uint8, bool) {
	switch {
	case b >= '0' && b <= '9':
		return b - '0', true
	case b >= 'a' && b <= 'f':
		return b - 'a' + 10, true
	case b >= 'A' && b <= 'F':
		return b - 'A' + 10, true
	}
	return 0, false
}

func atoi(s string) (int, bool) {
	if s == "" || len(s) > 4 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// nearest256 is colour_find_rgb: the closest of palette colours 16-255.
func nearest256(r, g, b uint8) uint8 {
	cube := [6]int{0x00, 0x5f, 0x87, 0xaf, 0xd7, 0xff}
	best, lowest := 16, 1<<30
	for i := 0; i < 240; i++ {
		var cr, cg, cb int
		if i < 216 {
			cr, cg, cb = cube[i/36], cube[(i/6)%6], cube[i%6]
		} else {
			v := 8 + 10*(i-216)
			cr, cg, cb = v, v, v
		}
		dr, dg, db := cr-int(r), cg-int(g), cb-int(b)
		if d := dr*dr + dg*dg + db*db; d < lowest {
			lowest, best = d, 16+i
		}
	}
	return uint8(best)
}

// parseAttrs is attributes_fromstring for one token.
func parseAttrs(s string) (vt.Attr, bool) {
	switch strings.ToLower(s) {
	case "bright", "bold":
		return vt.AttrBold, true
	case "dim":
		return vt.AttrDim, true
	case "underscore":
		return vt.AttrUnderline, true
	case "blink":
		return vt.AttrBlink, true
	case "reverse":
		return vt.AttrReverse, true
	case "hidden":
		return vt.AttrHidden, true
	case "italics":
		return vt.AttrItalic, true
	case "default", "none":
		return 0, true
	}
	return 0, false
}

// textWidth is screen_write_strlen: the columns a string takes (control
// characters and undecodable bytes take none).
func textWidth(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] < 0x80 {
			if s[i] > 0x1f && s[i] < 0x7f {
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == utf8.RuneError && size <= 1 {
			continue
		}
		if w := runeWidth(r); w > 0 {
			n += w
		}
	}
	return n
}

// styledWidth is screen_write_cstrlen: textWidth without #[...] markup.
func styledWidth(s string) int {
	n := 0
	for s != "" {
		i := strings.Index(s, "#[")
		if i < 0 {
			return n + textWidth(s)
		}
		n += textWidth(s[:i])
		s = s[i:]
		j := strings.IndexByte(s, ']')
		if j < 0 {
			return n
		}
		s = s[j+1:]
	}
	return n
}

// lineWriter writes cells along one row, clipping at its end.
type lineWriter struct {
	row []vt.Cell
	x   int
}

func (lw *lineWriter) put(gc vt.Cell, r rune, width int) {
	if width == 2 {
		if lw.x+1 < len(lw.row) {
			gc.Rune, gc.Width = r, 2
			lw.row[lw.x] = gc
			gc.Rune, gc.Width = 0, 0
			lw.row[lw.x+1] = gc
		} else if lw.x < len(lw.row) {
			gc.Rune, gc.Width = ' ', 1
			lw.row[lw.x] = gc
		}
		lw.x += 2
		return
	}
	if lw.x < len(lw.row) {
		gc.Rune, gc.Width = r, 1
		lw.row[lw.x] = gc
	}
	lw.x++
}

// puts is screen_write_cnputs (styled true) or screen_write_nputs: write s
// in gc, at most maxlen columns (maxlen <= 0: no limit). With styled, #[..]
// markup changes the style; "default" in it means gc.
func (lw *lineWriter) puts(maxlen int, gc vt.Cell, s string, styled bool) {
	lgc := gc
	size := 0
	for i := 0; i < len(s); {
		if styled && s[i] == '#' && i+1 < len(s) && s[i+1] == '[' {
			j := strings.IndexByte(s[i+2:], ']')
			if j < 0 {
				return
			}
			styleParse(&gc, &lgc, s[i+2:i+2+j])
			i += j + 3
			continue
		}
		if s[i] >= 0x80 {
			r, n := utf8.DecodeRuneInString(s[i:])
			i += n
			if r == utf8.RuneError && n <= 1 {
				continue
			}
			w := runeWidth(r)
			if w <= 0 {
				continue
			}
			if maxlen > 0 && size+w > maxlen {
				for size < maxlen {
					lw.put(gc, ' ', 1)
					size++
				}
				return
			}
			size += w
			lw.put(lgc, r, w)
			continue
		}
		if maxlen > 0 && size+1 > maxlen {
			return
		}
		if s[i] > 0x1f && s[i] < 0x7f {
			size++
			lw.put(lgc, rune(s[i]), 1)
		}
		i++
	}
}

// drawMessage is status_message_redraw: the message in message-style,
// padded to the full width.
func drawMessage(f *Frame, v *View, y int) {
	gc := styleCell(v.MessageStyle, messageStyleDefault)
	lw := lineWriter{row: f.Cells[y*f.W : (y+1)*f.W]}
	n := textWidth(v.Message)
	if n > f.W {
		n = f.W
	}
	lw.puts(n, gc, v.Message, false)
	for lw.x < f.W {
		lw.put(gc, ' ', 1)
	}
}

// windowText appends window-status(-current)-format for tmate 2.4.0,
// "#I:#W#{?window_flags,#{window_flags}, }".
func windowText(b []byte, wv *WindowView) []byte {
	b = appendInt(b, wv.Index)
	b = append(b, ':')
	b = append(b, wv.Name...)
	n := len(b)
	b = appendWindowFlags(b, wv)
	if len(b) == n {
		b = append(b, ' ')
	}
	return b
}

// separatorWidth is the columns of a window's window-status-separator.
func separatorWidth(wv *WindowView) int {
	if !wv.Custom {
		return 1 // " "
	}
	return textWidth(wv.Separator)
}

func lengthOption(n, def int) int {
	switch {
	case n == 0:
		return def
	case n < 0:
		return 0
	}
	return n
}

// drawStatus is tmux 2.x's status_redraw: left string (at most
// status-left-length columns), then the window list, then the right string
// (at most status-right-length columns) against the right edge; when the
// list does not fit it is cut around the current window with '<' / '>'
// marks, and when left and right alone fill the line it stays blank.
func drawStatus(f *Frame, v *View, y int) {
	w := f.W
	std := styleCell(v.StatusStyle, statusStyleDefault)
	row := f.Cells[y*w : (y+1)*w]
	for i := range row {
		row[i] = std
	}
	if f.H <= 1 {
		return
	}
	lgc, rgc := styleUpdate(std, v.StatusLeftStyle), styleUpdate(std, v.StatusRightStyle)
	left, right := v.StatusLeft, v.StatusRight
	if v.StatusExpand {
		left, right = expandStatus(v, left), expandStatus(v, right)
	}
	llen := min(lengthOption(v.StatusLeftLength, defaultStatusLeftLength), styledWidth(left))
	rlen := min(lengthOption(v.StatusRightLength, defaultStatusRightLength), styledWidth(right))
	if w <= llen+rlen {
		return
	}
	avail := w - llen - rlen

	// The window list, drawn whole into scratch cells.
	total, curOff, curW := 0, 0, 0
	if len(f.wtexts) != len(v.Windows) {
		f.wtexts = make([]string, len(v.Windows))
	}
	for i := range v.Windows {
		wv := &v.Windows[i]
		if wv.Custom {
			f.text = windowStatusText(f.text[:0], wv.Format, v, wv, time.Unix(v.StatusClock, 0))
		} else {
			f.text = windowText(f.text[:0], wv)
		}
		if string(f.text) != f.wtexts[i] {
			f.wtexts[i] = string(f.text)
		}
		ww := styledWidth(f.wtexts[i])
		if wv.Active {
			curOff, curW = total, ww
		}
		total += ww + separatorWidth(wv)
	}
	if cap(f.list) < total {
		f.list = make([]vt.Cell, total)
	}
	list := f.list[:total]
	for i := range list {
		list[i] = std
	}
	lw := lineWriter{row: list}
	for i := range v.Windows {
		wv := &v.Windows[i]
		start := lw.x
		if wv.Custom {
			lw.puts(-1, windowStatusCell(std, wv), f.wtexts[i], true)
			lw.x = start + styledWidth(f.wtexts[i])
			lw.puts(-1, std, wv.Separator, false)
		} else {
			lw.puts(-1, windowStatusCell(std, wv), f.wtexts[i], true)
			lw.put(std, ' ', 1)
		}
	}

	start, width := 0, total
	larrow, rarrow := false, false
	larrowAlert, rarrowAlert := false, false
	if total > avail {
		if curOff+curW < avail {
			rarrow = true
			avail--
			width = avail
		} else {
			larrow = true
			avail--
			start = curOff + curW - avail
			if avail > 0 && total > start+avail+1 {
				rarrow = true
				start++
				avail--
			}
			width = avail
		}
		if width <= 0 || avail <= 0 {
			return
		}
		// An arrow is reversed when a window it hides has an alert
		// (tmux counts entries without their separators here).
		off := 0
		for i := range v.Windows {
			wv := &v.Windows[i]
			alert := wv.Activity || wv.Bell || wv.Silence
			if alert && larrow && off < start {
				larrowAlert = true
			}
			off += styledWidth(f.wtexts[i])
			if alert && rarrow && off > start+width {
				rarrowAlert = true
			}
		}
	}

	lw = lineWriter{row: row}
	if llen != 0 {
		lw.puts(llen, lgc, left, true)
	}
	if larrow {
		lw.put(arrowCell(std, larrowAlert), '<', 1)
	}
	if rarrow {
		lw.x = w - rlen - 1
		lw.put(arrowCell(std, rarrowAlert), '>', 1)
	} else {
		lw.x = w - rlen
	}
	if rlen != 0 {
		lw.puts(rlen, rgc, right, true)
	}

	off := llen
	if width < avail {
		switch v.StatusJustify {
		case "centre", "center":
			off += (avail - width) / 2
		case "right":
			off += avail - width
		}
	}
	if larrow {
		off++
	}
	for i := 0; i < width && start+i < len(list) && off+i < w; i++ {
		c := list[start+i]
		switch {
		case c.Width == 0 && i == 0:
			c.Rune, c.Width = ' ', 1 // right half of a wide character cut off
		case c.Width == 2 && (i+1 >= width || off+i+1 >= w):
			c.Rune, c.Width = ' ', 1
		}
		row[off+i] = c
	}
}

// expandStatus is status_replace for status-left or status-right: the
// format read for the current window and its active pane.
func expandStatus(v *View, format string) string {
	cur := &WindowView{}
	for i := range v.Windows {
		if v.Windows[i].Active {
			cur = &v.Windows[i]
		}
	}
	return string(windowStatusText(nil, format, v, cur, time.Unix(v.StatusClock, 0)))
}

// arrowCell is the cell of a '<' or '>' arrow: status-style, reversed
// when the windows it hides have an alert.
func arrowCell(std vt.Cell, alert bool) vt.Cell {
	if alert {
		std.Attr ^= vt.AttrReverse
	}
	return std
}

// drawPrompt is tmux 2.4's status_prompt_redraw: the prompt string in
// message-style, then what was typed, scrolled to keep the cursor in view,
// with the cell under the cursor in reverse.
func drawPrompt(f *Frame, v *View, y int) {
	w := f.W
	gc := styleCell(v.MessageStyle, messageStyleDefault)
	cursorgc := gc
	cursorgc.Attr ^= vt.AttrReverse
	row := f.Cells[y*w : (y+1)*w]
	start := min(textWidth(v.Prompt.Text), w)
	lw := lineWriter{row: row}
	lw.puts(start, gc, v.Prompt.Text, false)
	for lw.x < w {
		lw.put(gc, ' ', 1)
	}
	left := w - start
	if left <= 0 {
		return
	}
	buf := []rune(v.Prompt.Buffer)
	idx := min(max(v.Prompt.Cursor, 0), len(buf))
	pcursor := runesWidth(buf[:idx])
	pwidth := runesWidth(buf)
	offset := 0
	if pcursor >= left {
		offset = pcursor - left + 1
		pwidth = left
	}
	pwidth = min(pwidth, left)
	lw.x = start
	width, i := 0, 0
	for ; i < len(buf); i++ {
		rw := max(runeWidth(buf[i]), 1)
		if width < offset {
			width += rw
			continue
		}
		if width >= offset+pwidth {
			break
		}
		width += rw
		if width > offset+pwidth {
			break
		}
		if i != idx {
			lw.put(gc, buf[i], rw)
		} else {
			lw.put(cursorgc, buf[i], rw)
		}
	}
	if lw.x < w && idx >= i {
		lw.put(cursorgc, ' ', 1)
	}
}

func runesWidth(rs []rune) int {
	n := 0
	for _, r := range rs {
		n += max(runeWidth(r), 1)
	}
	return n
}
