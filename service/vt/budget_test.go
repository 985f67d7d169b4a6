package vt

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

// scroll is n numbered lines of coloured text, as a busy program writes.
func scroll(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		b.WriteString("\x1b[3")
		b.WriteByte(byte('0' + i%8))
		b.WriteString("mline ")
		b.WriteString(strings.Repeat("x", i%70))
		b.WriteString("\x1b[0m\r\n")
	}
	return b.Bytes()
}

func TestCellsDrawnMatchStorage(t *testing.T) {
	type step struct {
		data   string
		resize [2]int // when not zero
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"fill and scroll into history", []step{{data: string(scroll(300))}}},
		{"history wraps and is reused", []step{{data: string(scroll(500))}, {data: string(scroll(500))}}},
		{"alignment test", []step{{data: "\x1b#8"}}},
		{"alternate screen and back", []step{{data: string(scroll(40))}, {data: "\x1b[?1049h\x1b#8"}, {data: "\x1b[?1049l"}}},
		{"insert and erase", []step{{data: "abc\x1b[5@\x1b[41m\x1b[K\x1b[2J\x1b[3J"}}},
		{"resize shrinks, grows and reflows", []step{
			{data: string(scroll(200))},
			{resize: [2]int{20, 5}},
			{resize: [2]int{120, 40}},
			{data: "\x1b[?1049h\x1b#8"},
			{resize: [2]int{10, 3}},
			{data: "\x1b[?1049l"},
		}},
		{"reset", []step{{data: string(scroll(100))}, {data: "\x1bc"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, limit := range []int64{0, 4000} {
				pool := NewPool("test", limit, nil)
				e := New(80, 24, 100)
				if short := e.SetPool(pool); short != nil {
					t.Fatalf("pool %d refused an empty pane", limit)
				}
				for i, s := range tc.steps {
					if s.resize != [2]int{} {
						e.Resize(s.resize[0], s.resize[1])
					} else {
						e.Write([]byte(s.data))
					}
					if got, want := pool.Used(), e.Cells(); got != want {
						t.Fatalf("limit %d, step %d: %d cells drawn, the pane keeps %d", limit, i, got, want)
					}
					if limit > 0 && pool.Used() > limit {
						t.Fatalf("step %d: %d cells drawn from a pool of %d", i, pool.Used(), limit)
					}
				}
				e.Release()
				if pool.Used() != 0 {
					t.Fatalf("%d cells still drawn after Release", pool.Used())
				}
			}
		})
	}
}

func TestHistoryGivesWayToThePool(t *testing.T) {
	pool := NewPool("test", 3000, nil)
	e := New(80, 24, 2000)
	e.SetPool(pool)
	e.Write(scroll(3000))
	if e.Short() != nil {
		t.Fatal("the pane ran short although it had history to drop")
	}
	if n := e.HistorySize(); n == 0 || n >= 2000 {
		t.Fatalf("history %d lines: want some, fewer than its limit", n)
	}
	if pool.Used() > 3000 {
		t.Fatalf("%d cells drawn from a pool of 3000", pool.Used())
	}
	// The newest lines are the ones kept.
	if got := string(runes(e.HistoryLine(e.HistorySize() - 1))); !strings.HasPrefix(got, "line ") {
		t.Fatalf("newest history line %q", got)
	}
}

func runes(cells []Cell) []rune {
	r := make([]rune, len(cells))
	for i, c := range cells {
		r[i] = c.Rune
	}
	return r
}

// A pane announced as 10000x10000 costs nothing until it is written; the
// alignment test then fills only what the pool holds, and the pane is
// Short.
func TestAlignmentTestOnAHugePaneStopsAtThePool(t *testing.T) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	parent := NewPool("relay", 4<<20, nil)
	pool := NewPool("session", 1<<20, parent)
	e := New(10000, 10000, 2000)
	if short := e.SetPool(pool); short != nil {
		t.Fatalf("%s refused the rows of the pane", short.Name)
	}
	e.Write([]byte("\x1b#8"))
	runtime.ReadMemStats(&after)
	if e.Short() != pool {
		t.Fatalf("short of %v, want the session's pool", e.Short())
	}
	if pool.Used() > 1<<20 || parent.Used() != pool.Used() {
		t.Fatalf("session drew %d, relay %d, of 1 Mi", pool.Used(), parent.Used())
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Fatalf("allocated %d MiB for a pool of 16 MiB", grew>>20)
	}
	runtime.KeepAlive(e)
}

func TestPoolTakesFromItsParentAllOrNothing(t *testing.T) {
	relay := NewPool("relay", 100, nil)
	a, b := NewPool("a", 80, relay), NewPool("b", 80, relay)
	for _, tc := range []struct {
		pool      *Pool
		n         int64 // < 0: give -n back
		wantShort *Pool
		wantRelay int64
	}{
		{a, 60, nil, 60},
		{a, 30, a, 60},     // over a's own limit
		{b, 50, relay, 60}, // over the relay's
		{b, 40, nil, 100},  // exactly full
		{a, 1, relay, 100}, // nothing left
		{a, -60, nil, 40},
		{a, 20, nil, 60},
	} {
		if tc.n < 0 {
			tc.pool.Give(-tc.n)
		} else if short := tc.pool.Take(tc.n); short != tc.wantShort {
			t.Fatalf("%s.Take(%d): short %v, want %v", tc.pool.Name, tc.n, short, tc.wantShort)
		}
		if relay.Used() != tc.wantRelay {
			t.Fatalf("after %s %d: relay used %d, want %d", tc.pool.Name, tc.n, relay.Used(), tc.wantRelay)
		}
	}
	b.Close()
	if relay.Used() != 20 || b.Take(1) != b {
		t.Fatalf("after Close: relay used %d; a closed pool must refuse", relay.Used())
	}
	b.Give(40) // late gives from b's panes change nothing
	if relay.Used() != 20 {
		t.Fatalf("relay used %d after a closed pool gave", relay.Used())
	}
}
