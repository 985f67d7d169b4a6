package guest

import (
	"strconv"
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
