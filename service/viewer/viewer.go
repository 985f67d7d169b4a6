// Package viewer is one guest's loop, whatever carries it: a writer that
// draws the latest session state for the guest when told it changed, and a
// reader that turns the guest's bytes into keys and commands for the host.
// The SSH front door and the browser's WebSocket both hand a guest's
// terminal to Run, so both kinds of guest see the same frames and obey the
// same input and read-only rules.
//
// Frames are paced by the guest's transport, not by a clock, as tmux
// writes to a client when its tty can take more: a change is drawn at once
// when no frame is in flight, and the changes made while one is (a flood
// of output to a slow or busy guest) are drawn together, as the newest
// state, in the next frame. A change after a quiet spell may be drawn by
// the goroutine that made it (DrawNow), without waking the guest's.
package viewer

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sync"
	"sync/atomic"
	"time"

	"tmate-relay/service/guest"
	"tmate-relay/service/internal/ratelimit"
	"tmate-relay/service/metrics"
	"tmate-relay/service/session"
)

// InvalidTokenMessage is what a guest with an unknown (or expired) token
// reads, over any transport: it never tells whether the token existed.
const InvalidTokenMessage = "Invalid or expired session token"

// LastWords is how a message the guest reads as its connection ends is
// written: on a line of its own, below a blank one. A guest's terminal is
// often back on its first line here (the main screen, as it was when ssh
// started), and a tmux pane that keeps its dead command's output
// (remain-on-exit) scrolls one line up to say "Pane is dead": a message on
// the first line would scroll out of sight.
func LastWords(msg string) string { return "\r\n" + msg + "\r\n" }

// Size is a guest terminal's size in cells.
type Size struct{ W, H int }

// Terminal is a guest's terminal as a transport carries it.
type Terminal interface {
	// Read returns the guest's keystrokes; an error ends the guest.
	io.Reader
	// Write shows bytes (escape sequences) on the guest's terminal. No
	// frame is drawn while it writes: it returns once the transport can
	// take the next one.
	io.Writer
	// Resizes delivers the terminal's new sizes; it is closed when the
	// transport ends.
	Resizes() <-chan Size
	// End closes the guest's connection after the relay's last words,
	// when the guest detached or the session ended (why says which).
	End(why string)
	// Drop closes the guest's connection at once, without waiting for the
	// guest: it has stopped taking what is written, and a Write blocked on
	// it returns an error.
	Drop()
}

// Receipter is a Terminal that can tell when the guest has received what
// was written, not just when its transport took it.
type Receipter interface {
	// AwaitReceipt returns once the guest has received everything written
	// so far, or its transport has had a fair time to say so.
	AwaitReceipt()
}

// CursorStyler is a Terminal that may say it takes cursor styles
// (DECSCUSR); a Terminal that does not implement it gets none.
type CursorStyler interface {
	CursorStyles() bool
}

// Config tunes a guest's loop; zero values mean defaults.
type Config struct {
	EscapeTime time.Duration // wait for the rest of an escape sequence from a guest (50 ms)
	// InputRate caps the guest's input in bytes per second (0: no cap). Input
	// beyond it is not dropped: the guest's bytes are read more slowly, so
	// its transport's flow control holds the rest back.
	InputRate int
	// Metrics counts the guest's bytes and samples frame latency (nil: none).
	Metrics *metrics.Metrics
	// WriteTimeout bounds one write to the guest (30 s): a guest that has
	// taken nothing for that long is dropped ([limits] guest_write_timeout).
	WriteTimeout time.Duration
	// Watchdog lets the host's reader draw the guest's frame after a quiet
	// spell (DrawNow), and hands its work on when such a write blocks; nil:
	// every frame is drawn in the guest's own goroutine.
	Watchdog *Watchdog
}

func (c Config) withDefaults() Config {
	if c.EscapeTime <= 0 {
		c.EscapeTime = 50 * time.Millisecond
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 30 * time.Second
	}
	return c
}

// StalledMessage is why a guest that took no output for timeout was
// dropped: the log's and the host's reason (the guest itself is not
// reading).
func StalledMessage(timeout time.Duration) string {
	return fmt.Sprintf("Relay: the guest took none of the session's output for %s and was dropped ([limits] guest_write_timeout)", timeout)
}

// errStalled is a write that did not finish within the write timeout.
var errStalled = errors.New("the guest stopped taking output")

// writeGuard writes frames to a guest's terminal and drops the guest when
// a write has not finished within timeout. Frames are never queued (one is
// in flight at a time, see Run), so a guest that stops reading holds one
// frame and the transport's buffers, and for no longer than timeout. Its
// one timer is armed again for each frame: a new timer per frame would
// cost every keystroke's echo an allocation. (A timeout this long is due
// after the runtime's other timers and wakes nothing.)
type writeGuard struct {
	term    Terminal
	timeout time.Duration
	timer   *time.Timer
	stalled atomic.Bool

	watch     *Watchdog // calls slow when a write takes long
	slowMu    sync.Mutex
	slow      func() // the write's, nil when none is out or it was called
	slowSince int64  // when that write started (monotonic)
}

// write writes b; slow, if not nil, is called once, from the watchdog's
// goroutine, should the write take a tick of the watchdog or more.
func (w *writeGuard) write(b []byte, slow func()) error {
	if slow != nil {
		now := monotonic(time.Now())
		w.slowMu.Lock()
		w.slow, w.slowSince = slow, now
		w.slowMu.Unlock()
		w.watch.started(now)
		defer func() {
			w.slowMu.Lock()
			w.slow = nil
			w.slowMu.Unlock()
		}()
	}
	if w.timer == nil {
		w.timer = time.AfterFunc(w.timeout, func() {
			w.stalled.Store(true)
			w.term.Drop()
		})
	} else {
		w.timer.Reset(w.timeout)
	}
	_, err := w.term.Write(b)
	w.timer.Stop()
	if w.stalled.Load() {
		return errStalled
	}
	return err
}

// checkSlow calls the slow function of a write out since budget before
// now (monotonic).
func (w *writeGuard) checkSlow(now int64, budget time.Duration) {
	w.slowMu.Lock()
	slow := w.slow
	if slow == nil || now-w.slowSince < int64(budget) {
		w.slowMu.Unlock()
		return
	}
	w.slow = nil
	w.slowMu.Unlock()
	slow()
}

// Run draws the session for g on term until the guest detaches,
// disconnects or the session ends, and returns why. The caller attached g
// and detaches it afterwards. A panic in the guest's loop ends the session
// (session.Crash): every guest, this one too, reads why.
func Run(sess *session.Session, g *session.Guest, term Terminal, cfg Config) (why string) {
	cfg = cfg.withDefaults()
	detach := make(chan string, 1)
	var in io.Reader = term
	if cfg.InputRate > 0 {
		in = ratelimit.New(term, cfg.InputRate, max(cfg.InputRate, inputBurstMin)) // a second's worth
	}
	var ended atomic.Bool
	go readInput(sess, g, in, cfg.EscapeTime, detach, &ended)
	go func() {
		defer sess.Recover("guest resize")
		for t := range term.Resizes() {
			sess.ResizeGuest(g, t.W, t.H)
		}
	}()

	d := &drawer{sess: sess, g: g, term: term, cfg: cfg, turn: make(chan struct{}, 1),
		buf: append([]byte(nil), guest.Enter()...),
		out: &writeGuard{term: term, timeout: cfg.WriteTimeout, watch: cfg.Watchdog}}
	if cs, ok := term.(CursorStyler); ok {
		d.renderer.CursorStyles = cs.CursorStyles()
	}
	d.receipts, _ = term.(Receipter)
	if cfg.Watchdog != nil {
		cfg.Watchdog.add(d.out)
		defer cfg.Watchdog.remove(d.out)
		sess.SetInlineDrawer(g, d)
		defer d.close()
	}
	leave := func(msg string) string {
		// What the guest's terminal sends from now on (its answer to the
		// transport's question after the last words) is not for the host.
		ended.Store(true)
		return d.leave(msg)
	}
	defer func() {
		if r := recover(); r != nil {
			sess.Crash("guest view", r)
			defer sess.Recover("guest view") // a panic in saying why is only logged
			why = leave(sess.EndReason())
		}
	}()
	for {
		select {
		case <-g.Changed():
		case <-sess.Done():
			return leave(sess.EndReason())
		case <-g.Kicked():
			return leave(g.KickReason())
		case why := <-detach:
			if why == "" {
				return "disconnected"
			}
			return leave(why)
		}
		if err := d.drawFromLoop(); err != nil {
			if errors.Is(err, errStalled) {
				return StalledMessage(cfg.WriteTimeout)
			}
			return "disconnected"
		}
	}
}

// drawer draws a guest's frames: in the guest's own loop (Run) when told
// of a change, or at once in the goroutine that made the change (DrawNow,
// the host's reader) when the loop is idle, which saves an echo the
// wake-up of the loop's goroutine. One of them draws at a time (turn).
type drawer struct {
	sess     *session.Session
	g        *session.Guest
	term     Terminal
	cfg      Config
	receipts Receipter // nil when the transport cannot tell

	// turn is held (a value in it) while a frame is drawn and written, and
	// guards the fields below. A channel rather than a mutex: a guest's
	// loop may wait for it as long as a blocked write lasts, and a wait on
	// a channel is one the fake clock of tests can see.
	turn     chan struct{}
	frame    guest.Frame
	renderer guest.Renderer
	buf      []byte
	out      *writeGuard
	failed   error // a DrawNow's write failed: the loop ends with it
	closed   bool  // the loop ended: nothing more is drawn
}

func (d *drawer) lock()   { d.turn <- struct{}{} }
func (d *drawer) unlock() { <-d.turn }
func (d *drawer) tryLock() bool {
	select {
	case d.turn <- struct{}{}:
		return true
	default:
		return false
	}
}

// drawFromLoop draws the newest state, or returns the error a DrawNow's
// write failed with. The turn is given back in a defer: after a panic here
// the loop's recovery takes it to say why.
func (d *drawer) drawFromLoop() error {
	d.lock()
	defer d.unlock()
	if d.failed != nil {
		return d.failed
	}
	// Drawn at once: nothing is in flight, as Write returned. The changes
	// made while it was writing left one signal in Changed, so they make
	// one frame, of the newest state.
	wrote, err := d.draw(nil)
	// The session changed again while this frame was written: a flood.
	// The next frame waits until this one reached the guest, so that a
	// guest behind on a slow link gets fewer frames rather than a queue of
	// late ones. A frame after a quiet spell asks nothing: a question per
	// frame would cost every session a round trip of packets. The turn
	// stays taken: no frame is drawn elsewhere meanwhile.
	if wrote && d.receipts != nil && len(d.g.Changed()) > 0 {
		d.receipts.AwaitReceipt()
	}
	return err
}

// DrawNow draws the guest's frame in the calling goroutine when its loop
// is not drawing (one frame in flight at a time) and reports whether it
// did; a false leaves the change to the loop. slow is called, from the
// watchdog's goroutine, when the write has not returned within one or two
// of its ticks: the caller's other work can then go on elsewhere. A panic
// here ends the session, as in the loop, and counts as drawn.
func (d *drawer) DrawNow(slow func()) (drawn bool) {
	if !d.tryLock() {
		return false
	}
	defer d.unlock()
	if d.closed || d.failed != nil {
		return false
	}
	defer func() {
		if r := recover(); r != nil {
			d.sess.Crash("guest view", r)
			drawn = true // the session has ended: the loop says why
		}
	}()
	if _, err := d.draw(slow); err != nil {
		d.failed = err // the loop, told of the change, ends with it
		return false
	}
	return true
}

// draw composes, renders and writes the newest state, if it differs from
// what the guest shows; it reports whether it wrote. The caller has the
// turn.
func (d *drawer) draw(slow func()) (wrote bool, err error) {
	dataAt := d.g.TakeDataTime() // before Compose: the frame shows that output
	d.sess.Compose(d.g, &d.frame)
	d.buf = d.renderer.Render(d.buf, &d.frame)
	defer func() { d.buf = d.buf[:0] }()
	if len(d.buf) == 0 {
		return false, nil
	}
	if err := d.out.write(d.buf, slow); err != nil {
		return false, err
	}
	d.g.AddBytes(len(d.buf))
	d.cfg.Metrics.FrameWritten(d.g.Transport, len(d.buf), dataAt)
	return true, nil
}

// leave writes the relay's last words to the guest and ends its
// connection; it returns why the loop ended.
func (d *drawer) leave(msg string) string {
	d.lock()
	defer d.unlock()
	d.closed = true
	d.buf = d.renderer.Leave(d.buf[:0])
	d.buf = append(d.buf, LastWords("["+msg+"]")...)
	if err := d.out.write(d.buf, nil); errors.Is(err, errStalled) {
		return StalledMessage(d.cfg.WriteTimeout)
	}
	d.term.End(msg)
	return msg
}

// close stops all drawing once the loop ends.
func (d *drawer) close() {
	d.sess.SetInlineDrawer(d.g, nil)
	d.lock()
	d.closed = true
	d.unlock()
}

// readInput turns the guest's bytes into actions until the terminal closes
// or the guest detaches; it reports a detach reason ("" for a disconnect).
// The bytes are decoded and sent on in this goroutine, as they arrive: a
// hand-off to another goroutine would cost every keystroke a wake-up. Only
// an escape sequence left incomplete waits, for escapeTime, on a timer.
func readInput(sess *session.Session, g *session.Guest, term io.Reader, escapeTime time.Duration, detach chan<- string, ended *atomic.Bool) {
	var (
		mu    sync.Mutex // in, flush and done: the reader and the timer
		in    = guest.NewInput(sess.KeyTable(), g.ReadOnly)
		flush *time.Timer
		done  bool
	)
	// keys are the pane keys of one read, sent together: a paste
	// reaches the host in one write, not a write per key.
	var keys []uint64
	sendKeys := func() {
		sess.SendKeys(g, keys)
		keys = keys[:0]
	}
	// run performs acts; it reports whether the guest detached or its
	// loop ended.
	run := func(acts []guest.Action) bool {
		if ended.Load() {
			return true
		}
		defer sendKeys()
		for _, a := range acts {
			if a.Kind == guest.ActPaneKey {
				keys = append(keys, uint64(a.Key))
				continue
			}
			sendKeys() // the keys before an action go first
			switch a.Kind {
			case guest.ActExec:
				sess.Exec(g, a.Argv)
			case guest.ActPrompt:
				g.SetPrompt(a.Prompt)
			case guest.ActView:
				g.SetLocal(a.Local, a.For)
			case guest.ActMessage:
				sess.ShowGuestMessage(g, a.Message)
			case guest.ActDetach:
				done = true
				detach <- "detached"
				return true
			}
		}
		return false
	}
	// feed performs what the guest's bytes p ask for; it reports whether
	// the guest is gone. mu is released in a defer: after a panic here the
	// deferred calls below take it.
	feed := func(p []byte) bool {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return true
		}
		if flush != nil {
			flush.Stop()
		}
		sess.NoteInput(g, p)
		stop := run(in.Feed(p))
		if !stop && in.Pending() {
			if flush == nil {
				flush = time.AfterFunc(escapeTime, func() {
					defer sess.Recover("guest input")
					mu.Lock()
					defer mu.Unlock()
					if !done && in.Pending() {
						run(in.Flush())
					}
				})
			} else {
				flush.Reset(escapeTime)
			}
		}
		return stop
	}
	defer func() {
		mu.Lock()
		if flush != nil {
			flush.Stop()
		}
		if !done {
			done = true
			detach <- ""
		}
		mu.Unlock()
	}()
	defer func() {
		// A panic ends the session; this guest reads why, as the others.
		if r := recover(); r != nil {
			sess.Crash("guest input", r)
			mu.Lock()
			if !done {
				done = true
				detach <- sess.EndReason()
			}
			mu.Unlock()
		}
	}()
	b := make([]byte, 4096)
	for {
		n, err := term.Read(b)
		if n > 0 && feed(b[:n]) {
			return
		}
		if err != nil {
			return
		}
	}
}

// inputBurstMin is the smallest burst of a guest's input: a pasted line or
// an escape sequence goes through at once even at a very low rate.
const inputBurstMin = 64

// RefusalDelay is how long to wait before refusing an unknown token: a
// uniformly random 50 to 200 ms, which keeps token guessing slow and gives
// no timing hint.
func RefusalDelay() time.Duration {
	return RandomDelay(50*time.Millisecond, 200*time.Millisecond)
}

// RandomDelay returns a uniformly random duration in [lo, hi].
func RandomDelay(lo, hi time.Duration) time.Duration {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(hi-lo)+1))
	if err != nil {
		return hi
	}
	return lo + time.Duration(n.Int64())
}

// ClampSize keeps a terminal dimension within what the relay is willing to
// draw; 0 (unknown) becomes def.
func ClampSize(v, def int) int {
	switch {
	case v <= 0:
		return def
	case v > 1000:
		return 1000
	}
	return v
}
