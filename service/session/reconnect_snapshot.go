package session

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"tmate-relay/service/internal/faultinject"
	"tmate-relay/service/protocol"
	"tmate-relay/service/vt"
)

// A reconnecting host sends a SNAPSHOT of every pane (its history, at most
// 300 lines, and its screen) after its layout. Each pane's emulator is
// rebuilt from it by replaying the cells as terminal output: what was
// drawn while the host was away, or before the relay restarted, is then
// what guests see.

// tmux's grid cell flags and attributes, and screen modes, as tmate packs
// them (tmux.h).
const (
	gridFlagFG256   = 0x1
	gridFlagBG256   = 0x2
	gridFlagPadding = 0x4

	gridAttrCharset = 0x80

	modeCursor      = 0x1
	modeInsert      = 0x2
	modeKCursor     = 0x4
	modeKKeypad     = 0x8
	modeWrap        = 0x10
	modeMouseStd    = 0x20
	modeMouseButton = 0x40
	modeMouseSGR    = 0x200
	modeBracket     = 0x400
)

// sgrOfAttr maps tmux attribute bits to SGR parameters.
var sgrOfAttr = []struct {
	bit uint32
	sgr string
}{{0x1, "1"}, {0x2, "2"}, {0x4, "4"}, {0x8, "5"}, {0x10, "7"}, {0x20, "8"}, {0x40, "3"}}

// historyOverlap is how many of the last history lines the relay holds
// must reappear, in order, in a snapshot for the snapshot's later lines to
// continue that history.
const historyOverlap = 3

// keepHistory clears a pane's screen without pushing it into history (ED 2
// would) and undoes what would bend the lines written next: the alternate
// screen, a scroll region, origin and insert modes, a graphic charset.
const keepHistory = "\x1b[?1049l\x1b[r\x1b[?6l\x1b[4l\x1b(B\x1b[m\x1b[9999;9999H\x1b[1J\x1b[H"

// applySnapshot rebuilds the emulators of the panes the layout holds from
// m; panes it does not know are skipped. A snapshot holds at most 300
// history lines: when it continues the history the relay already holds
// for a pane (its host came back to a live session), the pane keeps that
// history and takes only the snapshot's later lines. The caller holds
// s.mu.
func (s *Session) applySnapshot(m *protocol.Snapshot) error {
	for i := range m.Panes {
		sp := &m.Panes[i]
		if faultinject.Hook != nil {
			faultinject.Hook(faultinject.Reconnect, sp)
		}
		p := s.panes[sp.ID]
		if p == nil {
			continue
		}
		main := &sp.Grid
		if sp.Saved != nil { // the alternate screen is up: its main screen is saved
			main = sp.Saved
		}
		w, h := p.emu.Size()
		emu, lines := vt.New(w, h, s.cfg.HistoryLines), main.Lines
		if from := continuation(p.emu, main.Lines, h); from > 0 {
			emu, lines = p.emu, main.Lines[from:]
			emu.Write([]byte(keepHistory))
		} else {
			p.emu.Release()
			emu.SetPool(s.cells) // when refused, Short ends the session below
		}
		var b strings.Builder
		writeGrid(&b, main.CX, main.CY, lines)
		if sp.Saved != nil {
			b.WriteString("\x1b[?1049h\x1b[H\x1b[2J")
			writeGrid(&b, sp.Grid.CX, sp.Grid.CY, sp.Grid.Lines)
		}
		writeModes(&b, sp.Mode)
		emu.Write([]byte(b.String()))
		p.emu = emu
		p.copy.mode = nil
		p.dropOutput()
		if err := s.cellsRefusal(emu.Short(), "the snapshot of pane "+strconv.Itoa(sp.ID)); err != nil {
			return err
		}
	}
	return nil
}

// continuation finds where lines (a snapshot's main grid, history first)
// go on from emu's history: the index after the last historyOverlap
// history lines, found in lines early enough that what follows fills a
// screen of h rows. 0: no such place, or history too blank to tell.
func continuation(emu *vt.Emulator, lines []protocol.SnapshotLine, h int) int {
	n := emu.HistorySize()
	m := min(historyOverlap, n)
	tail := make([]string, m)
	blank := true
	for k := range tail {
		tail[k] = emuLineText(emu.HistoryLine(n - m + k))
		blank = blank && tail[k] == ""
	}
	if blank {
		return 0
	}
next:
	for i := len(lines) - h - 1; i >= m-1; i-- {
		for k := range tail {
			if snapshotLineText(lines[i-m+1+k]) != tail[k] {
				continue next
			}
		}
		return i + 1
	}
	return 0
}

func emuLineText(cells []vt.Cell) string {
	var b strings.Builder
	for _, c := range cells {
		switch {
		case c.Width == 0: // the right half of a wide character
		case c.Rune == 0:
			b.WriteByte(' ')
		default:
			b.WriteString(c.String())
		}
	}
	return strings.TrimRight(b.String(), " ")
}

// snapshotLineText is a snapshot line's text as writeLine writes it.
func snapshotLineText(line protocol.SnapshotLine) string {
	var b strings.Builder
	eachCell(line, func(_ uint32, ch string) { b.WriteString(ch) })
	return strings.TrimRight(b.String(), " ")
}

// writeGrid writes a grid's lines, oldest first (the earlier ones scroll
// into history), then puts the cursor at cx, cy.
func writeGrid(b *strings.Builder, cx, cy int, lines []protocol.SnapshotLine) {
	for i, line := range lines {
		if i > 0 {
			b.WriteString("\x1b[m\r\n")
		}
		writeLine(b, line)
	}
	b.WriteString("\x1b[m\x1b[")
	b.WriteString(strconv.Itoa(cy + 1))
	b.WriteByte(';')
	b.WriteString(strconv.Itoa(cx + 1))
	b.WriteByte('H')
}

// writeLine writes one line's cells.
func writeLine(b *strings.Builder, line protocol.SnapshotLine) {
	last := ^uint32(0) // no cell has every bit set: the first cell writes its style
	charset := false
	eachCell(line, func(cell uint32, ch string) {
		if style := cell &^ (gridAttrCharset << 16); style != last {
			writeStyle(b, style)
			last = style
		}
		if cs := cell>>16&gridAttrCharset != 0; cs != charset {
			charset = cs
			if cs {
				b.WriteString("\x1b(0")
			} else {
				b.WriteString("\x1b(B")
			}
		}
		b.WriteString(ch)
	})
	if charset {
		b.WriteString("\x1b(B")
	}
}

// eachCell calls f with each drawn cell of line and its text. Text holds
// each cell's UTF-8 data in turn: a character with its combining marks, or
// one byte (a space) for the padding cell after a wide character, which is
// not drawn.
func eachCell(line protocol.SnapshotLine, f func(cell uint32, ch string)) {
	text := line.Text
	for _, cell := range line.Cells {
		if cell>>24&gridFlagPadding != 0 {
			if text != "" {
				text = text[1:]
			}
			continue
		}
		if text == "" {
			return // the host sent fewer characters than cells
		}
		var ch string
		ch, text = nextCellText(text)
		f(cell, ch)
	}
}

// nextCellText splits one cell's character, with any combining marks, off
// text. Control characters become spaces: a snapshot holds only printed
// text.
func nextCellText(text string) (cell, rest string) {
	r, n := utf8.DecodeRuneInString(text)
	for n < len(text) {
		next, m := utf8.DecodeRuneInString(text[n:])
		if !unicode.In(next, unicode.Mn, unicode.Me) && next != 0x200d && next != 0xfe0f {
			break
		}
		n += m
	}
	if r < 0x20 || r == 0x7f || r == utf8.RuneError && n == 1 {
		return " ", text[n:]
	}
	return text[:n], text[n:]
}

// writeStyle writes the SGR sequence of a packed cell's attributes and
// colours.
func writeStyle(b *strings.Builder, cell uint32) {
	flags, attr, bg, fg := cell>>24, cell>>16&0xff, cell>>8&0xff, cell&0xff
	b.WriteString("\x1b[0")
	for _, a := range sgrOfAttr {
		if attr&a.bit != 0 {
			b.WriteByte(';')
			b.WriteString(a.sgr)
		}
	}
	writeColour(b, fg, flags&gridFlagFG256 != 0, 30)
	writeColour(b, bg, flags&gridFlagBG256 != 0, 40)
	b.WriteByte('m')
}

// writeColour writes one colour: base is 30 for the foreground, 40 for the
// background. tmux stores 0-7, 8 for the default and 90-97 for the bright
// colours (100-107 for backgrounds), or a palette index with the 256 flag.
func writeColour(b *strings.Builder, c uint32, palette bool, base uint32) {
	switch {
	case palette:
		b.WriteString(";" + strconv.Itoa(int(base)+8) + ";5;" + strconv.Itoa(int(c)))
	case c < 8:
		b.WriteString(";" + strconv.Itoa(int(base+c)))
	case c >= base+60 && c <= base+67:
		b.WriteString(";" + strconv.Itoa(int(c)))
	}
}

// writeModes sets the screen modes tmux reports for the pane.
func writeModes(b *strings.Builder, mode uint32) {
	set := func(on bool, private, n string) {
		b.WriteString("\x1b[" + private + n)
		if on {
			b.WriteByte('h')
		} else {
			b.WriteByte('l')
		}
	}
	set(mode&modeCursor != 0, "?", "25")
	set(mode&modeInsert != 0, "", "4")
	set(mode&modeKCursor != 0, "?", "1")
	set(mode&modeWrap != 0, "?", "7")
	set(mode&modeBracket != 0, "?", "2004")
	set(mode&modeMouseStd != 0, "?", "1000")
	set(mode&modeMouseButton != 0, "?", "1002")
	set(mode&modeMouseSGR != 0, "?", "1006")
	if mode&modeKKeypad != 0 {
		b.WriteString("\x1b=")
	} else {
		b.WriteString("\x1b>")
	}
}
