package guest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"tmate-relay/service/vt"
)

// needTool skips a test when a program is missing, except in CI where a
// missing tool is a failure.
func needTool(t testing.TB, name string) {
	t.Helper()
	if _, err := osexec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed", name)
		}
		t.Skipf("%s not installed", name)
	}
}

// envWithoutTmux is the environment minus TMUX, so tmux and tmate start
// even when the tests run inside tmux.
func envWithoutTmux() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "TMUX=") {
			env = append(env, e)
		}
	}
	return env
}

// tmuxServer is a private tmux server whose panes play a guest's terminal.
type tmuxServer struct {
	t    testing.TB
	sock string
	dir  string
	n    int
}

func newTmux(t testing.TB) *tmuxServer {
	needTool(t, "tmux")
	dir := t.TempDir()
	s := &tmuxServer{t: t, sock: filepath.Join(dir, "tmux.sock"), dir: dir}
	conf := filepath.Join(dir, "tmux.conf")
	if err := os.WriteFile(conf, []byte("set -g status off\nset -g default-terminal screen\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.run("-f", conf, "start-server", ";", "set", "-g", "exit-empty", "off")
	t.Cleanup(func() { osexec.Command("tmux", "-S", s.sock, "kill-server").Run() })
	return s
}

func (s *tmuxServer) run(args ...string) string {
	s.t.Helper()
	return runOnSocket(s.t, "tmux", s.sock, args...)
}

// runOnSocket runs a tmux or tmate client command against server socket
// sock and fails the test if it fails or takes over 20 s.
func runOnSocket(t testing.TB, prog, sock string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := osexec.CommandContext(ctx, prog, append([]string{"-S", sock}, args...)...)
	cmd.Env = envWithoutTmux()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// terminal feeds data to a fresh w x h tmux pane and returns what the pane
// then shows (capture-pane -p -e -N) and its cursor.
func (s *tmuxServer) terminal(w, h int, data []byte) (screen, cursor string) {
	s.t.Helper()
	s.n++
	name := fmt.Sprintf("t%d", s.n)
	file := filepath.Join(s.dir, name+".bin")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		s.t.Fatal(err)
	}
	cmd := fmt.Sprintf("stty raw -echo; cat %s; tmux -S %s wait-for -S %s; exec sleep 600", file, s.sock, name)
	s.run("new-session", "-d", "-s", name, "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), cmd)
	s.run("wait-for", name)
	screen = s.run("capture-pane", "-p", "-e", "-t", name)
	cursor = s.run("display", "-p", "-t", name, "#{cursor_x},#{cursor_y},#{cursor_flag}")
	s.run("kill-session", "-t", name)
	return screen, strings.TrimSpace(cursor)
}

// refRender draws f the plain way: every cell with its full SGR.
func refRender(f *Frame) []byte {
	var b bytes.Buffer
	b.WriteString("\x1b[m\x1b[H\x1b[2J")
	for y := 0; y < f.H; y++ {
		fmt.Fprintf(&b, "\x1b[%d;1H", y+1)
		// as tmux draws a line: its cells, then the rest cleared
		end := clearedFrom(f.Cells[y*f.W : (y+1)*f.W])
		for x := 0; x < end; x++ {
			if f.At(x, y).Width == 0 {
				continue
			}
			// as a tmate client draws the cell (italics as standout,
			// RGB as the nearest of 256)
			drawn := ttyCell(f.At(x, y))
			c := &drawn
			b.WriteString("\x1b[0")
			for _, ac := range attrCodes {
				if c.Attr&ac.a != 0 {
					b.WriteString(";" + ac.on)
				}
			}
			if c.Fg != vt.ColorDefault {
				b.Write(appendColour([]byte{';'}, c.Fg, false))
			}
			if c.Bg != vt.ColorDefault {
				b.Write(appendColour([]byte{';'}, c.Bg, true))
			}
			b.WriteString("m")
			b.Write(appendCellText(nil, c))
		}
		if end < f.W {
			b.WriteString("\x1b[0m\x1b[K")
		}
	}
	b.WriteString("\x1b[m")
	fmt.Fprintf(&b, "\x1b[%d;%dH", f.CursorY+1, f.CursorX+1)
	if f.CursorVisible {
		b.WriteString("\x1b[?25h")
	} else {
		b.WriteString("\x1b[?25l")
	}
	return b.Bytes()
}

// wantCursor is what tmux reports for f's cursor.
func wantCursor(f *Frame) string {
	if !f.CursorVisible {
		return "hidden"
	}
	return fmt.Sprintf("%d,%d,1", f.CursorX, f.CursorY)
}

func gotCursor(c string) string {
	if strings.HasSuffix(c, ",0") {
		return "hidden"
	}
	return c
}

// parseCapture reads capture-pane -p -e output back into a w x h frame of
// cells (cells tmux did not print are blanks).
func parseCapture(s string, w, h int) *Frame {
	f := &Frame{W: w, H: h, Cells: make([]vt.Cell, w*h)}
	for i := range f.Cells {
		f.Cells[i] = blank
	}
	pen := blank
	x, y := 0, 0
	for i := 0; i < len(s); {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] == ';' || s[j] == ':' || (s[j] >= '0' && s[j] <= '9')) {
				j++
			}
			if j < len(s) && s[j] == 'm' {
				applySGR(&pen, s[i+2:j])
			}
			i = j + 1
			continue
		}
		if s[i] == '\n' {
			x, y = 0, y+1
			i++
			continue
		}
		r, n := []rune(s[i:min(i+4, len(s))])[0], len(string([]rune(s[i:min(i+4, len(s))])[0]))
		i += n
		wd := runeWidth(r)
		if y < h && x+wd <= w {
			c := pen
			c.Rune, c.Width = r, uint8(wd)
			f.Cells[y*w+x] = c
			if wd == 2 {
				c.Rune, c.Width = 0, 0
				f.Cells[y*w+x+1] = c
			}
		}
		x += wd
	}
	return f
}

func applySGR(pen *vt.Cell, params string) {
	ps := strings.Split(params, ";")
	if params == "" {
		ps = []string{"0"}
	}
	for k := 0; k < len(ps); k++ {
		p := ps[k]
		if strings.HasPrefix(p, "4:") {
			pen.Attr &^= underlines
			switch p {
			case "4:1":
				pen.Attr |= vt.AttrUnderline
			case "4:2":
				pen.Attr |= vt.AttrDoubleUnderline
			case "4:3":
				pen.Attr |= vt.AttrCurlyUnderline
			case "4:4":
				pen.Attr |= vt.AttrDottedUnderline
			case "4:5":
				pen.Attr |= vt.AttrDashedUnderline
			}
			continue
		}
		n := 0
		fmt.Sscan(p, &n)
		switch {
		case n == 0:
			pen.Fg, pen.Bg, pen.Attr = 0, 0, 0
		case n == 1:
			pen.Attr |= vt.AttrBold
		case n == 2:
			pen.Attr |= vt.AttrDim
		case n == 3:
			pen.Attr |= vt.AttrItalic
		case n == 4:
			pen.Attr = pen.Attr&^underlines | vt.AttrUnderline
		case n == 5:
			pen.Attr |= vt.AttrBlink
		case n == 7:
			pen.Attr |= vt.AttrReverse
		case n == 8:
			pen.Attr |= vt.AttrHidden
		case n == 9:
			pen.Attr |= vt.AttrStrike
		case n == 21:
			pen.Attr = pen.Attr&^underlines | vt.AttrDoubleUnderline
		case n == 22:
			pen.Attr &^= vt.AttrBold | vt.AttrDim
		case n == 23:
			pen.Attr &^= vt.AttrItalic
		case n == 24:
			pen.Attr &^= underlines
		case n == 25:
			pen.Attr &^= vt.AttrBlink
		case n == 27:
			pen.Attr &^= vt.AttrReverse
		case n == 28:
			pen.Attr &^= vt.AttrHidden
		case n == 29:
			pen.Attr &^= vt.AttrStrike
		case n == 53:
			pen.Attr |= vt.AttrOverline
		case n == 55:
			pen.Attr &^= vt.AttrOverline
		case n >= 30 && n <= 37:
			pen.Fg = vt.ANSI(uint8(n - 30))
		case n == 39:
			pen.Fg = 0
		case n >= 40 && n <= 47:
			pen.Bg = vt.ANSI(uint8(n - 40))
		case n == 49:
			pen.Bg = 0
		case n >= 90 && n <= 97:
			pen.Fg = vt.ANSI(uint8(n - 90 + 8))
		case n >= 100 && n <= 107:
			pen.Bg = vt.ANSI(uint8(n - 100 + 8))
		case (n == 38 || n == 48) && k+1 < len(ps):
			var c vt.Color
			if ps[k+1] == "5" && k+2 < len(ps) {
				v, _ := strconv.Atoi(ps[k+2])
				c = vt.Palette(uint8(v))
				k += 2
			} else if ps[k+1] == "2" && k+4 < len(ps) {
				r, _ := strconv.Atoi(ps[k+2])
				g, _ := strconv.Atoi(ps[k+3])
				b, _ := strconv.Atoi(ps[k+4])
				c = vt.RGB(uint8(r), uint8(g), uint8(b))
				k += 4
			}
			if n == 38 {
				pen.Fg = c
			} else {
				pen.Bg = c
			}
		}
	}
}

// sameScreens compares two captures cell by cell.
func sameScreens(t *testing.T, what, got, want string, w, h int) {
	t.Helper()
	g, wn := dumpFrame(parseCapture(got, w, h)), dumpFrame(parseCapture(want, w, h))
	if g != wn {
		t.Errorf("%s differs\n got:\n%s\nwant:\n%s", what, g, wn)
	}
}
