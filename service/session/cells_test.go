package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"tmate-relay/service/protocol"
	"tmate-relay/service/vt"
)

// cellLayout is a SYNC_LAYOUT of windows, each of panes of the given sizes
// (pane ids follow on from one window to the next).
func cellLayout(windows ...[][2]int) *protocol.SyncLayout {
	m := &protocol.SyncLayout{ActiveWindowIdx: 0}
	id := 0
	for i, sizes := range windows {
		w := protocol.Window{Idx: i, Name: fmt.Sprint(i), ActivePaneID: id}
		for _, sz := range sizes {
			w.Panes = append(w.Panes, protocol.PaneLayout{ID: id, SX: sz[0], SY: sz[1]})
			m.SX, m.SY = max(m.SX, sz[0]), max(m.SY, sz[1])
			id++
		}
		m.Windows = append(m.Windows, w)
	}
	return m
}

// split is n panes of w x h.
func split(n, w, h int) [][2]int {
	out := make([][2]int, n)
	for i := range out {
		out[i] = [2]int{w, h}
	}
	return out
}

func TestLayoutsAgainstTheSessionBudget(t *testing.T) {
	for _, tc := range []struct {
		name    string
		windows [][][2]int
		refused bool
	}{
		{"one 10000x10000 pane", [][][2]int{{{10000, 10000}}}, true},
		{"1000 panes of 100x100", [][][2]int{split(1000, 100, 100)}, true},
		{"1000 panes of 1x10000", [][][2]int{split(1000, 1, 10000)}, true},
		{"a 500x200 window", [][][2]int{{{500, 200}}}, false},
		{"a 500x200 window in 99 stacked panes", [][][2]int{split(99, 500, 1)}, false},
		{"a 500x200 window in 100 side by side", [][][2]int{split(100, 4, 200)}, false},
		{"50 windows of 500x200", func() (w [][][2]int) {
			for range 50 {
				w = append(w, [][2]int{{250, 200}, {249, 100}, {249, 99}})
			}
			return w
		}(), false},
		{"1000 panes of 80x24", [][][2]int{split(1000, 80, 24)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestSession(t, Config{})
			_, err := s.Apply(cellLayout(tc.windows...))
			msg := refusal(t, err)
			if got := msg != ""; got != tc.refused {
				t.Fatalf("refused = %v (%q), want %v", got, msg, tc.refused)
			}
			if tc.refused && !strings.Contains(msg, "[limits] max_session_cells") {
				t.Fatalf("refusal %q does not name the setting", msg)
			}
		})
	}
}

// Announcing panes costs only their rows; the budget is drawn as cells
// are written, and history gives way before the session ends.
func TestSessionCellsAreDrawnAsWritten(t *testing.T) {
	relay := NewRelayCells(0)
	s, _ := newTestSession(t, Config{MaxCells: 200000, Cells: relay, HistoryLines: 2000})
	apply(t, s, cellLayout(split(2, 100, 50)))
	if used := s.cells.Used(); used > 2*(vt.RowCells*50+100) {
		t.Fatalf("%d cells drawn for two empty 100x50 panes", used)
	}
	// Enough coloured output for more history than the budget holds.
	var out strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&out, "\x1b[3%dm%-99d\x1b[m\r\n", i%8, i)
	}
	for _, id := range []int{0, 1} {
		if _, err := s.Apply(&protocol.PtyData{PaneID: id, Data: []byte(out.String())}); err != nil {
			t.Fatalf("pane %d: %v", id, err)
		}
	}
	if used := s.cells.Used(); used > 200000 || used != relay.Used() {
		t.Fatalf("session drew %d cells of 200000, relay counts %d", used, relay.Used())
	}
	if h := s.panes[1].emu.HistorySize(); h == 0 || h >= 2000 {
		t.Fatalf("pane 1 kept %d lines of history; want some, fewer than 2000", h)
	}
	// The alignment test fills both screens: still within the budget.
	for _, id := range []int{0, 1} {
		if _, err := s.Apply(&protocol.PtyData{PaneID: id, Data: []byte("\x1b#8")}); err != nil {
			t.Fatalf("pane %d: %v", id, err)
		}
	}
	s.End("done")
	if relay.Used() != 0 {
		t.Fatalf("relay still counts %d cells after the session ended", relay.Used())
	}
}

// When the relay's budget is in use, a new session's layout is refused
// and the live session goes on.
func TestRelayBudgetRefusesNewLayouts(t *testing.T) {
	relay := NewRelayCells(100000)
	live, _ := newTestSession(t, Config{Cells: relay})
	apply(t, live, cellLayout(split(1, 400, 200)))
	apply(t, live, &protocol.PtyData{PaneID: 0, Data: []byte("\x1b#8")})
	late, _ := newTestSession(t, Config{Cells: relay})
	_, err := late.Apply(cellLayout(split(1, 200, 100)))
	if msg := refusal(t, err); !strings.Contains(msg, "[limits] max_relay_cells") {
		t.Fatalf("the late session's layout: %q, want a refusal naming max_relay_cells", msg)
	}
	late.End("refused")
	for i := range 3000 {
		if _, err := live.Apply(&protocol.PtyData{PaneID: 0, Data: fmt.Appendf(nil, "%d\r\n", i)}); err != nil {
			t.Fatalf("the live session: %v", err)
		}
	}
	if relay.Used() > 100000 {
		t.Fatalf("relay counts %d cells of 100000", relay.Used())
	}
}

func TestHeapFallsWhenTheSessionEnds(t *testing.T) {
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	relay := NewRelayCells(0)
	s, _ := newTestSession(t, Config{Cells: relay})
	apply(t, s, cellLayout(split(3, 1000, 1000)))
	for id := range 3 {
		apply(t, s, &protocol.PtyData{PaneID: id, Data: []byte("\x1b#8")})
	}
	full := heap()
	s.End("the host left")
	// An ended session lets go of its panes whoever holds it.
	for i := 0; ; i++ {
		s.mu.RLock()
		n := len(s.panes)
		s.mu.RUnlock()
		if n == 0 {
			break
		}
		if i == 10000 {
			t.Fatal("the ended session keeps its panes")
		}
		time.Sleep(time.Millisecond)
	}
	after := heap()
	t.Logf("Go heap %.1f MiB before, %.1f MiB with 3 filled 1000x1000 panes, %.1f MiB after the session ended; relay cells %d",
		mib64(before), mib64(full), mib64(after), relay.Used())
	if full < before+40<<20 {
		t.Fatalf("the panes took only %.1f MiB", mib64(full-before))
	}
	if after > before+4<<20 || relay.Used() != 0 {
		t.Fatalf("heap %.1f MiB after the end, %.1f MiB before; relay cells %d", mib64(after), mib64(before), relay.Used())
	}
	runtime.KeepAlive(s)
}

func mib64(n uint64) float64 { return float64(n) / (1 << 20) }

// FuzzLayoutCells drives two sessions sharing a relay budget with layouts,
// pane output and copy-mode text of any size, and checks after every
// message that the cells the panes keep are exactly those drawn, within
// both budgets; a session whose host is refused ends and gives all back.
func FuzzLayoutCells(f *testing.F) {
	f.Add([]byte("\x00\x01\x27\x10\x27\x10\x01\x00\x03\x1b#8")) // the 10000x10000 bomb
	f.Add([]byte("\x00\x02\x00\x50\x00\x18\x00\x50\x00\x18\x01\x01\x08\x1b#8abc\r\n"))
	f.Add([]byte("\x00\x01\x00\xc8\x00\x64\x03\x00\x05\x1b#8\r\n\x00\x01\x00\x14\x00\x05\x05\x00\x02hi"))
	f.Add([]byte("\x00\x01\x01\x00\x00\x40\x01\x00\x08\x1b[?1049h\x1b#8\x00\x01\x00\x10\x00\x04\x01\x00\x08\x1b[?1049l"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const sessionCells, relayCells = 30000, 50000
		relay := NewRelayCells(relayCells)
		newSession := func() *Session {
			s := New(Config{MaxCells: sessionCells, Cells: relay, HistoryLines: 40}, &hostLog{})
			return s
		}
		sessions := [2]*Session{newSession(), newSession()}
		next := func(n int) []byte {
			if len(data) < n {
				data = append(data, make([]byte, n-len(data))...)
			}
			b := data[:n]
			data = data[n:]
			return b
		}
		for len(data) > 0 {
			op := next(1)[0]
			i := int(op>>3) & 1
			s := sessions[i]
			var m protocol.HostMessage
			switch op & 7 {
			case 0, 1: // a layout of up to 4 panes of any size
				n := int(next(1)[0])%4 + 1
				var sizes [][2]int
				for range n {
					b := next(4)
					// Heights up to 1000 only: a linefeed on a pane of
					// 10000 rows moves 10000 rows, too slow to fuzz.
					sizes = append(sizes, [2]int{
						int(binary.BigEndian.Uint16(b))%protocol.DefaultMaxSize + 1,
						int(binary.BigEndian.Uint16(b[2:]))%1000 + 1,
					})
				}
				m = cellLayout(sizes)
			case 2, 3, 4: // output, repeated
				b := next(3)
				chunk := next(int(b[2]) % 32)
				m = &protocol.PtyData{PaneID: int(b[0]) % 4, Data: []byte(strings.Repeat(string(chunk), int(b[1])+1))}
			case 5:
				b := next(2)
				m = &protocol.WriteCopyMode{PaneID: int(b[0]) % 4, Text: strings.Repeat("copy mode text ", int(b[1]))}
			case 6:
				m = &protocol.SyncCopyMode{PaneID: int(next(1)[0]) % 4}
			case 7: // the host leaves, another comes
				s.End("left")
				sessions[i] = newSession()
				continue
			}
			_, err := s.Apply(m)
			var refused *RefusedError
			if errors.As(err, &refused) {
				if !strings.Contains(refused.Msg, "[limits] max_") {
					t.Fatalf("refusal %q names no setting", refused.Msg)
				}
				s.End(refused.Msg)
				sessions[i] = newSession()
			}
			var total int64
			for _, s := range sessions {
				var kept int64
				s.mu.RLock()
				for _, p := range s.panes {
					kept += p.emu.Cells()
					if p.out != nil {
						kept += p.out.Cells()
					}
				}
				s.mu.RUnlock()
				if used := s.cells.Used(); used != kept || used > sessionCells {
					t.Fatalf("a session drew %d cells, its panes keep %d; budget %d", used, kept, sessionCells)
				}
				total += kept
			}
			if used := relay.Used(); used != total || used > relayCells {
				t.Fatalf("relay counts %d cells, live sessions keep %d; budget %d", used, total, relayCells)
			}
		}
	})
}

// A pane that leaves the layout gives its cells back before a new one
// draws: a window replaced by one as large fits a budget that holds one.
func TestReplacedPaneGivesBackFirst(t *testing.T) {
	s, _ := newTestSession(t, Config{MaxCells: 91000})
	apply(t, s, cellLayout(split(1, 300, 300)))
	apply(t, s, &protocol.PtyData{PaneID: 0, Data: []byte("\x1b#8")})
	next := cellLayout(split(1, 300, 300))
	next.Windows[0].Panes[0].ID, next.Windows[0].ActivePaneID = 1, 1
	for _, m := range []protocol.HostMessage{next, &protocol.PtyData{PaneID: 1, Data: []byte("\x1b#8")}} {
		if _, err := s.Apply(m); err != nil {
			t.Fatalf("%T: %v", m, err)
		}
	}
}
