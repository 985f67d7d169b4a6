package sshd

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/crypto/ssh"

	"tmate-relay/service/config"
	"tmate-relay/service/metrics"
	"tmate-relay/service/protocol"
	"tmate-relay/service/session"
	"tmate-relay/service/viewer"
	"tmate-relay/service/web"
)

// hostBytes is how many bytes the relay has read from its hosts.
func hostBytes(t *testing.T, m *metrics.Metrics) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(counter(t, m, "tmate_relay_host_bytes_total"), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A host that writes faster than host_output_rate is read no faster than
// the rate after its burst, and nothing it wrote is lost: it waits.
func TestHostOutputIsReadNoFasterThanItsRate(t *testing.T) {
	const rate, burst = 128 << 10, 64 << 10
	reg := session.NewRegistry(0)
	m := metrics.New(reg, "test")
	addr, _, _ := startServer(t, Config{Registry: reg, Metrics: m, HostOutputRate: rate, HostOutputBurst: burst})
	start := time.Now()
	h := startFakeHost(t, addr)
	g := joinSSH(t, addr, h.token)

	const total = 512 << 10
	chunk := []byte(strings.Repeat(strings.Repeat("x", 62)+"\r\n", 16384/64))
	wrote := make(chan error, 1)
	go func() {
		var b []byte
		for range total / len(chunk) {
			b = protocol.AppendHostMessage(b[:0], &protocol.PtyData{PaneID: 0, Data: chunk})
			if _, err := h.ch.Write(b); err != nil {
				wrote <- err
				return
			}
		}
		_, err := h.ch.Write(protocol.AppendHostMessage(nil, &protocol.PtyData{PaneID: 0, Data: []byte("\r\nthe last line")}))
		wrote <- err
	}()
	// However slow the machine, the relay cannot have read more than the
	// burst plus the rate since the host connected (and one read's step).
	for range 5 {
		time.Sleep(100 * time.Millisecond)
		got, elapsed := hostBytes(t, m), time.Since(start)
		if allowed := burst + rate*elapsed.Seconds() + rate/100; got > allowed {
			t.Fatalf("the relay read %.0f bytes of the host's %d in %v, more than the %.0f its rate allows", got, total, elapsed, allowed)
		}
	}
	waitFor(t, "the guest to see the host's last line", func() bool { return strings.Contains(g.output(), "the last line") })
	if err := <-wrote; err != nil {
		t.Fatalf("the host's writes failed: %v", err)
	}
	if got := hostBytes(t, m); got < total {
		t.Fatalf("the relay read %.0f bytes, fewer than the %d written", got, total)
	}
}

// A host that reads nothing the relay sends it (here: the keys a guest
// types) is disconnected after host_write_timeout, rather than holding its
// guests' input, and the goroutines sending it, for ever.
func TestAHostThatReadsNothingIsDisconnected(t *testing.T) {
	reg := session.NewRegistry(0)
	addr, log := startServerWithSmallSendBuffers(t, Config{Registry: reg, HostWriteTimeout: 300 * time.Millisecond})
	proxy, stall := stallingProxy(t, addr)
	defer stall()
	ch, _ := hostChannel(t, proxy)
	var b []byte
	for _, m := range []protocol.HostMessage{
		&protocol.Header{ProtocolVersion: 6, ClientVersion: "2.4.0"},
		&protocol.SyncLayout{SX: 80, SY: 23, Windows: []protocol.Window{{
			Idx: 0, Name: "w", Panes: []protocol.PaneLayout{{ID: 0, SX: 80, SY: 23}},
		}}},
		&protocol.Ready{},
	} {
		b = protocol.AppendHostMessage(b, m)
	}
	if _, err := ch.Write(b); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the session", func() bool { return reg.Len() == 1 })
	sess := reg.Sessions()[0]
	stall() // from now on the host reads nothing
	g := joinSSH(t, addr, sess.Token())
	go func() {
		keys := []byte(strings.Repeat("a", 4096))
		for range 1024 { // 4 MiB of keys: more than any buffer on the way holds
			if _, err := g.in.Write(keys); err != nil {
				return
			}
		}
	}()
	waitFor(t, "the log line", func() bool { return strings.Contains(log.String(), "host closed: it read nothing the relay sent it") })
	waitFor(t, "the session to end", func() bool { return reg.Len() == 0 })
	waitFor(t, "the guest to be told", func() bool { return strings.Contains(g.output(), "The host disconnected.") })
}

// A guest that reads nothing, over ssh or a browser, takes no more than
// its transport's buffers while the host floods, holds up neither the
// session nor the other guest, and is dropped after guest_write_timeout
// with the reason logged.
func TestAGuestThatReadsNothingIsDropped(t *testing.T) {
	for _, tc := range []struct {
		name string
		web  bool
	}{{"ssh", false}, {"browser", true}} {
		t.Run(tc.name, func(t *testing.T) {
			const timeout = 500 * time.Millisecond
			reg := session.NewRegistry(0)
			addr, log := startServerWithSmallSendBuffers(t, Config{Registry: reg, GuestWriteTimeout: timeout})
			webSrv := httptest.NewUnstartedServer(web.New(config.Default(), web.Options{
				Registry: reg, Viewer: viewer.Config{WriteTimeout: timeout}, Log: slog.New(slog.NewTextHandler(log, nil)),
			}))
			// Small socket buffers on both ends, as over a slow link: the
			// kernel's own, autotuned on loopback, would take minutes of
			// frames to fill.
			webSrv.Listener = smallSendBuffers{webSrv.Listener}
			webSrv.Start()
			t.Cleanup(webSrv.Close)
			h := startFakeHost(t, addr)
			// A large pane, redrawn whole by each message of the flood:
			// large frames fill the transport's buffers in seconds.
			const cols, rows = 400, 100
			h.send(t, &protocol.SyncLayout{SX: cols, SY: rows, Windows: []protocol.Window{{
				Idx: 0, Name: "w", Panes: []protocol.PaneLayout{{ID: 0, SX: cols, SY: rows}},
			}}})
			// Read-only, so that its 80x24 terminal does not shrink the
			// window the other guest's frames show.
			reader := joinSSH(t, addr, tokenOfCommand(h.envValue("tmate_ssh_ro")))

			if tc.web {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				dialer := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
					rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
					return nil
				}}
				c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(webSrv.URL, "http")+"/t/"+h.token+"/ws?cols=400&rows=100",
					&websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.CloseNow() }) // and never read
			} else {
				// Through a proxy that stops taking the relay's bytes once
				// the guest is in: the ssh client library itself would
				// take its channel's whole window (2 MiB) first.
				proxy, stall := stallingProxy(t, addr)
				defer stall()
				c, err := ssh.Dial("tcp", proxy, &ssh.ClientConfig{User: h.token, HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				s, err := c.NewSession()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.StdoutPipe(); err != nil { // and never read
					t.Fatal(err)
				}
				if _, err := s.StdinPipe(); err != nil { // no EOF: the guest stays
					t.Fatal(err)
				}
				if err := s.RequestPty("xterm", rows, cols, nil); err != nil {
					t.Fatal(err)
				}
				if err := s.Shell(); err != nil {
					t.Fatal(err)
				}
				stall()
			}
			for deadline := time.Now().Add(10 * time.Second); len(reg.Sessions()[0].GuestList()) != 2; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("guests %v; log:\n%s", reg.Sessions()[0].GuestList(), log)
				}
			}

			// The host floods until the guest that reads nothing is gone.
			var lines atomic.Int64
			stop := make(chan struct{})
			flooded := make(chan struct{})
			go func() {
				defer close(flooded)
				var b []byte
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					text := []byte("\x1b[H")
					for i := range rows - 1 {
						text = append(text, strings.Repeat(string(rune('a'+(n+i)%26)), cols-1)...) // every cell changes
						text = append(text, "\r\n"...)
					}
					b = protocol.AppendHostMessage(b[:0], &protocol.PtyData{PaneID: 0, Data: text})
					if _, err := h.ch.Write(b); err != nil {
						return
					}
					lines.Store(int64((n + 1) * rows))
				}
			}()
			for deadline := time.Now().Add(30 * time.Second); !strings.Contains(log.String(), viewer.StalledMessage(timeout)); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the guest that reads nothing is still on after 30s (the host wrote %d lines); log:\n%s", lines.Load(), log)
				}
			}
			close(stop)
			<-flooded
			waitFor(t, "one guest left", func() bool { return len(reg.Sessions()[0].GuestList()) == 1 })
			// No letter of the flood, so that every cell of it is drawn.
			h.send(t, &protocol.PtyData{PaneID: 0, Data: []byte("\x1b[2J\x1b[HAFTER-THE-DROP")})
			waitFor(t, "the other guest to see the session go on", func() bool { return strings.Contains(reader.output(), "AFTER-THE-DROP") })
		})
	}
}

// smallSendBuffers gives each accepted connection a small send buffer.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

// startServerWithSmallSendBuffers is startServer with a small send buffer
// on each connection, as over a slow link.
func startServerWithSmallSendBuffers(t *testing.T, cfg Config) (addr string, log *syncWriter) {
	t.Helper()
	_, srv, log := startServer(t, cfg) // for its keys and log; its listener stays idle
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(smallSendBuffers{l})
	return l.Addr().String(), log
}

// stallingProxy forwards one connection to addr until stall is called;
// from then on it reads nothing more from addr (its receive buffer is
// small), as a guest whose client stopped reading.
func stallingProxy(t *testing.T, addr string) (proxyAddr string, stall func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	stalled := make(chan struct{})
	var once sync.Once
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		dialer := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
			return nil
		}}
		r, err := dialer.Dial("tcp", addr)
		if err != nil {
			return
		}
		defer r.Close()
		go io.Copy(r, c)
		b := make([]byte, 4096)
		for {
			select {
			case <-stalled:
				<-t.Context().Done()
				return
			default:
			}
			n, err := r.Read(b)
			if n > 0 {
				if _, err := c.Write(b[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return l.Addr().String(), func() { once.Do(func() { close(stalled) }) }
}

// A layout with more windows than [limits] max_windows ends its session
// with the decoder's error in a NOTIFY; the relay and other sessions go on.
func TestALayoutWithTooManyWindowsEndsItsSession(t *testing.T) {
	reg := session.NewRegistry(0)
	addr, _, _ := startServer(t, Config{Registry: reg, Limits: protocol.Limits{MaxWindows: 2}})
	other := startFakeHost(t, addr)
	g := joinSSH(t, addr, other.token)
	ch, _ := hostChannel(t, addr)
	var windows []protocol.Window
	for i := range 3 {
		windows = append(windows, protocol.Window{Idx: i, Name: "w", Panes: []protocol.PaneLayout{{ID: i, SX: 80, SY: 23}}})
	}
	var b []byte
	for _, m := range []protocol.HostMessage{
		&protocol.Header{ProtocolVersion: 6, ClientVersion: "2.4.0"},
		&protocol.SyncLayout{SX: 80, SY: 23, Windows: windows},
		&protocol.Ready{},
	} {
		b = protocol.AppendHostMessage(b, m)
	}
	if _, err := ch.Write(b); err != nil {
		t.Fatal(err)
	}
	if n := notes(messagesWithin(t, ch, 10*time.Second)); len(n) == 0 || !strings.Contains(n[len(n)-1], "windows: length 3 out of range [0, 2]") {
		t.Fatalf("NOTIFYs %q, want the last to name the window limit", n)
	}
	waitFor(t, "one session left", func() bool { return reg.Len() == 1 })
	other.send(t, &protocol.PtyData{PaneID: 0, Data: []byte("still here")})
	waitFor(t, "the other session's guest to see its host", func() bool { return strings.Contains(g.output(), "still here") })
}
