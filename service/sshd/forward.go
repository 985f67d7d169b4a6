package sshd

import (
	"context"
	"io"
	"log/slog"
	"time"

	"golang.org/x/crypto/ssh"

	"tmate-relay/service/session"
	"tmate-relay/service/viewer"
)

// In a cluster, an ssh guest whose session another node holds is carried
// there: the node it reached authenticates it and applies its limits as
// for any guest, then opens a ForwardedGuestChannel to the owner over the
// node link, replays the guest's pty-req and shell on it and copies the
// guest's channel both ways. The owner serves that channel as a guest
// connected from the guest's real address (ServeForwardedGuest).

// ForwardedGuestChannel is the node-link channel type of a forwarded
// guest; its extra data is a forwardedGuest.
const ForwardedGuestChannel = "guest@tmate-relay"

// forwardedGuest is who a forwarded guest is.
type forwardedGuest struct {
	Token string
	Addr  string // the guest's own address, for limits, logs and the host's NOTIFY
	// Key is the public key (wire format) the guest proved it holds
	// when the accepting node authenticated it; empty: it used none.
	// The owner checks it against the session's guest keys.
	Key []byte
}

// ForwardedGuestData is the extra data of a ForwardedGuestChannel.
func ForwardedGuestData(token, addr string, key []byte) []byte {
	return ssh.Marshal(forwardedGuest{Token: token, Addr: addr, Key: key})
}

// parseForwardedGuest reads a ForwardedGuestChannel's extra data, also as a
// node of the previous release sends it (no key), during a rolling
// upgrade.
func parseForwardedGuest(b []byte) (forwardedGuest, error) {
	var g forwardedGuest
	err := ssh.Unmarshal(b, &g)
	if err != nil {
		var old struct{ Token, Addr string }
		if ssh.Unmarshal(b, &old) == nil {
			return forwardedGuest{Token: old.Token, Addr: old.Addr}, nil
		}
	}
	return g, err
}

// GuestKeyChannel is the node-link channel type that asks the owner,
// while the accepting node authenticates a guest, whether the session
// takes it with a key (or with none): the owner accepts the channel for
// yes, rejects it with ssh.Prohibited for no and with ssh.ConnectionFailed
// when it does not hold the session. The owner alone knows the keys its
// host listed; they never leave it.
const GuestKeyChannel = "guest-key@tmate-relay"

// guestKeyQuestion is the extra data of a GuestKeyChannel.
type guestKeyQuestion struct {
	Token string
	Key   []byte // wire format; empty: may a guest join without a key?
}

// GuestKeyData is the extra data of a GuestKeyChannel.
func GuestKeyData(token string, key []byte) []byte {
	return ssh.Marshal(guestKeyQuestion{Token: token, Key: key})
}

// AnswerGuestKey answers a GuestKeyChannel from another node.
func (s *Server) AnswerGuestKey(nch ssh.NewChannel) {
	var q guestKeyQuestion
	if ssh.Unmarshal(nch.ExtraData(), &q) != nil || !session.ValidTokenSyntax(q.Token) {
		nch.Reject(ssh.ConnectionFailed, "not a guest key question")
		return
	}
	sess := s.guestSession(q.Token)
	if sess == nil {
		nch.Reject(ssh.ConnectionFailed, "no such session here")
		return
	}
	if !allowsForwardedKey(sess, q.Key) {
		nch.Reject(ssh.Prohibited, "no key listed by the session's host")
		return
	}
	if ch, reqs, err := nch.Accept(); err == nil {
		go ssh.DiscardRequests(reqs)
		ch.Close()
	}
}

// allowsForwardedKey reports whether sess takes a guest another node
// authenticated with key (wire format; empty: with none).
func allowsForwardedKey(sess *session.Session, key []byte) bool {
	if !sess.RestrictsGuests() {
		return true
	}
	if len(key) == 0 {
		return false
	}
	k, err := ssh.ParsePublicKey(key)
	return err == nil && sess.AllowsGuestKey(k)
}

// Forwarder finds the node holding a session this node does not, and
// opens a ForwardedGuestChannel to it (nil: a relay on its own).
type Forwarder interface {
	// OpenGuest opens the channel for a guest from addr presenting
	// token; ok is false when no other node holds the token's session;
	// an error means the cluster could not tell, or the owner could not
	// be reached.
	OpenGuest(ctx context.Context, token, addr string, key []byte) (ch ssh.Channel, reqs <-chan *ssh.Request, ok bool, err error)
	// GuestKey asks the node holding token's session whether it takes a
	// guest with key (wire format; nil: with no key); found is false
	// when no other node holds it.
	GuestKey(ctx context.Context, token string, key []byte) (allowed, found bool, err error)
}

// ForwardUnavailableMessage is what a guest reads when the session may be
// on another node that cannot be found or reached now.
const ForwardUnavailableMessage = "Relay: your session may be on another node of this relay, which cannot be reached right now: join again in a moment with the same command."

// forwardTimeout bounds finding the owner and opening the channel.
const forwardTimeout = 5 * time.Second

// forward carries the guest to the node that holds token's session. It
// reports false when no other node holds it (the caller answers as for an
// unknown token).
func (c *conn) forward(token string, t terminal, resizes <-chan viewer.Size, log *slog.Logger) bool {
	ctx, cancel := context.WithTimeout(context.Background(), forwardTimeout)
	ch, reqs, ok, err := c.srv.cfg.Forwarder.OpenGuest(ctx, token, c.addr, c.publicKey())
	cancel()
	if err != nil {
		time.Sleep(c.srv.limits.fail(c.addr)) // no faster probing while the cluster is out of reach
		c.lastWords(ForwardUnavailableMessage, 1)
		log.Warn("guest not forwarded", "err", err)
		return true
	}
	if !ok {
		return false
	}
	defer ch.Close()
	c.admitted()
	c.srv.carried.Add(1)
	defer c.srv.carried.Add(-1)
	log.Info("guest forwarded to the node holding its session")
	// The owner sees the terminal the guest asked for.
	if t.pty {
		ch.SendRequest("pty-req", true, ssh.Marshal(struct {
			Term                      string
			Cols, Rows, Width, Height uint32
			Modes                     string
		}{Term: t.term, Cols: uint32(t.w), Rows: uint32(t.h)}))
	}
	if ok, err := ch.SendRequest("shell", true, nil); !ok || err != nil {
		c.lastWords(ForwardUnavailableMessage, 1)
		return true
	}
	go func() {
		for sz := range resizes {
			ch.SendRequest("window-change", false, ssh.Marshal(struct{ Cols, Rows, Width, Height uint32 }{uint32(sz.W), uint32(sz.H), 0, 0}))
		}
	}()
	// The owner's requests go on to the guest: its receipts (answered
	// in turn by the guest's client) and the exit status.
	reqsDone := make(chan struct{})
	go func() {
		defer close(reqsDone)
		for r := range reqs {
			ok, _ := c.ch.SendRequest(r.Type, r.WantReply, r.Payload)
			if r.WantReply {
				r.Reply(ok, nil)
			}
		}
	}()
	// This relay stopping, or being drained, ends the carrying: the
	// guest is told, as its session's guests are, to join again.
	stopped := make(chan struct{})
	notice := c.srv.cfg.ShutdownNotice
	go func() {
		select {
		case <-c.srv.stopping:
			close(stopped)
			ch.Close()
		case <-c.srv.draining:
			notice = DrainNotice
			close(stopped)
			ch.Close()
		case <-reqsDone:
		}
	}()
	go func() {
		io.Copy(ch, c.ch)
		ch.CloseWrite()
	}()
	io.Copy(c.ch, ch)
	select {
	case <-stopped:
		c.lastWords(notice, 0)
		return true
	default:
	}
	select { // the exit status follows the last data
	case <-reqsDone:
	case <-time.After(time.Second):
	}
	c.ch.CloseWrite()
	c.ch.Close()
	return true
}

// ServeForwardedGuest serves a guest another node of the cluster carried
// here (a ForwardedGuestChannel), as a guest connected from its own
// address.
func (s *Server) ServeForwardedGuest(nch ssh.NewChannel) {
	g, err := parseForwardedGuest(nch.ExtraData())
	if err != nil || !session.ValidTokenSyntax(g.Token) || g.Addr == "" {
		nch.Reject(ssh.ConnectionFailed, "not a forwarded guest")
		return
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		nch.Reject(ssh.ConnectionFailed, "the relay is stopping")
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	defer s.survive()
	ch, reqs, err := nch.Accept()
	if err != nil {
		return
	}
	defer ch.Close()
	c := conn{srv: s, ch: ch, reqs: reqs, addr: g.Addr, user: g.Token, forwarded: true, forwardedKey: g.Key, admitted: func() {}, input: make(chan struct{}, 1)}
	c.guest()
}
