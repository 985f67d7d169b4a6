package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"golang.org/x/crypto/ssh"

	"tmate-relay/service/protocol"
)

// Relay->host message types (tmate's daemon-in messages).
const (
	inNotify = 0
	inResize = 2
	inSetEnv = 4
	inReady  = 5
)

// reconnectDelay is how long tmate waits before it connects again after
// losing the relay.
const reconnectDelay = 2 * time.Second

// paneW, paneH is the host's own window (tmate new-session -x 80 -y 24,
// less the status line).
const paneW, paneH = 80, 23

// host is a synthetic tmate host: it starts as the recorded client does,
// learns its tokens from the relay's SET_ENV, writes lines to its pane, and
// reconnects with its reconnection data when the connection drops.
type host struct {
	id    int
	addr  string
	local net.IP // source address, nil for the system's choice
	rec   []byte // the recorded start stream

	wmu sync.Mutex // one message at a time on the channel
	ch  ssh.Channel

	mu       sync.Mutex
	client   *ssh.Client
	env      map[string]string
	ready    chan struct{} // closed at the relay's READY on the current connection
	lost     chan struct{} // closed when the current connection ends
	sx, sy   int           // window size the relay asked for (RESIZE)
	lines    []string      // the pane's last lines, for SNAPSHOT
	sentAt   []time.Time   // marker seq -> when it was written
	connects int           // connections that reached READY
	resume   string        // the latest tmate_reconnection_data, kept across connections
	sshCmd   string        // tmate_ssh of the first connection: a reconnection must get it back
}

func newHost(id int, addr string, local net.IP, rec []byte) *host {
	return &host{id: id, addr: addr, local: local, rec: rec, sx: paneW, sy: paneH}
}

// dialTCP connects from local (if set) to addr.
func dialTCP(ctx context.Context, local net.IP, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 20 * time.Second}
	if local != nil {
		d.LocalAddr = &net.TCPAddr{IP: local}
	}
	return d.DialContext(ctx, "tcp", addr)
}

// connect opens a connection and sends the start-up, or with reconnection
// data the reconnection stream, then waits for the relay's READY.
func (h *host) connect(ctx context.Context, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	nc, err := dialTCP(ctx, h.local, h.addr)
	if err != nil {
		return err
	}
	var fingerprint string
	cfg := &ssh.ClientConfig{
		User: "tmate",
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			fingerprint = ssh.FingerprintSHA256(key)
			return nil
		},
		ClientVersion: "SSH-2.0-libssh_0.10.6", // tmate 2.4.0's
		Timeout:       within,
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	c, chans, reqs, err := ssh.NewClientConn(nc, h.addr, cfg)
	if err != nil {
		nc.Close()
		return err // "ssh: handshake failed: ..."
	}
	client := ssh.NewClient(c, chans, reqs)
	ch, creqs, err := client.OpenChannel("session", nil)
	if err != nil {
		client.Close()
		return fmt.Errorf("session channel: %w", err)
	}
	go ssh.DiscardRequests(creqs)
	ok, err := ch.SendRequest("subsystem", true, ssh.Marshal(struct{ Name string }{"tmate"}))
	if err != nil || !ok {
		client.Close()
		return fmt.Errorf("tmate subsystem refused (%v)", err)
	}
	relayHost, relayPort, _ := net.SplitHostPort(h.addr)
	st, err := parseStartup(h.rec, relayHost, relayPort, fingerprint)
	if err != nil {
		client.Close()
		return err
	}

	h.mu.Lock()
	data, oldSSH := h.resume, h.sshCmd
	h.client, h.env = client, map[string]string{}
	ready, lost := make(chan struct{}), make(chan struct{})
	h.ready, h.lost = ready, lost
	h.mu.Unlock()
	h.wmu.Lock()
	h.ch = ch
	h.wmu.Unlock()

	notes := make(chan string, 16)
	go h.read(ch, notes, ready, lost)
	if data == "" {
		err = h.send(st.before...)
	} else {
		err = h.send(h.reconnection(st, data)...)
	}
	if err != nil {
		client.Close()
		return err
	}
	show := func(note string) {
		if data == "" { // the tips are on show: tmate adds the NOTIFY to them
			_ = h.send(&protocol.WriteCopyMode{PaneID: 0, Text: note})
		}
	}
	for waiting := true; waiting; {
		select {
		case note := <-notes:
			show(note)
		case <-ready:
			waiting = false
		case <-lost:
			return errors.New("the relay closed the connection before READY")
		case <-ctx.Done():
			client.Close()
			return fmt.Errorf("no READY from the relay within %v", within)
		}
	}
	// The NOTIFYs came before READY: show those not taken yet.
	for drained := false; !drained; {
		select {
		case note := <-notes:
			show(note)
		default:
			drained = true
		}
	}
	h.mu.Lock()
	newSSH := h.env["tmate_ssh"]
	h.mu.Unlock()
	if newSSH == "" {
		client.Close()
		return errors.New("the relay sent no tmate_ssh")
	}
	if data != "" && newSSH != oldSSH {
		client.Close()
		return errors.New("reconnected to a new session, not the old one")
	}
	h.mu.Lock()
	h.connects++
	h.sshCmd = newSSH
	h.mu.Unlock()
	if data == "" {
		if err := h.send(st.after...); err != nil {
			return err
		}
		return h.writeLine(fmt.Sprintf("load %d ready", h.id))
	}
	return nil
}

// reconnection is what tmate sends on a new connection while it holds
// reconnection data: HEADER, RECONNECT, its EXEC_CMDs again, UNAME, READY,
// the layout and a SNAPSHOT of its pane.
func (h *host) reconnection(st *startup, data string) []protocol.HostMessage {
	msgs := []protocol.HostMessage{&protocol.Header{ProtocolVersion: protocol.ProtocolVersion, ClientVersion: protocol.RecommendedClientVersion}, &protocol.Reconnect{Data: data}}
	for _, e := range st.execs {
		msgs = append(msgs, e)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	grid := protocol.SnapshotGrid{CX: 0, CY: len(h.lines)}
	for _, l := range h.lines {
		cells := make([]uint32, len(l))
		for i := range cells {
			cells[i] = 0x808 // default colours, as tmate packs them
		}
		grid.Lines = append(grid.Lines, protocol.SnapshotLine{Text: l, Cells: cells})
	}
	return append(msgs, st.uname, &protocol.Ready{}, h.layout(),
		&protocol.Snapshot{Panes: []protocol.SnapshotPane{{ID: 0, Mode: 17, Grid: grid}}})
}

// layout is the host's one window with one pane, at the size the relay
// asked for (h.mu held).
func (h *host) layout() *protocol.SyncLayout {
	return &protocol.SyncLayout{SX: h.sx, SY: h.sy, Windows: []protocol.Window{{
		Idx: 0, Name: "sh", ActivePaneID: 0,
		Panes: []protocol.PaneLayout{{ID: 0, SX: h.sx, SY: h.sy}},
	}}}
}

// read takes the relay's messages until the connection ends.
func (h *host) read(ch ssh.Channel, notes chan<- string, ready, lost chan struct{}) {
	defer close(lost)
	dec := msgpack.NewDecoder(ch)
	readyOnce := sync.OnceFunc(func() { close(ready) })
	for {
		var m []any
		if err := dec.Decode(&m); err != nil {
			return
		}
		if len(m) == 0 {
			continue
		}
		switch toInt(m[0]) {
		case inNotify:
			if len(m) == 2 {
				s, _ := m[1].(string)
				select {
				case notes <- s:
				default:
				}
			}
		case inSetEnv:
			if len(m) == 3 {
				k, _ := m[1].(string)
				v, _ := m[2].(string)
				h.mu.Lock()
				h.env[k] = v
				if k == "tmate_reconnection_data" && v != "" {
					h.resume = v
				}
				h.mu.Unlock()
			}
		case inReady:
			readyOnce()
		case inResize:
			if len(m) == 3 {
				sx, sy := int(toInt(m[1])), int(toInt(m[2]))
				if sx <= 0 || sy <= 0 {
					sx, sy = paneW, paneH
				}
				h.mu.Lock()
				h.sx, h.sy = sx, sy
				l := h.layout()
				h.mu.Unlock()
				go h.send(l) // never block the reader on a write
			}
		}
	}
}

func toInt(v any) int64 {
	switch n := v.(type) {
	case int8:
		return int64(n)
	case int16:
		return int64(n)
	case int32:
		return int64(n)
	case int64:
		return n
	case uint8:
		return int64(n)
	case uint16:
		return int64(n)
	case uint32:
		return int64(n)
	case uint64:
		return int64(n)
	}
	return -1
}

// send writes messages on the current connection.
func (h *host) send(msgs ...protocol.HostMessage) error {
	var b []byte
	for _, m := range msgs {
		b = protocol.AppendHostMessage(b, m)
	}
	h.wmu.Lock()
	defer h.wmu.Unlock()
	if h.ch == nil {
		return errors.New("not connected")
	}
	_, err := h.ch.Write(b)
	return err
}

// writeLine writes a line to the pane and remembers it for SNAPSHOT.
func (h *host) writeLine(s string) error {
	h.mu.Lock()
	h.lines = append(h.lines, s)
	if len(h.lines) > paneH-1 {
		h.lines = h.lines[1:]
	}
	h.mu.Unlock()
	return h.send(&protocol.PtyData{PaneID: 0, Data: []byte(s + "\r\n")})
}

// sendPty writes raw output to the pane.
func (h *host) sendPty(b []byte) error { return h.send(&protocol.PtyData{PaneID: 0, Data: b}) }

// mark writes marker line seq (the next one) and records when.
func (h *host) mark() error {
	h.mu.Lock()
	seq := len(h.sentAt)
	h.sentAt = append(h.sentAt, time.Now())
	h.mu.Unlock()
	return h.writeLine(markLine(h.id, seq))
}

func markLine(session, seq int) string { return fmt.Sprintf("load %d mark %d", session, seq) }

// markers returns when each marker was written.
func (h *host) markers() []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Time(nil), h.sentAt...)
}

func (h *host) markerSent(seq int) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if seq < 0 || seq >= len(h.sentAt) {
		return time.Time{}, false
	}
	return h.sentAt[seq], true
}

// tokens returns the read-write ssh token and web URL the relay gave.
func (h *host) tokens() (sshToken, webURL string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range strings.Fields(h.env["tmate_ssh"]) {
		if i := strings.LastIndexByte(f, '@'); i > 0 {
			sshToken = f[:i]
		}
	}
	return sshToken, h.env["tmate_web"]
}

// lostCh is closed when the current connection ends.
func (h *host) lostCh() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lost
}

// connections returns how many connections reached READY.
func (h *host) connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.connects
}

// connected reports whether the host is connected and past READY.
func (h *host) connected() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lost == nil {
		return false
	}
	select {
	case <-h.lost:
		return false
	case <-h.ready:
		return true
	default:
		return false
	}
}

// close ends the host as `tmate kill-server` does: FIN, then the connection.
func (h *host) close() {
	_ = h.send(&protocol.Fin{})
	h.mu.Lock()
	c := h.client
	h.mu.Unlock()
	if c != nil {
		c.Close()
	}
}
