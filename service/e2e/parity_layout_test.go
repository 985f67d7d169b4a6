package e2e

import "fmt"

// layoutParityCases are the parity workloads for window layouts: the
// borders, their intersections and the active pane's border colours of
// every layout tmux makes, for a guest of the session's size and for one
// larger than the session.
var layoutParityCases = []parityCase{
	{name: "layout-even-horizontal", steps: layoutSteps(4, "even-horizontal", ":.1"), wait: "layout-42"},
	{name: "layout-even-vertical", steps: layoutSteps(4, "even-vertical", ":.2"), wait: "layout-42"},
	{name: "layout-tiled-6", steps: layoutSteps(6, "tiled", ":.4"), wait: "layout-42"},
	{name: "layout-main-vertical", conf: "set -g main-pane-width 30\n", steps: layoutSteps(4, "main-vertical", ":.0"), wait: "layout-42"},
	// tmate 2.4's default main-pane-width, 80, in an 80-column window:
	// the other panes are squeezed to two columns.
	{name: "layout-main-vertical-default", steps: layoutSteps(3, "main-vertical", ":.0"), wait: "layout-42"},
	{name: "layout-main-horizontal", conf: "set -g main-pane-height 9\n", steps: layoutSteps(4, "main-horizontal", ":.3"), wait: "layout-42"},
	// Splits inside splits: a column of two next to a row of two.
	{name: "layout-nested", steps: nestedSteps(":.2"), wait: "layout-42"},
	{name: "layout-nested-first-active", steps: nestedSteps(":.0"), wait: "layout-42"},
	{name: "layout-nested-zoomed", steps: append(nestedSteps(":.3"), tmateCmd("resize-pane", "-Z")), wait: "layout-42"},
	// tmate 2.4 splits and resizes panes no smaller than two cells, but a
	// layout string the host applies may hold panes one row high or one
	// column wide. The text is typed into a pane large enough to show it.
	{name: "layout-one-row-panes", steps: customLayoutSteps(5,
		"80x23,0,0[80x14,0,0,0,80x1,0,15,1,80x1,0,17,2,80x1,0,19,3,80x2,0,21,4]", ":.0", ":.2"), wait: "layout-42"},
	{name: "layout-one-column-panes", steps: customLayoutSteps(5,
		"80x23,0,0{63x23,0,0,0,1x23,64,0,1,1x23,66,0,2,1x23,68,0,3,10x23,70,0,4}", ":.0", ":.2"), wait: "layout-42"},
	{name: "layout-one-row-and-column", steps: customLayoutSteps(7,
		"80x23,0,0{50x23,0,0[50x1,0,0,0,50x1,0,2,1,50x19,0,4,2],1x23,51,0,3,27x23,53,0[27x10,53,0,4,27x1,53,11,5,27x10,53,13,6]}", ":.2", ":.5"), wait: "layout-42"},
	// Two panes colour half the border between them: here one row high.
	{name: "layout-two-one-row", steps: customLayoutSteps(2, "80x23,0,0[80x21,0,0,0,80x1,0,22,1]", ":.0", ":.1"), wait: "layout-42"},
	{name: "layout-two-one-column", steps: customLayoutSteps(2, "80x23,0,0{1x23,0,0,0,78x23,2,0,1}", ":.1", ":.0"), wait: "layout-42"},
	// 50+ panes need a large terminal: tmux refuses a split that does
	// not fit.
	{name: "layout-fifty-panes", w: 200, h: 60, steps: layoutSteps(53, "tiled", ":.23"), wait: "layout-42"},
	// A guest larger than the session (a smaller second guest sets its
	// size): the session at the top left, bullets and the size note
	// around it.
	{name: "layout-guest-bigger-tiled", smallW: 60, smallH: 18, steps: layoutSteps(5, "tiled", ":.4"), wait: "layout-42"},
	{name: "layout-guest-bigger-nested", smallW: 70, smallH: 20, steps: nestedSteps(":.1"), wait: "layout-42"},
	{name: "layout-guest-bigger-zoomed", smallW: 60, smallH: 18, steps: append(nestedSteps(":.3"), tmateCmd("resize-pane", "-Z")), wait: "layout-42"},
	// Borders take only the colours of their styles, the filler outside
	// the session those of pane-border-style.
	{name: "layout-guest-bigger-styled", smallW: 70, smallH: 20,
		conf:  "set -g pane-border-style fg=red,bg=blue,underscore\nset -g pane-active-border-style fg=colour208,bold,reverse\n",
		steps: nestedSteps(":.3"), wait: "layout-42"},
	{name: "layout-guest-bigger-one-row-and-column", smallW: 60, smallH: 18, steps: customLayoutSteps(7,
		"60x17,0,0{40x17,0,0[40x1,0,0,0,40x1,0,2,1,40x13,0,4,2],1x17,41,0,3,17x17,43,0[17x8,43,0,4,17x1,43,9,5,17x6,43,11,6]}", ":.2", ":.3"), wait: "layout-42"},
}

// layoutSteps makes n panes, applies layout after each split and types
// into pane target.
func layoutSteps(n int, layout, target string) []step {
	return append(splits(n, layout), selectAndType(target)...)
}

// splits makes n panes, applying layout after each split. Each command is
// its own tmate client run: the host tells the relay a window's layout once
// per turn of its event loop, and a pane that one command line shrinks and
// grows again would have its rows pulled from its history on the host but
// not on the relay (nor on tmate's own server, which reads the same
// messages).
func splits(n int, layout string) []step {
	var steps []step
	for i := 1; i < n; i++ {
		steps = append(steps, tmateCmd("split-window"), tmateCmd("select-layout", layout))
	}
	return steps
}

// nestedSteps splits the window left and right, the right half top and
// bottom, and its bottom left and right, then types into pane target.
func nestedSteps(target string) []step {
	return append([]step{
		tmateCmd("split-window", "-h"),
		tmateCmd("split-window", "-v"),
		tmateCmd("split-window", "-h"),
	}, selectAndType(target)...)
}

// customLayoutSteps makes n panes, applies layout (tmux's layout string
// without its checksum), types into pane typeIn and selects pane target.
func customLayoutSteps(n int, layout, typeIn, target string) []step {
	return append(splits(n, "tiled"),
		tmateCmd("select-layout", layoutString(layout)),
		tmateCmd("select-pane", "-t", typeIn),
		typed("echo layout-$((6*7))"), waitFor("layout-42"),
		tmateCmd("select-pane", "-t", target),
	)
}

// layoutString prefixes a layout with tmux's checksum of it.
func layoutString(layout string) string {
	var sum uint16
	for i := 0; i < len(layout); i++ {
		sum = sum>>1 + (sum&1)<<15
		sum += uint16(layout[i])
	}
	return fmt.Sprintf("%04x,%s", sum, layout)
}

func selectAndType(target string) []step {
	return []step{tmateCmd("select-pane", "-t", target), typed("echo layout-$((6*7))")}
}
