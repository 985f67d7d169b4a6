package session

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sort"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
)

// What the relay's administrator sees of sessions and does to them (the
// admin socket): a session's id, which unlike its tokens is no secret and
// may appear in logs, lists, and the ending of a session or of one guest.

// ErrKicked refuses a host's reconnection into a session the relay's
// administrator ended: it starts a new session with new tokens.
var ErrKicked = errors.New("the relay's administrator ended this session")

// KickedText is what the host and guests of a session the administrator
// ended read.
const KickedText = "The relay's administrator ended this session."

// GuestKickedText is what a guest the administrator removed reads.
const GuestKickedText = "The relay's administrator removed you from this session."

// SayPrefix comes before an administrator's message on status lines.
const SayPrefix = "Relay administrator: "

// minSayTime is the least time an administrator's message stays on
// guests' status lines, however short the host's display-time.
const minSayTime = 15 * time.Second

// maxSayText bounds an administrator's message: a status line is one row.
const maxSayText = 500

// newSessionID returns 64 random bits as 16 hex digits.
func newSessionID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ValidID reports whether id has the form of a session id.
func ValidID(id string) bool {
	if len(id) != 16 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}

// ID is the session's id: stable for the session's life, across its host's
// reconnections and relay restarts, and not a secret.
func (s *Session) ID() string { return s.id }

// activity records that the host's panes or a guest's keys moved now.
type activity struct{ at atomic.Int64 }

func (a *activity) touch() { a.at.Store(time.Now().UnixNano()) }
func (a *activity) since() time.Duration {
	return time.Since(time.Unix(0, a.at.Load()))
}

// SetHostAddr records the address of the host's current connection.
func (s *Session) SetHostAddr(addr string) {
	s.mu.Lock()
	s.hostAddr = addr
	s.mu.Unlock()
}

// Info is one session as the administrator lists it.
type Info struct {
	ID            string      `json:"id"`
	Name          string      `json:"name"`      // tmux's #S
	HostName      string      `json:"host_name"` // the host's uname nodename
	HostAddr      string      `json:"host_addr"`
	HostConnected bool        `json:"host_connected"`
	Started       time.Time   `json:"started"`
	IdleSeconds   int64       `json:"idle_seconds"` // since the host's last output or a guest's last key
	Guests        GuestCounts `json:"guests"`
}

// GuestCounts counts a session's guests by transport and access.
type GuestCounts struct {
	SSHReadWrite int `json:"ssh_rw"`
	SSHReadOnly  int `json:"ssh_ro"`
	WebReadWrite int `json:"web_rw"`
	WebReadOnly  int `json:"web_ro"`
}

// GuestInfo is one attached guest as the administrator lists it.
type GuestInfo struct {
	ID        int       `json:"id"` // the guest's client id in its session
	Transport string    `json:"transport"`
	ReadOnly  bool      `json:"read_only"`
	Addr      string    `json:"addr"`
	Joined    time.Time `json:"joined"`
	Cols      int       `json:"cols"`
	Rows      int       `json:"rows"`
}

// Info describes the session now.
func (s *Session) Info() Info {
	in := Info{ID: s.id, Started: s.started, IdleSeconds: int64(s.activity.since() / time.Second), HostConnected: !s.hostAway()}
	s.mu.RLock()
	in.Name, in.HostName, in.HostAddr = s.sessionName(), s.hostName, s.hostAddr
	for _, g := range s.guests {
		c := &in.Guests
		switch {
		case g.Transport == TransportWeb && g.ReadOnly:
			c.WebReadOnly++
		case g.Transport == TransportWeb:
			c.WebReadWrite++
		case g.ReadOnly:
			c.SSHReadOnly++
		default:
			c.SSHReadWrite++
		}
	}
	s.mu.RUnlock()
	return in
}

// GuestList lists the attached guests in the order they joined.
func (s *Session) GuestList() []GuestInfo {
	s.mu.RLock()
	out := make([]GuestInfo, 0, len(s.guests))
	for _, g := range s.guests {
		out = append(out, GuestInfo{ID: g.ClientID, Transport: string(g.Transport), ReadOnly: g.ReadOnly,
			Addr: g.Addr, Joined: g.joined, Cols: g.w, Rows: g.h})
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Say shows text, from the relay's administrator, to the host (a NOTIFY:
// its status line and show-messages) and on every guest's status line.
func (s *Session) Say(text string) error {
	msg := SayPrefix + text
	s.mu.RLock()
	d := max(s.messageTime(), minSayTime)
	for _, g := range s.guests {
		g.ShowMessage(msg, d)
	}
	s.mu.RUnlock()
	return s.host.Notify(msg)
}

// CleanSayText makes an administrator's message fit a status line: one
// line of printable characters, at most maxSayText bytes; "" is refused.
func CleanSayText(text string) (string, error) {
	text = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, text)
	text = strings.TrimSpace(text)
	if text == "" {
		return "", errors.New("the message is empty")
	}
	if len(text) > maxSayText {
		return "", errors.New("the message is longer than 500 bytes")
	}
	return text, nil
}

// KickGuest ends the guest whose client id is id with GuestKickedText; it
// reports whether that guest was attached.
func (s *Session) KickGuest(id int) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, g := range s.guests {
		if g.ClientID == id {
			g.kick(GuestKickedText)
			return true
		}
	}
	return false
}

// ByID finds the live session whose id is id.
func (r *Registry) ByID(id string) *Session {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for s := range r.sessions {
		if s.id == id {
			return s
		}
	}
	return nil
}

// Kick ends s for its host and guests with KickedText and keeps its host
// out of it: the reconnection data the host holds (and, for a named
// session, its names) are refused until that data has expired, so the
// host's tmate, which reconnects by itself, gets a new session with new
// tokens (or, named, is refused until then).
func (r *Registry) Kick(s *Session) {
	until := time.Now()
	if rc := r.Reconnector(); rc != nil {
		until = until.Add(rc.Window + rc.RefreshEvery())
	}
	r.mu.Lock()
	now := time.Now()
	for t, end := range r.kicked {
		if now.After(end) {
			delete(r.kicked, t)
		}
	}
	r.kicked[s.token], r.kicked[s.roToken] = until, until
	r.mu.Unlock()
	s.host.Notify(KickedText) // before the host's connection closes
	s.End(KickedText)
	r.Remove(s)
}

// kickedToken reports whether token belongs to a session the administrator
// ended whose host may still hold reconnection data. The caller holds
// r.mu.
func (r *Registry) kickedToken(token string) bool {
	end, ok := r.kicked[token]
	return ok && time.Now().Before(end)
}
