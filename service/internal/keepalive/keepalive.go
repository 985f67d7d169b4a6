// Package keepalive probes the peer of an SSH connection, as OpenSSH's
// ClientAliveInterval does: a peer that hangs or drops off the network
// without closing its connection (a kernel closes it when the process
// dies, nothing does when the machine or its network does) would
// otherwise hold what it uses on the relay forever.
package keepalive

import (
	"time"

	"golang.org/x/crypto/ssh"
)

// Missed is how many probes in a row may go unanswered.
const Missed = 3

// Probe sends a keepalive@openssh.com request on c every interval; after
// Missed unanswered in a row it calls dead and closes c. It returns when c
// closes, or at once for an interval of 0.
func Probe(c ssh.Conn, interval time.Duration, dead func()) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	missed := 0
	for range t.C {
		reply := make(chan error, 1)
		go func() {
			_, _, err := c.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		select {
		case err := <-reply:
			if err != nil {
				return // closed
			}
			missed = 0
		case <-time.After(interval):
			missed++
			if missed >= Missed {
				dead()
				c.Close()
				return
			}
		}
	}
}
