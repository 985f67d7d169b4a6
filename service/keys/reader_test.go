package keys

import (
	"reflect"
	"testing"
)

func decode(r *Reader, chunks ...string) []Key {
	var out []Key
	emit := func(k Key) { out = append(out, k) }
	for _, c := range chunks {
		r.Feed([]byte(c), emit)
	}
	r.Flush(emit)
	return out
}

func TestReader(t *testing.T) {
	for _, c := range []struct {
		name   string
		chunks []string
		want   []Key
	}{
		{"ascii", []string{"ab"}, []Key{'a', 'b'}},
		{"controls", []string{"\x03\r\t\x00"}, []Key{3, Enter, Tab, 0}},
		{"erase is BSpace", []string{"\x7f"}, []Key{BSpace}},
		{"C-h stays C-h", []string{"\x08"}, []Key{8}},
		{"utf8", []string{"é€😀"}, []Key{'é', '€', '😀'}},
		{"utf8 split", []string{"\xe2", "\x82", "\xac"}, []Key{'€'}},
		{"invalid utf8 dropped", []string{"a\xffb\xc3(c"}, []Key{'a', 'b', '(', 'c'}},
		{"truncated utf8 at flush", []string{"a\xe2\x82"}, []Key{'a'}},
		{"lone escape", []string{"\x1b"}, []Key{Escape}},
		{"escape then key later", []string{"\x1b"}, []Key{Escape}},
		{"meta", []string{"\x1bx"}, []Key{'x' | Meta}},
		{"meta split", []string{"\x1b", "x"}, []Key{'x' | Meta}},
		{"meta utf8", []string{"\x1bé"}, []Key{'é' | Meta}},
		{"meta enter", []string{"\x1b\r"}, []Key{Enter | Meta}},
		{"meta backspace", []string{"\x1b\x7f"}, []Key{BSpace | Meta}},
		{"double escape", []string{"\x1b\x1b"}, []Key{Escape, Escape}},
		{"escape then meta", []string{"\x1b\x1bx"}, []Key{Escape, 'x' | Meta}},
		{"meta up (ESC ESC [A)", []string{"\x1b\x1b[A"}, []Key{Up | Meta}},
		{"csi arrows", []string{"\x1b[A\x1b[B\x1b[C\x1b[D"}, []Key{Up, Down, Right, Left}},
		{"ss3 arrows", []string{"\x1bOA\x1bOB\x1bOC\x1bOD"}, []Key{Up, Down, Right, Left}},
		{"split csi", []string{"\x1b", "[", "1;5", "A"}, []Key{Up | Ctrl}},
		{"home end", []string{"\x1b[H\x1b[F\x1bOH\x1bOF\x1b[1~\x1b[4~\x1b[7~\x1b[8~"}, []Key{Home, End, Home, End, Home, End, Home, End}},
		{"editing keys", []string{"\x1b[2~\x1b[3~\x1b[5~\x1b[6~"}, []Key{IC, DC, PPage, NPage}},
		{"function keys ss3", []string{"\x1bOP\x1bOQ\x1bOR\x1bOS"}, []Key{F1, F2, F3, F4}},
		{"function keys csi", []string{"\x1b[15~\x1b[17~\x1b[18~\x1b[19~\x1b[20~\x1b[21~\x1b[23~\x1b[24~"}, []Key{F5, F6, F7, F8, F9, F10, F11, F12}},
		{"vt220 F1", []string{"\x1b[11~\x1b[14~"}, []Key{F1, F4}},
		{"linux console F1", []string{"\x1b[[A\x1b[[E"}, []Key{F1, F5}},
		{"xterm modifiers", []string{"\x1b[1;5A\x1b[1;3B\x1b[1;2C\x1b[1;6D\x1b[1;7H\x1b[1;8F"},
			[]Key{Up | Ctrl, Down | Meta, Right | Shift, Left | Shift | Ctrl, Home | Meta | Ctrl, End | Shift | Meta | Ctrl}},
		{"xterm modified tilde", []string{"\x1b[5;3~\x1b[3;5~\x1b[15;2~"}, []Key{PPage | Meta, DC | Ctrl, F5 | Shift}},
		{"xterm modified F1", []string{"\x1b[1;5P\x1bO5Q\x1bO1;2R"}, []Key{F1 | Ctrl, F2 | Ctrl, F3 | Shift}},
		{"rxvt", []string{"\x1bOa\x1b[b\x1b[5^\x1b[3$\x1b[2@"}, []Key{Up | Ctrl, Down | Shift, PPage | Ctrl, DC | Shift, IC | Ctrl | Shift}},
		{"modifyOtherKeys", []string{"\x1b[27;5;13~\x1b[27;3;97~\x1b[27;5;97~"}, []Key{Enter | Ctrl, 'a' | Meta, 1}},
		{"btab", []string{"\x1b[Z"}, []Key{BTab}},
		{"keypad", []string{"\x1bOp\x1bOn\x1bOM\x1bOo\x1bOk"}, []Key{KP0, KPPeriod, KPEnter, KPSlash, KPPlus}},
		{"focus", []string{"\x1b[I\x1b[O"}, []Key{FocusIn, FocusOut}},
		{"x10 mouse dropped", []string{"a\x1b[M !!b"}, []Key{'a', 'b'}},
		{"x10 mouse split", []string{"\x1b[M", " ", "!", "!", "b"}, []Key{'b'}},
		{"sgr mouse dropped", []string{"\x1b[<0;10;20M\x1b[<0;10;20mz"}, []Key{'z'}},
		{"sgr mouse split", []string{"\x1b[<6", "5;1", "0;2", "0M", "z"}, []Key{'z'}},
		{"meta mouse dropped", []string{"\x1b\x1b[<0;1;1Mz"}, []Key{'z'}},
		{"unknown csi dropped", []string{"\x1b[99~\x1b[?1;2c\x1b[>0q\x1b[1;2;3;4X\x1b[?12;1$yz"}, []Key{'z'}},
		{"unknown ss3 is meta O", []string{"\x1bOz"}, []Key{'O' | Meta, 'z'}},
		{"csi broken by control", []string{"\x1b[1\r"}, []Key{'[' | Meta, '1', Enter}},
		{"unfinished csi at flush", []string{"\x1b[1;"}, []Key{'[' | Meta, '1', ';'}},
		{"unfinished ss3 at flush", []string{"\x1bO"}, []Key{'O' | Meta}},
		{"alt-[ at flush", []string{"\x1b["}, []Key{'[' | Meta}},
		{"overlong csi discarded to its end", []string{"\x1b[" + string(make40('1')) + ";" + string(make40('2')) + "Az"}, []Key{'z'}},
		{"overlong csi ended by control", []string{"\x1b[" + string(make40('1')), "\ra"}, []Key{Enter, 'a'}},
		{"paste passes bytes plain", []string{"\x1b[200~a\x1b[A\x02\x7f\r\x1b[201~b"},
			[]Key{PasteStart, 'a', Escape, '[', 'A', 2, 127, Enter, PasteEnd, 'b'}},
		{"paste end split", []string{"\x1b[200~x\x1b[2", "01~y"}, []Key{PasteStart, 'x', PasteEnd, 'y'}},
		{"paste utf8", []string{"\x1b[200~\xc3", "\xa9\x1b[201~"}, []Key{PasteStart, 'é', PasteEnd}},
		{"empty paste", []string{"\x1b[200~\x1b[201~"}, []Key{PasteStart, PasteEnd}},
		{"meta paste start", []string{"\x1b\x1b[200~a\x1b[201~"}, []Key{PasteStart, 'a', PasteEnd}},
		{"paste without end ends at flush", []string{"\x1b[200~ab"}, []Key{PasteStart, 'a', 'b', PasteEnd}},
		{"stray paste end dropped", []string{"\x1b[201~a"}, []Key{'a'}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var r Reader
			if got := decode(&r, c.chunks...); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
			if r.Pending() {
				t.Error("pending after Flush")
			}
		})
	}
}

func make40(c byte) []byte {
	b := make([]byte, 40)
	for i := range b {
		b[i] = c
	}
	return b
}

func TestReaderPendingUntilFlush(t *testing.T) {
	var r Reader
	var got []Key
	emit := func(k Key) { got = append(got, k) }
	r.Feed([]byte("a\x1b"), emit)
	if !reflect.DeepEqual(got, []Key{'a'}) || !r.Pending() {
		t.Fatalf("got %v pending %v", got, r.Pending())
	}
	r.Feed([]byte("[1;5"), emit)
	if len(got) != 1 || !r.Pending() {
		t.Fatalf("got %v pending %v", got, r.Pending())
	}
	r.Feed([]byte("C"), emit)
	if !reflect.DeepEqual(got, []Key{'a', Right | Ctrl}) || r.Pending() {
		t.Fatalf("got %v pending %v", got, r.Pending())
	}
}

func TestReaderInPaste(t *testing.T) {
	var r Reader
	var pasted []bool
	r.Feed([]byte("a\x1b[200~b\x1b[201~c"), func(Key) { pasted = append(pasted, r.InPaste()) })
	// The markers belong to the paste: only 'a' and 'c' are typed.
	if !reflect.DeepEqual(pasted, []bool{false, true, true, true, false}) {
		t.Errorf("InPaste during emits: %v", pasted)
	}
}

func TestReaderPasteWithoutEndEndsAtFlush(t *testing.T) {
	var r Reader
	r.Feed([]byte("\x1b[200~ab"), func(Key) {})
	if !r.Pending() || !r.InPaste() {
		t.Fatal("want pending paste")
	}
	r.Flush(func(Key) {})
	if r.Pending() || r.InPaste() {
		t.Fatal("paste still open after Flush")
	}
}

func TestReaderSetErase(t *testing.T) {
	var r Reader
	r.SetErase(8)
	if got := decode(&r, "\x08\x7f"); !reflect.DeepEqual(got, []Key{BSpace, 127}) {
		t.Errorf("erase ^H: %v", got)
	}
	r.SetErase(-1)
	if got := decode(&r, "\x08\x7f"); !reflect.DeepEqual(got, []Key{8, 127}) {
		t.Errorf("no erase: %v", got)
	}
}

func TestReaderBoundedMemory(t *testing.T) {
	var r Reader
	junk := append([]byte("\x1b["), make40('1')...)
	for i := 0; i < 1000; i++ {
		r.Feed(junk[:5], func(Key) {})
		r.Feed(junk[5:], func(Key) {})
		if len(r.buf) > maxSeq+8 {
			t.Fatalf("buffer grew to %d", len(r.buf))
		}
	}
}

func FuzzReader(f *testing.F) {
	for _, s := range []string{"\x1b[1;5A", "\x1b[<0;1;1M", "\x1b[M !!", "\x1b[200~x\x1b[201~", "\x1b\x1bOA", "é\x1b"} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, b []byte, split uint8) {
		// Decoding must not depend on how the bytes are split.
		var whole, parts []Key
		var r1, r2 Reader
		r1.Feed(b, func(k Key) { whole = append(whole, k) })
		n := int(split)
		if n > len(b) {
			n = len(b)
		}
		r2.Feed(b[:n], func(k Key) { parts = append(parts, k) })
		r2.Feed(b[n:], func(k Key) { parts = append(parts, k) })
		if len(r1.buf) > maxSeq+8 || len(r2.buf) > maxSeq+8 {
			t.Fatalf("buffered %d / %d bytes", len(r1.buf), len(r2.buf))
		}
		r1.Flush(func(k Key) { whole = append(whole, k) })
		r2.Flush(func(k Key) { parts = append(parts, k) })
		if !reflect.DeepEqual(whole, parts) {
			t.Fatalf("whole %v, split at %d %v", whole, n, parts)
		}
		for _, k := range whole {
			if k.IsMouse() || k == KeyUnknown || k == KeyNone {
				t.Fatalf("emitted %#x", uint64(k))
			}
		}
	})
}
