package vt

import "tmate-relay/service/internal/faultinject"

// Write feeds the program's output. Sequences and UTF-8 may be split across
// calls. It always consumes everything; queries (DA, DSR) are not answered:
// the host's tmate answers them, the relay only mirrors.
func (e *Emulator) Write(p []byte) (int, error) {
	if faultinject.Hook != nil {
		faultinject.Hook(faultinject.Emulator, string(p)) // a copy: p must not escape
	}
	e.gen++
	i := 0
	n := len(p)
	for i < n {
		if e.state == stGround && e.u8need == 0 {
			// Fast path: a run of printable ASCII.
			b := p[i]
			if b >= 0x20 && b < 0x7f {
				i = e.printASCII(p, i)
				continue
			}
		}
		e.step(p[i])
		i++
	}
	return n, nil
}

// printASCII prints the run of printable ASCII starting at p[i] and returns
// the index after it.
func (e *Emulator) printASCII(p []byte, i int) int {
	if e.acs() || e.modes&(ModeInsert|ModeWrap) != ModeWrap {
		for ; i < len(p) && p[i] >= 0x20 && p[i] < 0x7f; i++ {
			r := rune(p[i])
			if e.acs() {
				if m := acsTable[r]; m != 0 {
					r = m
				}
			}
			e.put(r, 1)
		}
		return i
	}
	fg, bg, attr := e.pen.fg, e.pen.bg, e.pen.attr
	W := e.w
	for i < len(p) {
		b := p[i]
		if b < 0x20 || b >= 0x7f {
			break
		}
		if e.cx >= W {
			e.lines[e.cy].wrapped = true
			e.linefeed()
			e.cx = 0
		}
		l := &e.lines[e.cy]
		l.ver = e.stamp()
		// Write as much of the run as fits on this line.
		j := i
		for j < len(p) && p[j] >= 0x20 && p[j] < 0x7f && j-i < W-e.cx {
			j++
		}
		x := e.cx
		end := x + (j - i)
		if end > len(l.cells) {
			var ok bool
			if l.cells, ok = e.extend(l.cells, end, W); !ok {
				e.cx, i = end, j // not stored: the session ends
				continue
			}
		}
		c := l.cells
		if c[x].Width == 0 && x > 0 && c[x-1].Width == 2 {
			c[x-1] = Cell{Rune: ' ', Width: 1}
		}
		if c[end-1].Width == 2 && end < len(c) {
			c[end] = Cell{Rune: ' ', Width: 1}
		}
		for k := i; k < j; k++ {
			c[x] = Cell{Rune: rune(p[k]), Fg: fg, Bg: bg, Attr: attr, Width: 1}
			x++
		}
		e.cx = end
		i = j
	}
	return i
}

func (e *Emulator) step(b byte) {
	switch e.state {
	case stGround:
		if e.u8need > 0 && b&0xc0 != 0x80 {
			// tmate's UTF-8 states swallow the byte that breaks a
			// character, whatever it is (ESC and controls too).
			e.u8need = 0
			return
		}
		switch {
		case b < 0x20:
			e.control(b)
		case b < 0x7f:
			r := rune(b)
			if e.acs() {
				if m := acsTable[r]; m != 0 {
					r = m
				}
			}
			e.put(r, 1)
		case b == 0x7f:
		default:
			e.utf8(b)
		}
	case stEsc:
		e.escByte(b)
	case stCSI, stCSIIgnore:
		e.csiByte(b)
	case stOSC, stAPC, stRename:
		switch {
		case b == 0x07 && e.state == stOSC:
			e.endString()
		case b == 0x1b:
			e.state++ // stOSCEsc / stAPCEsc / stRenameEsc
		case b == 0x18 || b == 0x1a:
			e.endString() // leaving the string still applies it, as tmate
		case b < 0x20:
			// Other controls are dropped from the string.
		default:
			if e.slen < len(e.sbuf) {
				e.sbuf[e.slen] = b
				e.slen++
			}
		}
	case stOSCEsc, stAPCEsc, stRenameEsc:
		e.state--
		e.endString()
		if b != '\\' {
			e.escapeWith(b)
		}
	case stDCSEnter:
		e.dcsEnterByte(b)
	case stDCS:
		if b == 0x1b {
			e.state = stDCSEsc
		}
	case stDCSEsc:
		// In a DCS's data only ESC \ ends it: tmux's passthrough
		// (ESC P tmux; ... ESC \) doubles the ESCs it carries.
		e.state = stDCS
		if b == '\\' {
			e.state = stGround
		}
	case stStr:
		switch b {
		case 0x1b:
			e.state = stStrEsc
		case 0x18, 0x1a:
			e.state = stGround
		}
	case stStrEsc:
		e.state = stGround
		if b != '\\' {
			e.escapeWith(b)
		}
	}
}

func (e *Emulator) utf8(b byte) {
	if e.u8need > 0 { // b is a continuation byte: step checked
		e.u8[e.u8n] = b
		e.u8n++
		if e.u8n == e.u8need {
			e.u8need = 0
			e.printRune(e.decodeU8())
		}
		return
	}
	switch {
	case b >= 0xc2 && b <= 0xdf:
		e.u8need = 2
	case b >= 0xe0 && b <= 0xef:
		e.u8need = 3
	case b >= 0xf0 && b <= 0xf4:
		e.u8need = 4
	default:
		return
	}
	e.u8[0] = b
	e.u8n = 1
}

func (e *Emulator) decodeU8() rune {
	b := e.u8
	var r rune
	switch e.u8n {
	case 2:
		r = rune(b[0]&0x1f)<<6 | rune(b[1]&0x3f)
	case 3:
		r = rune(b[0]&0x0f)<<12 | rune(b[1]&0x3f)<<6 | rune(b[2]&0x3f)
		if r < 0x800 || (r >= 0xd800 && r <= 0xdfff) {
			return -1
		}
	case 4:
		r = rune(b[0]&0x07)<<18 | rune(b[1]&0x3f)<<12 | rune(b[2]&0x3f)<<6 | rune(b[3]&0x3f)
		if r < 0x10000 || r > 0x10ffff {
			return -1
		}
	}
	return r
}

func (e *Emulator) printRune(r rune) {
	if r < 0 {
		return
	}
	w := runeWidth(r)
	if w < 0 {
		return // tmate 2.4 drops what wcwidth() cannot measure
	}
	e.put(r, w)
}

func (e *Emulator) control(b byte) {
	switch b {
	case 0x07:
		e.bells++
	case 0x08: // BS
		if e.cx == 0 {
			if e.cy > 0 && e.lines[e.cy-1].wrapped {
				e.cy--
				e.cx = e.w - 1
			}
		} else {
			if e.cx > e.w {
				e.cx = e.w
			}
			e.cx--
		}
	case 0x09: // HT
		if e.cx >= e.w-1 {
			break
		}
		for {
			e.cx++
			if e.tabs[e.cx] || e.cx >= e.w-1 {
				break
			}
		}
	case 0x0a, 0x0b, 0x0c:
		e.lines[e.cy].wrapped = false
		e.linefeed()
	case 0x0d:
		e.cx = 0
	case 0x0e:
		e.pen.shift = true
	case 0x0f:
		e.pen.shift = false
	case 0x1b:
		e.state = stEsc
		e.ninter = 0
		e.inter = 0
	case 0x18, 0x1a:
		e.state = stGround
	}
}

// escapeWith starts an escape sequence whose ESC ended a string, with b
// its first byte.
func (e *Emulator) escapeWith(b byte) {
	e.state = stEsc
	e.ninter = 0
	e.inter = 0
	e.escByte(b)
}

func (e *Emulator) escByte(b byte) {
	switch {
	case b < 0x20:
		if b == 0x18 || b == 0x1a {
			e.state = stGround
			return
		}
		e.control(b)
		return
	case b < 0x30:
		e.inter = b
		e.ninter++
		return
	case b >= 0x7f:
		return // ignored, still in the escape sequence (tmate's esc_enter)
	}
	e.state = stGround
	if e.ninter > 1 {
		return
	}
	if e.ninter == 1 {
		switch {
		case e.inter == '(' && b == '0':
			e.pen.g0 = true
		case e.inter == '(' && b == 'B':
			e.pen.g0 = false
		case e.inter == ')' && b == '0':
			e.pen.g1 = true
		case e.inter == ')' && b == 'B':
			e.pen.g1 = false
		case e.inter == '#' && b == '8':
			e.alignmentTest()
		}
		return
	}
	switch b {
	case '[':
		e.state = stCSI
		e.nparam = 0
		e.params[0] = -1
		e.priv = 0
		e.ninter = 0
		e.overflow = false
	case ']':
		e.state = stOSC
		e.slen = 0
	case '_':
		e.state = stAPC
		e.slen = 0
	case 'k':
		e.state = stRename
		e.slen = 0
	case 'P':
		e.state = stDCSEnter
		e.ninter = 0
		e.nparam = 0
	case 'X', '^':
		e.state = stStr
	case '7':
		e.saveCursor()
	case '8':
		e.restoreCursor()
	case '=':
		e.modes |= ModeAppKeypad
	case '>':
		e.modes &^= ModeAppKeypad
	case 'D':
		e.linefeed()
	case 'E':
		e.cx = 0
		e.linefeed()
	case 'H':
		if e.cx < e.w {
			e.tabs[e.cx] = true
		}
	case 'M':
		e.reverseIndex()
	case 'c':
		e.reset()
	}
}

func (e *Emulator) saveCursor() {
	e.scPen = e.pen
	e.scX, e.scY = e.cx, e.cy
}

func (e *Emulator) restoreCursor() {
	e.pen = e.scPen
	e.moveTo(e.scX, e.scY, false)
}

func (e *Emulator) alignmentTest() {
	for y := 0; y < e.h; y++ {
		l := &e.lines[y]
		l.ver = e.stamp()
		var ok bool
		if l.cells, ok = e.extend(l.cells[:0], e.w, e.w); !ok {
			break // the session ends: its pool is spent
		}
		for x := range l.cells {
			l.cells[x] = Cell{Rune: 'E', Width: 1}
		}
		l.wrapped = false
	}
	e.top, e.bot = 0, e.h-1
	e.cx, e.cy = 0, 0
}

// dcsEnterByte reads a DCS up to its final byte as tmate's dcs_enter,
// dcs_parameter and dcs_intermediate states: parameters then
// intermediates, and a byte out of that order has the DCS ignored up to
// the next ESC. ESC, CAN and SUB act as anywhere else.
func (e *Emulator) dcsEnterByte(b byte) {
	switch {
	case b == 0x1b:
		e.state = stEsc
		e.ninter = 0
		e.inter = 0
	case b == 0x18 || b == 0x1a:
		e.state = stGround
	case b >= 0x20 && b <= 0x2f:
		e.ninter++
	case b == ':' || b >= 0x30 && b <= 0x3f && e.ninter > 0:
		e.state = stStr
	case b >= 0x3c && b <= 0x3f:
		if e.nparam > 0 {
			e.state = stStr // a private marker after parameters
		}
		e.nparam++
	case b >= 0x30 && b <= 0x3b:
		e.nparam++
	case b >= 0x40 && b <= 0x7e:
		e.state = stDCS
	}
}

// endString applies the OSC, APC or rename string just ended and returns
// to the ground state.
func (e *Emulator) endString() {
	s := e.sbuf[:e.slen]
	st := e.state
	e.state = stGround
	switch st {
	case stAPC:
		e.title = string(s)
	case stOSC:
		// OSC Ps ; Pt (the ; may be missing, as tmate reads it)
		n, i := 0, 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' && n < 10000 {
			n = n*10 + int(s[i]-'0')
			i++
		}
		if i == 0 {
			return
		}
		if i < len(s) && s[i] == ';' {
			i++
		}
		if n == 0 || n == 2 {
			e.title = string(s[i:])
		}
	}
}

func (e *Emulator) csiByte(b byte) {
	switch {
	case b >= '0' && b <= '9':
		if e.ninter > 0 {
			e.state = stCSIIgnore
			return
		}
		v := e.params[e.nparam]
		if v < 0 {
			v = 0
		}
		v = v*10 + int32(b-'0')
		if v > 0xffff {
			v = 0xffff
		}
		e.params[e.nparam] = v
	case b == ':':
		// tmate 2.4 (tmux 2.x) has no colon sub-parameters: the whole
		// sequence is ignored (38:2::r:g:b, 4:3...).
		e.state = stCSIIgnore
	case b == ';':
		if e.ninter > 0 {
			e.state = stCSIIgnore
			return
		}
		if e.nparam+1 >= maxParams {
			e.overflow = true
			return
		}
		e.nparam++
		e.params[e.nparam] = -1
	case b >= 0x3c && b <= 0x3f:
		if e.nparam == 0 && e.params[0] < 0 && e.priv == 0 && e.ninter == 0 {
			e.priv = b
		} else {
			e.state = stCSIIgnore
		}
	case b >= 0x20 && b < 0x30:
		e.inter = b
		e.ninter++
	case b >= 0x40 && b <= 0x7e:
		ign := e.state == stCSIIgnore || e.overflow || e.ninter > 1
		e.state = stGround
		if !ign {
			e.csi(b)
		}
	case b == 0x1b:
		e.state = stEsc
		e.ninter = 0
	case b == 0x18 || b == 0x1a:
		e.state = stGround
	case b < 0x20:
		e.control(b)
	}
}

// param returns parameter i, def when missing, at least min.
func (e *Emulator) param(i int, min, def int) int {
	if i > e.nparam {
		return def
	}
	v := int(e.params[i])
	if v < 0 {
		return def
	}
	if v < min {
		return min
	}
	return v
}

func (e *Emulator) csi(final byte) {
	if e.ninter == 1 {
		if e.inter == ' ' && final == 'q' && e.priv == 0 {
			e.cstyle = e.param(0, 0, 0)
		}
		return
	}
	switch e.priv {
	case 0:
	case '?':
		switch final {
		case 'h':
			e.setPrivate(true)
		case 'l':
			e.setPrivate(false)
		}
		return
	default:
		return
	}
	// tmate 2.4 has no background colour erase: ICH, DCH, ECH, EL, ED, IL
	// and DL clear to the default background whatever the pen.
	bg := ColorDefault
	switch final {
	case '@':
		if e.cx < e.w {
			e.insertCells(e.cx, e.param(0, 1, 1), bg)
		}
	case 'A':
		e.cursorUp(e.param(0, 1, 1))
	case 'B':
		e.cursorDown(e.param(0, 1, 1))
	case 'C':
		n := e.param(0, 1, 1)
		if e.cx < e.w {
			e.cx = min(e.cx+n, e.w-1)
		}
	case 'D':
		// From a pending wrap this counts from past the last column,
		// as tmate's screen_write_cursorleft.
		e.cx = max(e.cx-e.param(0, 1, 1), 0)
	case 'E':
		e.cx = 0
		e.cursorDown(e.param(0, 1, 1))
	case 'F':
		e.cx = 0
		e.cursorUp(e.param(0, 1, 1))
	case 'G':
		e.moveTo(e.param(0, 1, 1)-1, -1, true)
	case 'H', 'f':
		e.moveTo(e.param(1, 1, 1)-1, e.param(0, 1, 1)-1, true)
	case 'J':
		e.eraseDisplay(e.param(0, 0, 0), bg)
	case 'K':
		e.eraseLine(e.param(0, 0, 0), bg)
	case 'L':
		e.insertLines(e.param(0, 1, 1), bg)
	case 'M':
		e.deleteLines(e.param(0, 1, 1), bg)
	case 'P':
		if e.cx < e.w {
			e.deleteCells(e.cx, e.param(0, 1, 1), bg)
		}
	case 'X':
		if e.cx < e.w {
			n := min(e.param(0, 1, 1), e.w-e.cx)
			e.clearCells(e.cy, e.cx, n, bg)
		}
	case 'S':
		if e.scrollCommands {
			for n := min(e.param(0, 1, 1), e.bot+1-e.top); n > 0; n-- {
				e.scrollUp(e.top, e.bot, bg)
			}
		}
	case 'T':
		if e.scrollCommands {
			for n := min(e.param(0, 1, 1), e.bot+1-e.top); n > 0; n-- {
				e.scrollDown(e.top, e.bot, bg)
			}
		}
	case 'Z':
		x := min(e.cx, e.w-1)
		for n := e.param(0, 1, 1); x > 0 && n > 0; n-- {
			x--
			for x > 0 && !e.tabs[x] {
				x--
			}
		}
		e.cx = x
	case 'd':
		e.moveTo(-1, e.param(0, 1, 1)-1, true)
	case 'g':
		switch e.param(0, 0, 0) {
		case 0:
			if e.cx < e.w {
				e.tabs[e.cx] = false
			}
		case 3:
			clear(e.tabs)
		}
	case 'h', 'l':
		for i := 0; i <= e.nparam; i++ {
			if e.param(i, 0, -1) == 4 {
				if final == 'h' {
					e.modes |= ModeInsert
				} else {
					e.modes &^= ModeInsert
				}
			}
		}
	case 'm':
		e.sgr()
	case 'r':
		top := e.param(0, 1, 1) - 1
		bot := e.param(1, 1, e.h) - 1
		top = min(top, e.h-1)
		bot = min(bot, e.h-1)
		if top >= bot {
			return
		}
		e.top, e.bot = top, bot
		e.cx, e.cy = 0, 0
		if e.modes&ModeOrigin != 0 {
			e.cy = top
		}
	case 's':
		e.saveCursor()
	case 'u':
		e.restoreCursor()
	}
}

func (e *Emulator) cursorUp(n int) {
	if e.cy < e.top {
		n = min(n, e.cy)
	} else {
		n = min(n, e.cy-e.top)
	}
	if e.cx >= e.w {
		e.cx = e.w - 1
	}
	e.cy -= n
}

func (e *Emulator) cursorDown(n int) {
	if e.cy > e.bot {
		n = min(n, e.h-1-e.cy)
	} else {
		n = min(n, e.bot-e.cy)
	}
	if e.cx >= e.w {
		e.cx = e.w - 1
	}
	e.cy += n
}

func (e *Emulator) eraseDisplay(mode int, bg Color) {
	switch mode {
	case 0:
		if e.cx == 0 && e.cy == 0 && !e.alt {
			// Clearing the whole screen from its top left scrolls it
			// into history (screen_write_clearendofscreen), as ED 2.
			e.clearScreenToHistory(bg)
			return
		}
		if e.cx < e.w {
			e.clearCells(e.cy, e.cx, e.w-e.cx, bg)
		}
		e.clearLines(e.cy+1, e.h, bg)
	case 1:
		e.clearLines(0, e.cy, bg)
		e.clearCells(e.cy, 0, min(e.cx+1, e.w), bg)
	case 2:
		if !e.alt {
			e.clearScreenToHistory(bg)
		} else {
			e.clearLines(0, e.h, bg)
		}
	case 3:
		if e.param(1, 0, 0) == 0 {
			e.clearHistory()
		}
	}
}

func (e *Emulator) eraseLine(mode int, bg Color) {
	switch mode {
	case 0:
		if e.cx < e.w {
			e.clearCells(e.cy, e.cx, e.w-e.cx, bg)
		}
	case 1:
		e.clearCells(e.cy, 0, min(e.cx+1, e.w), bg)
	case 2:
		e.clearCells(e.cy, 0, e.w, bg)
	}
}

func (e *Emulator) setPrivate(on bool) {
	for i := 0; i <= e.nparam; i++ {
		var m Modes
		switch e.param(i, 0, -1) {
		case 1:
			m = ModeAppCursor
		case 3:
			e.moveTo(0, 0, false)
			if e.alt {
				e.clearLines(0, e.h, ColorDefault)
			} else {
				e.clearScreenToHistory(ColorDefault)
			}
			continue
		case 6:
			continue // tmate 2.4 has no origin mode (DECOM)
		case 7:
			m = ModeWrap
		case 12:
			m = ModeCursorBlink
		case 25:
			m = ModeCursorVisible
		case 1000, 1002, 1003:
			e.modes &^= allMouse
			if !on {
				continue
			}
			switch e.param(i, 0, -1) {
			case 1000:
				m = ModeMouseStandard
			case 1002:
				m = ModeMouseButton
			default:
				m = ModeMouseAny
			}
		case 1004:
			m = ModeFocus
		case 1005:
			m = ModeMouseUTF8
		case 1006:
			m = ModeMouseSGR
		case 2004:
			m = ModeBracketedPaste
		case 47, 1047:
			if on {
				e.altOn(false)
			} else {
				e.altOff(false)
			}
			continue
		case 1049:
			if on {
				e.altOn(true)
			} else {
				e.altOff(true)
			}
			continue
		default:
			continue
		}
		if on {
			e.modes |= m
		} else {
			e.modes &^= m
		}
	}
}

// sgr is tmate 2.4's input_csi_dispatch_sgr: no strikethrough (9),
// double underline (21), overline (53), rapid blink (6) or their resets
// (28, 29, 55); 10 resets like 0.
func (e *Emulator) sgr() {
	p := &e.pen
	if e.nparam == 0 && e.params[0] < 0 {
		p.fg, p.bg, p.attr = 0, 0, 0
		return
	}
	for i := 0; i <= e.nparam; i++ {
		n := e.param(i, 0, 0)
		switch {
		case n == 0 || n == 10:
			p.fg, p.bg, p.attr = 0, 0, 0
		case n == 1:
			p.attr |= AttrBold
		case n == 2:
			p.attr |= AttrDim
		case n == 3:
			p.attr |= AttrItalic
		case n == 4:
			p.attr |= AttrUnderline
		case n == 5:
			p.attr |= AttrBlink
		case n == 7:
			p.attr |= AttrReverse
		case n == 8:
			p.attr |= AttrHidden
		case n == 22:
			p.attr &^= AttrBold | AttrDim
		case n == 23:
			p.attr &^= AttrItalic
		case n == 24:
			p.attr &^= AttrUnderline
		case n == 25:
			p.attr &^= AttrBlink
		case n == 27:
			p.attr &^= AttrReverse
		case n >= 30 && n <= 37:
			p.fg = ANSI(uint8(n - 30))
		case n == 38 || n == 48:
			c, used, ok := e.extColor(i + 1)
			i += used
			if ok {
				if n == 38 {
					p.fg = c
				} else {
					p.bg = c
				}
			}
		case n == 39:
			p.fg = 0
		case n >= 40 && n <= 47:
			p.bg = ANSI(uint8(n - 40))
		case n == 49:
			p.bg = 0
		case n >= 90 && n <= 97:
			p.fg = ANSI(uint8(n - 90 + 8))
		case n >= 100 && n <= 107:
			p.bg = ANSI(uint8(n - 100 + 8))
		}
	}
}

// extColor parses what follows 38/48 as tmate 2.4 does (5;n or 2;r;g;b),
// returning how many parameters it consumed: 38;5 with no index is the
// default colour; an RGB component missing or above 255 stops there,
// leaving the colour unchanged.
func (e *Emulator) extColor(i int) (c Color, used int, ok bool) {
	switch e.param(i, 0, -1) {
	case 5:
		v := e.param(i+1, 0, -1)
		if v < 0 {
			return ColorDefault, 2, true
		}
		return Palette(uint8(v)), 2, true
	case 2:
		var rgb [3]int
		for k := range rgb {
			rgb[k] = e.param(i+1+k, 0, -1)
			if rgb[k] < 0 || rgb[k] > 255 {
				return 0, 2 + k, false
			}
		}
		return RGB(uint8(rgb[0]), uint8(rgb[1]), uint8(rgb[2])), 4, true
	}
	return 0, 1, false
}
