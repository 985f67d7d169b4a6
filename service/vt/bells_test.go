package vt

import "testing"

func TestBellsCountsOnlyExecutedBEL(t *testing.T) {
	for _, tc := range []struct {
		name   string
		chunks []string
		want   uint64
	}{
		{"plain", []string{"a\ab\a"}, 2},
		{"ends an OSC title", []string{"\x1b]2;title\a"}, 0},
		{"ends an OSC split across writes", []string{"\x1b]0;ti", "tle\a", "\a"}, 1},
		{"inside a CSI", []string{"\x1b[1\a;2H"}, 1},
		{"after an escape", []string{"\x1b\a"}, 1},
		{"in a DCS string", []string{"\x1bPq\a\x1b\\"}, 0},
		{"in broken UTF-8", []string{"\xc3\a"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := New(20, 4, 10)
			for _, c := range tc.chunks {
				e.Write([]byte(c))
			}
			if got := e.Bells(); got != tc.want {
				t.Errorf("Bells() = %d, want %d", got, tc.want)
			}
		})
	}
}
