package peertext

import (
	"strings"
	"testing"
)

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"2.4.0", 64, "2.4.0"},
		{"", 4, ""},
		{"abcd", 4, "abcd"},
		{"abcdef", 4, "abcd...[6 bytes, cut]"},
		{"aé€", 2, "a...[6 bytes, cut]"}, // é is 2 bytes: not split
		{"aé€", 3, "aé...[6 bytes, cut]"},
		{strings.Repeat("A", 900000), 3, "AAA...[900000 bytes, cut]"},
	} {
		if got := Cut(tc.s, tc.n); got != tc.want {
			t.Errorf("Cut(%.20q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}
