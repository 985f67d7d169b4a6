package vt

// The emulator follows tmux's input.c / screen-write.c / grid.c semantics.
// The host is tmate 2.4.0, a tmux 2.x fork, and guests must see what its
// clients see: where it differs from tmux 3.3a (the corpus), tmate wins (no
// REP, SU/SD, CHT/HPR/VPR, origin mode, background colour erase, colon SGR,
// SGR 9/21/53; marks after a wide character are lost). testdata/tmate-2.4.0,
// captured from a real tmate, is the primary conformance check. The
// parser is a hand-written state machine: the hot path (runs of printable
// ASCII and short CSI sequences) must not allocate or call through
// interfaces, which a generic callback parser would.

// Modes is the set of terminal modes a renderer or input encoder may need.
type Modes uint32

const (
	ModeCursorVisible  Modes = 1 << iota // DECTCEM (?25)
	ModeInsert                           // IRM (4)
	ModeAppCursor                        // DECCKM (?1)
	ModeAppKeypad                        // DECKPAM (ESC =)
	ModeWrap                             // DECAWM (?7)
	ModeOrigin                           // DECOM (?6); never set: tmate 2.4 has none
	ModeCursorBlink                      // ?12
	ModeMouseStandard                    // ?1000
	ModeMouseButton                      // ?1002
	ModeMouseAny                         // ?1003
	ModeMouseUTF8                        // ?1005
	ModeMouseSGR                         // ?1006
	ModeFocus                            // ?1004
	ModeBracketedPaste                   // ?2004

	allMouse = ModeMouseStandard | ModeMouseButton | ModeMouseAny
)

type line struct {
	cells   []Cell
	wrapped bool
	// ver stamps the line's cells (LineVersion): a new stamp whenever they
	// change, 0 while the line is blank.
	ver uint64
}

// pen is the current drawing state (what DECSC saves).
type pen struct {
	fg, bg Color
	attr   Attr
	g0, g1 bool // true: DEC special graphics
	shift  bool // SO: G1 active
}

const (
	stGround = iota
	stEsc
	stCSI
	stCSIIgnore
	stOSC
	stOSCEsc
	stStr // SOS, PM, a DCS being ignored: until ESC
	stStrEsc
	stAPC
	stAPCEsc
	stRename // screen's ESC k name ESC \ (a window name: the host sends names)
	stRenameEsc
	stDCSEnter // a DCS's parameters and intermediates
	stDCS      // a DCS's data: only ESC \ ends it
	stDCSEsc
)

const maxParams = 24
const maxTitle = 256

// Emulator is one pane's terminal. It is not safe for concurrent use.
type Emulator struct {
	w, h int
	// scrollCommands: SU and SD scroll (EnableScrollCommands).
	scrollCommands bool
	lines          []line // the visible screen, h lines
	saved          []line // the main screen while the alternate one is shown
	alt            bool
	altCX          int // cursor saved by ?1049
	altCY          int
	altPen         pen

	hist    []histLine // ring, see history.go
	hbuf    []byte     // scratch for encoding a history line
	hstart  int
	hlen    int
	hlimit  int
	spare   [][]Cell // cell slices to reuse
	cx, cy  int      // cx == w: pending wrap, as tmux
	top     int
	bot     int
	modes   Modes
	tabs    []bool
	pen     pen
	scPen   pen
	scX     int
	scY     int
	title   string
	cstyle  int
	gen     uint64 // change counter, see Gen
	scrolls uint64 // whole-screen scrolls, see Scrolls
	stamps  uint64 // the last line stamp given, see LineVersion
	bells   uint64 // BEL bytes executed, see Bells

	// memory, see budget.go
	pool  *Pool // nil: cells are counted, not drawn
	held  int64 // cells kept, == footprint()
	short *Pool // the pool that refused cells, nil if none has

	// parser
	state    uint8
	nparam   int
	params   [maxParams]int32
	priv     byte
	inter    byte
	ninter   int
	overflow bool
	u8       [4]byte
	u8n      int
	u8need   int
	sbuf     [maxTitle]byte
	slen     int
	oscNum   int
}

// New returns an emulator for a w x h pane keeping up to historyLimit lines
// of history.
func New(w, h, historyLimit int) *Emulator {
	if w < 1 {
		w = 1
	}
	if h < 1 {
		h = 1
	}
	if historyLimit < 0 {
		historyLimit = 0
	}
	e := &Emulator{w: w, h: h, hlimit: historyLimit}
	e.lines = make([]line, h)
	e.bot = h - 1
	e.modes = ModeCursorVisible | ModeWrap
	e.resetTabs()
	e.held = e.footprint()
	return e
}

func (e *Emulator) resetTabs() {
	if cap(e.tabs) >= e.w {
		e.tabs = e.tabs[:e.w]
	} else {
		e.tabs = make([]bool, e.w)
	}
	for i := range e.tabs {
		e.tabs[i] = i%8 == 0 && i > 0
	}
}

// Size returns the pane size.
func (e *Emulator) Size() (w, h int) { return e.w, e.h }

// Cell returns the visible cell at x, y (zero Cell when never written or
// out of range). A wide character is a Width 2 cell followed by a Width 0
// padding cell.
func (e *Emulator) Cell(x, y int) Cell {
	if y < 0 || y >= e.h || x < 0 || x >= e.w {
		return Cell{}
	}
	c := e.lines[y].cells
	if x >= len(c) {
		return Cell{}
	}
	return c[x]
}

// Line returns the cells of visible line y, trimmed after its last stored
// cell (cells past the end are blank). The slice is only valid until the
// next Write or Resize and must not be modified.
func (e *Emulator) Line(y int) []Cell {
	if y < 0 || y >= e.h {
		return nil
	}
	c := e.lines[y].cells
	if len(c) > e.w {
		c = c[:e.w]
	}
	return c
}

// Wrapped reports whether visible line y continues on the next line.
func (e *Emulator) Wrapped(y int) bool {
	if y < 0 || y >= e.h {
		return false
	}
	return e.lines[y].wrapped
}

// Cursor returns the cursor position (always on screen: a pending wrap
// after the last column shows the cursor on the last column, as tmux's tty
// does) and whether it is visible (DECTCEM).
func (e *Emulator) Cursor() (x, y int, visible bool) {
	x = e.cx
	if x >= e.w {
		x = e.w - 1
	}
	return x, e.cy, e.modes&ModeCursorVisible != 0
}

// PendingWrap reports whether the cursor sits past the last column (tmux's
// cursor_x == pane width): the next printable character wraps.
func (e *Emulator) PendingWrap() bool { return e.cx >= e.w }

// AltScreen reports whether the alternate screen is active.
func (e *Emulator) AltScreen() bool { return e.alt }

// Modes returns the current terminal modes.
func (e *Emulator) Modes() Modes { return e.modes }

// CursorStyle returns the last DECSCUSR parameter (0: default).
func (e *Emulator) CursorStyle() int { return e.cstyle }

// Title returns the title set by OSC 0/2 (or APC, as tmux).
func (e *Emulator) Title() string { return e.title }

// Bells counts the BEL bytes the program rang (executed as a control, as
// tmux does; the BEL that ends an OSC string is not one).
func (e *Emulator) Bells() uint64 { return e.bells }

// ---------------------------------------------------------------- storage

func (e *Emulator) newCells() []Cell {
	if n := len(e.spare); n > 0 {
		c := e.spare[n-1]
		e.spare = e.spare[:n-1]
		return c[:0]
	}
	return nil
}

func (e *Emulator) free(c []Cell) {
	if cap(c) > 0 && len(e.spare) < 64 {
		e.spare = append(e.spare, c[:0])
	} else {
		e.shrink(int64(cap(c)))
	}
}

// trim returns c without trailing never-written cells, so that stored lines
// cost only what was drawn.
func trim(c []Cell) []Cell {
	n := len(c)
	for n > 0 && c[n-1] == (Cell{}) {
		n--
	}
	return c[:n]
}

// extend returns c grown to n cells, and false when the pool refused the
// cells (c is then returned as it was). The new capacity is bounded by the
// width w, so a line costs at most what it can show.
func (e *Emulator) extend(c []Cell, n, w int) ([]Cell, bool) {
	if n <= len(c) {
		return c, true // never shrinks (a line may be longer than a narrowed screen)
	}
	if n <= cap(c) {
		old := len(c)
		c = c[:n]
		clear(c[old:])
		return c, true
	}
	size := max(n, min(w, 2*cap(c)+8))
	if !e.grow(int64(size - cap(c))) {
		return c, false
	}
	nc := make([]Cell, n, size)
	copy(nc, c)
	return nc, true
}

// EnableScrollCommands makes SU and SD (CSI n S, CSI n T) scroll the
// region, as a guest's own terminal (xterm) does: tmate 2.4, the host
// this emulator follows, ignores them. For a model of a guest's terminal,
// such as the load generator's, reading what the relay sends it.
func (e *Emulator) EnableScrollCommands() { e.scrollCommands = true }

// scrollUp scrolls lines top..bot up by one (a linefeed at the bottom
// margin). On the main screen the line leaving the top of the region goes
// to history whatever the region, as tmux's grid_view_scroll_region_up
// (grid_scroll_history_region) does in both 2.4 and 3.3a.
func (e *Emulator) scrollUp(top, bot int, bg Color) {
	if top == 0 && bot == e.h-1 {
		e.scrolls++
	}
	gone := e.lines[top]
	copy(e.lines[top:bot], e.lines[top+1:bot+1])
	if !e.alt {
		c := e.pushHistory(gone)
		if c == nil {
			c = e.newCells()
		}
		gone = line{cells: c}
	} else {
		gone.cells = gone.cells[:0]
	}
	gone.wrapped, gone.ver = false, 0
	e.lines[bot] = gone
	if bg != ColorDefault {
		e.fillBg(bot, 0, e.w, bg)
	}
}

func (e *Emulator) scrollDown(top, bot int, bg Color) {
	gone := e.lines[bot]
	copy(e.lines[top+1:bot+1], e.lines[top:bot])
	gone.cells = gone.cells[:0]
	gone.wrapped, gone.ver = false, 0
	e.lines[top] = gone
	if bg != ColorDefault {
		e.fillBg(top, 0, e.w, bg)
	}
}

// clearCells erases n cells from x on line y with background bg.
func (e *Emulator) clearCells(y, x, n int, bg Color) {
	l := &e.lines[y]
	l.ver = e.stamp()
	if x+n >= e.w && bg == ColorDefault {
		if x < len(l.cells) {
			l.cells = l.cells[:x]
		}
		if x == 0 {
			l.wrapped = false
		}
		return
	}
	if bg == ColorDefault {
		end := min(x+n, len(l.cells))
		if x < end {
			clear(l.cells[x:end])
			if x > 0 && l.cells[x-1].Width == 2 {
				// A cleared right half is a blank of its own, as
				// in tmate's grid, not the wide character's padding.
				l.cells[x] = Cell{Rune: ' ', Width: 1}
			}
		}
		return
	}
	e.fillBg(y, x, n, bg)
}

func (e *Emulator) fillBg(y, x, n int, bg Color) {
	end := min(x+n, e.w)
	if end <= x {
		return
	}
	l := &e.lines[y]
	l.ver = e.stamp()
	if end > len(l.cells) {
		var ok bool
		if l.cells, ok = e.extend(l.cells, end, e.w); !ok {
			return
		}
	}
	for i := x; i < end; i++ {
		l.cells[i] = Cell{Bg: bg, Width: 1}
	}
}

func (e *Emulator) clearLines(y0, y1 int, bg Color) {
	for y := y0; y < y1; y++ {
		e.clearCells(y, 0, e.w, bg)
		e.lines[y].wrapped = false
	}
}

// lineUsed reports whether a line holds written characters (tmux cellused).
func lineUsed(l *line) bool {
	for i := range l.cells {
		if l.cells[i].Rune != 0 {
			return true
		}
	}
	return false
}

// clearScreenToHistory is grid_view_clear_history: push the screen up to its
// last used line into history, then clear.
func (e *Emulator) clearScreenToHistory(bg Color) {
	last := 0
	for y := 0; y < e.h; y++ {
		if lineUsed(&e.lines[y]) {
			last = y + 1
		}
	}
	for i := 0; i < last; i++ {
		e.scrollUp(0, e.h-1, ColorDefault)
	}
	e.clearLines(0, e.h, bg)
}

// -------------------------------------------------------------- printing

func (e *Emulator) penCell(r rune, w int) Cell {
	return Cell{Rune: r, Fg: e.pen.fg, Bg: e.pen.bg, Attr: e.pen.attr, Width: uint8(w)}
}

// put writes one character of width w (1 or 2) at the cursor, as
// screen_write_cell does.
func (e *Emulator) put(r rune, w int) {
	if w == 0 {
		e.combine(r)
		return
	}
	W := e.w
	wrap := e.modes&ModeWrap != 0
	if !wrap && w > 1 && (w > W || (e.cx != W && e.cx > W-w)) {
		return
	}
	if e.modes&ModeInsert != 0 && e.cx <= W-w {
		e.insertCells(e.cx, w, ColorDefault)
	}
	if wrap && e.cx > W-w {
		e.lines[e.cy].wrapped = true
		e.linefeed()
		e.cx = 0
	}
	if e.cx > W-w {
		return
	}
	y := e.cy
	l := &e.lines[y]
	l.ver = e.stamp()
	x := e.cx
	if x+w > len(l.cells) {
		var ok bool
		if l.cells, ok = e.extend(l.cells, x+w, W); !ok {
			return
		}
	}
	c := l.cells
	// Overwriting half of a wide character blanks its other half.
	if c[x].Width == 0 && x > 0 && c[x-1].Width == 2 {
		c[x-1] = Cell{Rune: ' ', Width: 1}
	}
	if c[x+w-1].Width == 2 && x+w < len(c) {
		c[x+w] = Cell{Rune: ' ', Width: 1}
	}
	c[x] = e.penCell(r, w)
	if w == 2 {
		c[x+1] = Cell{Fg: e.pen.fg, Bg: e.pen.bg, Attr: e.pen.attr}
	}
	last := 0
	if !wrap {
		last = 1
	}
	if e.cx <= W-last-w {
		e.cx += w
	} else {
		e.cx = W - last
	}
}

// combine appends a zero-width mark to the character before the cursor, as
// tmate 2.4's screen_write_combine: after a wide character that is its
// invisible padding cell, so the mark is lost (tmux 3.x skips the padding).
func (e *Emulator) combine(r rune) {
	if e.cx == 0 {
		return
	}
	x := e.cx - 1
	c := e.lines[e.cy].cells
	if x < len(c) && c[x].Width == 0 && x > 0 && c[x-1].Width == 2 {
		return
	}
	if x >= len(c) {
		return
	}
	if c[x].Rune == 0 {
		return
	}
	c[x].Rune = appendMark(c[x].Rune, r)
	e.lines[e.cy].ver = e.stamp()
}

// acsTable is what a tmate 2.4 client draws for DEC special graphics on a
// UTF-8 terminal (tty_acs_table): characters it has no entry for (b to e
// among them) stay as they are.
var acsTable = [128]rune{
	'+': '→', ',': '←', '-': '↑', '.': '↓', '0': '▮',
	'`': '◆', 'a': '▒', 'f': '°', 'g': '±', 'h': '▒', 'i': '☃',
	'j': '┘', 'k': '┐', 'l': '┌', 'm': '└', 'n': '┼', 'o': '⎺',
	'p': '⎻', 'q': '─', 'r': '⎼', 's': '⎽', 't': '├', 'u': '┤',
	'v': '┴', 'w': '┬', 'x': '│', 'y': '≤', 'z': '≥', '{': 'π',
	'|': '≠', '}': '£', '~': '·',
}

func (e *Emulator) acs() bool {
	if e.pen.shift {
		return e.pen.g1
	}
	return e.pen.g0
}

// -------------------------------------------------------------- movement

func (e *Emulator) linefeed() {
	if e.cy == e.bot {
		e.scrollUp(e.top, e.bot, ColorDefault)
	} else if e.cy < e.h-1 {
		e.cy++
	}
}

func (e *Emulator) reverseIndex() {
	if e.cy == e.top {
		e.scrollDown(e.top, e.bot, ColorDefault)
	} else if e.cy > 0 {
		e.cy--
	}
}

// moveTo is screen_write_cursormove; origin applies DECOM to y.
func (e *Emulator) moveTo(x, y int, origin bool) {
	if origin && y >= 0 && e.modes&ModeOrigin != 0 {
		if y > e.bot-e.top {
			y = e.bot
		} else {
			y += e.top
		}
	}
	if x >= 0 {
		e.cx = min(x, e.w-1)
	}
	if y >= 0 {
		e.cy = min(y, e.h-1)
	}
}

func (e *Emulator) insertCells(x, n int, bg Color) {
	l := &e.lines[e.cy]
	l.ver = e.stamp()
	if x >= e.w {
		return
	}
	n = min(n, e.w-x)
	if len(l.cells) > e.w {
		l.cells = l.cells[:e.w]
	}
	if x < e.w-1 && len(l.cells) < e.w {
		// tmate's grid_move_cells grows the line to the pane's width
		// with blank cells, which then count as written.
		old := len(l.cells)
		var ok bool
		if l.cells, ok = e.extend(l.cells, e.w, e.w); !ok {
			return
		}
		for i := old; i < e.w; i++ {
			l.cells[i] = Cell{Rune: ' ', Width: 1}
		}
	}
	if x < len(l.cells) {
		newLen := min(len(l.cells)+n, e.w)
		var ok bool
		if l.cells, ok = e.extend(l.cells, newLen, e.w); !ok {
			return
		}
		copy(l.cells[x+n:], l.cells[x:newLen-n])
		clear(l.cells[x : x+n])
	}
	if bg != ColorDefault {
		e.fillBg(e.cy, x, n, bg)
	}
}

func (e *Emulator) deleteCells(x, n int, bg Color) {
	l := &e.lines[e.cy]
	l.ver = e.stamp()
	if x >= e.w {
		return
	}
	n = min(n, e.w-x)
	if x < len(l.cells) {
		if x+n < len(l.cells) {
			copy(l.cells[x:], l.cells[x+n:])
			l.cells = l.cells[:len(l.cells)-n]
		} else {
			l.cells = l.cells[:x]
		}
	}
	if bg != ColorDefault {
		e.fillBg(e.cy, e.w-n, n, bg)
	}
}

func (e *Emulator) insertLines(n int, bg Color) {
	if e.cy < e.top || e.cy > e.bot {
		n = min(n, e.h-e.cy)
		for i := 0; i < n; i++ {
			e.scrollDown(e.cy, e.h-1, bg)
		}
		return
	}
	n = min(n, e.bot+1-e.cy)
	for i := 0; i < n; i++ {
		e.scrollDown(e.cy, e.bot, bg)
	}
}

func (e *Emulator) deleteLines(n int, bg Color) {
	bot := e.bot
	if e.cy < e.top || e.cy > e.bot {
		bot = e.h - 1
	}
	n = min(n, bot+1-e.cy)
	for i := 0; i < n; i++ {
		l := e.lines[e.cy]
		copy(e.lines[e.cy:bot], e.lines[e.cy+1:bot+1])
		l.cells = l.cells[:0]
		l.wrapped, l.ver = false, 0
		e.lines[bot] = l
		if bg != ColorDefault {
			e.fillBg(bot, 0, e.w, bg)
		}
	}
}

func (e *Emulator) altOn(saveCursor bool) {
	if e.alt {
		return
	}
	if saveCursor {
		e.altCX, e.altCY = e.cx, e.cy
	}
	if !e.grow(int64(RowCells * e.h)) {
		return // the session ends: its pool is spent
	}
	e.altPen = e.pen
	e.saved = e.lines
	e.lines = make([]line, e.h)
	e.alt = true
}

func (e *Emulator) altOff(restoreCursor bool) {
	if !e.alt {
		return
	}
	for i := range e.lines {
		e.free(e.lines[i].cells)
	}
	e.lines = e.saved
	e.saved = nil
	e.alt = false
	// The saved screen may have another height after a resize.
	if len(e.lines) != e.h {
		e.fitMain()
	}
	e.restamp()
	if restoreCursor {
		e.cx, e.cy = e.altCX, e.altCY
		e.pen = e.altPen
	}
	e.cx = min(e.cx, e.w-1)
	e.cy = min(e.cy, e.h-1)
	e.settle()
}

// fitMain adjusts a restored main screen to the current height.
func (e *Emulator) fitMain() {
	for len(e.lines) > e.h {
		e.pushHistory(e.lines[0])
		e.lines = e.lines[1:]
	}
	for len(e.lines) < e.h {
		e.lines = append(e.lines, line{})
	}
}

func (e *Emulator) reset() {
	e.pen = pen{}
	e.scPen = pen{}
	e.scX, e.scY = 0, 0
	e.resetTabs()
	e.top, e.bot = 0, e.h-1
	e.modes = ModeCursorVisible | ModeWrap
	if e.alt {
		e.clearLines(0, e.h, ColorDefault)
	} else {
		e.clearScreenToHistory(ColorDefault)
	}
	e.cx, e.cy = 0, 0
}
