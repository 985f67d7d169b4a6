package guest

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"tmate-relay/service/vt"
)

// screenOf is what an emulator shows, a line each, trailing blanks cut.
func screenOf(e *vt.Emulator) string {
	w, h := e.Size()
	var b strings.Builder
	for y := 0; y < h; y++ {
		var l strings.Builder
		for x := 0; x < w; x++ {
			c := e.Cell(x, y)
			if c.Width == 0 {
				continue
			}
			l.WriteRune(max(c.Rune, ' '))
		}
		b.WriteString(strings.TrimRight(l.String(), " ") + "\n")
	}
	return b.String()
}

// Lines of any length, rendered in frames of any size, leave the guest's
// terminal showing what the pane shows, line ends included. (The
// emulator as the guest's terminal is tmate 2.4's, which has no SU: the
// renderer's scrolls are off.)
func TestLineEndsFollowThePane(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for run := 0; run < 50; run++ {
		pane := vt.New(40, 9, 100)
		v := &View{W: 40, H: 10, Panes: []PaneView{{ID: 0, W: 40, H: 9, Screen: pane}}, StatusOn: true,
			Windows: []WindowView{{Index: 0, Name: "sh", Active: true}}}
		guest := vt.New(40, 10, 0)
		var f Frame
		r := Renderer{scrollOff: true}
		n := 1
		for step := 0; step < 30; step++ {
			var out strings.Builder
			for range rng.Intn(25) {
				fmt.Fprintf(&out, "%d\r\n", n*[]int{1, 10, 1000, 100000}[rng.Intn(4)])
				n++
			}
			if rng.Intn(3) == 0 {
				out.WriteString("$ ")
			}
			if rng.Intn(5) == 0 {
				out.WriteString("\x1b[K")
			}
			pane.Write([]byte(out.String()))
			Compose(v, 40, 10, &f)
			guest.Write(r.Render(nil, &f))
			want := vt.New(40, 10, 0)
			var fresh Renderer
			want.Write(fresh.Render(nil, &f))
			if got, exp := screenOf(guest), screenOf(want); got != exp {
				t.Fatalf("run %d step %d: guest shows\n%s\nwant\n%s", run, step, got, exp)
			}
		}
	}
}
