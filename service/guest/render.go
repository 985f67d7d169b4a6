package guest

import (
	"cmp"
	"slices"
	"strconv"
	"unicode/utf8"

	"tmate-relay/service/internal/faultinject"
	"tmate-relay/service/vt"
)

// Renderer turns successive frames into the bytes that bring one guest's
// terminal (assumed xterm-compatible, UTF-8, autowrap on) from the frame it
// last drew to the next: only changed cells, the cheapest cursor moves and
// SGR changes, erases for blank runs, and a scroll when a full-width band
// of rows moved up. Its zero value is ready; the first frame is drawn whole.
type Renderer struct {
	// CursorStyles: the terminal takes DECSCUSR (xterm-like), so the
	// active pane's cursor style is set on it.
	CursorStyles bool

	prev       []vt.Cell // what the guest's terminal holds
	edge       []int     // per row: from here to the right edge, its cells are cleared
	w, h       int
	valid      bool // prev describes the terminal
	pen        vt.Cell
	penKnown   bool
	cx, cy     int // cursor; cx == w: after the last column (wrap pending)
	posKnown   bool
	cursorOn   bool
	curKnown   bool
	pasteOn    bool   // bracketed paste asked of the terminal (mode 2004)
	rings      uint64 // the last frame's bell count (Frame.Rings)
	ringsKnown bool
	cstyle     int  // cursor style set on the terminal (0: its default)
	top, bot   int  // scroll region, 0-based inclusive, when regionOn
	regionOn   bool // a region other than the whole screen is set
	prevHash   []uint64
	nextHash   []uint64
	scrollOff  bool // disables scroll detection (tests)
	finder     scrollFinder

	// The frame last rendered and its Compose count: when the next frame
	// is the same one composed once since, only its dirty rows can differ
	// from what the terminal holds.
	last    *Frame
	lastSeq uint64
	check   []bool // rows to compare in this Render
}

// Reset makes the next Render clear the terminal and draw everything
// (after the guest resized, or when its contents are unknown).
func (r *Renderer) Reset() {
	r.valid = false
	r.regionOn = true // unknown: reset it
	r.penKnown = false
	r.posKnown = false
	r.curKnown = false
}

// Enter returns what a guest terminal needs first, as tmux sends to a new
// client: alternate screen, keypad transmit mode, default attributes, a
// cleared screen.
func Enter() []byte {
	return []byte("\x1b[?1049h\x1b[?1h\x1b=\x1b[m\x1b[H\x1b[2J")
}

// Leave appends what restores the guest terminal at the end: full scroll
// region, default attributes, keypad mode off, bracketed paste off, the
// default cursor style if another was set, cleared, cursor shown, main
// screen back.
func (r *Renderer) Leave(dst []byte) []byte {
	if r.cstyle != 0 {
		dst = append(dst, cursorStyleReset...)
	}
	return append(dst, "\x1b[r\x1b[m\x1b[?1l\x1b>\x1b[?2004l\x1b[H\x1b[2J\x1b[?25h\x1b[?1049l"...)
}

// cursorStyleReset is tmux 2.4's Se for xterm terminals.
const cursorStyleReset = "\x1b[2 q"

// Render appends to dst what changes the guest's terminal from the last
// rendered frame to f and returns the extended slice.
func (r *Renderer) Render(dst []byte, f *Frame) []byte {
	if faultinject.Hook != nil {
		faultinject.Hook(faultinject.Renderer, f.Cells) // not f: it must not escape
	}
	w, h := f.W, f.H
	// Rows Compose left as they were need no comparing: the terminal
	// already shows them.
	partial := r.valid && r.last == f && f.seq == r.lastSeq+1 && len(f.dirty) == h &&
		r.w == w && r.h == h && len(r.prev) == w*h
	r.last, r.lastSeq = f, f.seq
	if cap(r.check) < h {
		r.check = make([]bool, h)
	}
	r.check = r.check[:h]
	if partial {
		copy(r.check, f.dirty)
	} else {
		for y := range r.check {
			r.check[y] = true
		}
	}
	if !r.valid || r.w != w || r.h != h || len(r.prev) != w*h {
		if cap(r.prev) < w*h {
			r.prev = make([]vt.Cell, w*h)
		}
		r.prev = r.prev[:w*h]
		for i := range r.prev {
			r.prev[i] = cleared
		}
		if cap(r.edge) < h {
			r.edge = make([]int, h)
		}
		r.edge = r.edge[:h]
		clear(r.edge)
		r.w, r.h = w, h
		if r.regionOn {
			dst = append(dst, "\x1b[r"...)
			r.regionOn = false
		}
		dst = append(dst, "\x1b[m\x1b[H\x1b[2J"...)
		r.pen, r.penKnown = blank, true
		r.cx, r.cy, r.posKnown = 0, 0, true
		r.valid = true
		r.prevHash = r.prevHash[:0]
	}
	if w == 0 || h == 0 {
		return dst
	}

	if partial && f.scrollN > 0 {
		dst = r.scrollMoved(dst, f)
	}
	if !r.scrollOff {
		dst = r.scroll(dst, f, partial)
	} else {
		r.prevHash = r.prevHash[:0] // no longer maintained
	}

	for y := 0; y < h; y++ {
		if r.check[y] {
			dst = r.row(dst, f, y)
		}
	}

	// Final cursor state.
	if f.CursorVisible {
		x := f.CursorX
		if x >= w {
			x = w - 1
		}
		dst = r.moveTo(dst, x, f.CursorY)
		if !r.curKnown || !r.cursorOn {
			dst = append(dst, "\x1b[?25h"...)
		}
	} else if !r.curKnown || r.cursorOn {
		dst = append(dst, "\x1b[?25l"...)
	}
	r.cursorOn, r.curKnown = f.CursorVisible, true
	// A bell rung since the last frame rings the terminal once, as tmux
	// puts one BEL to a client however many came (bells before the guest's
	// first frame are not its to hear).
	if r.ringsKnown && f.Rings > r.rings {
		dst = append(dst, '\a')
	}
	r.rings, r.ringsKnown = f.Rings, true
	// The active pane's cursor style, as tty_update_mode sets it with Ss
	// (Se for the default) on a terminal that has them.
	if r.CursorStyles && f.CursorStyle != r.cstyle {
		if f.CursorStyle == 0 {
			dst = append(dst, cursorStyleReset...)
		} else {
			dst = append(dst, "\x1b["...)
			dst = strconv.AppendInt(dst, int64(f.CursorStyle), 10)
			dst = append(dst, " q"...)
		}
		r.cstyle = f.CursorStyle
	}
	if f.BracketedPaste != r.pasteOn {
		if f.BracketedPaste {
			dst = append(dst, "\x1b[?2004h"...)
		} else {
			dst = append(dst, "\x1b[?2004l"...)
		}
		r.pasteOn = f.BracketedPaste
	}
	return dst
}

// same reports whether the terminal needs no change to show b where a is:
// continuation cells are drawn by their lead cell, and a cleared cell looks
// as a space (whether a row's end is cleared is row's to keep right).
func same(a, b *vt.Cell) bool {
	if a.Width == 0 && b.Width == 0 {
		return true
	}
	if a.Rune == 0 || b.Rune == 0 {
		x, y := *a, *b
		x.Rune, y.Rune = max(x.Rune, ' '), max(y.Rune, ' ')
		return x == y
	}
	return *a == *b
}

// erasable reports whether EL / ECH produce c: a blank (or cleared cell)
// without attributes or foreground, in any background (the terminal erases
// in the current background).
func erasable(c *vt.Cell) bool {
	return (c.Rune == ' ' || c.Rune == 0) && c.Width == 1 && c.Attr == 0 && c.Fg == vt.ColorDefault
}

// clearedFrom is where the run of cleared cells that ends row starts
// (len(row) if it does not end in one).
func clearedFrom(row []vt.Cell) int {
	x := len(row)
	for x > 0 && row[x-1] == cleared {
		x--
	}
	return x
}

// row brings row y of the terminal to f's row y.
func (r *Renderer) row(dst []byte, f *Frame, y int) []byte {
	w := f.W
	next := f.Cells[y*w : (y+1)*w]
	prev := r.prev[y*w : (y+1)*w]
	for x := 0; x < w; {
		c := &next[x]
		if c.Width == 0 || same(&prev[x], c) {
			x++
			continue
		}
		if erasable(c) {
			n := 1
			for x+n < w && same(&next[x+n], c) {
				n++
			}
			if x+n == w && x >= clearedFrom(next) {
				break // the line's cleared end: rowEnd
			}
			if x+n == w && n > 3 {
				dst = r.moveTo(dst, x, y)
				dst = r.setPen(dst, c)
				dst = append(dst, "\x1b[K"...)
				copy(prev[x:], next[x:])
				r.edge[y] = min(r.edge[y], x)
				break
			}
			if n > 8 {
				dst = r.moveTo(dst, x, y)
				dst = r.setPen(dst, c)
				dst = append(dst, "\x1b["...)
				dst = appendInt(dst, n)
				dst = append(dst, 'X')
				copy(prev[x:x+n], next[x:x+n])
				x += n
				continue
			}
		}
		dst = r.bridge(dst, next, y, x)
		dst = r.put(dst, next, x, y)
		x += int(max(c.Width, 1))
	}
	return r.rowEnd(dst, next, y)
}

// put draws next[x] at x, y.
func (r *Renderer) put(dst []byte, next []vt.Cell, x, y int) []byte {
	c := &next[x]
	prev := r.prev[y*r.w : (y+1)*r.w]
	dst = r.moveTo(dst, x, y)
	dst = r.setPen(dst, c)
	dst = appendCellText(dst, c)
	prev[x] = *c
	adv := 1
	if c.Width == 2 {
		prev[x+1] = next[x+1]
		adv = 2
	}
	r.cx += adv
	r.edge[y] = max(r.edge[y], x+adv)
	return dst
}

// rowEnd leaves the terminal's row y cleared exactly where next's is, as
// tmux draws a line's cells up to its end, then clears the rest (EL) when
// the pane reaches the right edge: cells written past a line's end stay
// in a terminal as text (some copy them with a selection, and tmux's
// capture-pane shows them), and a space an application wrote must be
// written.
func (r *Renderer) rowEnd(dst []byte, next []vt.Cell, y int) []byte {
	end := clearedFrom(next)
	for x := r.edge[y]; x < end; {
		if next[x].Width == 0 { // drawn with its wide character
			x++
			continue
		}
		dst = r.put(dst, next, x, y)
		x += int(next[x].Width)
	}
	if end < r.edge[y] {
		dst = r.moveTo(dst, end, y)
		dst = r.setPen(dst, &blank)
		dst = append(dst, "\x1b[K"...)
		copy(r.prev[y*r.w+end:(y+1)*r.w], next[end:])
		r.edge[y] = end
	}
	return dst
}

// bridge rewrites the unchanged cells between the cursor and x on the same
// row when that is no longer than moving over them.
func (r *Renderer) bridge(dst []byte, next []vt.Cell, y, x int) []byte {
	if !r.posKnown || r.cy != y || r.cx >= x || r.cx >= r.w {
		return dst
	}
	gap := next[r.cx:x]
	if gap[0].Width == 0 {
		return dst
	}
	cost := 0
	for i := range gap {
		c := &gap[i]
		if c.Width != 0 {
			if d := ttyCell(c); d.Fg != r.pen.Fg || d.Bg != r.pen.Bg || d.Attr != r.pen.Attr {
				return dst
			}
		}
		if c.Rune == 0 {
			return dst // writing it would leave a space where tmux clears
		}
		cost += cellTextLen(c)
	}
	if cost > r.moveCost(x, y) {
		return dst
	}
	for i := range gap {
		if gap[i].Width != 0 {
			dst = appendCellText(dst, &gap[i])
		}
	}
	r.cx = x
	r.edge[y] = max(r.edge[y], x)
	return dst
}

// appendCellText appends what draws c: its character, or for a cluster
// cell the base character and its combining marks.
func appendCellText(dst []byte, c *vt.Cell) []byte {
	ch := c.Rune
	if ch >= vt.ClusterBase {
		return c.AppendText(dst)
	}
	if ch < 0x20 || ch == 0x7f || (ch >= 0x80 && ch < 0xa0) || !utf8.ValidRune(ch) {
		ch = ' '
	}
	if ch < utf8.RuneSelf {
		return append(dst, byte(ch))
	}
	return utf8.AppendRune(dst, ch)
}

func cellTextLen(c *vt.Cell) int {
	ch := c.Rune
	if ch >= vt.ClusterBase {
		return len(c.String())
	}
	if ch < 0x20 || ch == 0x7f || (ch >= 0x80 && ch < 0xa0) || !utf8.ValidRune(ch) {
		return 1
	}
	return utf8.RuneLen(ch)
}

// moveCost is the number of bytes moveTo would emit.
func (r *Renderer) moveCost(x, y int) int {
	var buf [32]byte
	return len(r.move(buf[:0], x, y))
}

// moveTo moves the cursor to x, y the cheapest way and records it.
func (r *Renderer) moveTo(dst []byte, x, y int) []byte {
	if r.posKnown && r.cx == x && r.cy == y {
		return dst
	}
	dst = r.move(dst, x, y)
	r.cx, r.cy, r.posKnown = x, y, true
	return dst
}

// move appends the shortest of: CUP; or a vertical step (LFs, CUU, CUD,
// VPA) plus a horizontal one (CR, BS, CUF, CUB, CHA, CR+CUF).
func (r *Renderer) move(dst []byte, x, y int) []byte {
	var best, cand [32]byte
	b := appendCUP(best[:0], x, y)
	if !r.posKnown {
		return append(dst, b...)
	}
	var vbuf [16]byte
	v := vbuf[:0]
	dy := y - r.cy
	switch {
	case r.regionOn && ((r.cy <= r.bot && r.bot < y) || (y < r.top && r.top <= r.cy)):
		// LF, CUD and CUU stop at (or scroll) the region's margins.
		v = appendCSI(v, y+1, 'd')
	case dy > 0 && dy <= 4:
		for range dy {
			v = append(v, '\n')
		}
	case dy > 0:
		v = appendCSI(v, dy, 'B')
	case dy < 0:
		v = appendCSI(v, -dy, 'A')
	}
	if dy != 0 {
		var alt [16]byte
		if a := appendCSI(alt[:0], y+1, 'd'); len(a) < len(v) {
			v = append(v[:0], a...)
		}
	}
	pending := r.cx >= r.w // after the last column: only absolute moves
	var hbuf [16]byte
	hs := hbuf[:0]
	dx := x - r.cx
	switch {
	case x == 0:
		if r.cx != 0 || pending {
			hs = append(hs, '\r')
		}
	case dx == 0 && !pending:
	case pending:
		hs = appendCSI(hs, x+1, 'G')
		if c := appendCSI(append(cand[:0], '\r'), x, 'C'); len(c) < len(hs) {
			hs = append(hs[:0], c...)
		}
	default:
		hs = appendCSI(hs, x+1, 'G')
		var alt [16]byte
		var a []byte
		if dx > 0 {
			a = appendCSI(alt[:0], dx, 'C')
		} else if -dx <= 3 {
			a = alt[:0]
			for range -dx {
				a = append(a, '\b')
			}
		} else {
			a = appendCSI(alt[:0], -dx, 'D')
		}
		if len(a) < len(hs) {
			hs = append(hs[:0], a...)
		}
		if c := appendCSI(append(cand[:0], '\r'), x, 'C'); len(c) < len(hs) {
			hs = append(hs[:0], c...)
		}
	}
	if len(v)+len(hs) < len(b) {
		// CR before the vertical step: LF keeps the column.
		if len(hs) > 0 && hs[0] == '\r' {
			return append(append(append(dst, '\r'), v...), hs[1:]...)
		}
		return append(append(dst, v...), hs...)
	}
	return append(dst, b...)
}

// appendCSI appends ESC [ n final, leaving out n when it is 1.
func appendCSI(dst []byte, n int, final byte) []byte {
	dst = append(dst, 0x1b, '[')
	if n != 1 {
		dst = appendInt(dst, n)
	}
	return append(dst, final)
}

func appendCUP(dst []byte, x, y int) []byte {
	dst = append(dst, 0x1b, '[')
	if x == 0 && y == 0 {
		return append(dst, 'H')
	}
	if y != 0 {
		dst = appendInt(dst, y+1)
	}
	if x != 0 {
		dst = append(dst, ';')
		dst = appendInt(dst, x+1)
	}
	return append(dst, 'H')
}

// attrCodes lists each attribute with the SGR that sets it.
var attrCodes = [...]struct {
	a  vt.Attr
	on string
}{
	{vt.AttrBold, "1"},
	{vt.AttrDim, "2"},
	{vt.AttrItalic, "3"},
	{vt.AttrUnderline, "4"},
	{vt.AttrDoubleUnderline, "4:2"},
	{vt.AttrCurlyUnderline, "4:3"},
	{vt.AttrDottedUnderline, "4:4"},
	{vt.AttrDashedUnderline, "4:5"},
	{vt.AttrBlink, "5"},
	{vt.AttrReverse, "7"},
	{vt.AttrHidden, "8"},
	{vt.AttrStrike, "9"},
	{vt.AttrOverline, "53"},
}

const underlines = vt.AttrUnderline | vt.AttrDoubleUnderline | vt.AttrCurlyUnderline |
	vt.AttrDottedUnderline | vt.AttrDashedUnderline

// setPen emits the shortest SGR that changes the terminal's attributes
// and colours to c's: either a reset followed by all of c's, or only the
// differences.
func (r *Renderer) setPen(dst []byte, cell *vt.Cell) []byte {
	drawn := ttyCell(cell)
	c := &drawn
	if r.penKnown && r.pen.Fg == c.Fg && r.pen.Bg == c.Bg && r.pen.Attr == c.Attr {
		return dst
	}
	var full, diff [160]byte
	// A reset ("0", left out when nothing follows) then all of c's codes.
	a := append(full[:0], 0x1b, '[', '0')
	for _, ac := range attrCodes {
		if c.Attr&ac.a != 0 {
			a = append(append(a, ';'), ac.on...)
		}
	}
	if c.Fg != vt.ColorDefault {
		a = appendColour(append(a, ';'), c.Fg, false)
	}
	if c.Bg != vt.ColorDefault {
		a = appendColour(append(a, ';'), c.Bg, true)
	}
	if len(a) == 3 {
		a = a[:2]
	}
	a = append(a, 'm')
	best := a
	if r.penKnown {
		d := diff[:0]
		d = append(d, 0x1b, '[')
		p := r.pen.Attr
		t := c.Attr
		gone := p &^ t
		add := t &^ p
		if gone&(vt.AttrBold|vt.AttrDim) != 0 {
			d = append(sgrSep(d, 2), "22"...)
			add |= t & (vt.AttrBold | vt.AttrDim)
		}
		if gone&vt.AttrItalic != 0 {
			d = append(sgrSep(d, 2), "23"...)
		}
		if gone&underlines != 0 && t&underlines == 0 {
			d = append(sgrSep(d, 2), "24"...)
		}
		if gone&vt.AttrBlink != 0 {
			d = append(sgrSep(d, 2), "25"...)
		}
		if gone&vt.AttrReverse != 0 {
			d = append(sgrSep(d, 2), "27"...)
		}
		if gone&vt.AttrHidden != 0 {
			d = append(sgrSep(d, 2), "28"...)
		}
		if gone&vt.AttrStrike != 0 {
			d = append(sgrSep(d, 2), "29"...)
		}
		if gone&vt.AttrOverline != 0 {
			d = append(sgrSep(d, 2), "55"...)
		}
		if gone&underlines != 0 && t&underlines != 0 {
			add |= t & underlines // the terminal keeps one style: restate it
		}
		for _, ac := range attrCodes {
			if add&ac.a != 0 {
				d = append(sgrSep(d, 2), ac.on...)
			}
		}
		if c.Fg != r.pen.Fg {
			d = appendColour(sgrSep(d, 2), c.Fg, false)
		}
		if c.Bg != r.pen.Bg {
			d = appendColour(sgrSep(d, 2), c.Bg, true)
		}
		d = append(d, 'm')
		if len(d) < len(best) {
			best = d
		}
	}
	r.pen = *c
	r.penKnown = true
	return append(dst, best...)
}

func sgrSep(b []byte, start int) []byte {
	if len(b) > start {
		return append(b, ';')
	}
	return b
}

// appendColour appends the SGR parameters for c in the form it was set.
func appendColour(b []byte, c vt.Color, bg bool) []byte {
	switch c.Kind() {
	case vt.KindANSI:
		n := int(c.Index() & 15)
		base := 30
		if n >= 8 {
			base, n = 90, n-8
		}
		if bg {
			base += 10
		}
		return appendInt(b, base+n)
	case vt.Kind256:
		if bg {
			b = append(b, "48;5;"...)
		} else {
			b = append(b, "38;5;"...)
		}
		return appendInt(b, int(c.Index()))
	case vt.KindRGB:
		if bg {
			b = append(b, "48;2;"...)
		} else {
			b = append(b, "38;2;"...)
		}
		cr, cg, cb := c.RGB()
		b = appendInt(b, int(cr))
		b = append(b, ';')
		b = appendInt(b, int(cg))
		b = append(b, ';')
		return appendInt(b, int(cb))
	}
	if bg {
		return append(b, "49"...)
	}
	return append(b, "39"...)
}

// scroll looks for a band of full-width rows that moved up since the last
// frame and, when one is worth it, scrolls it with a scroll region and SU
// so that only the rows it uncovers need drawing. With partial, rows not in
// r.check hold what the terminal holds, and so hash as they did.
func (r *Renderer) scroll(dst []byte, f *Frame, partial bool) []byte {
	w, h := f.W, f.H
	if cap(r.nextHash) < h {
		r.nextHash = make([]uint64, h)
	}
	r.nextHash = r.nextHash[:h]
	if partial && len(r.prevHash) == h {
		// Only rows whose hash changed count towards a scroll's gain, so
		// fewer than two changed rows never scroll.
		changed := 0
		for y := 0; y < h; y++ {
			if r.check[y] {
				r.nextHash[y] = hashRow(f.Cells[y*w : (y+1)*w])
				if r.nextHash[y] != r.prevHash[y] {
					changed++
				}
			} else {
				r.nextHash[y] = r.prevHash[y]
			}
		}
		if changed < 2 {
			r.prevHash, r.nextHash = r.nextHash, r.prevHash
			return dst
		}
	} else {
		for y := 0; y < h; y++ {
			r.nextHash[y] = hashRow(f.Cells[y*w : (y+1)*w])
		}
	}
	if len(r.prevHash) != h {
		// Hashes of what the terminal holds; compute once after a reset.
		if cap(r.prevHash) < h {
			r.prevHash = make([]uint64, h)
		}
		r.prevHash = r.prevHash[:h]
		for y := 0; y < h; y++ {
			r.prevHash[y] = hashRow(r.prev[y*w : (y+1)*w])
		}
	}
	bestGain, bestN, bestA, bestB := 0, 0, 0, 0
	if h <= scrollSearchAll {
		bestGain, bestN, bestA, bestB = findScroll(r.nextHash, r.prevHash)
	} else {
		bestGain, bestN, bestA, bestB = r.finder.find(r.nextHash, r.prevHash)
	}
	// A band is worth scrolling when it saves repainting a few rows; the
	// region setup costs about 20 bytes.
	if bestGain < 2 {
		r.prevHash, r.nextHash = r.nextHash, r.prevHash
		return dst
	}
	n, a, b := bestN, bestA, bestB
	// Verify the hashes with the cells themselves.
	for y := a; y < b; y++ {
		if !rowsEqual(f.Cells[y*w:(y+1)*w], r.prev[(y+n)*w:(y+n+1)*w]) {
			r.prevHash, r.nextHash = r.nextHash, r.prevHash
			return dst
		}
	}
	top, bottom := a, b+n-1 // the region, 0-based inclusive
	dst = r.scrollRegion(dst, top, bottom, n)
	for y := top; y <= bottom; y++ {
		r.check[y] = true // the terminal's rows moved
	}
	r.prevHash, r.nextHash = r.nextHash, r.prevHash
	return dst
}

// scrollMoved follows Compose's move of f's rows scrollTop..scrollBot up
// by scrollN (Frame.scrollN): the terminal's rows move too when that saves
// redrawing a few of them, and then only the rows Compose marked need
// drawing; otherwise every moved row is compared.
func (r *Renderer) scrollMoved(dst []byte, f *Frame) []byte {
	top, bot, n := f.scrollTop, f.scrollBot, f.scrollN
	if r.scrollOff || top < 0 || bot >= r.h || n <= 0 || n > bot+1-top {
		for y := max(top, 0); y <= min(bot, r.h-1); y++ {
			r.check[y] = true
		}
		return dst
	}
	w := r.w
	if len(r.prevHash) != r.h {
		r.prevHash = r.prevHash[:0]
		for y := 0; y < r.h; y++ {
			r.prevHash = append(r.prevHash, hashRow(r.prev[y*w:(y+1)*w]))
		}
	}
	// The gain, as scroll counts it: rows Compose left as they were
	// moved, which the terminal does not show there yet.
	gain := 0
	for y := top; y+n <= bot; y++ {
		if !f.dirty[y] && r.prevHash[y+n] != r.prevHash[y] {
			gain++
		}
	}
	if gain < 2 && !r.scrollKeepsEnds(f, top, bot, n) {
		for y := top; y <= bot; y++ {
			r.check[y] = true
		}
		return dst
	}
	dst = r.scrollRegion(dst, top, bot, n)
	copy(r.prevHash[top:bot+1-n], r.prevHash[top+n:bot+1])
	for y := bot + 1 - n; y <= bot; y++ {
		r.prevHash[y] = hashRow(r.prev[y*w : (y+1)*w])
	}
	return dst
}

// scrollKeepsEnds reports whether moving the terminal's rows top..bot up
// by n, as the pane's lines moved, spares a row the EL inside its old text
// that drawing f's row over it would take. A tmate client's terminal moved
// its lines (LF, or ED into history): tmux, the terminal, counts a line's
// cells as used up to the last one written, and an EL keeps them used,
// where a moved or new line has only its own.
func (r *Renderer) scrollKeepsEnds(f *Frame, top, bot, n int) bool {
	w := r.w
	for y := top; y <= bot; y++ {
		moved := 0 // the edge of the row that moves to y: none for a new one
		if y+n <= bot {
			moved = r.edge[y+n]
		}
		if end := clearedFrom(f.Cells[y*w : (y+1)*w]); r.edge[y] > end && moved <= end {
			return true
		}
	}
	return false
}

// scrollRegion moves rows top..bottom (0-based, inclusive) of the terminal
// up by n, with a scroll region and SU (or LFs), and mirrors that in what
// the terminal holds: the rows it uncovers are blank.
func (r *Renderer) scrollRegion(dst []byte, top, bottom, n int) []byte {
	w, h := r.w, r.h
	dst = r.setPen(dst, &blank)
	whole := top == 0 && bottom == h-1
	switch {
	case whole && r.regionOn:
		dst = append(dst, "\x1b[r"...)
		r.regionOn = false
		r.cx, r.cy = 0, 0 // DECSTBM homes the cursor
	case !whole && (!r.regionOn || r.top != top || r.bot != bottom):
		// The region stays set for later scrolls of the same band, as
		// tmux keeps its client's region.
		dst = append(dst, "\x1b["...)
		dst = appendInt(dst, top+1)
		dst = append(dst, ';')
		dst = appendInt(dst, bottom+1)
		dst = append(dst, 'r')
		r.top, r.bot, r.regionOn = top, bottom, true
		r.cx, r.cy, r.posKnown = 0, 0, true
	}
	if r.posKnown && r.cy == bottom && n <= 3 {
		// At the region's bottom a LF scrolls it by one line.
		for range n {
			dst = append(dst, '\n')
		}
		if r.cx >= w {
			r.cx = w - 1
		}
	} else {
		dst = appendCSI(dst, n, 'S')
	}
	// Mirror the scroll in what the terminal holds.
	copy(r.prev[top*w:(bottom+1-n)*w], r.prev[(top+n)*w:(bottom+1)*w])
	for i := (bottom + 1 - n) * w; i < (bottom+1)*w; i++ {
		r.prev[i] = cleared
	}
	copy(r.edge[top:bottom+1-n], r.edge[top+n:bottom+1])
	clear(r.edge[bottom+1-n : bottom+1])
	return dst
}

// scrollSearchAll is the height up to which scroll tries every shift:
// beyond it, only the shifts that bring some changed row back.
const scrollSearchAll = 64

// findScroll finds the band of rows that moved up the most useful way
// between the terminal's rows (prev, their hashes) and the frame's (next):
// for every shift n and every run a..b-1 of rows with next[y] ==
// prev[y+n], the gain is the number of rows in it that changed (next[y] !=
// prev[y]); the first run with the largest gain wins.
func findScroll(next, prev []uint64) (gain, n, a, b int) {
	h := len(next)
	for s := 1; s < h-1; s++ {
		for x := 0; x+s < h; {
			if next[x] != prev[x+s] {
				x++
				continue
			}
			y, g := x, 0
			for y+s < h && next[y] == prev[y+s] {
				if next[y] != prev[y] {
					g++
				}
				y++
			}
			if g > gain {
				gain, n, a, b = g, s, x, y
			}
			x = y
		}
	}
	return gain, n, a, b
}

// scrollFinder answers what findScroll does, looking only at the runs
// that hold a changed row: a tall guest terminal whose few rows changed
// costs a look at those rows' shifts, not every shift of every row. Its
// memory is reused between frames.
type scrollFinder struct {
	byHash []hashRowAt // prev's rows sorted by hash
	seen   []bool      // by shift
	order  []int       // the shifts to try
}

type hashRowAt struct {
	hash uint64
	row  int
}

func (s *scrollFinder) find(next, prev []uint64) (gain, n, a, b int) {
	h := len(next)
	s.byHash = s.byHash[:0]
	for y, v := range prev {
		s.byHash = append(s.byHash, hashRowAt{v, y})
	}
	slices.SortFunc(s.byHash, func(p, q hashRowAt) int { return cmp.Compare(p.hash, q.hash) })
	if cap(s.seen) < h {
		s.seen = make([]bool, h)
	}
	s.seen = s.seen[:h]
	clear(s.seen)
	s.order = s.order[:0]
	for y := range next {
		if next[y] == prev[y] {
			continue
		}
		i, _ := slices.BinarySearchFunc(s.byHash, next[y], func(p hashRowAt, v uint64) int { return cmp.Compare(p.hash, v) })
		for ; i < len(s.byHash) && s.byHash[i].hash == next[y]; i++ {
			if d := s.byHash[i].row - y; d >= 1 && d < h-1 && !s.seen[d] {
				s.seen[d] = true
				s.order = append(s.order, d)
			}
		}
	}
	slices.Sort(s.order)
	for _, sh := range s.order {
		end := 0 // runs before end are done
		for y := 0; y+sh < h; y++ {
			if y < end || next[y] == prev[y] || next[y] != prev[y+sh] {
				continue
			}
			x := y
			for x > 0 && next[x-1] == prev[x-1+sh] {
				x--
			}
			g, z := 0, x
			for z+sh < h && next[z] == prev[z+sh] {
				if next[z] != prev[z] {
					g++
				}
				z++
			}
			if g > gain {
				gain, n, a, b = g, sh, x, z
			}
			end = z
		}
	}
	return gain, n, a, b
}

func rowsEqual(a, b []vt.Cell) bool {
	for i := range a {
		if !same(&a[i], &b[i]) {
			return false
		}
	}
	return true
}

// hashRow is FNV-1a over the cells that draw something.
func hashRow(row []vt.Cell) uint64 {
	h := uint64(14695981039346656037)
	for i := range row {
		c := &row[i]
		if c.Width == 0 {
			h = (h ^ 0xffff) * 1099511628211
			continue
		}
		h = (h ^ uint64(uint32(max(c.Rune, ' ')))) * 1099511628211 // cleared as a space (same)
		h = (h ^ uint64(c.Fg)) * 1099511628211
		h = (h ^ uint64(c.Bg)<<1) * 1099511628211
		h = (h ^ uint64(c.Attr)<<8 ^ uint64(c.Width)) * 1099511628211
	}
	return h
}

// ttyCell is the cell as a tmate 2.4.0 client draws it on a guest's
// terminal (tty_attributes, tty_check_fg/bg): tmate's default-terminal is
// "screen", so italics are drawn with standout, which terminals with
// 256 colours (xterm, tmux, screen-256color) show as reverse video; and a
// terminal without the Tc flag (none has it by default) gets RGB colours as
// the nearest of the 256-colour palette.
func ttyCell(c *vt.Cell) vt.Cell {
	d := *c
	if d.Attr&vt.AttrItalic != 0 {
		d.Attr = d.Attr&^vt.AttrItalic | vt.AttrReverse
	}
	if d.Fg.Kind() == vt.KindRGB {
		d.Fg = vt.Palette(findRGB(d.Fg.RGB()))
	}
	if d.Bg.Kind() == vt.KindRGB {
		d.Bg = vt.Palette(findRGB(d.Bg.RGB()))
	}
	return d
}

// palette256 holds the RGB values of colours 16-255 of the xterm palette:
// the 6x6x6 cube, then 24 greys.
var palette256 = func() (p [240][3]int) {
	i := 0
	for r := 0; r < 6; r++ {
		for g := 0; g < 6; g++ {
			for b := 0; b < 6; b++ {
				p[i] = [3]int{cubeLevel(r), cubeLevel(g), cubeLevel(b)}
				i++
			}
		}
	}
	for g := 0; g < 24; g++ {
		p[i] = [3]int{8 + g*10, 8 + g*10, 8 + g*10}
		i++
	}
	return p
}()

func cubeLevel(n int) int {
	if n == 0 {
		return 0
	}
	return 55 + n*40
}

// findRGB is tmux 2.4's colour_find_rgb: the first of colours 16-255 at the
// smallest squared distance.
func findRGB(r, g, b uint8) uint8 {
	best, lowest := 16, 1<<30
	for i, p := range palette256 {
		dr, dg, db := p[0]-int(r), p[1]-int(g), p[2]-int(b)
		if d := dr*dr + dg*dg + db*db; d < lowest {
			best, lowest = 16+i, d
		}
	}
	return uint8(best)
}
