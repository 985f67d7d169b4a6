package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"golang.org/x/crypto/ssh"

	"tmate-relay/service/logtest"
	"tmate-relay/service/protocol"
)

// A misbehaving host, built from the relay's own protocol encoder: any
// SSH client may log in as a host with any key.
type rawHost struct {
	t      *testing.T
	c      *ssh.Client
	ch     ssh.Channel
	out    logtest.Buffer // what the relay sent
	closed chan struct{}  // the relay closed the channel
}

func dialRawHost(t *testing.T, r *relay) *rawHost {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ssh.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port), &ssh.ClientConfig{
		User: "tmate", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ch, reqs, err := c.OpenChannel("session", nil)
	if err != nil {
		t.Fatal(err)
	}
	go ssh.DiscardRequests(reqs)
	if ok, err := ch.SendRequest("subsystem", true, ssh.Marshal(struct{ Name string }{"tmate"})); !ok || err != nil {
		t.Fatalf("subsystem tmate: %v %v", ok, err)
	}
	h := &rawHost{t: t, c: c, ch: ch, closed: make(chan struct{})}
	go func() { io.Copy(&h.out, ch); close(h.closed) }()
	return h
}

func (h *rawHost) send(msgs ...protocol.HostMessage) {
	h.t.Helper()
	var b []byte
	for _, m := range msgs {
		b = protocol.AppendHostMessage(b, m)
	}
	if _, err := h.ch.Write(b); err != nil {
		h.t.Fatal(err)
	}
}

// notifies waits until the relay closes the channel and returns the
// texts of the NOTIFYs it sent.
func (h *rawHost) notifies() []string {
	select {
	case <-h.closed:
	case <-time.After(30 * time.Second):
		h.t.Fatal("the relay did not close the host's channel")
	}
	return h.sent()
}

// sent returns the texts of the NOTIFYs the relay sent so far.
func (h *rawHost) sent() []string {
	dec := msgpack.NewDecoder(strings.NewReader(h.out.String()))
	var out []string
	for {
		var m []any
		if err := dec.Decode(&m); err != nil {
			return out
		}
		if len(m) == 2 {
			if s, ok := m[1].(string); ok {
				out = append(out, s)
			}
		}
	}
}

// oneWindow is a SYNC_LAYOUT of one window split into panes of w x h
// side by side.
func oneWindow(panes, w, h int) *protocol.SyncLayout {
	win := protocol.Window{Idx: 0, Name: "bomb"}
	for i := range panes {
		win.Panes = append(win.Panes, protocol.PaneLayout{ID: i, SX: w, SY: h, XOff: i * (w + 1)})
	}
	return &protocol.SyncLayout{SX: panes*(w+1) - 1, SY: h, Windows: []protocol.Window{win}}
}

// procStatus reads a field of the relay's /proc/PID/status, in bytes.
func procStatus(t *testing.T, r *relay, field string) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == field+":" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb * 1024
		}
	}
	t.Fatalf("no %s in /proc/PID/status", field)
	return 0
}

// The 66-byte bomb: one 10000x10000 pane, then DECALN (fill the screen).
// Without a budget the relay's RSS reached 1.63 GB and stayed there.
func TestLayoutBombIsRefusedAndMemoryStaysLow(t *testing.T) {
	r := startRelay(t, "")
	before := procStatus(t, r, "VmRSS")
	h := dialRawHost(t, r)
	h.send(&protocol.Header{ProtocolVersion: 6, ClientVersion: "2.4.0"},
		oneWindow(1, 10000, 10000),
		&protocol.Ready{},
		&protocol.PtyData{PaneID: 0, Data: []byte("\x1b#8")})
	got := h.notifies()
	hwm, rss := procStatus(t, r, "VmHWM"), procStatus(t, r, "VmRSS")
	t.Logf("relay RSS %.1f MB before, %.1f MB after, peak %.1f MB; host read %q", before/1e6, rss/1e6, hwm/1e6, got)
	if len(got) == 0 || !strings.Contains(got[len(got)-1], "[limits] max_session_cells") {
		t.Fatalf("the host was not told which setting refused it: %q", got)
	}
	if hwm > 256<<20 {
		t.Fatalf("relay peak RSS %.0f MB, want under 256 MiB", hwm/1e6)
	}
	// The relay is still there for others.
	ok := dialRawHost(t, r)
	ok.send(&protocol.Header{ProtocolVersion: 6, ClientVersion: "2.4.0"}, oneWindow(1, 80, 24), &protocol.Ready{}, &protocol.Fin{})
	if got := ok.notifies(); len(got) == 0 || !strings.Contains(strings.Join(got, "\n"), "ssh session: ") {
		t.Fatalf("a well-behaved host after the bomb read %q", got)
	}
}

// The same bomb from many hosts at once, each just under its session's
// budget: the relay's budget stops them, and memory stays near it.
func TestRelayBudgetBoundsManyLargeSessions(t *testing.T) {
	// 2 Mi cells (32 MiB) a session, 8 Mi (128 MiB) for the relay.
	r := startRelay(t, "[limits]\nmax_session_cells = 2097152\nmax_relay_cells = 8388608\n")
	const n = 12
	var hosts []*rawHost
	for range n {
		h := dialRawHost(t, r)
		// 1 Mi cells of screen (1400x740), filled.
		h.send(&protocol.Header{ProtocolVersion: 6, ClientVersion: "2.4.0"},
			oneWindow(1, 1400, 740), &protocol.Ready{},
			&protocol.PtyData{PaneID: 0, Data: []byte("\x1b#8")})
		hosts = append(hosts, h)
	}
	refusals := func() (refused, ended int) {
		for _, h := range hosts {
			if strings.Contains(strings.Join(h.sent(), "\n"), "[limits] max_relay_cells") {
				refused++
			}
			select {
			case <-h.closed:
				ended++
			default:
			}
		}
		return refused, ended
	}
	// The relay holds at most 8 of these sessions' screens.
	eventually(t, 30*time.Second, "hosts refused", func() (bool, string) {
		refused, ended := refusals()
		return refused >= n-8 && ended == refused, fmt.Sprintf("%d refused, %d ended", refused, ended)
	})
	refused, _ := refusals()
	hwm := procStatus(t, r, "VmHWM")
	t.Logf("%d of %d hosts refused by max_relay_cells; relay peak RSS %.1f MB", refused, n, hwm/1e6)
	if hwm > 256<<20 {
		t.Fatalf("relay peak RSS %.0f MB with a budget of 128 MiB", hwm/1e6)
	}
}

// A large, legitimate session: its memory goes back when the host leaves.
func TestPaneMemoryIsReturnedWhenTheHostLeaves(t *testing.T) {
	// No package repository: its first writing, in the background, could
	// fall after the idle figure and hold memory of its own.
	r := startRelay(t, "[repo]\nenabled = false\n")
	time.Sleep(200 * time.Millisecond)
	idle := procStatus(t, r, "VmRSS")
	h := dialRawHost(t, r)
	// Three 1000x1000 panes, filled: 3 Mi cells, 48 MiB, within the default budget.
	h.send(&protocol.Header{ProtocolVersion: 6, ClientVersion: "2.4.0"}, oneWindow(3, 1000, 1000), &protocol.Ready{})
	for p := range 3 {
		h.send(&protocol.PtyData{PaneID: p, Data: []byte("\x1b#8")})
	}
	var full float64
	eventually(t, 20*time.Second, "the panes filled", func() (bool, string) {
		full = procStatus(t, r, "VmRSS")
		return full > idle+40e6, fmt.Sprintf("RSS %.1f MB, idle %.1f MB", full/1e6, idle/1e6)
	})
	h.send(&protocol.Fin{})
	h.notifies()
	var after float64
	eventually(t, 30*time.Second, "the memory returned", func() (bool, string) {
		after = procStatus(t, r, "VmRSS")
		return after < idle+(full-idle)/4, fmt.Sprintf("RSS %.1f MB, idle %.1f MB, full %.1f MB", after/1e6, idle/1e6, full/1e6)
	})
	t.Logf("relay RSS %.1f MB idle, %.1f MB with 3 filled 1000x1000 panes, %.1f MB after the host left", idle/1e6, full/1e6, after/1e6)
}
