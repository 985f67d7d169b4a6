package guest

import (
	"fmt"
	"strings"

	"tmate-relay/service/vt"
)

// fakeScreen is a pane's grid for tests until vt.Emulator exists.
type fakeScreen struct {
	w, h    int
	cells   []vt.Cell
	cx, cy  int
	visible bool
}

func newFake(w, h int) *fakeScreen {
	return &fakeScreen{w: w, h: h, cells: make([]vt.Cell, w*h), visible: true}
}

func (s *fakeScreen) Cell(x, y int) vt.Cell {
	if x < 0 || y < 0 || x >= s.w || y >= s.h {
		return vt.Cell{}
	}
	return s.cells[y*s.w+x]
}

func (s *fakeScreen) Cursor() (int, int, bool) { return s.cx, s.cy, s.visible }

// write puts text at x, y in style st (Rune and Width ignored), wide
// characters taking two cells; it leaves the cursor after the text.
func (s *fakeScreen) write(x, y int, st vt.Cell, text string) *fakeScreen {
	for _, r := range text {
		wd := runeWidth(r)
		if wd <= 0 || x+wd > s.w {
			continue
		}
		c := st
		c.Rune, c.Width = r, uint8(wd)
		s.cells[y*s.w+x] = c
		if wd == 2 {
			c.Rune, c.Width = 0, 0
			s.cells[y*s.w+x+1] = c
		}
		x += wd
	}
	s.cx, s.cy = x, y
	return s
}

// scrollUp moves every line up by n, blanking the bottom ones.
func (s *fakeScreen) scrollUp(n int) {
	copy(s.cells, s.cells[n*s.w:])
	for i := (s.h - n) * s.w; i < len(s.cells); i++ {
		s.cells[i] = vt.Cell{}
	}
}

// fill writes a numbered line of text on every row.
func (s *fakeScreen) fill(prefix string) *fakeScreen {
	for y := 0; y < s.h; y++ {
		s.write(0, y, vt.Cell{}, fmt.Sprintf("%s%d", prefix, y))
	}
	return s
}

// dumpFrame shows a frame as text: its characters, then the styled runs.
func dumpFrame(f *Frame) string {
	var b strings.Builder
	fmt.Fprintf(&b, "size %dx%d cursor %d,%d visible=%v\n", f.W, f.H, f.CursorX, f.CursorY, f.CursorVisible)
	for y := 0; y < f.H; y++ {
		b.WriteByte('|')
		for x := 0; x < f.W; x++ {
			c := f.At(x, y)
			if c.Width == 0 {
				continue
			}
			b.WriteRune(max(c.Rune, ' ')) // a cleared cell shows as a space
		}
		b.WriteString("|\n")
	}
	b.WriteString("styles:\n")
	for y := 0; y < f.H; y++ {
		for x := 0; x < f.W; {
			c := *f.At(x, y)
			e := x + 1
			for e < f.W && sameStyle(f.At(e, y), &c) {
				e++
			}
			if c.Fg != 0 || c.Bg != 0 || c.Attr != 0 {
				fmt.Fprintf(&b, "%d: %d-%d %s\n", y, x, e-1, styleString(&c))
			}
			x = e
		}
	}
	return b.String()
}

func sameStyle(a, b *vt.Cell) bool { return a.Fg == b.Fg && a.Bg == b.Bg && a.Attr == b.Attr }

func styleString(c *vt.Cell) string {
	var p []string
	col := func(k string, v vt.Color) {
		switch v.Kind() {
		case vt.KindANSI:
			p = append(p, fmt.Sprintf("%s=%d", k, v.Index()))
		case vt.Kind256:
			p = append(p, fmt.Sprintf("%s=colour%d", k, v.Index()))
		case vt.KindRGB:
			r, g, bl := v.RGB()
			p = append(p, fmt.Sprintf("%s=#%02x%02x%02x", k, r, g, bl))
		}
	}
	col("fg", c.Fg)
	col("bg", c.Bg)
	if c.Attr != 0 {
		p = append(p, fmt.Sprintf("attr=%#x", c.Attr))
	}
	return strings.Join(p, ",")
}
