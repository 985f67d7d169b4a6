package keys

import (
	"errors"
	"testing"
)

func TestKeyCodesMatchTheProtocol(t *testing.T) {
	for _, c := range []struct {
		k    Key
		want uint64
	}{
		{KeycBase, 0x100000000000}, {Meta, 0x200000000000}, {Ctrl, 0x400000000000},
		{Shift, 0x800000000000}, {FocusIn, 0x100000000000}, {FocusOut, 0x100000000001},
		{Mouse, 0x100000000002}, {BSpace, 0x100000000000 + 45}, {F1, 0x100000000000 + 46},
		{F12, 0x100000000000 + 57}, {IC, 0x100000000000 + 58}, {DC, 0x100000000000 + 59},
		{Home, 0x100000000000 + 60}, {End, 0x100000000000 + 61}, {NPage, 0x100000000000 + 62},
		{PPage, 0x100000000000 + 63}, {BTab, 0x100000000000 + 64}, {Up, 0x100000000000 + 65},
		{Right, 0x100000000000 + 68}, {KPSlash, 0x100000000000 + 69}, {KPEnter, 0x100000000000 + 82},
		{KPPeriod, 0x100000000000 + 84},
	} {
		if uint64(c.k) != c.want {
			t.Errorf("%s = %#x, want %#x", c.k, uint64(c.k), c.want)
		}
	}
	if k, _ := Parse("WheelDownBorder"); k != KeycBase+44 {
		t.Errorf("WheelDownBorder = %#x, want KeycBase+44", uint64(k))
	}
}

// The expectations are what real tmate 2.4.0 accepts and shows in list-keys.
func TestParse(t *testing.T) {
	for _, c := range []struct {
		name string
		want Key
	}{
		{"C-b", 2}, {"c-b", 2}, {"^B", 2}, {"^b", 2}, {"C-a", 1}, {"C-z", 26},
		{"C-@", 0}, {"C-Space", 0}, {"Space", ' '}, {"C-[", Escape}, {`C-\`, 28},
		{"C-]", 29}, {"C-^", 30}, {"C-_", 31}, {"C-?", '?' | Ctrl}, {"C-1", '1' | Ctrl},
		{"C--", '-' | Ctrl}, {"C-Enter", Enter | Ctrl}, {"C-Tab", Tab | Ctrl},
		{"M-x", 'x' | Meta}, {"M-C-x", 24 | Meta}, {"C-M-x", 24 | Meta},
		{"C-M-Up", Up | Ctrl | Meta}, {"S-F5", F5 | Shift}, {"M-Escape", Escape | Meta},
		{"M-BSpace", BSpace | Meta}, {"S-a", 'a' | Shift}, {"Enter", Enter}, {"enter", Enter},
		{"Escape", Escape}, {"Tab", Tab}, {"BTab", BTab}, {"F5", F5}, {"f12", F12},
		{"NPage", NPage}, {"pagedown", NPage}, {"PgUp", PPage}, {"IC", IC}, {"DC", DC},
		{"KPEnter", KPEnter}, {"KP/", KPSlash}, {"KP.", KPPeriod},
		{"0x41", 'A'}, {"0x41zz", 'A'}, {"0x1234", 0x1234}, {"0x7f", 127},
		{"é", 0xe9}, {"C-é", 0xe9 | Ctrl}, {"€", 0x20ac}, {"^", '^'}, {"-", '-'},
		{"x-y", 'y'}, {";", ';'}, {`\`, '\\'}, {"~", '~'},
		{"MouseDown1Pane", KeycBase + 3}, {"WheelUpStatus", KeycBase + 40},
		{"None", KeyNone}, {"none", KeyNone},
	} {
		got, err := Parse(c.name)
		if err != nil || got != c.want {
			t.Errorf("Parse(%q) = %#x, %v; want %#x", c.name, uint64(got), err, uint64(c.want))
		}
	}
}

func TestParseRejectsWhatTmuxRejects(t *testing.T) {
	for _, name := range []string{
		"", "C-{", "C-Escape", "C-`", `C-"`, "C-/", "0x12345", "0x", "0xzz", "C-",
		"Foo", "ab", "\x01", "\x7f", "\xc3", "\xc3\xa9x", "M-", "KP",
	} {
		if k, err := Parse(name); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("Parse(%q) = %#x, %v; want ErrUnknownKey", name, uint64(k), err)
		}
	}
}

func TestString(t *testing.T) {
	for _, c := range []struct {
		k    Key
		want string
	}{
		{2, "C-b"}, {0, "C-Space"}, {Space, "Space"}, {Enter, "Enter"}, {Tab, "Tab"},
		{Escape, "Escape"}, {28, `C-\`}, {31, "C-_"}, {'?' | Ctrl, "C-?"}, {'x' | Meta, "M-x"},
		{24 | Meta, "M-C-x"}, {Up | Ctrl | Meta, "C-M-Up"}, {F5 | Shift, "S-F5"},
		{NPage, "NPage"}, {PPage, "PPage"}, {BSpace, "BSpace"}, {'"', `"`}, {'é', "é"},
		{'é' | Ctrl, "C-é"}, {127, "0x7f"}, {0xd800, "0xd800"}, {127 | Ctrl, "Invalid#7f"}, {KeyNone, "None"}, {KeyUnknown, "Unknown"},
		{Mouse, "Mouse"}, {KeycBase + 3, "MouseDown1Pane"}, {0 | Meta, "C-M-Space"},
		{KPEnter, "KPEnter"}, {FocusIn, "Invalid#100000000000"},
	} {
		if got := c.k.String(); got != c.want {
			t.Errorf("%#x.String() = %q, want %q", uint64(c.k), got, c.want)
		}
	}
}

func TestStringRoundTrips(t *testing.T) {
	var ks []Key
	for b := Key(0); b < 0x300; b++ {
		if b != 127 && !(b >= 0x80 && b < 0xa0) {
			ks = append(ks, b, b|Meta, b|Shift)
		}
	}
	for _, e := range names {
		ks = append(ks, e.key, e.key|Ctrl, e.key|Meta|Shift|Ctrl)
	}
	for _, k := range ks {
		if n, ok := applyCtrl(k); !ok || n != k || k.Base() < 32 && k&Ctrl != 0 {
			continue // not a key Parse returns: C-Space is 0, C-C-a is nothing
		}
		s := k.String()
		got, err := Parse(s)
		if err != nil || got != k {
			t.Errorf("Parse(%#x.String() = %q) = %#x, %v", uint64(k), s, uint64(got), err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"C-b", "^B", "M-C-Up", "0x41", "é", "C-?", "x-y", "None"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := Parse(s)
		if err != nil || k == KeyNone {
			return
		}
		// What Parse returns must print as a name that parses back to it.
		if got, err := Parse(k.String()); err != nil || got != k {
			t.Fatalf("Parse(%q) = %#x prints %q which parses to %#x, %v", s, uint64(k), k.String(), uint64(got), err)
		}
	})
}
