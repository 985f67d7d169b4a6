package session

import (
	"fmt"
	"strconv"
	"sync"
	"time"
)

// A session outlives its host's connection: when the connection is lost
// without the host finishing (no FIN), the session waits, with its guests,
// for the host to come back with its reconnection data (reconnect_data.go);
// the host's new connection then takes the old one's place.

// hostLink is the session's HostSender: it forwards to the host's current
// connection, and drops what guests send while the host is away, as keys
// typed into a terminal whose network is down are lost.
type hostLink struct {
	mu     sync.Mutex
	cur    HostSender // nil while the host is away
	gen    uint64     // counts the host's connections
	hangUp func()     // closes the current connection
	key    string     // fingerprint of the current connection's SSH key, "" for none
	// issued: the host holds reconnection data, so it may come back.
	issued bool
	// resumed: the current connection is a reconnection, not yet told.
	resumed bool
	// hinted: the host was shown the session's note and addresses, which
	// its show-messages keeps; they are shown once per session. A host
	// that resumes was (its reconnection data came after them), also
	// when the session is rebuilt after a relay restart.
	hinted bool
	away   *time.Timer // ends the session if the host does not come back
}

func newHostLink(h HostSender) *hostLink { return &hostLink{cur: h} }

func (l *hostLink) sender() HostSender {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}

func (l *hostLink) Notify(msg string) error {
	if h := l.sender(); h != nil {
		return h.Notify(msg)
	}
	return nil
}

func (l *hostLink) Resize(sx, sy int) error {
	if h := l.sender(); h != nil {
		return h.Resize(sx, sy)
	}
	return nil
}

func (l *hostLink) SetEnv(name, value string) error {
	if h := l.sender(); h != nil {
		return h.SetEnv(name, value)
	}
	return nil
}

func (l *hostLink) Ready() error {
	if h := l.sender(); h != nil {
		return h.Ready()
	}
	return nil
}

func (l *hostLink) PaneKey(paneID int, key uint64) error {
	if h := l.sender(); h != nil {
		return h.PaneKey(paneID, key)
	}
	return nil
}

// PaneKeys sends keys in one write when the host's sender can
// (KeysSender), else one by one.
func (l *hostLink) PaneKeys(paneID int, keys []uint64) error {
	h := l.sender()
	if h == nil {
		return nil
	}
	if ks, ok := h.(KeysSender); ok {
		return ks.PaneKeys(paneID, keys)
	}
	for _, k := range keys {
		if err := h.PaneKey(paneID, k); err != nil {
			return err
		}
	}
	return nil
}

func (l *hostLink) ExecCmd(clientID int, argv ...string) error {
	if h := l.sender(); h != nil {
		return h.ExecCmd(clientID, argv...)
	}
	return nil
}

// TakeHost makes h, a connection of the host that authenticated with
// hostKey ("" for none), the session's host: a connection still held is
// hung up. hangUp closes h's connection. It returns the connection's
// generation, which HostLost and HostGen compare.
func (s *Session) TakeHost(h HostSender, hostKey string, hangUp func()) uint64 {
	l := s.rc
	l.mu.Lock()
	old := l.hangUp
	l.gen++
	l.cur, l.hangUp, l.key = h, hangUp, hostKey
	if l.away != nil {
		l.away.Stop()
		l.away = nil
	}
	gen := l.gen
	l.mu.Unlock()
	if old != nil {
		old()
	}
	s.setAwayNotice("")
	s.sizeMu.Lock()
	s.mu.Lock()
	s.sentSize = [2]int{-2, -2} // a new connection starts without a size
	s.mu.Unlock()
	s.sizeMu.Unlock()
	return gen
}

func (s *Session) ended() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// HostGen is the generation of the host's current connection.
func (s *Session) HostGen() uint64 {
	s.rc.mu.Lock()
	defer s.rc.mu.Unlock()
	return s.rc.gen
}

// hostAway reports whether the session is waiting for its host to come
// back.
func (s *Session) hostAway() bool {
	s.rc.mu.Lock()
	defer s.rc.mu.Unlock()
	return s.rc.cur == nil
}

func (s *Session) setAwayNotice(msg string) {
	s.mu.Lock()
	s.awayNotice = msg
	s.viewGen++
	s.mu.Unlock()
	s.changed()
}

// reconnectionData sends the host the data it reconnects with, when the
// relay offers reconnection; a reconnected host also hears so, after READY
// (afterReady).
func (s *Session) reconnectionData() []func() error {
	if s.reconnector() == nil {
		return nil
	}
	return []func() error{s.sendReconnectionData}
}

// RefreshReconnectionData gives the host fresh reconnection data (see
// Reconnector.RefreshEvery); it does nothing before the host is READY.
func (s *Session) RefreshReconnectionData() error {
	s.rc.mu.Lock()
	issued := s.rc.issued
	s.rc.mu.Unlock()
	if !issued {
		return nil
	}
	return s.sendReconnectionData()
}

func (s *Session) sendReconnectionData() error {
	rc := s.reconnector()
	s.rc.mu.Lock()
	s.rc.issued = true
	key := s.rc.key
	s.rc.mu.Unlock()
	return s.host.SetEnv("tmate_reconnection_data", rc.Sign(s.token, s.roToken, key, s.id))
}

// afterReady tells a host that reconnected so (its user reads it in
// show-messages), with the guest count it missed while away.
func (s *Session) afterReady() []func() error {
	s.rc.mu.Lock()
	resumed := s.rc.resumed
	s.rc.resumed = false
	s.rc.mu.Unlock()
	if !resumed {
		return nil
	}
	s.mu.RLock()
	n := len(s.guests)
	s.mu.RUnlock()
	return []func() error{
		func() error { return s.host.Notify("Reconnected") },
		func() error { return s.host.SetEnv("tmate_num_clients", strconv.Itoa(n)) },
	}
}

func (s *Session) reconnector() *Reconnector {
	if s.registry == nil {
		return nil
	}
	return s.registry.Reconnector()
}

// awayNoticeText is what guests read on the status line while the host is
// away.
func awayNoticeText(window time.Duration) string {
	return fmt.Sprintf("The host lost its connection: waiting for it to reconnect (up to %s)...", window)
}

// awayEndText is why the session ends when the host did not come back.
func awayEndText(window time.Duration) string {
	return fmt.Sprintf("The host did not reconnect within %s: the session has ended.", window)
}
