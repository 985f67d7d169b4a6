package vt

import (
	"strings"
	"testing"
)

// text returns the visible screen as plain text, trailing blanks trimmed.
func text(e *Emulator) string {
	var rows []string
	for y := 0; y < e.h; y++ {
		var b strings.Builder
		l := e.Line(y)
		for x := 0; x < len(l); x++ {
			c := l[x]
			if c.Width == 0 && x > 0 && l[x-1].Width == 2 {
				continue
			}
			if c.Rune == 0 {
				b.WriteByte(' ')
			} else {
				b.WriteString(c.String())
			}
		}
		rows = append(rows, strings.TrimRight(b.String(), " "))
	}
	return strings.TrimRight(strings.Join(rows, "|"), "|")
}

func TestSequences(t *testing.T) {
	tests := []struct {
		name, in, want string
		w, h           int
		cx, cy         int
	}{
		{"print", "abc", "abc", 10, 3, 3, 0},
		{"pending wrap", "abcdefghij", "abcdefghij", 10, 3, 10, 0},
		{"wrap", "abcdefghijk", "abcdefghij|k", 10, 3, 1, 1},
		{"EL keeps last col on pending wrap", "abcdefghij\x1b[K", "abcdefghij", 10, 3, 10, 0},
		{"CUB from a pending wrap counts from past the edge (tmate 2.4)", "abcdefghij\x1b[DX", "abcdefghiX", 10, 3, 10, 0},
		{"wide wraps at edge", "abcdefghi日", "abcdefghi|日", 10, 3, 2, 1},
		{"combining", "e\u0301x", "e\u0301x", 10, 3, 2, 0},
		{"combine onto wide is lost (tmate 2.4)", "日\u0301", "日", 10, 3, 2, 0},
		{"overwrite wide half", "日本\x1b[2Gx", " x本", 10, 3, 2, 0},
		{"CUP", "\x1b[2;3Hx", "|  x", 10, 3, 3, 1},
		{"CUP clamps", "\x1b[99;99Hx", "||         x", 10, 3, 10, 2},
		{"CHA VPA", "\x1b[5G\x1b[2dx", "|    x", 10, 3, 5, 1},
		{"CUU CUD CUF", "\x1b[3;1H\x1b[Aa\x1b[Bb\x1b[2Cc", "|a| b  c", 10, 3, 5, 2},
		{"ICH", "abcdef\x1b[1;2H\x1b[2@", "a  bcdef", 10, 3, 1, 0},
		{"DCH", "abcdef\x1b[1;2H\x1b[2P", "adef", 10, 3, 1, 0},
		{"ECH", "abcdef\x1b[1;2H\x1b[2X", "a  def", 10, 3, 1, 0},
		{"EL1", "abcdef\x1b[1;3H\x1b[1K", "   def", 10, 3, 2, 0},
		{"EL2", "abcdef\x1b[2K", "", 10, 3, 6, 0},
		{"ED0", "aaa\r\nbbb\r\nccc\x1b[2;2H\x1b[J", "aaa|b", 10, 3, 1, 1},
		{"ED1", "aaa\r\nbbb\r\nccc\x1b[2;2H\x1b[1J", "|  b|ccc", 10, 3, 1, 1},
		{"IL", "a\r\nb\r\nc\x1b[1;1H\x1b[L", "|a|b", 10, 3, 0, 0},
		{"DL", "a\r\nb\r\nc\x1b[1;1H\x1b[M", "b|c", 10, 3, 0, 0},
		{"IRM", "abc\r\x1b[4hX\x1b[4l", "Xabc", 10, 3, 1, 0},
		{"tabs", "\tx", "        x", 20, 3, 9, 0},
		{"tab stop set/clear", "\x1b[3G\x1bH\r\tx\r\x1b[3g\r\tY", "  x                Y", 20, 3, 20, 0},
		{"CBT", "\x1b[12G\x1b[Zx", "        x", 20, 3, 9, 0},
		{"RI at top", "a\x1b[H\x1bMb", "b|a", 10, 3, 1, 0},
		{"IND NEL", "a\x1bDb\x1bEc", "a| b|c", 10, 3, 1, 2},
		{"DECSC DECRC", "ab\x1b7\x1b[3;3Hx\x1b8y", "aby||  x", 10, 3, 3, 0},
		{"DECSTBM scroll", "\x1b[2;3r\x1b[3;1H1\n2\n3", "| 2|  3", 10, 3, 3, 2},
		{"origin mode ignored (tmate 2.4)", "\x1b[2;3r\x1b[?6h\x1b[1;1Hx", "x", 10, 3, 1, 0},
		{"ACS", "\x1b(0lqk\x1b(Bq", "┌─┐q", 10, 3, 4, 0},
		{"SO SI", "\x1b)0\x0eq\x0fq", "─q", 10, 3, 2, 0},
		{"REP ignored (tmate 2.4)", "x\x1b[3b", "x", 10, 3, 1, 0},
		{"SU SD ignored (tmate 2.4)", "a\r\nb\x1b[S\x1b[2T", "a|b", 10, 3, 1, 1},
		{"CHT VPR HPR ignored (tmate 2.4)", "\x1b[Ia\x1b[eb\x1b[ac", "abc", 10, 3, 3, 0},
		{"colon CSI ignored (tmate 2.4)", "ab\x1b[1:2Hc", "abc", 10, 3, 3, 0},
		{"alt 1049", "main\x1b[?1049halt\x1b[?1049l", "main", 10, 3, 4, 0},
		{"alt 1047 keeps cursor", "m\x1b[?1047hALT\x1b[?1047lz", "m   z", 10, 3, 5, 0},
		{"RIS", "abc\x1bcx", "x", 10, 3, 1, 0},
		{"DECALN", "\x1b#8", "EEE|EEE", 3, 2, 0, 0},
		{"split UTF-8 and CSI", "\xe6\x97", "", 10, 3, 0, 0},
		{"invalid UTF-8 dropped with the byte that breaks it (tmate 2.4)", "a\xffb\xc3(c\xe2\x82\x1b[1mx", "abc[1mx", 10, 3, 7, 0},
		{"non-printable dropped (tmate 2.4)", "a\u0083b\u0378c\u2028d\uffffe\u00a0", "abcde\u00a0", 10, 3, 6, 0},
		{"DEC graphics as a tmate client draws them", "\x1b(0`abcdefghi0q\x1b(Bq", "◆▒bcde°±▒☃▮─q", 20, 3, 13, 0},
		{"ECH on a wide character's right half leaves a blank there", "日本\x1b[2G\x1b[X", "日 本", 10, 3, 1, 0},
		{"bytes past DEL keep an escape sequence open (tmate 2.4)", "a\x1b\xc3\xa9\x7fDb", "a| b", 10, 3, 2, 1},
		{"screen's rename string is not printed", "a\x1bkname\x07more\x1b\\b", "ab", 10, 3, 2, 0},
		{"tmux passthrough runs nothing it carries", "a\x1bPtmux;\x1b\x1b[2J\x1b\x1b[5Cx\x1b\\b", "ab", 10, 3, 2, 0},
		{"no autowrap", "\x1b[?7labcdefghijkl", "abcdefghil", 10, 3, 9, 0},
		{"OSC ignored", "\x1b]0;title\x07x\x1b]2;t2\x1b\\y", "xy", 10, 3, 2, 0},
		{"DCS ignored", "\x1bPq#0;2;0;0;0\x1b\\x", "x", 10, 3, 1, 0},
		{"queries ignored", "\x1b[c\x1b[6n\x1b[>cx", "x", 10, 3, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(tt.w, tt.h, 100)
			// Feed byte by byte: every split point must work.
			for i := 0; i < len(tt.in); i++ {
				e.Write([]byte{tt.in[i]})
			}
			if got := text(e); got != tt.want {
				t.Errorf("screen %q, want %q", got, tt.want)
			}
			x, y, _ := e.Cursor()
			if e.PendingWrap() {
				x = e.w
			}
			if x != tt.cx || y != tt.cy {
				t.Errorf("cursor %d,%d, want %d,%d", x, y, tt.cx, tt.cy)
			}
		})
	}
}

func TestSGR(t *testing.T) {
	tests := []struct {
		in   string
		fg   Color
		bg   Color
		attr Attr
	}{
		{"\x1b[31;42m", ANSI(1), ANSI(2), 0},
		{"\x1b[91;102m", ANSI(9), ANSI(10), 0},
		{"\x1b[38;5;200;48;5;17m", Palette(200), Palette(17), 0},
		{"\x1b[38;2;1;2;3m", RGB(1, 2, 3), 0, 0},
		{"\x1b[38:2::1:2:3m", 0, 0, 0}, // tmate 2.4: colon forms are ignored
		{"\x1b[38:2:1:2:3m", 0, 0, 0},
		{"\x1b[31m\x1b[38:5:9m", ANSI(1), 0, 0},
		{"\x1b[1;2;3;4;5;7;8;9m", 0, 0, AttrBold | AttrDim | AttrItalic | AttrUnderline | AttrBlink | AttrReverse | AttrHidden}, // no 9 in tmate 2.4
		{"\x1b[4:3m", 0, 0, 0},
		{"\x1b[4m\x1b[21m", 0, 0, AttrUnderline},
		{"\x1b[8m\x1b[28m", 0, 0, AttrHidden}, // no 28 either
		{"\x1b[1;31m\x1b[10m", 0, 0, 0},
		{"\x1b[38;5m", 0, 0, 0},
		{"\x1b[31m\x1b[38;5m", 0, 0, 0},
		{"\x1b[31m\x1b[38;2;1;300;3m", ANSI(1), 0, AttrItalic}, // stops at 300, then 3 is SGR 3
		{"\x1b[53m", 0, 0, 0},
		{"\x1b[1;31m\x1b[m", 0, 0, 0},
		{"\x1b[1;2m\x1b[22m", 0, 0, 0},
		{"\x1b[31m\x1b[39m", 0, 0, 0},
	}
	for _, tt := range tests {
		e := New(10, 2, 0)
		e.Write([]byte(tt.in + "x"))
		c := e.Cell(0, 0)
		if c.Fg != tt.fg || c.Bg != tt.bg || c.Attr != tt.attr {
			t.Errorf("%q: got fg %x bg %x attr %x, want %x %x %x", tt.in, c.Fg, c.Bg, c.Attr, tt.fg, tt.bg, tt.attr)
		}
	}
}

// TestNoBCE: tmate 2.4 erases to the default background whatever the pen
// (no background colour erase), for ED, EL, ECH, ICH, DCH, IL and DL.
func TestNoBCE(t *testing.T) {
	for _, seq := range []string{"\x1b[2J", "\x1b[2;1H\x1b[K", "\x1b[2;1H\x1b[5X", "\x1b[2;1H\x1b[2@", "\x1b[2;1H\x1b[P", "\x1b[2;1H\x1b[L", "\x1b[1;1H\x1b[M"} {
		e := New(5, 2, 0)
		e.Write([]byte("abcde\r\nfghij\x1b[44m" + seq + "\x1b[0m"))
		for x := 0; x < 5; x++ {
			if c := e.Cell(x, 1); c.Bg != 0 {
				t.Errorf("%q: cell %d,1 %+v has a background", seq, x, c)
			}
		}
	}
}

func TestHistory(t *testing.T) {
	e := New(10, 3, 20)
	for i := 0; i < 25; i++ {
		e.Write([]byte{'a' + byte(i), '\r', '\n'})
	}
	// 23 lines left the screen; tmux drops a tenth (2) each time it is full.
	if n := e.HistorySize(); n != 19 {
		t.Fatalf("history %d, want 19", n)
	}
	if c := e.HistoryCell(0, 0); c.Rune != 'e' {
		t.Errorf("oldest %q, want e", c.Rune)
	}
	// The alternate screen never feeds history.
	e.Write([]byte("\x1b[?1049h\n\n\n\n\n\x1b[?1049l"))
	if n := e.HistorySize(); n != 19 {
		t.Errorf("history %d after alt screen", n)
	}
	e.Write([]byte("\x1b[3J"))
	if n := e.HistorySize(); n != 0 {
		t.Errorf("history %d after ED 3", n)
	}
}

func TestTitleAndModes(t *testing.T) {
	e := New(10, 2, 0)
	e.Write([]byte("\x1b]2;hello\x07\x1b[?2004h\x1b[?1h\x1b[?1006h\x1b[?1002h\x1b[?25l\x1b[4 q"))
	if e.Title() != "hello" {
		t.Errorf("title %q", e.Title())
	}
	want := ModeBracketedPaste | ModeAppCursor | ModeMouseSGR | ModeMouseButton | ModeWrap
	if e.Modes() != want {
		t.Errorf("modes %b want %b", e.Modes(), want)
	}
	if _, _, vis := e.Cursor(); vis {
		t.Error("cursor visible")
	}
	if e.CursorStyle() != 4 {
		t.Errorf("cursor style %d", e.CursorStyle())
	}
}

func TestClusterTableBounded(t *testing.T) {
	e := New(4, 1, 0)
	// Far more distinct clusters than the table holds must not grow it.
	for i := 0; i < maxClusters+100; i++ {
		e.Write([]byte("\r"))
		e.Write([]byte(string(rune(0x4e00+i%20000)) + string(rune(0x300+i/20000%100))))
	}
	clusters.RLock()
	n := len(clusters.texts)
	clusters.RUnlock()
	if n > maxClusters {
		t.Fatalf("intern table %d > %d", n, maxClusters)
	}
	if e.Cell(0, 0).String() == "" {
		t.Error("cell lost its base")
	}
}

func TestResize(t *testing.T) {
	// Narrowing reflows (tmate 2.4 grid_reflow): a 10-wide line splits.
	e := New(10, 3, 100)
	e.Write([]byte("0123456789\r\nab"))
	e.Resize(5, 3)
	if got := text(e); got != "56789|ab" {
		t.Errorf("after narrowing %q", got)
	}
	if e.HistorySize() != 1 {
		t.Errorf("history %d", e.HistorySize())
	}
	// Widening joins the wrapped line back.
	e.Resize(10, 3)
	if got := text(e); got != "0123456789|ab" {
		t.Errorf("after widening %q", got)
	}
	// Shrinking height deletes blank lines below the cursor first.
	e = New(10, 5, 100)
	e.Write([]byte("a\r\nb"))
	e.Resize(10, 3)
	if got := text(e); got != "a|b" || e.HistorySize() != 0 {
		t.Errorf("after shrink %q hist %d", got, e.HistorySize())
	}
	x, y, _ := e.Cursor()
	if x != 1 || y != 1 {
		t.Errorf("cursor %d,%d", x, y)
	}
}

// TestClearFromHomeKeepsHistory: clear(1) sends ESC [H ESC [J; from the top
// left that scrolls the screen into history as ED 2 does (tmate 2.4 and
// tmux 3.3a both), and only on the main screen.
func TestClearFromHomeKeepsHistory(t *testing.T) {
	e := New(10, 3, 100)
	e.Write([]byte("$ clear\r\n\x1b[H\x1b[J"))
	if n := e.HistorySize(); n != 1 {
		t.Fatalf("history %d, want 1", n)
	}
	if c := e.HistoryCell(0, 0); c.Rune != '$' {
		t.Errorf("history line starts with %q", c.Rune)
	}
	e.Write([]byte("x\x1b[2;2H\x1b[J"))
	if n := e.HistorySize(); n != 1 {
		t.Errorf("ED 0 from mid-screen changed history to %d", n)
	}
	e.Write([]byte("\x1b[?1049hALT\x1b[H\x1b[J\x1b[?1049l"))
	if n := e.HistorySize(); n != 1 {
		t.Errorf("ED 0 on the alternate screen changed history to %d", n)
	}
}

// SU and SD scroll only an emulator of a guest's terminal: tmate 2.4, the
// host, ignores them.
func TestScrollCommands(t *testing.T) {
	for _, tc := range []struct {
		name    string
		enabled bool
		input   string
		want    string // the first column of each row
	}{
		{"SU ignored as tmate does", false, "a\r\nb\r\nc\r\nd\x1b[2S", "abcd"},
		{"SU scrolls", true, "a\r\nb\r\nc\r\nd\x1b[2S", "cd  "},
		{"SD scrolls", true, "a\r\nb\r\nc\r\nd\x1b[T", " abc"},
		{"SU in a region", true, "a\r\nb\r\nc\r\nd\x1b[2;3r\x1b[S", "ac d"},
		{"SU beyond the region's height", true, "a\r\nb\r\nc\r\nd\x1b[99S", "    "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := New(1, 4, 10)
			if tc.enabled {
				e.EnableScrollCommands()
			}
			e.Write([]byte(tc.input))
			var got []byte
			for y := range 4 {
				r := ' '
				if l := e.Line(y); len(l) > 0 && l[0].Rune != 0 {
					r = l[0].Rune
				}
				got = append(got, byte(r))
			}
			if string(got) != tc.want {
				t.Errorf("rows %q, want %q", got, tc.want)
			}
		})
	}
}
