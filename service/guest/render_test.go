package guest

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"tmate-relay/service/vt"
)

// styledView is a two-pane window whose left pane shows every kind of
// colour and attribute and some wide characters.
func styledView() (*View, *fakeScreen, *fakeScreen) {
	left := newFake(40, 23)
	left.write(0, 0, vt.Cell{Fg: vt.ANSI(1)}, "red ")
	left.write(4, 0, vt.Cell{Fg: vt.ANSI(9), Bg: vt.ANSI(4)}, "bright-on-blue")
	left.write(0, 1, vt.Cell{Fg: vt.Palette(208)}, "orange256 ")
	left.write(10, 1, vt.Cell{Fg: vt.RGB(1, 2, 3), Bg: vt.RGB(200, 100, 50)}, "rgb")
	left.write(0, 2, vt.Cell{Attr: vt.AttrBold | vt.AttrItalic}, "bold-italic")
	left.write(12, 2, vt.Cell{Attr: vt.AttrDim}, "dim")
	left.write(0, 3, vt.Cell{Attr: vt.AttrCurlyUnderline, Fg: vt.ANSI(2)}, "curly")
	left.write(6, 3, vt.Cell{Attr: vt.AttrDoubleUnderline}, "double")
	left.write(13, 3, vt.Cell{Attr: vt.AttrUnderline | vt.AttrStrike | vt.AttrOverline}, "under-strike-over")
	left.write(0, 4, vt.Cell{Attr: vt.AttrReverse | vt.AttrBlink}, "reverse-blink")
	left.write(0, 5, vt.Cell{}, "wide: 日本語 ok")
	left.write(0, 6, vt.Cell{Bg: vt.ANSI(6)}, "                                        ")
	left.write(0, 7, vt.Cell{Bg: vt.Palette(22)}, "  cyan-ish        ")
	left.write(0, 8, vt.Cell{}, "prompt$ ")
	right := newFake(39, 23).fill("right line ")
	right.write(0, 22, vt.Cell{}, "$ ")
	v := &View{
		W: 80, H: 23, StatusOn: true, StatusLeft: "[0] ", StatusRight: "#[fg=red,bright]R#[default] 12:00",
		Panes: []PaneView{
			{ID: 0, X: 0, Y: 0, W: 40, H: 23, Screen: left},
			{ID: 1, X: 41, Y: 0, W: 39, H: 23, Screen: right},
		},
		ActivePane: 0,
		Windows:    []WindowView{{Index: 0, Name: "bash", Active: true}, {Index: 1, Name: "vim", Last: true}},
	}
	left.cx, left.cy = 8, 8
	return v, left, right
}

// TestRenderBringsTerminalToFrame feeds the renderer's output for a
// sequence of frames into a real tmux pane and checks after every prefix
// that the pane holds exactly the last frame.
func TestRenderBringsTerminalToFrame(t *testing.T) {
	if testing.Short() {
		t.Skip("runs tmux")
	}
	term := newTmux(t)
	v, left, right := styledView()
	var frames []*Frame
	snap := func(w, h int) {
		f := &Frame{}
		Compose(v, w, h, f)
		frames = append(frames, f)
	}
	snap(80, 24)
	// typing, then a changed line in the middle
	left.write(8, 8, vt.Cell{}, "ls -l")
	left.write(5, 1, vt.Cell{Fg: vt.ANSI(3)}, "YELLOW")
	snap(80, 24)
	// the right pane scrolls by 3
	right.scrollUp(3)
	right.write(0, 20, vt.Cell{}, "new 1")
	right.write(0, 21, vt.Cell{}, "new 2")
	right.write(0, 22, vt.Cell{}, "$ ")
	snap(80, 24)
	// the active pane changes, wide characters move by one column, a
	// coloured line is cleared
	v.ActivePane = 1
	left.write(0, 5, vt.Cell{}, "wide:  日本語 ok")
	left.write(0, 6, vt.Cell{}, "                                        ")
	snap(80, 24)
	// one wide pane scrolling by one line under the status line
	full := newFake(80, 23).fill("line ")
	v2 := &View{W: 80, H: 23, StatusOn: true, StatusLeft: "[0] ", Panes: []PaneView{{ID: 5, W: 80, H: 23, Screen: full}},
		ActivePane: 5, Windows: []WindowView{{Index: 0, Name: "seq", Active: true}}}
	v = v2
	snap(80, 24)
	full.scrollUp(1)
	full.write(0, 22, vt.Cell{}, "line 23")
	snap(80, 24)
	// a message replaces the status line, the cursor hides
	v.Message = "Pane is dead"
	full.visible = false
	snap(80, 24)
	// the guest resizes
	v.Message = ""
	snap(100, 30)

	// Random edits on top.
	rng := rand.New(rand.NewSource(1))
	styles := []vt.Cell{{}, {Fg: vt.ANSI(1)}, {Bg: vt.ANSI(4)}, {Bg: vt.Palette(100)}, {Attr: vt.AttrBold},
		{Attr: vt.AttrUnderline, Fg: vt.RGB(9, 9, 9)}, {Attr: vt.AttrReverse | vt.AttrDim}, {Bg: vt.ANSI(12)}}
	texts := []string{"x", "hello", "  ", "日本", "          ", "a日b", "                    "}
	v.Panes[0].W, v.Panes[0].H = 80, 23
	for i := 0; i < 6; i++ {
		for j := 0; j < 25; j++ {
			full.write(rng.Intn(70), rng.Intn(23), styles[rng.Intn(len(styles))], texts[rng.Intn(len(texts))])
		}
		if i%2 == 1 {
			full.scrollUp(1 + rng.Intn(4))
		}
		full.visible = i%3 != 0
		snap(100, 30)
	}

	var r Renderer
	var out []byte
	for i, f := range frames {
		out = r.Render(out, f)
		got, cur := term.terminal(f.W, f.H, out)
		want, _ := term.terminal(f.W, f.H, refRender(f))
		sameScreens(t, fmt.Sprintf("after frame %d", i), got, want, f.W, f.H)
		if gotCursor(cur) != wantCursor(f) {
			t.Errorf("after frame %d: cursor %s, want %s", i, gotCursor(cur), wantCursor(f))
		}
		// Resizing is the caller's Reset; keep the stream valid for tmux
		// by restarting it at a size change.
		if i+1 < len(frames) && (frames[i+1].W != f.W || frames[i+1].H != f.H) {
			out = out[:0]
			r.Reset()
		}
	}
}

// TestRenderSameFrameIsSilent checks that nothing is sent when nothing
// changed.
func TestRenderSameFrameIsSilent(t *testing.T) {
	v, _, _ := styledView()
	var f Frame
	Compose(v, 80, 24, &f)
	var r Renderer
	first := r.Render(nil, &f)
	if len(first) == 0 {
		t.Fatal("first frame drew nothing")
	}
	if again := r.Render(nil, &f); len(again) != 0 {
		t.Errorf("unchanged frame sent %q", again)
	}
}

// TestRenderScrollUsesRegion checks that a one-line scroll of a full-width
// pane is sent as a scroll, not a repaint.
func TestRenderScrollUsesRegion(t *testing.T) {
	full := newFake(80, 23).fill("line ")
	v := &View{W: 80, H: 23, StatusOn: true, Panes: []PaneView{{ID: 1, W: 80, H: 23, Screen: full}}, ActivePane: 1,
		Windows: []WindowView{{Name: "seq", Active: true}}}
	var f Frame
	var r Renderer
	Compose(v, 80, 24, &f)
	r.Render(nil, &f)
	full.scrollUp(1)
	full.write(0, 22, vt.Cell{}, "line 23")
	Compose(v, 80, 24, &f)
	out := r.Render(nil, &f)
	if len(out) > 40 {
		t.Errorf("one-line scroll took %d bytes: %q", len(out), out)
	}
}

// TestRenderFollowsBracketedPaste checks that the guest's terminal is asked
// for bracketed paste exactly while the active pane's program has it on.
func TestRenderFollowsBracketedPaste(t *testing.T) {
	withPaste, without := vt.New(40, 23, 0), vt.New(39, 23, 0)
	withPaste.Write([]byte("\x1b[?2004h$ "))
	v := &View{W: 80, H: 23, ActivePane: 0, Panes: []PaneView{
		{ID: 0, X: 0, Y: 0, W: 40, H: 23, Screen: withPaste},
		{ID: 1, X: 41, Y: 0, W: 39, H: 23, Screen: without},
	}}
	var (
		f Frame
		r Renderer
	)
	for _, step := range []struct {
		name   string
		change func()
		want   string // the mode change sent, "" for none
	}{
		{"the active pane's program has it", func() {}, "\x1b[?2004h"},
		{"nothing changed", func() {}, ""},
		{"the other pane becomes active", func() { v.ActivePane = 1 }, "\x1b[?2004l"},
		{"back", func() { v.ActivePane = 0 }, "\x1b[?2004h"},
		{"the program turns it off", func() { withPaste.Write([]byte("\x1b[?2004l")) }, "\x1b[?2004l"},
	} {
		step.change()
		Compose(v, 80, 24, &f)
		out := string(r.Render(nil, &f))
		on, off := strings.Count(out, "\x1b[?2004h"), strings.Count(out, "\x1b[?2004l")
		switch step.want {
		case "":
			if on+off != 0 {
				t.Errorf("%s: sent %q, want no mode change", step.name, out)
			}
		case "\x1b[?2004h":
			if on != 1 || off != 0 {
				t.Errorf("%s: sent %q, want bracketed paste on once", step.name, out)
			}
		default:
			if off != 1 || on != 0 {
				t.Errorf("%s: sent %q, want bracketed paste off once", step.name, out)
			}
		}
	}
	if !strings.Contains(string(r.Leave(nil)), "\x1b[?2004l") {
		t.Error("Leave does not turn bracketed paste off")
	}
}

// TestRenderRingsOncePerRise checks that the guest's terminal rings once for
// each frame whose bell count rose, and never for bells before its first
// frame.
func TestRenderRingsOncePerRise(t *testing.T) {
	v, _, _ := styledView()
	var (
		f Frame
		r Renderer
	)
	for _, step := range []struct {
		rings uint64
		want  int // BELs sent
	}{{3, 0}, {3, 0}, {4, 1}, {7, 1}, {7, 0}} {
		v.Rings = step.rings
		Compose(v, 80, 24, &f)
		if got := strings.Count(string(r.Render(nil, &f)), "\a"); got != step.want {
			t.Errorf("rings %d: %d BELs sent, want %d", step.rings, got, step.want)
		}
	}
}

// TestRenderCursorStyle checks that a terminal that takes cursor styles
// gets the active pane's, and one that does not gets none.
func TestRenderCursorStyle(t *testing.T) {
	for _, styles := range []bool{true, false} {
		pane := vt.New(80, 23, 0)
		v := &View{W: 80, H: 23, ActivePane: 0, Panes: []PaneView{{ID: 0, W: 80, H: 23, Screen: pane}}}
		var f Frame
		r := Renderer{CursorStyles: styles}
		for _, step := range []struct {
			write, want string
		}{
			{"", ""},
			{"\x1b[5 q", "\x1b[5 q"},
			{"x", ""},
			{"\x1b[0 q", "\x1b[2 q"},
			{"\x1b[3 q", "\x1b[3 q"},
		} {
			pane.Write([]byte(step.write))
			Compose(v, 80, 24, &f)
			out := string(r.Render(nil, &f))
			got := strings.Count(out, " q")
			switch {
			case !styles && got != 0:
				t.Errorf("no styles: %q sent %q", step.write, out)
			case styles && step.want == "" && got != 0:
				t.Errorf("%q sent %q, want no style", step.write, out)
			case styles && step.want != "" && (got != 1 || !strings.Contains(out, step.want)):
				t.Errorf("%q sent %q, want %q once", step.write, out, step.want)
			}
		}
		leave := string(r.Leave(nil))
		if reset := strings.Contains(leave, "\x1b[2 q"); reset != styles {
			t.Errorf("styles %v: Leave resets the cursor style: %v (%q)", styles, reset, leave)
		}
	}
}
