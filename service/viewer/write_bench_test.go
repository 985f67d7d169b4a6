package viewer

import "testing"

// discardTerm takes every write at once.
type discardTerm struct{ *fakeTerm }

func (discardTerm) Write(b []byte) (int, error) { return len(b), nil }

// BenchmarkGuardedWrite is one echo frame handed to a guest's terminal
// that takes it at once, with the stall guard armed around the write, as
// Run writes every frame.
func BenchmarkGuardedWrite(b *testing.B) {
	out := &writeGuard{term: discardTerm{newFakeTerm()}, timeout: Config{}.withDefaults().WriteTimeout}
	frame := []byte("a")
	b.ReportAllocs()
	for b.Loop() {
		if err := out.write(frame); err != nil {
			b.Fatal(err)
		}
	}
}
