package protocol

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
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
	if r, ok := msgs[1].(*Reconnect); !ok || r.Data != fakeReconnect {
		t.Errorf("second message %#v, want RECONNECT %q", msgs[1], fakeReconnect)
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
		if w, ok := m.(*WriteCopyMode); ok && w.Text == fakeNotify {
			notified = true
		}
	}
	if !notified {
		t.Errorf("no WRITE_COPY_MODE %q (the relay's NOTIFY)", fakeNotify)
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
	tmate, err := exec.LookPath("tmate")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmate is not installed")
		}
		t.Skip("tmate is not installed")
	}
	srv := startFakeRelay(t)

	dir, err := os.MkdirTemp("/tmp", "tmrec")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	conf := filepath.Join(dir, "tmate.conf")
	sock := filepath.Join(dir, "sock")
	_, port, _ := net.SplitHostPort(srv.ln.Addr().String())
	err = os.WriteFile(conf, []byte(fmt.Sprintf(
		"set -g tmate-server-host 127.0.0.1\nset -g tmate-server-port %s\nset -g tmate-server-ed25519-fingerprint %s\nset -g tmate-display-time 100\n",
		port, srv.fingerprint)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + dir, "TERM=xterm-256color", "PATH=" + os.Getenv("PATH"), "SHELL=/bin/sh", "LANG=C.UTF-8"}
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, tmate, append([]string{"-S", sock}, args...)...)
		cmd.Env = env
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("tmate %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("-f", conf, "new-session", "-d", "-x", "80", "-y", "24")
	t.Cleanup(func() {
		cmd := exec.Command(tmate, "-S", sock, "kill-server")
		cmd.Env = env
		_ = cmd.Run()
	})
	run("wait", "tmate-ready")
	if got := strings.TrimSpace(run("display", "-p", "#{tmate_ssh}")); got != fakeSSH {
		t.Errorf("#{tmate_ssh} = %q, want %q (SET_ENV)", got, fakeSSH)
	}
	time.Sleep(500 * time.Millisecond)
	run("send-keys", "q")
	time.Sleep(500 * time.Millisecond)
	run("send-keys", "echo hi", "Enter")
	time.Sleep(2 * time.Second)
	close(srv.kick) // drop the host: it reconnects after 2 s
	b := srv.wait(t, 5*time.Second)
	time.Sleep(4 * time.Second)
	run("kill-server")
	recon := srv.second.wait(t, 5*time.Second)
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

const (
	fakeReconnect = "fake-reconnection-data"
	fakeSSH       = "ssh -p2222 faketoken@127.0.0.1"
	fakeNotify    = "ssh session: " + fakeSSH
)

type fakeRelay struct {
	ln          net.Listener
	fingerprint string
	mu          sync.Mutex
	buf         bytes.Buffer // what the current connection sent
	done        chan struct{}
	kick        chan struct{} // closes the current connection
	second      *fakeRelay    // records the next connection, if not nil
}

// startFakeRelay listens on 127.0.0.1 with a throwaway ed25519 host key,
// accepts user tmate with `none` auth and the tmate subsystem, records what
// the host sends and answers like the original server: NOTIFY, SET_ENV,
// READY.
func startFakeRelay(t *testing.T) *fakeRelay {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{
		NoClientAuth: true,
		NoClientAuthCallback: func(c ssh.ConnMetadata) (*ssh.Permissions, error) {
			if c.User() != "tmate" {
				return nil, fmt.Errorf("user %q", c.User())
			}
			return nil, nil
		},
	}
	cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &fakeRelay{ln: ln, fingerprint: ssh.FingerprintSHA256(signer.PublicKey()), done: make(chan struct{}), kick: make(chan struct{})}
	s.second = &fakeRelay{done: make(chan struct{}), kick: make(chan struct{})}
	go func() {
		for _, r := range []*fakeRelay{s, s.second} {
			nc, err := ln.Accept()
			if err != nil {
				close(r.done)
				continue
			}
			r.serve(t, nc, cfg)
			nc.Close()
		}
	}()
	return s
}

func (s *fakeRelay) serve(t *testing.T, nc net.Conn, cfg *ssh.ServerConfig) {
	defer close(s.done)
	conn, chans, reqs, err := ssh.NewServerConn(nc, cfg)
	if err != nil {
		t.Errorf("ssh handshake: %v", err)
		return
	}
	defer conn.Close()
	go ssh.DiscardRequests(reqs)
	for nch := range chans {
		if nch.ChannelType() != "session" {
			_ = nch.Reject(ssh.UnknownChannelType, "no")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		subsystem := make(chan bool, 1)
		go func() {
			for r := range creqs {
				ok := r.Type == "subsystem" && len(r.Payload) > 4 && string(r.Payload[4:]) == "tmate"
				if r.WantReply {
					_ = r.Reply(ok, nil)
				}
				if ok {
					subsystem <- true
				}
			}
		}()
		select {
		case <-subsystem:
		case <-time.After(10 * time.Second):
			t.Error("no tmate subsystem request")
			return
		}
		enc := NewEncoder(ch)
		_ = enc.Notify(fakeNotify)
		_ = enc.SetEnv("tmate_ssh", fakeSSH)
		_ = enc.SetEnv("tmate_reconnection_data", fakeReconnect)
		_ = enc.Ready()
		go func() {
			<-s.kick
			conn.Close()
		}()
		buf := make([]byte, 32<<10)
		for {
			n, err := ch.Read(buf)
			s.mu.Lock()
			s.buf.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

// wait returns what the host sent once it disconnected (or after timeout).
func (s *fakeRelay) wait(t *testing.T, timeout time.Duration) []byte {
	select {
	case <-s.done:
	case <-time.After(timeout):
		t.Log("host still connected; using what arrived so far")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.buf.Bytes()...)
}
