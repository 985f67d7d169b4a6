package session

import (
	"testing"

	"tmate-relay/service/guest"
	"tmate-relay/service/protocol"
)

// BenchmarkEchoFrame is one typed character's echo as the relay handles it
// for one guest: the host's PTY_DATA applied, the guest told, and its
// frame composed (status line and all) and rendered. "cold" walks 32 MiB
// between frames, outside the timing, as other processes evict the
// relay's caches while a guest types a few milliseconds apart.
func BenchmarkEchoFrame(b *testing.B) {
	for _, cold := range []bool{false, true} {
		name := "warm"
		if cold {
			name = "cold"
		}
		b.Run(name, func(b *testing.B) { benchEchoFrame(b, cold) })
	}
}

// benchSession is a session with one 80x24 pane, as a host's first layout
// makes it, for the frame benchmarks.
func benchSession(b *testing.B) *Session {
	s := New(Config{AdvertiseHost: "relay.example", AdvertisePort: 10022}, &hostLog{})
	b.Cleanup(func() { s.End("done") })
	benchApply(b, s, &protocol.SyncLayout{SX: 80, SY: 24, Windows: []protocol.Window{{
		Idx: 0, ActivePaneID: 0, Panes: []protocol.PaneLayout{{ID: 0, SX: 80, SY: 24}},
	}}})
	return s
}

// benchApply applies a host message without telling the guests, which the
// caller does, as the host's reader does. A function, not a func value: the
// message then stays on the caller's stack.
func benchApply(b *testing.B, s *Session, m protocol.HostMessage) {
	if _, _, err := s.ApplyQuiet(m); err != nil {
		b.Fatal(err)
	}
}

func benchEchoFrame(b *testing.B, cold bool) {
	s := benchSession(b)
	g, err := s.Attach(false, "192.0.2.1", 80, 25)
	if err != nil {
		b.Fatal(err)
	}
	var (
		f     guest.Frame
		r     guest.Renderer
		buf   []byte
		sweep []byte
	)
	if cold {
		sweep = make([]byte, 32<<20)
	}
	benchApply(b, s, &protocol.PtyData{PaneID: 0, Data: []byte("$ ")})
	s.Compose(g, &f)
	buf = r.Render(buf, &f)
	key := []byte{'a'}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if cold {
			b.StopTimer()
			for j := 0; j < len(sweep); j += 64 {
				sweep[j]++
			}
			b.StartTimer()
		}
		if i%40 == 39 {
			benchApply(b, s, &protocol.PtyData{PaneID: 0, Data: []byte("\r\x1b[K$ ")})
		} else {
			key[0] = byte('a' + i%26)
			benchApply(b, s, &protocol.PtyData{PaneID: 0, Data: key})
		}
		s.NotifyGuests()
		<-g.Changed()
		g.TakeDataTime()
		s.Compose(g, &f)
		buf = r.Render(buf[:0], &f)
	}
}
