package vt

import "strconv"

// Capture returns the visible screen as tmux's `capture-pane -p -e -N`
// prints it (text with SGR changes, one line per row), the form of the
// conformance corpus. Each line runs to its last stored cell: written
// characters and cells erased with a background colour, which an attached
// client draws (capture-pane itself stops at the last written character).
func (e *Emulator) Capture() string {
	var b []byte
	var last Cell
	for y := 0; y < e.h; y++ {
		b = appendCaptureLine(b, e.Line(y), &last)
		b = append(b, '\n')
	}
	return string(b)
}

// CaptureHistory returns the history in the same form (oldest first), as
// `capture-pane -p -e -N -S - -E -1`.
func (e *Emulator) CaptureHistory() string {
	var b []byte
	var last Cell
	for i := 0; i < e.hlen; i++ {
		b = appendCaptureLine(b, e.HistoryLine(i), &last)
		b = append(b, '\n')
	}
	return string(b)
}

func appendCaptureLine(b []byte, cells []Cell, last *Cell) []byte {
	cells = trim(cells)
	for x := 0; x < len(cells); x++ {
		c := cells[x]
		if c.Width == 0 && x > 0 && cells[x-1].Width == 2 {
			continue // padding
		}
		b = appendSGRChange(b, last, &c)
		last.Fg, last.Bg, last.Attr = c.Fg, c.Bg, c.Attr
		if c.Rune == 0 {
			b = append(b, ' ')
		} else {
			b = c.AppendText(b)
		}
	}
	return b
}

var sgrAttrs = [...]struct {
	a    Attr
	code int
}{
	{AttrBold, 1}, {AttrDim, 2}, {AttrItalic, 3}, {AttrUnderline, 4},
	{AttrBlink, 5}, {AttrReverse, 7}, {AttrHidden, 8}, {AttrStrike, 9},
	{AttrDoubleUnderline, 42}, {AttrCurlyUnderline, 43},
	{AttrDottedUnderline, 44}, {AttrDashedUnderline, 45},
	{AttrOverline, 53},
}

// appendSGRChange emits the change from last to c as tmux's
// grid_string_cells_code does: attributes (a removed one forces a 0 first,
// codes above 9 printed as "a:b", so 53 shows as 5:3), then foreground and
// background each in their own sequence when changed or after a reset.
func appendSGRChange(b []byte, last, c *Cell) []byte {
	lastAttr := last.Attr
	reset := false
	for _, a := range sgrAttrs {
		if c.Attr&a.a == 0 && lastAttr&a.a != 0 {
			reset = true
			lastAttr = 0
			break
		}
	}
	n := 0
	if reset {
		b = append(b, "\x1b[0"...)
		n++
	}
	for _, a := range sgrAttrs {
		if c.Attr&a.a != 0 && lastAttr&a.a == 0 {
			if n == 0 {
				b = append(b, "\x1b["...)
			} else {
				b = append(b, ';')
			}
			n++
			if a.code < 10 {
				b = strconv.AppendInt(b, int64(a.code), 10)
			} else {
				b = strconv.AppendInt(b, int64(a.code/10), 10)
				b = append(b, ':')
				b = strconv.AppendInt(b, int64(a.code%10), 10)
			}
		}
	}
	if n > 0 {
		b = append(b, 'm')
	}
	if reset || c.Fg != last.Fg {
		b = appendColor(b, c.Fg, false)
	}
	if reset || c.Bg != last.Bg {
		b = appendColor(b, c.Bg, true)
	}
	return b
}

func appendColor(b []byte, c Color, bg bool) []byte {
	base := 30
	if bg {
		base = 40
	}
	b = append(b, "\x1b["...)
	switch c.Kind() {
	case KindDefault:
		b = strconv.AppendInt(b, int64(base+9), 10)
	case KindANSI:
		n := int(c.Index())
		if n < 8 {
			b = strconv.AppendInt(b, int64(base+n), 10)
		} else {
			b = strconv.AppendInt(b, int64(base+60+n-8), 10)
		}
	case Kind256:
		if n := int(c.Index()); n < 16 {
			// tmux draws these through terminfo setaf/setab, which
			// prints the 16-colour forms.
			if n < 8 {
				b = strconv.AppendInt(b, int64(base+n), 10)
			} else {
				b = strconv.AppendInt(b, int64(base+60+n-8), 10)
			}
			break
		}
		b = strconv.AppendInt(b, int64(base+8), 10)
		b = append(b, ";5;"...)
		b = strconv.AppendInt(b, int64(c.Index()), 10)
	case KindRGB:
		r, g, bl := c.RGB()
		b = strconv.AppendInt(b, int64(base+8), 10)
		b = append(b, ";2;"...)
		b = strconv.AppendInt(b, int64(r), 10)
		b = append(b, ';')
		b = strconv.AppendInt(b, int64(g), 10)
		b = append(b, ';')
		b = strconv.AppendInt(b, int64(bl), 10)
	}
	return append(b, 'm')
}
