package guest

import (
	"testing"
	"time"
)

// TestClockStep checks how often each kind of status format changes, and
// that a time rounded down to that step draws the same.
func TestClockStep(t *testing.T) {
	for _, tc := range []struct {
		format string
		want   int64
	}{
		{"#W", 0},
		{"100%% done", 0},
		{"%n%t", 0},
		{`"#{=21:pane_title}" %H:%M %d-%b-%y`, 60},
		{"%-I:%M %p", 60},
		{"%a %e %B %Y %Z", 60},
		{"%H:%M:%S", 1},
		{"%T", 1},
		{"%s", 1},
		{"%c", 1},
		{"%_S", 1},
		{"%Ey %OS", 1},
		{"trailing %", 0},
	} {
		got := ClockStep(tc.format)
		if got != tc.want {
			t.Errorf("ClockStep(%q) = %d, want %d", tc.format, got, tc.want)
		}
		if got == 0 {
			continue
		}
		for _, at := range []time.Time{
			time.Date(2026, 12, 3, 10, 59, 59, 0, time.UTC),
			time.Date(2026, 12, 31, 23, 59, 30, 0, time.FixedZone("NPT", 5*3600+45*60)),
		} {
			down := time.Unix(at.Unix()-at.Unix()%got, 0).In(at.Location())
			if a, b := strftime(tc.format, at), strftime(tc.format, down); a != b {
				t.Errorf("%q at %v shows %q, rounded down to %d s %q", tc.format, at, a, got, b)
			}
		}
	}
}
