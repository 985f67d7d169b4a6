package guest

import "testing"

// BenchmarkInputKey decodes one typed character, as a guest's keystroke
// arrives, into the action that sends it to the host.
func BenchmarkInputKey(b *testing.B) {
	in := NewInput(defaultTable(b), false)
	key := []byte{'a'}
	b.ReportAllocs()
	for b.Loop() {
		if acts := in.Feed(key); len(acts) != 1 || acts[0].Kind != ActPaneKey {
			b.Fatalf("got %v", acts)
		}
	}
}
