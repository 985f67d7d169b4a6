package recording

import (
	"strings"
	"testing"

	"tmate-relay/service/guest"
	"tmate-relay/service/vt"
)

func frameOf(rows ...string) *guest.Frame {
	f := &guest.Frame{W: len(rows[0]), H: len(rows)}
	for _, r := range rows {
		for _, c := range r {
			f.Cells = append(f.Cells, vt.Cell{Rune: c, Width: 1})
		}
	}
	return f
}

func rowsOf(f *guest.Frame) []string {
	var out []string
	for y := 0; y < f.H; y++ {
		var b strings.Builder
		for _, c := range f.Cells[y*f.W : (y+1)*f.W] {
			b.WriteRune(c.Rune)
		}
		out = append(out, b.String())
	}
	return out
}

func TestMaskTokens(t *testing.T) {
	const tok, ro = "Ab3dEf6hIj9kLm2nOp5qRs8tU", "ro-Zy1xWv4uTs7rQp0oNm3lKj6"
	tests := []struct {
		name       string
		rows, want []string
	}{
		{"whole", []string{"ssh -p1 " + tok + "@127.0.0.1 "}, []string{"ssh -p1 " + strings.Repeat("*", len(tok)) + "@127.0.0.1 "}},
		{"read-only in a URL", []string{"http://h/t/" + ro + " x"}, []string{"http://h/t/" + strings.Repeat("*", len(ro)) + " x"}},
		{"wrapped in a pane", []string{"ssh " + tok[:10] + "|left", tok[10:] + "@h|l"},
			[]string{"ssh " + strings.Repeat("*", 10) + "|left", strings.Repeat("*", len(tok)-10) + "@h|l"}},
		{"other text kept", []string{"Ab3 plain words and Ab3dE"}, []string{"Ab3 plain words and Ab3dE"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := frameOf(tc.rows...)
			maskTokens(f, []string{tok, ro})
			if got := rowsOf(f); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
