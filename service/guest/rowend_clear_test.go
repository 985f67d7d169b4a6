package guest

import (
	"os"
	"strings"
	"testing"

	"tmate-relay/service/vt"
)

// A pane cleared (its lines scrolled into history) and written again
// before the next frame ends with the guest's terminal in the state a
// live tmate client's is in, whatever frames the output fell into: the
// client cleared its terminal's lines, so tmux, the terminal both run in,
// counts none of the old line's cells as used past the new text
// (capture-pane -e shows no pen for them). Drawing the new lines over the
// old ones and clearing their ends with EL would keep the old lines' used
// width.
func TestClearedPaneLeavesNoOldLineEnds(t *testing.T) {
	if testing.Short() {
		t.Skip("runs tmux")
	}
	term := newTmux(t)
	output, err := os.ReadFile("../vt/testdata/streams/pen-edges.bin")
	if err != nil {
		t.Fatal(err)
	}
	command := "$ clear; stty -opost; cat " + strings.Repeat("/long/path", 8) + "/pen-edges.bin; stty opost\r\n"
	for _, tc := range []struct {
		name   string
		frames []string // host output, one frame after each
	}{
		{"the clear drawn on its own", []string{command, "\x1b[H\x1b[J", string(output)}},
		{"clear and output in one frame", []string{command, "\x1b[H\x1b[J" + string(output)}},
		{"ED 2 and output in one frame", []string{command, "\x1b[H\x1b[2J" + string(output)}},
		{"all in one frame", []string{command + "\x1b[H\x1b[J" + string(output)}},
		{"a full screen cleared", []string{strings.Repeat(command, 12) + "$ ", "\x1b[H\x1b[J" + string(output)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pane := vt.New(80, 23, 100)
			v := &View{W: 80, H: 23, StatusOn: true, StatusLeft: "[0] ", Panes: []PaneView{{ID: 0, W: 80, H: 23, Screen: pane}},
				Windows: []WindowView{{Name: "sh", Active: true}}}
			var f Frame
			var r Renderer
			Compose(v, 80, 24, &f)
			out := r.Render(nil, &f)
			for _, s := range tc.frames {
				pane.Write([]byte(s))
				Compose(v, 80, 24, &f)
				out = r.Render(out, &f)
			}
			got, _ := term.terminal(f.W, f.H, out)
			want, _ := term.terminal(f.W, f.H, refRender(&f))
			if got != want {
				t.Errorf("the guest's terminal differs from a fresh drawing of the frame (capture-pane -e):\n%s",
					captureDiff(want, got))
			}
		})
	}
}

// captureDiff lists the lines of two captures that differ, escapes shown.
func captureDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			b.WriteString(strings.ReplaceAll("- "+a+"\n+ "+c+"\n", "\x1b", `\e`))
		}
	}
	return b.String()
}
