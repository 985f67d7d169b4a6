package guest

import (
	"path/filepath"
	"testing"
	"time"
)

// TestStatusGolden pins status lines: alerts and their styles, arrows over
// hidden alerts, status-left/right styles and window formats. The parity
// workloads check the same against a real tmate client.
func TestStatusGolden(t *testing.T) {
	cases := []struct {
		name string
		v    func(v *View)
	}{
		{"status-alerts", func(v *View) {
			v.Windows = []WindowView{
				{Index: 0, Name: "bell", Bell: true, AlertStyle: "reverse"},
				{Index: 1, Name: "busy", Activity: true, AlertStyle: "reverse,fg=yellow", Last: true},
				{Index: 2, Name: "quiet", Silence: true, AlertStyle: "underscore"},
				{Index: 3, Name: "both", Activity: true, Bell: true, AlertStyle: "fg=white,bg=red,bold"},
				{Index: 4, Name: "bash", Active: true},
			}
		}},
		{"status-alert-arrows", func(v *View) {
			v.Windows = nil
			for i := 0; i < 14; i++ {
				v.Windows = append(v.Windows, WindowView{Index: i, Name: "window", Active: i == 9,
					Bell: i == 1 || i == 13, AlertStyle: map[bool]string{true: "reverse"}[i == 1 || i == 13]})
			}
		}},
		{"status-alert-arrows-visible", func(v *View) {
			// Alerts only on windows that are drawn: plain arrows.
			v.Windows = nil
			for i := 0; i < 14; i++ {
				v.Windows = append(v.Windows, WindowView{Index: i, Name: "window", Active: i == 9,
					Activity: i == 9 || i == 8, AlertStyle: map[bool]string{true: "reverse"}[i == 8]})
			}
		}},
		{"status-left-right-styles", func(v *View) {
			v.StatusStyle = "fg=white,bg=blue"
			v.StatusLeftStyle = "fg=black,bg=red,bold"
			v.StatusRightStyle = "default,bg=colour24,underscore"
			v.StatusLeftLength = 20
			v.StatusLeft = "#[fg=cyan]0#[default]:host "
			v.StatusRight = "#[bg=black]2p#[default] 12:00"
		}},
		{"status-expanded-by-the-guest", func(v *View) {
			v.StatusExpand = true
			v.Host = "box.example.com"
			v.SessionName = "0"
			v.StatusLeft = "[#S] "
			v.StatusRight = " \"#{=21:pane_title}\" #{window_panes} panes ##%%"
			v.Windows = []WindowView{{Index: 0, Name: "sh", Last: true},
				{Index: 1, Name: "vim", Active: true, PaneTitle: "a rather long title for a pane", PaneCount: 2}}
		}},
		{"status-window-formats", func(v *View) {
			v.Host = "box.example.com"
			v.SessionName = "work"
			v.StatusRight = ""
			v.Windows = []WindowView{
				{Index: 0, Name: "sh", Custom: true, Format: "#I|#S|#h|#P|#D|#{window_panes}#{?window_bell_flag,!,}",
					Separator: " ", Bell: true, PaneID: 3, PaneIndex: 1, PaneCount: 2, AlertStyle: "reverse"},
				{Index: 1, Name: "vim", Custom: true, Active: true, Format: "#[fg=red]#I:#W#F#[default] #{=-8:pane_title}",
					Separator: "|", PaneTitle: "editing main.go", Styles: [3]string{"", "bold"}},
				{Index: 2, Name: "logs", Custom: true, Format: "#I:#T %Y", Separator: " ", Last: true},
			}
			v.StatusClock = time.Date(2026, time.June, 15, 12, 0, 0, 0, time.UTC).Unix() // 2026 in every time zone
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := frameWin(layoutPane(0, 0, 0, 80, 23))
			tc.v(v)
			var f Frame
			Compose(v, 80, 24, &f)
			checkGolden(t, filepath.Join("testdata", tc.name+".golden"), dumpFrame(&f))
		})
	}
}
