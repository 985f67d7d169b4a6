package sshd

import (
	"encoding/binary"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"tmate-relay/service/session"
	"tmate-relay/service/viewer"
)

// InvalidTokenMessage is what a guest with an unknown token reads.
const InvalidTokenMessage = viewer.InvalidTokenMessage

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
		// The delay keeps token guessing slow and gives no timing hint;
		// it grows for an address that keeps guessing (limits.go).
		time.Sleep(c.srv.limits.fail(c.addr))
		c.ch.Write([]byte(InvalidTokenMessage + "\r\n"))
		c.exit(1)
		log.Info("guest refused: invalid or expired token")
		return
	}
	g, err := sess.Attach(readOnly, c.addr, term.w, term.h)
	if err != nil {
		c.ch.Write([]byte("Relay: " + err.Error() + "\r\n"))
		c.exit(1)
		log.Info("guest refused", "err", err)
		return
	}
	c.admitted()
	log.Info("guest joined", "client", g.ClientID, "readonly", readOnly)
	why := viewer.Run(sess, g, sshTerminal{c, resizes, term.term}, viewer.Config{
		FrameInterval: c.srv.cfg.FrameInterval,
		EscapeTime:    c.srv.cfg.EscapeTime,
		InputRate:     c.srv.cfg.InputRate,
	})
	sess.Detach(g)
	log.Info("guest left", "client", g.ClientID, "why", why)
}

// sshTerminal is a guest's session channel as the viewer sees it.
type sshTerminal struct {
	c       *conn
	resizes <-chan viewer.Size
	term    string // TERM from the pty-req
}

func (t sshTerminal) Read(b []byte) (int, error)  { return t.c.ch.Read(b) }
func (t sshTerminal) Write(b []byte) (int, error) { return t.c.ch.Write(b) }
func (t sshTerminal) Resizes() <-chan viewer.Size { return t.resizes }
func (t sshTerminal) End(string)                  { t.c.exit(0) }

// CursorStyles: tmux 2.4 sets cursor styles (Ss, Se) on xterm* terminals
// only (its default terminal-overrides), so the relay does the same.
func (t sshTerminal) CursorStyles() bool { return strings.HasPrefix(t.term, "xterm") }

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
				t.term, t.w, t.h = p.Term, clampSize(p.Cols, 80), clampSize(p.Rows, 24)
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

// exit reports the guest's exit status and closes its channel.
func (c *conn) exit(status uint32) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], status)
	c.ch.SendRequest("exit-status", false, b[:])
	c.ch.Close()
}

// randomDelay returns a uniformly random duration in [lo, hi].
func randomDelay(lo, hi time.Duration) time.Duration { return viewer.RandomDelay(lo, hi) }
