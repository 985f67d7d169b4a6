// Package capture records what a real tmate host sends: a throwaway SSH
// server answers the host as the original server does (NOTIFY, SET_ENV,
// READY) and keeps the bytes of each connection, and Tmate runs the real
// client against it. Tests use it to record the protocol and to check that
// synthetic hosts send what the real client sends.
package capture

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"golang.org/x/crypto/ssh"
)

// What the relay tells every host.
const (
	ReconnectData = "fake-reconnection-data"
	SSHCommand    = "ssh -p2222 faketoken@127.0.0.1"
	Notify        = "ssh session: " + SSHCommand
)

// Relay listens on 127.0.0.1 and records successive host connections.
type Relay struct {
	Addr        string
	Fingerprint string // SHA256:... of its ed25519 host key
	conns       []*Conn
}

// Conn is one recorded host connection.
type Conn struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
	kick chan struct{}
}

// Start listens and records the next n host connections; the listener
// closes at the end of the test.
func Start(t testing.TB, n int) *Relay {
	t.Helper()
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
	r := &Relay{Addr: ln.Addr().String(), Fingerprint: ssh.FingerprintSHA256(signer.PublicKey())}
	for range n {
		r.conns = append(r.conns, &Conn{done: make(chan struct{}), kick: make(chan struct{})})
	}
	go func() {
		for _, c := range r.conns {
			nc, err := ln.Accept()
			if err != nil {
				close(c.done)
				continue
			}
			c.serve(t, nc, cfg)
			nc.Close()
		}
	}()
	return r
}

// Conn returns the i-th connection (0 is the first).
func (r *Relay) Conn(i int) *Conn { return r.conns[i] }

func (c *Conn) serve(t testing.TB, nc net.Conn, cfg *ssh.ServerConfig) {
	defer close(c.done)
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
		// NOTIFY, SET_ENV, READY (relay->host types 0, 4, 5), written
		// here rather than with protocol.Encoder, whose own tests use this
		// package.
		for _, m := range [][]any{
			{0, Notify},
			{4, "tmate_ssh", SSHCommand},
			{4, "tmate_reconnection_data", ReconnectData},
			{5},
		} {
			b, _ := msgpack.Marshal(m)
			_, _ = ch.Write(b)
		}
		go func() {
			<-c.kick
			conn.Close()
		}()
		buf := make([]byte, 32<<10)
		for {
			n, err := ch.Read(buf)
			c.mu.Lock()
			c.buf.Write(buf[:n])
			c.mu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

// Kick drops the connection, without a word to the host.
func (c *Conn) Kick() { close(c.kick) }

// Wait returns what the host sent once it disconnected (or after timeout).
func (c *Conn) Wait(t testing.TB, timeout time.Duration) []byte {
	select {
	case <-c.done:
	case <-time.After(timeout):
		t.Log("host still connected; using what arrived so far")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.buf.Bytes()...)
}

// Tmate is a real tmate host of a Relay, started with
// `new-session -d -x 80 -y 24` and killed at the end of the test.
type Tmate struct {
	t    testing.TB
	bin  string
	dir  string
	sock string
	env  []string
}

// StartTmate starts the real tmate against r and waits until it is ready.
// Without tmate it skips the test, or fails it in CI (CI=true).
func StartTmate(t testing.TB, r *Relay) *Tmate {
	t.Helper()
	bin, err := exec.LookPath("tmate")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmate is not installed")
		}
		t.Skip("tmate is not installed")
	}
	dir, err := os.MkdirTemp("/tmp", "tmrec") // short: the socket path has a length limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	tm := &Tmate{t: t, bin: bin, dir: dir, sock: filepath.Join(dir, "sock"),
		env: []string{"HOME=" + dir, "TERM=xterm-256color", "PATH=" + os.Getenv("PATH"), "SHELL=/bin/sh", "LANG=C.UTF-8"}}
	conf := filepath.Join(dir, "tmate.conf")
	host, port, _ := net.SplitHostPort(r.Addr)
	err = os.WriteFile(conf, []byte(fmt.Sprintf(
		"set -g tmate-server-host %s\nset -g tmate-server-port %s\nset -g tmate-server-ed25519-fingerprint %s\nset -g tmate-display-time 100\n",
		host, port, r.Fingerprint)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	tm.Run("-f", conf, "new-session", "-d", "-x", "80", "-y", "24")
	t.Cleanup(func() {
		cmd := exec.Command(bin, "-S", tm.sock, "kill-server")
		cmd.Env = tm.env
		_ = cmd.Run()
	})
	tm.Run("wait", "tmate-ready")
	return tm
}

// Run runs a tmate command on the host's socket and returns its output.
func (tm *Tmate) Run(args ...string) string {
	tm.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tm.bin, append([]string{"-S", tm.sock}, args...)...)
	cmd.Env = tm.env
	cmd.Dir = tm.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmate %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}
