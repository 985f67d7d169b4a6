package vt

// Gen is the emulator's change counter: it differs from a value read
// earlier whenever anything Cell, Line, Wrapped, Cursor, Size or the
// history accessors return may have changed since (every Write and Resize
// bumps it). A renderer keeps what it drew from a pane for as long as Gen
// stays the same, so it must be read under the same lock as the cells.
func (e *Emulator) Gen() uint64 { return e.gen }

// Scrolls counts the times the whole screen moved up by a line (a line
// feed at its bottom with no scroll region, or a line pushed to history
// by a clear): a renderer that drew the screen when it was c can move the
// rows it drew up by Scrolls()-c before comparing them with the screen's,
// instead of finding them all changed. It is a hint: anything else may
// have changed the lines too.
func (e *Emulator) Scrolls() uint64 { return e.scrolls }

// LineVersion stamps visible line y's cells: while it stays the same, so
// does what Line(y) returns, wherever the line has moved on the screen
// (stamps are never given twice; 0 is a blank line). A renderer that drew
// a row from a line with this stamp need not look at it again.
func (e *Emulator) LineVersion(y int) uint64 {
	if y < 0 || y >= e.h {
		return 0
	}
	return e.lines[y].ver
}

// stamp returns a line stamp never given before.
func (e *Emulator) stamp() uint64 {
	e.stamps++
	return e.stamps
}

// restamp gives every visible line a new stamp, after the lines were
// rebuilt wholesale (a resize, the main screen back).
func (e *Emulator) restamp() {
	for i := range e.lines {
		e.lines[i].ver = e.stamp()
	}
}
