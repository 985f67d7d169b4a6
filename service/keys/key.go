// Package keys is the relay's version of tmux's key-string.c, tty-keys.c and
// key-bindings.c, in the tmux 2.x encoding that tmate 2.4.0 speaks: key codes
// and their names, a decoder from a guest terminal's bytes to key codes, and
// the key tables the host replicates with bind-key / unbind-key / set-option.
package keys

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Key is a tmux 2.x key code (key_code): a Unicode code point or KeycBase+n
// for a special key, possibly with modifier bits. The host takes it as is in
// PANE_KEY, and bind-key names map to it.
type Key uint64

// Modifier bits and ranges.
const (
	KeycBase Key = 0x100000000000 // first special key

	Meta  Key = 0x200000000000 // KEYC_ESCAPE: M-x, ESC x from a terminal
	Ctrl  Key = 0x400000000000 // KEYC_CTRL
	Shift Key = 0x800000000000 // KEYC_SHIFT

	ModMask Key = Meta | Ctrl | Shift
	KeyMask Key = ^ModMask

	// KeyNone is "None" (a prefix2 that is unset); KeyUnknown is what tmux
	// returns for a name it does not know.
	KeyNone    Key = 0xffff00000000
	KeyUnknown Key = 0xfffe00000000
)

// Plain keys that have names.
const (
	CSpace Key = 0    // C-Space, C-@
	Tab    Key = '\t' // Tab
	Enter  Key = '\r' // Enter
	Escape Key = 0x1b // Escape
	Space  Key = ' '  // Space
)

// Special keys, KeycBase + n, in the order of tmux 2.x's enum.
const (
	FocusIn  Key = KeycBase + 0
	FocusOut Key = KeycBase + 1
	Mouse    Key = KeycBase + 2 // unclassified mouse event
	// KeycBase+3 .. KeycBase+44: MouseDown1Pane ... WheelDownBorder.
	mouseFirst Key = KeycBase + 3

	BSpace Key = KeycBase + 45
	F1     Key = KeycBase + 46
	F2     Key = KeycBase + 47
	F3     Key = KeycBase + 48
	F4     Key = KeycBase + 49
	F5     Key = KeycBase + 50
	F6     Key = KeycBase + 51
	F7     Key = KeycBase + 52
	F8     Key = KeycBase + 53
	F9     Key = KeycBase + 54
	F10    Key = KeycBase + 55
	F11    Key = KeycBase + 56
	F12    Key = KeycBase + 57
	IC     Key = KeycBase + 58 // Insert
	DC     Key = KeycBase + 59 // Delete
	Home   Key = KeycBase + 60
	End    Key = KeycBase + 61
	NPage  Key = KeycBase + 62
	PPage  Key = KeycBase + 63
	BTab   Key = KeycBase + 64
	Up     Key = KeycBase + 65
	Down   Key = KeycBase + 66
	Left   Key = KeycBase + 67
	Right  Key = KeycBase + 68

	KPSlash  Key = KeycBase + 69
	KPStar   Key = KeycBase + 70
	KPMinus  Key = KeycBase + 71
	KP7      Key = KeycBase + 72
	KP8      Key = KeycBase + 73
	KP9      Key = KeycBase + 74
	KPPlus   Key = KeycBase + 75
	KP4      Key = KeycBase + 76
	KP5      Key = KeycBase + 77
	KP6      Key = KeycBase + 78
	KP1      Key = KeycBase + 79
	KP2      Key = KeycBase + 80
	KP3      Key = KeycBase + 81
	KPEnter  Key = KeycBase + 82
	KP0      Key = KeycBase + 83
	KPPeriod Key = KeycBase + 84
)

// The markers of a bracketed paste, as the Reader reports them. tmux 2.x has
// no key for them (its client passes them on as M-[ and four characters), so
// they lie beyond its enum and never reach a host as such.
const (
	PasteStart Key = KeycBase + 0x1000
	PasteEnd   Key = KeycBase + 0x1001
)

// Base returns k without its modifier bits.
func (k Key) Base() Key { return k & KeyMask }

// Mods returns k's modifier bits.
func (k Key) Mods() Key { return k & ModMask }

// IsMouse reports whether k is a mouse key (never forwarded to a pane).
func (k Key) IsMouse() bool {
	b := k.Base()
	return b >= Mouse && b < BSpace
}

type named struct {
	name string
	key  Key
}

// names is tmux 2.x's key_string_table: lookups are case-insensitive and
// the first entry for a key is the name String prints.
var names = func() []named {
	t := []named{
		{"F1", F1}, {"F2", F2}, {"F3", F3}, {"F4", F4}, {"F5", F5}, {"F6", F6},
		{"F7", F7}, {"F8", F8}, {"F9", F9}, {"F10", F10}, {"F11", F11}, {"F12", F12},
		{"IC", IC}, {"DC", DC}, {"Home", Home}, {"End", End},
		{"NPage", NPage}, {"PageDown", NPage}, {"PgDn", NPage},
		{"PPage", PPage}, {"PageUp", PPage}, {"PgUp", PPage},
		{"Tab", Tab}, {"BTab", BTab}, {"Space", Space}, {"BSpace", BSpace},
		{"Enter", Enter}, {"Escape", Escape},
		{"Up", Up}, {"Down", Down}, {"Left", Left}, {"Right", Right},
		{"KP/", KPSlash}, {"KP*", KPStar}, {"KP-", KPMinus},
		{"KP7", KP7}, {"KP8", KP8}, {"KP9", KP9}, {"KP+", KPPlus},
		{"KP4", KP4}, {"KP5", KP5}, {"KP6", KP6},
		{"KP1", KP1}, {"KP2", KP2}, {"KP3", KP3},
		{"KPEnter", KPEnter}, {"KP0", KP0}, {"KP.", KPPeriod},
	}
	// Mouse keys: each event for the pane, the status line and a border.
	k := mouseFirst
	for _, ev := range []string{
		"MouseDown1", "MouseDown2", "MouseDown3", "MouseUp1", "MouseUp2", "MouseUp3",
		"MouseDrag1", "MouseDrag2", "MouseDrag3",
		"MouseDragEnd1", "MouseDragEnd2", "MouseDragEnd3", "WheelUp", "WheelDown",
	} {
		for _, where := range []string{"Pane", "Status", "Border"} {
			t = append(t, named{ev + where, k})
			k++
		}
	}
	return t
}()

// ErrUnknownKey is wrapped by Parse's errors.
var ErrUnknownKey = errors.New("unknown key")

// ctrlExempt are the characters tmux keeps as char|Ctrl for C-x instead of
// turning them into a control code (so C-? is '?'|Ctrl, not BSpace).
const ctrlExempt = "!#()+,-.0123456789:;<=>?'\r\t"

// applyCtrl turns a plain key with Ctrl into the control code tmux uses for
// it: C-a..C-z are 1..26, C-@..C-_ are 0..31, C-Space is 0. ok is false for
// a Ctrl combination tmux has no code for (C-{, C-/, C-Escape...).
func applyCtrl(k Key) (Key, bool) {
	mods, b := k.Mods(), k.Base()
	if mods&Ctrl == 0 || b >= KeycBase || b > 127 || strings.IndexByte(ctrlExempt, byte(b)) >= 0 {
		return k, true
	}
	switch {
	case b >= 'a' && b <= 'z':
		b -= 96
	case b >= '@' && b <= '_':
		b -= 64
	case b == ' ':
		b = 0
	default:
		return k, false
	}
	return b | mods&^Ctrl, true
}

// Parse returns the key for a tmux 2.x key name as bind-key and set-option
// prefix take it: "C-b", "^B", "M-x", "C-M-Up", "S-F5", "Space", "Enter",
// "NPage" (names are case-insensitive), "0x41", a single ASCII or UTF-8
// character, "None" (KeyNone, no error). It accepts exactly what tmux 2.x
// accepts, so a table the host accepted always parses.
func Parse(name string) (Key, error) {
	unknown := func() (Key, error) { return KeyUnknown, fmt.Errorf("%w: %q", ErrUnknownKey, name) }
	if strings.EqualFold(name, "None") {
		return KeyNone, nil
	}
	if strings.HasPrefix(name, "0x") {
		// sscanf("%hx%n"): one to four hex digits, the rest ignored.
		var v Key
		n := 0
		for n < len(name)-2 && isHex(name[2+n]) {
			v = v<<4 | Key(hexVal(name[2+n]))
			n++
		}
		if n == 0 || n > 4 {
			return unknown()
		}
		return v, nil
	}
	s := name
	var mods Key
	if len(s) > 1 && s[0] == '^' {
		mods |= Ctrl
		s = s[1:]
	}
	// Any character followed by '-' is a modifier; unknown letters are
	// skipped, as tmux does.
	for len(s) >= 2 && s[1] == '-' {
		switch s[0] {
		case 'C', 'c':
			mods |= Ctrl
		case 'M', 'm':
			mods |= Meta
		case 'S', 's':
			mods |= Shift
		}
		s = s[2:]
	}
	if s == "" {
		return unknown()
	}
	var k Key
	switch {
	case len(s) == 1 && s[0] <= 127:
		k = Key(s[0])
		if k < 32 || k == 127 {
			return unknown()
		}
	case s[0] >= 0xc0:
		r, n := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError || n != len(s) {
			return unknown()
		}
		// tmux returns UTF-8 keys with their modifiers as they are.
		return Key(r) | mods, nil
	default:
		k = KeyUnknown
		for _, e := range names {
			if strings.EqualFold(s, e.name) {
				k = e.key
				break
			}
		}
		if k == KeyUnknown {
			return unknown()
		}
	}
	k, ok := applyCtrl(k | mods)
	if !ok {
		return unknown()
	}
	return k, nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// String returns the tmux name of k: "C-b", "M-Up", "C-Space", "Enter",
// "é". Parse(k.String()) == k for every key Parse can return. It differs
// from tmux 2.x only for a Unicode key with modifiers, which tmux prints
// without them ("é" for C-é); this prints "C-é".
func (k Key) String() string {
	switch k {
	case KeyNone:
		return "None"
	case KeyUnknown:
		return "Unknown"
	case Mouse:
		return "Mouse"
	}
	if k.Base() == 0 {
		k = Space | Ctrl | k.Mods()
	}
	var sb strings.Builder
	if k&Ctrl != 0 {
		sb.WriteString("C-")
	}
	if k&Meta != 0 {
		sb.WriteString("M-")
	}
	if k&Shift != 0 {
		sb.WriteString("S-")
	}
	b := k.Base()
	for _, e := range names {
		if e.key == b {
			sb.WriteString(e.name)
			return sb.String()
		}
	}
	switch {
	case b > 127 && b < KeycBase && b <= utf8.MaxRune && utf8.ValidRune(rune(b)):
		sb.WriteRune(rune(b))
	case (b == 127 || b > 255) && k.Mods() == 0 && b <= 0xffff:
		// No name (DEL, a surrogate...): the raw form Parse reads back,
		// where tmux prints "Invalid#7f", which nothing can parse.
		return fmt.Sprintf("0x%x", uint64(b))
	case b == 127 || b > 255:
		return fmt.Sprintf("Invalid#%x", uint64(b))
	case b == 0 || b > 26 && b < 32:
		sb.WriteString("C-")
		sb.WriteByte(byte(64 + b))
	case b < 32:
		sb.WriteString("C-")
		sb.WriteByte(byte(96 + b))
	case b < 127:
		sb.WriteByte(byte(b))
	default: // 128..255 that is not a valid rune cannot happen; kept for tmux parity
		fmt.Fprintf(&sb, "\\%o", uint64(b))
	}
	return sb.String()
}
