package session

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

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

// applySnapshot rebuilds the emulators of the panes the layout holds from
// m; panes it does not know are skipped. The caller holds s.mu.
func (s *Session) applySnapshot(m *protocol.Snapshot) {
	for i := range m.Panes {
		sp := &m.Panes[i]
		p := s.panes[sp.ID]
		if p == nil {
			continue
		}
		w, h := p.emu.Size()
		emu := vt.New(w, h, s.cfg.HistoryLines)
		var b strings.Builder
		if sp.Saved != nil { // the alternate screen is up: its main screen is saved
			writeGrid(&b, sp.Saved)
			b.WriteString("\x1b[?1049h\x1b[H\x1b[2J")
		}
		writeGrid(&b, &sp.Grid)
		writeModes(&b, sp.Mode)
		emu.Write([]byte(b.String()))
		p.emu = emu
		p.copy.mode, p.out, p.outWritten = nil, nil, false
	}
}

// writeGrid writes g's lines, oldest first (the earlier ones scroll into
// history), then puts the cursor where g has it.
func writeGrid(b *strings.Builder, g *protocol.SnapshotGrid) {
	for i, line := range g.Lines {
		if i > 0 {
			b.WriteString("\x1b[m\r\n")
		}
		writeLine(b, line)
	}
	b.WriteString("\x1b[m\x1b[")
	b.WriteString(strconv.Itoa(g.CY + 1))
	b.WriteByte(';')
	b.WriteString(strconv.Itoa(g.CX + 1))
	b.WriteByte('H')
}

// writeLine writes one line's cells. Text holds each cell's UTF-8 data in
// turn: a character with its combining marks, or one byte (a space) for
// the padding cell after a wide character.
func writeLine(b *strings.Builder, line protocol.SnapshotLine) {
	text := line.Text
	last := ^uint32(0) // no cell has every bit set: the first cell writes its style
	charset := false
	for _, cell := range line.Cells {
		flags := cell >> 24
		if flags&gridFlagPadding != 0 {
			if text != "" {
				text = text[1:]
			}
			continue
		}
		if text == "" {
			break // the host sent fewer characters than cells
		}
		var ch string
		ch, text = nextCellText(text)
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
	}
	if charset {
		b.WriteString("\x1b(B")
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
