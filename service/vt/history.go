package vt

import "encoding/binary"

// History is kept compact: a line that scrolls off the screen is encoded
// into a few bytes a cell instead of 16 (Cell), as tmux keeps about five
// bytes for an ASCII cell. 2000 lines of 100 coloured columns cost ~0.5 MiB
// instead of ~3.3 MiB. Lines are decoded when read (HistoryLine,
// HistoryCell) and when a resize pulls or reflows them.
//
// The encoding of one line's cells:
//
//	uvarint(number of cells)
//	runs until every cell is covered, each:
//	  uvarint(number of cells in the run)
//	  flags byte: 1 fg present, 2 bg present, 4 attr present
//	  uvarint(fg), uvarint(bg), uvarint(attr): those present
//	  the run's cells, each either
//	    one byte 0x20-0x7e: that character, width 1 (the common case), or
//	    a tag byte 0-2 (the width) then uvarint(rune), or
//	    tag 3, a width byte, then uvarint(rune).

// histLine is one line of history in its compact form.
type histLine struct {
	data    []byte
	wrapped bool
}

const (
	runFg   = 1
	runBg   = 2
	runAttr = 4
)

// encodeLine appends the encoding of cells to dst.
func encodeLine(dst []byte, cells []Cell) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(cells)))
	for i := 0; i < len(cells); {
		c := cells[i]
		n := 1
		for i+n < len(cells) && sameStyle(&cells[i+n], &c) {
			n++
		}
		dst = binary.AppendUvarint(dst, uint64(n))
		var flags byte
		if c.Fg != 0 {
			flags |= runFg
		}
		if c.Bg != 0 {
			flags |= runBg
		}
		if c.Attr != 0 {
			flags |= runAttr
		}
		dst = append(dst, flags)
		if c.Fg != 0 {
			dst = binary.AppendUvarint(dst, uint64(c.Fg))
		}
		if c.Bg != 0 {
			dst = binary.AppendUvarint(dst, uint64(c.Bg))
		}
		if c.Attr != 0 {
			dst = binary.AppendUvarint(dst, uint64(c.Attr))
		}
		for _, c := range cells[i : i+n] {
			switch {
			case c.Width == 1 && c.Rune >= 0x20 && c.Rune <= 0x7e:
				dst = append(dst, byte(c.Rune))
			case c.Width <= 2:
				dst = append(dst, c.Width)
				dst = binary.AppendUvarint(dst, uint64(uint32(c.Rune)))
			default:
				dst = append(dst, 3, c.Width)
				dst = binary.AppendUvarint(dst, uint64(uint32(c.Rune)))
			}
		}
		i += n
	}
	return dst
}

func sameStyle(a, b *Cell) bool { return a.Fg == b.Fg && a.Bg == b.Bg && a.Attr == b.Attr }

// lineDecoder walks an encoded line cell by cell.
type lineDecoder struct {
	data  []byte
	left  int // cells left in the current run
	style Cell
}

func uvarint(b []byte) (uint64, []byte) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil // never happens with what encodeLine wrote
	}
	return v, b[n:]
}

// start returns the number of cells of the line data.
func (d *lineDecoder) start(data []byte) int {
	n, rest := uvarint(data)
	d.data, d.left = rest, 0
	return int(n)
}

// next decodes the next cell.
func (d *lineDecoder) next() Cell {
	if d.left == 0 {
		var v uint64
		v, d.data = uvarint(d.data)
		d.left = int(v)
		if len(d.data) == 0 {
			return Cell{}
		}
		flags := d.data[0]
		d.data = d.data[1:]
		d.style = Cell{}
		if flags&runFg != 0 {
			v, d.data = uvarint(d.data)
			d.style.Fg = Color(v)
		}
		if flags&runBg != 0 {
			v, d.data = uvarint(d.data)
			d.style.Bg = Color(v)
		}
		if flags&runAttr != 0 {
			v, d.data = uvarint(d.data)
			d.style.Attr = Attr(v)
		}
	}
	d.left--
	c := d.style
	if len(d.data) == 0 {
		return c
	}
	b := d.data[0]
	d.data = d.data[1:]
	if b >= 0x20 {
		c.Rune, c.Width = rune(b), 1
		return c
	}
	if b == 3 && len(d.data) > 0 {
		b = d.data[0]
		d.data = d.data[1:]
	}
	c.Width = b
	var r uint64
	r, d.data = uvarint(d.data)
	c.Rune = rune(uint32(r))
	return c
}

// decodeLine appends the cells of an encoded line to dst.
func decodeLine(dst []Cell, data []byte) []Cell {
	var d lineDecoder
	n := d.start(data)
	for range n {
		dst = append(dst, d.next())
	}
	return dst
}

// slot returns the ring index of history line i (0 is the oldest).
func (e *Emulator) slot(i int) int { return (e.hstart + i) % len(e.hist) }

// histCells decodes the history line in ring slot j.
func (e *Emulator) histCells(j int) line {
	h := &e.hist[j]
	return line{cells: decodeLine(nil, h.data), wrapped: h.wrapped}
}

// HistorySize returns the number of history lines.
func (e *Emulator) HistorySize() int { return e.hlen }

// HistoryLine returns history line i (0 is the oldest), trimmed after its
// last stored cell. History is stored compactly, so each call decodes the
// line into a new slice, which the caller may keep.
func (e *Emulator) HistoryLine(i int) []Cell {
	if i < 0 || i >= e.hlen {
		return nil
	}
	return e.histCells(e.slot(i)).cells
}

// HistoryWrapped reports whether history line i continues on the next.
func (e *Emulator) HistoryWrapped(i int) bool {
	if i < 0 || i >= e.hlen {
		return false
	}
	return e.hist[e.slot(i)].wrapped
}

// HistoryCell returns cell x of history line i (0 is the oldest).
func (e *Emulator) HistoryCell(x, i int) Cell {
	if i < 0 || i >= e.hlen || x < 0 {
		return Cell{}
	}
	var d lineDecoder
	n := d.start(e.hist[e.slot(i)].data)
	if x >= n {
		return Cell{}
	}
	for range x {
		d.next()
	}
	return d.next()
}

// pushHistory moves l into the history, dropping a tenth of the oldest lines
// when full (grid_collect_history). The line is stored encoded, so it
// returns l's emptied cell slice for the caller to reuse: steady scrolling
// then allocates only the encoded line, and nothing once the ring is full
// (a dropped line's bytes are reused). A line the pool has no room for is
// not kept.
func (e *Emulator) pushHistory(l line) []Cell {
	if e.hlimit == 0 {
		return l.cells[:0]
	}
	if e.hlen >= e.hlimit {
		k := e.hlimit / 10
		if k < 1 {
			k = 1
		}
		for i := 0; i < k; i++ {
			j := e.slot(i)
			// Keep the dropped line's bytes in its slot for reuse.
			e.hist[j] = histLine{data: e.hist[j].data[:0]}
		}
		e.hstart = (e.hstart + k) % len(e.hist)
		e.hlen -= k
	}
	old := cap(e.hbuf)
	e.hbuf = encodeLine(e.hbuf[:0], trim(l.cells))
	if !e.grow(bytesCells(cap(e.hbuf)) - bytesCells(old)) {
		e.hbuf = nil // made before it was counted: let it go
		e.shrink(bytesCells(old))
		return l.cells[:0]
	}
	if e.hlen == len(e.hist) && !e.growRing() {
		return l.cells[:0]
	}
	// Growing may have shed the oldest lines: the slot after the newest
	// is the same, and free.
	j := e.slot(e.hlen)
	n := len(e.hbuf)
	data := e.hist[j].data
	if cap(data) >= n && cap(data) <= 2*n+64 {
		data = data[:n]
	} else {
		if !e.grow(bytesCells(n) - bytesCells(cap(data))) {
			return l.cells[:0]
		}
		data = make([]byte, n) // exact: history is most of a pane's memory
	}
	copy(data, e.hbuf)
	e.hist[j] = histLine{data: data, wrapped: l.wrapped}
	e.hlen++
	return l.cells[:0]
}

// growRing makes room for more history lines in the ring (every slot is
// in use), up to the history limit, and lays the lines out from slot 0.
func (e *Emulator) growRing() bool {
	n := min(e.hlimit, max(16, 2*len(e.hist)))
	if !e.grow(int64(RowCells * (n - len(e.hist)))) {
		return false
	}
	ring := make([]histLine, n)
	for i := range e.hist {
		ring[i] = e.hist[e.slot(i)]
	}
	e.hist, e.hstart = ring, 0
	return true
}

// clearHistory drops the history and gives back its cells.
func (e *Emulator) clearHistory() {
	freed := int64(RowCells * len(e.hist))
	for i := range e.hist {
		freed += bytesCells(cap(e.hist[i].data))
	}
	e.hist = nil
	e.hstart, e.hlen = 0, 0
	e.shrink(freed)
}
