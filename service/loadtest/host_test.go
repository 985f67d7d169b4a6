package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"tmate-relay/service/protocol"
	"tmate-relay/service/protocol/capture"
)

const recordedStartPath = "recorded/tmate-2.4.0-start.msgpack"

// TestHostMatchesTmate records the real tmate's start-up and reconnection
// again, and fails when the synthetic host's differ from them in message
// types, order or shape, or when the committed recording (which synthetic
// hosts replay) is no longer what tmate sends. With TMATE_RECORD=1 it
// rewrites the recording.
func TestHostMatchesTmate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real tmate for a few seconds")
	}
	realStart, realReconnect := recordTmate(t)
	fakeStart, fakeReconnect := recordSynthetic(t)

	for _, c := range []struct {
		name        string
		real, other []string
	}{
		{"synthetic start-up", shape(t, realStart, protocol.MsgPtyData), shape(t, fakeStart, protocol.MsgPtyData)},
		{"synthetic reconnection", shape(t, realReconnect, protocol.MsgFin), shape(t, fakeReconnect, protocol.MsgFin)},
		{"committed recording", shape(t, realStart, protocol.MsgPtyData), shape(t, recordedStart, protocol.MsgPtyData)},
	} {
		if a, b := strings.Join(c.real, "\n"), strings.Join(c.other, "\n"); a != b {
			t.Errorf("%s differs from the real tmate's (make the synthetic host follow it, or re-record with TMATE_RECORD=1 go test -run TestHostMatchesTmate ./service/loadtest):\n%s",
				c.name, diff(c.real, c.other))
		}
	}
	if os.Getenv("TMATE_RECORD") == "1" {
		if err := os.WriteFile(recordedStartPath, realStart, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", recordedStartPath)
	}
}

// recordTmate runs the real tmate against a recording relay: its start-up
// up to a command's output, then the relay drops it and it reconnects.
func recordTmate(t *testing.T) (start, reconnect []byte) {
	srv := capture.Start(t, 2)
	tm := capture.StartTmate(t, srv)
	time.Sleep(500 * time.Millisecond)
	tm.Run("send-keys", "q") // leaves the tips
	time.Sleep(500 * time.Millisecond)
	tm.Run("send-keys", "echo hi", "Enter")
	time.Sleep(time.Second)
	srv.Conn(0).Kick()
	start = srv.Conn(0).Wait(t, 5*time.Second)
	time.Sleep(4 * time.Second) // tmate reconnects after 2 s
	tm.Run("kill-server")
	return start, srv.Conn(1).Wait(t, 5*time.Second)
}

// recordSynthetic does the same with a synthetic host.
func recordSynthetic(t *testing.T) (start, reconnect []byte) {
	srv := capture.Start(t, 2)
	h := newHost(0, srv.Addr, nil, recordedStart)
	ctx := context.Background()
	if err := h.connect(ctx, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := h.mark(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	srv.Conn(0).Kick()
	start = srv.Conn(0).Wait(t, 5*time.Second)
	<-h.lostCh()
	if err := h.connect(ctx, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	h.close()
	return start, srv.Conn(1).Wait(t, 5*time.Second)
}

// shape describes the messages of a host stream up to the first of type
// until, without what changes from run to run (the relay's address, the
// host's uname, window names, pane output, how often a message repeats).
func shape(t *testing.T, b []byte, until protocol.MsgType) []string {
	t.Helper()
	d := protocol.NewDecoder(bytes.NewReader(b), protocol.Limits{})
	var out []string
	for {
		m, err := d.Next()
		if err == io.EOF || m != nil && m.Type() == until {
			return out
		}
		if err != nil {
			t.Fatalf("after %d messages: %v", len(out), err)
		}
		s := m.Type().String()
		switch m := m.(type) {
		case *protocol.Header:
			s += fmt.Sprintf(" %d %s", m.ProtocolVersion, m.ClientVersion)
		case *protocol.Reconnect:
			s += " " + m.Data
		case *protocol.ExecCmd:
			argv := m.Argv
			if len(argv) == 4 && strings.HasPrefix(argv[2], "tmate-server-") {
				argv = argv[:3]
			}
			s += " " + strings.Join(argv, " ")
		case *protocol.SyncLayout:
			s += fmt.Sprintf(" %dx%d", m.SX, m.SY)
			for _, w := range m.Windows {
				s += fmt.Sprintf(" [window %d active %d", w.Idx, w.ActivePaneID)
				for _, p := range w.Panes {
					s += fmt.Sprintf(" pane %d %dx%d+%d+%d", p.ID, p.SX, p.SY, p.XOff, p.YOff)
				}
				s += "]"
			}
		case *protocol.WriteCopyMode:
			text := m.Text
			if strings.HasPrefix(text, "Connecting to ") {
				text = "Connecting to ..."
			}
			s += fmt.Sprintf(" %d %s", m.PaneID, text)
		case *protocol.SyncCopyMode:
			s += fmt.Sprintf(" %d in copy mode: %v", m.PaneID, m.CopyMode != nil)
		case *protocol.Snapshot:
			s += fmt.Sprintf(" %d panes", len(m.Panes))
			for _, p := range m.Panes {
				s += fmt.Sprintf(" [pane %d mode %d saved %v]", p.ID, p.Mode, p.Saved != nil)
			}
		}
		if len(out) == 0 || out[len(out)-1] != s {
			out = append(out, s)
		}
	}
}

// diff shows the first lines where a and b part.
func diff(a, b []string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	var s strings.Builder
	fmt.Fprintf(&s, "identical up to message %d\n", i)
	for j := i; j < i+5; j++ {
		var x, y string
		if j < len(a) {
			x = a[j]
		}
		if j < len(b) {
			y = b[j]
		}
		fmt.Fprintf(&s, "  real:  %s\n  other: %s\n", x, y)
	}
	return s.String()
}
