package guest

import (
	"fmt"
	"math/rand"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// layoutCase is a window layout as a tmate 2.4 host makes it: the
// commands that make it on a host (each pane runs blankPaneCmd), the
// layout string tmate then prints for the window (#{window_layout}
// without its checksum), the active pane's index, whether it is zoomed,
// and the size of the guest drawing it.
type layoutCase struct {
	name   string
	make   [][]string
	layout string
	active int
	zoom   bool
	w, h   int
	// host options set before the panes are made: status-position,
	// pane-border-style, pane-active-border-style, main-pane-width
	options [][2]string
}

// blankPaneCmd is what every pane of a layout case runs: nothing it
// prints, so that the panes stay blank with their cursor at the top left.
const blankPaneCmd = "exec sleep 600"

// splitsWith makes n panes, applying layout after each split.
func splitsWith(n int, layout string) [][]string {
	var cmds [][]string
	for i := 1; i < n; i++ {
		cmds = append(cmds, []string{"split-window", blankPaneCmd}, []string{"select-layout", layout})
	}
	return cmds
}

// customLayout makes the n panes of layout and applies it: a layout
// string may hold panes smaller than tmate's splits and resizes make.
func customLayout(n int, layout string) [][]string {
	return append(splitsWith(n, "tiled"), []string{"select-layout", checksummed(layout)})
}

var nestedSplits = [][]string{{"split-window", "-h", blankPaneCmd}, {"split-window", "-v", blankPaneCmd}, {"split-window", "-h", blankPaneCmd}}

const (
	nested80x23    = "80x23,0,0{40x23,0,0,0,39x23,41,0[39x11,41,0,1,39x11,41,12{19x11,41,12,2,19x11,61,12,3}]}"
	oneRowPanes    = "80x23,0,0[80x14,0,0,0,80x1,0,15,1,80x1,0,17,2,80x1,0,19,3,80x2,0,21,4]"
	oneColPanes    = "80x23,0,0{63x23,0,0,0,1x23,64,0,1,1x23,66,0,2,1x23,68,0,3,10x23,70,0,4}"
	oneRowAndCol   = "80x23,0,0{50x23,0,0[50x1,0,0,0,50x1,0,2,1,50x19,0,4,2],1x23,51,0,3,27x23,53,0[27x10,53,0,4,27x1,53,11,5,27x10,53,13,6]}"
	twoOneRow      = "80x23,0,0[80x21,0,0,0,80x1,0,22,1]"
	twoOneCol      = "80x23,0,0{1x23,0,0,0,78x23,2,0,1}"
	smallRowAndCol = "60x17,0,0{40x17,0,0[40x1,0,0,0,40x1,0,2,1,40x13,0,4,2],1x17,41,0,3,17x17,43,0[17x8,43,0,4,17x1,43,9,5,17x6,43,11,6]}"
)

var layoutCases = []layoutCase{
	{name: "even-horizontal", make: splitsWith(4, "even-horizontal"), active: 1, w: 80, h: 24,
		layout: "80x23,0,0{19x23,0,0,0,19x23,20,0,1,19x23,40,0,2,20x23,60,0,3}"},
	{name: "even-vertical", make: splitsWith(4, "even-vertical"), active: 2, w: 80, h: 24,
		layout: "80x23,0,0[80x5,0,0,0,80x5,0,6,1,80x5,0,12,2,80x5,0,18,3]"},
	{name: "tiled-6", make: splitsWith(6, "tiled"), active: 4, w: 80, h: 24,
		layout: "79x23,0,0[80x7,0,0{39x7,0,0,0,40x7,40,0,1},80x7,0,8{39x7,0,8,2,40x7,40,8,3},80x7,0,16{39x7,0,16,4,40x7,40,16,5}]"},
	{name: "main-vertical", make: splitsWith(4, "main-vertical"), active: 0, w: 80, h: 24,
		layout: "80x23,0,0{30x23,0,0,0,49x23,31,0[49x7,31,0,1,49x7,31,8,2,49x7,31,16,3]}"},
	{name: "main-vertical-default-width", make: splitsWith(3, "main-vertical"), active: 1, w: 80, h: 24,
		options: [][2]string{{"main-pane-width", "80"}},
		layout:  "80x23,0,0{77x23,0,0,0,2x23,78,0[2x11,78,0,1,2x11,78,12,2]}"},
	{name: "main-horizontal", make: splitsWith(4, "main-horizontal"), active: 3, w: 80, h: 24,
		layout: "80x23,0,0[80x9,0,0,0,80x13,0,10{26x13,0,10,1,26x13,27,10,2,26x13,54,10,3}]"},
	{name: "nested", make: nestedSplits, layout: nested80x23, active: 2, w: 80, h: 24},
	{name: "nested-first-active", make: nestedSplits, layout: nested80x23, active: 0, w: 80, h: 24},
	{name: "nested-zoomed", make: nestedSplits, layout: nested80x23, active: 3, zoom: true, w: 80, h: 24},
	{name: "one-row-panes", make: customLayout(5, oneRowPanes), layout: oneRowPanes, active: 2, w: 80, h: 24},
	{name: "one-column-panes", make: customLayout(5, oneColPanes), layout: oneColPanes, active: 2, w: 80, h: 24},
	{name: "one-row-and-column", make: customLayout(7, oneRowAndCol), layout: oneRowAndCol, active: 5, w: 80, h: 24},
	{name: "two-one-row-top-active", make: customLayout(2, twoOneRow), layout: twoOneRow, active: 0, w: 80, h: 24},
	{name: "two-one-row-bottom-active", make: customLayout(2, twoOneRow), layout: twoOneRow, active: 1, w: 80, h: 24},
	{name: "two-one-column-left-active", make: customLayout(2, twoOneCol), layout: twoOneCol, active: 0, w: 80, h: 24},
	{name: "two-one-column-right-active", make: customLayout(2, twoOneCol), layout: twoOneCol, active: 1, w: 80, h: 24},
	{name: "tiled-53", make: splitsWith(53, "tiled"), active: 23, w: 200, h: 60, layout: "195x55,0,0[" +
		tiledRow(0, 27, 32) + "," + tiledRow(7, 27, 32) + "," + tiledRow(14, 27, 32) + "," + tiledRow(21, 27, 32) + "," +
		tiledRow(28, 27, 32) + "," + tiledRow(35, 27, 32) + "," + tiledRow(42, 27, 32) + "," +
		"200x10,0,49{27x10,0,49,49,27x10,28,49,50,27x10,56,49,51,116x10,84,49,52}]"},
	// Guests larger than the session, which a smaller client sizes.
	{name: "bigger-tiled-5", make: splitsWith(5, "tiled"), active: 4, w: 80, h: 24,
		layout: "59x17,0,0[60x5,0,0{29x5,0,0,0,30x5,30,0,1},60x5,0,6{29x5,0,6,2,30x5,30,6,3},60x5,0,12,4]"},
	{name: "bigger-nested", make: nestedSplits, active: 1, w: 80, h: 24,
		layout: "70x19,0,0{35x19,0,0,0,34x19,36,0[34x9,36,0,1,34x9,36,10{17x9,36,10,2,16x9,54,10,3}]}"},
	{name: "bigger-zoomed", make: nestedSplits, active: 3, zoom: true, w: 80, h: 24,
		layout: "60x17,0,0{30x17,0,0,0,29x17,31,0[29x8,31,0,1,29x8,31,9{14x8,31,9,2,14x8,46,9,3}]}"},
	// With two panes only half of the border between them is the
	// active one's, also next to the filler.
	{name: "bigger-two-side-by-side", make: [][]string{{"split-window", "-h", blankPaneCmd}}, active: 0, w: 80, h: 24,
		layout: "60x17,0,0{30x17,0,0,0,29x17,31,0,1}"},
	{name: "bigger-two-stacked", make: [][]string{{"split-window", "-v", blankPaneCmd}}, active: 1, w: 80, h: 24,
		layout: "60x17,0,0[60x8,0,0,0,60x8,0,9,1]"},
	{name: "bigger-one-row-and-column", make: customLayout(7, smallRowAndCol), layout: smallRowAndCol, active: 3, w: 100, h: 30},
	{name: "wider-only", make: nestedSplits, layout: nested80x23, active: 1, w: 100, h: 24},
	{name: "taller-only", make: nestedSplits, layout: nested80x23, active: 3, w: 80, h: 30},
	// The size note goes where tmux finds room for it: beside the window
	// when the guest is much wider, nowhere when one row taller only.
	{name: "much-wider", make: nestedSplits, layout: nested80x23, active: 3, w: 130, h: 24},
	{name: "one-row-taller", make: nestedSplits, layout: nested80x23, active: 3, w: 80, h: 25},
	// The status line on top moves the window and the filler down a row.
	{name: "status-top-tiled-6", make: splitsWith(6, "tiled"), active: 1, w: 80, h: 24,
		options: [][2]string{{"status-position", "top"}},
		layout:  "79x23,0,0[80x7,0,0{39x7,0,0,0,40x7,40,0,1},80x7,0,8{39x7,0,8,2,40x7,40,8,3},80x7,0,16{39x7,0,16,4,40x7,40,16,5}]"},
	{name: "status-top-bigger-nested", make: nestedSplits, active: 2, w: 80, h: 24,
		options: [][2]string{{"status-position", "top"}},
		layout:  "70x19,0,0{35x19,0,0,0,34x19,36,0[34x9,36,0,1,34x9,36,10{17x9,36,10,2,16x9,54,10,3}]}"},
	// Border styles colour the borders and the filler outside the window.
	{name: "styled-bigger-nested", make: nestedSplits, active: 3, w: 80, h: 24,
		options: [][2]string{{"pane-border-style", "fg=red,bg=blue"}, {"pane-active-border-style", "fg=colour208,bold"}},
		layout:  "70x19,0,0{35x19,0,0,0,34x19,36,0[34x9,36,0,1,34x9,36,10{17x9,36,10,2,16x9,54,10,3}]}"},
	{name: "styled-two-one-column", make: customLayout(2, twoOneCol), layout: twoOneCol, active: 1, w: 80, h: 24,
		options: [][2]string{{"pane-border-style", "fg=yellow"}, {"pane-active-border-style", "bg=magenta"}}},
}

// tiledRow is one 200-column row of seven panes six rows high in tmate's
// tiled layout, the first at row y: six w wide, then the last one.
func tiledRow(y, w, last int) string {
	cells := make([]string, 7)
	for i := range cells {
		cw := w
		if i == 6 {
			cw = last
		}
		cells[i] = fmt.Sprintf("%dx6,%d,%d,%d", cw, i*(w+1), y, y+i)
	}
	return fmt.Sprintf("200x6,0,%d{%s}", y, strings.Join(cells, ","))
}

// checksummed prefixes a layout string with tmux's checksum of it, as
// select-layout wants it.
func checksummed(layout string) string {
	var sum uint16
	for i := 0; i < len(layout); i++ {
		sum = sum>>1 + (sum&1)<<15
		sum += uint16(layout[i])
	}
	return fmt.Sprintf("%04x,%s", sum, layout)
}

// layoutPanes reads the panes of a tmux layout string, in layout order:
// "WxH,X,Y" then ",ID" for a pane or {...} / [...] around its children.
func layoutPanes(t testing.TB, s string) (w, h int, panes []PaneView) {
	t.Helper()
	pos := 0
	num := func() int {
		start := pos
		for pos < len(s) && s[pos] >= '0' && s[pos] <= '9' {
			pos++
		}
		n, err := strconv.Atoi(s[start:pos])
		if err != nil {
			t.Fatalf("layout %q: no number at %d", s, start)
		}
		return n
	}
	expect := func(c byte) {
		if pos >= len(s) || s[pos] != c {
			t.Fatalf("layout %q: want %q at %d", s, c, pos)
		}
		pos++
	}
	var cell func() (int, int)
	cell = func() (int, int) {
		cw := num()
		expect('x')
		ch := num()
		expect(',')
		x := num()
		expect(',')
		y := num()
		if pos < len(s) && (s[pos] == '{' || s[pos] == '[') {
			end := byte('}')
			if s[pos] == '[' {
				end = ']'
			}
			pos++
			for {
				cell()
				if s[pos] == end {
					pos++
					return cw, ch
				}
				expect(',')
			}
		}
		expect(',')
		id := num()
		panes = append(panes, PaneView{ID: id, Index: len(panes), X: x, Y: y, W: cw, H: ch})
		return cw, ch
	}
	w, h = cell()
	if pos != len(s) {
		t.Fatalf("layout %q: trailing %q", s, s[pos:])
	}
	return w, h, panes
}

// layoutView is the View a relay holds for lc's window: blank panes with
// their cursors at the top left, the status line of newLayoutHost.
func layoutView(t testing.TB, lc layoutCase) *View {
	w, h, panes := layoutPanes(t, lc.layout)
	// The root of a tiled layout may be narrower than its rows: the
	// window is as large as the panes reach.
	for _, p := range panes {
		w, h = max(w, p.X+p.W), max(h, p.Y+p.H)
	}
	for i := range panes {
		panes[i].Screen = newFake(panes[i].W, panes[i].H)
	}
	active := &panes[lc.active]
	if lc.zoom {
		// A zoomed pane covers the window; the others keep their place.
		active.X, active.Y, active.W, active.H = 0, 0, w, h
		active.Screen = newFake(w, h)
	}
	v := &View{W: w, H: h, Panes: panes, ActivePane: active.ID, StatusOn: true,
		StatusLeft: "[0] ", StatusRight: "RIGHT",
		Windows: []WindowView{{Index: 0, Name: "layout", Active: true, Zoomed: lc.zoom}}}
	for _, o := range lc.options {
		switch o[0] {
		case "status-position":
			v.StatusTop = o[1] == "top"
		case "pane-border-style":
			v.PaneBorderStyle = o[1]
		case "pane-active-border-style":
			v.PaneActiveBorderStyle = o[1]
		case "main-pane-width":
			// the host's alone: the layout string has its effect
		default:
			t.Fatalf("layout case option %s is not drawn by layoutView", o[0])
		}
	}
	return v
}

func layoutGoldenPath(lc layoutCase) string {
	return filepath.Join("testdata", "layout-"+lc.name+".golden")
}

// TestLayoutGolden composes every layout case and compares it with its
// golden file; TestLayoutGoldenMatchesTmateClient checks the golden files
// against a real tmate 2.4 client.
func TestLayoutGolden(t *testing.T) {
	for _, lc := range layoutCases {
		t.Run(lc.name, func(t *testing.T) {
			var f Frame
			Compose(layoutView(t, lc), lc.w, lc.h, &f)
			checkGolden(t, layoutGoldenPath(lc), dumpFrame(&f))
		})
	}
}

// TestLayoutGoldenMatchesTmateClient makes each layout case on a real
// tmate 2.4 host, attaches real tmate clients (one of the session's size,
// and when the case's guest is larger, one of the guest's size too), and
// compares what the guest-sized client's terminal shows, with its cursor,
// with the case's golden file.
func TestLayoutGoldenMatchesTmateClient(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("runs real tmate and tmux")
	}
	needTool(t, "tmate")
	for _, lc := range layoutCases {
		t.Run(lc.name, func(t *testing.T) {
			t.Parallel()
			want, err := os.ReadFile(layoutGoldenPath(lc))
			if err != nil {
				t.Fatal(err)
			}
			v := layoutView(t, lc)
			h := newLayoutHost(t, v.W, v.H)
			for _, o := range lc.options {
				h.run("set", "-g", o[0], o[1])
			}
			for _, c := range lc.make {
				h.run(c...)
			}
			if got := strings.TrimSpace(h.run("list-windows", "-F", "#{window_layout}")); got[5:] != lc.layout {
				t.Fatalf("the host made layout %s, the case says %s", got[5:], lc.layout)
			}
			h.run("select-pane", "-t", fmt.Sprintf(":.%d", lc.active))
			if lc.zoom {
				h.run("resize-pane", "-Z")
			}
			probe := newTmux(t)
			attach := func(name string, w, hh int) {
				probe.run("new-session", "-d", "-s", name, "-x", fmt.Sprint(w), "-y", fmt.Sprint(hh),
					"env -u TMUX tmate -S "+h.sock+" attach")
			}
			client := "session"
			attach(client, v.W, v.H+1)
			if lc.w != v.W || lc.h != v.H+1 {
				// Only once the session-sized client is attached: alone,
				// the larger one would grow the window first, and tmux's
				// layout would not shrink back to the same cells.
				deadline := time.Now().Add(15 * time.Second)
				for strings.TrimSpace(h.run("display", "-p", "#{session_attached}")) != "1" {
					if time.Now().After(deadline) {
						t.Fatal("the session-sized tmate client did not attach within 15s")
					}
					time.Sleep(50 * time.Millisecond)
				}
				client = "guest"
				attach(client, lc.w, lc.h)
			}
			// The client takes a moment to draw, and off the network
			// tmate shows a connection message now and then.
			var got string
			deadline := time.Now().Add(15 * time.Second)
			for {
				f := parseCapture(probe.run("capture-pane", "-p", "-e", "-t", client), lc.w, lc.h)
				cur := strings.Split(strings.TrimSpace(probe.run("display", "-p", "-t", client, "#{cursor_x},#{cursor_y},#{cursor_flag}")), ",")
				f.CursorX, _ = strconv.Atoi(cur[0])
				f.CursorY, _ = strconv.Atoi(cur[1])
				f.CursorVisible = cur[2] == "1"
				got = dumpFrame(f)
				if got == string(want) || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if got != string(want) {
				t.Errorf("a tmate client draws (+) what %s does not (-):\n%s", layoutGoldenPath(lc), goldenDiff(got, string(want)))
			}
		})
	}
}

// newLayoutHost is a tmate 2.4.0 host kept off the network with one
// window of w x h named "layout", its first pane out of the start-up
// tips.
func newLayoutHost(t *testing.T, w, h int) *tmateHost {
	dir := t.TempDir()
	conf := filepath.Join(dir, "tmate.conf")
	os.WriteFile(conf, []byte("set -g tmate-server-host 127.0.0.1\nset -g tmate-server-port 1\n"+
		"set -g tmate-display-time 1\nset -g display-time 1\nset -g status-right 'RIGHT'\n"+
		"set -g main-pane-width 30\nset -g main-pane-height 9\n"), 0o644)
	host := &tmateHost{t: t, sock: filepath.Join(dir, "h.sock")}
	host.run("-f", conf, "new-session", "-d", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h+1), blankPaneCmd)
	t.Cleanup(func() { osexec.Command("tmate", "-S", host.sock, "kill-server").Run() })
	host.run("rename-window", "layout")
	host.run("send-keys", "-t", ":.0", "q")
	if mode := strings.TrimSpace(host.run("display", "-p", "-t", ":.0", "#{pane_in_mode}")); mode != "0" {
		t.Fatalf("the first pane is still in a mode (%s)", mode)
	}
	return host
}

// tmuxCellType is screen_redraw_check_cell as tmux writes it, asking every
// pane about every cell; mapBorders must give the same answers.
func tmuxCellType(c *composer, px, py int) (int, *PaneView) {
	isBorder := func(x, y int) bool {
		for _, p := range c.panes {
			if r := border1(p, x, y); r != -1 {
				return r == 1
			}
		}
		return false
	}
	v := c.v
	if px > v.W || py > v.H {
		return cellOutside, nil
	}
	names := map[int]int{15: cellJoin, 14: cellBottomJoin, 13: cellTopJoin, 12: cellTopBottom, 11: cellRightJoin,
		10: cellBottomRight, 9: cellTopRight, 7: cellLeftJoin, 6: cellBottomLeft, 5: cellTopLeft, 3: cellLeftRight}
	for _, p := range c.panes {
		if (p.X != 0 && px < p.X-1) || px > p.X+p.W || (p.Y != 0 && py < p.Y-1) || py > p.Y+p.H {
			continue
		}
		if !isBorder(px, py) {
			return cellInside, p
		}
		b := 0
		if px == 0 || isBorder(px-1, py) {
			b |= 8
		}
		if px <= v.W && isBorder(px+1, py) {
			b |= 4
		}
		if py == 0 || isBorder(px, py-1) {
			b |= 2
		}
		if py <= v.H && isBorder(px, py+1) {
			b |= 1
		}
		if typ, ok := names[b]; ok {
			return typ, p
		}
	}
	return cellOutside, nil
}

// TestBorderMapMatchesTmuxRule checks every cell of the layout cases and
// of random, overlapping pane sets (a layout message may hold anything)
// against tmux's rule.
func TestBorderMapMatchesTmuxRule(t *testing.T) {
	var views []*View
	for _, lc := range layoutCases {
		views = append(views, layoutView(t, lc))
	}
	rng := rand.New(rand.NewSource(3))
	for i := 0; i < 300; i++ {
		v := &View{W: 1 + rng.Intn(30), H: 1 + rng.Intn(12)}
		for id := 0; id < 1+rng.Intn(6); id++ {
			x, y := rng.Intn(v.W), rng.Intn(v.H)
			v.Panes = append(v.Panes, PaneView{ID: id, X: x, Y: y, W: 1 + rng.Intn(v.W-x), H: 1 + rng.Intn(v.H-y)})
		}
		v.ActivePane = rng.Intn(len(v.Panes) + 1)
		views = append(views, v)
	}
	for n, v := range views {
		var c composer
		c.init(v, nil)
		c.mapBorders(nil)
		for y := 0; y <= v.H+1; y++ {
			for x := 0; x <= v.W+1; x++ {
				typ, p := c.cellType(x, y)
				wantTyp, wantP := tmuxCellType(&c, x, y)
				if typ != wantTyp || p != wantP {
					t.Fatalf("view %d (%dx%d, panes %+v): cell %d,%d is %d of %p, tmux says %d of %p",
						n, v.W, v.H, v.Panes, x, y, typ, p, wantTyp, wantP)
				}
			}
		}
	}
}
