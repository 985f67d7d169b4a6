package sshd

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"tmate-relay/service/audit"
	"tmate-relay/service/metrics"
	"tmate-relay/service/session"
)

// Who may connect, decided during SSH authentication:
//   - a host (user tmate) needs no key unless [hosts] authorized_keys is
//     set; then only a listed key lets it in;
//   - a guest's user name is its token: a session whose host listed guest
//     keys (tmate-authorized-keys) takes only those keys, any other session
//     (and an unknown token, refused later with the usual message) takes
//     the "none" method.

// HostKeyRefusal is the banner an unlisted host's client is sent.
const HostKeyRefusal = "This relay only accepts hosts whose SSH key its administrator listed. " +
	"Ask them to add your public key (~/.ssh/id_ed25519.pub, or the tmate-identity you set)."

// GuestKeyRefusal is the banner a guest without a listed key is sent.
const GuestKeyRefusal = "This session only accepts guests whose SSH keys its host listed (tmate-authorized-keys). " +
	"Ask the host to add your public key.\r\n"

var errKeyRequired = errors.New("a listed public key is required")

// authNote is what one connection's authentication attempts amount to, for
// one log line once the handshake is over.
type authNote struct {
	mu      sync.Mutex
	pre     ssh.ServerPreAuthConn
	guest   bool     // a guest of a session restricted to keys
	remote  bool     // that session is on another node of the cluster
	host    bool     // a host while hosts are restricted to keys
	refused []string // fingerprints of keys offered and refused
	ok      bool
	fileErr error
	lastKey ssh.PublicKey // last key a host offered, refused
	banner  bool
	session string // id of the session a guest asked for
}

// refusal is the log line of a refused authentication ("" if none).
func (n *authNote) refusal() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ok {
		return ""
	}
	switch {
	case n.host && n.fileErr != nil:
		return "host refused: [hosts] authorized_keys cannot be read: " + n.fileErr.Error()
	case n.host:
		return "host refused: no key listed in [hosts] authorized_keys (offered: " + offered(n.refused) + ")"
	case n.guest:
		return "guest refused: no key listed by the session's host (offered: " + offered(n.refused) + ")"
	}
	return ""
}

// reason is a refused authentication's refusals label (see refusal).
func (n *authNote) reason() metrics.Reason {
	if n.guest {
		return metrics.GuestKey
	}
	return metrics.HostNotAllowed
}

// event is the audit trail's record of a refused authentication from
// addr, logged as refusal: the keys offered, and the session a guest
// asked for.
func (n *authNote) event(addr, refusal string) audit.Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, why, _ := strings.Cut(refusal, ": ")
	e := audit.Event{Why: why, SessionID: n.session}
	if n.guest {
		e.GuestAddr, e.GuestKey, e.Transport = addr, strings.Join(n.refused, " "), string(session.TransportSSH)
	} else {
		e.HostAddr, e.HostKey = addr, strings.Join(n.refused, " ")
	}
	return e
}

func offered(fps []string) string {
	if len(fps) == 0 {
		return "none"
	}
	return strings.Join(fps, " ")
}

func (s *Server) note(meta ssh.ConnMetadata) *authNote {
	if v, ok := s.auth.Load(meta.RemoteAddr().String()); ok {
		return v.(*authNote)
	}
	return &authNote{} // not tracked: the handshake is over
}

func (s *Server) preAuth(c ssh.ServerPreAuthConn) {
	n := s.note(c)
	n.mu.Lock()
	n.pre = c
	n.mu.Unlock()
}

// sendBanner shows msg to the client once, while it authenticates.
func (n *authNote) sendBanner(msg string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.banner || n.pre == nil {
		return
	}
	n.banner = true
	n.pre.SendAuthBanner(msg)
}

// guestSession is the live session a guest's user name names, if any.
func (s *Server) guestSession(user string) *session.Session {
	if !session.ValidTokenSyntax(user) {
		return nil
	}
	sess, _, ok := s.cfg.Registry.Lookup(user)
	if !ok {
		return nil
	}
	return sess
}

// noneAuth lets in, without a key, hosts when anyone may host and guests of
// sessions that take any guest with the token.
func (s *Server) noneAuth(meta ssh.ConnMetadata) (*ssh.Permissions, error) {
	n := s.note(meta)
	if meta.User() == HostUser {
		if s.hostKeys != nil {
			n.mu.Lock()
			n.host = true
			n.mu.Unlock()
			return nil, errKeyRequired
		}
	} else if sess := s.guestSession(meta.User()); sess != nil && sess.RestrictsGuests() {
		n.mu.Lock()
		n.guest, n.session = true, sess.ID()
		n.mu.Unlock()
		return nil, errKeyRequired
	} else if sess == nil {
		// Another node may hold the session: it says whether its host
		// listed guest keys.
		if allowed, held := s.remoteGuestKey(meta.User(), nil); held && !allowed {
			n.mu.Lock()
			n.guest, n.remote = true, true
			n.mu.Unlock()
			return nil, errKeyRequired
		}
	}
	n.mu.Lock()
	n.ok = true
	n.mu.Unlock()
	return nil, nil
}

// publicKeyAuth accepts a key listed for the role: the relay's host keys
// for a host, the session's guest keys for a guest.
func (s *Server) publicKeyAuth(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	n := s.note(meta)
	var ok bool
	if meta.User() == HostUser {
		if s.hostKeys == nil {
			ok = true
		} else {
			var err error
			ok, err = s.hostKeys.allows(key)
			n.mu.Lock()
			n.host, n.fileErr = true, err
			n.mu.Unlock()
		}
		if !ok && s.hostRefusals.told(meta.RemoteAddr(), key) {
			// tmate shows a refused key as "SSH keys not found": this
			// client offered all its keys before and none is listed, so
			// let it in on its last one to tell it why (host.go).
			return &ssh.Permissions{Extensions: map[string]string{refusedHost: ssh.FingerprintSHA256(key)}}, nil
		}
		if !ok {
			n.sendBanner(HostKeyRefusal)
			n.mu.Lock()
			n.lastKey = key
			n.mu.Unlock()
		}
	} else {
		sess := s.guestSession(meta.User())
		n.mu.Lock()
		remote := n.remote
		n.mu.Unlock()
		switch {
		case sess != nil:
			ok = sess.AllowsGuestKey(key)
			if !ok {
				n.mu.Lock()
				n.guest, n.session = true, sess.ID()
				n.mu.Unlock()
			}
		case remote:
			// The owner checks the key against its host's list.
			allowed, held := s.remoteGuestKey(meta.User(), key.Marshal())
			ok = allowed || !held
		default:
			ok = true
		}
		if !ok {
			n.sendBanner(GuestKeyRefusal)
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if !ok {
		n.refused = append(n.refused, ssh.FingerprintSHA256(key))
		return nil, errKeyRequired
	}
	n.ok = true
	return &ssh.Permissions{Extensions: map[string]string{"key": ssh.FingerprintSHA256(key), publicKeyExtension: string(key.Marshal())}}, nil
}

// publicKeyExtension holds (in ssh.Permissions) the key, wire format, a
// client authenticated with: a forwarded guest's goes to the owner.
const publicKeyExtension = "public-key"

// remoteGuestKey asks the node of the cluster holding user's session, when
// another does, whether it takes a guest with key (wire format; nil: with
// none). held is false when no other node holds it, or the cluster cannot
// tell now: the guest is then let in to read why (guest.go).
func (s *Server) remoteGuestKey(user string, key []byte) (allowed, held bool) {
	if s.cfg.Forwarder == nil || !session.ValidTokenSyntax(user) {
		return false, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), forwardTimeout)
	defer cancel()
	allowed, found, err := s.cfg.Forwarder.GuestKey(ctx, user, key)
	if err != nil {
		s.cfg.Log.Warn("guest key not checked by the node holding its session", "err", err)
		return false, false
	}
	return allowed, found
}

// refusedGuest marks (in ssh.Permissions, with the fingerprints it offered)
// a guest let in only to be told that its session takes listed keys only:
// OpenSSH shows an authentication banner only at LogLevel INFO and above,
// and after "Permission denied" nothing else, while a session channel's
// text always reaches the guest's terminal.
const refusedGuest = "refused-guest"

// keyboardInteractiveAuth lets in, without asking anything, a guest of a
// key-restricted session whose keys were all refused (OpenSSH tries
// keyboard-interactive after its keys), marked refusedGuest: the session
// channel then tells it why and closes (guest.go). Hosts and other guests
// are refused: they never need this method.
func (s *Server) keyboardInteractiveAuth(meta ssh.ConnMetadata, _ ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
	if meta.User() == HostUser {
		return nil, errKeyRequired
	}
	n := s.note(meta)
	n.mu.Lock()
	remote := n.remote
	n.mu.Unlock()
	if sess := s.guestSession(meta.User()); !remote && (sess == nil || !sess.RestrictsGuests()) {
		return nil, errKeyRequired
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.guest = true
	return &ssh.Permissions{Extensions: map[string]string{refusedGuest: offered(n.refused)}}, nil
}

// refusedHost marks (in ssh.Permissions) a host let in only to be told it
// may not host.
const refusedHost = "refused-host"

// hostRefusals remembers, per address, the last key of a host whose keys
// were all refused, for a minute.
type hostRefusals struct {
	mu   sync.Mutex
	last map[string]refusal
}

type refusal struct {
	key []byte
	at  time.Time
}

const refusalMemory = time.Minute

func (h *hostRefusals) remember(addr net.Addr, key ssh.PublicKey) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	if h.last == nil {
		h.last = map[string]refusal{}
	}
	for a, r := range h.last {
		if now.Sub(r.at) > refusalMemory {
			delete(h.last, a)
		}
	}
	h.last[remoteIP(addr)] = refusal{key.Marshal(), now}
}

// told reports whether key is the last key the host at addr offered when
// all its keys were refused, within the last minute.
func (h *hostRefusals) told(addr net.Addr, key ssh.PublicKey) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, ok := h.last[remoteIP(addr)]
	return ok && time.Since(r.at) <= refusalMemory && bytes.Equal(r.key, key.Marshal())
}
