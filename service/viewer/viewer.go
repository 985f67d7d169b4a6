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
// state, in the next frame.
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
// cost every keystroke's echo an allocation.
type writeGuard struct {
	term    Terminal
	timeout time.Duration
	timer   *time.Timer
	stalled atomic.Bool
}

func (w *writeGuard) write(b []byte) error {
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

	var (
		frame    guest.Frame
		renderer guest.Renderer
		buf      = append([]byte(nil), guest.Enter()...)
	)
	if cs, ok := term.(CursorStyler); ok {
		renderer.CursorStyles = cs.CursorStyles()
	}
	receipts, _ := term.(Receipter)
	out := &writeGuard{term: term, timeout: cfg.WriteTimeout}
	leave := func(msg string) string {
		// What the guest's terminal sends from now on (its answer to the
		// transport's question after the last words) is not for the host.
		ended.Store(true)
		buf = renderer.Leave(buf[:0])
		buf = append(buf, LastWords("["+msg+"]")...)
		if err := out.write(buf); errors.Is(err, errStalled) {
			return StalledMessage(cfg.WriteTimeout)
		}
		term.End(msg)
		return msg
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
		// Drawn at once: nothing is in flight, as Write returned. The
		// changes made while it was writing left one signal in Changed,
		// so they make one frame, of the newest state.
		dataAt := g.TakeDataTime() // before Compose: the frame shows that output
		sess.Compose(g, &frame)
		buf = renderer.Render(buf, &frame)
		if len(buf) > 0 {
			if err := out.write(buf); err != nil {
				if errors.Is(err, errStalled) {
					return StalledMessage(cfg.WriteTimeout)
				}
				return "disconnected"
			}
			g.AddBytes(len(buf))
			cfg.Metrics.FrameWritten(g.Transport, len(buf), dataAt)
			// The session changed again while this frame was written: a
			// flood. The next frame waits until this one reached the
			// guest, so that a guest behind on a slow link gets fewer
			// frames rather than a queue of late ones. A frame after a
			// quiet spell asks nothing: a question per frame would cost
			// every session a round trip of packets.
			if receipts != nil && len(g.Changed()) > 0 {
				receipts.AwaitReceipt()
			}
		}
		buf = buf[:0]
	}
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
