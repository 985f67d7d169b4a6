package guest

import (
	"strconv"
	"strings"
	"time"
)

// strftime is C strftime(3) in the C locale, which tmux runs over status
// formats before expanding them ("%H:%M %d-%b-%y"). glibc's padding flags
// (- _ 0) and ^ (upper case) are honoured; E and O are read and ignored;
// an unknown conversion is copied as it is, as glibc does.
func strftime(f string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) {
			b.WriteByte(f[i])
			continue
		}
		start := i
		i++
		var pad byte // 0: the conversion's own
		upper := false
	flags:
		for ; i < len(f); i++ {
			switch f[i] {
			case '-', '_', '0':
				pad = f[i]
			case '^':
				upper = true
			case '#':
			default:
				break flags
			}
		}
		for i < len(f) && (f[i] == 'E' || f[i] == 'O') {
			i++
		}
		if i >= len(f) {
			b.WriteString(f[start:])
			break
		}
		s, ok := conversion(f[i], t, pad)
		if !ok {
			b.WriteString(f[start : i+1])
			continue
		}
		if upper {
			s = strings.ToUpper(s)
		}
		b.WriteString(s)
	}
	return b.String()
}

// conversion is one strftime conversion; pad is a flag overriding its
// padding.
func conversion(c byte, t time.Time, pad byte) (string, bool) {
	num := func(n, width int, defPad byte) string {
		p := defPad
		if pad != 0 {
			p = pad
		}
		s := strconv.Itoa(n)
		if p == '-' {
			return s
		}
		fill := "0"
		if p == '_' {
			fill = " "
		}
		for len(s) < width {
			s = fill + s
		}
		return s
	}
	hour12 := t.Hour() % 12
	if hour12 == 0 {
		hour12 = 12
	}
	isoYear, isoWeek := t.ISOWeek()
	switch c {
	case 'a':
		return t.Weekday().String()[:3], true
	case 'A':
		return t.Weekday().String(), true
	case 'b', 'h':
		return t.Month().String()[:3], true
	case 'B':
		return t.Month().String(), true
	case 'c':
		return strftime("%a %b %e %H:%M:%S %Y", t), true
	case 'C':
		return num(t.Year()/100, 2, '0'), true
	case 'd':
		return num(t.Day(), 2, '0'), true
	case 'D', 'x':
		return strftime("%m/%d/%y", t), true
	case 'e':
		return num(t.Day(), 2, '_'), true
	case 'F':
		return strftime("%Y-%m-%d", t), true
	case 'g':
		return num(isoYear%100, 2, '0'), true
	case 'G':
		return num(isoYear, 1, '0'), true
	case 'H':
		return num(t.Hour(), 2, '0'), true
	case 'I':
		return num(hour12, 2, '0'), true
	case 'j':
		return num(t.YearDay(), 3, '0'), true
	case 'k':
		return num(t.Hour(), 2, '_'), true
	case 'l':
		return num(hour12, 2, '_'), true
	case 'm':
		return num(int(t.Month()), 2, '0'), true
	case 'M':
		return num(t.Minute(), 2, '0'), true
	case 'n':
		return "\n", true
	case 'p':
		if t.Hour() < 12 {
			return "AM", true
		}
		return "PM", true
	case 'P':
		if t.Hour() < 12 {
			return "am", true
		}
		return "pm", true
	case 'r':
		return strftime("%I:%M:%S %p", t), true
	case 'R':
		return strftime("%H:%M", t), true
	case 's':
		return strconv.FormatInt(t.Unix(), 10), true
	case 'S':
		return num(t.Second(), 2, '0'), true
	case 't':
		return "\t", true
	case 'T', 'X':
		return strftime("%H:%M:%S", t), true
	case 'u':
		return num((int(t.Weekday())+6)%7+1, 1, '0'), true
	case 'U':
		return num((t.YearDay()+6-int(t.Weekday()))/7, 2, '0'), true
	case 'V':
		return num(isoWeek, 2, '0'), true
	case 'w':
		return num(int(t.Weekday()), 1, '0'), true
	case 'W':
		return num((t.YearDay()+6-(int(t.Weekday())+6)%7)/7, 2, '0'), true
	case 'y':
		return num(t.Year()%100, 2, '0'), true
	case 'Y':
		return num(t.Year(), 1, '0'), true
	case 'z':
		return t.Format("-0700"), true
	case 'Z':
		return t.Format("MST"), true
	case '%':
		return "%", true
	}
	return "", false
}

// ClockStep is how often, in seconds, what strftime makes of f can change:
// 1 when it shows seconds, 60 when minutes at most (or hours, days...), 0
// when it reads no time. A status line drawn with the time rounded down to
// the step is the same, and unchanged frames compose cheaply.
func ClockStep(f string) int64 {
	step := int64(0)
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		for i++; i < len(f) && strings.IndexByte("-_0^#EO", f[i]) >= 0; i++ {
		}
		if i >= len(f) {
			break
		}
		switch c := f[i]; {
		case strings.IndexByte("crsSTX", c) >= 0:
			return 1
		case strings.IndexByte("aAbhBCdDxeFgGHIjklmMpPRuUVwWyYzZ", c) >= 0:
			step = 60
		}
	}
	return step
}
