package session

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrTooManySessions is returned when the relay's session cap is reached.
var ErrTooManySessions = errors.New("the relay has reached its session limit, try again later")

// Registry maps live tokens to their sessions.
type Registry struct {
	mu       sync.RWMutex
	byToken  map[string]*Session
	sessions map[*Session]struct{}
	max      int
	policy   Policy
	reconn   *Reconnector // nil: hosts cannot reconnect
	dir      Directory    // nil: no cluster (directory.go)
	// kicked holds the tokens of sessions the administrator ended, until
	// their hosts' reconnection data has expired (admin.go).
	kicked map[string]time.Time
	// afterFunc starts the timer that ends a session whose host stays
	// away (time.AfterFunc; tests fire it themselves).
	afterFunc func(time.Duration, func()) *time.Timer
}

// NewRegistry returns an empty registry holding at most max sessions (0: no cap).
func NewRegistry(max int) *Registry {
	return &Registry{byToken: map[string]*Session{}, sessions: map[*Session]struct{}{}, kicked: map[string]time.Time{}, max: max, afterFunc: time.AfterFunc}
}

// SetReconnector lets hosts reconnect with data rc signs (before any host
// connects).
func (r *Registry) SetReconnector(rc *Reconnector) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reconn = rc
}

// Reconnector is what signs hosts' reconnection data, nil when hosts
// cannot reconnect.
func (r *Registry) Reconnector() *Reconnector {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.reconn
}

// SetPolicy sets what the relay requires of hosts' sessions (before any
// host connects).
func (r *Registry) SetPolicy(p Policy) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.policy = p
}

// Policy is what the relay requires of hosts' sessions.
func (r *Registry) Policy() Policy {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.policy
}

// Add gives s fresh tokens and makes it reachable by them.
func (r *Registry) Add(s *Session) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.registry = r
	if r.max > 0 && len(r.sessions) >= r.max {
		return ErrTooManySessions
	}
	for {
		rw, ro := NewToken(), ReadOnlyPrefix+NewToken()
		if r.byToken[rw] != nil || r.byToken[ro] != nil {
			continue
		}
		s.token, s.roToken = rw, ro
		r.byToken[rw], r.byToken[ro] = s, s
		r.sessions[s] = struct{}{}
		return nil
	}
}

// Resume finds the session that a reconnecting host's data names and
// makes h its host (see TakeHost): the live session when it is still
// registered, its host away or not yet known to be gone; else, after a
// relay restart, a new session made with cfg that has the same tokens and
// whose state the host's replay and SNAPSHOT rebuild. An error (data
// refused, tokens taken by another session, session limit) means the host
// starts a new session with new tokens.
func (r *Registry) Resume(data, hostKey string, cfg Config, h HostSender, hangUp func()) (s *Session, gen uint64, err error) {
	rc := r.Reconnector()
	if rc == nil {
		return nil, 0, errors.New("this relay does not offer reconnection")
	}
	c, err := rc.Verify(data, hostKey)
	if err != nil {
		return nil, 0, err
	}
	r.mu.Lock()
	if r.kickedToken(c.Token) {
		r.mu.Unlock()
		return nil, 0, ErrKicked
	}
	s = r.byToken[c.Token]
	switch {
	case s != nil && s.token == c.Token && s.roToken == c.ROToken && !s.ended():
	case s == nil && r.byToken[c.ROToken] == nil:
		if r.max > 0 && len(r.sessions) >= r.max {
			r.mu.Unlock()
			return nil, 0, ErrTooManySessions
		}
		s = New(cfg, nil)
		s.registry = r
		s.token, s.roToken = c.Token, c.ROToken
		if ValidID(c.ID) {
			s.id = c.ID // the same session as before the restart
		}
		r.byToken[c.Token], r.byToken[c.ROToken] = s, s
		r.sessions[s] = struct{}{}
	default:
		r.mu.Unlock()
		return nil, 0, errors.New("its tokens are in use by another session")
	}
	r.mu.Unlock()
	gen = s.TakeHost(h, hostKey, hangUp)
	s.rc.mu.Lock()
	s.rc.resumed, s.rc.hinted = true, true
	s.rc.mu.Unlock()
	return s, gen, nil
}

// HostLost is told that the host's connection gen ended without the host
// finishing the session. It reports whether the session lives on: when a
// newer connection took gen's place, or when the host holds reconnection
// data, so the session waits (its guests told why) for the host to come
// back within the reconnection window. false: end the session now.
func (r *Registry) HostLost(s *Session, gen uint64) bool {
	rc := r.Reconnector()
	l := s.rc
	l.mu.Lock()
	if l.gen != gen {
		l.mu.Unlock()
		return true
	}
	if rc == nil || !l.issued || s.ended() {
		l.mu.Unlock()
		return false
	}
	l.cur, l.hangUp = nil, nil
	l.away = r.afterFunc(rc.Window, func() { r.expire(s, gen, rc.Window) })
	l.mu.Unlock()
	s.setAwayNotice(awayNoticeText(rc.Window))
	return true
}

// expire ends s if its host, away since connection gen ended, did not
// come back.
func (r *Registry) expire(s *Session, gen uint64, window time.Duration) {
	l := s.rc
	l.mu.Lock()
	away := l.gen == gen && l.cur == nil
	ended := false
	if away {
		ended = s.end(awayEndText(window)) // under l.mu: a host resuming now finds the session ended
	}
	l.mu.Unlock()
	if ended {
		s.recordEnd()
	}
	if away {
		r.Remove(s)
	}
}

// claim replaces s's tokens by the names its host chose (an empty name
// keeps that token); a name another live session holds is refused. In a
// cluster the directory registers the tokens first, refusing a name held
// on another relay.
func (r *Registry) claim(s *Session, name, roName string) error {
	r.mu.RLock()
	err := r.checkNames(s, name, roName)
	d, token, roToken := r.dir, s.token, s.roToken
	r.mu.RUnlock()
	if err != nil {
		return err
	}
	if d != nil {
		if name != "" {
			token = name
		}
		if roName != "" {
			roToken = roName
		}
		if err := d.Register(s.id, []string{token, roToken}); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checkNames(s, name, roName); err != nil {
		return err // taken here while the directory answered
	}
	if name != "" && name != s.token {
		delete(r.byToken, s.token)
		s.token = name
		r.byToken[name] = s
	}
	if roName != "" && roName != s.roToken {
		delete(r.byToken, s.roToken)
		s.roToken = roName
		r.byToken[roName] = s
	}
	return nil
}

// checkNames refuses names s may not take. The caller holds r.mu.
func (r *Registry) checkNames(s *Session, name, roName string) error {
	if _, live := r.sessions[s]; !live {
		return ErrEnded
	}
	for _, n := range []string{name, roName} {
		if n != "" && n != s.token && n != s.roToken && r.kickedToken(n) {
			return fmt.Errorf("the session name %q belongs to a session the relay's administrator ended: it can be used again in %s at most", n, time.Until(r.kicked[n]).Round(time.Second))
		}
		if o := r.byToken[n]; n != "" && o != nil && o != s {
			return &NameTakenError{Name: n}
		}
	}
	return nil
}

// Remove makes s unreachable.
func (r *Registry) Remove(s *Session) {
	r.mu.Lock()
	if r.byToken[s.token] == s {
		delete(r.byToken, s.token)
	}
	if r.byToken[s.roToken] == s {
		delete(r.byToken, s.roToken)
	}
	delete(r.sessions, s)
	d := r.dir
	r.mu.Unlock()
	if d != nil {
		d.Withdraw(s.id)
	}
}

// Lookup finds the session of token and whether the token is read-only.
func (r *Registry) Lookup(token string) (s *Session, readOnly bool, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s = r.byToken[token]
	if s == nil {
		return nil, false, false
	}
	return s, token == s.roToken, true
}

// Sessions returns the live sessions (for shutdown).
func (r *Registry) Sessions() []*Session {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*Session, 0, len(r.sessions))
	for s := range r.sessions {
		out = append(out, s)
	}
	return out
}

// Len is the number of live sessions.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.sessions)
}

// Stats counts what the relay holds now, for its metrics.
type Stats struct {
	Live, Waiting int // sessions with their host, and waiting for it to reconnect
	// Guests counts attached guests by transport and read-only.
	Guests map[GuestKind]int
}

// GuestKind is a guest's transport and role.
type GuestKind struct {
	Transport Transport
	ReadOnly  bool
}

// Stats counts the live sessions and their guests.
func (r *Registry) Stats() Stats {
	st := Stats{Guests: map[GuestKind]int{}}
	for _, s := range r.Sessions() {
		if s.hostAway() {
			st.Waiting++
		} else {
			st.Live++
		}
		s.mu.RLock()
		for _, g := range s.guests {
			st.Guests[GuestKind{g.Transport, g.ReadOnly}]++
		}
		s.mu.RUnlock()
	}
	return st
}
