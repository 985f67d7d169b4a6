package session

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"
)

// A session is the relay's unit of failure: a panic in anything that
// serves one session (its host's reader, the decoder, the emulators, a
// guest's view, renderer or input) is recovered in the goroutine it
// happened in and ends that session alone. Other sessions carry on.

// What a session's guests, and its host in a NOTIFY, read when a panic in
// the relay ended it. The host's tmate reconnects as after any hang-up and
// gets its session back with the same tokens (the session's own state is
// rebuilt from what it replays), so guests can join again.
const (
	CrashNotice     = "An internal error in the relay ended this session: join again with the same command once the host has reconnected."
	CrashHostNotice = "Relay: an internal error ended this session (the relay's log has the details); tmate reconnects by itself."
)

// crashNoticeWait bounds how long Crash waits for the host to take its
// NOTIFY: a host that reads nothing must not keep the session alive.
const crashNoticeWait = time.Second

// Recover, deferred at the top of a goroutine that serves s, turns a
// panic in that goroutine into the end of s (Crash); where names the
// goroutine's work in the log.
func (s *Session) Recover(where string) {
	if r := recover(); r != nil {
		s.Crash(where, r)
	}
}

// Crash ends s after the panic r in where, from the deferred function that
// recovered it (so that the stack logged is the panic's): one log line with
// the stack, a NOTIFY to the host, the guests shown CrashNotice as they
// leave, and the session's tokens freed. A host that reconnects then starts
// the session afresh from what it replays. A second panic in the same
// session is logged only.
func (s *Session) Crash(where string, r any) {
	log := s.cfg.Log
	if log == nil {
		log = slog.Default()
	}
	log.Error("a panic ended a session; other sessions carry on",
		"in", where, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	s.crashOnce.Do(func() {
		told := make(chan struct{})
		go func() {
			s.host.Notify(CrashHostNotice)
			close(told)
		}()
		select {
		case <-told:
		case <-time.After(crashNoticeWait):
		}
		s.End(CrashNotice)
		if s.registry != nil {
			s.registry.Remove(s)
		}
	})
}
