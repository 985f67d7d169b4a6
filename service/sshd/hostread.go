package sshd

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"tmate-relay/service/internal/faultinject"
	"tmate-relay/service/session"
)

// maxUntold bounds how long guests go untold of a change while the host's
// stream keeps the read buffer from running dry.
const maxUntold = 2 * time.Millisecond

// quietSpell is how long no change must have been told to the guests for
// the next one to be drawn in the host's reader (an echo after a key):
// output that keeps coming (a flood) is drawn by the guests' goroutines,
// which coalesce it as their transports take it.
const quietSpell = time.Millisecond

// readHost applies the host's messages until it finishes, fails or the
// session is ended from outside, and says how it ended. Guests are told
// of changes once the messages read so far (in) are all applied, so that
// what arrived together is drawn together.
//
// The reading runs in goroutines of its own (hostReader), so that the
// connection's goroutine learns of the end at once even while a reader
// that gave its place up is still blocked in a guest's write.
func (c *conn) readHost(sess *session.Session, stream *hostStream, in *bufio.Reader) hostEnd {
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-sess.Done(): // shut down by the relay: unblock the reader
			c.ch.Close()
		case <-stop:
		}
	}()
	r := newHostReader(sess, stream, in, c.srv.cfg.Log.With("addr", c.addr))
	go r.takeOver(0)
	return <-r.ended
}

// hostReader reads a host's stream into its session. For a change after a
// quiet spell it draws one guest's frame itself (an echo then wakes no
// goroutine of the guest who typed); should that write block (the guest's transport is
// full), the reading goes on in a new goroutine, so that neither the host
// nor the other guests wait for one guest, and the blocked goroutine ends
// once its write does.
type hostReader struct {
	sess   *session.Session
	stream *hostStream
	in     *bufio.Reader
	log    *slog.Logger
	slow   func() // handOver, made once

	// Owned by the goroutine that reads; handed on with the reading.
	untold time.Time // first change not yet told, zero if none
	told   time.Time // when guests were last told of a change

	mu      sync.Mutex
	reader  uint64 // which goroutine reads: each hand-over counts one more
	drawing bool   // it is drawing a guest's frame: handOver may take its place

	ended chan hostEnd // the end, from the goroutine reading when it came
}

// hostEnd is how reading a host ended (readHost): the reason guests are
// shown, whether the host's stream was at fault, whether the connection
// was lost without the host finishing, and whether a panic ended the
// session (session.Crash did what ends it).
type hostEnd struct {
	reason                string
	failed, lost, crashed bool
}

func newHostReader(sess *session.Session, stream *hostStream, in *bufio.Reader, log *slog.Logger) *hostReader {
	r := &hostReader{sess: sess, stream: stream, in: in, log: log, ended: make(chan hostEnd, 1)}
	r.slow = r.handOver
	return r
}

// handOver starts a new goroutine reading the host, if the one reading is
// drawing a guest's frame: it is called when that frame's write is slow.
func (r *hostReader) handOver() {
	r.mu.Lock()
	if !r.drawing {
		r.mu.Unlock()
		return
	}
	r.drawing = false
	r.reader++
	id := r.reader
	r.mu.Unlock()
	go r.takeOver(id)
}

// takeOver reads the host as reader id: the first, or in place of a
// reader whose write blocked.
func (r *hostReader) takeOver(id uint64) {
	defer func() {
		// A panic ends this session only.
		if p := recover(); p != nil {
			r.sess.Crash("host reader", p)
			r.ended <- hostEnd{reason: r.sess.EndReason(), crashed: true}
		}
	}()
	if end, ok := r.run(id); ok {
		r.ended <- end
	}
}

// run is the reading loop of reader id; it returns the end, or false once
// another goroutine took the reading over.
func (r *hostReader) run(id uint64) (hostEnd, bool) {
	for {
		m, err := r.stream.Next()
		if faultinject.Hook != nil && err == nil {
			faultinject.Hook(faultinject.HostRead, m)
		}
		if err != nil {
			select {
			case <-r.sess.Done():
				return r.end(r.sess.EndReason(), false, false)
			default:
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return r.end("The host disconnected.", false, true)
			}
			r.log.Info("host stream failed", "err", err)
			return r.end("The host's stream could not be read: "+err.Error(), true, false)
		}
		changed, fin, err := r.sess.ApplyQuiet(m)
		var refused *session.RefusedError
		if errors.As(err, &refused) {
			r.log.Info("host refused", "why", refused.Msg)
			return r.end(refused.Msg, true, false)
		}
		if changed && r.untold.IsZero() {
			r.untold = time.Now()
		}
		// The end first: end tells what is untold, and a reader that
		// handed its reading on while telling would forget it.
		if err != nil {
			r.log.Info("host sent an unusable message", "err", err)
			return r.end("The host sent something the relay cannot show: "+err.Error(), true, false)
		}
		if fin {
			return r.end("The host closed the session.", false, false)
		}
		if !r.untold.IsZero() && (r.in.Buffered() == 0 || time.Since(r.untold) >= maxUntold) {
			if !r.tell(id) {
				return hostEnd{}, false
			}
		}
	}
}

// tell tells the guests of the changes not yet told, drawing one of them
// in this goroutine after a quiet spell; it reports whether reader id
// still reads.
func (r *hostReader) tell(id uint64) bool {
	quiet := r.untold.Sub(r.told) >= quietSpell
	r.untold, r.told = time.Time{}, time.Now()
	if !quiet {
		r.sess.NotifyGuests()
		return true
	}
	r.mu.Lock()
	r.drawing = true
	r.mu.Unlock()
	r.sess.NotifyGuestsDrawingOne(r.slow)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reader != id {
		return false // a write blocked: another goroutine reads now
	}
	r.drawing = false
	return true
}

// end tells the guests of what is still untold and returns the end.
func (r *hostReader) end(reason string, failed, lost bool) (hostEnd, bool) {
	if !r.untold.IsZero() {
		r.sess.NotifyGuests()
	}
	return hostEnd{reason: reason, failed: failed, lost: lost}, true
}
