package sshd

import (
	"io"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"tmate-relay/service/protocol"
)

// nudgeAfter are the delays, after the last message guests sent the host,
// of the relay's nudges.
var nudgeAfter = [...]time.Duration{25 * time.Millisecond, 250 * time.Millisecond}

// hostSender is how a session reaches its host: the protocol encoder, with
// nudges after what guests send. tmate 2.4's SSH client (libssh) can take
// the relay's bytes in while it writes its own output, and then leave them
// unread until its socket next becomes readable: a guest's last keystrokes
// would wait for the next keepalive, up to half a minute. Any packet wakes
// it, so a reply-less keepalive request follows a guest's keys (twice,
// should the first arrive during another write).
type hostSender struct {
	*protocol.Encoder
	nudge func()

	mu     sync.Mutex
	timers []*time.Timer
}

func newHostSender(w io.Writer, sc ssh.Conn) *hostSender {
	return &hostSender{Encoder: protocol.NewEncoder(w), nudge: func() {
		sc.SendRequest("keepalive@openssh.com", false, nil)
	}}
}

func (h *hostSender) PaneKey(paneID int, key uint64) error {
	defer h.armNudges()
	return h.Encoder.PaneKey(paneID, key)
}

func (h *hostSender) PaneKeys(paneID int, keys []uint64) error {
	defer h.armNudges()
	return h.Encoder.PaneKeys(paneID, keys)
}

func (h *hostSender) ExecCmd(clientID int, argv ...string) error {
	defer h.armNudges()
	return h.Encoder.ExecCmd(clientID, argv...)
}

// armNudges (re)starts the nudges: they follow the last of a burst of keys,
// as earlier ones are read when later ones arrive.
func (h *hostSender) armNudges() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.timers == nil {
		for _, d := range nudgeAfter {
			h.timers = append(h.timers, time.AfterFunc(d, h.nudge))
		}
		return
	}
	for i, t := range h.timers {
		t.Reset(nudgeAfter[i])
	}
}
