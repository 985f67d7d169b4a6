package guest

import (
	"strconv"

	"tmate-relay/service/vt"
)

// Pane numbers (display-panes), drawn by the guest itself as tmux 2.4's
// screen_redraw_draw_number draws them on its client: the pane's index in
// big digits in the pane's centre, in display-panes-colour (the active
// pane in display-panes-active-colour) as background, with the pane's
// size at its top right; a pane too small for big digits gets its index
// as text in the colour.

// clockDigits is tmux's window_clock_table for 0-9: 5x5 cells, set ones
// are drawn.
var clockDigits = [10][5]string{
	{"#####", "#...#", "#...#", "#...#", "#####"},
	{"....#", "....#", "....#", "....#", "....#"},
	{"#####", "....#", "#####", "#....", "#####"},
	{"#####", "....#", "#####", "....#", "#####"},
	{"#...#", "#...#", "#####", "....#", "....#"},
	{"#####", "#....", "#####", "....#", "#####"},
	{"#####", "#....", "#####", "#...#", "#####"},
	{"#####", "....#", "....#", "....#", "....#"},
	{"#####", "#...#", "#####", "#...#", "#####"},
	{"#####", "#...#", "#####", "....#", "#####"},
}

// tmate 2.4's defaults of display-panes-colour and -active-colour.
const (
	panesColourDefault       = "blue"
	panesActiveColourDefault = "red"
)

// drawPaneNumbers draws every visible pane's number over the frame; rows is
// how many rows the window has on the guest's terminal.
func drawPaneNumbers(f *Frame, v *View, rows int) {
	colour := colourOr(v.PanesColour, panesColourDefault)
	active := colourOr(v.PanesActiveColour, panesActiveColourDefault)
	for i := range v.Panes {
		p := &v.Panes[i]
		c := colour
		if p.ID == v.ActivePane {
			c = active
		}
		drawPaneNumber(f, p, c, rows)
	}
}

// colourOr is the colour of a colour option as a cell's foreground.
func colourOr(s, def string) vt.Color {
	if s == "" {
		s = def
	}
	return styleCell("fg="+s, styleCell("fg="+def, blank)).Fg
}

func drawPaneNumber(f *Frame, p *PaneView, colour vt.Color, rows int) {
	num := strconv.Itoa(p.Index)
	n := len(num)
	if p.W < n {
		return
	}
	text := vt.Cell{Rune: ' ', Width: 1, Fg: colour}
	px, py := p.W/2, p.H/2
	if p.W < n*6 || p.H < 5 {
		putText(f, p.X+px-n/2, p.Y+py, num, text, rows)
		return
	}
	px -= n * 3
	py -= 2
	big := vt.Cell{Rune: ' ', Width: 1, Bg: colour}
	for _, d := range num {
		for j, line := range clockDigits[d-'0'] {
			for i := 0; i < 5; i++ {
				if line[i] == '#' {
					putCell(f, p.X+px+i, p.Y+py+j, big, rows)
				}
			}
		}
		px += 6
	}
	size := strconv.Itoa(p.W) + "x" + strconv.Itoa(p.H)
	if p.W < len(size) || p.H < 6 {
		return
	}
	putText(f, p.X+p.W-len(size), p.Y, size, text, rows)
}

// putText writes ASCII text from x, y in gc's colours.
func putText(f *Frame, x, y int, s string, gc vt.Cell, rows int) {
	for i := 0; i < len(s); i++ {
		gc.Rune = rune(s[i])
		putCell(f, x+i, y, gc, rows)
	}
}

// putCell writes a one-column cell at x, y of the window (f.off rows
// down), inside the frame and its first rows rows, and marks the row
// dirty. A wide character it cuts in half leaves a blank in its other
// half, as a terminal does.
func putCell(f *Frame, x, y int, c vt.Cell, rows int) {
	if x < 0 || x >= f.W || y < 0 || y >= rows {
		return
	}
	y += f.off
	if cur := f.At(x, y); cur.Width == 0 && x > 0 {
		*f.At(x-1, y) = blankLike(f.At(x-1, y))
	} else if cur.Width == 2 && x+1 < f.W {
		*f.At(x+1, y) = blankLike(f.At(x+1, y))
	}
	*f.At(x, y) = c
	f.dirty[y] = true
}

// blankLike is a space with c's colours.
func blankLike(c *vt.Cell) vt.Cell {
	return vt.Cell{Rune: ' ', Width: 1, Fg: c.Fg, Bg: c.Bg, Attr: c.Attr}
}
