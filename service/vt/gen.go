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
