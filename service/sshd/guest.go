package sshd

import (
	"crypto/rand"
	"encoding/binary"
	"math/big"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"tmate-relay/service/guest"
	"tmate-relay/service/session"
)

// InvalidTokenMessage is what a guest with an unknown token reads.
const InvalidTokenMessage = "Invalid or expired session token"

// terminal is what a guest's session channel asked for.
type terminal struct {
	term string
	w, h int
}

// guest serves a viewer whose SSH user name is a token.
func (c *conn) guest() {
	log := c.srv.cfg.Log.With("addr", c.addr, "role", "guest")
	token := c.sc.User()
	var sess *session.Session
	var readOnly, found bool
	if session.ValidTokenSyntax(token) {
		sess, readOnly, found = c.srv.cfg.Registry.Lookup(token)
	}

	term, resizes, ok := c.waitShell()
	if !ok {
		return
	}
	if !found {
		// The delay keeps token guessing slow and gives no timing hint.
		time.Sleep(randomDelay(50*time.Millisecond, 200*time.Millisecond))
		c.ch.Write([]byte(InvalidTokenMessage + "\r\n"))
		c.exit(1)
		log.Info("guest refused: invalid or expired token")
		return
	}
	g, err := sess.Attach(readOnly, c.addr, term.w, term.h)
	if err != nil {
		c.ch.Write([]byte(err.Error() + "\r\n"))
		c.exit(1)
		log.Info("guest refused", "err", err)
		return
	}
	log.Info("guest joined", "client", g.ClientID, "readonly", readOnly)
	why := c.runGuest(sess, g, resizes)
	sess.Detach(g)
	log.Info("guest left", "client", g.ClientID, "why", why)
}

// runGuest draws the session for g until it detaches, disconnects or the
// session ends; it returns why.
func (c *conn) runGuest(sess *session.Session, g *session.Guest, resizes <-chan terminal) string {
	detach := make(chan string, 1)
	go c.readInput(sess, g, detach)
	go func() {
		for t := range resizes {
			sess.ResizeGuest(g, t.w, t.h)
		}
	}()

	var (
		frame    guest.Frame
		renderer guest.Renderer
		buf      = append([]byte(nil), guest.Enter()...)
		pace     = time.NewTimer(0)
		credit   = pacer{burst: frameBurst, every: c.srv.cfg.FrameInterval}
	)
	defer pace.Stop()
	leave := func(msg string) string {
		buf = append(buf[:0], guest.Leave()...)
		buf = append(buf, "["+msg+"]\r\n"...)
		c.ch.Write(buf)
		return msg
	}
	for {
		select {
		case <-g.Changed():
		case <-sess.Done():
			why := sess.EndReason()
			leave(why)
			c.exit(0)
			return why
		case why := <-detach:
			if why == "" {
				return "disconnected"
			}
			leave(why)
			c.exit(0)
			return why
		}
		// Leading edge at once (a keystroke's echo must not wait, nor
		// must it after an unrelated frame such as a status line); a
		// flood of output is paced to one frame per interval.
		if wait := credit.take(time.Now()); wait > 0 {
			pace.Reset(wait)
			select {
			case <-pace.C:
			case <-sess.Done():
				continue
			}
		}
		sess.Compose(g, &frame)
		buf = renderer.Render(buf, &frame)
		if len(buf) > 0 {
			if _, err := c.ch.Write(buf); err != nil {
				return "disconnected"
			}
		}
		buf = buf[:0]
	}
}

// frameBurst is how many frames a guest may get at once before pacing
// starts: enough that a keystroke's echo never waits behind one or two
// unrelated frames, few enough that a flood still becomes few frames.
const frameBurst = 3

// pacer is a token bucket of frames: one token comes back every interval,
// up to burst.
type pacer struct {
	burst  int
	every  time.Duration
	tokens float64
	at     time.Time // when tokens was counted
}

// take spends a token for a frame at now; when none is left it returns how
// long to wait, and the caller draws after that wait (the token is spent).
func (p *pacer) take(now time.Time) time.Duration {
	if p.at.IsZero() {
		p.tokens = float64(p.burst)
	} else {
		p.tokens = min(float64(p.burst), p.tokens+float64(now.Sub(p.at))/float64(p.every))
	}
	p.at = now
	p.tokens--
	if p.tokens >= 0 {
		return 0
	}
	return time.Duration(-p.tokens * float64(p.every))
}

// readInput turns the guest's bytes into actions until the channel closes
// or the guest detaches; it reports a detach reason ("" for a disconnect).
// The bytes are decoded and sent on in this goroutine, as they arrive: a
// hand-off to another goroutine would cost every keystroke a wake-up. Only
// an escape sequence left incomplete waits, for EscapeTime, on a timer.
func (c *conn) readInput(sess *session.Session, g *session.Guest, detach chan<- string) {
	var (
		mu    sync.Mutex // in, flush and done: the reader and the timer
		in    = guest.NewInput(sess.KeyTable(), g.ReadOnly)
		flush *time.Timer
		done  bool
	)
	// run performs acts; it reports whether the guest detached.
	run := func(acts []guest.Action) bool {
		for _, a := range acts {
			switch a.Kind {
			case guest.ActPaneKey:
				sess.SendKey(g, a.Key)
			case guest.ActExec:
				sess.Exec(g, a.Argv)
			case guest.ActDetach:
				done = true
				detach <- "detached"
				return true
			}
		}
		return false
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
	b := make([]byte, 4096)
	for {
		n, err := c.ch.Read(b)
		if n > 0 {
			mu.Lock()
			if done {
				mu.Unlock()
				return
			}
			if flush != nil {
				flush.Stop()
			}
			stop := run(in.Feed(b[:n]))
			if !stop && in.Pending() {
				if flush == nil {
					flush = time.AfterFunc(c.srv.cfg.EscapeTime, func() {
						mu.Lock()
						defer mu.Unlock()
						if !done && in.Pending() {
							run(in.Flush())
						}
					})
				} else {
					flush.Reset(c.srv.cfg.EscapeTime)
				}
			}
			mu.Unlock()
			if stop {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// waitShell answers the channel's requests until the guest asks for a
// shell, and keeps delivering window changes afterwards.
func (c *conn) waitShell() (terminal, <-chan terminal, bool) {
	t := terminal{term: "xterm", w: 80, h: 24}
	timer := time.NewTimer(c.srv.cfg.GracePeriod)
	defer timer.Stop()
	for {
		select {
		case req, ok := <-c.reqs:
			if !ok {
				return t, nil, false
			}
			switch req.Type {
			case "pty-req":
				var p struct {
					Term          string
					Cols, Rows    uint32
					Width, Height uint32
					Modes         string
				}
				if ssh.Unmarshal(req.Payload, &p) != nil {
					req.Reply(false, nil)
					continue
				}
				t.term, t.w, t.h = p.Term, clampSize(p.Cols, 80), clampSize(p.Rows, 24)
				req.Reply(true, nil)
			case "shell":
				req.Reply(true, nil)
				resizes := make(chan terminal, 1)
				go c.watchResizes(t, resizes)
				return t, resizes, true
			case "env":
				req.Reply(true, nil) // accepted and ignored, like the locale OpenSSH sends
			default:
				req.Reply(false, nil)
			}
		case <-timer.C:
			return t, nil, false
		}
	}
}

// watchResizes forwards window-change requests, keeping only the latest
// when the session is slow to take them.
func (c *conn) watchResizes(t terminal, out chan terminal) {
	defer close(out)
	for req := range c.reqs {
		if req.Type != "window-change" {
			if req.WantReply {
				req.Reply(false, nil)
			}
			continue
		}
		var p struct{ Cols, Rows, Width, Height uint32 }
		if ssh.Unmarshal(req.Payload, &p) != nil {
			continue
		}
		t.w, t.h = clampSize(p.Cols, t.w), clampSize(p.Rows, t.h)
		select {
		case <-out:
		default:
		}
		out <- t
	}
}

// clampSize keeps a terminal dimension within what we are willing to draw.
func clampSize(v uint32, def int) int {
	switch {
	case v == 0:
		return def
	case v > 1000:
		return 1000
	}
	return int(v)
}

// exit reports the guest's exit status and closes its channel.
func (c *conn) exit(status uint32) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], status)
	c.ch.SendRequest("exit-status", false, b[:])
	c.ch.Close()
}

// randomDelay returns a uniformly random duration in [lo, hi].
func randomDelay(lo, hi time.Duration) time.Duration {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(hi-lo)+1))
	if err != nil {
		return hi
	}
	return lo + time.Duration(n.Int64())
}
