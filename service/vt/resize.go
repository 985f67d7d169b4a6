package vt

// Resize changes the pane size as tmate 2.4's window_pane_resize does
// (screen_resize with reflow unless the alternate screen is on):
//   - width: the cursor is clamped, tab stops are reset;
//   - height shrinking: blank lines below the cursor are deleted first, then
//     lines leave the top into history (on the alternate screen they are
//     dropped); growing pulls lines back from history, then adds blanks;
//   - the scroll region is reset;
//   - on the main screen every line (history included) is then reflowed to
//     the new width: wrapped lines are joined, long lines split. The cursor
//     only moves up when the reflowed content is shorter than the screen.
//
// The main screen saved under the alternate one is left alone and fitted to
// the current size when the alternate screen is left.
func (e *Emulator) Resize(w, h int) {
	e.gen++
	w, h = max(w, 1), max(h, 1)
	if w == e.w && h == e.h {
		return
	}
	reflow := !e.alt
	if w != e.w {
		if e.cx >= w {
			e.cx = w - 1
		}
		e.w = w
		e.resetTabs()
	}
	if h != e.h {
		e.resizeY(h)
	}
	e.top, e.bot = 0, e.h-1
	if reflow {
		e.reflow()
	}
	if e.cx > e.w {
		e.cx = e.w
	}
	e.cy = min(e.cy, e.h-1)
	e.restamp()
	e.settle()
}

func (e *Emulator) resizeY(h int) {
	old := e.h
	if h < old {
		needed := old - h
		avail := min(old-1-e.cy, needed)
		if avail > 0 {
			for _, l := range e.lines[old-avail:] {
				e.free(l.cells)
			}
			e.lines = e.lines[:old-avail]
		}
		needed -= avail
		if needed > 0 {
			if !e.alt {
				for _, l := range e.lines[:needed] {
					e.pushHistory(l)
				}
			} else {
				for _, l := range e.lines[:needed] {
					e.free(l.cells)
				}
			}
			e.lines = append(e.lines[:0:0], e.lines[needed:]...)
			e.cy = max(e.cy-needed, 0)
		}
	} else {
		needed := h - old
		var pulled []line
		if !e.alt {
			for needed > 0 && e.hlen > 0 {
				j := e.slot(e.hlen - 1)
				pulled = append(pulled, e.histCells(j))
				e.hist[j] = histLine{}
				e.hlen--
				needed--
			}
			if e.hlen == 0 {
				e.hist, e.hstart = nil, 0
			}
		}
		nl := make([]line, 0, h)
		for i := len(pulled) - 1; i >= 0; i-- {
			nl = append(nl, pulled[i])
		}
		nl = append(nl, e.lines...)
		for len(nl) < h {
			nl = append(nl, line{})
		}
		e.cy += len(pulled)
		e.lines = nl
	}
	e.h = h
}

// reflow is tmate 2.4's grid_reflow over history and screen.
func (e *Emulator) reflow() {
	nw := e.w
	all := make([]line, 0, e.hlen+e.h)
	for i := 0; i < e.hlen; i++ {
		all = append(all, e.histCells(e.slot(i)))
	}
	all = append(all, e.lines...)
	out := make([]line, 0, len(all))
	split := func(src []Cell) {
		for len(src) > 0 {
			n := min(nw, len(src))
			c := make([]Cell, n)
			copy(c, src[:n])
			out = append(out, line{cells: c, wrapped: true})
			src = src[n:]
		}
		out[len(out)-1].wrapped = false
	}
	prev := false
	for _, l := range all {
		src := l.cells
		switch {
		case !prev && len(src) <= nw:
			out = append(out, line{cells: src})
		case !prev:
			split(src)
		default:
			d := &out[len(out)-1]
			n := min(len(src), max(nw-len(d.cells), 0))
			c := make([]Cell, len(d.cells)+n)
			copy(c, d.cells)
			copy(c[len(d.cells):], src[:n])
			d.cells = c
			if len(src) > n {
				d.wrapped = true
				split(src[n:])
			}
		}
		prev = l.wrapped
	}
	e.clearHistory() // its lines are in out, decoded
	change := 0
	if len(out) < e.h {
		change = e.h - len(out)
	}
	nh := max(len(out)-e.h, 0)
	for _, l := range out[:nh] {
		e.pushHistory(l)
	}
	e.lines = make([]line, e.h)
	copy(e.lines, out[nh:])
	if change < e.cy {
		e.cy -= change
	} else {
		e.cy = 0
	}
}
