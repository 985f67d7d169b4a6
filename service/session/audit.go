package session

import (
	"sync/atomic"
	"time"

	"tmate-relay/service/audit"
)

// What the audit trail records of a session and its guests. A session's
// end is recorded when its start or its host's reconnection was: a session
// made for a host that then got its old one back was never announced.

// auditState is a session's part in the audit trail.
type auditState struct {
	hostBytes atomic.Int64 // read from the session's hosts
	recorded  atomic.Bool  // its start or a reconnection is in the trail
}

// AddHostBytes counts n bytes read from the session's host.
func (s *Session) AddHostBytes(n int64) { s.audit.hostBytes.Add(n) }

// AuditEvent is an event of kind about s: its id, name, and its host's
// address and key.
func (s *Session) AuditEvent(kind audit.Kind) audit.Event {
	s.rc.mu.Lock()
	key := s.rc.key
	s.rc.mu.Unlock()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return audit.Event{Kind: kind, SessionID: s.id, SessionName: s.sessionName(), HostAddr: s.hostAddr, HostKey: key}
}

// Record puts kind (SessionStart, HostReconnect) about s in the audit
// trail; from then on its end is recorded too.
func (s *Session) Record(kind audit.Kind) {
	if s.cfg.Audit == nil {
		return
	}
	s.audit.recorded.Store(true)
	s.cfg.Audit.Emit(s.AuditEvent(kind))
}

// recordEnd puts s's end in the audit trail, with how long it lasted and
// the bytes its hosts sent, if its start is there.
func (s *Session) recordEnd() {
	if s.cfg.Audit == nil || !s.audit.recorded.Load() {
		return
	}
	e := s.AuditEvent(audit.SessionEnd)
	e.Why = s.endReason
	e.Duration = time.Since(s.started)
	e.Bytes = s.audit.hostBytes.Load()
	s.cfg.Audit.Emit(e)
}

// GuestEvent is an event of kind about g, a guest of s: the session's
// fields and the guest's address, number, transport and role; for
// GuestLeave also how long it stayed and the bytes it was sent.
func (s *Session) GuestEvent(kind audit.Kind, g *Guest) audit.Event {
	e := s.AuditEvent(kind)
	e.GuestAddr, e.Guest, e.Transport, e.Role = g.Addr, g.ClientID, string(g.Transport), audit.Role(g.ReadOnly)
	if kind == audit.GuestLeave {
		e.Duration = time.Since(g.joined)
		e.Bytes = g.bytes.Load()
	}
	return e
}

// AddBytes counts n bytes written to the guest's terminal.
func (g *Guest) AddBytes(n int) { g.bytes.Add(int64(n)) }
