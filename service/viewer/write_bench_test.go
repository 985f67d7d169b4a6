package viewer

import "testing"

// discardTerm takes every write at once.
type discardTerm struct{ *fakeTerm }

func (discardTerm) Write(b []byte) (int, error) { return len(b), nil }

// BenchmarkGuardedWrite is one echo frame handed to a guest's terminal
// that takes it at once, with the stall guard armed around the write, as
// Run writes every frame; inline, also with the budget's timer armed, as
// DrawNow writes.
func BenchmarkGuardedWrite(b *testing.B) {
	noSlowWrite := func() {}
	for _, bc := range []struct {
		name string
		slow func()
	}{{"loop", nil}, {"inline", noSlowWrite}} {
		b.Run(bc.name, func(b *testing.B) {
			out := &writeGuard{term: discardTerm{newFakeTerm()}, timeout: Config{}.withDefaults().WriteTimeout, watch: NewWatchdog()}
			frame := []byte("a")
			b.ReportAllocs()
			for b.Loop() {
				if err := out.write(frame, bc.slow); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
