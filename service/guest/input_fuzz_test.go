package guest

import (
	"testing"
	"time"
)

func FuzzInput(f *testing.F) {
	for _, s := range []string{
		"ls\r", "\x02c", "\x02d", "\x02\x1b[A\x1b[A", "\x1b[200~\x02x\x1b[201~",
		"\x1b[M !!", "\x1b[<0;1;1M", "\x1b\x1b[1;5A", "\x02\x02", "é\x1b",
		"\x02?\x16\x1b[Aq", "\x02q1",
	} {
		f.Add([]byte(s), uint8(1))
	}
	tab := defaultTable(f, []string{"bind-key", "-n", "M-t", "switch-client", "-T", "mine"},
		[]string{"bind-key", "-T", "mine", "x", "kill-pane"},
		[]string{"bind-key", "-r", "x", "select-pane", "-L", ";", "detach"})
	f.Fuzz(func(t *testing.T, b []byte, split uint8) {
		now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		rw, ro := NewInput(tab, false), NewInput(tab, true)
		rw.SetClock(clock)
		ro.SetClock(clock)
		for _, in := range []*Input{rw, ro} {
			rest := b
			var got []Action
			for len(rest) > 0 {
				n := int(split)%len(rest) + 1
				got = append(got, in.Feed(rest[:n])...)
				rest = rest[n:]
				if split&0x80 != 0 {
					got = append(got, in.Flush()...)
				}
				now = now.Add(time.Duration(split) * time.Millisecond)
			}
			got = append(got, in.Flush()...)
			for i, a := range got {
				switch a.Kind {
				case ActPaneKey:
					if a.Key.IsMouse() {
						t.Fatalf("mouse key %v forwarded", a.Key)
					}
				case ActExec, ActLocal:
					if len(a.Argv) == 0 {
						t.Fatalf("empty argv")
					}
				case ActPrompt:
					// A prompt opened, changed or closed on this guest only.
				case ActView, ActMessage:
					// This guest's own views and messages.
				case ActDetach:
					if i != len(got)-1 {
						t.Fatalf("actions after detach: %v", got)
					}
				default:
					t.Fatalf("bad action %v", a)
				}
				if in.readOnly && a.Kind != ActDetach {
					t.Fatalf("read-only guest produced %v", a)
				}
			}
		}
	})
}
