package sshd

import (
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"tmate-relay/service/audit"
	"tmate-relay/service/metrics"
	"tmate-relay/service/session"
	"tmate-relay/service/viewer"
)

// InvalidTokenMessage is what a guest with an unknown token reads.
const InvalidTokenMessage = viewer.InvalidTokenMessage

// terminal is what a guest's session channel asked for.
type terminal struct {
	term string
	w, h int
	pty  bool // a pty-req came: a terminal is there to answer
}

// guest serves a viewer whose SSH user name is a token.
func (c *conn) guest() {
	log := c.srv.cfg.Log.With("addr", c.addr, "role", "guest")
	token := c.user
	var sess *session.Session
	var readOnly, found bool
	if session.ValidTokenSyntax(token) {
		sess, readOnly, found = c.srv.cfg.Registry.Lookup(token)
	}

	term, resizes, ok := c.waitShell()
	if !ok {
		return
	}
	c.pty = term.pty
	if offered, refused := c.refusedGuest(); refused {
		e := audit.Event{GuestAddr: c.addr, GuestKey: offered, Transport: string(session.TransportSSH), Why: "no key listed by the session's host"}
		if sess != nil {
			e.SessionID = sess.ID()
		}
		c.srv.refuse(metrics.GuestKey, e)
		// As for a wrong token: the delay slows probing for the names of
		// key-restricted sessions as much as guessing tokens.
		time.Sleep(c.srv.limits.fail(c.addr))
		c.lastWords(strings.TrimSuffix(GuestKeyRefusal, "\r\n"), 1)
		log.Info("guest refused: no key listed by the session's host (offered: " + offered + ")")
		return
	}
	if !found && c.srv.cfg.Forwarder != nil && !c.forwarded && session.ValidTokenSyntax(token) && c.forward(token, term, resizes, log) {
		return
	}
	if !found {
		c.srv.refuse(metrics.BadToken, audit.Event{GuestAddr: c.addr, GuestKey: c.keyFingerprint(), Transport: string(session.TransportSSH), Why: "invalid or expired token"})
		// The delay keeps token guessing slow and gives no timing hint;
		// it grows for an address that keeps guessing (limits.go).
		time.Sleep(c.srv.limits.fail(c.addr))
		c.lastWords(InvalidTokenMessage, 1)
		log.Info("guest refused: invalid or expired token")
		return
	}
	g, err := sess.AttachVia(session.TransportSSH, readOnly, c.addr, term.w, term.h)
	if err != nil {
		if metrics.IsLimit(err) {
			e := sess.AuditEvent("")
			e.GuestAddr, e.GuestKey, e.Transport, e.Role, e.Why = c.addr, c.keyFingerprint(), string(session.TransportSSH), audit.Role(readOnly), err.Error()
			c.srv.refuse(metrics.Limits, e)
		}
		c.lastWords("Relay: "+err.Error(), 1)
		log.Info("guest refused", "err", err)
		return
	}
	c.admitted()
	log = log.With("session", sess.ID())
	log.Info("guest joined", "client", g.ClientID, "readonly", readOnly)
	c.srv.cfg.Metrics.GuestJoined(g)
	defer c.srv.cfg.Metrics.GuestLeft(g)
	// Detached however it ends: a panic below must not leave the guest
	// holding its place in the session.
	why := "an internal error in the relay"
	defer func() {
		sess.Detach(g)
		log.Info("guest left", "client", g.ClientID, "why", why)
		c.srv.cfg.Audit.Emit(c.guestEvent(sess, audit.GuestLeave, g, why))
	}()
	c.srv.cfg.Audit.Emit(c.guestEvent(sess, audit.GuestJoin, g, ""))
	why = viewer.Run(sess, g, &sshTerminal{c: c, resizes: resizes, term: term.term}, viewer.Config{
		EscapeTime:   c.srv.cfg.EscapeTime,
		InputRate:    c.srv.cfg.InputRate,
		Metrics:      c.srv.cfg.Metrics,
		WriteTimeout: c.srv.cfg.GuestWriteTimeout,
		Watchdog:     c.srv.watchdog,
	})
}

// guestEvent is the audit trail's event of kind about g, this guest.
func (c *conn) guestEvent(sess *session.Session, kind audit.Kind, g *session.Guest, why string) audit.Event {
	e := sess.GuestEvent(kind, g)
	e.GuestKey, e.Why = c.keyFingerprint(), why
	return e
}

// RefuseToken records that addr presented an unknown token, at any of the
// relay's doors (browser guests' too), and returns how long its refusal
// waits: the same per-address slow-down, with the same counts, as for SSH
// guests (limits.go), so guessing over the web side is no faster.
func (s *Server) RefuseToken(addr string) time.Duration { return s.limits.fail(addr) }

// sshTerminal is a guest's session channel as the viewer sees it.
type sshTerminal struct {
	c       *conn
	resizes <-chan viewer.Size
	term    string // TERM from the pty-req

	receipt chan struct{} // closed when the guest answers; nil when no question is out
	wait    *time.Timer
}

func (t *sshTerminal) Read(b []byte) (int, error)  { return t.c.read(b) }
func (t *sshTerminal) Write(b []byte) (int, error) { return t.c.ch.Write(b) }
func (t *sshTerminal) Resizes() <-chan viewer.Size { return t.resizes }

// receiptRequest is what asks the guest's client whether it has received
// what was written: a channel request it does not know and answers in
// turn, after the data before it, as sshd's ClientAliveInterval asks.
const receiptRequest = "keepalive@openssh.com"

// receiptWait bounds the wait for that answer: a client that does not
// answer still gets a frame this often.
const receiptWait = time.Second

// AwaitReceipt returns once the guest's client has answered a request sent
// after what was written: it has received it, whatever the connection's
// buffers and the channel's window would still take. Over loopback the
// answer takes a fraction of a millisecond.
func (t *sshTerminal) AwaitReceipt() {
	if t.receipt == nil {
		receipt := make(chan struct{})
		t.receipt = receipt
		go func() { // ends when the answer comes or the channel closes
			t.c.ch.SendRequest(receiptRequest, true, nil)
			close(receipt)
		}()
	}
	if t.wait == nil {
		t.wait = time.NewTimer(receiptWait)
	} else {
		t.wait.Reset(receiptWait)
	}
	select {
	case <-t.receipt:
		t.receipt = nil
		t.wait.Stop()
	case <-t.wait.C:
		// Still out: the next wait is for this answer rather than a new
		// question, so unanswered questions do not pile up.
	}
}

// End waits until the guest's terminal has shown the last words, then
// ends the channel.
func (t *sshTerminal) End(string) {
	t.c.settle()
	t.c.exit(0)
}

// Drop closes the guest's connection: nothing more can reach a client that
// stopped reading its channel, whose window is full.
func (t *sshTerminal) Drop() {
	if t.c.sc == nil { // a forwarded guest: its channel on the node link
		t.c.ch.Close()
		return
	}
	t.c.sc.Close()
}

// CursorStyles: tmux 2.4 sets cursor styles (Ss, Se) on xterm* terminals
// only (its default terminal-overrides), so the relay does the same.
func (t *sshTerminal) CursorStyles() bool { return strings.HasPrefix(t.term, "xterm") }

// waitShell answers the channel's requests until the guest asks for a
// shell, and keeps delivering window changes afterwards.
func (c *conn) waitShell() (terminal, <-chan viewer.Size, bool) {
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
				t.term, t.w, t.h, t.pty = p.Term, clampSize(p.Cols, 80), clampSize(p.Rows, 24), true
				req.Reply(true, nil)
			case "shell":
				req.Reply(true, nil)
				resizes := make(chan viewer.Size, 1)
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
func (c *conn) watchResizes(t terminal, out chan viewer.Size) {
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
		out <- viewer.Size{W: t.w, H: t.h}
	}
}

// clampSize keeps a terminal dimension within what we are willing to draw.
func clampSize(v uint32, def int) int { return viewer.ClampSize(int(min(v, 1<<20)), def) }

// lastWords shows msg to a guest that is not let in and ends its channel.
func (c *conn) lastWords(msg string, status uint32) {
	c.ch.Write([]byte(viewer.LastWords(msg)))
	c.settle()
	c.exit(status)
}

// cursorQuery asks a terminal where its cursor is (DSR). A terminal
// answers in turn, after it has drawn everything written before.
const cursorQuery = "\x1b[6n"

// settleTime bounds the wait for a guest's terminal to answer.
const settleTime = time.Second

// read reads the guest's input and tells settle that some came.
func (c *conn) read(b []byte) (int, error) {
	n, err := c.ch.Read(b)
	if n > 0 {
		select {
		case c.input <- struct{}{}:
		default:
		}
	}
	return n, err
}

// settle waits, up to settleTime, until the guest's terminal has shown
// what was written to it: ssh exits as soon as its channel closes, and a
// terminal that reads its output late (tmux drops the unread output of a
// pane whose command exited) would lose the last words. It asks the
// terminal where its cursor is and waits for input: the answer, or a key
// typed meanwhile. The viewer's reader may still be reading too (it drops
// what comes after the last words): whichever reads the input tells settle.
func (c *conn) settle() {
	if !c.pty {
		return // no terminal to answer
	}
	select {
	case <-c.input: // earlier input, not the answer
	default:
	}
	if _, err := c.ch.Write([]byte(cursorQuery)); err != nil {
		return
	}
	go func() { // ends when the channel closes
		b := make([]byte, 256)
		for {
			if _, err := c.read(b); err != nil {
				return
			}
		}
	}()
	t := time.NewTimer(settleTime)
	defer t.Stop()
	select {
	case <-c.input:
	case <-t.C:
	}
}

// exit ends the guest's channel as sshd ends a session: EOF after the last
// data, then the exit status, then the channel's close. handleConn then
// waits for the client to hang up before it closes the connection.
func (c *conn) exit(status uint32) {
	c.ch.CloseWrite()
	c.ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
	c.ch.Close()
}

// refusedGuest reports whether the guest was let in only to read that its
// session takes listed keys only (auth.go), with the keys it offered.
func (c *conn) refusedGuest() (offered string, refused bool) {
	if c.forwarded {
		// The node that authenticated it asked this one already; the
		// session's keys may have changed since.
		sess, _, ok := c.srv.cfg.Registry.Lookup(c.user)
		if !ok || allowsForwardedKey(sess, c.forwardedKey) {
			return "", false
		}
		if fp := c.keyFingerprint(); fp != "" {
			return fp, true
		}
		return "none", true
	}
	if c.sc.Permissions == nil {
		return "", false
	}
	offered, refused = c.sc.Permissions.Extensions[refusedGuest]
	return offered, refused
}

// randomDelay returns a uniformly random duration in [lo, hi].
func randomDelay(lo, hi time.Duration) time.Duration { return viewer.RandomDelay(lo, hi) }
