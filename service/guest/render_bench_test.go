package guest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"tmate-relay/service/vt"
)

// BenchmarkRenderFull80x24 redraws every cell of an 80x24 guest each time.
func BenchmarkRenderFull80x24(b *testing.B) {
	var frames [2]Frame
	for i := range frames {
		s := newFake(80, 23)
		for y := 0; y < 23; y++ {
			st := vt.Cell{Fg: vt.ANSI(uint8(y+i) % 8), Attr: vt.Attr(i) * vt.AttrBold}
			line := ""
			for len(line) < 80 {
				line += string(rune('a' + (y+i)%26))
			}
			s.write(0, y, st, line)
		}
		v := &View{W: 80, H: 23, StatusOn: true, StatusLeft: "[0] " + strconv.Itoa(i),
			Panes: []PaneView{{ID: 1, W: 80, H: 23, Screen: s}}, ActivePane: 1,
			Windows: []WindowView{{Name: "bench", Active: true}}}
		Compose(v, 80, 24, &frames[i])
	}
	var r Renderer
	buf := r.Render(nil, &frames[1])
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		buf = r.Render(buf[:0], &frames[i&1])
		n += len(buf)
	}
	b.ReportMetric(float64(n)/float64(b.N), "bytes/frame")
}

// BenchmarkRenderScrollOneLine composes and renders a full-width pane
// that scrolled by one line (a new line of `seq` output) each time.
func BenchmarkRenderScrollOneLine(b *testing.B) {
	s := newFake(80, 23)
	for y := 0; y < 22; y++ {
		s.write(0, y, vt.Cell{}, strconv.Itoa(y+1))
	}
	v := &View{W: 80, H: 23, StatusOn: true, StatusLeft: "[0] ", StatusRight: "\"host\" 12:00 01-Jan-26",
		Panes: []PaneView{{ID: 1, W: 80, H: 23, Screen: s}}, ActivePane: 1,
		Windows: []WindowView{{Name: "seq", Active: true}}}
	var f Frame
	var r Renderer
	Compose(v, 80, 24, &f)
	buf := r.Render(nil, &f)
	var num []byte
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		s.scrollUp(1)
		num = strconv.AppendInt(num[:0], int64(i+23), 10)
		for x, c := range num {
			s.cells[21*80+x] = vt.Cell{Rune: rune(c), Width: 1}
		}
		s.cx, s.cy = 0, 22
		Compose(v, 80, 24, &f)
		buf = r.Render(buf[:0], &f)
		n += len(buf)
	}
	b.ReportMetric(float64(n)/float64(b.N), "bytes/frame")
}

// BenchmarkCompose80x24ThreePanes measures composing alone.
func BenchmarkCompose80x24ThreePanes(b *testing.B) {
	v := frameWin(layoutPane(0, 0, 0, 40, 23), layoutPane(1, 41, 0, 39, 11), layoutPane(2, 41, 12, 39, 11))
	var f Frame
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Compose(v, 80, 24, &f)
	}
}

// TestSeqOutputBytes estimates what a guest receives while the host runs
// `seq 1 200000`, against the bytes a tmux client gets (each line and its
// CR LF), for frames coalesced every k lines.
func TestSeqOutputBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("composes thousands of frames")
	}
	const lines = 200000
	tmuxBytes := 0
	for i := 1; i <= lines; i++ {
		tmuxBytes += len(strconv.Itoa(i)) + 2
	}
	for _, k := range []int{1, 8, 64, 2048} {
		s := newFake(80, 23)
		v := &View{W: 80, H: 23, StatusOn: true, StatusLeft: "[0] ",
			Panes: []PaneView{{ID: 1, W: 80, H: 23, Screen: s}}, ActivePane: 1,
			Windows: []WindowView{{Name: "seq", Active: true}}}
		var f Frame
		var r Renderer
		var buf []byte
		total, y := 0, 0
		for i := 1; i <= lines; i++ {
			if y == 22 {
				s.scrollUp(1)
				y = 21
			}
			s.write(0, y, vt.Cell{}, strconv.Itoa(i))
			y++
			s.cx, s.cy = 0, y
			if i%k == 0 || i == lines {
				Compose(v, 80, 24, &f)
				buf = r.Render(buf[:0], &f)
				total += len(buf)
			}
		}
		t.Logf("frame every %4d lines: guest %8d bytes, tmux client %d bytes: %.1f%%", k, total, tmuxBytes, 100*float64(total)/float64(tmuxBytes))
	}
}

// echoView is an 80x24 guest of panes full of coloured text, each a real
// emulator, the active one at a shell prompt.
func echoView(layout []PaneView) (*View, *vt.Emulator) {
	v := &View{W: 80, H: 23, StatusOn: true, StatusLeft: "[0] ", StatusRight: "\"host\" 12:00 01-Jan-26",
		Windows: []WindowView{{Name: "bash", Active: true}}}
	var active *vt.Emulator
	for _, p := range layout {
		e := vt.New(p.W, p.H, 2000)
		for i := 0; i < p.H-1; i++ {
			fmt.Fprintf(e, "\x1b[3%dmline %d %s\x1b[m\r\n", i%8, i, strings.Repeat("x", p.W/2))
		}
		e.Write([]byte("$ "))
		p.Screen = e
		v.Panes = append(v.Panes, p)
		v.ActivePane, active = p.ID, e
	}
	return v, active
}

// benchEcho composes and renders one typed character's echo each time.
func benchEcho(b *testing.B, layout []PaneView) {
	v, e := echoView(layout)
	benchTyping(b, v, e, 80, 24, 40)
}

// benchTyping composes and renders a w x h guest of v while e, one of its
// panes, echoes typed characters, its line killed every line characters.
func benchTyping(b *testing.B, v *View, e *vt.Emulator, w, h, line int) {
	var f Frame
	var r Renderer
	Compose(v, w, h, &f)
	buf := r.Render(nil, &f)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		if i%line == line-1 {
			e.Write([]byte("\r\x1b[K$ "))
		} else {
			e.Write([]byte{byte('a' + i%26)})
		}
		Compose(v, w, h, &f)
		buf = r.Render(buf[:0], &f)
		n += len(buf)
	}
	b.ReportMetric(float64(n)/float64(b.N), "bytes/frame")
}

// BenchmarkEchoOnePane is a keystroke's echo in a full-window pane: one
// cell changes.
func BenchmarkEchoOnePane(b *testing.B) {
	benchEcho(b, []PaneView{{ID: 1, W: 80, H: 23}})
}

// BenchmarkEchoThreePanes is a keystroke's echo in one of three panes.
func BenchmarkEchoThreePanes(b *testing.B) {
	benchEcho(b, []PaneView{{ID: 0, W: 40, H: 23}, {ID: 1, X: 41, W: 39, H: 11}, {ID: 2, X: 41, Y: 12, W: 39, H: 11}})
}

// fiftyThreePanes is the 53-pane tiled layout of a 200x60 guest, each pane
// a real emulator full of coloured text.
func fiftyThreePanes(b *testing.B) (*View, []*vt.Emulator) {
	var lc layoutCase
	for _, c := range layoutCases {
		if c.name == "tiled-53" {
			lc = c
		}
	}
	v := layoutView(b, lc)
	var emus []*vt.Emulator
	for i := range v.Panes {
		p := &v.Panes[i]
		e := vt.New(p.W, p.H, 2000)
		for y := 0; y < p.H-1; y++ {
			fmt.Fprintf(e, "\x1b[3%dm%d:%d %s\x1b[m\r\n", y%8, i, y, strings.Repeat("x", p.W/2))
		}
		e.Write([]byte("$ "))
		p.Screen = e
		emus = append(emus, e)
	}
	return v, emus
}

// BenchmarkComposeRenderFiftyThreePanes composes and renders a 200x60
// guest of 53 panes: "echo" is one typed character in the active pane
// (the panes' screens alone change), "select-pane" moves the active pane
// each time (the borders change: everything is composed again).
func BenchmarkComposeRenderFiftyThreePanes(b *testing.B) {
	b.Run("echo", func(b *testing.B) {
		v, emus := fiftyThreePanes(b)
		benchTyping(b, v, emus[23], 200, 60, 20)
	})
	b.Run("select-pane", func(b *testing.B) {
		v, _ := fiftyThreePanes(b)
		var f Frame
		var r Renderer
		Compose(v, 200, 60, &f)
		buf := r.Render(nil, &f)
		b.ReportAllocs()
		b.ResetTimer()
		n := 0
		for i := 0; i < b.N; i++ {
			v.ActivePane = v.Panes[i%len(v.Panes)].ID
			Compose(v, 200, 60, &f)
			buf = r.Render(buf[:0], &f)
			n += len(buf)
		}
		b.ReportMetric(float64(n)/float64(b.N), "bytes/frame")
	})
}

// BenchmarkRenderScrollTallGuest composes and renders a 1000x1000 guest
// of an 80x24 window whose one pane scrolled by a line: the terminal is
// far taller than what changed.
func BenchmarkRenderScrollTallGuest(b *testing.B) {
	e := vt.New(80, 23, 100)
	v := &View{W: 80, H: 23, StatusOn: true, StatusLeft: "[0] ", Windows: []WindowView{{Name: "seq", Active: true}},
		Panes: []PaneView{{ID: 0, W: 80, H: 23, Screen: e}}}
	var f Frame
	var r Renderer
	var buf, line []byte
	frame := func(i int) int {
		line = append(strconv.AppendInt(line[:0], int64(i), 10), '\r', '\n')
		e.Write(line)
		Compose(v, 1000, 1000, &f)
		buf = r.Render(buf[:0], &f)
		return len(buf)
	}
	for i := range 30 {
		frame(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		n += frame(30 + i)
	}
	b.ReportMetric(float64(n)/float64(b.N), "bytes/frame")
}
