package keys

import "unicode/utf8"

// maxSeq bounds an escape sequence the Reader buffers: a CSI longer than this
// without its final byte is discarded up to that final byte.
const maxSeq = 32

var pasteEnd = []byte("\x1b[201~")

// Reader turns the bytes a guest's terminal sends into key codes, like tmux
// 2.x's tty-keys.c with xterm-keys.c: UTF-8 (also split across Feeds), C0
// controls, ESC x as M-x, cursor, editing, function and keypad keys in their
// VT220, xterm (with modifiers), rxvt and Linux console forms. Mouse reports
// (X10 and SGR) are consumed and dropped; focus reports come out as FocusIn
// and FocusOut; a bracketed paste comes out as PasteStart, the bytes
// between the markers as plain keys, one per character, and PasteEnd
// (InPaste is true while they are emitted). Malformed sequences are consumed; the Reader never
// holds more than a few dozen bytes between Feeds.
//
// Like tmux, the byte the terminal sends for erase (127 unless SetErase says
// otherwise) is BSpace.
//
// The zero Reader is ready to use. It is not safe for concurrent use.
type Reader struct {
	buf      []byte
	paste    bool // between ESC[200~ and ESC[201~
	skip     bool // discarding an overlong CSI up to its final byte
	erase    byte
	eraseSet bool
	eraseOff bool
}

// SetErase sets the byte that means BSpace (the VERASE of the guest's pty
// modes); a negative value means no byte does.
func (r *Reader) SetErase(b int) {
	r.eraseSet = true
	r.eraseOff = b < 0 || b > 255
	if !r.eraseOff {
		r.erase = byte(b)
	}
}

func (r *Reader) isErase(c byte) bool {
	if !r.eraseSet {
		return c == 127
	}
	return !r.eraseOff && c == r.erase
}

// Pending reports whether the Reader holds bytes that may start a longer
// sequence (a lone ESC, half a CSI, half a UTF-8 character) or is inside a
// bracketed paste or a discarded sequence. The caller calls Flush when no
// new bytes arrived for its escape-time.
func (r *Reader) Pending() bool { return len(r.buf) > 0 || r.paste || r.skip }

// InPaste reports whether the key being emitted (or the next one) is part of
// a bracketed paste.
func (r *Reader) InPaste() bool { return r.paste }

// Feed decodes p, calling emit for each complete key. Bytes that may start a
// longer sequence are kept for the next Feed or Flush.
func (r *Reader) Feed(p []byte, emit func(Key)) {
	if len(r.buf) == 0 {
		n := r.run(p, false, emit)
		r.keep(p[n:])
		return
	}
	r.buf = append(r.buf, p...)
	n := r.run(r.buf, false, emit)
	r.keep(r.buf[n:])
}

// Flush decodes what is pending as if no more bytes will follow: a lone ESC
// is Escape, ESC x is M-x, an unfinished sequence falls back to M-[ or M-O and
// its bytes. It also ends (with PasteEnd) a bracketed paste whose end marker
// never came.
func (r *Reader) Flush(emit func(Key)) {
	b := r.buf
	r.buf = nil
	r.run(b, true, emit)
	if r.paste {
		emit(PasteEnd)
		r.paste = false
	}
	r.skip = false
}

// keep stores the undecoded rest, copying so no large input is retained.
func (r *Reader) keep(rest []byte) {
	if len(rest) == 0 {
		r.buf = r.buf[:0]
		return
	}
	nb := make([]byte, len(rest), maxSeq+8)
	copy(nb, rest)
	r.buf = nb
}

// run decodes b and returns how many bytes it consumed; with final it
// consumes everything.
func (r *Reader) run(b []byte, final bool, emit func(Key)) int {
	i := 0
	for i < len(b) {
		n := r.step(b[i:], final, emit)
		if n == 0 {
			break
		}
		i += n
	}
	return i
}

// step decodes one key (or one discarded sequence) at the start of b and
// returns the bytes consumed, 0 if more bytes are needed. With final it never
// returns 0 for a non-empty b.
func (r *Reader) step(b []byte, final bool, emit func(Key)) int {
	if r.skip {
		i := 0
		for ; i < len(b); i++ {
			if c := b[i]; c < 0x20 || c > 0x7e {
				break // a control byte ends it and is decoded as usual
			} else if c >= 0x40 {
				r.skip = false
				return i + 1
			}
		}
		if i == len(b) {
			return i
		}
		r.skip = false
		if i > 0 {
			return i
		}
	}
	if r.paste {
		if b[0] == 0x1b {
			if hasPrefix(b, pasteEnd) {
				emit(PasteEnd)
				r.paste = false
				return len(pasteEnd)
			}
			if !final && hasPrefix(pasteEnd, b) {
				return 0
			}
			emit(Escape)
			return 1
		}
		if b[0] < 0x80 {
			emit(Key(b[0]))
			return 1
		}
		k, n := decodeUTF8(b, final)
		if n > 0 && k != KeyUnknown {
			emit(k)
		}
		return n
	}
	c := b[0]
	switch {
	case c == 0x1b:
		return r.escape(b, final, emit)
	case c < 0x80:
		if r.isErase(c) {
			emit(BSpace)
		} else {
			emit(Key(c))
		}
		return 1
	}
	k, n := decodeUTF8(b, final)
	if n > 0 && k != KeyUnknown {
		emit(k)
	}
	return n
}

func hasPrefix(b, prefix []byte) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == string(prefix)
}

// decodeUTF8 decodes one character at the start of b (b[0] >= 0x80). It
// returns n == 0 when b ends inside a character and more may come, and
// KeyUnknown with n == 1 for a byte that is not valid UTF-8 (dropped: the
// pane would only show it as garbage).
func decodeUTF8(b []byte, final bool) (Key, int) {
	if !utf8.FullRune(b) {
		if !final {
			return KeyUnknown, 0
		}
		return KeyUnknown, 1
	}
	ch, n := utf8.DecodeRune(b)
	if ch == utf8.RuneError && n <= 1 {
		return KeyUnknown, 1
	}
	return Key(ch), n
}

// seqKind is what parsing an escape sequence found.
type seqKind int

const (
	seqMore seqKind = iota // need more bytes
	seqKey                 // a key
	seqDrop                // consumed, no key (mouse, unknown, paste marker)
	seqNot                 // not a sequence: ESC b[1] is M-b[1]
)

type seqResult struct {
	kind  seqKind
	n     int
	key   Key
	paste int // 1: paste starts, -1: paste ends
}

// escape decodes b starting with ESC.
func (r *Reader) escape(b []byte, final bool, emit func(Key)) int {
	if len(b) == 1 {
		if !final {
			return 0
		}
		emit(Escape)
		return 1
	}
	switch b[1] {
	case '[', 'O':
		res := r.sequence(b, final)
		switch res.kind {
		case seqMore:
			return 0
		case seqKey:
			emit(res.key)
			return res.n
		case seqDrop:
			r.applyPaste(res.paste, emit)
			return res.n
		}
		emit(Key(b[1]) | Meta)
		return 2
	case 0x1b:
		// ESC ESC seq is seq with Meta (ESC ESC [A is M-Up); ESC ESC x is
		// Escape, then M-x.
		if len(b) == 2 {
			if !final {
				return 0
			}
			emit(Escape)
			return 1
		}
		if b[2] == '[' || b[2] == 'O' {
			res := r.sequence(b[1:], final)
			switch res.kind {
			case seqMore:
				return 0
			case seqKey:
				emit(res.key | Meta)
				return res.n + 1
			case seqDrop:
				r.applyPaste(res.paste, emit)
				return res.n + 1
			}
		}
		emit(Escape)
		return 1
	}
	c := b[1]
	if c < 0x80 {
		if r.isErase(c) {
			emit(BSpace | Meta)
		} else {
			emit(Key(c) | Meta)
		}
		return 2
	}
	k, n := decodeUTF8(b[1:], final)
	if n == 0 {
		return 0
	}
	if k == KeyUnknown {
		emit(Escape)
		return 1
	}
	emit(k | Meta)
	return n + 1
}

func (r *Reader) applyPaste(p int, emit func(Key)) {
	if p > 0 {
		r.paste = true
		emit(PasteStart)
	}
}

// sequence parses a CSI (ESC [) or SS3 (ESC O) sequence at the start of b.
func (r *Reader) sequence(b []byte, final bool) seqResult {
	more := seqResult{kind: seqMore}
	if final {
		more = seqResult{kind: seqNot}
	}
	if len(b) < 3 {
		return more
	}
	if b[1] == 'O' {
		return ss3(b, more)
	}
	switch b[2] {
	case 'M': // X10 mouse: ESC [ M and three raw bytes.
		if len(b) < 6 {
			return more
		}
		return seqResult{kind: seqDrop, n: 6}
	case '[': // Linux console F1-F5: ESC [ [ A..E.
		if len(b) < 4 {
			return more
		}
		if b[3] >= 'A' && b[3] <= 'E' {
			return seqResult{kind: seqKey, n: 4, key: F1 + Key(b[3]-'A')}
		}
		return seqResult{kind: seqNot}
	}
	i := 2
	for i < len(b) && b[i] >= 0x30 && b[i] <= 0x3f {
		i++
	}
	params := b[2:i]
	// rxvt's shifted keys end in '$', an intermediate byte in ECMA-48.
	if i < len(b) && i <= maxSeq && b[i] == '$' && len(params) > 0 && allDigits(params) {
		return csi(params, nil, '$', i+1)
	}
	j := i
	for j < len(b) && b[j] >= 0x20 && b[j] <= 0x2f {
		j++
	}
	if j >= len(b) {
		if j > maxSeq {
			r.skip = true
			return seqResult{kind: seqDrop, n: j}
		}
		return more
	}
	if j > maxSeq {
		// Overlong: dropped up to its final byte, as when Feed saw only its
		// start (skip), so the keys never depend on how the bytes arrived.
		if b[j] >= 0x40 && b[j] <= 0x7e {
			return seqResult{kind: seqDrop, n: j + 1}
		}
		r.skip = true
		return seqResult{kind: seqDrop, n: j}
	}
	if b[j] < 0x40 || b[j] > 0x7e {
		return seqResult{kind: seqNot}
	}
	return csi(params, b[i:j], b[j], j+1)
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// params splits "1;5" into numbers; ok is false for anything but digits
// and semicolons, or a number out of range.
func numbers(p []byte) ([]int, bool) {
	if len(p) == 0 {
		return nil, true
	}
	var out []int
	n := 0
	digits := 0
	for _, c := range p {
		switch {
		case c >= '0' && c <= '9':
			if digits++; digits > 5 {
				return nil, false
			}
			n = n*10 + int(c-'0')
		case c == ';':
			out = append(out, n)
			n, digits = 0, 0
		default:
			return nil, false
		}
	}
	return append(out, n), true
}

// xtermMods decodes an xterm modifier parameter (1 + bits: 1 Shift, 2 Alt,
// 4 Ctrl, 8 Meta).
func xtermMods(m int) (Key, bool) {
	if m <= 1 {
		return 0, m >= 0
	}
	if m > 16 {
		return 0, false
	}
	f := m - 1
	var k Key
	if f&1 != 0 {
		k |= Shift
	}
	if f&2 != 0 || f&8 != 0 {
		k |= Meta
	}
	if f&4 != 0 {
		k |= Ctrl
	}
	return k, true
}

var cursorFinal = map[byte]Key{
	'A': Up, 'B': Down, 'C': Right, 'D': Left, 'H': Home, 'F': End,
	'P': F1, 'Q': F2, 'R': F3, 'S': F4,
}

// tildeKeys are the ESC [ n ~ keys (VT220, xterm, rxvt, Linux console).
var tildeKeys = map[int]Key{
	1: Home, 2: IC, 3: DC, 4: End, 5: PPage, 6: NPage, 7: Home, 8: End,
	11: F1, 12: F2, 13: F3, 14: F4, 15: F5, 17: F6, 18: F7, 19: F8, 20: F9,
	21: F10, 23: F11, 24: F12,
}

func csi(params, inter []byte, fin byte, n int) seqResult {
	drop := seqResult{kind: seqDrop, n: n}
	key := func(k Key) seqResult { return seqResult{kind: seqKey, n: n, key: k} }
	if len(params) > 0 && params[0] == '<' {
		return drop // SGR mouse (M press, m release) or something unknown
	}
	if len(inter) > 0 {
		return drop
	}
	nums, ok := numbers(params)
	if !ok {
		return drop
	}
	switch fin {
	case 'A', 'B', 'C', 'D', 'H', 'F', 'P', 'Q', 'R', 'S', 'Z':
		k := BTab
		if fin != 'Z' {
			k = cursorFinal[fin]
		}
		switch len(nums) {
		case 0:
			if fin >= 'P' && fin <= 'S' {
				return drop // a bare CSI P is no key
			}
			return key(k)
		case 1:
			if nums[0] > 1 || fin >= 'P' && fin <= 'S' {
				return drop
			}
			return key(k)
		case 2:
			m, ok := xtermMods(nums[1])
			if nums[0] > 1 || !ok {
				return drop
			}
			return key(k | m)
		}
		return drop
	case 'I', 'O':
		if len(nums) == 0 {
			if fin == 'I' {
				return key(FocusIn)
			}
			return key(FocusOut)
		}
		return drop
	case 'a', 'b', 'c', 'd': // rxvt shifted arrows
		if len(nums) == 0 {
			return key(map[byte]Key{'a': Up, 'b': Down, 'c': Right, 'd': Left}[fin] | Shift)
		}
		return drop
	case '~', '^', '$', '@':
		if len(nums) == 0 {
			return drop
		}
		if fin == '~' {
			switch {
			case len(nums) == 1 && nums[0] == 200:
				return seqResult{kind: seqDrop, n: n, paste: 1}
			case len(nums) == 1 && nums[0] == 201:
				return seqResult{kind: seqDrop, n: n, paste: -1}
			case len(nums) == 3 && nums[0] == 27:
				// xterm modifyOtherKeys: ESC [ 27 ; mods ; char ~
				m, ok := xtermMods(nums[1])
				if !ok || nums[2] >= 0x110000 || nums[2] == 0 {
					return drop
				}
				k, ok := applyCtrl(Key(nums[2]) | m)
				if !ok {
					k = Key(nums[2]) | m
				}
				return key(k)
			}
		}
		k, known := tildeKeys[nums[0]]
		if !known || len(nums) > 2 || fin != '~' && len(nums) != 1 {
			return drop
		}
		var m Key
		switch fin {
		case '^':
			m = Ctrl
		case '$':
			m = Shift
		case '@':
			m = Ctrl | Shift
		default:
			if len(nums) == 2 {
				if m, ok = xtermMods(nums[1]); !ok {
					return drop
				}
			}
		}
		return key(k | m)
	}
	return drop
}

var ss3Plain = map[byte]Key{
	'A': Up, 'B': Down, 'C': Right, 'D': Left, 'H': Home, 'F': End,
	'P': F1, 'Q': F2, 'R': F3, 'S': F4,
	'a': Up | Ctrl, 'b': Down | Ctrl, 'c': Right | Ctrl, 'd': Left | Ctrl, // rxvt
	'o': KPSlash, 'j': KPStar, 'm': KPMinus, 'w': KP7, 'x': KP8, 'y': KP9,
	'k': KPPlus, 't': KP4, 'u': KP5, 'v': KP6, 'q': KP1, 'r': KP2, 's': KP3,
	'M': KPEnter, 'p': KP0, 'n': KPPeriod,
}

// ss3 parses ESC O x, and xterm's ESC O 5 P / ESC O 1;5 P.
func ss3(b []byte, more seqResult) seqResult {
	i := 2
	for i < len(b) && i < 10 && (b[i] >= '0' && b[i] <= '9' || b[i] == ';') {
		i++
	}
	if i >= len(b) {
		return more // at most 11 bytes wait: the byte after the cap decides
	}
	fin := b[i]
	if i == 2 {
		if k, ok := ss3Plain[fin]; ok {
			return seqResult{kind: seqKey, n: 3, key: k}
		}
		return seqResult{kind: seqNot}
	}
	if fin < 0x40 || fin > 0x7e {
		return seqResult{kind: seqNot}
	}
	drop := seqResult{kind: seqDrop, n: i + 1}
	nums, ok := numbers(b[2:i])
	k, known := cursorFinal[fin]
	if !ok || !known || len(nums) > 2 || len(nums) == 2 && nums[0] > 1 {
		return drop
	}
	m, ok := xtermMods(nums[len(nums)-1])
	if !ok {
		return drop
	}
	return seqResult{kind: seqKey, n: i + 1, key: k | m}
}
