package guest

import (
	"strings"
	"testing"
	"time"

	"tmate-relay/service/vt"
)

func TestExpandFormat(t *testing.T) {
	v := &View{W: 80, H: 23, Host: "box.example.com", SessionName: "0", Windows: make([]WindowView, 3)}
	wv := &WindowView{Index: 3, Name: "logs", Active: true, Zoomed: true, PaneIndex: 1, PaneID: 7, PaneTitle: "vim main.go", PaneCount: 2}
	bg := &WindowView{Index: 4, Name: "build", Activity: true, Bell: true, Silence: true}
	for _, tc := range []struct {
		format string
		wv     *WindowView
		want   string
	}{
		{"#I:#W#F", wv, "3:logs*Z"},
		{"#I:#W#F", bg, "4:build#!~"},
		{"#{window_index}.#{window_name}", wv, "3.logs"},
		{"#{?window_flags,#{window_flags}, }", wv, "*Z"},
		{"#{?window_last_flag,L,#{=2:window_name}}", wv, "lo"},
		{"#{=-3:window_name}", wv, "ogs"},
		{"#{=3x:window_name}", wv, ""},
		{"##I #[fg=red]x #q #{nope}", wv, "#I #[fg=red]x #q "},
		{"#H #h #T #P #D #S", wv, "box.example.com box vim main.go 1 %7 0"},
		{"#T", bg, "box.example.com"},
		{"#{pane_title}|#{pane_index}|#{pane_id}|#{window_panes}", wv, "vim main.go|1|%7|2"},
		{"#{window_width}x#{window_height} #{session_windows}", wv, "80x23 3"},
		{"#{window_activity_flag}#{window_bell_flag}#{window_silence_flag}", bg, "111"},
		{"#{window_activity_flag}#{window_bell_flag}#{window_silence_flag}", wv, "000"},
		{"#{?window_bell_flag,#[fg=red]BELL,quiet}", bg, "#[fg=red]BELL"},
		{"#{?window_bell_flag,a,b,c}", wv, "b,c"},
		{"#{?window_bell_flag,#{?window_active,x,y},z}", bg, "y"},
		{"#{s/o/0/:window_name}", wv, "l0gs"},
		{"#{b:pane_title}", &WindowView{PaneTitle: "/usr/local/bin"}, "bin"},
		{"#{d:pane_title}", &WindowView{PaneTitle: "/usr/local/bin"}, "/usr/local"},
		{"#{t:window_name}", wv, ""},
		{"#(uptime)#I", wv, "3"},
		// tmux stops expanding at what it cannot parse.
		{"#I #{window_name", wv, "3 "},
		{"#I #{?window_active,yes}", wv, "3 "},
		{"#I #(date", wv, "3 "},
		{"end#", wv, "end#"},
	} {
		if got := string(expandFormat(nil, tc.format, v, tc.wv, 0)); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.format, got, tc.want)
		}
	}
}

// A host's window status format expands to at most MaxExpansion bytes
// (and one value more), whatever it repeats and however long the names.
func TestExpansionIsBounded(t *testing.T) {
	v := &View{W: 80, H: 23, Windows: make([]WindowView, 1)}
	wv := &WindowView{Name: strings.Repeat("n", 10000), PaneTitle: strings.Repeat("t", 10000)}
	for _, f := range []string{
		strings.Repeat("#W", 500000),
		strings.Repeat("#{window_name}", 70000),
		strings.Repeat("#{?window_name,#W#T,}", 40000),
		strings.Repeat("%c", 500000),
	} {
		if got := len(windowStatusText(nil, f, v, wv, time.Unix(0, 0))); got > MaxExpansion+20000 {
			t.Errorf("%.20q... (%d bytes) expands to %d bytes", f, len(f), got)
		}
	}
}

func TestStrftime(t *testing.T) {
	at := time.Date(2026, time.March, 5, 14, 7, 9, 0, time.UTC)
	for _, tc := range []struct{ format, want string }{
		{"%H:%M %d-%b-%y", "14:07 05-Mar-26"},
		{"%a %A %B %Y %j", "Thu Thursday March 2026 064"},
		{"%I %l %p %P %k", "02  2 PM pm 14"},
		{"%-d %_m %e %-H", "5  3  5 14"},
		{"%F %T %R %D", "2026-03-05 14:07:09 14:07 03/05/26"},
		{"%u %w %U %W %V %G %g", "4 4 09 09 10 2026 26"},
		{"%^b %Z %z %%", "MAR UTC +0000 %"},
		{"%Ey %Od", "26 05"},
		{"100% %q #{x}", "100% %q #{x}"},
		{"trailing %", "trailing %"},
	} {
		if got := strftime(tc.format, at); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.format, got, tc.want)
		}
	}
}

func TestWindowStatusTextRunsStrftimeFirst(t *testing.T) {
	at := time.Date(2026, time.March, 5, 14, 7, 9, 0, time.UTC)
	got := string(windowStatusText(nil, "%H#I %%W #W", &View{}, &WindowView{Index: 2, Name: "w"}, at))
	if want := "142 %W w"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestWindowStatusCell(t *testing.T) {
	std := vt.Cell{Fg: vt.ANSI(0), Bg: vt.ANSI(2)}
	for _, tc := range []struct {
		name string
		wv   WindowView
		want vt.Cell
	}{
		{"no styles", WindowView{}, std},
		{"256 flag kept", WindowView{Styles: [3]string{"default", "fg=red,bold"}},
			vt.Cell{Fg: vt.ANSI(1), Bg: vt.ANSI(2), Attr: vt.AttrBold}},
		{"alert style last", WindowView{Styles: [3]string{"fg=blue"}, AlertStyle: "reverse"},
			vt.Cell{Fg: vt.ANSI(4), Bg: vt.ANSI(2), Attr: vt.AttrReverse}},
		{"bell style colours", WindowView{Styles: [3]string{"bg=cyan", "bold"}, AlertStyle: "fg=red,bg=white"},
			vt.Cell{Fg: vt.ANSI(1), Bg: vt.ANSI(7), Attr: vt.AttrBold}},
	} {
		if got := windowStatusCell(std, &tc.wv); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
	over256 := vt.Cell{Fg: vt.Palette(231), Bg: vt.Palette(238)}
	got := windowStatusCell(over256, &WindowView{Styles: [3]string{"default", "fg=red,bold"}})
	if got.Fg != vt.Palette(1) || got.Bg != vt.Palette(238) || got.Attr != vt.AttrBold {
		t.Errorf("red over colour231: got %+v", got)
	}
}

// FuzzExpandFormat: any format a host may set expands without panicking,
// and a drawn status line stays inside its row.
func FuzzExpandFormat(f *testing.F) {
	for _, seed := range []string{"#I:#W#{?window_flags,#{window_flags}, }", "#{=-3:#{s/a/b/:window_name}}",
		"#{?a,#{?b,c,d},e}", "%H:%M %d-%b-%y %", "#(x#{y)", "#[fg=red]#{=5:pane_title}##", "#{"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, format string) {
		v := frameWin(layoutPane(0, 0, 0, 80, 23))
		v.StatusExpand = true
		v.StatusLeft, v.StatusRight = format, format
		v.Windows = []WindowView{{Index: 0, Name: format, Active: true, Custom: true, Format: format, Separator: format}}
		var fr Frame
		Compose(v, 80, 24, &fr)
		if len(fr.Cells) != 80*24 {
			t.Fatalf("frame of %d cells", len(fr.Cells))
		}
	})
}
