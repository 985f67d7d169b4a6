package vt

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestHistoryEncodingRoundTrip checks that any line of cells comes back from
// the compact history form exactly, cell by cell.
func TestHistoryEncodingRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	runes := []rune{0, ' ', 'a', '~', 0x7f, 0x1b, 'é', '中', 0x10ffff, ClusterBase, ClusterBase + 5000, -1}
	colors := []Color{ColorDefault, ANSI(1), ANSI(15), Palette(200), RGB(1, 2, 3), RGB(255, 255, 255)}
	for n := range 2000 {
		cells := make([]Cell, rng.IntN(120))
		same := rng.IntN(4) == 0 // long runs of one style
		for i := range cells {
			c := Cell{Rune: runes[rng.IntN(len(runes))], Width: uint8(rng.IntN(4))}
			if rng.IntN(3) == 0 {
				c = Cell{Rune: rune(0x20 + rng.IntN(0x5f)), Width: 1}
			}
			if !same || i == 0 {
				c.Fg, c.Bg = colors[rng.IntN(len(colors))], colors[rng.IntN(len(colors))]
				c.Attr = Attr(rng.IntN(1 << 13))
			} else {
				c.Fg, c.Bg, c.Attr = cells[0].Fg, cells[0].Bg, cells[0].Attr
			}
			if n%50 == 0 {
				c.Width = 255
			}
			cells[i] = c
		}
		got := decodeLine(nil, encodeLine(nil, cells))
		if !slices.Equal(got, cells) {
			t.Fatalf("line %d: round trip differs\nwant %v\ngot  %v", n, cells, got)
		}
	}
}

// TestHistoryReadsMatchTheScreen scrolls coloured, wide and combined text
// into history and reads it back with every accessor.
func TestHistoryReadsMatchTheScreen(t *testing.T) {
	e := New(20, 3, 100)
	var want [][]Cell
	for i := range 40 {
		e.Write([]byte("\x1b[3" + string(rune('0'+i%8)) + "mab\x1b[1;44mc中e\u0301\x1b[0m  x"))
		if i%3 == 0 {
			e.Write([]byte("\x1b[38;2;1;2;3mlong line that wraps around the edge"))
		}
		e.Write([]byte("\r\n"))
	}
	// The screen's lines as they were drawn: replay into a tall emulator.
	tall := New(20, 200, 0)
	for i := range 40 {
		tall.Write([]byte("\x1b[3" + string(rune('0'+i%8)) + "mab\x1b[1;44mc中e\u0301\x1b[0m  x"))
		if i%3 == 0 {
			tall.Write([]byte("\x1b[38;2;1;2;3mlong line that wraps around the edge"))
		}
		tall.Write([]byte("\r\n"))
	}
	for y := 0; y < 200; y++ {
		want = append(want, slices.Clone(tall.Line(y)))
	}
	n := e.HistorySize()
	if n == 0 {
		t.Fatal("no history")
	}
	for i := range n {
		line := e.HistoryLine(i)
		if !slices.Equal(line, want[i]) {
			t.Fatalf("history line %d:\nwant %v\ngot  %v", i, want[i], line)
		}
		for x := range 22 {
			var wc Cell
			if x < len(line) {
				wc = line[x]
			}
			if c := e.HistoryCell(x, i); c != wc {
				t.Fatalf("history cell %d,%d: want %v, got %v", x, i, wc, c)
			}
		}
	}
	for y := range 3 {
		if got := e.Line(y); !slices.Equal(got, want[n+y]) {
			t.Fatalf("screen line %d differs", y)
		}
	}
}
