package guest

import (
	"testing"

	"tmate-relay/service/vt"
)

// rowFrame is a one-row frame of w columns: text, then cleared cells, as
// a pane's line that ends after text.
func rowFrame(w int, text string) *Frame {
	f := &Frame{W: w, H: 1, Cells: make([]vt.Cell, w)}
	for i := range f.Cells {
		f.Cells[i] = cleared
	}
	for i, r := range text {
		f.Cells[i] = vt.Cell{Rune: r, Width: 1}
	}
	return f
}

// A line's end is cleared as tmux clears it (EL), never overwritten with
// spaces, and a space an application wrote is written: a terminal (and
// tmux's capture-pane) tells the two apart.
func TestRowEndsAreClearedAsTmuxClearsThem(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before string // the row the terminal shows first
		after  string
		want   string // how what the renderer writes for after ends
	}{
		{"a shorter line: its end cleared", "abcdef", "abc", "\x1b[K"},
		{"one cell shorter", "abcd", "abc", "\x1b[K"},
		{"a written space past the text", "abc", "abc ", " "},
		{"a written space becomes cleared", "abc ", "abc", "\x1b[K"},
		{"unchanged", "abc", "abc", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Renderer
			r.Render(nil, rowFrame(10, tc.before))
			got := string(r.Render(nil, rowFrame(10, tc.after)))
			got = trimCursor(got) // the frames have no cursor
			if tc.want == "" && got != "" || tc.want != "" && (len(got) < len(tc.want) || got[len(got)-len(tc.want):] != tc.want) {
				t.Errorf("wrote %q, want it to end in %q", got, tc.want)
			}
			for i := 0; i+1 < len(got); i++ {
				if got[i] == ' ' && got[i+1] == ' ' {
					t.Errorf("wrote spaces %q where the line ends", got)
				}
			}
		})
	}
}

// trimCursor drops the cursor's visibility change that ends a Render.
func trimCursor(s string) string {
	const hide = "\x1b[?25l"
	if len(s) >= len(hide) && s[len(s)-len(hide):] == hide {
		return s[:len(s)-len(hide)]
	}
	return s
}
