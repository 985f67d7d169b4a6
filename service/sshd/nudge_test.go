package sshd

import (
	"io"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"tmate-relay/service/protocol"
)

// TestHostSenderNudgesAfterGuestsKeys: what guests send the host is
// followed by two nudges, timed from the last of a burst; the relay's own
// messages are not.
func TestHostSenderNudgesAfterGuestsKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		send func(h *hostSender)
		want []int // nudges counted at 20, 30, 240 and 260 ms after the last send
	}{
		{"a key", func(h *hostSender) { h.PaneKey(-1, 'a') }, []int{0, 1, 1, 2}},
		{"a command", func(h *hostSender) { h.ExecCmd(1, "new-window") }, []int{0, 1, 1, 2}},
		{"a paste", func(h *hostSender) { h.PaneKeys(-1, []uint64{'a', 'b', '\r'}) }, []int{0, 1, 1, 2}},
		{"a burst of keys", func(h *hostSender) {
			for range 10 {
				h.PaneKey(-1, 'x')
				time.Sleep(10 * time.Millisecond)
			}
			h.PaneKey(-1, 'y')
		}, []int{0, 1, 1, 2}},
		{"the relay's own messages", func(h *hostSender) {
			h.Notify("hello")
			h.SetEnv("tmate_ssh", "ssh x@y")
			h.Resize(80, 24)
			h.Ready()
		}, []int{0, 0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var n atomic.Int32
				h := &hostSender{Encoder: protocol.NewEncoder(io.Discard), nudge: func() { n.Add(1) }}
				tc.send(h)
				at := time.Duration(0)
				for i, when := range []time.Duration{20, 30, 240, 260} {
					time.Sleep(when*time.Millisecond - at)
					at = when * time.Millisecond
					synctest.Wait()
					if got := int(n.Load()); got != tc.want[i] {
						t.Errorf("%v after the last send: %d nudges, want %d", at, got, tc.want[i])
					}
				}
			})
		})
	}
}
