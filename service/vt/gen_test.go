package vt

import (
	"fmt"
	"math/rand"
	"testing"
)

// TestLineVersionFollowsContent checks LineVersion's promise under random
// output, resizes and screen switches: a stamp seen before means the same
// cells, wherever the line now is, and a stamp of 0 a blank line.
func TestLineVersionFollowsContent(t *testing.T) {
	tokens := []string{
		"a", "hello ", "0123456789", "\r\n", "\n", "\r", "\b", "\t", "日本", "e\u0301", "🙂",
		"\x1b[31m", "\x1b[44m", "\x1b[m", "\x1b[K", "\x1b[1K", "\x1b[2K", "\x1b[2J", "\x1b[J", "\x1b[1J",
		"\x1b[H", "\x1b[5;10H", "\x1b[12;1H", "\x1b[A", "\x1b[3B", "\x1b[4D", "\x1b[5X", "\x1b[2;8r", "\x1b[r",
		"\x1bM", "\x1bD", "\x1bE", "\x1b[L", "\x1b[2M", "\x1b[3@", "\x1b[2P", "\x1b[4h", "\x1b[4l",
		"\x1b[?1049h", "\x1b[?1049l", "\x1b[?47h", "\x1b[?47l", "\x1b[?7l", "\x1b[?7h", "\x1b#8", "\x1bc",
	}
	rng := rand.New(rand.NewSource(1))
	for run := range 200 {
		e := New(20, 12, 50)
		seen := map[uint64]string{}
		for step := range 200 {
			if rng.Intn(40) == 0 {
				e.Resize(5+rng.Intn(30), 3+rng.Intn(15))
			} else {
				e.Write([]byte(tokens[rng.Intn(len(tokens))]))
			}
			_, h := e.Size()
			for y := range h {
				got := fmt.Sprint(e.Line(y))
				ver := e.LineVersion(y)
				if ver == 0 {
					for _, c := range e.Line(y) {
						if c != (Cell{}) {
							t.Fatalf("run %d step %d: line %d stamped 0 holds %s", run, step, y, got)
						}
					}
					continue
				}
				if was, ok := seen[ver]; ok && was != got {
					t.Fatalf("run %d step %d: line %d kept stamp %d but changed\nfrom %s\nto   %s", run, step, y, ver, was, got)
				}
				seen[ver] = got
			}
		}
	}
}
