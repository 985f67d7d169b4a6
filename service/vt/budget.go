package vt

import "sync"

// A host decides how large its panes are and what they hold, so the memory
// an emulator keeps is counted, in cells, and drawn from a Pool as it is
// stored, never as a size is announced: one Pool per session, whose parent
// is one for the whole relay. A cell is 16 bytes (the size of Cell), and
// everything an emulator keeps is counted in that unit:
//
//   - a stored screen cell, in use or spare (a line's capacity), is 1;
//   - a row (a screen line, or a slot of the history ring) is RowCells,
//     for its bookkeeping;
//   - a history line costs its compact encoding's bytes, 16 to a cell
//     (a line of plain text costs about one sixteenth of its cells).
//
// Emulator.Cells is that sum; an emulator given a pool keeps exactly that
// much drawn from it.

// CellBytes is the memory one counted cell stands for.
const CellBytes = 16

// RowCells is what a row costs besides its cells: its line header is 32
// bytes.
const RowCells = 2

// bytesCells is the number of cells n bytes of history take.
func bytesCells(n int) int64 { return int64(n+CellBytes-1) / CellBytes }

// Pool is a budget of cells shared by emulators (a session's panes), and
// possibly by other pools drawing from the same parent (the relay's
// sessions). It is safe for concurrent use.
type Pool struct {
	// Name is the setting that sizes the pool, for messages.
	Name string
	// Reclaim, when set, frees cells some emulator drawing from the pool
	// can do without (old history) and reports whether it freed any. An
	// emulator that is refused cells calls it, with the same locks held as
	// for its Write, then asks again.
	Reclaim func() bool

	limit  int64
	parent *Pool

	mu     sync.Mutex
	used   int64
	closed bool
}

// NewPool returns a pool of limit cells (0 or less: no limit) whose cells
// also count against parent (nil for none).
func NewPool(name string, limit int64, parent *Pool) *Pool {
	return &Pool{Name: name, limit: limit, parent: parent}
}

// Limit is the pool's size in cells, 0 for no limit.
func (p *Pool) Limit() int64 { return max(p.limit, 0) }

// Used is the number of cells drawn from the pool.
func (p *Pool) Used() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.used
}

// Fits reports whether n more cells would fit in p and its parents now.
func (p *Pool) Fits(n int64) bool {
	for ; p != nil; p = p.parent {
		p.mu.Lock()
		ok := !p.closed && (p.limit <= 0 || p.used+n <= p.limit)
		p.mu.Unlock()
		if !ok {
			return false
		}
	}
	return true
}

// Take draws n cells from p and its parents, all or none. It returns nil,
// or the pool that had not enough (p itself once closed).
func (p *Pool) Take(n int64) (short *Pool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || (p.limit > 0 && p.used+n > p.limit) {
		return p
	}
	if p.parent != nil {
		if short := p.parent.Take(n); short != nil {
			return short
		}
	}
	p.used += n
	return nil
}

// force draws n cells from p and its parents even beyond their limits
// (rows already made); nothing once p is closed.
func (p *Pool) force(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.used += n
	if p.parent != nil {
		p.parent.force(n)
	}
}

// Give returns n cells to p and its parents. After Close it does nothing:
// Close gave them back already.
func (p *Pool) Give(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.used -= n
	if p.parent != nil {
		p.parent.Give(n)
	}
}

// Close gives every cell drawn from p back to its parents (the session
// ended); p refuses cells from then on.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	if p.parent != nil {
		p.parent.Give(p.used)
	}
	p.used = 0
}

// SetPool makes e draw the cells it keeps from p (nil: from none), and
// gives back what it drew from its pool before. It returns the pool that
// could not hold what e keeps already, nil when p could.
func (e *Emulator) SetPool(p *Pool) *Pool {
	e.Release()
	e.pool, e.short = p, nil
	held := e.held
	e.held = 0
	if !e.grow(held) {
		e.held = held // kept all the same; the caller drops e
		e.pool = nil
	}
	return e.short
}

// Release gives back every cell e drew from its pool; e draws from none
// afterwards (the pane is gone).
func (e *Emulator) Release() {
	if e.pool != nil {
		e.pool.Give(e.held)
	}
	e.pool = nil
}

// Short returns the pool that refused e cells, nil if none has. What e was
// refused is not stored: a line of output, a history line, the alternate
// screen. The session that owns e ends then.
func (e *Emulator) Short() *Pool { return e.short }

// Cells counts the cells e keeps now (see budget.go), from its storage
// itself: what it drew from its pool is always this much. It walks every
// line, so it is for tests and reports.
func (e *Emulator) Cells() int64 { return e.footprint() }

// Shed frees what e can do without: spare line storage and bytes kept for
// reuse, or else the oldest tenth (at least one line) of its history, as
// when its history is full. False means there was nothing left to free.
func (e *Emulator) Shed() bool {
	var freed int64
	for _, c := range e.spare {
		freed += int64(cap(c))
	}
	e.spare = nil
	for i := e.hlen; i < len(e.hist); i++ { // free slots keep bytes for reuse
		j := e.slot(i)
		freed += bytesCells(cap(e.hist[j].data))
		e.hist[j] = histLine{}
	}
	e.shrink(freed)
	if freed > 0 {
		return true
	}
	if e.hlen == 0 {
		return false
	}
	k := max(e.hlen/10, 1)
	for i := range k {
		j := e.slot(i)
		freed += bytesCells(cap(e.hist[j].data))
		e.hist[j] = histLine{}
	}
	e.hstart = (e.hstart + k) % len(e.hist)
	e.hlen -= k
	e.shrink(freed)
	return true
}

// grow draws n more cells (n may be negative). When the pool refuses, its
// Reclaim (or else e's own Shed) frees old history until the cells fit; if
// nothing is left to free, grow records the pool that refused in e.short
// and returns false: the caller must not store what it wanted to.
func (e *Emulator) grow(n int64) bool {
	if n <= 0 {
		e.shrink(-n)
		return true
	}
	if e.pool == nil {
		e.held += n
		return true
	}
	for {
		short := e.pool.Take(n)
		if short == nil {
			e.held += n
			return true
		}
		if r := e.pool.Reclaim; r != nil && r() || r == nil && e.Shed() {
			continue
		}
		e.short = short
		return false
	}
}

// shrink gives back n cells.
func (e *Emulator) shrink(n int64) {
	if n == 0 {
		return
	}
	e.held -= n
	if e.pool != nil {
		e.pool.Give(n)
	}
}

// settle brings the cells drawn to what e keeps after an operation that
// rebuilt its storage (a resize, leaving the alternate screen). When the
// pool cannot hold it all, e drops its content, keeping blank rows, and is
// Short: its session ends and closes the pool. Only those rows (RowCells
// each) may then be drawn beyond the pool's limit, until it closes.
func (e *Emulator) settle() {
	if e.grow(e.footprint() - e.held) {
		return
	}
	e.spare, e.saved, e.hbuf, e.hist = nil, nil, nil, nil
	e.hstart, e.hlen = 0, 0
	for i := range e.lines {
		e.lines[i] = line{}
	}
	f := e.footprint()
	if d := f - e.held; d > 0 {
		if e.pool != nil {
			e.pool.force(d) // beyond the limit: see above
		}
		e.held = f
	} else {
		e.shrink(-d)
	}
}

// footprint counts the cells e keeps (see budget.go).
func (e *Emulator) footprint() int64 {
	n := int64(RowCells * (cap(e.lines) + cap(e.saved) + len(e.hist)))
	for i := range e.lines {
		n += int64(cap(e.lines[i].cells))
	}
	for i := range e.saved {
		n += int64(cap(e.saved[i].cells))
	}
	for _, c := range e.spare {
		n += int64(cap(c))
	}
	for i := range e.hist {
		n += bytesCells(cap(e.hist[i].data))
	}
	return n + bytesCells(cap(e.hbuf)) + bytesCells(cap(e.tabs))
}
