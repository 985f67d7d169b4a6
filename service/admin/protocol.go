// Package admin is the relay's administration socket: a Unix socket over
// which `tmate-relay sessions`, `guests`, `kick`, `say` and `drain` reach
// the running relay. Only root, the relay's own user and members of the
// group tmate-relay-admin are served (the peer's credentials, SO_PEERCRED);
// each request is one JSON line, answered by one JSON line (a drain's by
// progress lines first), and every request, refused or not, is logged as
// one audit line.
package admin

import (
	"tmate-relay/service/session"
)

// DefaultSocket is where the packaged relay's socket unit puts the socket.
const DefaultSocket = "/run/tmate-relay/admin.sock"

// Group is the group whose members may use the socket besides root.
const Group = "tmate-relay-admin"

// Actions a request may ask for.
const (
	ActionSessions = "sessions" // list live sessions
	ActionGuests   = "guests"   // list a session's guests
	ActionKick     = "kick"     // end a session, or remove one guest
	ActionSay      = "say"      // show a message to a session's host and guests
	ActionDrain    = "drain"    // move every session to other nodes of the cluster
)

// Request is what the command line sends.
type Request struct {
	Action  string `json:"action"`
	Session string `json:"session,omitempty"` // a session id
	Guest   int    `json:"guest,omitempty"`   // a guest's id in its session; 0: none
	Text    string `json:"text,omitempty"`    // what say shows
	// TimeoutSeconds bounds a drain (0: DefaultDrainTimeout).
	TimeoutSeconds int `json:"timeout_seconds,omitempty"`
}

// Response is the relay's answer: Error when it did nothing.
type Response struct {
	Error    string              `json:"error,omitempty"`
	Sessions []session.Info      `json:"sessions,omitempty"`
	Guests   []session.GuestInfo `json:"guests,omitempty"`
	Done     string              `json:"done,omitempty"` // what was done, in words
	// Progress is a line of a drain's progress; more lines follow it.
	Progress string `json:"progress,omitempty"`
}
