package sshd

import (
	"fmt"
	"log/slog"
	"runtime/debug"
)

// survive, deferred at the top of a connection's goroutine, ends that
// connection alone after a panic outside any session: in the handshake,
// authentication, routing or a refusal. Inside a session the session ends
// instead (session.Crash).
func (s *Server) survive() {
	if r := recover(); r != nil {
		logConnectionPanic(s.cfg.Log, r)
	}
}

// logConnectionPanic logs the panic r that ended a connection, with its
// stack, on one line; call it from the deferred function that recovered r.
func logConnectionPanic(log *slog.Logger, r any) {
	log.Error("a panic ended a connection outside any session; the relay carries on",
		"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
}
