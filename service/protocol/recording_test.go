package protocol

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"tmate-relay/service/protocol/capture"
)

// The recording is what a real tmate 2.4.0 (Debian 12) sent from its start
// through `send-keys q` and `send-keys 'echo hi' Enter` to kill-server.
// Re-record with: TMATE_RECORD=1 go test -run TestLiveTmate ./service/protocol
const recordingPath = "testdata/tmate-2.4.0-start.msgpack"

func readRecording() ([]byte, error) { return os.ReadFile(recordingPath) }

// reconnectPath holds what the same host sent after the relay dropped it:
// it reconnected and replayed its state, ending with a SNAPSHOT.
const reconnectPath = "testdata/tmate-2.4.0-reconnect.msgpack"

func TestRecordedReconnect(t *testing.T) {
	b, err := os.ReadFile(reconnectPath)
	if err != nil {
		t.Fatal(err)
	}
	checkReconnectStream(t, b)
}

func decodeAll(t *testing.T, b []byte) streamStats {
	t.Helper()
	st := streamStats{counts: map[MsgType]int{}}
	d := NewDecoder(bytes.NewReader(b), Limits{})
	for {
		m, err := d.Next()
		if err == io.EOF {
			return st
		}
		if err != nil {
			t.Fatalf("after %d messages: %v", len(st.msgs), err)
		}
		st.msgs = append(st.msgs, m)
		st.counts[m.Type()]++
		if d.LastSize() > st.largest {
			st.largest, st.largeT = d.LastSize(), m.Type()
		}
	}
}

func checkReconnectStream(t *testing.T, b []byte) streamStats {
	t.Helper()
	st := decodeAll(t, b)
	msgs := st.msgs
	if len(msgs) < 6 {
		t.Fatalf("only %d messages", len(msgs))
	}
	if h, ok := msgs[0].(*Header); !ok || h.ProtocolVersion != 6 {
		t.Errorf("first message %#v, want HEADER", msgs[0])
	}
	if r, ok := msgs[1].(*Reconnect); !ok || r.Data != capture.ReconnectData {
		t.Errorf("second message %#v, want RECONNECT %q", msgs[1], capture.ReconnectData)
	}
	var order []MsgType
	var snap *Snapshot
	for _, m := range msgs[2:] {
		if m.Type() != MsgExecCmd && (len(order) == 0 || order[len(order)-1] != m.Type()) {
			order = append(order, m.Type())
		}
		if s, ok := m.(*Snapshot); ok && snap == nil {
			snap = s
		}
	}
	if len(order) < 4 || order[0] != MsgUname || order[1] != MsgReady || order[2] != MsgSyncLayout || order[3] != MsgSnapshot {
		t.Errorf("after the EXEC_CMDs: %v, want UNAME READY SYNC_LAYOUT SNAPSHOT ...", order)
	}
	if snap == nil || len(snap.Panes) != 1 {
		t.Fatalf("snapshot %+v", snap)
	}
	g := snap.Panes[0].Grid
	var text []string
	for _, l := range g.Lines {
		text = append(text, l.Text)
		if len(l.Cells) < len([]rune(l.Text)) {
			t.Errorf("line %q has %d cells", l.Text, len(l.Cells))
		}
	}
	if all := strings.Join(text, "\n"); !strings.Contains(all, "echo hi\nhi") {
		t.Errorf("snapshot lacks the echo: %q", all)
	}
	return st
}

// TestRecordedStream decodes the committed recording and checks the start-up
// order a relay relies on.
func TestRecordedStream(t *testing.T) {
	b, err := readRecording()
	if err != nil {
		t.Fatal(err)
	}
	checkRealStream(t, b)
}

type streamStats struct {
	counts  map[MsgType]int
	largest int
	largeT  MsgType
	msgs    []HostMessage
}

// checkRealStream decodes a stream from tmate 2.4.0 started with
// `new-session -d -x 80 -y 24` and checks what every such stream holds.
func checkRealStream(t *testing.T, b []byte) streamStats {
	t.Helper()
	st := decodeAll(t, b)
	msgs := st.msgs
	if len(msgs) < 5 {
		t.Fatalf("only %d messages", len(msgs))
	}
	if h, ok := msgs[0].(*Header); !ok || h.ProtocolVersion != 6 || h.ClientVersion != "2.4.0" {
		t.Fatalf("first message %#v, want HEADER 6 2.4.0", msgs[0])
	}
	// Then EXEC_CMDs (the key table, then the config's options), UNAME, READY.
	i := 1
	binds := 0
	sawPrefix := false
	for ; i < len(msgs); i++ {
		e, ok := msgs[i].(*ExecCmd)
		if !ok {
			break
		}
		if e.Argv[0] == "bind-key" {
			binds++
			if strings.Join(e.Argv, " ") == "bind-key C-b send-prefix" {
				sawPrefix = true
			}
		}
	}
	if binds < 50 || !sawPrefix {
		t.Errorf("%d bind-key EXEC_CMDs before UNAME, C-b send-prefix seen: %v", binds, sawPrefix)
	}
	if i+1 >= len(msgs) {
		t.Fatal("stream ends after the EXEC_CMDs")
	}
	if u, ok := msgs[i].(*Uname); !ok || u.Sysname != "Linux" {
		t.Errorf("message %d is %#v, want UNAME Linux", i+1, msgs[i])
	}
	if _, ok := msgs[i+1].(*Ready); !ok {
		t.Errorf("message %d is %#v, want READY", i+2, msgs[i+1])
	}
	// The first layout is the 80x24 session with one window and one pane.
	var layout *SyncLayout
	for _, m := range msgs[i+2:] {
		if l, ok := m.(*SyncLayout); ok {
			layout = l
			break
		}
	}
	if layout == nil {
		t.Fatal("no SYNC_LAYOUT")
	}
	if len(layout.Windows) != 1 || len(layout.Windows[0].Panes) != 1 || layout.Windows[0].Panes[0].SX != 80 {
		t.Errorf("first layout %+v", layout)
	}
	if st.counts[MsgPtyData] == 0 || st.counts[MsgWriteCopyMode] == 0 {
		t.Errorf("counts %v: want PTY_DATA and WRITE_COPY_MODE", st.counts)
	}
	// The relay's NOTIFY came back as a line of the start-up messages.
	notified := false
	for _, m := range msgs {
		if w, ok := m.(*WriteCopyMode); ok && w.Text == capture.Notify {
			notified = true
		}
	}
	if !notified {
		t.Errorf("no WRITE_COPY_MODE %q (the relay's NOTIFY)", capture.Notify)
	}
	// `echo hi` ran in the pane.
	var out []byte
	for _, m := range msgs {
		if p, ok := m.(*PtyData); ok {
			out = append(out, p.Data...)
		}
	}
	if !bytes.Contains(out, []byte("hi\r\n")) {
		t.Errorf("pane output lacks the echo: %q", out)
	}
	return st
}

// TestLiveTmate runs the real tmate against a throwaway SSH server, checks
// that it decodes the stream and obeys the relay's NOTIFY/SET_ENV/READY, and
// with TMATE_RECORD=1 rewrites the recording.
func TestLiveTmate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real tmate for a few seconds")
	}
	srv := capture.Start(t, 2)
	tm := capture.StartTmate(t, srv)
	if got := tm.Run("display", "-p", "#{tmate_ssh}"); got != capture.SSHCommand {
		t.Errorf("#{tmate_ssh} = %q, want %q (SET_ENV)", got, capture.SSHCommand)
	}
	time.Sleep(500 * time.Millisecond)
	tm.Run("send-keys", "q")
	time.Sleep(500 * time.Millisecond)
	tm.Run("send-keys", "echo hi", "Enter")
	time.Sleep(2 * time.Second)
	srv.Conn(0).Kick() // drop the host: it reconnects after 2 s
	b := srv.Conn(0).Wait(t, 5*time.Second)
	time.Sleep(4 * time.Second)
	tm.Run("kill-server")
	recon := srv.Conn(1).Wait(t, 5*time.Second)
	rst := checkReconnectStream(t, recon)
	t.Logf("reconnection: %d bytes, %d messages, largest %d bytes (%v)", len(recon), len(rst.msgs), rst.largest, rst.largeT)

	st := checkRealStream(t, b)
	t.Logf("%d bytes, %d messages, largest %d bytes (%v), counts:", len(b), len(st.msgs), st.largest, st.largeT)
	for typ := MsgHeader; typ <= MsgUname; typ++ {
		if n := st.counts[typ]; n > 0 {
			t.Logf("  %-16v %d", typ, n)
		}
	}
	if os.Getenv("TMATE_RECORD") == "1" {
		if err := os.WriteFile(recordingPath, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(reconnectPath, recon, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", recordingPath)
	}
}
