package session

import (
	"strconv"

	"tmate-relay/service/protocol"
	"tmate-relay/service/vt"
)

// copyScreen is a pane in copy mode as tmate 2.4's window_copy_write_line
// draws it: the pane's history and screen seen oy lines up, the position
// "[oy/history]" at the right of the top line in mode-style, and the
// copy-mode cursor.
type copyScreen struct {
	emu    *vt.Emulator
	mode   *protocol.CopyMode
	viKeys bool    // mode-keys vi (tmate's default is emacs)
	style  vt.Cell // mode-style of the pane's window
}

// modeStyleDefault is tmate 2.4's default mode-style, "bg=yellow,fg=black".
var modeStyleDefault = vt.Cell{Fg: vt.ANSI(0), Bg: vt.ANSI(3), Width: 1}

func (c *copyScreen) header() string {
	return "[" + strconv.Itoa(c.mode.OY) + "/" + strconv.Itoa(c.emu.HistorySize()) + "]"
}

// Cell is the cell at x, y of the copy-mode view.
func (c *copyScreen) Cell(x, y int) vt.Cell {
	cell := c.raw(x, y)
	if c.selected(x, y) {
		// The selection is drawn in mode-style, characters kept.
		cell.Fg, cell.Bg, cell.Attr = c.style.Fg, c.style.Bg, c.style.Attr
		if cell.Rune == 0 && cell.Width == 0 && (x == 0 || c.raw(x-1, y).Width != 2) {
			cell.Rune, cell.Width = ' ', 1 // a blank, not a wide character's right half
		}
	}
	return cell
}

func (c *copyScreen) raw(x, y int) vt.Cell {
	w, _ := c.emu.Size()
	if y == 0 {
		hdr := c.header()
		if len(hdr) > w {
			hdr = hdr[:w]
		}
		if i := x - (w - len(hdr)); i >= 0 && i < len(hdr) {
			cell := c.style
			cell.Rune = rune(hdr[i])
			return cell
		}
	}
	if in := c.mode.Input; in != nil {
		if _, h := c.emu.Size(); y == h-1 {
			// The prompt covers the start of the last line.
			if r, ok := promptRune(in.Prompt+": "+in.Str, x, w); ok {
				cell := c.style
				cell.Rune = r
				return cell
			}
		}
	}
	hsize := c.emu.HistorySize()
	line := hsize - c.mode.OY + y
	if line < 0 {
		return vt.Cell{}
	}
	if line < hsize {
		return c.emu.HistoryCell(x, line)
	}
	return c.emu.Cell(x, line-hsize)
}

// Cursor is the copy-mode cursor, always shown.
func (c *copyScreen) Cursor() (x, y int, visible bool) {
	return c.mode.CX, c.mode.CY, true
}

// promptRune is the character at column x of a copy-mode prompt line cut
// to the pane width, and whether the prompt covers x.
func promptRune(s string, x, w int) (rune, bool) {
	col := 0
	for _, r := range s {
		if col >= w {
			break
		}
		if col == x {
			return r, true
		}
		col++
	}
	return 0, false
}

// selected is screen_check_selection of tmux 2.4 for the view cell x, y:
// the selection runs from its start (tmate sends its line counted from the
// bottom of history and screen) to the copy-mode cursor; like emacs, a
// stream selection keeps the top-left character and drops the
// bottom-right one.
func (c *copyScreen) selected(x, y int) bool {
	sel := c.mode.Selection
	if sel == nil {
		return false
	}
	w, h := c.emu.Size()
	hsize := c.emu.HistorySize()
	top := hsize - c.mode.OY // first line shown, in history+screen lines
	sx, sy := sel.X, hsize+h-1-sel.Y-top
	if sy < 0 {
		if !sel.Rect {
			sx = 0
		}
		sy = 0
	} else if sy > h-1 {
		if !sel.Rect {
			sx = w - 1
		}
		sy = h - 1
	}
	ex, ey := c.mode.CX, c.mode.CY
	if sel.Rect {
		if y < min(sy, ey) || y > max(sy, ey) {
			return false
		}
		return x >= min(sx, ex) && x <= max(sx, ex)
	}
	// Emacs keys leave the start character out of a selection that runs
	// backwards: xx = sx - 1, in tmux's unsigned arithmetic, so a start in
	// column 0 keeps its whole line.
	xx := sx
	if !c.viKeys {
		xx = sx - 1
		if sx == 0 {
			xx = 1 << 30
		}
	}
	switch {
	case sy < ey: // downward
		if y < sy || y > ey || (y == sy && x < sx) || (y == ey && x > ex) {
			return false
		}
	case sy > ey: // upward
		if y > sy || y < ey || (y == ey && x < ex) || (y == sy && x > xx) {
			return false
		}
	default:
		if y != sy {
			return false
		}
		if ex < sx {
			if x > xx || x < ex {
				return false
			}
		} else if x < sx || x > ex {
			return false
		}
	}
	return true
}

// writeOutput is window_copy_add of tmux 2.x for an output view: each text
// starts on a new line (but the first), is written as plain characters
// that wrap at the pane's width, and earlier lines scroll into history.
func (p *pane) writeOutput(text string, historyLines int, cells *vt.Pool) {
	if p.out == nil {
		w, h := p.emu.Size()
		p.out, p.outWritten = vt.New(w, h, historyLines), false
		if p.out.SetPool(cells) != nil {
			return // Short: the session ends
		}
	}
	b := make([]byte, 0, len(text)+2)
	if p.outWritten {
		b = append(b, '\r', '\n')
	}
	p.outWritten = true
	for i := 0; i < len(text); i++ {
		if c := text[i]; c >= 0x20 && c != 0x7f {
			b = append(b, c)
		}
	}
	hsize := p.out.HistorySize()
	p.out.Write(b)
	// As window_copy_vadd, the view keeps its place as lines scroll into
	// history: oy grows with it, until the host syncs the mode again.
	if m := p.copy.mode; m != nil && !m.Backing && p.out.HistorySize() != hsize {
		moved := *m
		moved.OY += p.out.HistorySize() - hsize
		p.copy.mode = &moved
	}
}

// dropOutput closes the output view and gives back its cells.
func (p *pane) dropOutput() {
	if p.out != nil {
		p.out.Release()
	}
	p.out, p.outWritten = nil, false
}
