package viewer

import (
	"sync"
	"sync/atomic"
	"time"
)

// Watchdog notices frames drawn in the host's reader (DrawNow) whose write
// has not returned within a tick or two, and calls their slow function,
// so that the reader's work goes on elsewhere. One goroutine serves every
// guest of a server, and ticks only while such frames are drawn: it stops
// after a second without one.
//
// Why not a timer per frame: a timer due sooner than every other one
// makes the Go runtime wake its network poller's thread to wait for it
// (and once more when it is due, stopped or not). On the echo path that
// was a thread's wake-up or two per keystroke, the cost that drawing in
// the host's reader saves: with it, 200 sessions of a line a second took
// 25 % more CPU than drawing in the guests' goroutines.
type Watchdog struct {
	tick time.Duration

	mu     sync.Mutex
	guards map[*writeGuard]struct{}

	active atomic.Bool  // the goroutine runs
	last   atomic.Int64 // when the last watched write started (monotonic)
}

// epoch is where the watchdog's times count from: a duration since it is
// on the monotonic clock, which a step of the wall clock does not move.
var epoch = time.Now()

// monotonic is now as the watchdog counts times.
func monotonic(now time.Time) int64 { return int64(now.Sub(epoch)) }

// watchdogTick is how often a watchdog looks: a blocked write holds its
// host's reader for one to two ticks (HandOverWithin). Each tick wakes a
// thread, and on a small VM a wake-up costs about 0.3 ms of CPU: at 10 ms
// 200 sessions of a line a second took 40 % more CPU than at 100 ms. A
// write blocks only when a guest's transport is full while its own loop
// is idle, once for each time a guest stops reading.
const watchdogTick = 100 * time.Millisecond

// HandOverWithin bounds how long a write that blocks holds the goroutine
// that drew the frame (DrawNow) before its slow function is called.
const HandOverWithin = 2 * watchdogTick

// watchdogIdle is how long a watchdog keeps ticking after the last write
// it watched started.
const watchdogIdle = time.Second

// NewWatchdog returns a watchdog for the guests of one server.
func NewWatchdog() *Watchdog {
	return &Watchdog{tick: watchdogTick, guards: map[*writeGuard]struct{}{}}
}

func (wd *Watchdog) add(w *writeGuard) {
	wd.mu.Lock()
	wd.guards[w] = struct{}{}
	wd.mu.Unlock()
}

func (wd *Watchdog) remove(w *writeGuard) {
	wd.mu.Lock()
	delete(wd.guards, w)
	wd.mu.Unlock()
}

// started notes that a watched write starts at now (monotonic), and starts
// the goroutine if it is not running.
func (wd *Watchdog) started(now int64) {
	wd.last.Store(now)
	if !wd.active.Load() && wd.active.CompareAndSwap(false, true) {
		go wd.run()
	}
}

func (wd *Watchdog) run() {
	t := time.NewTicker(wd.tick)
	defer t.Stop()
	for range t.C {
		now := monotonic(time.Now()) // a tick's time has no monotonic reading
		wd.mu.Lock()
		for w := range wd.guards {
			w.checkSlow(now, wd.tick)
		}
		wd.mu.Unlock()
		last := wd.last.Load()
		if now-last < int64(watchdogIdle) {
			continue
		}
		wd.active.Store(false)
		// A write that started meanwhile may have seen the goroutine
		// still active: look again, and go on unless it started another.
		if wd.last.Load() == last || !wd.active.CompareAndSwap(false, true) {
			return
		}
	}
}
