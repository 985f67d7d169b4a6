package guest

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"tmate-relay/service/vt"
)

// TestComposeMovesScrolledPane checks that a line of output at the bottom
// of a full-width pane changes a row or two of the frame, not every row:
// Compose moves the rows as the pane's screen scrolled.
func TestComposeMovesScrolledPane(t *testing.T) {
	e := vt.New(80, 23, 100)
	for i := range 30 {
		fmt.Fprintf(e, "line %d\r\n", i)
	}
	v := &View{W: 80, H: 23, StatusOn: true, Panes: []PaneView{{ID: 1, W: 80, H: 23, Screen: e}}, ActivePane: 1,
		Windows: []WindowView{{Name: "seq", Active: true}}}
	var f Frame
	Compose(v, 80, 24, &f)
	e.Write([]byte("line 30\r\n"))
	Compose(v, 80, 24, &f)
	var dirty []int
	for y, d := range f.dirty {
		if d {
			dirty = append(dirty, y)
		}
	}
	if f.scrollN != 1 || f.scrollTop != 0 || f.scrollBot != 22 || len(dirty) > 2 {
		t.Errorf("after one line: rows %d-%d moved by %d, dirty rows %v; want rows 0-22 moved by 1, at most 2 dirty",
			f.scrollTop, f.scrollBot, f.scrollN, dirty)
	}
}

// TestRenderFollowsScrollingPane feeds the renderer's output for frames
// composed into one reused Frame, while panes scroll, into a real tmux pane
// and checks after each frame that it holds exactly that frame.
func TestRenderFollowsScrollingPane(t *testing.T) {
	if testing.Short() {
		t.Skip("runs tmux")
	}
	term := newTmux(t)
	for _, tc := range []struct {
		name   string
		panes  []PaneView
		top    bool // status-position top
		w, h   int
		writes []string // to the first pane, or "2:..." to the second
	}{
		{name: "one pane", panes: []PaneView{{ID: 0, W: 80, H: 23}}, w: 80, h: 24,
			writes: []string{"one\r\n", "two\r\nthree\r\nfour\r\n", "\x1b[31mred\x1b[m and plain\r\n$ ",
				"ls\r\n" + strings.Repeat("file\r\n", 40) + "$ ", "\x1b[H\x1b[Ktop changed\x1b[23;1Hbottom\r\n",
				"\x1b[44m    blue    \x1b[m.\r\n\r\n\r\n", "日本語\r\n", "x\r\ny\r\n$ "}},
		{name: "status on top", panes: []PaneView{{ID: 0, W: 80, H: 23}}, top: true, w: 80, h: 24,
			writes: []string{"a\r\nb\r\n", "c\r\n", strings.Repeat("d\r\n", 5), "e\r\n"}},
		{name: "stacked panes", panes: []PaneView{{ID: 0, W: 80, H: 11}, {ID: 1, Y: 12, W: 80, H: 11}}, w: 80, h: 24,
			writes: []string{"a\r\nb\r\nc\r\n", "2:x\r\ny\r\nz\r\n", "2:more\r\n", "top\r\n", "2:" + strings.Repeat("w\r\n", 8)}},
		{name: "guest shorter than the window", panes: []PaneView{{ID: 0, W: 80, H: 23}}, w: 80, h: 12,
			writes: []string{"1\r\n2\r\n", "3\r\n", strings.Repeat("4\r\n", 6)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := &View{W: 80, H: 23, StatusOn: true, StatusTop: tc.top, StatusLeft: "[0] ",
				Windows: []WindowView{{Name: "sh", Active: true}}}
			var emus []*vt.Emulator
			for _, p := range tc.panes {
				e := vt.New(p.W, p.H, 100)
				for i := range p.H + 3 {
					fmt.Fprintf(e, "\x1b[3%dmfilled %d %s\x1b[m\r\n", i%8, i, strings.Repeat("=", i))
				}
				p.Screen = e
				v.Panes = append(v.Panes, p)
				emus = append(emus, e)
			}
			v.ActivePane = tc.panes[0].ID
			var f Frame
			var r Renderer
			var out []byte
			moved := 0
			for i := -1; i < len(tc.writes); i++ {
				if i >= 0 {
					e, s := emus[0], tc.writes[i]
					if rest, ok := strings.CutPrefix(s, "2:"); ok {
						e, s = emus[1], rest
					}
					e.Write([]byte(s))
				}
				Compose(v, tc.w, tc.h, &f)
				if f.scrollN > 0 {
					moved++
				}
				out = r.Render(out, &f)
				got, cur := term.terminal(f.W, f.H, out)
				want, _ := term.terminal(f.W, f.H, refRender(&f))
				sameScreens(t, fmt.Sprintf("after write %d", i), got, want, f.W, f.H)
				if gotCursor(cur) != wantCursor(&f) {
					t.Errorf("after write %d: cursor %s, want %s", i, gotCursor(cur), wantCursor(&f))
				}
			}
			if moved == 0 {
				t.Error("Compose never moved the scrolled pane's rows")
			}
		})
	}
}

// TestScrollFinderFindsWhatTheFullSearchDoes checks the search for tall
// terminals against the one that tries every shift, on random rows drawn
// from a few contents (so that many rows match), some of them scrolled.
func TestScrollFinderFindsWhatTheFullSearchDoes(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var sf scrollFinder
	for i := range 20000 {
		h := 2 + rng.Intn(150)
		kinds := uint64(1 + rng.Intn(6))
		prev := make([]uint64, h)
		for y := range prev {
			prev[y] = rng.Uint64() % kinds
		}
		next := make([]uint64, h)
		shift := rng.Intn(h)
		for y := range next {
			switch {
			case rng.Intn(10) == 0:
				next[y] = rng.Uint64() % (kinds + 2)
			case y+shift < h:
				next[y] = prev[y+shift]
			default:
				next[y] = prev[y]
			}
		}
		g, n, a, b := findScroll(next, prev)
		fg, fn, fa, fb := sf.find(next, prev)
		if g != fg || (g > 0 && (n != fn || a != fa || b != fb)) {
			t.Fatalf("case %d (h %d): full search gain %d shift %d rows %d-%d, finder gain %d shift %d rows %d-%d\nprev %v\nnext %v",
				i, h, g, n, a, b, fg, fn, fa, fb, prev, next)
		}
	}
}
