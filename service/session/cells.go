package session

import (
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"

	"tmate-relay/service/protocol"
	"tmate-relay/service/vt"
)

// A session's panes keep their cells in a vt.Pool of Config.MaxCells,
// drawn in turn from the relay's pool (Config.Cells), as the cells are
// written: a size the host announces costs nothing until something is
// drawn there. The budget is panes x width x (height + history): a layout
// is admitted only when its screens, sum of (width + vt.RowCells) x height,
// fit the session's budget, and, for what it adds to the session's
// screens, what the relay has left. History takes the rest: when a pane
// needs cells the pools cannot give, the oldest history of the pane with
// the most goes first (shedHistory), as when history_lines is reached.
// Only when no history is left is the session ended, its host told which
// setting it ran into. Ending a session gives all its cells back at once.

// Settings that size the pools, named in what a refused host reads.
const (
	SessionCellsSetting = "max_session_cells"
	RelayCellsSetting   = "max_relay_cells"
)

// DefaultMaxCells is a session's budget when Config.MaxCells is 0: 8 Mi
// cells, 128 MiB. A 500x200 window takes 0.1 Mi of screen cells, so 80
// such windows fit, or one split into hundreds of panes; 2000 lines of
// history of a 500-column pane take 1 Mi cells when full of coloured text,
// about a tenth of that as plain text.
const DefaultMaxCells = 8 << 20

// NewRelayCells returns the relay's pool of limit cells (0: no limit), the
// parent of every session's.
func NewRelayCells(limit int64) *vt.Pool { return vt.NewPool(RelayCellsSetting, limit, nil) }

// admitLayout refuses a layout whose screens do not fit the session's
// budget, or whose growth does not fit what the relay has left.
func (s *Session) admitLayout(m *protocol.SyncLayout) error {
	var need int64
	for _, w := range m.Windows {
		for _, p := range w.Panes {
			need += screenCells(p.SX, p.SY)
		}
	}
	if lim := s.cells.Limit(); lim > 0 && need > lim {
		return &RefusedError{fmt.Sprintf("Relay: this layout's pane screens need %s, more than the relay allows a session: [limits] %s = %d cells (%s) in its relay.toml. Make the window smaller or use fewer panes.",
			mib(need), SessionCellsSetting, lim, mib(lim))}
	}
	var have int64
	for _, p := range s.panes {
		w, h := p.emu.Size()
		have += screenCells(w, h)
	}
	if relay := s.cfg.Cells; relay != nil && need > have && !relay.Fits(need-have) {
		return s.relayFull(relay)
	}
	return nil
}

// screenCells is what the screen of a w x h pane may take.
func screenCells(w, h int) int64 { return int64(max(w, 1)+vt.RowCells) * int64(max(h, 1)) }

// cellsRefusal is the error that ends the session when short, a pool that
// refused a pane cells for what, is not nil.
func (s *Session) cellsRefusal(short *vt.Pool, what string) error {
	if short == nil || s.ended() {
		return nil // an ended session's pool refuses everything
	}
	if short.Name == RelayCellsSetting {
		return s.relayFull(short)
	}
	return &RefusedError{fmt.Sprintf("Relay: %s needs more memory than the relay allows a session, with no history left to drop: [limits] %s = %d cells (%s) in its relay.toml.",
		what, short.Name, short.Limit(), mib(short.Limit()))}
}

func (s *Session) relayFull(relay *vt.Pool) error {
	return &RefusedError{fmt.Sprintf("Relay: the relay's memory for panes is in use by other sessions: [limits] %s = %d cells (%s) in its relay.toml. Try again later.",
		RelayCellsSetting, relay.Limit(), mib(relay.Limit()))}
}

func mib(cells int64) string {
	return fmt.Sprintf("%d MiB", (cells*vt.CellBytes+(1<<20)-1)>>20)
}

// shedHistory frees cells for a pane that needs them: the oldest history
// of the pane with the most, or else spare storage anywhere. It runs with
// s.mu held for writing, from within the emulator that was refused.
func (s *Session) shedHistory() bool {
	var most *vt.Emulator
	for _, p := range s.panes {
		for _, e := range []*vt.Emulator{p.emu, p.out} {
			if e != nil && (most == nil || e.HistorySize() > most.HistorySize()) {
				most = e
			}
		}
	}
	if most != nil && most.HistorySize() > 0 {
		return most.Shed()
	}
	for _, p := range s.panes {
		for _, e := range []*vt.Emulator{p.emu, p.out} {
			if e != nil && e.Shed() {
				return true
			}
		}
	}
	return false
}

// dropPanes lets go of an ended session's panes, which held held cells,
// whoever still holds the session (a guest leaving). After a large
// session the memory goes back to the system at once rather than at the
// runtime's next collection, minutes later on an idle relay.
func (s *Session) dropPanes(held int64) {
	s.mu.Lock()
	for id, p := range s.panes {
		p.emu.Release()
		p.dropOutput()
		delete(s.panes, id)
	}
	s.stateGen++ // guests' views hold the panes
	s.mu.Unlock()
	if held*vt.CellBytes >= returnMemoryAbove {
		returnMemory()
	}
}

// returnMemoryAbove is the size of panes whose end returns memory to the
// system; returnEvery bounds how often it is done (it is a full
// collection).
const (
	returnMemoryAbove = 32 << 20
	returnEvery       = 10 * time.Second
)

var (
	lastReturn    atomic.Int64 // unix nanoseconds
	returnPending atomic.Bool
)

// returnMemory returns free memory to the system now, or once returnEvery
// has passed since it last did; calls meanwhile share that one.
func returnMemory() {
	if !returnPending.CompareAndSwap(false, true) {
		return
	}
	wait := time.Duration(lastReturn.Load() + int64(returnEvery) - time.Now().UnixNano())
	time.AfterFunc(max(wait, 0), func() {
		debug.FreeOSMemory()
		lastReturn.Store(time.Now().UnixNano())
		returnPending.Store(false)
	})
}
