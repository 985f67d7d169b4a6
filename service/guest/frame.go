package guest

import (
	"hash/maphash"

	"tmate-relay/service/vt"
)

// Frame is one guest terminal's full contents: W x H cells, row by row, and
// where its cursor is. A wide character occupies its cell (Width 2) and the
// next one (Width 0, drawn by its left neighbour).
//
// Compose reuses a frame: when nothing in the View but the panes' screens
// changed it redraws only the panes whose screens changed, so between
// Composes nothing else may write Cells.
type Frame struct {
	W, H          int
	Cells         []vt.Cell
	CursorX       int
	CursorY       int
	CursorVisible bool
	// BracketedPaste: the active pane's program asked for bracketed paste
	// (mode 2004), so the guest's terminal is asked for it too, as tmux's
	// tty_update_mode does for a client; its markers then reach the pane.
	BracketedPaste bool
	// Rings is the view's bell count (View.Rings).
	Rings uint64
	// CursorStyle is the active pane's DECSCUSR style (0: default).
	CursorStyle int

	// seq counts Composes into this frame; dirty[y] is false only when
	// Compose left row y exactly as the previous Compose did, which lets a
	// Renderer that drew that previous frame skip the row.
	seq   uint64
	dirty []bool
	// Rows scrollTop..scrollBot (full width) moved up by scrollN since the
	// previous Compose, as a pane's screen scrolled (0: none): dirty is
	// then relative to the previous frame so moved, and a Renderer that
	// drew it scrolls its terminal the same way.
	scrollTop, scrollBot, scrollN int

	// off is the first row of the window: 1 with status-position top
	// (the status line takes row 0), else 0.
	off int

	// What the previous Compose drew from: a hash of its view without the
	// panes' contents (see viewKey), the visible panes' screens and their
	// change counters, and whether visible panes overlap (then a change
	// redraws them all).
	composed bool
	key      uint64
	clock    int64 // the StatusClock the status line was drawn with
	seed     maphash.Seed
	keyBuf   []byte
	drawn    []paneDrawn
	overlap  bool

	// scratch memory Compose reuses between calls
	text   []byte
	owner  []int32
	list   []vt.Cell
	line   []vt.Cell
	wtexts []string
	panes  []*PaneView
}

// paneDrawn is what one visible pane's cells were drawn from.
type paneDrawn struct {
	scr        Screen
	gen        uint64
	hasGen     bool
	scrolls    uint64
	hasScrolls bool
	// vers[py] is the LineVersion of the line pane row py was drawn from
	// (nil for a screen without them).
	vers []uint64
}

// lineScreen is a Screen that hands out a whole row at once (vt.Emulator
// does): the cells of row y, trimmed after its last stored cell, only read.
type lineScreen interface {
	Line(y int) []vt.Cell
}

// genScreen is a Screen with a change counter (vt.Emulator's Gen): while
// it stays the same, so do the screen's cells.
type genScreen interface {
	Gen() uint64
}

// versionScreen is a Screen that stamps its lines (vt.Emulator's
// LineVersion): a row drawn from a line whose stamp is the same needs no
// drawing again.
type versionScreen interface {
	LineVersion(y int) uint64
}

// scrollScreen is a Screen that counts how often all its lines moved up
// by one (vt.Emulator's Scrolls).
type scrollScreen interface {
	Scrolls() uint64
}

// At returns the cell at x, y (which must be inside the frame).
func (f *Frame) At(x, y int) *vt.Cell { return &f.Cells[y*f.W+x] }

// blank is a space drawn in the default colours.
var blank = vt.Cell{Rune: ' ', Width: 1}

// cleared is a cell past the end of a pane's line, where nothing was
// written (vt.Cell's Rune 0): it shows as a space, but tmux clears it
// rather than writing one, and so does the renderer.
var cleared = vt.Cell{Width: 1}

// Border cell kinds, as tmux 2.x's screen-redraw.c classifies them.
const (
	cellInside = iota
	cellLeftRight
	cellTopBottom
	cellTopLeft
	cellTopRight
	cellBottomLeft
	cellBottomRight
	cellTopJoin
	cellBottomJoin
	cellLeftJoin
	cellRightJoin
	cellJoin
	cellOutside
)

// borderRunes are the Unicode forms of tmux's ACS border characters
// " xqlkmjwvtun~" (the last, ACS bullet, fills space outside the window).
var borderRunes = [...]rune{' ', '│', '─', '┌', '┐', '└', '┘', '┬', '┴', '├', '┤', '┼', '·'}

// composer holds the per-call state of Compose: the visible panes.
type composer struct {
	v      *View
	panes  []*PaneView // visible panes, in layout order
	active *PaneView
	npanes int // all panes of the window, visible or not (window_count_panes)

	owner  []int32 // see mapBorders
	ow, oh int     // owner's width and height: the window's plus one
}

// Compose fills f with what a tmux 2.x client of w x h attached to the
// host shows for v: the window's panes at their offsets, the borders
// between them, tmux's filler outside a smaller window, and the status line
// (or v.Message) on the bottom row. It reuses f's memory, and when only
// the panes' screens changed since the previous Compose into f (same size,
// same view otherwise: see viewKey) it redraws only the panes whose screens
// changed (always those without a change counter) and marks in f.dirty
// the rows whose cells changed; otherwise it draws everything anew.
func Compose(v *View, w, h int, f *Frame) { compose(v, w, h, f, false) }

// ComposeSameView is Compose for a caller that knows that v holds what it
// held at the previous Compose into f, apart from the panes' screens'
// contents and StatusClock: it does not hash the view (viewKey) to find
// that out. At another size than the previous Compose's it draws
// everything anew, as Compose does.
func ComposeSameView(v *View, w, h int, f *Frame) { compose(v, w, h, f, true) }

func compose(v *View, w, h int, f *Frame, same bool) {
	if w < 0 {
		w = 0
	}
	if h < 0 {
		h = 0
	}
	f.seq++
	f.scrollN = 0
	f.CursorX, f.CursorY, f.CursorVisible = 0, 0, false
	f.BracketedPaste = false
	f.Rings = v.Rings
	f.CursorStyle = 0
	if cap(f.dirty) < h {
		f.dirty = make([]bool, h)
	}
	f.dirty = f.dirty[:h]
	if w == 0 || h == 0 {
		f.W, f.H = w, h
		f.Cells = f.Cells[:0]
		f.composed = false
		return
	}

	var c composer
	c.init(v, f.panes[:0])
	defer func() { f.panes = c.panes[:0] }()

	status := 0
	if v.StatusOn || v.Message != "" || v.Prompt.Text != "" {
		status = 1
	}
	rows := h - status // rows available to the window
	if rows < 0 {
		rows = 0
	}
	statusY := h - 1
	f.off = 0
	if v.StatusTop && status == 1 {
		// status-position top: the status line on the first row, the
		// window below it (tmux's status_at_line 0).
		statusY, f.off = 0, 1
	}

	var key uint64
	if same && f.composed && f.W == w && f.H == h {
		key = f.key
	} else {
		key = f.viewKey(v, w, h)
	}
	if f.composed && key == f.key && f.W == w && f.H == h && len(f.Cells) == w*h &&
		len(f.drawn) == len(c.panes) {
		// Only the panes' screens can have changed.
		clear(f.dirty)
		// An overlay drawn over panes (finishOverlays) would move with
		// their rows and stay behind where no row is drawn again.
		c.redrawPanes(f, rows, v.Local.List == nil && !v.Local.PaneNumbers)
		if v.StatusClock != f.clock && status == 1 && v.Message == "" && v.Prompt.Text == "" {
			drawStatus(f, v, statusY) // the whole row, from its style up
			f.dirty[statusY] = true
		}
		f.clock = v.StatusClock
	} else {
		f.W, f.H = w, h
		if cap(f.Cells) < w*h {
			f.Cells = make([]vt.Cell, w*h)
		}
		f.Cells = f.Cells[:w*h]
		for i := range f.Cells {
			f.Cells[i] = cleared // what no pane, border or status line covers
		}
		for i := range f.dirty {
			f.dirty[i] = true
		}
		c.drawBorders(f, rows, status)
		f.drawn = f.drawn[:0]
		for _, p := range c.panes {
			f.drawn = append(f.drawn, drawPane(f, p, rows, false, nil))
		}
		f.overlap = overlapping(c.panes, w, rows)
		if status == 1 {
			drawStatusLine(f, v, statusY)
		}
		f.composed = true
		f.key, f.clock = key, v.StatusClock
	}

	// The cursor: the active pane's, at its offset (tmux's
	// server_client_reset_state); a column past the right edge is clamped
	// to the last column as tty_cursor does.
	if a := c.active; a != nil && a.Screen != nil {
		if m, ok := a.Screen.(interface{ Modes() vt.Modes }); ok {
			f.BracketedPaste = m.Modes()&vt.ModeBracketedPaste != 0
		}
		if cs, ok := a.Screen.(interface{ CursorStyle() int }); ok {
			f.CursorStyle = cs.CursorStyle()
		}
		cx, cy, vis := a.Screen.Cursor()
		x, y := a.X+cx, a.Y+cy
		if x >= w {
			x = w - 1
		}
		if vis && cy >= 0 && cy < a.H && y < rows && x >= 0 {
			f.CursorX, f.CursorY, f.CursorVisible = x, y+f.off, true
		}
	}
	// The guest's own messages and prompts (overlay.go). Cells it writes
	// must follow from v and the size alone, and a row it changes from
	// what the previous Compose left must be marked in f.dirty: Compose
	// and the Renderer skip rows whose inputs did not change.
	finishOverlays(f, v)
}

// drawStatusLine draws the status row: v.Message when there is one, else
// v.Prompt, else the status line.
func drawStatusLine(f *Frame, v *View, y int) {
	switch {
	case v.Message != "":
		drawMessage(f, v, y)
	case v.Prompt.Text != "":
		drawPrompt(f, v, y)
	default:
		drawStatus(f, v, y)
	}
}

// redrawPanes redraws the visible panes whose screens may have changed
// since the previous Compose (all of them when panes overlap and one did),
// marking the rows that changed. With move, the rows of a pane that
// scrolled are moved first (moveScrolled).
func (c *composer) redrawPanes(f *Frame, rows int, move bool) {
	all := false
	for i, p := range c.panes {
		if !f.drawn[i].same(p.Screen) {
			if f.overlap {
				all = true
				break
			}
			if move {
				moveScrolled(f, &f.drawn[i], p, rows)
			}
			f.drawn[i] = drawPane(f, p, rows, true, &f.drawn[i])
		}
	}
	if all {
		// Overlapping panes: one drawn again covers others' cells, so
		// every row is drawn.
		for i, p := range c.panes {
			f.drawn[i].scr = nil
			f.drawn[i] = drawPane(f, p, rows, true, &f.drawn[i])
		}
	}
}

// moveScrolled moves the frame's rows of pane p up by the lines its screen
// scrolled since d was drawn, filling the rows it uncovers with cleared
// cells (a line scrolled in is one nothing was written to yet), and
// records the move for the Renderer (Frame.scrollN): a line of output at
// the bottom of a pane then changes a row or two of the frame, not all.
// Only a pane as wide as the frame moves (a terminal scrolls whole rows),
// and one per Compose.
func moveScrolled(f *Frame, d *paneDrawn, p *PaneView, rows int) {
	s, ok := p.Screen.(scrollScreen)
	if !ok || !d.hasScrolls || d.scr != p.Screen || f.scrollN != 0 || p.X != 0 || p.W < f.W {
		return
	}
	top, bot := p.Y+f.off, min(p.Y+p.H, rows)-1+f.off // the pane's rows in the frame
	n := s.Scrolls() - d.scrolls
	if bot <= top || n == 0 {
		return
	}
	// Scrolled by its height or more (a clear into history of a full
	// screen), the pane holds only new lines.
	w, k := f.W, int(min(n, uint64(bot+1-top)))
	copy(f.Cells[top*w:(bot+1-k)*w], f.Cells[(top+k)*w:(bot+1)*w])
	gone := f.Cells[(bot+1-k)*w : (bot+1)*w]
	for i := range gone {
		gone[i] = cleared
	}
	if len(d.vers) == bot+1-top {
		// The rows' stamps move with them; cleared rows are stamped 0.
		copy(d.vers, d.vers[k:])
		clear(d.vers[len(d.vers)-k:])
	} else {
		d.vers = d.vers[:0]
	}
	f.scrollTop, f.scrollBot, f.scrollN = top, bot, k
}

// same reports whether scr shows what it showed when d was recorded.
func (d *paneDrawn) same(scr Screen) bool {
	if scr == nil {
		return d.scr == nil
	}
	g, ok := scr.(genScreen)
	return ok && d.hasGen && d.scr == scr && d.gen == g.Gen()
}

// overlapping reports whether any two panes' drawn areas overlap.
func overlapping(panes []*PaneView, w, rows int) bool {
	for i, p := range panes {
		for _, q := range panes[i+1:] {
			x0, x1 := max(p.X, q.X), min(p.X+p.W, q.X+q.W, w)
			y0, y1 := max(p.Y, q.Y), min(p.Y+p.H, q.Y+q.H, rows)
			if x0 < x1 && y0 < y1 {
				return true
			}
		}
	}
	return false
}

func (c *composer) init(v *View, panes []*PaneView) {
	c.v = v
	c.panes = panes
	c.npanes = len(v.Panes)
	zoomed := false
	for i := range v.Windows {
		if v.Windows[i].Active && v.Windows[i].Zoomed {
			zoomed = true
		}
	}
	for i := range v.Panes {
		if v.Panes[i].ID == v.ActivePane {
			c.active = &v.Panes[i]
		}
	}
	// A zoomed window keeps its other panes in the layout message with
	// their old geometry; only the zoomed (active) pane is visible. The
	// active pane covering the whole window next to others means the same.
	if a := c.active; a != nil && len(v.Panes) > 1 && a.X == 0 && a.Y == 0 && a.W >= v.W && a.H >= v.H {
		zoomed = true
	}
	for i := range v.Panes {
		p := &v.Panes[i]
		if zoomed && p != c.active {
			continue
		}
		// window_pane_visible: the pane lies wholly inside the window.
		if p.W <= 0 || p.H <= 0 || p.X < 0 || p.Y < 0 || p.X >= v.W || p.Y >= v.H ||
			p.X+p.W > v.W || p.Y+p.H > v.H {
			continue
		}
		c.panes = append(c.panes, p)
	}
}

// border1 reports whether px, py is inside p (0), on its border (1) or
// neither (-1): screen_redraw_cell_border1.
func border1(p *PaneView, px, py int) int {
	if px >= p.X && px < p.X+p.W && py >= p.Y && py < p.Y+p.H {
		return 0
	}
	if (p.Y == 0 || py >= p.Y-1) && py <= p.Y+p.H {
		if p.X != 0 && px == p.X-1 {
			return 1
		}
		if px == p.X+p.W {
			return 1
		}
	}
	if (p.X == 0 || px >= p.X-1) && px <= p.X+p.W {
		if p.Y != 0 && py == p.Y-1 {
			return 1
		}
		if py == p.Y+p.H {
			return 1
		}
	}
	return -1
}

// mapBorders works out screen_redraw_cell_border once for every cell of
// the window and the column and row past it, into c.owner (reusing
// scratch): the index in c.panes of the first pane whose bordered
// rectangle (the pane and the cells around it) holds the cell, shifted
// left by one, with the low bit set when the cell is on that pane's border
// rather than inside it; -1 when no pane's does. tmux asks every pane for
// every cell, which for 50 panes is most of a full redraw's time; painting
// the rectangles from the last pane to the first gives the same answer.
func (c *composer) mapBorders(scratch []int32) []int32 {
	c.ow, c.oh = c.v.W+2, c.v.H+2
	n := c.ow * c.oh
	if cap(scratch) < n {
		scratch = make([]int32, n)
	}
	c.owner = scratch[:n]
	for i := range c.owner {
		c.owner[i] = -1
	}
	for i := len(c.panes) - 1; i >= 0; i-- {
		p := c.panes[i]
		// border1's rectangle: one cell around the pane, except before
		// a pane at the window's left or top edge
		x0, y0 := max(p.X-1, 0), max(p.Y-1, 0)
		x1, y1 := min(p.X+p.W, c.ow-1), min(p.Y+p.H, c.oh-1)
		for y := y0; y <= y1; y++ {
			row := c.owner[y*c.ow : (y+1)*c.ow]
			inRows := y >= p.Y && y < p.Y+p.H
			for x := x0; x <= x1; x++ {
				if inRows && x >= p.X && x < p.X+p.W {
					row[x] = int32(i) << 1
				} else {
					row[x] = int32(i)<<1 | 1
				}
			}
		}
	}
	return c.owner
}

// isBorder is screen_redraw_cell_border: the first pane that is not
// indifferent to the cell decides.
func (c *composer) isBorder(px, py int) bool {
	if px < 0 || py < 0 || px >= c.ow || py >= c.oh {
		return false
	}
	o := c.owner[py*c.ow+px]
	return o >= 0 && o&1 == 1
}

// cellType is screen_redraw_check_cell: which border piece px, py is, and
// the first pane whose bordered rectangle holds it. (tmux goes on to the
// next such pane when the piece has no name, but that pane sees the same
// borders around the cell, so the answer is outside.)
func (c *composer) cellType(px, py int) (int, *PaneView) {
	v := c.v
	if px > v.W || py > v.H {
		return cellOutside, nil
	}
	o := c.owner[py*c.ow+px]
	if o < 0 {
		return cellOutside, nil
	}
	p := c.panes[o>>1]
	if o&1 == 0 {
		return cellInside, p
	}
	b := 0
	if px == 0 || c.isBorder(px-1, py) {
		b |= 8
	}
	if px <= v.W && c.isBorder(px+1, py) {
		b |= 4
	}
	if py == 0 || c.isBorder(px, py-1) {
		b |= 2
	}
	if py <= v.H && c.isBorder(px, py+1) {
		b |= 1
	}
	switch b {
	case 15:
		return cellJoin, p
	case 14:
		return cellBottomJoin, p
	case 13:
		return cellTopJoin, p
	case 12:
		return cellTopBottom, p
	case 11:
		return cellRightJoin, p
	case 10:
		return cellBottomRight, p
	case 9:
		return cellTopRight, p
	case 7:
		return cellLeftJoin, p
	case 6:
		return cellBottomLeft, p
	case 5:
		return cellTopLeft, p
	case 3:
		return cellLeftRight, p
	}
	return cellOutside, nil
}

// isActive is screen_redraw_check_is for the active pane: with exactly two
// panes tmux colours only the half of the shared border nearer the active
// pane, otherwise the whole border around the active pane.
func (c *composer) isActive(px, py, typ int, wp *PaneView) bool {
	want := c.active
	if want == nil || border1(want, px, py) != 1 {
		return false
	}
	if c.npanes != 2 {
		return true
	}
	if wp == nil || typ == cellOutside || typ == cellInside {
		return true
	}
	v := c.v
	if wp.X == 0 && wp.W == v.W { // full width: top or bottom pane
		if wp.Y == 0 {
			if wp == want {
				return px <= wp.W/2
			}
			return px > wp.W/2
		}
		return false
	}
	if wp.Y == 0 && wp.H == v.H { // full height: left or right pane
		if wp.X == 0 {
			if wp == want {
				return py <= wp.H/2
			}
			return py > wp.H/2
		}
		return false
	}
	return typ != 0
}

var (
	borderStyleDefault       = vt.Cell{Rune: ' ', Width: 1}
	activeBorderStyleDefault = vt.Cell{Rune: ' ', Width: 1, Fg: vt.ANSI(2)}
)

// drawBorders draws every cell of the window rows that no pane covers:
// borders, and when the guest is larger than the window the bullets
// outside it and tmux's "(size WxH from a smaller client)" note.
func (c *composer) drawBorders(f *Frame, rows, status int) {
	v := c.v
	w := f.W
	other := styleCell(v.PaneBorderStyle, borderStyleDefault)
	active := styleCell(v.PaneActiveBorderStyle, activeBorderStyleDefault)
	// screen_redraw_draw_borders keeps only the styles' colours: its
	// border cells carry no attributes (bold, reverse...).
	other.Attr, active.Attr = 0, 0

	// screen_redraw_draw_borders' "small" note.
	small := rows > v.H || w > v.W
	msgx, msgy := 0, 0
	var note [64]byte
	msg := appendSizeNote(note[:0], v.W, v.H)
	if small {
		switch {
		case rows-1 > v.H && w >= len(msg):
			msgx, msgy = w-len(msg), rows-1
		case w-v.W > len(msg):
			msgx, msgy = w-len(msg), rows-1
		default:
			small = false
		}
		if msgy < 0 {
			small = false
		}
	}

	f.owner = c.mapBorders(f.owner)

	// Past the window's last border column and row every cell is filler
	// (cellOutside, too far from any pane to be the active border): drawn
	// without asking cellType, which keeps a terminal far larger than the
	// window cheap.
	fill := other
	fill.Rune = borderRunes[cellOutside]
	// Most cells lie inside a pane: skip them cheaply first.
	for y := 0; y < rows; y++ {
		row := f.Cells[(y+f.off)*w : (y+f.off+1)*w]
		xmax := 0 // cells before xmax may be borders
		if y <= v.H {
			xmax = min(w, v.W+1)
		}
		for x := xmax; x < w; x++ {
			if !(small && x > msgx && y == msgy) {
				row[x] = fill
			}
		}
		for x := 0; x < xmax; x++ {
			if y < v.H && x < v.W {
				if p := c.paneAt(x, y); p != nil {
					x = p.X + p.W - 1 // skip the pane's row
					continue
				}
			}
			typ, wp := c.cellType(x, y)
			if typ == cellInside {
				continue
			}
			if typ == cellOutside && small && x > msgx && y == msgy {
				continue
			}
			cell := other
			if c.isActive(x, y, typ, wp) {
				cell = active
			}
			cell.Rune = borderRunes[typ]
			row[x] = cell
		}
	}
	if small {
		row := f.Cells[(msgy+f.off)*w : (msgy+f.off+1)*w]
		for i := 0; i < len(msg) && msgx+i < w; i++ {
			row[msgx+i] = vt.Cell{Rune: rune(msg[i]), Width: 1}
		}
	}
}

func (c *composer) paneAt(x, y int) *PaneView {
	for _, p := range c.panes {
		if x >= p.X && x < p.X+p.W && y >= p.Y && y < p.Y+p.H {
			return p
		}
	}
	return nil
}

func appendSizeNote(b []byte, w, h int) []byte {
	b = append(b, "(size "...)
	b = appendInt(b, w)
	b = append(b, 'x')
	b = appendInt(b, h)
	return append(b, " from a smaller client)"...)
}

func appendInt(b []byte, n int) []byte {
	if n < 0 {
		b = append(b, '-')
		n = -n
	}
	var d [20]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(b, d[i:]...)
}

// drawPane copies a pane's visible cells to its offset, clipped to the
// window rows and the guest's width. Never-written cells become blanks; a
// wide character cut by the pane's or the guest's right edge, or a
// continuation cell without its left half, becomes a blank. A pane without
// a screen is blank. With mark, it marks the rows whose cells changed. It
// returns what the cells were drawn from. With prev, what the frame's rows
// of p were drawn from (its memory is reused), rows drawn from a line with
// the same stamp are left as they are.
func drawPane(f *Frame, p *PaneView, rows int, mark bool, prev *paneDrawn) paneDrawn {
	d := paneDrawn{scr: p.Screen}
	vs, _ := p.Screen.(versionScreen)
	var old []uint64
	if prev != nil {
		if vs != nil && prev.scr == p.Screen {
			old = prev.vers // read row by row before d.vers overwrites it
		}
		d.vers = prev.vers[:0]
	}
	if g, ok := p.Screen.(genScreen); ok {
		d.gen, d.hasGen = g.Gen(), true
	}
	if s, ok := p.Screen.(scrollScreen); ok {
		d.scrolls, d.hasScrolls = s.Scrolls(), true
	}
	w := f.W
	xend := min(p.X+p.W, w)
	if xend <= p.X {
		return d
	}
	ls, _ := p.Screen.(lineScreen)
	for py := 0; py < p.H; py++ {
		y := p.Y + py
		if y >= rows {
			break
		}
		if vs != nil {
			ver := vs.LineVersion(py)
			skip := py < len(old) && old[py] == ver
			d.vers = append(d.vers, ver)
			if skip {
				continue
			}
		}
		var line []vt.Cell
		switch {
		case p.Screen == nil:
		case ls != nil:
			line = ls.Line(py)
		default:
			line = f.line[:0]
			for x := 0; x < xend-p.X; x++ {
				line = append(line, p.Screen.Cell(x, py))
			}
			f.line = line
		}
		fy := y + f.off
		if drawPaneRow(f.Cells[fy*w+p.X:fy*w+xend], line) && mark {
			f.dirty[fy] = true
		}
	}
	return d
}

// neverWritten reports whether c holds nothing: no character, colour or
// attribute (whatever its width).
func neverWritten(c *vt.Cell) bool {
	return c.Rune == 0 && c.Fg == vt.ColorDefault && c.Bg == vt.ColorDefault && c.Attr == 0
}

// drawPaneRow draws a pane's row of cells src (cells past its end are
// never written) into dst and reports whether dst changed.
func drawPaneRow(dst, src []vt.Cell) bool {
	// Never-written cells that end the visible part of src are past its
	// end (screens without Line, lineScreen, return all of a row's cells).
	src = src[:min(len(src), len(dst))]
	for len(src) > 0 && neverWritten(&src[len(src)-1]) {
		src = src[:len(src)-1]
	}
	changed := false
	n := len(dst)
	prevWide := false
	x := 0
	for ; x < n && x < len(src); x++ {
		if c := &src[x]; c.Width == 1 && c.Rune > 0 && c.Rune < 0x1100 {
			// the common case: a narrow character drawn as it is
			if dst[x] != *c {
				dst[x] = *c
				changed = true
			}
			prevWide = false
			continue
		}
		cell := src[x]
		switch {
		case cell.Width == 0 && prevWide:
			// the right half of the wide character just drawn
			cell.Rune = 0
			prevWide = false
		case cell.Width == 2 && x+1 < n && (x+1 >= len(src) || src[x+1].Width == 0):
			// (past src's end, cells are zero: Width 0)
			prevWide = true
		default:
			// a narrow cell, or a wide one cut by the edge or
			// without its right half: one column
			prevWide = false
			cell.Width = 1
			if cell.Rune == 0 || (cell.Rune >= 0x1100 && runeWidth(cell.Rune) == 2) {
				cell.Rune = ' ' // no rune below U+1100 is wide
			}
		}
		if dst[x] != cell {
			dst[x] = cell
			changed = true
		}
	}
	// Never-written cells: the right half of a wide character that ends
	// src, then blanks.
	if x < n && prevWide {
		if dst[x] != (vt.Cell{}) {
			dst[x] = vt.Cell{}
			changed = true
		}
		x++
	}
	for ; x < n; x++ {
		if dst[x] != cleared {
			dst[x] = cleared
			changed = true
		}
	}
	return changed
}
