package vt

// Gen is the emulator's change counter: it differs from a value read
// earlier whenever anything Cell, Line, Wrapped, Cursor, Size or the
// history accessors return may have changed since (every Write and Resize
// bumps it). A renderer keeps what it drew from a pane for as long as Gen
// stays the same, so it must be read under the same lock as the cells.
func (e *Emulator) Gen() uint64 { return e.gen }
