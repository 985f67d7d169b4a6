package guest

import (
	"bytes"
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"tmate-relay/service/vt"
)

// cellOnly hides every method of a Screen but Cell and Cursor, so Compose
// takes its slowest, simplest path: no rows, no change counter.
type cellOnly struct{ s Screen }

func (c cellOnly) Cell(x, y int) vt.Cell            { return c.s.Cell(x, y) }
func (c cellOnly) Cursor() (x, y int, visible bool) { return c.s.Cursor() }

// emuTokens are the pieces the incremental test writes to panes: text,
// wide and combining characters, colours, erases, cursor moves, scrolling,
// the alternate screen.
var emuTokens = []string{
	"a", "hello ", "$ ", "x", "0123456789", "\r\n", "\n", "\r", "\b", "\t",
	"日本", "é", "e\u0301", "🙂", "\x1b[31m", "\x1b[1;44m", "\x1b[38;5;208m", "\x1b[38;2;10;200;30m",
	"\x1b[3m", "\x1b[4:3m", "\x1b[7m", "\x1b[m", "\x1b[K", "\x1b[1K", "\x1b[2J", "\x1b[J",
	"\x1b[H", "\x1b[5;10H", "\x1b[20;1H", "\x1b[A", "\x1b[3B", "\x1b[2C", "\x1b[4D", "\x1b[5X",
	"\x1b[2;8r", "\x1b[r", "\x1bM", "\x1b[L", "\x1b[2M", "\x1b[3@", "\x1b[2P", "\x1b[?25l", "\x1b[?25h",
	"\x1b[?1049h", "\x1b[?1049l", "\x1b[?7l", "\x1b[?7h", "\x1b(0lqk\x1b(B",
}

// incLayouts are window layouts (80x23 windows) the test switches
// between, by pane index into the test's screens.
var incLayouts = [][]PaneView{
	{{ID: 0, W: 80, H: 23}},
	{{ID: 0, W: 40, H: 23}, {ID: 1, X: 41, W: 39, H: 23}},
	{{ID: 0, W: 40, H: 23}, {ID: 1, X: 41, W: 39, H: 11}, {ID: 2, X: 41, Y: 12, W: 39, H: 11}},
	{{ID: 0, W: 80, H: 11}, {ID: 1, Y: 12, W: 80, H: 11}},
	{{ID: 0, W: 40, H: 23}, {ID: 1, W: 80, H: 23}},                                    // zoomed
	{{ID: 0, W: 50, H: 23}, {ID: 1, X: 30, W: 50, H: 12}, {ID: 2, Y: 5, W: 80, H: 3}}, // overlapping
}

var incSizes = [][2]int{{80, 24}, {60, 15}, {100, 30}, {80, 1}, {3, 2}}

// incState is a session the test edits: three panes (two emulators and
// one screen without a change counter), a layout, status strings.
type incState struct {
	emus   [3]*vt.Emulator
	fake   *fakeScreen
	layout int
	active int
	w, h   int
	v      View
}

func newIncState() *incState {
	s := &incState{w: 80, h: 24}
	for i := range s.emus {
		s.emus[i] = vt.New(80, 23, 100)
	}
	s.fake = newFake(80, 23).fill("fake ")
	s.v = View{W: 80, H: 23, StatusOn: true, StatusLeft: "[0] ", StatusRight: "\"host\" 12:00",
		Windows: []WindowView{{Index: 0, Name: "bash", Active: true}}}
	s.build()
	return s
}

// build fills s.v.Panes from the layout; pane 2 of a layout shows the
// fake screen when the active pane is odd.
func (s *incState) build() {
	s.v.Panes = s.v.Panes[:0]
	for _, p := range incLayouts[s.layout] {
		p.Screen = s.emus[p.ID]
		if p.ID == 2 && s.active%2 == 1 {
			p.Screen = s.fake
		}
		s.v.Panes = append(s.v.Panes, p)
	}
	s.v.ActivePane = s.active % 3
	s.v.Windows[0].Zoomed = s.layout == 4
}

// step changes the state by one operation chosen by op; arg gives it
// variety. It reports whether the view changed apart from its panes'
// screens' contents (and the size), which ComposeSameView may not be told.
func (s *incState) step(op, arg byte) (viewChanged bool) {
	defer s.build()
	switch op % 16 {
	case 8, 9, 11, 14, 15:
		viewChanged = true
	}
	switch op % 16 {
	case 0, 1, 2, 3, 4, 5, 6, 7:
		s.emus[int(arg)%3].Write([]byte(emuTokens[int(op/16+arg)%len(emuTokens)]))
	case 8:
		s.layout = int(arg) % len(incLayouts)
	case 9:
		s.active = int(arg)
	case 10:
		sz := incSizes[int(arg)%len(incSizes)]
		s.w, s.h = sz[0], sz[1]
	case 11:
		switch arg % 4 {
		case 0:
			s.v.Message = ""
		case 1:
			s.v.Message = fmt.Sprintf("message %d", arg)
		case 2:
			s.v.StatusRight = fmt.Sprintf("\"host\" 12:%02d", arg%60)
		case 3:
			s.v.StatusOn = !s.v.StatusOn
		}
	case 12:
		e := s.emus[int(arg)%3]
		e.Resize(40+int(arg)%50, 10+int(arg)%20)
	case 13:
		s.fake.write(int(arg)%70, int(arg)%23, vt.Cell{Fg: vt.ANSI(arg % 8)}, "changed")
	case 14:
		if arg%2 == 0 {
			s.v.Windows = append(s.v.Windows, WindowView{Index: len(s.v.Windows), Name: "w"})
		} else if len(s.v.Windows) > 1 {
			s.v.Windows = s.v.Windows[:len(s.v.Windows)-1]
		}
	case 15:
		s.v.PaneActiveBorderStyle = []string{"", "fg=red", "bg=blue"}[int(arg)%3]
	}
	return viewChanged
}

// reference composes s from scratch, every screen read cell by cell.
func (s *incState) reference() *Frame {
	v := s.v
	v.Panes = append([]PaneView(nil), s.v.Panes...)
	for i := range v.Panes {
		v.Panes[i].Screen = cellOnly{v.Panes[i].Screen}
	}
	v.Windows = append([]WindowView(nil), s.v.Windows...)
	f := &Frame{}
	Compose(&v, s.w, s.h, f)
	return f
}

// checkIncremental applies ops (pairs of bytes) to a session, composing
// and rendering after every few of them into one reused frame and
// renderer, and checks each frame against a composition from scratch and
// each output against a renderer that compares every row of a fresh frame.
// Frames after changes to the panes' contents only are composed with
// ComposeSameView.
func checkIncremental(t *testing.T, ops []byte) {
	s := newIncState()
	var f Frame
	var inc, ref Renderer
	var got, want []byte
	viewChanged := true
	for i := 0; i+1 < len(ops); i += 2 {
		if s.step(ops[i], ops[i+1]) {
			viewChanged = true
		}
		if ops[i+1]%3 == 0 && i+3 < len(ops) {
			continue // several edits in one frame
		}
		if viewChanged {
			Compose(&s.v, s.w, s.h, &f)
		} else {
			ComposeSameView(&s.v, s.w, s.h, &f)
		}
		viewChanged = false
		full := s.reference()
		if f.W != full.W || f.H != full.H || f.CursorX != full.CursorX || f.CursorY != full.CursorY ||
			f.CursorVisible != full.CursorVisible || !equalCells(f.Cells, full.Cells) {
			for _, p := range s.v.Panes {
				if e, ok := p.Screen.(*vt.Emulator); ok {
					ew, eh := e.Size()
					t.Logf("pane %d %+v emu %dx%d line0 %d cells: %+v", p.ID, [4]int{p.X, p.Y, p.W, p.H}, ew, eh, len(e.Line(0)), e.Line(0)[:min(4, len(e.Line(0)))])
				}
			}
			t.Fatalf("after op %d: incremental frame\n%s\nfrom scratch\n%s%s", i/2, dumpFrame(&f), dumpFrame(full), firstDiff(&f, full))
		}
		got = inc.Render(got[:0], &f)
		want = ref.Render(want[:0], full)
		checkRendered(t, fmt.Sprintf("after op %d", i/2), &inc, &ref, &f, got, want)
	}
}

// checkRendered checks what r rendered of f (got) against what a renderer
// that compared every row of a composition from scratch did (want): the
// same bytes; or, when Compose moved rows as a pane scrolled (Frame.scrollN)
// and r scrolled or redrew by that, which the other finds its own way, that
// r's record of the terminal is f and its row hashes are right; ref then
// takes r's record (scroll region, pen, line ends), so that the next
// frames' bytes are compared from the same terminal.
// TestRenderFollowsScrollingPane checks such output on a real terminal.
func checkRendered(t *testing.T, where string, r, ref *Renderer, f *Frame, got, want []byte) {
	t.Helper()
	if f.scrollN == 0 {
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: incremental render %q, full render %q", where, got, want)
		}
		return
	}
	for i := range f.Cells {
		if !same(&r.prev[i], &f.Cells[i]) {
			t.Fatalf("%s: after scrolling rows %d-%d by %d the renderer's terminal holds %+v at %d,%d, the frame %+v (sent %q)",
				where, f.scrollTop, f.scrollBot, f.scrollN, r.prev[i], i%f.W, i/f.W, f.Cells[i], got)
		}
	}
	if len(r.prevHash) == f.H {
		for y := range f.H {
			if r.prevHash[y] != hashRow(r.prev[y*f.W:(y+1)*f.W]) {
				t.Fatalf("%s: row %d's hash is stale after scrolling rows %d-%d by %d", where, y, f.scrollTop, f.scrollBot, f.scrollN)
			}
		}
	}
	*ref = r.clone()
}

// clone is a copy of r that shares no memory with it.
func (r *Renderer) clone() Renderer {
	c := *r
	c.prev = slices.Clone(r.prev)
	c.edge = slices.Clone(r.edge)
	c.prevHash = slices.Clone(r.prevHash)
	c.nextHash = slices.Clone(r.nextHash)
	c.check = slices.Clone(r.check)
	c.finder = scrollFinder{}
	return c
}

func firstDiff(a, b *Frame) string {
	for i := range min(len(a.Cells), len(b.Cells)) {
		if a.Cells[i] != b.Cells[i] {
			return fmt.Sprintf("first difference at %d,%d: %+v vs %+v (runes %d, %d)", i%a.W, i/a.W, a.Cells[i], b.Cells[i], a.Cells[i].Rune, b.Cells[i].Rune)
		}
	}
	return ""
}

func equalCells(a, b []vt.Cell) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzIncrementalRender checks that composing and rendering only what
// changed gives exactly the frames and bytes of doing everything anew.
func FuzzIncrementalRender(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 1, 0, 8, 2, 0, 1, 16, 2, 9, 1, 32, 0})
	f.Add([]byte{8, 5, 0, 0, 0, 1, 0, 2, 13, 4, 9, 1, 13, 7, 0, 2})
	f.Add([]byte{10, 1, 0, 0, 10, 2, 0, 0, 11, 1, 11, 0, 11, 3, 0, 1})
	f.Add([]byte{0x70, 0, 0x60, 0, 0x50, 1, 12, 3, 0, 0, 14, 0, 15, 1, 8, 4})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 4000 {
			ops = ops[:4000]
		}
		checkIncremental(t, ops)
	})
}

// TestIncrementalRenderRandom runs the fuzz target's check on random
// operation sequences, so every `go test` covers many of them.
func TestIncrementalRenderRandom(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 30
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < n; i++ {
		ops := make([]byte, 2*(1+rng.Intn(150)))
		for j := range ops {
			ops[j] = byte(rng.Intn(256))
		}
		// Mostly writes, as a session is.
		for j := 0; j < len(ops); j += 2 {
			if rng.Intn(4) != 0 {
				ops[j] &^= 8
			}
		}
		checkIncremental(t, ops)
	}
}

// TestComposeSkipsUnchanged checks that the incremental path is taken:
// a view that holds something viewKey cannot hash would silently make
// every Compose a full one.
func TestComposeSkipsUnchanged(t *testing.T) {
	s := newIncState()
	s.layout = 2
	s.v.Message = ""
	s.v.Windows = append(s.v.Windows, WindowView{Index: 1, Name: "vim", Last: true})
	s.build()
	var f Frame
	Compose(&s.v, 80, 24, &f)
	Compose(&s.v, 80, 24, &f)
	for y, d := range f.dirty {
		if d {
			t.Fatalf("row %d dirty after composing an unchanged view", y)
		}
	}
	s.emus[1].Write([]byte("\x1b[3;2Hz"))
	Compose(&s.v, 80, 24, &f)
	for y, d := range f.dirty {
		if d != (y == 2) {
			t.Fatalf("row %d dirty=%v after one cell of row 2 changed", y, d)
		}
	}
	var r Renderer
	r.Render(nil, &f)
	s.emus[0].Write([]byte("\x1b[5;1Hq"))
	Compose(&s.v, 80, 24, &f)
	// One cell, a cursor move or two: a few bytes, never a repaint.
	if got := r.Render(nil, &f); len(got) > 24 || !bytes.Contains(got, []byte("q")) {
		t.Fatalf("render after one cell changed: %q", got)
	}
}
