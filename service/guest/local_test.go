package guest

import (
	"fmt"
	"math/rand"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"tmate-relay/service/keys"
	"tmate-relay/service/vt"
)

// localTable is the default key table with what a session tells a guest's
// input for its own views: an active pane of w x h in a window of panes
// panes numbered from base, a display-panes-time and mode-keys.
type localTable struct {
	*keys.Table
	pane       ActivePane
	numbersFor time.Duration
	vi         bool
}

func (l localTable) KeyBindings() []keys.Binding     { return l.List() }
func (l localTable) ActivePane() ActivePane          { return l.pane }
func (l localTable) DisplayPanesTime() time.Duration { return l.numbersFor }
func (l localTable) ViModeKeys() bool                { return l.vi }

var _ LocalSource = localTable{}

func newLocalTable(t *testing.T, extra ...[]string) localTable {
	return localTable{Table: defaultTable(t, extra...), pane: ActivePane{ID: 4, W: 80, H: 23, Count: 3}, numbersFor: 5 * time.Second}
}

// views keeps only the ActView actions' views.
func views(acts []Action) []LocalView {
	var out []LocalView
	for _, a := range acts {
		if a.Kind == ActView {
			out = append(out, a.Local)
		}
	}
	return out
}

func TestDisplayPanesInput(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	numbers := Action{Kind: ActView, Local: LocalView{PaneNumbers: true}, For: 5 * time.Second}
	hidden := Action{Kind: ActView}
	for _, c := range []struct {
		name  string
		steps []step
		want  []Action
	}{
		{"prefix q shows the numbers, a digit selects that pane on the host", typed("\x02q", "2x"),
			[]Action{numbers, hidden, hostCmd("select-pane", "-t", ":.2"), pane('x')[0]}},
		{"a digit past the last pane only hides them", typed("\x02q7"), []Action{numbers, hidden}},
		{"any other key hides them and does what it does", typed("\x02qa\x02c"),
			[]Action{numbers, hidden, pane('a')[0], hostCmd("new-window")}},
		{"the prefix hides them and still starts a binding", typed("\x02q\x02c"), []Action{numbers, hidden, hostCmd("new-window")}},
		{"after display-panes-time a digit is a digit", []step{{in: "\x02q"}, {wait: 5 * time.Second}, {in: "1"}},
			[]Action{numbers, pane('1')[0]}},
		{"display-panes from the command prompt", typed("\x02:", "displayp\r", "0"),
			[]Action{numbers, hidden, hostCmd("select-pane", "-t", ":.0")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := NewInput(newLocalTable(t), false)
			in.SetClock(func() time.Time { return start })
			var got []Action
			for _, a := range runInput(t, in, c.steps) {
				if a.Kind != ActPrompt { // the prompt's editing is TestCommandPrompt's
					got = append(got, a)
				}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %v\nwant %v", got, c.want)
			}
		})
	}
	based := newLocalTable(t)
	based.pane.Base = 1
	got := feedAll(NewInput(based, false), "\x02q0", "\x02q3")
	if want := []Action{numbers, hidden, numbers, hidden, hostCmd("select-pane", "-t", ":.3")}; !reflect.DeepEqual(got, want) {
		t.Errorf("pane-base-index 1: got %v, want %v", got, want)
	}
	if got := feedAll(NewInput(newLocalTable(t), true), "\x02q0"); len(got) != 0 {
		t.Errorf("read-only guest: got %v, want nothing", got)
	}
}

func TestKeyListInput(t *testing.T) {
	tab := newLocalTable(t)
	tab.pane.H = 10
	all := keyListLines(tab.List(), "")
	hsize := listHistory(all, 80, 10) // a few lines wrap
	root := keyListLines(tab.List(), "root")
	list := func(oy, cy int) LocalView { return LocalView{List: all, ListPane: 4, ListOY: oy, ListCY: cy} }
	for _, c := range []struct {
		name string
		vi   bool // mode-keys vi
		keys []string
		want []LocalView
	}{
		{"prefix ? opens the list at its first line", false, []string{"\x02?"}, []LocalView{list(hsize, 0)}},
		{"C-v pages down by the height less two, M-v back", false, []string{"\x02?", "\x16", "\x16", "\x1bv"},
			[]LocalView{list(hsize, 0), list(hsize-8, 0), list(hsize-16, 0), list(hsize-8, 0)}},
		{"Up at the top row scrolls, not past the first line", false, []string{"\x02?", "\x1b[A", "\x1b[B", "\x1b[A", "\x1b[A"},
			[]LocalView{list(hsize, 0), list(hsize, 0), list(hsize, 1), list(hsize, 0), list(hsize, 0)}},
		{"M-> goes to the end, M-< back", false, []string{"\x02?", "\x1b>", "\x1b<"},
			[]LocalView{list(hsize, 0), list(0, 9), list(hsize, 0)}},
		{"vi keys too", true, []string{"\x02?", "G", "k", "g"}, []LocalView{list(hsize, 0), list(0, 9), list(0, 8), list(hsize, 0)}},
		{"emacs: g, j and C-b do nothing", false, []string{"\x02?", "gj\x02\x02"}, []LocalView{list(hsize, 0), list(hsize, 0), list(hsize, 0)}},
		{"vi: C-f pages, C-d half a page, PPage back", true, []string{"\x02?", "\x06\x04", "\x1b[5~"}, []LocalView{list(hsize, 0), list(hsize-8, 0), list(hsize-13, 0), list(hsize-5, 0)}},
		{"vi: Escape does not close it", true, []string{"\x02?", "\x1b"}, []LocalView{list(hsize, 0), list(hsize, 0)}},
		{"q closes it", false, []string{"\x02?", "q"}, []LocalView{list(hsize, 0), {}}},
		{"-T lists one table", false, []string{"\x02:", "list-keys -T root\r"}, []LocalView{{List: root, ListPane: 4, ListOY: listHistory(root, 80, 10)}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tab := tab
			tab.vi = c.vi
			got := views(feedAll(NewInput(tab, false), c.keys...))
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %v\nwant %v", brief(got), brief(c.want))
			}
		})
	}

	// Keys in the list stay on the guest; bindings still run.
	in := NewInput(tab, false)
	feedAll(in, "\x02?")
	for _, a := range feedAll(in, "abc\x16\x1b[A") {
		if a.Kind != ActView {
			t.Errorf("a key in the list left the guest: %v", a)
		}
	}
	for _, a := range feedAll(in, "\x1b[200~pasted\x1b[201~") {
		if a.Kind != ActView {
			t.Errorf("pasted text over the list left the guest: %v", a)
		}
	}
	if got := feedAll(in, "\x02c"); !reflect.DeepEqual(got, []Action{hostCmd("new-window")}) {
		t.Errorf("prefix c over the list: got %v", got)
	}
	// When another pane becomes active, keys go to it on the host; the
	// list stays over its own pane.
	other := tab
	other.pane.ID = 5
	in.b = other
	if got := feedAll(in, "j"); !reflect.DeepEqual(got, pane('j')) {
		t.Errorf("a key with another pane active: got %v", got)
	}
	if got := feedAll(in, "\x02d"); !reflect.DeepEqual(got, []Action{detach}) {
		t.Errorf("prefix d over the list: got %v", got)
	}

	// Errors show on the status line, as tmux words them.
	for typed, want := range map[string]string{
		"lsk -T nosuch\r": "Table nosuch doesn't exist",
		"lsk -x\r":        "Usage: list-keys [-t mode-table] [-T key-table]",
		"lsk extra\r":     "Usage: list-keys [-t mode-table] [-T key-table]",
		"lsk -T\r":        "Usage: list-keys [-t mode-table] [-T key-table]",
	} {
		got := feedAll(NewInput(tab, false), "\x02:", typed)
		if last := got[len(got)-1]; last.Kind != ActMessage || last.Message != want {
			t.Errorf("%q: got %v, want the message %q", typed, last, want)
		}
	}
}

// brief shows views without their lines.
func brief(vs []LocalView) []string {
	var out []string
	for _, v := range vs {
		out = append(out, fmt.Sprintf("numbers=%v lines=%d oy=%d cy=%d", v.PaneNumbers, len(v.List), v.ListOY, v.ListCY))
	}
	return out
}

func TestKeyListScroll(t *testing.T) {
	lines := make([]string, 30)
	for i := range lines {
		lines[i] = fmt.Sprint("line ", i)
	}
	for _, c := range []struct {
		name          string
		start         keyList
		k             keys.Key
		vi            bool
		h             int
		wantOY, wantY int
		open          bool
	}{
		{"page down", keyList{oy: 20}, keys.NPage, false, 10, 12, 0, true},
		{"page down stops at the end", keyList{oy: 3}, keys.NPage, false, 10, 0, 0, true},
		{"page up stops at the first line", keyList{oy: 15}, keys.PPage, false, 10, 20, 0, true},
		{"two-row pane pages by one", keyList{oy: 5}, keys.PPage, false, 2, 6, 0, true},
		{"down at the last row scrolls", keyList{oy: 5, cy: 9}, keys.Down, false, 10, 4, 9, true},
		{"C-Up scrolls without moving the cursor", keyList{oy: 5, cy: 3}, keys.Up | keys.Ctrl, false, 10, 6, 3, true},
		{"an offset beyond the list is clamped first", keyList{oy: 99}, keys.Up | keys.Ctrl, false, 10, 20, 0, true},
		{"escape closes", keyList{oy: 5}, keys.Escape, false, 10, 5, 0, false},
		{"vi: C-u is half a page up", keyList{oy: 5}, 21, true, 10, 10, 0, true},
		{"vi: G is the end", keyList{oy: 5}, 'G', true, 10, 0, 9, true},
		{"other keys do nothing", keyList{oy: 5}, 'x', false, 10, 5, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := c.start
			l.lines = lines
			open := l.key(c.k, 80, c.h, c.vi)
			if open != c.open || l.oy != c.wantOY || l.cy != c.wantY {
				t.Errorf("got oy=%d cy=%d open=%v, want oy=%d cy=%d open=%v", l.oy, l.cy, open, c.wantOY, c.wantY, c.open)
			}
		})
	}
}

func TestPrintCommand(t *testing.T) {
	for _, c := range []struct {
		argv []string
		want string
	}{
		{[]string{"selectp", "-U"}, "select-pane -U"},
		{[]string{"split-window", "-v", "-h", "-c", "#{pane_current_path}"}, "split-window -hv -c #{pane_current_path}"},
		{[]string{"command-prompt", "-p", "a b", "-I", "x", "rename '%%'"}, `command-prompt -I x -p "a b" "rename '%%'"`},
		{[]string{"if-shell", "-F", "-t", "=", "#{x}", "a b", "c"}, `if-shell -F -t = #{x} "a b" c`},
		{[]string{"resize-pane", "-Z", "-D", "5"}, "resize-pane -DZ 5"},
		{[]string{"no-such-command", "-x", "y"}, "no-such-command -x y"},
		{[]string{"select-pane", "-Q"}, "select-pane -Q"},
	} {
		if got := printCommand(c.argv); got != c.want {
			t.Errorf("%q: got %q, want %q", c.argv, got, c.want)
		}
	}
}

func TestKeyListLinesPadding(t *testing.T) {
	b := func(table string, k keys.Key, repeat bool, cmd ...string) keys.Binding {
		return keys.Binding{Table: table, Key: k, Repeat: repeat, Command: cmd}
	}
	for _, c := range []struct {
		name     string
		bindings []keys.Binding
		table    string
		want     []string
	}{
		{"no repeat: no column for -r", []keys.Binding{b("prefix", 'c', false, "new-window"), b("root", keys.F12, false, "kill-pane")}, "",
			[]string{"bind-key -T prefix c   new-window", "bind-key -T root   F12 kill-pane"}},
		{"a repeating binding pads the others", []keys.Binding{b("prefix", keys.Up, true, "selectp", "-U"), b("prefix", 'x', false, "kill-pane")}, "",
			[]string{"bind-key -r -T prefix Up select-pane -U", "bind-key    -T prefix x  kill-pane"}},
		{"one table; its widths only", []keys.Binding{b("a-long-table", 'x', true, "kill-pane"), b("root", 'y', false, "kill-pane", ";", "new-window")}, "root",
			[]string{"bind-key -T root y kill-pane ; new-window"}},
		{"mode tables are left out", []keys.Binding{{Table: "emacs-copy", Key: 'q', Mode: true, Command: []string{"cancel"}}}, "", []string{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := keyListLines(c.bindings, c.table); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

// localView is a two-pane window (pane 1 active) with the guest's own
// views on top.
func localView(local LocalView) *View {
	v := frameWin(layoutPane(0, 0, 0, 40, 23), layoutPane(1, 41, 0, 39, 23))
	v.Panes[1].Index = 1
	if local.List != nil {
		local.ListPane = 1
	}
	v.Local = local
	return v
}

// TestLocalViewsGolden pins how a guest draws pane numbers and the key
// list; the parity workloads compare the same with a real tmate client.
func TestLocalViewsGolden(t *testing.T) {
	lines := make([]string, 40)
	for i := range lines {
		lines[i] = fmt.Sprintf("bind-key -T prefix %d select-window -t :=%d", i, i)
	}
	lines[3] = strings.Repeat("wrapped-", 7) + "日本語"
	cases := []struct {
		name string
		v    *View
		w, h int
	}{
		{"local-panes", localView(LocalView{PaneNumbers: true}), 80, 24},
		{"local-panes-small-and-coloured", func() *View {
			v := frameWin(layoutPane(0, 0, 0, 80, 3), layoutPane(1, 0, 4, 80, 4), layoutPane(2, 0, 9, 4, 14), layoutPane(3, 5, 9, 75, 14))
			for i := range v.Panes {
				v.Panes[i].Index = i + 9
			}
			v.ActivePane = 3
			v.PanesColour, v.PanesActiveColour = "colour33", "#ff8000"
			v.Local.PaneNumbers = true
			return v
		}(), 80, 24},
		{"local-panes-guest-smaller", localView(LocalView{PaneNumbers: true}), 60, 12},
		{"local-panes-status-top", func() *View {
			v := localView(LocalView{PaneNumbers: true})
			v.StatusTop = true
			return v
		}(), 80, 24},
		{"local-list-top", localView(LocalView{List: lines, ListOY: 1000}), 80, 24}, // clamped: the first line
		{"local-list-scrolled", func() *View {
			v := localView(LocalView{List: lines, ListOY: 2, ListCY: 5})
			v.ModeStyle = "fg=white,bg=magenta"
			return v
		}(), 80, 24},
		{"local-list-over-an-inactive-pane", func() *View {
			v := localView(LocalView{List: lines, ListOY: 1000})
			v.ActivePane = 0
			return v
		}(), 80, 24},
		{"local-list-short-under-a-prompt", func() *View {
			v := localView(LocalView{List: lines[:3]})
			v.Prompt = Prompt{Text: ":", Buffer: "list-keys", Cursor: 9}
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

// TestLocalViewsIncremental checks that the guest's own views keep
// Compose's per-row cache right: with them shown, composing and rendering
// only what changed gives the frames and bytes of doing everything anew.
func TestLocalViewsIncremental(t *testing.T) {
	lines := keyListLines(defaultTable(t).List(), "")
	locals := []LocalView{{}, {PaneNumbers: true}, {List: lines, ListPane: 1, ListOY: 40, ListCY: 2}, {List: lines, PaneNumbers: true}}
	rng := rand.New(rand.NewSource(3))
	for run := 0; run < 100; run++ {
		s := newIncState()
		var f Frame
		var inc, ref Renderer
		var got, want []byte
		for i := 0; i < 60; i++ {
			if rng.Intn(8) == 0 {
				s.v.Local = locals[rng.Intn(len(locals))]
			} else {
				s.step(byte(rng.Intn(256)), byte(rng.Intn(256)))
			}
			for j := range s.v.Panes {
				s.v.Panes[j].Index = j
			}
			Compose(&s.v, s.w, s.h, &f)
			full := s.reference()
			if f.CursorX != full.CursorX || f.CursorY != full.CursorY || f.CursorVisible != full.CursorVisible || !equalCells(f.Cells, full.Cells) {
				t.Fatalf("run %d step %d: incremental frame\n%s\nfrom scratch\n%s%s", run, i, dumpFrame(&f), dumpFrame(full), firstDiff(&f, full))
			}
			got = inc.Render(got[:0], &f)
			want = ref.Render(want[:0], full)
			checkRendered(t, fmt.Sprintf("run %d step %d", run, i), &inc, &ref, &f, got, want)
		}
	}
}

// The cells under a wide character cut by an overlay become blanks.
func TestPutCellSplitsWideCharacters(t *testing.T) {
	v := frameWin(PaneView{ID: 0, W: 80, H: 23, Screen: newFake(80, 23).write(0, 0, vt.Cell{}, "日本語")})
	var f Frame
	Compose(v, 80, 24, &f)
	putCell(&f, 1, 0, vt.Cell{Rune: 'x', Width: 1}, 23)
	putCell(&f, 2, 0, vt.Cell{Rune: 'y', Width: 1}, 23)
	var row []string
	for x := 0; x < 6; x++ {
		c := f.At(x, 0)
		row = append(row, fmt.Sprintf("%q/%d", c.Rune, c.Width))
	}
	want := []string{"' '/1", "'x'/1", "'y'/1", "' '/1", "'語'/2", "'\\x00'/0"}
	if !reflect.DeepEqual(row, want) {
		t.Errorf("got %v, want %v", row, want)
	}
}

// BenchmarkComposeLocalViews is the cost of a frame whose panes changed
// while the guest's own views show (they are drawn again on every frame).
func BenchmarkComposeLocalViews(b *testing.B) {
	lines := keyListLines(defaultTable(b).List(), "")
	for _, bc := range []struct {
		name  string
		local LocalView
	}{
		{"none", LocalView{}},
		{"pane-numbers", LocalView{PaneNumbers: true}},
		{"key-list", LocalView{List: lines, ListPane: 1, ListOY: 10}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := newIncState()
			s.layout = 1
			s.build()
			for j := range s.v.Panes {
				s.v.Panes[j].Index = j
			}
			s.v.Local = bc.local
			var f Frame
			Compose(&s.v, 80, 24, &f)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s.emus[i%2].Write([]byte("x"))
				Compose(&s.v, 80, 24, &f)
			}
		})
	}
}

// Pane numbers over a full-width pane that scrolls: the frame's rows of
// the pane move with the scroll (moveScrolled), and the numbers must not
// move with them and stay behind as a smear.
func TestPaneNumbersStayPutWhileThePaneScrolls(t *testing.T) {
	e := vt.New(80, 23, 100)
	v := frameWin(PaneView{ID: 0, W: 80, H: 23, Screen: e})
	v.Local = LocalView{PaneNumbers: true}
	var f Frame
	var r Renderer
	var out []byte
	for i := range 60 {
		e.Write([]byte(fmt.Sprintf("line %d\r\n", i)))
		Compose(v, 80, 24, &f)
		out = r.Render(out[:0], &f)
		var full Frame
		Compose(v, 80, 24, &full)
		if !equalCells(f.Cells, full.Cells) {
			t.Fatalf("after line %d: incremental frame\n%s\nfrom scratch\n%s%s", i, dumpFrame(&f), dumpFrame(&full), firstDiff(&f, &full))
		}
	}
}
