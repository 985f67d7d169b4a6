package e2e

// The floor relay is the yardstick of BenchmarkKeystrokeEcho: the least any
// tmate relay must do between a guest and a host. It is this test binary run
// again with floorRelayListen set: an SSH server on the same library and
// host keys as the relay under test that takes one host, sends each guest
// the raw PTY_DATA of the host's active pane as it arrives and each guest's
// keys to that pane as PANE_KEY. No screen model, status line, pacing,
// access checks or sessions: what it adds over a tmate client attached to
// the host's own server is the cost of the relay's hops alone.

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	keycodes "tmate-relay/service/keys"
	"tmate-relay/service/protocol"
)

// floorRelayListen and floorRelayKeys, in the environment, make the test
// binary run as the floor relay: its address and the host keys directory.
const (
	floorRelayListen = "TMATE_RELAY_E2E_FLOOR_LISTEN"
	floorRelayKeys   = "TMATE_RELAY_E2E_FLOOR_KEYS"
)

// startFloorRelay runs the floor relay as a process of its own, with host
// keys and a tmate.conf made as for the relay.
func startFloorRelay(tb testing.TB) *relay {
	tb.Helper()
	self, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	r := prepareRelay(tb, "")
	r.env = []string{
		floorRelayListen + "=" + fmt.Sprintf("127.0.0.1:%d", r.port),
		floorRelayKeys + "=" + filepath.Join(r.dir, "keys"),
	}
	r.webPort = 0 // SSH only
	r.launch(self)
	return r
}

// floorPair starts a host on a floor relay, an ssh guest of it and a
// tmate client attached to the host's server, each on a benchW x benchH
// pty, and waits until both show the host's prompt. The client is there so
// that the host draws for one client besides the relay, as the benchmarked
// relay's host does for the baseline. The floor relay keeps no screen: the
// guest sees output that follows its arrival, so the host clears its
// screen until the guest has seen it.
func floorPair(tb testing.TB) *benchPair {
	tb.Helper()
	r := startFloorRelay(tb)
	h := startHost(tb, r, benchW, benchH-1, "")
	bp := &benchPair{r: r, h: h,
		guest: sshGuestPty(tb, r, "guest", benchW, benchH),
		base:  attachPty(tb, h, benchW, benchH),
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		h.run("send-keys", "C-u", "clear", "Enter")
		if _, err := bp.guest.until(500*time.Millisecond, rowIs(0, "$")); err == nil {
			// The client may still show an earlier clear's command line on a
			// busy machine: clear again until both show the prompt alone.
			if _, err := bp.base.until(5*time.Second, rowIs(0, "$")); err == nil {
				return bp
			}
		}
		if time.Now().After(deadline) {
			tb.Fatal("the floor relay's guest never showed the host's prompt")
		}
	}
}

// TestFloorRelayForwards keeps the benchmark's yardstick honest: a key
// typed in its guest reaches the host's shell, and the echo reaches both
// the guest and the host's own client.
func TestFloorRelayForwards(t *testing.T) {
	needTools(t, "tmate", "ssh", "ssh-keygen")
	fp := floorPair(t)
	fp.guest.write([]byte("echo floor"))
	fp.both(t, 10*time.Second, rowIs(0, "$ echo floor"))
	fp.guest.write([]byte("\r"))
	fp.both(t, 10*time.Second, rowIs(1, "floor"))
}

// runFloorRelay serves on addr until the process is stopped.
func runFloorRelay(addr, keysDir string) error {
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) { return nil, nil },
		NoClientAuth:      true,
	}
	for _, name := range []string{"ssh_host_ed25519_key", "ssh_host_rsa_key"} {
		pem, err := os.ReadFile(filepath.Join(keysDir, name))
		if err != nil {
			return err
		}
		key, err := ssh.ParsePrivateKey(pem)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		cfg.AddHostKey(key)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	f := &floorRelay{guests: map[ssh.Channel]bool{}, pane: -1}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		c.(*net.TCPConn).SetNoDelay(true) // as the relay does
		go f.serve(c, cfg)
	}
}

type floorRelay struct {
	mu     sync.Mutex
	host   *protocol.Encoder // nil until a host connects
	pane   int               // the host's active pane, -1 until its layout arrives
	guests map[ssh.Channel]bool
}

func (f *floorRelay) serve(c net.Conn, cfg *ssh.ServerConfig) {
	defer c.Close()
	sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	nc, ok := <-chans
	if !ok {
		return
	}
	go func() {
		for nc := range chans {
			nc.Reject(ssh.Prohibited, "one channel")
		}
	}()
	ch, chReqs, err := nc.Accept()
	if err != nil {
		return
	}
	defer ch.Close()
	isHost := sc.User() == "tmate"
	subsystem := make(chan struct{})
	go func() {
		for req := range chReqs {
			switch {
			case isHost && req.Type == "subsystem":
				req.Reply(true, nil)
				close(subsystem)
			case !isHost && (req.Type == "pty-req" || req.Type == "shell"):
				req.Reply(true, nil)
			default:
				req.Reply(false, nil)
			}
		}
	}()
	if isHost {
		<-subsystem
		f.serveHost(ch)
	} else {
		f.serveGuest(ch)
	}
}

func (f *floorRelay) serveHost(ch ssh.Channel) {
	enc := protocol.NewEncoder(ch)
	f.mu.Lock()
	f.host = enc
	f.mu.Unlock()
	dec := protocol.NewDecoder(bufio.NewReaderSize(ch, 32<<10), protocol.Limits{})
	for {
		msg, err := dec.Next()
		if err != nil {
			return
		}
		switch m := msg.(type) {
		case *protocol.Ready:
			enc.Ready()
			// What the harness waits for (#{tmate_ssh}), as a relay sets it.
			enc.SetEnv("tmate_ssh", "ssh guest@127.0.0.1")
		case *protocol.SyncLayout:
			f.mu.Lock()
			for _, w := range m.Windows {
				if w.Idx == m.ActiveWindowIdx {
					f.pane = w.ActivePaneID
				}
			}
			f.mu.Unlock()
		case *protocol.PtyData:
			f.mu.Lock()
			if m.PaneID == f.pane {
				for g := range f.guests {
					g.Write(m.Data)
				}
			}
			f.mu.Unlock()
		}
	}
}

func (f *floorRelay) serveGuest(ch ssh.Channel) {
	f.mu.Lock()
	f.guests[ch] = true
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.guests, ch)
		f.mu.Unlock()
	}()
	var in keycodes.Reader
	buf := make([]byte, 4096)
	var keys []uint64
	for {
		n, err := ch.Read(buf)
		if err != nil {
			return
		}
		f.mu.Lock()
		host, pane := f.host, f.pane
		f.mu.Unlock()
		keys = keys[:0]
		in.Feed(buf[:n], func(k keycodes.Key) { keys = append(keys, uint64(k)) })
		if host != nil && pane >= 0 && len(keys) > 0 {
			host.PaneKeys(pane, keys) // one write for one read's keys, as the relay sends them
		}
	}
}
