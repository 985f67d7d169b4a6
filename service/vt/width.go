package vt

// runeWidth is wcwidth() as tmate 2.4 sees it: 0 for combining marks, 2
// for wide characters, -1 for characters it drops (wcwidth() == -1: C1
// controls, unassigned code points; tmux 3.x would print them as width 1),
// 1 for everything else.
func runeWidth(r rune) int {
	if r < 0xa0 {
		if r >= 0x80 {
			return -1
		}
		return 1
	}
	if inTable(nonPrintable[:], r) {
		return -1
	}
	if r < 0x300 {
		return 1
	}
	if inTable(zeroWidth[:], r) {
		return 0
	}
	if r >= 0x1100 && inTable(doubleWidth[:], r) {
		return 2
	}
	return 1
}

func inTable(t [][2]rune, r rune) bool {
	lo, hi := 0, len(t)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch {
		case r < t[m][0]:
			hi = m
		case r > t[m][1]:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}
