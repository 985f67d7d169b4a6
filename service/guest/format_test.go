package guest

import (
	"testing"

	"tmate-relay/service/vt"
)

func TestExpandWindowFormat(t *testing.T) {
	wv := &WindowView{Index: 3, Name: "logs", Active: true, Zoomed: true}
	for f, want := range map[string]string{
		"#I:#W#F":                                  "3:logs*Z",
		"#{window_index}.#{window_name}":           "3.logs",
		"#{?window_flags,#{window_flags}, }":       "*Z",
		"#{?window_last_flag,L,#{=2:window_name}}": "lo",
		"##I #[fg=red]x #q #{nope}":                "#I #[fg=red]x #q ",
	} {
		if got := string(expandWindowFormat(nil, f, wv, 0)); got != want {
			t.Errorf("%q: got %q, want %q", f, got, want)
		}
	}
}

func TestWindowStatusCellKeepsThe256Flag(t *testing.T) {
	std := vt.Cell{Fg: vt.Palette(231), Bg: vt.Palette(238)}
	got := windowStatusCell(std, &WindowView{Styles: [3]string{"default", "fg=red,bold"}})
	if got.Fg != vt.Palette(1) || got.Bg != vt.Palette(238) || got.Attr != vt.AttrBold {
		t.Fatalf("got %+v", got)
	}
}
