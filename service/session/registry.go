package session

import (
	"errors"
	"fmt"
	"sync"
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
}

// NewRegistry returns an empty registry holding at most max sessions (0: no cap).
func NewRegistry(max int) *Registry {
	return &Registry{byToken: map[string]*Session{}, sessions: map[*Session]struct{}{}, max: max}
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

// claim replaces s's tokens by the names its host chose (an empty name
// keeps that token); a name another live session holds is refused.
func (r *Registry) claim(s *Session, name, roName string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, live := r.sessions[s]; !live {
		return ErrEnded
	}
	for _, n := range []string{name, roName} {
		if o := r.byToken[n]; n != "" && o != nil && o != s {
			return fmt.Errorf("the session name %q is in use by another live session: choose another tmate-session-name (or -ro), or end that session first", n)
		}
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

// Remove makes s unreachable.
func (r *Registry) Remove(s *Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byToken[s.token] == s {
		delete(r.byToken, s.token)
	}
	if r.byToken[s.roToken] == s {
		delete(r.byToken, s.roToken)
	}
	delete(r.sessions, s)
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
