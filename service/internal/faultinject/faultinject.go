// Package faultinject names the places in the code that serves one session
// where tests make the relay panic, to prove that a panic ends that session
// only (see session.Crash). In production Hook is nil and a place costs one
// nil check.
package faultinject

// Hook, when not nil, is called at each place with the place's name and
// what the code there is working on (the bytes, message, format, frame or
// snapshot it was given), so that a test can panic for one session's input
// and not another's. Only tests set it, before the relay starts.
var Hook func(place string, subject any)

// The places, one per path that serves a session.
const (
	HostRead   = "host read loop"     // sshd: each message the host's reader applies
	Decoder    = "decoder"            // protocol: each message decoded from a host's stream
	Emulator   = "emulator"           // vt: each write of pane output
	Status     = "status format"      // guest: each status-line format expanded
	Renderer   = "renderer"           // guest: each frame rendered for a guest
	GuestInput = "guest input"        // guest: each chunk of keystrokes a guest (SSH or browser) sends
	WebInput   = "web guest input"    // web: each keystroke message of a browser guest
	Reconnect  = "reconnect snapshot" // session: each SNAPSHOT a host sends
)
