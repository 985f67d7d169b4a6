package guest

import (
	goflag "flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tmate-relay/service/vt"
)

var updateGolden = goflag.Bool("update", false, "rewrite testdata/*.golden")

func layoutPane(id, x, y, w, h int) PaneView {
	return PaneView{ID: id, X: x, Y: y, W: w, H: h, Screen: newFake(w, h).write(0, 0, vt.Cell{}, "pane"+string(rune('0'+id)))}
}

func frameWin(panes ...PaneView) *View {
	return &View{W: 80, H: 23, StatusOn: true, StatusLeft: "[0] ", StatusRight: "\"host\" 12:00 01-Jan-26",
		Panes: panes, ActivePane: panes[len(panes)-1].ID,
		Windows: []WindowView{{Index: 0, Name: "bash", Active: true}}}
}

// TestComposeGolden pins composed frames of the layouts tmux draws; the
// live test checks the same rules against a real tmate client.
func TestComposeGolden(t *testing.T) {
	cases := []struct {
		name string
		v    *View
		w, h int
	}{
		{"one-pane", frameWin(layoutPane(0, 0, 0, 80, 23)), 80, 24},
		{"side-by-side-right-active", frameWin(layoutPane(0, 0, 0, 40, 23), layoutPane(1, 41, 0, 39, 23)), 80, 24},
		{"side-by-side-left-active", func() *View {
			v := frameWin(layoutPane(0, 0, 0, 40, 23), layoutPane(1, 41, 0, 39, 23))
			v.ActivePane = 0
			return v
		}(), 80, 24},
		{"stacked-bottom-active", frameWin(layoutPane(0, 0, 0, 80, 11), layoutPane(1, 0, 12, 80, 11)), 80, 24},
		{"stacked-top-active", func() *View {
			v := frameWin(layoutPane(0, 0, 0, 80, 11), layoutPane(1, 0, 12, 80, 11))
			v.ActivePane = 0
			return v
		}(), 80, 24},
		{"nested-three", frameWin(layoutPane(0, 0, 0, 40, 23), layoutPane(1, 41, 0, 39, 11), layoutPane(2, 41, 12, 39, 11)), 80, 24},
		{"nested-three-left-active", func() *View {
			v := frameWin(layoutPane(0, 0, 0, 40, 23), layoutPane(1, 41, 0, 39, 11), layoutPane(2, 41, 12, 39, 11))
			v.ActivePane = 0
			return v
		}(), 80, 24},
		{"zoomed", func() *View {
			v := frameWin(layoutPane(0, 0, 0, 40, 23), layoutPane(1, 0, 0, 80, 23))
			v.Windows[0].Zoomed = true
			return v
		}(), 80, 24},
		{"guest-bigger", frameWin(layoutPane(0, 0, 0, 40, 23), layoutPane(1, 41, 0, 39, 11), layoutPane(2, 41, 12, 39, 11)), 100, 30},
		{"guest-smaller", frameWin(layoutPane(0, 0, 0, 40, 23), layoutPane(1, 41, 0, 39, 23)), 60, 15},
		{"status-markup-and-windows", func() *View {
			v := frameWin(layoutPane(0, 0, 0, 80, 23))
			v.StatusLeft = "#[fg=white,bg=red,bright]LEFT#[default]-more-than-ten"
			v.StatusRight = "#[fg=colour33]blue#[fg=#ff0000] red#[default] end"
			v.Windows = []WindowView{{Index: 0, Name: "one", Last: true}, {Index: 1, Name: "two", Active: true, Zoomed: true}, {Index: 2, Name: "日本"}}
			return v
		}(), 80, 24},
		{"window-list-cut", func() *View {
			v := frameWin(layoutPane(0, 0, 0, 80, 23))
			v.Windows = nil
			for i := 0; i < 12; i++ {
				v.Windows = append(v.Windows, WindowView{Index: i, Name: "window", Active: i == 9})
			}
			return v
		}(), 80, 24},
		{"message", func() *View {
			v := frameWin(layoutPane(0, 0, 0, 80, 23))
			v.Message = "ssh session: ssh TOKEN@relay.example.com"
			return v
		}(), 80, 24},
		{"status-off", func() *View {
			v := frameWin(layoutPane(0, 0, 0, 80, 24))
			v.H = 24
			v.StatusOn = false
			return v
		}(), 80, 24},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var f Frame
			Compose(tc.v, tc.w, tc.h, &f)
			checkGolden(t, filepath.Join("testdata", tc.name+".golden"), dumpFrame(&f))
		})
	}
}

func goldenDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	for i := 0; i < len(g) || i < len(w); i++ {
		var a, c string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			c = w[i]
		}
		if a != c {
			b.WriteString("- " + c + "\n+ " + a + "\n")
		}
	}
	return b.String()
}

// TestComposeReusesMemory checks that composing again into the same frame
// allocates nothing.
func TestComposeReusesMemory(t *testing.T) {
	v := frameWin(layoutPane(0, 0, 0, 40, 23), layoutPane(1, 41, 0, 39, 11), layoutPane(2, 41, 12, 39, 11))
	v.Windows = append(v.Windows, WindowView{Index: 1, Name: "vim", Last: true})
	var f Frame
	Compose(v, 80, 24, &f)
	if n := testing.AllocsPerRun(20, func() { Compose(v, 80, 24, &f) }); n != 0 {
		t.Errorf("Compose allocates %v times per call", n)
	}
}

// checkGolden compares a dumped frame with its golden file, or rewrites the
// file with -update.
func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if got != string(want) {
		t.Errorf("frame differs from %s:\n%s", path, goldenDiff(got, string(want)))
	}
}

// A clock that moves redraws the status line, and only it: the frame is
// the one composed from scratch, and no pane row is marked.
func TestClockRedrawsTheStatusLineAlone(t *testing.T) {
	v := frameWin(layoutPane(0, 0, 0, 80, 23))
	v.StatusExpand, v.StatusRight = true, "%H:%M"
	v.StatusClock = time.Date(2026, time.June, 15, 12, 0, 0, 0, time.UTC).Unix()
	var f Frame
	Compose(v, 80, 24, &f)
	v.StatusClock += 60
	Compose(v, 80, 24, &f)
	var full Frame
	Compose(v, 80, 24, &full)
	if !equalCells(f.Cells, full.Cells) {
		t.Fatalf("after the clock moved: incremental frame\n%s\nfrom scratch\n%s%s", dumpFrame(&f), dumpFrame(&full), firstDiff(&f, &full))
	}
	for y, d := range f.dirty {
		if d != (y == 23) {
			t.Errorf("row %d dirty %v, want only the status line (23)", y, d)
		}
	}
}
