package sshd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/vmihailenco/msgpack/v5"
	"golang.org/x/crypto/ssh"

	"tmate-relay/service/config"
	"tmate-relay/service/internal/faultinject"
	"tmate-relay/service/protocol"
	"tmate-relay/service/session"
	"tmate-relay/service/vt"
	"tmate-relay/service/web"
)

// faults panics once at the armed place, for a subject holding the armed
// marker: only the session the test feeds the marker to meets it.
var faults faultInjector

func init() { faultinject.Hook = faults.at }

type faultInjector struct {
	mu            sync.Mutex
	place, marker string
}

func (f *faultInjector) arm(place, marker string) {
	f.mu.Lock()
	f.place, f.marker = place, marker
	f.mu.Unlock()
}

func (f *faultInjector) at(place string, subject any) {
	f.mu.Lock()
	hit := place == f.place && strings.Contains(subjectText(subject), f.marker)
	if hit {
		f.place = "" // once
	}
	f.mu.Unlock()
	if hit {
		panic("injected fault in the " + place)
	}
}

// subjectText is the text of what a place works on.
func subjectText(v any) string {
	switch v := v.(type) {
	case []byte:
		return string(v)
	case string:
		return v
	case []vt.Cell:
		var b strings.Builder
		for _, c := range v {
			b.WriteRune(c.Rune)
		}
		return b.String()
	case *protocol.SnapshotPane:
		var b strings.Builder
		for _, l := range v.Grid.Lines {
			b.WriteString(l.Text)
		}
		return b.String()
	case protocol.HostMessage:
		return fmt.Sprintf("%q", v)
	}
	return ""
}

// isolationMarker is the text that sets off the armed fault.
const isolationMarker = "KABOOM"

// TestAPanicEndsItsSessionOnly injects a panic into each path that serves
// a session A and checks that A alone ends, with word to its host and its
// guest and its stack in the log, while a session B, with a guest
// attached, is still served both ways.
func TestAPanicEndsItsSessionOnly(t *testing.T) {
	pty := func(s string) protocol.HostMessage { return &protocol.PtyData{PaneID: 0, Data: []byte(s)} }
	hostSends := func(m protocol.HostMessage) func(*fakeHost, guestConn) {
		return func(h *fakeHost, _ guestConn) { h.send(t, m) }
	}
	guestTypes := func(_ *fakeHost, g guestConn) { g.typeKeys(t, isolationMarker) }
	for _, tc := range []struct {
		place   string
		web     bool   // A's guest uses a browser
		inStack string // a function the panic went through
		trigger func(*fakeHost, guestConn)
	}{
		{faultinject.HostRead, false, "sshd.(*conn).readHost", hostSends(pty(isolationMarker))},
		{faultinject.Decoder, false, "protocol.(*Decoder).Next", hostSends(pty(isolationMarker))},
		{faultinject.Emulator, false, "vt.(*Emulator).Write", hostSends(pty(isolationMarker))},
		{faultinject.Status, false, "guest.windowStatusText",
			hostSends(&protocol.ExecCmd{Argv: []string{"set-option", "-g", "status-left", isolationMarker}})},
		{faultinject.Renderer, false, "guest.(*Renderer).Render", hostSends(pty(isolationMarker))},
		{faultinject.GuestInput, false, "guest.(*Input).Feed", guestTypes}, // an SSH guest's
		{faultinject.WebInput, true, "web.(*wsTerminal).Read", guestTypes},
		{faultinject.Reconnect, false, "session.(*Session).applySnapshot", hostSends(&protocol.Snapshot{Panes: []protocol.SnapshotPane{{
			ID: 0, Grid: protocol.SnapshotGrid{Lines: []protocol.SnapshotLine{{Text: isolationMarker, Cells: make([]uint32, len(isolationMarker))}}},
		}}})},
	} {
		t.Run(tc.place, func(t *testing.T) {
			reg := session.NewRegistry(0)
			addr, _, log := startServer(t, Config{Registry: reg})
			webSrv := httptest.NewServer(web.New(config.Default(), web.Options{Registry: reg, Log: slog.New(slog.NewTextHandler(log, nil))}))
			t.Cleanup(webSrv.Close)

			hostA, hostB := startFakeHost(t, addr), startFakeHost(t, addr)
			var guestA guestConn
			if tc.web {
				guestA = joinWeb(t, webSrv.URL, hostA.token)
			} else {
				guestA = joinSSH(t, addr, hostA.token)
			}
			guestB := joinSSH(t, addr, hostB.token)
			hostA.send(t, pty("A-is-up"))
			hostB.send(t, pty("B-is-up"))
			waitFor(t, "A's guest to show A's output", func() bool { return strings.Contains(guestA.output(), "A-is-up") })
			waitFor(t, "B's guest to show B's output", func() bool { return strings.Contains(guestB.output(), "B-is-up") })

			faults.arm(tc.place, isolationMarker)
			tc.trigger(hostA, guestA)

			waitFor(t, "A's host to be told", func() bool { return hostA.told(session.CrashHostNotice) })
			waitFor(t, "A's host to be hung up on", hostA.hungUp)
			waitFor(t, "A's guest to be told", func() bool { return strings.Contains(guestA.output(), session.CrashNotice) })
			waitFor(t, "A to leave the registry", func() bool { return reg.Len() == 1 })
			lines := logLines(log, "a panic ended a session")
			if len(lines) != 1 {
				t.Fatalf("%d log lines of the panic, want 1:\n%s", len(lines), log)
			}
			for _, want := range []string{"injected fault in the " + tc.place, "goroutine ", tc.inStack} {
				if !strings.Contains(lines[0], want) {
					t.Errorf("the log line does not hold %q:\n%s", want, lines[0])
				}
			}

			stillServed(t, hostB, guestB)
		})
	}
}

// stillServed checks that B's guest still sees B's output and B's host
// still gets its guest's keys, and that neither heard of a panic.
func stillServed(t *testing.T, hostB *fakeHost, guestB guestConn) {
	t.Helper()
	hostB.send(t, &protocol.PtyData{PaneID: 0, Data: []byte("B-after")})
	waitFor(t, "B's guest to show B's output after the panic", func() bool { return strings.Contains(guestB.output(), "B-after") })
	keys := hostB.paneKeys()
	guestB.typeKeys(t, "x")
	waitFor(t, "B's host to receive B's guest's key", func() bool { return hostB.paneKeys() > keys })
	if hostB.told(session.CrashHostNotice) || strings.Contains(guestB.output(), session.CrashNotice) {
		t.Fatal("B was told of the panic")
	}
}

// TestAPanicOutsideASessionEndsItsConnectionOnly injects a panic into the
// decoding of a host's header, before it has a session, and into that of
// a host refused for its address's cap: only that connection ends.
func TestAPanicOutsideASessionEndsItsConnectionOnly(t *testing.T) {
	for _, tc := range []struct {
		name    string
		perAddr int
	}{
		{"a host's header", 0},
		{"a refused host's header", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := session.NewRegistry(0)
			addr, _, log := startServer(t, Config{Registry: reg, SessionsPerAddress: tc.perAddr})
			hostB := startFakeHost(t, addr)
			guestB := joinSSH(t, addr, hostB.token)
			hostB.send(t, &protocol.PtyData{PaneID: 0, Data: []byte("B-is-up")})
			waitFor(t, "B's guest to show B's output", func() bool { return strings.Contains(guestB.output(), "B-is-up") })

			faults.arm(faultinject.Decoder, isolationMarker)
			ch, _ := hostChannel(t, addr)
			ch.Write(protocol.AppendHostMessage(nil, &protocol.Header{ProtocolVersion: 6, ClientVersion: isolationMarker}))
			io.Copy(io.Discard, ch) // until the relay hangs up

			const logged = "a panic ended a connection outside any session"
			waitFor(t, "the panic to be logged", func() bool { return len(logLines(log, logged)) > 0 })
			lines := logLines(log, logged)
			if len(lines) != 1 || !strings.Contains(lines[0], "injected fault in the decoder") || !strings.Contains(lines[0], "goroutine ") {
				t.Fatalf("the panic was not logged once with its stack:\n%s", log)
			}
			if reg.Len() != 1 {
				t.Fatalf("%d sessions, want B's", reg.Len())
			}
			stillServed(t, hostB, guestB)
		})
	}
}

// fakeHost is a host built from the protocol encoder: one window, one
// 80x23 pane; it records what the relay sends it.
type fakeHost struct {
	ch    ssh.Channel
	token string

	mu     sync.Mutex
	notes  []string
	env    map[string]string
	keys   int
	closed bool
}

func startFakeHost(t *testing.T, addr string) *fakeHost {
	t.Helper()
	ch, _ := hostChannel(t, addr)
	h := &fakeHost{ch: ch, env: map[string]string{}}
	h.send(t,
		&protocol.Header{ProtocolVersion: 6, ClientVersion: "2.4.0"},
		&protocol.SyncLayout{SX: 80, SY: 23, Windows: []protocol.Window{{
			Idx: 0, Name: "w", ActivePaneID: 0, Panes: []protocol.PaneLayout{{ID: 0, SX: 80, SY: 23}},
		}}},
		&protocol.Ready{})
	tokens := make(chan string, 1)
	go func() {
		dec := msgpack.NewDecoder(ch)
		for {
			var m []any
			if err := dec.Decode(&m); err != nil {
				h.mu.Lock()
				h.closed = true
				h.mu.Unlock()
				return
			}
			typ, _ := m[0].(int8)
			h.mu.Lock()
			switch typ {
			case 0: // NOTIFY
				h.notes = append(h.notes, m[1].(string))
			case 4: // SET_ENV
				h.env[m[1].(string)] = m[2].(string)
				if m[1] == "tmate_ssh" {
					tokens <- tokenOfCommand(m[2].(string))
				}
			case 6: // PANE_KEY
				h.keys++
			}
			h.mu.Unlock()
		}
	}()
	select {
	case h.token = <-tokens:
	case <-time.After(10 * time.Second):
		t.Fatal("the host got no ssh command")
	}
	return h
}

func (h *fakeHost) send(t *testing.T, msgs ...protocol.HostMessage) {
	t.Helper()
	var b []byte
	for _, m := range msgs {
		b = protocol.AppendHostMessage(b, m)
	}
	if _, err := h.ch.Write(b); err != nil {
		t.Fatal(err)
	}
}

func (h *fakeHost) told(s string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.notes {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

func (h *fakeHost) envValue(name string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.env[name]
}

func (h *fakeHost) hungUp() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

func (h *fakeHost) paneKeys() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.keys
}

// guestConn is an SSH or browser guest: what it was shown, and its keys.
type guestConn interface {
	output() string
	typeKeys(t *testing.T, s string)
}

type sshGuest struct {
	in  io.Writer
	out *syncWriter
}

func joinSSH(t *testing.T, addr, token string) *sshGuest {
	t.Helper()
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: token, HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	g := &sshGuest{out: &syncWriter{w: &bytes.Buffer{}}}
	s.Stdout = g.out
	if g.in, err = s.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := s.RequestPty("xterm", 24, 80, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	return g
}

func (g *sshGuest) output() string { return g.out.String() }

func (g *sshGuest) typeKeys(t *testing.T, s string) {
	t.Helper()
	if _, err := io.WriteString(g.in, s); err != nil {
		t.Fatal(err)
	}
}

type webGuest struct {
	c   *websocket.Conn
	out *syncWriter // frames, then the close reason
}

func joinWeb(t *testing.T, base, token string) *webGuest {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/t/"+token+"/ws?cols=80&rows=24", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	g := &webGuest{c: c, out: &syncWriter{w: &bytes.Buffer{}}}
	go func() {
		for {
			_, data, err := c.Read(context.Background())
			if err != nil {
				g.out.Write([]byte(websocket.CloseStatus(err).String() + ": " + closeReason(err)))
				return
			}
			g.out.Write(data)
		}
	}()
	return g
}

func closeReason(err error) string {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Reason
	}
	return err.Error()
}

func (g *webGuest) output() string { return g.out.String() }

func (g *webGuest) typeKeys(t *testing.T, s string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.c.Write(ctx, websocket.MessageBinary, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

// TestAHostTakesItsSessionBackAfterAPanic: a panic frees the session's
// tokens, so its host, reconnecting as tmate does when the relay hangs up,
// gets the same ssh commands back.
func TestAHostTakesItsSessionBackAfterAPanic(t *testing.T) {
	reg := session.NewRegistry(0)
	reg.SetReconnector(session.NewReconnector([]byte("relay key"), time.Minute))
	addr, _, _ := startServer(t, Config{Registry: reg})
	a := startFakeHost(t, addr)
	waitFor(t, "the host's reconnection data", func() bool { return a.envValue("tmate_reconnection_data") != "" })

	faults.arm(faultinject.HostRead, isolationMarker)
	a.send(t, &protocol.PtyData{PaneID: 0, Data: []byte(isolationMarker)})
	waitFor(t, "the host to be hung up on", a.hungUp)

	env, notes, c := hostUntilReady(t, addr, &protocol.Reconnect{Data: a.envValue("tmate_reconnection_data")})
	defer c.Close()
	if got := tokenOfCommand(env["tmate_ssh"]); got != a.token || !strings.Contains(strings.Join(notes, "\n"), "Reconnected") {
		t.Fatalf("the host came back to token %q (was %q), told %q", got, a.token, notes)
	}
}
